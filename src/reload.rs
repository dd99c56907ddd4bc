//! Reload without restart (DESIGN §18): `SIGHUP` (or [`Reloader::reload`]) re-reads the
//! configuration file, validates it exactly as `check-config` does (one code path:
//! [`crate::config_check::check`]), and either applies it whole or changes nothing.
//!
//! - Valid: the provider registry is rebuilt from it (keeping each in-process simulator
//!   that is asked for with the same options: same port, same refunds), and one new
//!   [`Snapshot`] — configuration, registry, rate limiters — is published at once.
//!   Requests and engine steps already under way finish on the snapshot they began with
//!   (see [`crate::live`]). Nothing else is touched: the store stays connected, workers run
//!   on.
//! - Invalid: every problem is logged with its key path, counted in
//!   `config_reloads_total{result="invalid"}`, and the running configuration stays.
//! - What only a restart applies (`[database]`, `[telemetry]`, `server.listen` and the
//!   server's connection limits, timeout and log format) is reported in the log and in the
//!   audit entry; the running values stay in force until then.
//! - An applied reload appends a `config.reloaded` audit entry (actor `signal`) naming the
//!   sections changed and the merchants, operators and provider sections added, removed or
//!   changed — never a value.
//!
//! Reloads are serialized: a second `SIGHUP` during a reload waits for the first.

pub mod diff;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use refund_provider::ConfigProblem;
use tokio::sync::Mutex;

use crate::config::Config;
use crate::domain::audit::SIGNAL_ACTOR;
use crate::domain::{AuditKind, NewAuditEvent};
use crate::engine::Engine;
use crate::providers::ProviderRegistry;

pub use diff::Changes;

/// Where the configuration comes from, for reloads.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// The file re-read on each reload; `None` (the embedded default): nothing to reload.
    pub path: Option<PathBuf>,
    /// The text the process started with.
    pub text: String,
    /// `serve --listen`, which overrides `server.listen` of every file read.
    pub listen_override: Option<SocketAddr>,
}

impl ConfigSource {
    /// A source with no file (tests, the embedded default): reload with
    /// [`Reloader::reload_text`].
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            path: None,
            text: text.into(),
            listen_override: None,
        }
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reloaded {
    /// A new generation is in force.
    Applied { generation: u64, changes: Changes },
    /// Nothing a reload applies changed (what needs a restart is in `changes`).
    Unchanged { changes: Changes },
}

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the configuration has {} problem(s); nothing was changed", .0.len())]
    Invalid(Vec<ConfigProblem>),
    #[error("no configuration file to reload (running on the embedded default)")]
    NoFile,
}

/// Reloads the configuration of one running application; cheap to clone.
#[derive(Debug, Clone)]
pub struct Reloader {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    engine: Engine,
    source: ConfigSource,
    /// Where providers reach the gateway when `server.public_base_url` is not set: the
    /// address bound at start.
    bound_base_url: String,
    /// The file as last applied, parsed: what the next reload is compared with. Also the
    /// lock that serializes reloads.
    applied: Mutex<toml::Table>,
}

impl Reloader {
    pub(crate) fn new(engine: Engine, source: ConfigSource, bound_base_url: String) -> Self {
        let applied = source.text.parse::<toml::Table>().unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                engine,
                source,
                bound_base_url,
                applied: Mutex::new(applied),
            }),
        }
    }

    /// Re-reads the configuration file and applies it (see the module doc).
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        let Some(path) = &self.inner.source.path else {
            tracing::warn!(
                "SIGHUP: no configuration file to reload (running on the embedded default)"
            );
            self.inner.engine.metrics.config_reload("invalid");
            return Err(ReloadError::NoFile);
        };
        match Config::read_text(path) {
            Ok(text) => self.reload_text(&text).await,
            Err(errors) => Err(self.refused(errors.0)),
        }
    }

    /// Applies `text` as the new configuration file (see the module doc).
    pub async fn reload_text(&self, text: &str) -> Result<Reloaded, ReloadError> {
        let inner = &self.inner;
        let mut applied = inner.applied.lock().await;
        let (mut config, problems) = Config::read_toml(text);
        if let Some(listen) = inner.source.listen_override {
            config.server.listen = listen;
        }
        let report = crate::config_check::check(&config, problems).await;
        if !report.problems.is_empty() {
            return Err(self.refused(report.problems));
        }
        let mut table = text.parse::<toml::Table>().unwrap_or_default();
        if inner.source.listen_override.is_some() {
            // `--listen` wins over every file: a file's own listen is no change.
            if let (Some(old), Some(server)) = (
                applied.get("server").and_then(|s| s.get("listen")).cloned(),
                table.get_mut("server").and_then(toml::Value::as_table_mut),
            ) {
                server.insert("listen".into(), old);
            }
        }
        let changes = diff::changes(&applied, &table);
        let current = inner.engine.current();
        for key in &changes.restart_required {
            tracing::warn!(key = %key, "configuration reload: this change takes effect at the next restart");
        }
        if changes.is_empty() {
            *applied = table;
            inner.engine.metrics.config_reload("unchanged");
            tracing::info!("configuration reload: nothing to apply");
            return Ok(Reloaded::Unchanged { changes });
        }
        keep_restart_only(&mut config, current.config());
        let public = config
            .server
            .public_base_url
            .clone()
            .unwrap_or_else(|| inner.bound_base_url.clone());
        let registry = match ProviderRegistry::rebuild(&config, &public, current.providers()).await
        {
            Ok(registry) => registry,
            Err(problems) => return Err(self.refused(problems)),
        };
        let next = current.snapshot().next(config, registry);
        let generation = next.generation;
        inner.engine.publish(next);
        *applied = table;
        drop(applied);
        inner.engine.metrics.config_reload("applied");
        tracing::info!(
            generation,
            sections = ?changes.sections,
            restart_required = ?changes.restart_required,
            "configuration reloaded"
        );
        let entry = NewAuditEvent::new(
            SIGNAL_ACTOR,
            AuditKind::ConfigReloaded,
            None,
            changes.detail(Some(generation)),
        );
        if let Err(e) = inner.engine.store.append_audit(entry).await {
            // The reload is in force either way; the log keeps its record.
            tracing::error!(error = %e, generation, "the reload's audit entry could not be written");
        }
        Ok(Reloaded::Applied {
            generation,
            changes,
        })
    }

    fn refused(&self, problems: Vec<ConfigProblem>) -> ReloadError {
        for problem in &problems {
            tracing::error!(key = %problem.key, problem = %problem.message, "configuration reload refused");
        }
        tracing::error!(
            problems = problems.len(),
            "configuration reload refused: the running configuration is unchanged"
        );
        self.inner.engine.metrics.config_reload("invalid");
        ReloadError::Invalid(problems)
    }

    /// Reloads on every `SIGHUP`, forever; the application aborts it on shutdown.
    #[cfg(unix)]
    pub(crate) async fn run_on_sighup(self) {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP: reloads are off");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration");
            // Every outcome is logged and counted by `reload`.
            let _ = self.reload().await;
        }
    }
}

/// Keeps in `next` the running values of what only a restart applies, so the configuration
/// in force says what actually runs.
fn keep_restart_only(next: &mut Config, running: &Config) {
    next.database = running.database.clone();
    next.telemetry = running.telemetry.clone();
    let (server, old) = (&mut next.server, &running.server);
    server.listen = old.listen;
    server.request_timeout = old.request_timeout;
    server.header_read_timeout = old.header_read_timeout;
    server.max_connections = old.max_connections;
    server.log_format = old.log_format;
}
