//! What clients receive: `{"seq", "type", "at", "data"}` per event, and
//! control messages.

use booking_core::{Event, EventPayload};
use serde_json::{Value, json};

/// An event as a client sees it.
#[must_use]
pub(crate) fn event(e: &Event) -> String {
    json!({
        "seq": e.seq.0,
        "type": e.type_name(),
        "at": e.at,
        "actor": e.actor,
        "data": e.payload,
    })
    .to_string()
}

/// Tells a client it fell behind: reconnect with `since` = its last seq.
#[must_use]
pub(crate) fn resync(last_sent: u64) -> String {
    json!({ "type": "resync", "reason": "the client fell behind", "last_seq": last_sent })
        .to_string()
}

/// The branch an event concerns, for `branch_id` filtering.
#[must_use]
pub(crate) fn branch_of(e: &Event) -> Option<booking_core::BranchId> {
    match &e.payload {
        EventPayload::Reservation { after, .. } => Some(after.branch_id),
        EventPayload::StockAdjusted { branch_id, .. } => Some(*branch_id),
    }
}

/// A parsed client message we do not act on, kept for the log.
#[must_use]
pub(crate) fn ignored(text: &str) -> Value {
    json!({ "ignored": text.chars().take(64).collect::<String>() })
}
