//! `[server]`: where the gateway listens, the URL providers reach it at, and its request,
//! connection and rate limits (DESIGN §15).

use std::net::SocketAddr;
use std::time::Duration;

use refund_provider::Problems;
use serde::Deserialize;

use super::rules::{between, millis, section, within};

/// `[server]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    /// Address to listen on; default `127.0.0.1:8080`.
    listen: Option<String>,
    /// Public base URL of this gateway (http or https), used for provider webhook URLs;
    /// default: derived from the address actually bound.
    public_base_url: Option<String>,
    /// Upper bound on one API request in milliseconds, provider call included; default
    /// 30000, at least 100.
    request_timeout_ms: Option<u64>,
    /// Time a connection has to send a request's complete headers (and the longest it may
    /// idle between requests) in milliseconds; default 10000, at least 100.
    header_read_timeout_ms: Option<u64>,
    /// Connections served at once, 1 to 1000000; default 1024. Further ones wait in the
    /// listen backlog.
    max_connections: Option<u64>,
    /// Requests per second per API key, with a burst of twice that; default 200, at most
    /// 1000000, `0` turns rate limiting off.
    rate_limit_per_second: Option<u32>,
    /// Verified provider webhook events per second per provider account, with a burst of
    /// twice that (beyond: `429`, which the provider retries later); default 100, at most
    /// 1000000, `0` turns it off.
    webhook_rate_limit_per_second: Option<u32>,
    /// How log lines are written to standard output: `"text"` (default, for a terminal) or
    /// `"json"` (one JSON object per line, with the request's id, for a log collector).
    /// Applied at start.
    log_format: Option<String>,
}

/// `server.log_format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The validated `[server]` section.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Base of the URLs given to providers for their webhooks; `None` derives it from the
    /// address actually bound.
    pub(crate) public_base_url: Option<String>,
    /// Upper bound on one API request, provider call included.
    pub(crate) request_timeout: Duration,
    /// A connection must deliver a request's complete headers within this time (also the
    /// longest a kept-alive connection may sit idle), else it is closed (DESIGN §15).
    pub(crate) header_read_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog (DESIGN §15).
    pub(crate) max_connections: usize,
    /// Requests per second per API key (burst twice that); `0` turns rate limiting off.
    pub(crate) rate_limit_per_second: u32,
    /// How log lines are written (applied at start).
    pub log_format: LogFormat,
    /// Verified provider webhook events per second per provider account (burst twice
    /// that); `0` turns the limit off (DESIGN §16).
    pub(crate) webhook_rate_limit_per_second: u32,
}

impl RawServer {
    /// The section with its defaults, every problem pushed with its key path.
    pub(crate) fn validate(self, problems: &mut Problems) -> ServerConfig {
        let listen_text = self.listen.as_deref().unwrap_or("127.0.0.1:8080");
        let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(
                "server.listen",
                format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let public_base_url = self.public_base_url.map(|url| {
            problems.take(section("server").http_url("public_base_url", &url));
            url.trim_end_matches('/').to_owned()
        });
        let request_timeout = millis(
            problems,
            "server.request_timeout_ms",
            self.request_timeout_ms,
            30_000,
            100,
        );
        let header_read_timeout = millis(
            problems,
            "server.header_read_timeout_ms",
            self.header_read_timeout_ms,
            10_000,
            100,
        );
        let max_connections = between(
            problems,
            "server.max_connections",
            self.max_connections,
            1024,
            1..=1_000_000,
        );
        let rate_limit_per_second = within(
            problems,
            "server.rate_limit_per_second",
            self.rate_limit_per_second.unwrap_or(200).into(),
            0..=1_000_000,
            "must be at most 1000000 (0 turns rate limiting off)",
        );
        let log_format = match self.log_format.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => {
                problems.push("server.log_format", "must be \"text\" or \"json\"");
                LogFormat::Text
            }
        };
        let webhook_rate_limit_per_second = within(
            problems,
            "server.webhook_rate_limit_per_second",
            self.webhook_rate_limit_per_second.unwrap_or(100).into(),
            0..=1_000_000,
            "must be at most 1000000 (0 turns the webhook rate limit off)",
        );
        ServerConfig {
            log_format,
            listen,
            public_base_url,
            request_timeout,
            header_read_timeout,
            max_connections: usize::try_from(max_connections).unwrap_or(1024),
            rate_limit_per_second: u32::try_from(rate_limit_per_second).unwrap_or(1_000_000),
            webhook_rate_limit_per_second: u32::try_from(webhook_rate_limit_per_second)
                .unwrap_or(1_000_000),
        }
    }
}
