//! Failed authentications, per peer address.
//!
//! Rate limits are per key, so a client sending made-up keys was never
//! slowed: each costs a hash and a database read (1,707 a second from one
//! client in the review). Each address now has a bucket of failures
//! (401s, refilled at [`crate::RequestLimits::auth_failures_per_address`]
//! a second, bursts of five times that); a `/v1` request carrying a key
//! from an address with none left gets 429 before its key is looked up —
//! unless the key authenticated recently
//! (anywhere): behind a shared address (a clinic's NAT, a proxy), a client
//! with a good key keeps working while a neighbour guesses.
//!
//! IPv6 addresses are counted by their /64 (one host usually has the whole
//! prefix). Memory is bounded: at most [`MOST_ADDRESSES`] buckets and
//! [`MOST_KNOWN`] known keys, forgotten when full.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// The most addresses with a bucket.
const MOST_ADDRESSES: usize = 100_000;
/// The most keys remembered as good.
const MOST_KNOWN: usize = 100_000;

/// A bucket of failures: how many are left, as of when.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    left: f64,
    at: Instant,
}

#[derive(Debug, Default)]
struct Tables {
    buckets: HashMap<IpAddr, Bucket>,
    known: HashSet<[u8; 32]>,
}

/// Failed authentications per address, and keys known to be good.
#[derive(Debug)]
pub(crate) struct AuthFailures {
    /// Failures a second an address may make (0: no limit).
    rate: f64,
    burst: f64,
    state: Mutex<Tables>,
}

/// The address a bucket belongs to: IPv4 as is, IPv6 by its /64.
fn subject(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}

/// The key a request carries (`Authorization: Bearer`, or a browser's
/// `bearer.<key>` WebSocket subprotocol), hashed.
fn key_hash(headers: &HeaderMap) -> Option<[u8; 32]> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let from_protocol = || {
        headers
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("bearer."))
            })
    };
    let secret = from_header.or_else(from_protocol)?.trim();
    (!secret.is_empty()).then(|| Sha256::digest(secret.as_bytes()).into())
}

impl AuthFailures {
    pub(crate) fn new(per_second: u32) -> Arc<Self> {
        let rate = f64::from(per_second);
        Arc::new(Self {
            rate,
            burst: rate * 5.0,
            state: Mutex::new(Tables::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, Tables> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn refilled(&self, bucket: Option<Bucket>, now: Instant) -> Bucket {
        bucket.map_or(
            Bucket {
                left: self.burst,
                at: now,
            },
            |b| Bucket {
                left: (b.left + now.duration_since(b.at).as_secs_f64() * self.rate).min(self.burst),
                at: now,
            },
        )
    }

    /// `None` if a request from `ip` with `key` may go on; else how long
    /// to wait.
    fn refuse(&self, ip: IpAddr, key: Option<&[u8; 32]>) -> Option<Duration> {
        let state = self.state();
        if key.is_some_and(|k| state.known.contains(k)) {
            return None;
        }
        let bucket = self.refilled(state.buckets.get(&subject(ip)).copied(), Instant::now());
        (bucket.left < 1.0)
            .then(|| Duration::from_secs_f64(((1.0 - bucket.left) / self.rate).max(1.0)))
    }

    /// Counts a failed authentication of `ip`.
    fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut state = self.state();
        if state.buckets.len() >= MOST_ADDRESSES {
            // Full buckets are the same as none.
            let (rate, burst) = (self.rate, self.burst);
            state
                .buckets
                .retain(|_, b| b.left + now.duration_since(b.at).as_secs_f64() * rate < burst);
            if state.buckets.len() >= MOST_ADDRESSES {
                state.buckets.clear();
            }
        }
        let subject = subject(ip);
        let mut bucket = self.refilled(state.buckets.get(&subject).copied(), now);
        bucket.left -= 1.0;
        state.buckets.insert(subject, bucket);
    }

    /// Remembers a key that authenticated.
    fn good(&self, key: [u8; 32]) {
        let mut state = self.state();
        if state.known.len() >= MOST_KNOWN {
            state.known.clear();
        }
        state.known.insert(key);
    }
}

/// Refuses (429) a request from an address out of failures unless its key
/// is known to be good; counts the 401s each address gets.
pub(crate) async fn throttle(
    State(failures): State<Arc<AuthFailures>>,
    req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // Only what looks a key up can fail: `/v1` requests that carry one.
    // Health checks, the documents and the calendar's files are never held
    // back (a load balancer's probes share the address of its clients).
    let key = key_hash(req.headers()).filter(|_| req.uri().path().starts_with("/v1/"));
    let (Some(ip), Some(key)) = (peer.filter(|_| failures.rate > 0.0), key) else {
        return next.run(req).await;
    };
    let key = Some(key);
    if let Some(wait) = failures.refuse(ip, key.as_ref()) {
        let seconds = wait.as_secs().max(1);
        return Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-failures",
            "Too many failed authentications",
            format!(
                "this address sent too many unknown or revoked API keys; retry after {seconds} s \
                 with a valid key"
            ),
        )
        .retry_after(seconds)
        .into_response();
    }
    let response = next.run(req).await;
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        failures.failed(ip);
    } else if let Some(key) = key.filter(|_| status.is_success() || status.is_informational()) {
        failures.good(key);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_out_of_failures_waits_but_a_known_key_goes_on() {
        let f = AuthFailures::new(2);
        let (ip, other) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        for _ in 0..10 {
            assert_eq!(f.refuse(ip, None), None, "within the burst of 10");
            f.failed(ip);
        }
        assert!(f.refuse(ip, None).is_some());
        assert_eq!(f.refuse(other, None), None, "another address has its own");
        let good = [7u8; 32];
        assert!(f.refuse(ip, Some(&good)).is_some(), "not known yet");
        f.good(good);
        assert_eq!(f.refuse(ip, Some(&good)), None);
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let f = AuthFailures::new(1);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        for _ in 0..5 {
            f.failed(a);
        }
        assert!(f.refuse(b, None).is_some(), "the same /64");
        assert_eq!(f.refuse(c, None), None);
    }
}
