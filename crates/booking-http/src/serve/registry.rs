//! The node's open connections, counted against its caps.
//!
//! A connection is *idle* while it waits for a request's headers (when it
//! opens, and between requests) and *busy* from the moment its request is
//! handed to the router until the answer is sent; an upgraded connection
//! (a WebSocket) stays busy for as long as it is open: streams have caps of
//! their own.
//!
//! At a cap (the node's, or the peer address's), the connection that has
//! been idle the longest gives way to the newcomer: it is closed. So a
//! client that opens connections and sends nothing (or half a header)
//! cannot keep anyone out — each new connection pushes out the oldest
//! silent one, and `/healthz` still answers. Only when every connection is
//! busy is the newcomer refused. Silent connections are also closed by the
//! header-read timeout, so a node under such an attack only churns.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// The caps a [`Registry`] enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Caps {
    /// Open connections on the node.
    pub(crate) total: usize,
    /// Open connections from one peer address (`0`: no cap).
    pub(crate) per_address: usize,
}

/// The open connections.
#[derive(Debug)]
pub(crate) struct Registry {
    caps: Caps,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Ids and idle tickets come from this counter: a smaller ticket has
    /// been idle longer.
    counter: u64,
    open: HashMap<u64, Open>,
    per_address: HashMap<IpAddr, usize>,
    /// Idle connections, oldest first: ticket → id.
    idle: BTreeMap<u64, u64>,
    /// The same, per address (kept only with a per-address cap).
    idle_per_address: HashMap<IpAddr, BTreeMap<u64, u64>>,
}

#[derive(Debug)]
struct Open {
    address: IpAddr,
    /// Its place in the idle queues while idle.
    idle_since: Option<u64>,
    /// Told when the connection must give way.
    evicted: Arc<Notify>,
}

/// Why a connection was not admitted: every connection in the way is busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// The node's cap.
    Node,
    /// The peer address's cap.
    Address,
}

impl State {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn set_idle(&mut self, id: u64, per_address_cap: bool) {
        let ticket = self.next();
        let Some(open) = self.open.get_mut(&id) else {
            return;
        };
        if open.idle_since.is_some() {
            return;
        }
        open.idle_since = Some(ticket);
        let address = open.address;
        self.idle.insert(ticket, id);
        if per_address_cap {
            self.idle_per_address
                .entry(address)
                .or_default()
                .insert(ticket, id);
        }
    }

    fn set_busy(&mut self, id: u64) {
        let Some(open) = self.open.get_mut(&id) else {
            return;
        };
        if let Some(ticket) = open.idle_since.take() {
            let address = open.address;
            self.idle.remove(&ticket);
            self.forget_idle_of(address, ticket);
        }
    }

    fn forget_idle_of(&mut self, address: IpAddr, ticket: u64) {
        if let Some(queue) = self.idle_per_address.get_mut(&address) {
            queue.remove(&ticket);
            if queue.is_empty() {
                self.idle_per_address.remove(&address);
            }
        }
    }

