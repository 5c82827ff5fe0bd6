//! The in-memory adapters against the port contract suites.

mod contract;
