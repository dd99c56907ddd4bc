//! Prometheus metrics (`GET /metrics`): HTTP requests by route and status with latency
//! histograms, refund transitions by provider and status, provider call latency by outcome,
//! misconfiguration errors and panics caught, configuration reloads and the generation in
//! force, trace spans dropped; per provider account, its circuit breaker's state and its
//! queue of refunds never sent (depth, oldest age; DESIGN §17). prometheus-client is the official Rust client
//! and brings no HTTP stack of its own.
//!
//! Every label value comes from a closed set (DESIGN §15), so no client can grow the
//! exposition: routes are the router's templates (`/v1/refunds/{id}`) or `unmatched`, methods
//! one of [`method_label`]'s, statuses the few the API answers, providers the configured ones.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;

use crate::domain::breaker_state::{AccountView, BreakerState};

type Labels = Vec<(&'static str, String)>;

/// Spans dropped by reason; one family for the process, registered by every `Metrics` and
/// counted by the trace export (`crate::telemetry::export`), which holds no `Metrics`.
pub(crate) fn dropped_spans() -> Family<Labels, Counter> {
    static DROPPED: OnceLock<Family<Labels, Counter>> = OnceLock::new();
    DROPPED.get_or_init(Family::default).clone()
}

/// Counts `n` spans dropped for `reason` (`queue_full`, `export_failed`).
pub(crate) fn count_dropped(reason: &'static str, n: u64) {
    dropped_spans()
        .get_or_create(&vec![("reason", reason.to_owned())])
        .inc_by(n);
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<Labels, Counter>,
    http_latency: Family<Labels, Histogram>,
    refund_transitions: Family<Labels, Counter>,
    provider_calls: Family<Labels, Histogram>,
    provider_misconfigured: Family<Labels, Counter>,
    panics: Counter,
    config_reloads: Family<Labels, Counter>,
    config_generation: Gauge,
    breaker_state: Family<Labels, Gauge>,
    queue_depth: Family<Labels, Gauge>,
    queue_oldest_age: Family<Labels, Gauge<f64, AtomicU64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~8 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("refund_gateway");
        let http_requests = Family::<Labels, Counter>::default();
        let http_latency = Family::<Labels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let refund_transitions = Family::<Labels, Counter>::default();
        let provider_calls = Family::<Labels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let provider_misconfigured = Family::<Labels, Counter>::default();
        let panics = Counter::default();
        let breaker_state = Family::<Labels, Gauge>::default();
        let queue_depth = Family::<Labels, Gauge>::default();
        let queue_oldest_age = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "breaker_state",
            "Each provider account's circuit breaker: 1 for its current state (closed, open, half_open), 0 for the others",
            breaker_state.clone(),
        );
        registry.register(
            "queue_depth",
            "Refunds waiting unsent in each provider account's queue",
            queue_depth.clone(),
        );
        registry.register(
            "queue_oldest_age_seconds",
            "How long the oldest refund of each provider account's queue has waited",
            queue_oldest_age.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            http_latency.clone(),
        );
        registry.register(
            "refunds",
            "Refunds entering each status, by provider",
            refund_transitions.clone(),
        );
        registry.register(
            "provider_call_duration_seconds",
            "Provider call latency by provider and outcome",
            provider_calls.clone(),
        );
        registry.register(
            "provider_misconfigured",
            "Provider calls that failed on our own credentials or configuration",
            provider_misconfigured.clone(),
        );
        registry.register(
            "panics",
            "Requests that reached the last-resort panic guard",
            panics.clone(),
        );
        let config_reloads = Family::<Labels, Counter>::default();
        let config_generation = Gauge::default();
        registry.register(
            "config_reloads",
            "Configuration reloads (SIGHUP) by result: applied, unchanged, invalid",
            config_reloads.clone(),
        );
        registry.register(
            "config_generation",
            "Generation of the configuration in force: 1 at start, +1 per applied reload",
            config_generation.clone(),
        );
        registry.register(
            "otel_spans_dropped",
            "Trace spans not exported, by reason: queue_full (the export queue was at its bound) or export_failed (the collector did not take them)",
            dropped_spans(),
        );
        Self {
            registry,
            config_reloads,
            config_generation,
            http_requests,
            http_latency,
            refund_transitions,
            provider_calls,
            provider_misconfigured,
            panics,
            breaker_state,
            queue_depth,
            queue_oldest_age,
        }
    }
}

/// The `method` label: a standard method's name, or `other` for anything a client invented.
pub(crate) fn method_label(method: &http::Method) -> &'static str {
    use http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

impl Metrics {
    /// Counts one answered request. `route` must be a route template or `unmatched` and
    /// `method` a [`method_label`]: both become label values.
    pub(crate) fn http_request(
        &self,
        route: &str,
        method: &'static str,
        status: u16,
        elapsed: Duration,
    ) {
        self.http_requests
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("method", method.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.http_latency
            .get_or_create(&vec![("route", route.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn refund_transition(&self, provider: &str, status: &str) {
        self.refund_transitions
            .get_or_create(&vec![
                ("provider", provider.to_owned()),
                ("status", status.to_owned()),
            ])
            .inc();
    }

    pub(crate) fn provider_call(&self, provider: &str, outcome: &str, elapsed: Duration) {
        self.provider_calls
            .get_or_create(&vec![
                ("provider", provider.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .observe(elapsed.as_secs_f64());
        if outcome == "misconfigured" {
            self.provider_misconfigured
                .get_or_create(&vec![("provider", provider.to_owned())])
                .inc();
        }
    }

    /// Counts one reload by its result (`applied`, `unchanged`, `invalid`).
    pub(crate) fn config_reload(&self, result: &'static str) {
        self.config_reloads
            .get_or_create(&vec![("result", result.to_owned())])
            .inc();
    }

    /// The generation of the configuration in force.
    pub(crate) fn set_config_generation(&self, generation: u64) {
        self.config_generation
            .set(i64::try_from(generation).unwrap_or(i64::MAX));
    }

    /// Publishes every provider account's breaker and queue as this process sees them at
    /// `now` (Unix ms). Labels come from the configured providers and accounts only.
    pub(crate) fn breakers(&self, views: &[AccountView], now: i64) {
        for view in views {
            let account = || {
                vec![
                    ("provider", view.provider.clone()),
                    ("account", view.account.clone()),
                ]
            };
            for state in BreakerState::ALL {
                let mut labels = account();
                labels.push(("state", state.as_str().to_owned()));
                self.breaker_state
                    .get_or_create(&labels)
                    .set(i64::from(view.state == state));
            }
            self.queue_depth
                .get_or_create(&account())
                .set(i64::try_from(view.queued).unwrap_or(i64::MAX));
            let age = view
                .oldest_queued_at
                .filter(|_| view.queued > 0)
                .map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
            self.queue_oldest_age.get_or_create(&account()).set(age);
        }
    }

    pub(crate) fn panic_caught(&self) {
        self.panics.inc();
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_keep_their_name_and_invented_ones_are_other() {
        assert_eq!(method_label(&http::Method::GET), "GET");
        assert_eq!(method_label(&http::Method::PATCH), "PATCH");
        for invented in ["BREW", "get", "PROPFIND", "X"] {
            let method = http::Method::from_bytes(invented.as_bytes()).expect("a method token");
            assert_eq!(method_label(&method), "other", "{invented}");
        }
    }
}
