//! The TOML shape of the configuration (`deny_unknown_fields` everywhere) and its validation
//! into [`super::Config`], collecting every problem with its key path.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use refund_provider::{ConfigProblem, Currency, ProviderId, SecretString};
use serde::Deserialize;

use super::{
    hash_api_key, redacted_url, section_keys, Config, DatabaseConfig, IdempotencyConfig,
    MerchantConfig, OperatorConfig, RetentionConfig, Route, ServerConfig, SyncConfig,
};

/// The file as written. Its `Debug` (like that of every part holding a secret) names only
/// fields known to be harmless and ends with `..`: inline keys and secrets, provider section
/// values and a database password never print, and neither does a field added later until
/// someone decides it may.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    merchants: Vec<RawMerchant>,
    #[serde(default)]
    operators: Vec<RawOperator>,
    #[serde(default)]
    providers: BTreeMap<String, toml::Value>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    sync: RawSync,
    #[serde(default)]
    idempotency: RawIdempotency,
    #[serde(default)]
    retention: RawRetention,
    /// Statement formats by provider.
    #[serde(default)]
    statements: BTreeMap<String, super::statements::RawStatementFormat>,
}

impl std::fmt::Debug for RawConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawConfig")
            .field("server", &self.server)
            .field("database", &self.database)
            .field("merchants", &self.merchants)
            .field("operators", &self.operators)
            .field("providers", &section_keys(&self.providers))
            .field("routes", &self.routes)
            .field("sync", &self.sync)
            .field("idempotency", &self.idempotency)
            .field("retention", &self.retention)
            .field("statements", &self.statements.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    /// Address to listen on; default `127.0.0.1:8080`.
    listen: Option<String>,
    /// Public base URL of this gateway, used for provider webhook URLs.
    public_base_url: Option<String>,
    /// Upper bound on one API request in milliseconds; default 30000.
    request_timeout_ms: Option<u64>,
    /// Time a connection has to send a request's complete headers (and the longest it may
    /// idle between requests) in milliseconds; default 10000.
    header_read_timeout_ms: Option<u64>,
    /// Connections served at once; default 1024. Further ones wait in the listen backlog.
    max_connections: Option<u64>,
    /// Requests per second per API key, with a burst of twice that; default 200, `0` off.
    rate_limit_per_second: Option<u32>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    /// `sqlite://…` or `postgres://…`; default `sqlite://data/refund-gateway.db`.
    url: Option<String>,
    /// Connection pool size; default 8.
    max_connections: Option<u32>,
}

impl std::fmt::Debug for RawDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawDatabase")
            .field("url", &self.url.as_deref().map(redacted_url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMerchant {
    id: String,
    /// Hex SHA-256 of the API key.
    api_key_sha256: Option<String>,
    /// The API key itself (sandbox only); hashed at load.
    api_key: Option<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    webhook_secret_env: Option<String>,
    /// More secrets to sign merchant webhooks with, for a rotation (inline, sandbox only):
    /// every event carries one `v1` per secret.
    webhook_secrets: Option<Vec<String>>,
    /// Names of environment variables holding more webhook secrets, for a rotation.
    webhook_secrets_env: Option<Vec<String>>,
    /// Either the providers this merchant may use (`providers = ["efundpay"]`, default all),
    /// or the merchant's own provider accounts (`[merchants.providers.efundpay]`, DESIGN §14).
    providers: Option<RawMerchantProviders>,
}

impl std::fmt::Debug for RawMerchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let allowed = match &self.providers {
            Some(RawMerchantProviders::Allowed(list)) => Some(list),
            _ => None,
        };
        let accounts = match &self.providers {
            Some(RawMerchantProviders::Accounts(tables)) => Some(tables.keys().collect::<Vec<_>>()),
            _ => None,
        };
        f.debug_struct("RawMerchant")
            .field("id", &self.id)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret_env", &self.webhook_secret_env)
            .field("webhook_secrets_env", &self.webhook_secrets_env)
            .field("providers", &allowed)
            .field("accounts", &accounts)
            .finish_non_exhaustive()
    }
}

