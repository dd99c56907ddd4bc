//! The merchant HTTP API (DESIGN §5): routes, and the middleware stack every request passes:
//! request id (set and echoed as `x-request-id`), tracing, metrics, error rendering in the
//! API's shape, rate limits (`rate_limit.rs`), a last-resort panic guard, a timeout and the
//! 64 KiB body limit. The finance console's files are served under `/console/`
//! (`console.rs`).

pub mod answer;
pub mod approvals;
pub mod audit;
pub mod batches;
pub mod cancel;
pub mod console;
pub mod error;
pub mod export;
pub mod extract;
pub mod health;
pub mod openapi;
pub mod operators;
pub mod payments;
pub mod provider_accounts;
pub mod rate_limit;
pub mod reconciliation;
pub mod refunds;
pub mod webhooks;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use error::{ApiError, ErrorCode};

use crate::state::{AppState, LiveState};

/// Largest accepted request body; larger ones are answered `413 body_too_large`.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// Bodies up to this size are read whole before a 413 is answered, so a client that sends a
/// moderately oversized body gets the error instead of a reset connection; beyond it the
/// request is cut off early.
pub(crate) const HARD_BODY_LIMIT: usize = 1024 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The application's router with every layer; every request pins the live snapshot first
/// (see [`crate::state`]).
pub(crate) fn router(state: LiveState, request_timeout: Duration) -> Router {
    let panic_metrics = state.engine.metrics.clone();
    Router::new()
        .route(
            "/v1/refunds",
            post(refunds::create_refund).get(refunds::list_refunds),
        )
        .route("/v1/refunds/export", get(export::export_refunds))
        .route("/v1/refunds/{id}", get(refunds::get_refund))
        .route("/v1/refunds/{id}/events", get(refunds::list_refund_events))
        .route("/v1/refunds/{id}/resolve", post(operators::resolve_refund))
        .route("/v1/refunds/{id}/cancel", post(cancel::cancel_refund))
        .route("/v1/refunds/{id}/approve", post(approvals::approve_refund))
        .route("/v1/refunds/{id}/reject", post(approvals::reject_refund))
        .route("/v1/refund_batches/{id}", get(batches::get_batch))
        .route(
            "/v1/refund_batches/{id}/results",
            get(batches::batch_results),
        )
        .route("/v1/me", get(operators::me))
        .route("/v1/audit_events", get(audit::list_audit_events))
        .route(
            "/v1/provider_accounts",
            get(provider_accounts::list_provider_accounts),
        )
        .route("/v1/webhooks/{provider}", post(webhooks::provider_webhook))
        .route(
            "/v1/webhooks/{provider}/{merchant_id}",
            post(webhooks::merchant_account_webhook),
        )
        .route(
            "/v1/reconciliation/summary",
            get(reconciliation::get_summary),
        )
        .route(
            "/v1/payments/{payment_id}/refunds",
            get(payments::list_payment_refunds),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/console", get(console::redirect))
        .route("/console/", get(console::index))
        .route("/console/{*path}", get(console::file))
        .fallback(|| async { ApiError::new(ErrorCode::RouteNotFound, "no such route") })
        // Router::layer wraps every route: the last layer added is the outermost.
        .layer(RequestBodyLimitLayer::new(HARD_BODY_LIMIT))
        // Added after the hard limit so CSV statements get their own (reconciliation::STATEMENT_BODY_LIMIT).
        .route(
            "/v1/reconciliation/statements/{provider}",
            post(reconciliation::import_statement),
        )
        // A batch file has its own limit too (batches::BATCH_BODY_LIMIT).
        .route("/v1/refund_batches", post(batches::create_batch))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(CatchPanicLayer::custom(
            move |_panic: Box<dyn std::any::Any + Send>| {
                panic_metrics.panic_caught();
                // Logged once, with the request id, by the error layer.
                ApiError::internal(HandlerPanicked).into_response()
            },
        ))
        // Inside render_errors, so a 429 gets the API's error shape (and keeps Retry-After).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit::enforce,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), render_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::state::pin,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| crate::telemetry::spans::request(request))
                .on_response(
                    |response: &Response, _latency: Duration, span: &tracing::Span| {
                        crate::telemetry::spans::answered(span, response.status().as_u16());
                    },
                ),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// The cause logged for a request whose handler panicked (the panic's message is not
/// repeated: it may quote what the client sent).
#[derive(Debug, thiserror::Error)]
#[error("a request handler panicked")]
struct HandlerPanicked;

/// Renders every error response in the API's shape with the request id, converts axum's and
/// tower-http's plain rejections, and records request metrics.
async fn render_errors(state: AppState, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // Metric labels from closed sets only (DESIGN §15): the route template, never the raw
    // path, and a known method, never one a client invented.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = crate::metrics::method_label(request.method());
    let mut response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let error = response
            .extensions_mut()
            .remove::<ApiError>()
            .unwrap_or_else(|| ApiError::from_status(status));
        let (status, _, _) = error.code.describe();
        error.log_answered(&request_id);
        let mut rendered = Response::new(Body::from(error.body(&request_id)));
        *rendered.status_mut() = status;
        rendered
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in response.headers() {
            if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
                rendered.headers_mut().insert(name.clone(), value.clone());
            }
        }
        response = rendered;
    }
    state.engine.metrics.http_request(
        &route,
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
