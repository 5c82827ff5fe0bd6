//! The store port's contract. Every case takes a fresh, empty store and
//! panics with a message on a violation. Run them all against an adapter
//! with [`crate::store_contract_tests!`], and the races over several
//! handles with [`crate::store_race_tests!`]. One file per concern; helpers
//! shared by the cases live here.

use std::sync::Arc;

use booking_core::engine::{self, CatalogWrite};
use booking_core::{
    Applied, ApplyError, BookingStore, Branch, CatalogError, CatalogKey, CatalogRecord, Entity,
    Event, EventPayload, EventQuery, EventType, Minutes, Money, Name, Product, ProductBranch,
    ProductId, PutMode, Quantity, Reservation, ReservationCursor, ReservationEventKind,
    ReservationQuery, ReservationWrite, Seq, StaleVersion, Status, StockCause, StockChange,
    StockOp, StoreError,
};
use chrono::{DateTime, Utc};
use futures::future::join_all;

use crate::fixture::{Clinic, range, t};
use crate::invariants::check_store;

pub(super) type Store = Arc<dyn BookingStore>;

mod access;
mod batch;
mod catalog;
mod holds;
mod lifecycle;
mod overlap;
mod queries;
mod races;
mod stock;

pub use access::{
    a_claim_is_abandoned_by_its_time_only,
    a_claim_past_its_lease_is_taken_over_and_its_old_maker_fenced_off,
    api_keys_are_found_listed_revoked_and_recorded, concurrent_claims_of_one_key_give_one_new,
    idempotency_keys_replay_and_refuse_mismatches, old_idempotency_records_are_purged,
};
pub use batch::{
    a_batch_answers_each_write_as_one_after_another,
    a_batch_that_cannot_finish_as_one_runs_write_by_write,
};
pub use catalog::{
    a_batch_of_reads_answers_as_each_read_alone,
    catalog_items_are_deleted_with_their_links_unless_in_use,
    catalog_pages_walk_every_item_once_by_id, catalog_round_trips,
    foreign_tenant_ids_are_not_found, settings_and_performers_round_trip,
};
pub use holds::{
    a_key_is_held_to_its_quota_of_running_holds,
    a_stale_hold_in_the_way_is_expired_in_the_same_write,
    a_stale_hold_keeping_stock_is_expired_when_the_stock_is_needed,
    an_unexpired_hold_blocks_the_slot, stale_holds_are_listed_with_tenants_taking_turns,
};
pub use lifecycle::{
    a_replayed_create_is_refused, a_stale_version_is_refused, immutable_fields_cannot_change,
    instants_are_kept_to_the_microsecond, references_must_exist_where_the_booking_is,
    terminal_states_stay_terminal,
};
pub use overlap::{
    a_create_is_stored_with_version_one_and_a_numbered_event,
    an_overlapping_booking_is_refused_naming_the_conflict,
    other_resources_and_cancelled_reservations_do_not_block,
    overlap_is_checked_across_branches_of_one_resource, service_buffers_count_as_occupied,
    touching_bookings_are_both_accepted,
};
pub use queries::{
    blocking_lists_only_overlapping_calendar_blockers, events_are_found_by_type_subject_and_key,
    events_since_pages_in_order_without_gaps, history_projects_to_the_stored_reservation,
    occupancy_lists_the_active_time_of_the_asked_resources, reservations_can_be_filtered_and_paged,
};
pub use races::{
    a_deletion_racing_a_booking_never_orphans_a_line, batches_racing_never_double_book_or_oversell,
    cancel_racing_a_create_never_leaves_two_active, concurrent_sweepers_expire_each_hold_once,
    mixed_writers_number_events_gaplessly, one_slot_race, orders_never_oversell,
};
pub use stock::{
    a_level_leaves_room_for_the_units_out, a_refused_write_changes_nothing,
    short_stock_is_refused_with_the_available_quantity, stock_can_be_set_and_restocked_with_events,
    stock_is_taken_and_given_back_on_cancel,
};

pub(super) async fn assert_invariants(store: &Store, c: &Clinic, now: DateTime<Utc>) {
    if let Err(violation) = check_store(&**store, c.tenant, now).await {
        panic!("invariant violated: {violation}");
    }
}

pub(super) async fn stock(store: &Store, c: &Clinic, branch: booking_core::BranchId) -> u32 {
    store
        .product_branch(c.tenant, c.kit, branch)
        .await
        .expect("read stock")
        .expect("kit is sold at the branch")
        .stock
}