/// `merchants[i].providers`: the list form restricts which providers the merchant may use;
/// the table form gives the merchant its own account of each provider named (the account
/// fields are checked by the provider registry, which knows each provider's fields).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawMerchantProviders {
    Allowed(Vec<String>),
    Accounts(BTreeMap<String, toml::Table>),
}

/// `[[operators]]`: finance and support staff of whoever runs the gateway (DESIGN §14).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    /// Shown in the history of every refund the operator resolves.
    id: String,
    /// Hex SHA-256 of the operator's API key.
    api_key_sha256: Option<String>,
    /// Name of the environment variable holding the API key (hashed at load).
    api_key_env: Option<String>,
    /// The API key itself (sandbox only); hashed at load.
    api_key: Option<String>,
}

impl std::fmt::Debug for RawOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawOperator")
            .field("id", &self.id)
            .field("api_key_env", &self.api_key_env)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    provider: String,
    currency: Option<Vec<String>>,
    payment_id_prefix: Option<String>,
    merchant: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSync {
    poll_interval_ms: Option<u64>,
    first_retry_ms: Option<u64>,
    max_retry_ms: Option<u64>,
    give_up_after_hours: Option<u64>,
    /// How long a "not found" status answer is not taken as proof that a refund was never
    /// applied (the request may still be in flight); default 60000, longer than any timeout.
    not_found_grace_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdempotency {
    /// How long idempotency keys are kept; default 24.
    retention_hours: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    /// Days webhook receipts, and the non-essential history of final refunds, are kept;
    /// default 90.
    days: Option<u64>,
}

/// Names the key a TOML error is about, from the error's position in `text`.
pub fn toml_error_key(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else {
        return "(config)".to_owned();
    };
    let before = text.get(..span.start).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text
        .get(line_start..)
        .and_then(|rest| rest.lines().next())
        .unwrap_or("");
    let mut section = String::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for header in before
        .get(..line_start)
        .unwrap_or("")
        .lines()
        .map(str::trim)
    {
        if let Some(name) = header.strip_prefix("[[").and_then(|s| s.strip_suffix("]]")) {
            let name = name.trim().to_owned();
            let index = counts.entry(name.clone()).or_insert(0);
            section = format!("{name}[{index}]");
            *index += 1;
        } else if let Some(name) = header.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.trim().to_owned();
        }
    }
    let key = line.split('=').next().map(str::trim).unwrap_or("");
    match (section.is_empty(), key.is_empty() || key.starts_with('[')) {
        (true, true) => "(config)".to_owned(),
        (true, false) => key.to_owned(),
        (false, true) => section,
        (false, false) => format!("{section}.{key}"),
    }
}

fn millis(
    problems: &mut Vec<ConfigProblem>,
    key: &str,
    value: Option<u64>,
    default: u64,
    min: u64,
) -> Duration {
    let value = value.unwrap_or(default);
    if value < min {
        problems.push(ConfigProblem::new(key, format!("must be at least {min}")));
    }
    Duration::from_millis(value.max(min))
}

fn secret(
    problems: &mut Vec<ConfigProblem>,
    key: &str,
    inline: Option<&str>,
    env_var: Option<&str>,
) -> Option<SecretString> {
    match (inline, env_var) {
        (None, None) => None,
        (Some(_), Some(_)) => {
            problems.push(ConfigProblem::new(
                key,
                "give either the value or `_env`, not both",
            ));
            None
        }
        (Some(value), None) if !value.is_empty() => Some(SecretString::from(value.to_owned())),
        (Some(_), None) => {
            problems.push(ConfigProblem::new(key, "must not be empty"));
            None
        }
        (None, Some(var)) => match std::env::var(var) {
            Ok(value) if !value.is_empty() => Some(SecretString::from(value)),
            _ => {
                problems.push(ConfigProblem::new(
                    format!("{key}_env"),
                    format!("environment variable `{var}` is not set or empty"),
                ));
                None
            }
        },
    }
}

