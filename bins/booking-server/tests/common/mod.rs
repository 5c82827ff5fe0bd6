//! What the binary's tests share: the command, and the first-run banner.

use std::io::{BufRead, BufReader};
use std::process::{ChildStdout, Command};

/// The `booking-server` binary under test.
pub(crate) fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_booking-server"))
}

/// Reads the first-run banner up to the staff key: the URL and the key.
/// The rest of stdout is left unread (and is closed when `stdout` drops).
pub(crate) fn read_banner(stdout: ChildStdout) -> (String, String) {
    let mut url = None;
    let mut staff = None;
    for line in BufReader::new(stdout).lines().take(12) {
        let line = line.expect("stdout is readable");
        if let Some(rest) = line.strip_prefix("booking-server listening on ") {
            url = Some(rest.trim().to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("staff key") {
            staff = Some(rest.trim().to_owned());
            break;
        }
    }
    (
        url.expect("the URL is printed"),
        staff.expect("a staff key is printed"),
    )
}
