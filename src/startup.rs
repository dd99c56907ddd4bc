//! Building and running the application: store, provider registry (and in-process
//! simulators), engine, background workers and the HTTP server on a bound port
//! (`server.rs`: connection cap, header read timeout, graceful shutdown).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::api;
use crate::config::{Config, ConfigErrors};
use crate::engine::Engine;
use crate::live::Snapshot;
use crate::metrics::Metrics;
use crate::providers::{ProviderRegistry, SandboxMode};
use crate::reload::{ConfigSource, Reloader};
use crate::server::ConnectionLimits;
use crate::state::LiveState;
use crate::store::{Store, StoreError};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// A built application, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    state: LiveState,
    workers: Vec<JoinHandle<()>>,
    /// Reloads on `SIGHUP` once [`Application::reload_on_sighup`] named the file.
    sighup: Option<Reloader>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.local_addr())
            .finish()
    }
}

impl Application {
    /// Binds, connects the store (running migrations), builds the providers.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let addr = config.server.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let public_base_url = config
            .server
            .public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        let registry = ProviderRegistry::build(&config, &public_base_url, SandboxMode::Start)
            .await
            .map_err(ConfigErrors)?;
        for warning in registry.warnings() {
            tracing::warn!(key = %warning.key, "{}", warning.message);
        }
        Self::build_with(config, listener, registry).await
    }

    /// Builds on an already bound listener with a given registry (tests inject providers).
    pub async fn build_with(
        config: Config,
        listener: TcpListener,
        registry: ProviderRegistry,
    ) -> Result<Self, StartError> {
        let store = Store::connect(&config.database.url, config.database.max_connections).await?;
        let engine = Engine::new(
            store,
            Arc::new(Metrics::default()),
            Snapshot::first(config, registry),
        );
        let workers = vec![
            tokio::spawn(crate::api::rate_limit::run_tidy(engine.clone())),
            tokio::spawn(crate::engine::housekeeping::run(engine.clone())),
            tokio::spawn(engine.clone().run_sync()),
            tokio::spawn(engine.clone().run_outbox()),
            tokio::spawn(engine.clone().run_drain()),
            tokio::spawn(crate::batch::run(engine.clone())),
        ];
        Ok(Self {
            listener,
            state: LiveState { engine },
            workers,
            sighup: None,
        })
    }

    /// A handle that reloads this application's configuration (DESIGN §18), compared with
    /// and replacing `source`'s text.
    pub fn reloader(&self, source: ConfigSource) -> Reloader {
        let bound = self
            .local_addr()
            .map_or_else(String::new, |addr| format!("http://{addr}"));
        Reloader::new(self.state.engine.clone(), source, bound)
    }

    /// Reloads the configuration from `source`'s file on every `SIGHUP` while serving; the
    /// handle is returned for other triggers.
    pub fn reload_on_sighup(&mut self, source: ConfigSource) -> Reloader {
        let reloader = self.reloader(source);
        self.sighup = Some(reloader.clone());
        reloader
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().map_or(0, |a| a.port())
    }

    pub fn engine(&self) -> &Engine {
        &self.state.engine
    }

    /// Serves until `shutdown` resolves, within the connection limits of DESIGN §15 (see
    /// [`crate::server`]).
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let engine = self.state.engine.current();
        let server = &engine.config().server;
        let limits = ConnectionLimits {
            header_read_timeout: server.header_read_timeout,
            max_connections: server.max_connections,
            // Every request ends within the request timeout; then the connections close.
            drain_timeout: server.request_timeout + Duration::from_secs(1),
        };
        let app = api::router(self.state.clone(), server.request_timeout);
        let mut workers = self.workers;
        #[cfg(unix)]
        if let Some(reloader) = self.sighup {
            workers.push(tokio::spawn(reloader.run_on_sighup()));
        }
        let result = crate::server::serve(self.listener, app, limits, shutdown).await;
        for worker in workers {
            worker.abort();
        }
        result
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