/// Merchant and operator ids: 1-64 of `A-Z a-z 0-9 _ -`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The SHA-256 of a caller's API key from exactly one of `api_key_sha256` (hex), `api_key`
/// (inline, sandbox) and `api_key_env` (a variable's name), reported under `section`.
fn api_key_hash(
    problems: &mut Vec<ConfigProblem>,
    section: &str,
    sha256_hex: Option<&str>,
    inline: Option<&str>,
    env_var: Option<&str>,
) -> Option<[u8; 32]> {
    let key = |name: &str| format!("{section}.{name}");
    match (sha256_hex, inline, env_var) {
        (Some(hex_hash), None, None) => {
            let mut out = [0u8; 32];
            match hex::decode_to_slice(hex_hash.trim(), &mut out) {
                Ok(()) => Some(out),
                Err(_) => {
                    problems.push(ConfigProblem::new(
                        key("api_key_sha256"),
                        "expected 64 hex digits (SHA-256 of the API key)",
                    ));
                    None
                }
            }
        }
        (None, Some(""), None) => {
            problems.push(ConfigProblem::new(key("api_key"), "must not be empty"));
            None
        }
        (None, Some(api_key), None) => Some(hash_api_key(api_key)),
        (None, None, Some(var)) => match std::env::var(var) {
            Ok(value) if !value.is_empty() => Some(hash_api_key(&value)),
            _ => {
                problems.push(ConfigProblem::new(
                    key("api_key_env"),
                    format!("environment variable `{var}` is not set or empty"),
                ));
                None
            }
        },
        (None, None, None) => {
            problems.push(ConfigProblem::new(
                key("api_key_sha256"),
                "missing: the hex SHA-256 of the API key (or api_key_env)",
            ));
            None
        }
        _ => {
            problems.push(ConfigProblem::new(
                key("api_key"),
                "give exactly one of api_key_sha256, api_key_env and api_key",
            ));
            None
        }
    }
}

