//! The circuit breaker of each provider account (DESIGN §17), in the engine: one mechanism
//! for every provider, keyed by provider and account (`default` or `merchant:<id>`), each
//! process keeping its own.
//!
//! - **Closed**: calls go out. `failures` consecutive transport failures (a `NotSent` or an
//!   `Unknown` outcome: connection refused or reset, timeout, 5xx, 429, an answer that cannot
//!   be read) within `window` open it; any answer (a success, a refusal, a 401) resets the
//!   count.
//! - **Open**: nothing is sent: new refunds are queued, status queries wait. Results of calls
//!   that were already in flight change nothing.
//! - **Half-open**, once `open` has passed: ONE call goes out as the probe: the oldest
//!   queued refund (the drain's), or, when this account's queue is empty, the next new refund
//!   or status query. An answer closes the breaker; a transport failure opens it again for
//!   twice as long (at most `max_open`). Everything else waits as when open.
//!
//! Time is Unix milliseconds passed in by the caller, so the state machine is tested without
//! sleeping. State changes are logged once each (warn when it opens, info when it closes).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use refund_provider::ProviderError;

use crate::config::BreakerConfig;
use crate::domain::breaker_state::{AccountView, BreakerState};

use super::millis;

/// A provider account: (provider id, stored account key).
pub(crate) type AccountKey = (String, String);

/// Who asks to call the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// A new refund.
    New,
    /// A status query of a refund already sent.
    Query,
    /// The drain, sending the oldest queued refund.
    Drain,
}

/// What the breaker lets a caller do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permit {
    /// Closed (or off): call.
    Call,
    /// Half-open: call, as the one probe; its result must be reported.
    Probe,
    /// Open, or half-open with the probe taken: do not call. Retry after this time (ms).
    Wait { until: i64 },
}

impl Permit {
    pub(crate) fn allows(self) -> bool {
        !matches!(self, Self::Wait { .. })
    }
}

/// What a call's result says about the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// It answered (whatever it said).
    Answered,
    /// A transport failure: it may be down.
    Failed,
}

impl Health {
    /// `NotSent` and `Unknown` are transport failures; every other result is an answer.
    pub(crate) fn of<T>(result: &Result<T, ProviderError>) -> Self {
        match result {
            Err(ProviderError::NotSent { .. } | ProviderError::Unknown { .. }) => Self::Failed,
            _ => Self::Answered,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Closed {
        failures: u32,
        first_failure_at: i64,
    },
    Open {
        until: i64,
        open_ms: i64,
    },
    HalfOpen {
        open_ms: i64,
        probe_out: bool,
    },
}

/// One account's breaker.
#[derive(Debug, Clone)]
struct Breaker {
    config: BreakerConfig,
    phase: Phase,
    /// This account's queue depth as the drain last saw it (shared by every process).
    queued: u64,
    /// When the oldest queued refund joined the queue, as the drain last saw it.
    oldest_queued_at: Option<i64>,
}

impl Breaker {
    fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            phase: Phase::Closed {
                failures: 0,
                first_failure_at: 0,
            },
            queued: 0,
            oldest_queued_at: None,
        }
    }

