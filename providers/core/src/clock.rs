//! The wall clock, injectable: everything that derives a date from "now" (e-Buy's China dates
//! in `uuid` and a defaulted `tradeTime`, bench and sandbox payloads) reads a [`Clock`], so a
//! test can run it at 16:30 or 23:59 UTC (already tomorrow in China) whatever the hour of
//! the machine (DESIGN §16 "Any hour, any zone").
//!
//! Production code holds [`SystemClock`]; tests hold a [`FixedClock`] they set and advance.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

/// A source of the current instant (UTC).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> OffsetDateTime;
}

/// A clock shared between an adapter and whoever drives it.
pub type SharedClock = Arc<dyn Clock>;

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The machine's clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that says what a test told it, until told otherwise.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<OffsetDateTime>,
}

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn at(at: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(at),
        })
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_fixed_clock_says_what_it_was_told() {
        let clock = FixedClock::at(datetime!(2025-03-16 16:30 UTC));
        assert_eq!(clock.now(), datetime!(2025-03-16 16:30 UTC));
        clock.advance(Duration::minutes(449));
        assert_eq!(clock.now(), datetime!(2025-03-16 23:59 UTC));
        clock.set(datetime!(2025-03-17 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2025-03-17 00:00 UTC));
    }

    #[test]
    fn the_system_clock_is_utc_now() {
        let before = OffsetDateTime::now_utc();
        let now = SystemClock.now();
        assert!(now >= before && now.offset().is_utc());
    }
}
