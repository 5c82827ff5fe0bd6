//! A node attacked by a client without a key, as the security review ran
//! it: a process limited to 1,024 open files, and 1,100 connections that
//! each send half a request header and then nothing. Before, `/healthz`
//! stayed dead until the client let go.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::read_banner;

struct Node {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// The server under `ulimit` (`-n 1024`, or the soft limit only with
    /// `-Sn 512`), on a fresh SQLite file.
    fn start(ulimit: &str, flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("b.db").display());
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(format!("ulimit {ulimit} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_booking-server"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--no-demo",
                "--database-url",
                &db,
            ])
            .args(["--log-format", "off", "--no-metrics"])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (url, _) = read_banner(child.stdout.take().unwrap());
        Self {
            child,
            url,
            _dir: dir,
        }
    }

    fn address(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    /// The node's (soft, hard) limit on open files.
    fn open_files_limit(&self) -> (u64, u64) {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.child.id())).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .unwrap();
        let numbers: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        (numbers[0], numbers[1])
    }

    /// `GET /healthz` on a new connection, within 3 s.
    fn healthz(&self) -> Result<String, std::io::Error> {
        let mut s = TcpStream::connect(self.address())?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut answer = String::new();
        s.read_to_string(&mut answer)?;
        Ok(answer)
    }
}

/// Whether the peer closed `s` (read gives end of file or a reset).
fn closed(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn half_sent_headers_on_every_descriptor_leave_healthz_answering() {
    // The attacker (this test) needs more than 1,100 descriptors itself.
    rlimit::increase_nofile_limit(4096).unwrap();
    let node = Node::start("-n 1024", &["--header-read-timeout-secs", "3"]);
    assert_eq!(node.open_files_limit(), (1024, 1024), "the review's limit");
    let mut attack = Vec::new();
    for _ in 0..1100 {
        let mut s = TcpStream::connect(node.address()).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        attack.push(s);
    }
    let started = Instant::now();
    for round in 0..5 {
        let answer = node
            .healthz()
            .unwrap_or_else(|e| panic!("round {round}: /healthz did not answer: {e}"));
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "round {round}: {answer}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    // Past the header-read timeout, none of the attacker's connections is
    // left open.
    std::thread::sleep(Duration::from_secs(4));
    let open = attack.iter_mut().map(closed).filter(|c| !c).count();
    assert_eq!(open, 0, "connections still held after the timeout");
    assert!(node.healthz().unwrap().starts_with("HTTP/1.1 200"));
}

#[test]
fn the_node_raises_its_soft_descriptor_limit_to_the_hard_one() {
    let node = Node::start("-Sn 512", &[]);
    let (soft, hard) = node.open_files_limit();
    assert!(hard > 512, "the test needs a hard limit above 512: {hard}");
    assert_eq!(soft, hard);
}