    /// Moves an open breaker whose time is up to half-open; returns the state.
    fn state(&mut self, now: i64) -> BreakerState {
        if let Phase::Open { until, open_ms } = self.phase {
            if now >= until {
                self.phase = Phase::HalfOpen {
                    open_ms,
                    probe_out: false,
                };
            }
        }
        match self.phase {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn permit(&mut self, caller: Caller, now: i64) -> Permit {
        if !self.config.enabled {
            return Permit::Call;
        }
        self.state(now);
        let retry_soon = now + millis(self.config.open).min(1_000);
        let queued = self.queued;
        match &mut self.phase {
            Phase::Closed { .. } => Permit::Call,
            Phase::Open { until, .. } => Permit::Wait { until: *until },
            Phase::HalfOpen { probe_out, .. } => {
                let mine = caller == Caller::Drain || queued == 0;
                if *probe_out || !mine {
                    Permit::Wait { until: retry_soon }
                } else {
                    *probe_out = true;
                    Permit::Probe
                }
            }
        }
    }

    /// Records a call's result; returns the new state when it changed.
    fn report(&mut self, permit: Permit, health: Health, now: i64) -> Option<BreakerState> {
        if !self.config.enabled {
            return None;
        }
        let open_ms = millis(self.config.open);
        let max_open_ms = millis(self.config.max_open);
        match (&mut self.phase, permit, health) {
            (Phase::HalfOpen { .. }, Permit::Probe, Health::Answered) => {
                self.phase = Phase::Closed {
                    failures: 0,
                    first_failure_at: 0,
                };
                Some(BreakerState::Closed)
            }
            (Phase::HalfOpen { open_ms, .. }, Permit::Probe, Health::Failed) => {
                let open_ms = open_ms.saturating_mul(2).min(max_open_ms);
                self.phase = Phase::Open {
                    until: now + open_ms,
                    open_ms,
                };
                Some(BreakerState::Open)
            }
            (Phase::Closed { failures, .. }, _, Health::Answered) => {
                *failures = 0;
                None
            }
            (
                Phase::Closed {
                    failures,
                    first_failure_at,
                },
                _,
                Health::Failed,
            ) => {
                if *failures == 0 || now - *first_failure_at > millis(self.config.window) {
                    *failures = 1;
                    *first_failure_at = now;
                } else {
                    *failures += 1;
                }
                if *failures >= self.config.failures {
                    self.phase = Phase::Open {
                        until: now + open_ms,
                        open_ms,
                    };
                    Some(BreakerState::Open)
                } else {
                    None
                }
            }
            // Open, or half-open for a call that was not the probe: a call that was already
            // in flight says nothing the probe will not.
            _ => None,
        }
    }

    /// A probe that was not sent after all (someone else took the queued refund).
    fn release(&mut self, permit: Permit) {
        if let (Phase::HalfOpen { probe_out, .. }, Permit::Probe) = (&mut self.phase, permit) {
            *probe_out = false;
        }
    }
}

/// Every account's breaker in this process.
#[derive(Debug, Default)]
pub struct Breakers {
    /// Each provider's settings; a provider without any gets the defaults. A reload
    /// replaces them ([`Breakers::reconfigure`]); the breakers' states carry over.
    configs: std::sync::RwLock<BTreeMap<String, BreakerConfig>>,
    accounts: Mutex<HashMap<AccountKey, Breaker>>,
}

impl Breakers {
    pub(crate) fn new(configs: BTreeMap<String, BreakerConfig>) -> Self {
        Self {
            configs: std::sync::RwLock::new(configs),
            accounts: Mutex::default(),
        }
    }

    /// The settings of `provider`'s accounts.
    pub(crate) fn config(&self, provider: &str) -> BreakerConfig {
        self.configs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(provider)
            .cloned()
            .unwrap_or_default()
    }

    /// Applies a reload's settings (DESIGN §18): every account's breaker keeps its state
    /// (an open breaker stays open) and follows the new thresholds from its next call.
    pub(crate) fn reconfigure(&self, configs: BTreeMap<String, BreakerConfig>) {
        let mut accounts = self.lock();
        for ((provider, _), breaker) in accounts.iter_mut() {
            breaker.config = configs.get(provider).cloned().unwrap_or_default();
        }
        *self.configs.write().unwrap_or_else(|p| p.into_inner()) = configs;
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<AccountKey, Breaker>> {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with<T>(&self, provider: &str, account: &str, f: impl FnOnce(&mut Breaker) -> T) -> T {
        let mut accounts = self.lock();
        let breaker = accounts
            .entry((provider.to_owned(), account.to_owned()))
            .or_insert_with(|| Breaker::new(self.config(provider)));
        f(breaker)
    }

    /// Whether `caller` may call this account's provider now.
    pub(crate) fn permit(&self, provider: &str, account: &str, caller: Caller, now: i64) -> Permit {
        self.with(provider, account, |b| b.permit(caller, now))
    }

    /// Whether this account's breaker is closed (or off) now. Takes nothing.
    pub(crate) fn is_closed(&self, provider: &str, account: &str, now: i64) -> bool {
        self.with(provider, account, |b| {
            !b.config.enabled || b.state(now) == BreakerState::Closed
        })
    }

    /// Records the result of a call made under `permit`, logging a change of state.
    pub(crate) fn report(
        &self,
        provider: &str,
        account: &str,
        permit: Permit,
        health: Health,
        now: i64,
    ) {
        let changed = self.with(provider, account, |b| {
            let before = b.state(now);
            b.report(permit, health, now)
                .filter(|after| *after != before)
                .map(|after| (before, after, b.phase.clone(), b.queued))
        });
        match changed {
            Some((before, BreakerState::Open, Phase::Open { open_ms, .. }, queued)) => {
                tracing::warn!(
                    provider,
                    account,
                    from = before.as_str(),
                    open_ms,
                    queued,
                    "circuit breaker opened: new refunds are queued, status queries wait"
                );
            }
            Some((before, after, _, queued)) => {
                tracing::info!(
                    provider,
                    account,
                    from = before.as_str(),
                    to = after.as_str(),
                    queued,
                    "circuit breaker closed: sending again, the queue drains"
                );
            }
            None => {}
        }
    }

    /// Gives back a probe that was not used.
    pub(crate) fn release(&self, provider: &str, account: &str, permit: Permit) {
        self.with(provider, account, |b| b.release(permit));
    }

    /// Records an account's queue as the drain saw it in the store.
    pub(crate) fn saw_queue(
        &self,
        provider: &str,
        account: &str,
        queued: u64,
        oldest_queued_at: Option<i64>,
    ) {
        self.with(provider, account, |b| {
            b.queued = queued;
            b.oldest_queued_at = oldest_queued_at;
        });
    }

    /// Whether this process has met this account yet.
    pub(crate) fn is_known(&self, provider: &str, account: &str) -> bool {
        self.lock()
            .contains_key(&(provider.to_owned(), account.to_owned()))
    }

    /// Every account this process has met, sorted, with its state at `now`.
    pub(crate) fn views(&self, now: i64) -> Vec<AccountView> {
        let mut accounts = self.lock();
        let mut views: Vec<AccountView> = accounts
            .iter_mut()
            .map(|((provider, account), b)| AccountView {
                provider: provider.clone(),
                account: account.clone(),
                state: if b.config.enabled {
                    b.state(now)
                } else {
                    BreakerState::Closed
                },
                enabled: b.config.enabled,
                queued: b.queued,
                oldest_queued_at: b.oldest_queued_at,
            })
            .collect();
        views.sort_by(|a, b| (&a.provider, &a.account).cmp(&(&b.provider, &b.account)));
        views
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config() -> BreakerConfig {
        BreakerConfig {
            failures: 3,
            window: Duration::from_millis(1_000),
            open: Duration::from_millis(100),
            max_open: Duration::from_millis(250),
            ..BreakerConfig::default()
        }
    }

    fn fail(b: &mut Breaker, now: i64) -> Option<BreakerState> {
        let permit = b.permit(Caller::New, now);
        b.report(permit, Health::Failed, now)
    }

    #[test]
    fn it_opens_after_the_configured_failures_in_a_row_within_the_window() {
        let mut b = Breaker::new(config());
        assert_eq!(fail(&mut b, 0), None);
        assert_eq!(fail(&mut b, 10), None);
        assert_eq!(fail(&mut b, 20), Some(BreakerState::Open));
        assert_eq!(b.permit(Caller::New, 30), Permit::Wait { until: 120 });
        assert_eq!(b.permit(Caller::Query, 30), Permit::Wait { until: 120 });
    }

    #[test]
    fn an_answer_resets_the_count_and_failures_outside_the_window_start_it_over() {
        let mut b = Breaker::new(config());
        fail(&mut b, 0);
        fail(&mut b, 1);
        let permit = b.permit(Caller::New, 2);
        b.report(permit, Health::Answered, 2);
        assert_eq!(fail(&mut b, 3), None);
        assert_eq!(fail(&mut b, 4), None);
        // The third failure comes after the window of the first: counting starts again.
        assert_eq!(fail(&mut b, 2_000), None);
        assert_eq!(b.state(2_000), BreakerState::Closed);
    }

    #[test]
    fn after_open_ms_one_probe_goes_out_and_its_answer_closes_the_breaker() {
        let mut b = Breaker::new(config());
        b.queued = 2;
        for t in 0..3 {
            fail(&mut b, t);
        }
        // Opened by the third failure, at 2, for open_ms (100).
        assert_eq!(b.state(101), BreakerState::Open);
        assert_eq!(b.state(102), BreakerState::HalfOpen);
        // The queue is not empty: the probe is the drain's, new refunds and queries wait.
        assert!(!b.permit(Caller::New, 102).allows());
        assert!(!b.permit(Caller::Query, 102).allows());
        let probe = b.permit(Caller::Drain, 102);
        assert_eq!(probe, Permit::Probe);
        assert!(
            !b.permit(Caller::Drain, 103).allows(),
            "one probe at a time"
        );
        assert_eq!(
            b.report(probe, Health::Answered, 110),
            Some(BreakerState::Closed)
        );
        assert_eq!(b.permit(Caller::New, 111), Permit::Call);
    }

    #[test]
    fn a_failed_probe_opens_it_again_for_twice_as_long_up_to_max_open_ms() {
        let mut b = Breaker::new(config());
        for t in 0..3 {
            fail(&mut b, t);
        }
        let probe = b.permit(Caller::Drain, 102);
        assert_eq!(
            b.report(probe, Health::Failed, 105),
            Some(BreakerState::Open)
        );
        assert_eq!(b.permit(Caller::New, 106), Permit::Wait { until: 305 });
        let probe = b.permit(Caller::Drain, 305);
        b.report(probe, Health::Failed, 305);
        assert_eq!(
            b.permit(Caller::New, 306),
            Permit::Wait { until: 555 },
            "doubled to 400, capped at 250"
        );
    }

    #[test]
    fn with_an_empty_queue_a_new_refund_or_a_query_may_be_the_probe() {
        let mut b = Breaker::new(config());
        for t in 0..3 {
            fail(&mut b, t);
        }
        let probe = b.permit(Caller::Query, 150);
        assert_eq!(probe, Permit::Probe);
        assert!(!b.permit(Caller::New, 151).allows());
        b.release(probe);
        assert_eq!(b.permit(Caller::New, 152), Permit::Probe);
    }

    #[test]
    fn results_of_calls_in_flight_while_open_change_nothing() {
        let mut b = Breaker::new(config());
        for t in 0..3 {
            fail(&mut b, t);
        }
        assert_eq!(b.report(Permit::Call, Health::Answered, 50), None);
        assert_eq!(b.state(50), BreakerState::Open);
    }

    #[test]
    fn a_disabled_breaker_always_lets_calls_through() {
        let mut b = Breaker::new(BreakerConfig {
            enabled: false,
            ..config()
        });
        for t in 0..10 {
            assert_eq!(fail(&mut b, t), None);
        }
        assert_eq!(b.permit(Caller::New, 11), Permit::Call);
    }

    #[test]
    fn transport_failures_are_not_sent_and_unknown_outcomes_only() {
        let failed: Result<(), _> = Err(ProviderError::not_sent("refused"));
        assert_eq!(Health::of(&failed), Health::Failed);
        let failed: Result<(), _> = Err(ProviderError::unknown("HTTP 503"));
        assert_eq!(Health::of(&failed), Health::Failed);
        let refused: Result<(), _> = Err(ProviderError::rejected(
            refund_provider::FailureCode::ProviderRejected,
            "no",
        ));
        assert_eq!(Health::of(&refused), Health::Answered);
        let misconfigured: Result<(), _> = Err(ProviderError::misconfigured("401"));
        assert_eq!(Health::of(&misconfigured), Health::Answered);
        assert_eq!(Health::of(&Ok::<(), ProviderError>(())), Health::Answered);
    }
}
