//! What every handler can reach: the engine (store, metrics and one snapshot of the live
//! configuration: config, providers, rate limiters).
//!
//! The router's state is [`LiveState`], the engine on the live configuration. A request
//! pins the snapshot current when it arrives (the router's outermost layer, [`pin`]) and
//! every extractor and handler of that request reads that one through [`AppState`]: a
//! handler takes `state: AppState`, never `State<…>`, so a reload in the middle of a request
//! can never show it half of one configuration and half of the next.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use crate::engine::Engine;

/// The request's state: the engine on the snapshot pinned when the request arrived.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) engine: Engine,
}

/// The router's state: the engine whose snapshot is replaced by reloads.
#[derive(Debug, Clone)]
pub(crate) struct LiveState {
    pub(crate) engine: Engine,
}

impl AppState {
    /// The request's pinned state, or (outside the router's layers, e.g. a unit test) the
    /// snapshot current now.
    pub(crate) fn of(parts: &Parts, live: &LiveState) -> Self {
        parts
            .extensions
            .get::<AppState>()
            .cloned()
            .unwrap_or_else(|| AppState {
                engine: live.engine.current(),
            })
    }
}

impl FromRequestParts<LiveState> for AppState {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        live: &LiveState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts, live))
    }
}

/// The outermost layer: pins the snapshot current now for the whole request.
pub(crate) async fn pin(
    State(live): State<LiveState>,
    mut request: Request,
    next: Next,
) -> Response {
    let state = AppState {
        engine: live.engine.current(),
    };
    request.extensions_mut().insert(state);
    next.run(request).await
}
