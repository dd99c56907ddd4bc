//! Runs `refund-gateway serve` as a child process on a config file of its own, and kills it
//! (SIGKILL: no shutdown code runs) or restarts it on the same database.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use refund_test_support::{config, free_port, fresh_postgres_database, poll_until, sqlite_url};
use serde_json::Value;
use tokio::process::{Child, Command};

pub const API_KEY: &str = "sk_recovery";

/// A gateway child process and what is needed to restart it.
pub struct Gateway {
    pub url: String,
    config_path: PathBuf,
    log_path: PathBuf,
    log_filter: String,
    child: Option<Child>,
}

/// The database for a run: a SQLite file in `dir`, or a fresh PostgreSQL database (`None`,
/// having printed "skipped", when PostgreSQL tests cannot run here).
pub async fn database_url(dir: &Path, postgres: bool) -> Option<String> {
    if postgres {
        fresh_postgres_database().await
    } else {
        Some(sqlite_url(dir))
    }
}

/// A fresh directory for one gateway's config and log.
pub fn temp_dir() -> PathBuf {
    refund_test_support::temp_dir("refund-gateway-recovery-")
}

impl Gateway {
    /// Writes the config (`providers_and_routes` appended) and starts the gateway.
    pub async fn start(dir: &Path, database_url: &str, providers_and_routes: &str) -> Gateway {
        Self::start_with(dir, database_url, "", providers_and_routes).await
    }

    /// [`Gateway::start`] with more lines for merchant `acme` (e.g. its webhook URL).
    pub async fn start_with(
        dir: &Path,
        database_url: &str,
        merchant_lines: &str,
        providers_and_routes: &str,
    ) -> Gateway {
        Self::start_full(dir, database_url, "", merchant_lines, providers_and_routes).await
    }

    /// [`Gateway::start_with`] with more lines for `[server]` too (e.g. `public_base_url`).
    pub async fn start_full(
        dir: &Path,
        database_url: &str,
        server_lines: &str,
        merchant_lines: &str,
        providers_and_routes: &str,
    ) -> Gateway {
        let port = free_port();
        let server = config::server(
            &format!("127.0.0.1:{port}"),
            &format!("request_timeout_ms = 2000\n{server_lines}"),
        );
        let database = config::database(database_url, "");
        let acme = config::merchant("acme", API_KEY, merchant_lines);
        let config = format!(
            r#"
{server}
{database}
{acme}
{providers_and_routes}

[sync]
poll_interval_ms = 50
first_retry_ms = 100
max_retry_ms = 500
not_found_grace_ms = 1500
"#
        );
        let config_path = dir.join("gateway.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut gateway = Gateway {
            url: format!("http://127.0.0.1:{port}"),
            config_path,
            log_path: dir.join("gateway.log"),
            log_filter: std::env::var("GATEWAY_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            child: None,
        };
        gateway.spawn().await;
        gateway
    }

    /// Logs at `filter` (RUST_LOG syntax) from the next (re)start on.
    pub fn set_log_filter(&mut self, filter: &str) {
        self.log_filter = filter.to_owned();
    }

    /// Everything the gateway printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_refund-gateway"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config_path)
            .env("RUST_LOG", &self.log_filter)
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn gateway");
        self.child = Some(child);
        let client = reqwest::Client::new();
        let readyz = format!("{}/readyz", self.url);
        let ready = || async {
            client
                .get(&readyz)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        };
        let ready = poll_until(
            Duration::from_secs(10),
            Duration::from_millis(50),
            ready,
            |ok| *ok,
        );
        assert!(ready.await, "gateway did not become ready");
    }

    /// SIGKILL: the process dies at once, mid-request, with no shutdown code.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill");
        }
    }

    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    /// Every refund of the merchant, following the cursor.
    pub async fn all_refunds(&self, client: &reqwest::Client) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{}/v1/refunds?limit=100", self.url);
            if let Some(after) = &cursor {
                url.push_str(&format!("&starting_after={after}"));
            }
            let page: Value = client
                .get(url)
                .bearer_auth(API_KEY)
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            let data = page["data"].as_array().cloned().unwrap_or_default();
            cursor = data
                .last()
                .and_then(|r| r["id"].as_str())
                .map(str::to_owned);
            all.extend(data);
            if page["has_more"] != true {
                return all;
            }
        }
    }
}
