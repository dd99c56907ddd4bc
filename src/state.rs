//! What every handler can reach: the engine (store, providers, config, metrics) and the
//! rate limiters.

use std::sync::Arc;

use crate::api::rate_limit::RateLimits;
use crate::api::webhook_rate::WebhookLimits;
use crate::engine::Engine;

#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) engine: Engine,
    pub(crate) limits: Arc<RateLimits>,
    /// Verified provider events per provider account (DESIGN §16).
    pub(crate) webhook_limits: Arc<WebhookLimits>,
}
