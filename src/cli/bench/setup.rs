//! What every bench run sets up around the gateway under test: its API key and
//! configuration, a fresh database, the provider's simulator, a webhook sink and a run id;
//! and why a run could not be made.

use std::sync::Arc;

use refund_provider::{ProviderPlugin, Simulator, SimulatorOptions};

use super::args::{BenchArgs, BenchDb};

/// The bench's API key (merchant `bench`).
pub(super) const API_KEY: &str = "sk_bench";

/// Why a bench run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot start the simulator: {0}")]
    Simulator(#[from] std::io::Error),
    #[error("gateway: {0}")]
    Gateway(String),
    #[error("database: {0}")]
    Database(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("http client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("unknown provider `{0}`")]
    UnknownProvider(String),
}

/// Starts `plugin`'s simulator on a free loopback port with its defaults (zero latency,
/// webhooks on), sending webhooks of providers configured on their side to `webhook_url`.
pub(super) async fn start_simulator(
    plugin: &dyn ProviderPlugin,
    webhook_url: &str,
) -> std::io::Result<Arc<dyn Simulator>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let options = SimulatorOptions {
        webhook_url: Some(webhook_url.to_owned()),
        ..SimulatorOptions::default()
    };
    Ok(Arc::from(plugin.start_simulator(listener, options).await?))
}

/// The gateway's configuration for the run. Neither rate limit applies: the load generator is
/// one merchant key, and the simulator posts one webhook per refund, far above the default
/// 100 per second per provider account, so a limited run would measure 429s and the
/// simulator's re-deliveries instead of refunds.
pub(super) fn gateway_toml(database_url: &str, provider_section: &str, args: &BenchArgs) -> String {
    let pool = args
        .max_connections
        .map(|n| format!("max_connections = {n}\n"))
        .unwrap_or_default();
    let telemetry = args
        .otlp_endpoint
        .as_ref()
        .map(|url| format!("\n[telemetry]\notlp_endpoint = \"{url}\"\n"))
        .unwrap_or_default();
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nrate_limit_per_second = 0\nwebhook_rate_limit_per_second = 0\n\n[database]\nurl = \"{database_url}\"\n{pool}\n\
         [[merchants]]\nid = \"bench\"\napi_key = \"{API_KEY}\"\n\n{provider_section}\n\
         [[routes]]\nprovider = \"{}\"\n{telemetry}",
        args.provider
    )
}

/// A fresh database for the gateway; dropped (PostgreSQL) by [`FreshDatabase::drop_it`].
pub(super) struct FreshDatabase {
    pub(super) url: String,
    pub(super) postgres: Option<(String, String)>,
}

impl FreshDatabase {
    pub(super) async fn create(
        args: &BenchArgs,
        dir: &std::path::Path,
        run: &str,
    ) -> Result<Self, BenchError> {
        match args.db {
            BenchDb::Sqlite => Ok(Self {
                url: format!("sqlite://{}/gateway.db", dir.display()),
                postgres: None,
            }),
            BenchDb::Postgres => {
                let base = args
                    .database_url
                    .clone()
                    .or_else(|| std::env::var("REFUND_GATEWAY_TEST_POSTGRES_URL").ok())
                    .ok_or_else(|| {
                        BenchError::Database(
                            "--db postgres needs --database-url or REFUND_GATEWAY_TEST_POSTGRES_URL"
                                .into(),
                        )
                    })?;
                let name = format!("rg_bench_{run}");
                sqlx::any::install_default_drivers();
                let pool = sqlx::AnyPool::connect(&base)
                    .await
                    .map_err(|e| BenchError::Database(e.to_string()))?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&pool)
                    .await
                    .map_err(|e| BenchError::Database(e.to_string()))?;
                pool.close().await;
                let (prefix, _) = base.rsplit_once('/').ok_or_else(|| {
                    BenchError::Database("the PostgreSQL URL has no database path".into())
                })?;
                Ok(Self {
                    url: format!("{prefix}/{name}"),
                    postgres: Some((base, name)),
                })
            }
        }
    }

    pub(super) async fn drop_it(self) {
        if let Some((base, name)) = self.postgres {
            if let Ok(pool) = sqlx::AnyPool::connect(&base).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        }
    }
}

/// A webhook receiver that accepts everything: where the simulator's webhooks go in the
/// direct phase (in the gateway phase they go to the gateway).
pub(super) async fn start_sink() -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhooks", listener.local_addr()?);
    let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::OK });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// A short random run id (database name, payment ids, keys).
pub(super) fn run_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id.chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    use crate::config::Config;

    #[test]
    fn the_gateway_config_routes_everything_to_the_chosen_provider() {
        let args = BenchArgs {
            db: BenchDb::Sqlite,
            database_url: None,
            concurrency: 64,
            duration: Duration::from_secs(1),
            warmup: Duration::from_secs(1),
            provider: "efundpay".into(),
            max_connections: Some(4),
            instances: 1,
            otlp_endpoint: Some("http://127.0.0.1:4318".into()),
            outage: None,
            batch: None,
            batch_rate: 10_000,
            rate: 50,
            drain_per_second: 50,
            pgbench: false,
            prefill: 0,
        };
        let section = "[providers.efundpay]\nbase_url = \"http://127.0.0.1:1\"\ntoken = \"t\"\n\
                       merchant_account_id = \"m\"\nwebhook_secret = \"s\"\n";
        let text = gateway_toml("sqlite:///tmp/x/gateway.db", section, &args);
        let config = Config::from_toml(&text).map_err(|e| e.to_string());
        let config = match config {
            Ok(config) => config,
            Err(e) => panic!("bench config invalid: {e}\n{text}"),
        };
        assert_eq!(config.database.max_connections, 4);
        assert_eq!(
            config.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert_eq!(
            config.server.rate_limit_per_second, 0,
            "bench runs unthrottled"
        );
        assert_eq!(config.routes.len(), 1);
        assert_eq!(config.routes[0].provider.as_str(), "efundpay");
        assert!(!config.uses_sandbox());
    }
}
