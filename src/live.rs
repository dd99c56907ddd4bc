//! The live configuration (DESIGN §18): one immutable [`Snapshot`] — the configuration, the
//! provider registry built from it, the rate limiters it sets (API keys, provider webhooks), its generation — that every
//! request and every engine step reads whole, and that a reload replaces whole.
//!
//! Why a snapshot and not fields behind locks: a reload that adds a merchant key and the
//! route that merchant needs must never be seen half-applied, so what one request (or one
//! sync round, one outbox delivery) reads must all come from one generation. A request
//! pins the snapshot current when it arrives ([`crate::api`]'s first layer) and keeps it to
//! its end, whatever reloads happen meanwhile; an engine step takes [`Engine::current`]
//! once and reads only that.
//!
//! Why `arc-swap`: loading the snapshot is one atomic pointer read with no lock and no
//! shared counter for readers to contend on (every request on every core does it), and a
//! reload's store never waits for readers; a `RwLock<Arc<…>>` would make every request
//! write the lock's reader count, one cache line bounced between the cores.
//!
//! [`Engine::current`]: crate::engine::Engine::current

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::limits::webhooks::WebhookLimits;
use crate::limits::RateLimits;
use crate::providers::ProviderRegistry;

/// One generation of the configuration and everything built from it.
#[derive(Debug)]
pub struct Snapshot {
    pub config: Arc<Config>,
    pub providers: Arc<ProviderRegistry>,
    /// The per-key and per-address limiters of `server.rate_limit_per_second`; kept across a
    /// reload that leaves that value alone (their counts survive).
    pub(crate) limits: Arc<RateLimits>,
    /// The per-provider-account limiter of `server.webhook_rate_limit_per_second`; kept
    /// across a reload that leaves that value alone.
    pub(crate) webhook_limits: Arc<WebhookLimits>,
    /// 1 for the configuration the process started with, +1 per applied reload.
    pub generation: u64,
}

impl Snapshot {
    /// The first generation, from the configuration the process starts with.
    pub(crate) fn first(config: Config, providers: ProviderRegistry) -> Self {
        let limits = Arc::new(RateLimits::new(config.server.rate_limit_per_second));
        let webhook_limits = Arc::new(WebhookLimits::new(
            config.server.webhook_rate_limit_per_second,
        ));
        Self {
            config: Arc::new(config),
            providers: Arc::new(providers),
            limits,
            webhook_limits,
            generation: 1,
        }
    }

    /// The generation after this one, with `config` and `providers`; the limiters carry
    /// over when the rate is unchanged.
    pub(crate) fn next(&self, config: Config, providers: ProviderRegistry) -> Self {
        let rate = config.server.rate_limit_per_second;
        let limits = if rate == self.config.server.rate_limit_per_second {
            self.limits.clone()
        } else {
            Arc::new(RateLimits::new(rate))
        };
        let webhook_rate = config.server.webhook_rate_limit_per_second;
        let webhook_limits = if webhook_rate == self.config.server.webhook_rate_limit_per_second {
            self.webhook_limits.clone()
        } else {
            Arc::new(WebhookLimits::new(webhook_rate))
        };
        Self {
            config: Arc::new(config),
            providers: Arc::new(providers),
            limits,
            webhook_limits,
            generation: self.generation + 1,
        }
    }
}

/// Where the current snapshot lives; shared by every clone of the engine.
#[derive(Debug)]
pub(crate) struct Live(ArcSwap<Snapshot>);

impl Live {
    pub(crate) fn new(first: Snapshot) -> Self {
        Self(ArcSwap::from_pointee(first))
    }

    /// The snapshot current now.
    pub(crate) fn load(&self) -> Arc<Snapshot> {
        self.0.load_full()
    }

    /// Makes `next` current: requests and steps that began earlier keep theirs.
    pub(crate) fn publish(&self, next: Snapshot) {
        self.0.store(Arc::new(next));
    }
}
