//! The store contract, unchanged, on SQLite.

booking_testkit::store_contract_tests!(crate::db::fresh_store());
