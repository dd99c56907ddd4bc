//! Provider webhooks bounded (DESIGN §16): every *verified* provider event counts against
//! its provider account, `server.webhook_rate_limit_per_second` per second with a burst of
//! twice that; beyond, `429 rate_limited` with `Retry-After`, which providers answer by
//! delivering the event again later (eFundPay and Stripe retry every non-2xx), so nothing is
//! lost. `0` turns it off.
//!
//! Only events that passed the account's signature check are counted, so the keys are the
//! configured accounts (`provider` + account key): a forger cannot grow the table, and an
//! account's legitimate events are never refused because someone else sent garbage (those
//! are `400 webhook_invalid`, bounded by the connection cap and the signature limits of
//! DESIGN §15). The limiter is governor's keyed GCRA, as for API keys ([`super::RateLimits`]).

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::Verdict;

/// The provider-webhook limiter; `None` inside when turned off.
pub(crate) struct WebhookLimits {
    inner: Option<(DefaultKeyedRateLimiter<String>, DefaultClock)>,
}

impl std::fmt::Debug for WebhookLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookLimits")
            .field("enabled", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl WebhookLimits {
    /// `per_second` verified events per provider account (burst twice that); `0` turns the
    /// limit off.
    pub(crate) fn new(per_second: u32) -> Self {
        let Some(rate) = NonZeroU32::new(per_second) else {
            return Self { inner: None };
        };
        let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
        Self {
            inner: Some((
                DefaultKeyedRateLimiter::hashmap(Quota::per_second(rate).allow_burst(burst)),
                DefaultClock::default(),
            )),
        }
    }

    /// A verified event of `provider`'s account `account`.
    pub(crate) fn event(&self, provider: &str, account: &str) -> Verdict {
        let Some((limiter, clock)) = &self.inner else {
            return Verdict::Allow;
        };
        match limiter.check_key(&format!("{provider}\n{account}")) {
            Ok(()) => Verdict::Allow,
            Err(not_until) => Verdict::Refuse(not_until.wait_time_from(clock.now())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_gets_twice_its_rate_at_once_then_waits_and_others_are_unaffected() {
        let limits = WebhookLimits::new(3);
        for i in 0..6 {
            assert_eq!(limits.event("efundpay", "default"), Verdict::Allow, "{i}");
        }
        assert!(matches!(
            limits.event("efundpay", "default"),
            Verdict::Refuse(wait) if wait <= std::time::Duration::from_millis(334)
        ));
        assert_eq!(limits.event("efundpay", "merchant:acme"), Verdict::Allow);
        assert_eq!(limits.event("stripe", "default"), Verdict::Allow);
    }

    #[test]
    fn zero_turns_it_off() {
        let limits = WebhookLimits::new(0);
        for _ in 0..1_000 {
            assert_eq!(limits.event("efundpay", "default"), Verdict::Allow);
        }
    }
}
