//! The scene every bench run plays in: the provider's plugin, a run id, a scratch directory,
//! an HTTP client, a webhook sink and a fresh database, set up before the run and taken down
//! after it; and, for the single-gateway runs (outage, batch), the simulator with one gateway
//! child in front of it.

use std::path::PathBuf;
use std::sync::Arc;

use refund_provider::{ProviderPlugin, Simulator};

use super::args::BenchArgs;
use super::child::GatewayChild;
use super::setup::{gateway_toml, run_id, start_simulator, start_sink, BenchError, FreshDatabase};
use crate::providers::plugin;

/// What a run sets up before any gateway starts, and takes down after it ([`Scene::play`]).
pub(super) struct Scene {
    pub(super) plugin: &'static dyn ProviderPlugin,
    pub(super) run: String,
    /// The run's temp directory: the gateway's configuration, logs and SQLite files.
    pub(super) dir: PathBuf,
    pub(super) client: reqwest::Client,
    /// Where the simulator's webhooks go until a gateway takes them.
    pub(super) sink: String,
    pub(super) database: FreshDatabase,
}

impl Scene {
    /// Sets up the scene for `args` (its HTTP client built from `client`), plays `run` in it
    /// and takes it down again, whatever `run` answered.
    pub(super) async fn play<T>(
        args: &BenchArgs,
        client: reqwest::ClientBuilder,
        run: impl AsyncFnOnce(&Scene) -> Result<T, BenchError>,
    ) -> Result<T, BenchError> {
        let scene = Self::prepare(args, client).await?;
        let result = run(&scene).await;
        scene.finish(result).await
    }

    /// The scene for `args`, its HTTP client built from `client`.
    async fn prepare(args: &BenchArgs, client: reqwest::ClientBuilder) -> Result<Self, BenchError> {
        let plugin = plugin(&args.provider)
            .ok_or_else(|| BenchError::UnknownProvider(args.provider.clone()))?;
        let run = run_id();
        let dir = std::env::temp_dir().join(format!("refund-gateway-bench-{run}"));
        std::fs::create_dir_all(&dir)?;
        let client = client.build()?;
        let sink = start_sink().await?;
        let database = FreshDatabase::create(args, &dir, &run).await?;
        Ok(Self {
            plugin,
            run,
            dir,
            client,
            sink,
            database,
        })
    }

    /// A fresh simulator and one gateway child in front of it, configured with the simulator's
    /// provider section followed by `extra_toml`; the simulator's webhooks go to the gateway.
    pub(super) async fn start_gateway(
        &self,
        args: &BenchArgs,
        extra_toml: &str,
    ) -> Result<(Arc<dyn Simulator>, GatewayChild), BenchError> {
        let simulator = start_simulator(self.plugin, &self.sink).await?;
        let section = format!(
            "{}\n{extra_toml}",
            self.plugin.sandbox_section_toml(&simulator.base_url())
        );
        let config_path = self.dir.join("gateway.toml");
        std::fs::write(
            &config_path,
            gateway_toml(&self.database.url, &section, args),
        )?;
        let gateway = GatewayChild::start(&config_path, &self.dir, &self.client).await?;
        let webhooks = format!("{}/v1/webhooks/{}", gateway.base_url, self.plugin.id());
        simulator.set_webhook_url(Some(webhooks));
        Ok((simulator, gateway))
    }

    /// Drops the database, and the scratch directory when the run succeeded (a failed run
    /// keeps its configuration and logs for a look); hands `result` back.
    async fn finish<T>(self, result: Result<T, BenchError>) -> Result<T, BenchError> {
        self.database.drop_it().await;
        if result.is_ok() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        result
    }
}
