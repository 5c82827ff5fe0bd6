//! What clients receive: each event in the log's envelope (`{"seq",
//! "type", "version", "at", "actor", "actor_key_id", "request_id", "data",
//! …}`, see [`booking_core::Event`]), and control messages.

use booking_core::Event;
use serde_json::{Value, json};

/// An event as a client sees it.
#[must_use]
pub(crate) fn event(e: &Event) -> String {
    // An event is plain data (ids, text, numbers, instants): it serializes.
    serde_json::to_string(e).unwrap_or_default()
}

/// Tells a client it fell behind: reconnect with `since` = its last seq.
#[must_use]
pub(crate) fn resync(last_sent: u64) -> String {
    json!({ "type": "resync", "reason": "the client fell behind", "last_seq": last_sent })
        .to_string()
}

/// Tells a client its `since` is further behind than a stream replays:
/// reload what it shows, then stream from `seq` (the log's head now).
#[must_use]
pub(crate) fn too_far_behind(head: u64, max_replay: u64) -> String {
    json!({
        "type": "resync",
        "reason": format!("more than {max_replay} events behind; reload, then stream from seq"),
        "seq": head,
    })
    .to_string()
}

/// A parsed client message we do not act on, kept for the log.
#[must_use]
pub(crate) fn ignored(text: &str) -> Value {
    json!({ "ignored": text.chars().take(64).collect::<String>() })
}
