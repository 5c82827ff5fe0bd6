//! The store contract and the race suite, unchanged, on PostgreSQL.

booking_testkit::store_contract_tests!(crate::db::fresh_store());

/// Writers spread over four pools on one database (four nodes): the
/// database alone refuses every double booking and oversell.
mod races {
    booking_testkit::store_race_tests!(crate::db::stores_on_one_database(4));
}
