//! Rate limits (DESIGN §15), a middleware in front of every route:
//! - a request with a known API key counts against that key: `server.rate_limit_per_second`
//!   per second with a burst of twice that;
//! - a request with a key that authenticates nobody (what a key guesser sends) counts against
//!   its client address, and an address over its budget is refused for *every* key for as
//!   long as it is over, so the answer to a guess reveals nothing: a 429 for a right key and
//!   a wrong one alike;
//! - beyond either, `429 rate_limited` with `Retry-After` (whole seconds, at least 1).
//!
//! `rate_limit_per_second = 0` turns both off. Requests without a key (health, metrics,
//! provider webhooks, and a `401 api_key_missing`, which guesses nothing) are not limited
//! here; the connection cap bounds them. The limiters themselves, their budgets and how
//! their memory stays bounded are `crate::limits`'. Behind a proxy every client shares the
//! proxy's address: this gateway does not trust `X-Forwarded-For` (a client could forge it).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorCode};
use super::extract::caller_for;
use crate::config::hash_api_key;
use crate::limits::{Verdict, TIDY_EVERY};
use crate::state::AppState;

/// Tidies the limiters in force every [`TIDY_EVERY`], forever (a reload may replace them);
/// the application aborts it on shutdown.
pub(crate) async fn run_tidy(engine: crate::engine::Engine) {
    let mut tick = tokio::time::interval(TIDY_EVERY);
    loop {
        tick.tick().await;
        engine.current().limits().tidy();
    }
}

/// What a request presents in `Authorization`.
enum Presented {
    None,
    /// The SHA-256 of a bearer key.
    Key([u8; 32]),
    /// Something that cannot be a key (not `Bearer …`, not text): a failed authentication.
    Garbage,
}

fn presented(headers: &HeaderMap) -> Presented {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Presented::None;
    };
    let key = value.to_str().ok().and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
    });
    match key {
        Some(key) => Presented::Key(hash_api_key(key)),
        None => Presented::Garbage,
    }
}

/// The middleware: refuses a request over its limit with `429 rate_limited`.
pub(crate) async fn enforce(state: AppState, request: Request, next: Next) -> Response {
    let limits = state.engine.limits();
    if !limits.enabled() {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    let verdict = match presented(request.headers()) {
        Presented::None => Verdict::Allow,
        Presented::Key(key) if caller_for(state.engine.config(), &key).is_some() => {
            limits.known_key(&key, peer)
        }
        Presented::Key(_) | Presented::Garbage => limits.failed_authentication(peer),
    };
    match verdict {
        Verdict::Allow => next.run(request).await,
        Verdict::Refuse(wait) => too_many(wait),
    }
}

/// `429 rate_limited` with `Retry-After` in whole seconds (rounded up, at least 1).
pub(crate) fn too_many(wait: Duration) -> Response {
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut response = ApiError::new(
        ErrorCode::RateLimited,
        format!("too many requests; retry after {seconds} s"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}
