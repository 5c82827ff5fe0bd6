//! The in-memory adapters pass the same contract suites as the real ones.

mod store {
    use std::sync::Arc;

    use booking_testkit::memory::InMemoryStore;

    booking_testkit::store_contract_tests!(async { Arc::new(InMemoryStore::new()) });
}

mod lock {
    use std::sync::Arc;

    use booking_testkit::memory::InMemoryLocks;

    booking_testkit::lock_contract_tests!(async { Arc::new(InMemoryLocks::new()) });
}
