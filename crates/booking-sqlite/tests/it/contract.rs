//! The store contract and the race suite, unchanged, on SQLite.

booking_testkit::store_race_tests!(async {
    // Two handles on one file, as two processes (the server and the
    // `tenant create` command) share it.
    let path = crate::db::fresh_path();
    let stores: Vec<std::sync::Arc<dyn booking_core::BookingStore>> =
        vec![crate::db::open(&path).await, crate::db::open(&path).await];
    stores
});

mod store {
    booking_testkit::store_contract_tests!(crate::db::fresh_store());
}