/// Every event of the clinic's tenant, in order.
pub(super) async fn all_events(store: &Store, c: &Clinic) -> Vec<Event> {
    let mut all: Vec<Event> = Vec::new();
    loop {
        let after = all.last().map_or(Seq::ZERO, |e| e.seq);
        let page = store
            .events(c.tenant, &EventQuery::since(after, 1000))
            .await
            .expect("events");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

pub(super) async fn last_seq(store: &Store, c: &Clinic) -> Seq {
    all_events(store, c)
        .await
        .last()
        .map_or(Seq::ZERO, |e| e.seq)
}

/// The engine's reservation write on `store`.
pub(super) async fn apply(store: &Store, w: ReservationWrite) -> Result<Applied, ApplyError> {
    engine::apply(&**store, w).await
}

/// Who the contract's catalog writes are made by, and when.
pub(super) fn catalog_write(c: &Clinic) -> CatalogWrite {
    CatalogWrite {
        by: c.by.clone(),
        at: t(6, 30),
    }
}

/// The engine's catalog upsert on `store`, by the clinic's staff member.
pub(super) async fn put(
    store: &Store,
    c: &Clinic,
    record: CatalogRecord,
    mode: PutMode,
) -> Result<Option<CatalogRecord>, CatalogError> {
    engine::put(&**store, &record, mode, &catalog_write(c))
        .await
        .map(|(before, _events)| before)
}

/// The engine's deletion of `key` of the clinic's tenant; returns its
/// events.
pub(super) async fn delete(
    store: &Store,
    c: &Clinic,
    key: CatalogKey,
) -> Result<Vec<Event>, CatalogError> {
    engine::delete(&**store, c.tenant, key, &catalog_write(c)).await
}

/// The engine's stock adjustment on `store`.
pub(super) async fn adjust_stock(
    store: &Store,
    change: &StockChange,
) -> Result<(ProductBranch, Vec<Event>), CatalogError> {
    engine::adjust_stock(&**store, change).await
}

pub(super) async fn book(store: &Store, c: &Clinic, r: Reservation) -> Reservation {
    apply(store, c.create(r))
        .await
        .expect("booking must succeed")
        .reservation
}

/// Runs every store contract case as its own `#[tokio::test]` against the
/// store built by `$make` (an expression evaluating to a future of
/// `Arc<dyn BookingStore>`, evaluated afresh for each case). The calling
/// crate needs `tokio` (with `macros` and `rt-multi-thread`) as a
/// dev-dependency.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@cases $make;
            catalog_round_trips,
            foreign_tenant_ids_are_not_found,
            a_batch_answers_each_write_as_one_after_another,
            a_batch_that_cannot_finish_as_one_runs_write_by_write,
            catalog_items_are_deleted_with_their_links_unless_in_use,
            a_create_is_stored_with_version_one_and_a_numbered_event,
            an_overlapping_booking_is_refused_naming_the_conflict,
            touching_bookings_are_both_accepted,
            overlap_is_checked_across_branches_of_one_resource,
            service_buffers_count_as_occupied,
            other_resources_and_cancelled_reservations_do_not_block,
            stock_is_taken_and_given_back_on_cancel,
            short_stock_is_refused_with_the_available_quantity,
            a_refused_write_changes_nothing,
            a_stale_version_is_refused,
            terminal_states_stay_terminal,
            a_replayed_create_is_refused,
            immutable_fields_cannot_change,
            references_must_exist_where_the_booking_is,
            instants_are_kept_to_the_microsecond,
            an_unexpired_hold_blocks_the_slot,
            a_stale_hold_in_the_way_is_expired_in_the_same_write,
            a_stale_hold_keeping_stock_is_expired_when_the_stock_is_needed,
            stale_holds_are_listed_with_tenants_taking_turns,
            a_key_is_held_to_its_quota_of_running_holds,
            occupancy_lists_the_active_time_of_the_asked_resources,
            settings_and_performers_round_trip,
            catalog_pages_walk_every_item_once_by_id,
            a_batch_of_reads_answers_as_each_read_alone,
            events_since_pages_in_order_without_gaps,
            events_are_found_by_type_subject_and_key,
            history_projects_to_the_stored_reservation,
            reservations_can_be_filtered_and_paged,
            blocking_lists_only_overlapping_calendar_blockers,
            stock_can_be_set_and_restocked_with_events,
            a_level_leaves_room_for_the_units_out,
            api_keys_are_found_listed_revoked_and_recorded,
            idempotency_keys_replay_and_refuse_mismatches,
            a_claim_past_its_lease_is_taken_over_and_its_old_maker_fenced_off,
            a_claim_is_abandoned_by_its_time_only,
            concurrent_claims_of_one_key_give_one_new,
            old_idempotency_records_are_purged,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: ::std::sync::Arc<dyn $crate::BookingStore> = $make.await;
                $crate::contract::store::$case(store).await;
            }
        )*
    };
}
