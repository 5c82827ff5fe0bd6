//! What the server prints: the first-run banner, and the admin commands'
//! JSON. A closed stdout (a supervisor that does not read it) must not stop
//! the server, so write errors are ignored.

use std::net::SocketAddr;

use booking_app::Demo;

/// Prints the first-run banner.
pub(crate) fn demo(address: SocketAddr, demo: &Demo) {
    let banner = format!(
        "booking-server listening on http://{address}\n\n\
         Open http://{address}/ in a browser and paste a key to see the live calendar.\n\n\
         A demo clinic was created (start with --no-demo to skip this):\n\
         \x20 tenant     {}\n\
         \x20 admin key  {}\n\
         \x20 staff key  {}\n\n\
         Try:\n\
         \x20 curl -s -H 'Authorization: Bearer {}' http://{address}/v1/branches/{}/catalog",
        demo.tenant, demo.admin_key, demo.staff_key, demo.staff_key, demo.madrid
    );
    say(&banner);
}

/// One line (or block) on stdout, ignoring a closed pipe.
pub(crate) fn say(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}
