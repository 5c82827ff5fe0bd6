//! The store contract, unchanged, on PostgreSQL.

booking_testkit::store_contract_tests!(crate::db::fresh_store());
