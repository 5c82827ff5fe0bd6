//! The binary as an operator uses it: admin commands print JSON, and a
//! first run on an empty store creates the demo clinic, prints the URL and
//! keys, serves, and stops cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{read_banner, server};

fn json_of(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the command prints JSON")
}

#[test]
fn tenant_and_key_commands_print_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("b.db").display());
    let tenant = json_of(
        &server()
            .args([
                "tenant",
                "create",
                "--name",
                "Smile Dental",
                "--database-url",
                &db,
            ])
            .output()
            .unwrap(),
    );
    let tenant_id = tenant["tenant_id"].as_str().expect("tenant_id");
    assert!(
        tenant["api_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("bk_"))
    );
    let key = json_of(
        &server()
            .args([
                "key",
                "create",
                "--tenant",
                tenant_id,
                "--role",
                "staff",
                "--actor",
                "front desk",
                "--database-url",
                &db,
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(key["role"], "staff");
    assert_eq!(key["actor"], "front desk");
    let bad = server()
        .args([
            "key",
            "create",
            "--tenant",
            tenant_id,
            "--role",
            "root",
            "--actor",
            "x",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success(), "an unknown role is refused");
}

#[tokio::test]
async fn a_first_run_creates_the_demo_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // The embedded default: no database named, `data/booking.db` under
    // the working directory.
    let mut child = server()
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("BOOKING_NO_DEMO")
        .env_remove("BOOKING_DEMO")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (url, staff) = read_banner(child.stdout.take().unwrap());
    let staff = staff.expect("the first run makes the demo clinic");
    let client = reqwest::Client::new();
    let branches: serde_json::Value = client
        .get(format!("{url}/v1/branches"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        branches["items"].as_array().map(Vec::len),
        Some(2),
        "two demo branches"
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    for _ in 0..50 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "a clean exit on SIGTERM, got {status}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!("the server did not stop within 5 s of SIGTERM");
}

/// The demo clinic's keys are live credentials: a server on a database it
/// was pointed at (here a SQLite file; PostgreSQL alike) starts empty
/// unless `--demo` asks for the clinic.
#[test]
fn a_named_database_gets_no_demo_unless_asked() {
    for (flags, demo) in [(&[][..], false), (&["--demo"][..], true)] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = server()
            .args(["--listen", "127.0.0.1:0"])
            .args(flags)
            .env_remove("BOOKING_NO_DEMO")
            .env_remove("BOOKING_DEMO")
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("b.db").display()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (_, staff) = read_banner(child.stdout.take().unwrap());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(staff.is_some(), demo, "{flags:?}");
    }
}

#[test]
fn help_shows_no_environment_values() {
    let out = server()
        .arg("--help")
        .env("DATABASE_URL", "postgres://u:hunter2@db/booking")
        .env("VALKEY_URL", "redis://:hunter2@cache:6379")
        .env("BOOKING_BACKPLANE_SECRET", "hunter2hunter2hunter2")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("DATABASE_URL"), "{help}");
    assert!(!help.contains("hunter2"), "{help}");
}

#[test]
fn several_nodes_need_a_backplane_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = server()
        .args([
            "--listen",
            "127.0.0.1:0",
            "--valkey-url",
            "redis://127.0.0.1:1",
        ])
        .env_remove("BOOKING_BACKPLANE_SECRET")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("b.db").display()),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("--backplane-secret"), "{said}");
}
