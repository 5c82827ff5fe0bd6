//! What the binary's tests share: the command, and the first-run banner.

use std::io::{BufRead, BufReader};
use std::process::{ChildStdout, Command};

/// The `booking-server` binary under test.
pub(crate) fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_booking-server"))
}

/// Reads what the server prints when it starts: its URL, and the staff key
/// if it made the demo clinic (up to that key; the rest of stdout is left
/// unread and is closed when `stdout` drops).
pub(crate) fn read_banner(stdout: ChildStdout) -> (String, Option<String>) {
    let mut lines = BufReader::new(stdout).lines();
    let first = lines
        .next()
        .expect("the server prints its URL")
        .expect("stdout is readable");
    let rest = first
        .strip_prefix("booking-server listening on ")
        .unwrap_or_else(|| panic!("not the start line: {first}"));
    let url = rest.split_whitespace().next().expect("a URL").to_owned();
    if rest.contains("(the calendar:") {
        return (url, None);
    }
    let staff = lines
        .take(12)
        .map(|l| l.expect("stdout is readable"))
        .find_map(|l| {
            l.trim()
                .strip_prefix("staff key")
                .map(|k| k.trim().to_owned())
        });
    (url, Some(staff.expect("the demo banner names a staff key")))
}
