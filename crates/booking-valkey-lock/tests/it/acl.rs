//! Valkey run as production should run it, with `docs/valkey.acl`: the
//! default user off and a `booking` user limited to the project's keys,
//! channels and commands. The lock contract holds through that user, and
//! whoever lacks the password can take no lock key (the review's M10: with
//! no ACL anyone reaching Valkey could `SET` a slot's key and block it).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use crate::server::{ACL_PASSWORD, ValkeyServer, documented_acl};

mod contract {
    booking_testkit::lock_contract_tests!(crate::server::fresh_locks_behind_acl());
}

/// Sends one command in RESP and returns the first line of the answer.
fn ask(stream: &mut TcpStream, args: &[&str]) -> String {
    let mut command = format!("*{}\r\n", args.len());
    for a in args {
        command.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    stream.write_all(command.as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(stream.try_clone().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim_end().to_owned()
}

#[test]
fn without_the_password_no_lock_key_can_be_taken_and_the_user_reaches_only_its_own() {
    let server = ValkeyServer::start_with_acl(&documented_acl());
    let lock_key = "booking:{01a2}:resource:0190";
    let mut anyone = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let refused = ask(&mut anyone, &["SET", lock_key, "mine", "PX", "60000"]);
    assert!(refused.starts_with("-NOAUTH"), "{refused}");
    let refused = ask(&mut anyone, &["PUBLISH", "booking:events:{01a2}", "x"]);
    assert!(refused.starts_with("-NOAUTH"), "{refused}");
    let mut booking = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    assert_eq!(ask(&mut booking, &["AUTH", "booking", ACL_PASSWORD]), "+OK");
    for (command, why) in [
        (
            &["SET", "other:key", "1"][..],
            "a key outside the project's",
        ),
        (&["FLUSHALL"][..], "a command it does not need"),
        (
            &["CONFIG", "SET", "requirepass", ""][..],
            "the server's configuration",
        ),
        (&["KEYS", "*"][..], "listing keys"),
        (
            &["PUBLISH", "other-channel", "x"][..],
            "a channel outside the project's",
        ),
    ] {
        let answer = ask(&mut booking, command);
        assert!(answer.starts_with("-NOPERM"), "{why}: {answer}");
    }
}
