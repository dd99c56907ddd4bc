//! The rate limiters a live snapshot holds (DESIGN §15, §16), kept across a reload that
//! leaves their rate alone. The API's middleware asks them (`crate::api::rate_limit`, provider
//! webhooks in `crate::api::webhooks`); they know nothing of requests themselves:
//! - [`RateLimits`]: a known API key gets `server.rate_limit_per_second` per second with a
//!   burst of twice that; credentials that authenticate nobody count against their client
//!   address: [`AUTH_FAILURE_BURST`] at once, then one per [`AUTH_FAILURE_INTERVAL`]. An
//!   address over that budget is refused for *every* key for as long as it is over (its
//!   "penalty");
//! - [`webhooks::WebhookLimits`]: verified provider events per provider account.
//!
//! A rate of `0` turns a limiter off. The limiters are governor's keyed GCRA (no hand-written
//! bucket arithmetic) with its `Mutex<HashMap>` store. Memory is bounded: keys of the per-key
//! limiter are the SHA-256 of configured keys only (never a key itself, never a guessed one);
//! addresses are kept as the IPv4 address or the IPv6 /64 (one host holds a whole /64); and
//! [`RateLimits::tidy`], run every [`TIDY_EVERY`] and whenever the address table passes
//! [`MAX_TRACKED`], drops every entry indistinguishable from a fresh one (`retain_recent`)
//! and every expired penalty.

pub(crate) mod webhooks;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Failed authentications an address may make at once.
pub(crate) const AUTH_FAILURE_BURST: u32 = 20;
/// Then one more each this often.
pub(crate) const AUTH_FAILURE_INTERVAL: Duration = Duration::from_secs(1);
/// How often idle limiter entries and expired penalties are dropped.
pub(crate) const TIDY_EVERY: Duration = Duration::from_secs(10);
/// Tracked addresses beyond which a request tidies the tables at once.
pub(crate) const MAX_TRACKED: usize = 100_000;

type Instant = <DefaultClock as Clock>::Instant;

/// The gateway's limiters; `None` inside when turned off.
pub(crate) struct RateLimits {
    inner: Option<Limiters>,
}

