//! Valkey lock tests against a real valkey-server. The lock inside the
//! booking flow, with real stores, is tested in the workspace's `tests/`.

mod acl;
mod contract;
mod outage;
mod server;
