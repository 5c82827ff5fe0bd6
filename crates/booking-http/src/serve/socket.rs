//! An accepted TCP connection as hyper reads and writes it, carrying its
//! place in the registry (freed when the socket closes, whether it served
//! HTTP or was upgraded to a WebSocket) and a send-buffer size the server
//! may ask for after the connection was handed to hyper.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::registry::Handle;

/// A send buffer size asked for a connection (0: none asked).
#[derive(Debug, Default)]
pub(crate) struct SendBuffer(AtomicUsize);

impl SendBuffer {
    /// Asks for `bytes` of kernel send buffer from the next write on.
    pub(crate) fn ask(&self, bytes: usize) {
        self.0.store(bytes, Ordering::Relaxed);
    }
}

/// The connection: the stream, its place, the send buffer asked for.
#[derive(Debug)]
pub(crate) struct Socket {
    stream: TcpStream,
    _place: Arc<Handle>,
    send_buffer: Arc<SendBuffer>,
    applied: usize,
}

impl Socket {
    pub(crate) fn new(stream: TcpStream, place: Arc<Handle>, send_buffer: Arc<SendBuffer>) -> Self {
        Self {
            stream,
            _place: place,
            send_buffer,
            applied: 0,
        }
    }

    /// Sets `SO_SNDBUF` once it was asked for. The kernel stops growing the
    /// buffer on its own (up to `tcp_wmem`'s maximum, megabytes) once it is
    /// set, so a peer that stops reading holds at most this much.
    fn apply_send_buffer(&mut self) {
        let asked = self.send_buffer.0.load(Ordering::Relaxed);
        if asked != 0 && asked != self.applied {
            self.applied = asked;
            if let Err(e) = socket2::SockRef::from(&self.stream).set_send_buffer_size(asked) {
                tracing::debug!(error = %e, "cannot set a connection's send buffer");
            }
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.apply_send_buffer();
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.apply_send_buffer();
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