fn http_url(value: &str) -> bool {
    reqwest::Url::parse(value)
        .map(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .unwrap_or(false)
}

/// Each provider's `timeout_ms` (default 10000) must be at most half of
/// `sync.not_found_grace_ms`. The sync worker takes a provider's "no such refund" as proof that
/// a refund was never made only once the refund is older than the grace period; a refund
/// request may still be on its way, or queued at the provider, for up to `timeout_ms` after
/// it was sent (and a provider often finishes work after we stopped waiting). With less than
/// twice the timeout of margin, a refund the provider applies late could be failed, or sent
/// again, while it succeeds.
fn provider_timeouts_within_grace(
    problems: &mut Vec<ConfigProblem>,
    providers: &BTreeMap<String, toml::Value>,
    not_found_grace: Duration,
) {
    let grace_ms = u64::try_from(not_found_grace.as_millis()).unwrap_or(u64::MAX);
    let default_ms =
        u64::try_from(refund_provider::http::DEFAULT_TIMEOUT.as_millis()).unwrap_or(u64::MAX);
    for (name, section) in providers {
        let configured = section.get("timeout_ms");
        let timeout_ms = match configured {
            None => default_ms,
            // Not a positive integer: the provider's own validation reports it.
            Some(value) => match value.as_integer().and_then(|v| u64::try_from(v).ok()) {
                Some(ms) => ms,
                None => continue,
            },
        };
        if timeout_ms.saturating_mul(2) > grace_ms {
            let shown = if configured.is_some() {
                format!("{timeout_ms}")
            } else {
                format!("{timeout_ms} (the default)")
            };
            problems.push(ConfigProblem::new(
                format!("providers.{name}.timeout_ms"),
                format!(
                    "{shown} must be at most half of sync.not_found_grace_ms ({grace_ms}): a provider's \"not found\" is taken as proof that a refund was never made once the refund is older than that grace period, and a request can still reach the provider up to timeout_ms after it was sent, so the grace needs twice the timeout of margin or a refund applied late could be failed or sent again"
                ),
            ));
        }
    }
}

impl RawConfig {
    pub fn validate(self) -> Result<Config, Vec<ConfigProblem>> {
        let mut problems = Vec::new();

        let listen_text = self.server.listen.as_deref().unwrap_or("127.0.0.1:8080");
        let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(ConfigProblem::new(
                "server.listen",
                format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
            ));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let public_base_url = self.server.public_base_url.map(|url| {
            if !http_url(&url) {
                problems.push(ConfigProblem::new(
                    "server.public_base_url",
                    format!("`{url}` is not an http(s) URL"),
                ));
            }
            url.trim_end_matches('/').to_owned()
        });
        let request_timeout = millis(
            &mut problems,
            "server.request_timeout_ms",
            self.server.request_timeout_ms,
            30_000,
            100,
        );
        let header_read_timeout = millis(
            &mut problems,
            "server.header_read_timeout_ms",
            self.server.header_read_timeout_ms,
            10_000,
            100,
        );
        let max_connections_text = self.server.max_connections.unwrap_or(1024);
        if !(1..=1_000_000).contains(&max_connections_text) {
            problems.push(ConfigProblem::new(
                "server.max_connections",
                "must be between 1 and 1000000",
            ));
        }
        let server_max_connections =
            usize::try_from(max_connections_text.clamp(1, 1_000_000)).unwrap_or(1024);
        let rate_limit_per_second = self.server.rate_limit_per_second.unwrap_or(200);
        if rate_limit_per_second > 1_000_000 {
            problems.push(ConfigProblem::new(
                "server.rate_limit_per_second",
                "must be at most 1000000 (0 turns rate limiting off)",
            ));
        }

        let url = self
            .database
            .url
            .unwrap_or_else(|| "sqlite://data/refund-gateway.db".to_owned());
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            problems.push(ConfigProblem::new(
                "database.url",
                "must start with sqlite: or postgres://",
            ));
        }
        let max_connections = self.database.max_connections.unwrap_or(8);
        if max_connections == 0 {
            problems.push(ConfigProblem::new(
                "database.max_connections",
                "must be at least 1",
            ));
        }

        let provider_names: Vec<&String> = self.providers.keys().collect();
        for name in &provider_names {
            if ProviderId::parse(name).is_err() {
                problems.push(ConfigProblem::new(
                    format!("providers.{name}"),
                    "provider names are lowercase letters, digits, _ and -",
                ));
            }
        }
        let known_provider = |problems: &mut Vec<ConfigProblem>, key: String, name: &str| {
            if self.providers.contains_key(name) {
                ProviderId::parse(name).ok()
            } else {
                problems.push(ConfigProblem::new(
                    key,
                    format!("provider `{name}` has no [providers.{name}] section"),
                ));
                None
            }
        };

        let mut merchants = Vec::new();
        for (i, m) in self.merchants.iter().enumerate() {
            let key = |name: &str| format!("merchants[{i}].{name}");
            if !valid_id(&m.id) {
                problems.push(ConfigProblem::new(
                    key("id"),
                    "expected 1-64 of A-Z a-z 0-9 _ -",
                ));
            }
            if self.merchants[..i].iter().any(|other| other.id == m.id) {
                problems.push(ConfigProblem::new(
                    key("id"),
                    format!("duplicate merchant `{}`", m.id),
                ));
            }
            let hash = api_key_hash(
                &mut problems,
                &format!("merchants[{i}]"),
                m.api_key_sha256.as_deref(),
                m.api_key.as_deref(),
                None,
            );
            if let Some(url) = &m.webhook_url {
                if !http_url(url) {
                    problems.push(ConfigProblem::new(
                        key("webhook_url"),
                        format!("`{url}` is not an http(s) URL"),
                    ));
                }
            }
            let webhook_secret = secret(
                &mut problems,
                &key("webhook_secret"),
                m.webhook_secret.as_deref(),
                m.webhook_secret_env.as_deref(),
            );
            let given_secrets =
                usize::from(m.webhook_secret.is_some() || m.webhook_secret_env.is_some())
                    + m.webhook_secrets.as_ref().map_or(0, Vec::len)
                    + m.webhook_secrets_env.as_ref().map_or(0, Vec::len);
            let mut webhook_secrets: Vec<SecretString> = webhook_secret.into_iter().collect();
            for (j, value) in m.webhook_secrets.iter().flatten().enumerate() {
                webhook_secrets.extend(secret(
                    &mut problems,
                    &key(&format!("webhook_secrets[{j}]")),
                    Some(value),
                    None,
                ));
            }
            for (j, var) in m.webhook_secrets_env.iter().flatten().enumerate() {
                match std::env::var(var) {
                    Ok(value) if !value.is_empty() => {
                        webhook_secrets.push(SecretString::from(value));
                    }
                    _ => problems.push(ConfigProblem::new(
                        key(&format!("webhook_secrets_env[{j}]")),
                        format!("environment variable `{var}` is not set or empty"),
                    )),
                }
            }
            if given_secrets > refund_provider::signature::MAX_CANDIDATES {
                problems.push(ConfigProblem::new(
                    key("webhook_secrets"),
                    format!(
                        "at most {} webhook secrets at once (receivers check at most that many signatures)",
                        refund_provider::signature::MAX_CANDIDATES
                    ),
                ));
            }
            if m.webhook_url.is_some() && given_secrets == 0 {
                problems.push(ConfigProblem::new(
                    key("webhook_secret"),
                    "a webhook_url needs webhook_secret_env or webhook_secret",
                ));
            }
            let (providers, accounts) = match &m.providers {
                None => (None, BTreeMap::new()),
                Some(RawMerchantProviders::Allowed(list)) => {
                    let allowed = list
                        .iter()
                        .enumerate()
                        .filter_map(|(j, name)| {
                            known_provider(&mut problems, key(&format!("providers[{j}]")), name)
                        })
                        .collect();
                    (Some(allowed), BTreeMap::new())
                }
                Some(RawMerchantProviders::Accounts(tables)) => {
                    for name in tables.keys() {
                        known_provider(&mut problems, key(&format!("providers.{name}")), name);
                    }
                    (None, tables.clone())
                }
            };
            if let Some(api_key_sha256) = hash {
                merchants.push(MerchantConfig {
                    id: m.id.clone(),
                    api_key_sha256,
                    webhook_url: m.webhook_url.clone(),
                    webhook_secrets,
                    providers,
                    accounts,
                });
            }
        }

        let mut operators = Vec::new();
        for (i, o) in self.operators.iter().enumerate() {
            let key = format!("operators[{i}]");
            if !valid_id(&o.id) {
                problems.push(ConfigProblem::new(
                    format!("{key}.id"),
                    "expected 1-64 of A-Z a-z 0-9 _ -",
                ));
            }
            if self.operators[..i].iter().any(|other| other.id == o.id) {
                problems.push(ConfigProblem::new(
                    format!("{key}.id"),
                    format!("duplicate operator `{}`", o.id),
                ));
            }
            let hash = api_key_hash(
                &mut problems,
                &key,
                o.api_key_sha256.as_deref(),
                o.api_key.as_deref(),
                o.api_key_env.as_deref(),
            );
            if let Some(api_key_sha256) = hash {
                operators.push(OperatorConfig {
                    id: o.id.clone(),
                    api_key_sha256,
                });
            }
        }
        // One key, one caller: a key shared by two callers would make one of them the other.
        let hashes: Vec<(String, [u8; 32])> = merchants
            .iter()
            .map(|m| (m.id.clone(), m.api_key_sha256))
            .chain(operators.iter().map(|o| (o.id.clone(), o.api_key_sha256)))
            .collect();
        for (j, (id, hash)) in hashes.iter().enumerate() {
            if let Some((first, _)) = hashes[..j].iter().find(|(_, h)| h == hash) {
                let key = if j < merchants.len() {
                    format!("merchants[{j}]")
                } else {
                    format!("operators[{}]", j - merchants.len())
                };
                problems.push(ConfigProblem::new(
                    key,
                    format!(
                        "`{id}` has the same API key as `{first}`: every caller needs its own key"
                    ),
                ));
            }
        }

        let mut routes = Vec::new();
        for (i, r) in self.routes.iter().enumerate() {
            let key = |name: &str| format!("routes[{i}].{name}");
            let provider = known_provider(&mut problems, key("provider"), &r.provider);
            let currency = r.currency.as_ref().map(|list| {
                list.iter()
                    .enumerate()
                    .filter_map(|(j, code)| match Currency::parse(code) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            problems.push(ConfigProblem::new(
                                key(&format!("currency[{j}]")),
                                e.to_string(),
                            ));
                            None
                        }
                    })
                    .collect()
            });
            if let Some(merchants_list) = &r.merchant {
                for (j, id) in merchants_list.iter().enumerate() {
                    if !self.merchants.iter().any(|m| &m.id == id) {
                        problems.push(ConfigProblem::new(
                            key(&format!("merchant[{j}]")),
                            format!("no merchant `{id}` is configured"),
                        ));
                    }
                }
            }
            if let Some(provider) = provider {
                routes.push(Route {
                    provider,
                    currency,
                    payment_id_prefix: r.payment_id_prefix.clone(),
                    merchant: r.merchant.clone(),
                });
            }
        }

        let sync = SyncConfig {
            poll_interval: millis(
                &mut problems,
                "sync.poll_interval_ms",
                self.sync.poll_interval_ms,
                5_000,
                10,
            ),
            first_retry: millis(
                &mut problems,
                "sync.first_retry_ms",
                self.sync.first_retry_ms,
                1_000,
                10,
            ),
            max_retry: millis(
                &mut problems,
                "sync.max_retry_ms",
                self.sync.max_retry_ms,
                3_600_000,
                10,
            ),
            give_up_after: Duration::from_secs(
                3600 * self.sync.give_up_after_hours.unwrap_or(72).max(1),
            ),
            not_found_grace: millis(
                &mut problems,
                "sync.not_found_grace_ms",
                self.sync.not_found_grace_ms,
                60_000,
                0,
            ),
        };
        if self.sync.give_up_after_hours == Some(0) {
            problems.push(ConfigProblem::new(
                "sync.give_up_after_hours",
                "must be at least 1",
            ));
        }
        let retention_hours = self.idempotency.retention_hours.unwrap_or(24);
        if retention_hours == 0 {
            problems.push(ConfigProblem::new(
                "idempotency.retention_hours",
                "must be at least 1",
            ));
        }
        let retention_days = self.retention.days.unwrap_or(90);
        if !(1..=36_500).contains(&retention_days) {
            problems.push(ConfigProblem::new(
                "retention.days",
                "must be between 1 and 36500",
            ));
        }
        provider_timeouts_within_grace(&mut problems, &self.providers, sync.not_found_grace);
        let mut statements = BTreeMap::new();
        for (name, section) in self.statements {
            if !self.providers.contains_key(&name) {
                problems.push(ConfigProblem::new(
                    format!("statements.{name}"),
                    format!("provider `{name}` has no [providers.{name}] section"),
                ));
            }
            if let Some(format) = section.validate(&name, &mut problems) {
                statements.insert(name, std::sync::Arc::new(format));
            }
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Config {
            server: ServerConfig {
                listen,
                public_base_url,
                request_timeout,
                header_read_timeout,
                max_connections: server_max_connections,
                rate_limit_per_second: rate_limit_per_second.min(1_000_000),
            },
            database: DatabaseConfig {
                url,
                max_connections,
            },
            merchants,
            operators,
            providers: self.providers,
            routes,
            sync,
            idempotency: IdempotencyConfig {
                retention: Duration::from_secs(3600 * retention_hours),
            },
            retention: RetentionConfig {
                period: Duration::from_secs(86_400 * retention_days.clamp(1, 36_500)),
            },
            statements,
        })
    }
}
