//! The tick of the engine's background loops (sync, outbox delivery) whose period is a
//! configuration value, so that a reload that changes the period takes effect from the next
//! tick.

use std::time::Duration;

use super::Engine;

/// The tick of a background loop whose period is a configuration value: each tick hands out
/// the engine on the snapshot current then, and a reload that changed the period takes
/// effect from the next tick.
pub(crate) struct Ticker<F> {
    period_of: F,
    period: Option<Duration>,
    interval: Option<tokio::time::Interval>,
}

impl<F: Fn(&Engine) -> Duration> Ticker<F> {
    pub(crate) fn new(period_of: F) -> Self {
        Self {
            period_of,
            period: None,
            interval: None,
        }
    }

    /// Waits for the next tick; returns the engine on the snapshot current now.
    pub(crate) async fn tick(&mut self, engine: &Engine) -> Engine {
        let period = (self.period_of)(&engine.current());
        if self.period != Some(period) || self.interval.is_none() {
            let first = if self.period.is_none() {
                tokio::time::Instant::now()
            } else {
                tokio::time::Instant::now() + period
            };
            let mut interval = tokio::time::interval_at(first, period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            self.period = Some(period);
            self.interval = Some(interval);
        }
        if let Some(interval) = self.interval.as_mut() {
            interval.tick().await;
        }
        engine.current()
    }
}