struct Limiters {
    per_key: DefaultKeyedRateLimiter<[u8; 32]>,
    auth_failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses over their failure budget, until when.
    penalties: Mutex<HashMap<IpAddr, Instant>>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("enabled", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

/// What the limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    /// Refuse; retry after this long.
    Refuse(Duration),
}

impl RateLimits {
    /// Limits of `per_second` requests per key (burst twice that); `0` turns them off.
    pub(crate) fn new(per_second: u32) -> Self {
        let Some(rate) = NonZeroU32::new(per_second) else {
            return Self { inner: None };
        };
        let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
        let failures = Quota::with_period(AUTH_FAILURE_INTERVAL)
            .map(|quota| quota.allow_burst(NonZeroU32::MIN.saturating_add(AUTH_FAILURE_BURST - 1)));
        let Some(failures) = failures else {
            return Self { inner: None };
        };
        Self {
            inner: Some(Limiters {
                per_key: DefaultKeyedRateLimiter::hashmap(
                    Quota::per_second(rate).allow_burst(burst),
                ),
                auth_failures: DefaultKeyedRateLimiter::hashmap(failures),
                penalties: Mutex::new(HashMap::new()),
                clock: DefaultClock::default(),
            }),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// A request authenticated by the key whose SHA-256 is `key` from `peer`.
    pub(crate) fn known_key(&self, key: &[u8; 32], peer: IpAddr) -> Verdict {
        let Some(limits) = &self.inner else {
            return Verdict::Allow;
        };
        if let Some(wait) = limits.penalty(peer) {
            return Verdict::Refuse(wait);
        }
        match limits.per_key.check_key(key) {
            Ok(()) => Verdict::Allow,
            Err(not_until) => Verdict::Refuse(not_until.wait_time_from(limits.clock.now())),
        }
    }

    /// A request whose credentials authenticate nobody, from `peer`.
    pub(crate) fn failed_authentication(&self, peer: IpAddr) -> Verdict {
        let Some(limits) = &self.inner else {
            return Verdict::Allow;
        };
        let peer = address_key(peer);
        if let Some(wait) = limits.penalty(peer) {
            return Verdict::Refuse(wait);
        }
        if limits.auth_failures.len() > MAX_TRACKED {
            self.tidy();
        }
        match limits.auth_failures.check_key(&peer) {
            Ok(()) => Verdict::Allow,
            Err(not_until) => {
                let until = not_until.earliest_possible();
                if let Ok(mut penalties) = limits.penalties.lock() {
                    penalties.insert(peer, until);
                }
                Verdict::Refuse(not_until.wait_time_from(limits.clock.now()))
            }
        }
    }

    /// Drops limiter entries that are indistinguishable from fresh ones and expired
    /// penalties, so memory follows the clients active now.
    pub(crate) fn tidy(&self) {
        let Some(limits) = &self.inner else {
            return;
        };
        limits.per_key.retain_recent();
        limits.auth_failures.retain_recent();
        limits.auth_failures.shrink_to_fit();
        let now = limits.clock.now();
        if let Ok(mut penalties) = limits.penalties.lock() {
            penalties.retain(|_, until| *until > now);
            penalties.shrink_to_fit();
        }
    }

    /// How many addresses the failure limiter tracks now.
    #[cfg(test)]
    pub(crate) fn tracked_addresses(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(0, |limits| limits.auth_failures.len())
    }
}

impl Limiters {
    /// How long `peer` is still refused for its failed authentications, if it is.
    fn penalty(&self, peer: IpAddr) -> Option<Duration> {
        let peer = address_key(peer);
        let penalties = self.penalties.lock().ok()?;
        let until = *penalties.get(&peer)?;
        let now = self.clock.now();
        (until > now).then(|| until.duration_since(now))
    }
}

/// The key an address is counted under: an IPv4 address (also when IPv4-mapped), or the
/// /64 of an IPv6 address.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = v6.to_bits() & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from_bits(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn a_key_gets_twice_its_rate_at_once_then_is_refused_with_a_wait() {
        let limits = RateLimits::new(5);
        for i in 0..10 {
            assert_eq!(limits.known_key(&KEY, HOST), Verdict::Allow, "request {i}");
        }
        match limits.known_key(&KEY, HOST) {
            Verdict::Refuse(wait) => assert!(wait <= Duration::from_millis(200), "{wait:?}"),
            Verdict::Allow => panic!("the 11th request of a 5/s key passed"),
        }
        assert_eq!(limits.known_key(&[8; 32], HOST), Verdict::Allow);
    }

    #[test]
    fn zero_turns_every_limit_off() {
        let limits = RateLimits::new(0);
        assert!(!limits.enabled());
        for _ in 0..1_000 {
            assert_eq!(limits.known_key(&KEY, HOST), Verdict::Allow);
            assert_eq!(limits.failed_authentication(HOST), Verdict::Allow);
        }
    }

    #[test]
    fn an_address_over_its_failure_budget_is_refused_even_with_a_right_key() {
        let limits = RateLimits::new(1_000);
        for i in 0..AUTH_FAILURE_BURST {
            assert_eq!(limits.failed_authentication(HOST), Verdict::Allow, "{i}");
        }
        assert!(matches!(
            limits.failed_authentication(HOST),
            Verdict::Refuse(_)
        ));
        // The right key from the same address learns nothing meanwhile…
        assert!(matches!(limits.known_key(&KEY, HOST), Verdict::Refuse(_)));
        // …while another address is unaffected.
        let other = IpAddr::from([192, 0, 2, 2]);
        assert_eq!(limits.known_key(&KEY, other), Verdict::Allow);
        assert_eq!(limits.failed_authentication(other), Verdict::Allow);
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_64_and_a_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(address_key(mapped), HOST);
    }

    #[test]
    fn tidying_forgets_addresses_that_are_back_to_a_fresh_state() {
        let limits = RateLimits::new(10);
        for i in 0..50u8 {
            limits.failed_authentication(IpAddr::from([10, 0, 0, i]));
        }
        assert_eq!(limits.tracked_addresses(), 50);
        limits.tidy();
        // One failure each is still remembered (just now)…
        assert_eq!(limits.tracked_addresses(), 50);
        std::thread::sleep(AUTH_FAILURE_INTERVAL * 2 + Duration::from_millis(100));
        // …and forgotten once its cell has been replenished.
        limits.tidy();
        assert_eq!(limits.tracked_addresses(), 0);
    }
}
