//! The spans the gateway makes (DESIGN §18), in one place so their names and fields stay
//! one vocabulary: `request`, `engine.<step>`, `store.write`, `provider.call`. Every field is
//! an id, a name, an outcome or a duration: never a secret, never a body.

use std::time::Duration;

use axum::http::{HeaderMap, Request};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::{field::Empty, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The target of every gateway span: the OpenTelemetry layer exports this target only.
pub(crate) const TARGET: &str = "refund_gateway::trace";

/// Reads W3C trace context headers from a request.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The span of one HTTP request: its route template (never the raw path), method and
/// request id, continuing the caller's `traceparent` when it sent a valid one.
pub(crate) fn request<B>(request: &Request<B>) -> Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    let method = crate::metrics::method_label(request.method());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let span = tracing::info_span!(
        target: TARGET,
        "request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        request_id = %request_id,
    );
    let parent = TraceContextPropagator::new().extract(&Headers(request.headers()));
    let _ = span.set_parent(parent);
    span
}

/// Records the answer's status on a request span.
pub(crate) fn answered(span: &Span, status: u16) {
    span.record("http.response.status_code", status);
}

/// The span of one engine step (`engine.create`, `engine.record`, `engine.sync`, …) of one
/// refund.
pub(crate) fn engine_step(name: &'static str) -> Span {
    tracing::info_span!(
        target: TARGET,
        "engine",
        otel.name = name,
        refund_id = Empty,
        provider = Empty,
        account = Empty,
    )
}

/// The span of one durable write (`store.create_refund`, `store.change_refund`, …).
pub(crate) fn store_write(name: &'static str) -> Span {
    tracing::info_span!(target: TARGET, "store.write", otel.name = name)
}

/// The span of one call to a provider (`provider.refund`, `provider.refund_status`);
/// [`call_outcome`] records how it ended.
pub(crate) fn provider_call(provider: &str, account: &str, name: &'static str) -> Span {
    tracing::info_span!(
        target: TARGET,
        "provider.call",
        otel.name = name,
        otel.kind = "client",
        provider = %provider,
        account = %account,
        outcome = Empty,
        duration_ms = Empty,
    )
}

/// Records a provider call's outcome (`ok` or the error's kind) and duration.
pub(crate) fn call_outcome(span: &Span, outcome: &str, elapsed: Duration) {
    span.record("outcome", outcome);
    span.record(
        "duration_ms",
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    );
}
