//! The lock contract, unchanged, on a real valkey-server.

booking_testkit::lock_contract_tests!(crate::server::fresh_locks());
