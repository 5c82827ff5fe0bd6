//! The calendar (`/`, `/ui/booking-calendar.js`) in a real headless
//! Chromium: `tests/browser/calendar.mjs` (playwright-core driving Debian's
//! `/usr/bin/chromium`) against a node on PostgreSQL, two staff members in
//! two browser contexts. Also `tests/browser/time.test.mjs`, the calendar's
//! zone arithmetic on DST days. Node, Chromium and playwright-core are
//! installed by `./scripts/test`; when one is missing this fails and says
//! how to install it (it is never skipped).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;

use booking_app::{Config, Database};
use booking_testkit::invariants::check_store;

use crate::helpers::{TestApp, postgres};

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// `node`, and a Chromium with playwright-core beside the scripts, or a
/// panic that says how to get them.
fn toolchain() -> (PathBuf, PathBuf) {
    let fix = "run ./scripts/test (it installs them), or: apt-get install nodejs npm chromium \
               && npm ci --prefix tests/browser";
    let node = std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("node"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("node is not installed: {fix}"));
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    assert!(
        chromium.is_file(),
        "{} is missing (set CHROMIUM to another): {fix}",
        chromium.display()
    );
    assert!(
        browser_dir()
            .join("node_modules/playwright-core/package.json")
            .is_file(),
        "playwright-core is not installed in tests/browser: {fix}"
    );
    (node, chromium)
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("target/screenshots");
    dir
}

/// Runs a script under `tests/browser`, bounded, and returns its output;
/// fails the test with the output when it fails.
async fn node(args: &[&str], env: &[(&str, &str)], limit: Duration) -> String {
    let (node, chromium) = toolchain();
    let mut command = tokio::process::Command::new(node);
    command
        .args(args)
        .current_dir(browser_dir())
        .env("CHROMIUM", chromium)
        .env("SCREENSHOTS", screenshots())
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("node {args:?} ran past {limit:?}"))
        .expect("node starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "node {args:?} failed:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_calendar_works_for_two_people_in_a_real_browser() {
    let database = postgres().await;
    // A page on another origin embeds the calendar (the script serves it
    // on this port); any other origin is refused.
    let embed_port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port();
    let mut config = Config::new(database.clone());
    config.allowed_origins = vec![format!("http://127.0.0.1:{embed_port}")];
    let app = TestApp::spawn_with(config).await;
    // The page and the module are served by the node itself.
    let page = app
        .client
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let module = app
        .client
        .get(format!("{}/ui/booking-calendar.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(module.status(), StatusCode::OK);

    let report = node(
        &["calendar.mjs", "--bench"],
        &[
            ("BASE_URL", &app.base),
            ("ADMIN_KEY", &app.admin),
            ("EMBED_PORT", &embed_port.to_string()),
        ],
        Duration::from_secs(300),
    )
    .await;
    std::fs::write(screenshots().join("browser-report.txt"), &report).expect("write the report");
    for view in ["day-wide", "week-wide", "day-narrow", "week-narrow"] {
        let shot = screenshots().join(format!("calendar-{view}.png"));
        assert!(shot.is_file(), "{} was not saved", shot.display());
    }

    // Whatever the browsers did, the store holds no overlap, no oversell,
    // and every reservation is the projection of its events.
    let tenant = app
        .services
        .access()
        .authenticate(&app.admin)
        .await
        .expect("the store answers")
        .expect("the admin key")
        .tenant_id;
    let Database::Postgres { url, .. } = &database else {
        unreachable!("a PostgreSQL database")
    };
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let store = booking_postgres::PgStore::from_pool(pool);
    check_store(&store, tenant, chrono::Utc::now())
        .await
        .unwrap_or_else(|violation| panic!("after the browsers: {violation}"));
}

#[tokio::test]
async fn the_calendar_reads_wall_clock_time_right_on_dst_days() {
    let report = node(&["--test", "time.test.mjs"], &[], Duration::from_secs(60)).await;
    assert!(report.contains("# fail 0"), "{report}");
}
