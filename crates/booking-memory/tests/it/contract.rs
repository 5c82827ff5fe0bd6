//! The in-memory adapters pass the same contract suites as the real ones.

mod store {
    use std::sync::Arc;

    use booking_memory::InMemoryStore;

    booking_testkit::store_contract_tests!(async { Arc::new(InMemoryStore::new()) });

    mod races {
        use std::sync::Arc;

        use booking_core::BookingStore;
        use booking_memory::InMemoryStore;

        // One store shared by every writer: a process's handles.
        booking_testkit::store_race_tests!(async {
            let store: Arc<dyn BookingStore> = Arc::new(InMemoryStore::new());
            vec![store.clone(), store]
        });
    }
}

mod lock {
    use std::sync::Arc;

    use booking_memory::InMemoryLocks;

    booking_testkit::lock_contract_tests!(async { Arc::new(InMemoryLocks::new()) });
}