    /// Forgets connection `id`; returns it if it was open.
    fn remove(&mut self, id: u64) -> Option<Open> {
        let open = self.open.remove(&id)?;
        if let Some(ticket) = open.idle_since {
            self.idle.remove(&ticket);
            self.forget_idle_of(open.address, ticket);
        }
        if let Some(n) = self.per_address.get_mut(&open.address) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&open.address);
            }
        }
        Some(open)
    }

    /// Closes the connection idle the longest (of `address`, if given).
    fn evict_oldest_idle(&mut self, address: Option<IpAddr>) -> bool {
        let victim = match address {
            Some(a) => self
                .idle_per_address
                .get(&a)
                .and_then(|q| q.first_key_value())
                .map(|(_, id)| *id),
            None => self.idle.first_key_value().map(|(_, id)| *id),
        };
        match victim.and_then(|id| self.remove(id)) {
            Some(open) => {
                open.evicted.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Registry {
    pub(crate) fn new(caps: Caps) -> Arc<Self> {
        Arc::new(Self {
            caps,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a connection from `address` (idle until its first request),
    /// closing the longest-idle one in its way at a cap.
    ///
    /// # Errors
    /// [`Full`] when every connection in the way is busy.
    pub(crate) fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Admitted, Full> {
        let per_address_cap = self.caps.per_address > 0;
        let mut state = self.state();
        if per_address_cap
            && state.per_address.get(&address).copied().unwrap_or(0) >= self.caps.per_address
            && !state.evict_oldest_idle(Some(address))
        {
            return Err(Full::Address);
        }
        if state.open.len() >= self.caps.total.max(1) && !state.evict_oldest_idle(None) {
            return Err(Full::Node);
        }
        let id = state.next();
        let evicted = Arc::new(Notify::new());
        state.open.insert(
            id,
            Open {
                address,
                idle_since: None,
                evicted: evicted.clone(),
            },
        );
        *state.per_address.entry(address).or_default() += 1;
        state.set_idle(id, per_address_cap);
        drop(state);
        Ok(Admitted {
            handle: Arc::new(Handle {
                registry: self.clone(),
                id,
            }),
            evicted,
        })
    }

    /// Open connections.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.state().open.len()
    }
}

/// A connection just admitted.
#[derive(Debug)]
pub(crate) struct Admitted {
    /// Its place: busy and idle marks; the last clone dropped frees it.
    pub(crate) handle: Arc<Handle>,
    /// Resolves when it must give way to a newcomer.
    pub(crate) evicted: Arc<Notify>,
}

/// One connection's place in the registry.
#[derive(Debug)]
pub(crate) struct Handle {
    registry: Arc<Registry>,
    id: u64,
}

impl Handle {
    /// A request is being answered (or the connection was upgraded).
    pub(crate) fn busy(&self) {
        self.registry.state().set_busy(self.id);
    }

    /// The answer went out; the connection waits for the next request.
    pub(crate) fn idle(&self) {
        let per_address_cap = self.registry.caps.per_address > 0;
        self.registry.state().set_idle(self.id, per_address_cap);
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.registry.state().remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn evicted(a: &Admitted) -> bool {
        // `notify_one` stores a permit: a pending notification shows as a
        // ready `notified()`.
        let notified = a.evicted.notified();
        tokio::pin!(notified);
        notified.as_mut().enable()
    }

    #[test]
    fn at_the_node_cap_the_longest_idle_connection_gives_way() {
        let r = Registry::new(Caps {
            total: 2,
            per_address: 0,
        });
        let first = r.admit(ip(1)).unwrap();
        let second = r.admit(ip(2)).unwrap();
        let third = r.admit(ip(3)).unwrap();
        assert!(evicted(&first), "the oldest idle one is told to close");
        assert!(!evicted(&second) && !evicted(&third));
        assert_eq!(r.open(), 2);
        // Its handle dropping later frees nothing twice.
        drop(first);
        assert_eq!(r.open(), 2);
    }

    #[test]
    fn busy_connections_are_never_pushed_out_and_a_full_node_refuses() {
        let r = Registry::new(Caps {
            total: 2,
            per_address: 0,
        });
        let a = r.admit(ip(1)).unwrap();
        let b = r.admit(ip(1)).unwrap();
        a.handle.busy();
        let c = r.admit(ip(2)).unwrap();
        assert!(
            evicted(&b) && !evicted(&a),
            "the idle one went, not the busy one"
        );
        c.handle.busy();
        assert_eq!(r.admit(ip(3)).unwrap_err(), Full::Node);
        // Idle again after its answer: it may give way now.
        a.handle.idle();
        let d = r.admit(ip(3)).unwrap();
        assert!(evicted(&a));
        drop((c, d));
        assert_eq!(r.open(), 0);
    }

    #[test]
    fn an_address_at_its_cap_pushes_out_its_own_idle_connections_only() {
        let r = Registry::new(Caps {
            total: 10,
            per_address: 2,
        });
        let other = r.admit(ip(9)).unwrap();
        let a1 = r.admit(ip(1)).unwrap();
        let a2 = r.admit(ip(1)).unwrap();
        let a3 = r.admit(ip(1)).unwrap();
        assert!(evicted(&a1), "its own oldest idle connection went");
        assert!(!evicted(&other), "another address's idle connection stays");
        a2.handle.busy();
        a3.handle.busy();
        assert_eq!(r.admit(ip(1)).unwrap_err(), Full::Address);
        assert!(r.admit(ip(2)).is_ok(), "other addresses are still welcome");
    }

    #[test]
    fn the_last_handle_frees_the_place() {
        let r = Registry::new(Caps {
            total: 1,
            per_address: 1,
        });
        let a = r.admit(ip(1)).unwrap();
        a.handle.busy();
        let kept = a.handle.clone();
        drop(a);
        assert_eq!(r.open(), 1, "a clone still holds it");
        drop(kept);
        assert_eq!(r.open(), 0);
        assert!(r.admit(ip(1)).is_ok());
    }
}
