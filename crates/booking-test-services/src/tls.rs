//! Self-signed certificates for test servers that speak TLS, made with the
//! `openssl` command line (Debian's `openssl` package).

use std::path::Path;
use std::process::Command;

/// The `openssl` arguments that write a self-signed certificate for
/// `127.0.0.1` and `localhost` to `cert` and its key (unencrypted) to
/// `key`, valid for two days.
#[must_use]
pub fn self_signed_args(cert: &Path, key: &Path) -> Vec<String> {
    [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        // A server's certificate, not a CA's: verifiers (webpki) refuse a
        // CA certificate presented by a server, even one they trust.
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-keyout",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([
        key.display().to_string(),
        "-out".into(),
        cert.display().to_string(),
    ])
    .collect()
}

/// Writes a self-signed certificate for `127.0.0.1` and `localhost` to
/// `cert` and its key to `key`.
///
/// # Errors
/// When `openssl` is missing or fails, with what to install.
pub fn self_signed(cert: &Path, key: &Path) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(self_signed_args(cert, key))
        .output()
        .map_err(|e| format!("cannot run openssl ({e}): install Debian's openssl package"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
