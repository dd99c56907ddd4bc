//! `[database]`: which store (SQLite or PostgreSQL) and its pool size; the URL is shown
//! without its password wherever it is printed.

use refund_provider::Problems;
use serde::Deserialize;

/// `[database]` as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDatabase {
    /// `sqlite:…` or `postgres://…` (`postgresql://…`); default
    /// `sqlite://data/refund-gateway.db`.
    url: Option<String>,
    /// Connection pool size, at least 1; default 8.
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

/// The validated `[database]` section. Its `Debug` shows the URL without its password.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// `sqlite:…` or `postgres://…`.
    pub url: String,
    /// Connection pool size.
    pub max_connections: u32,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redacted_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl RawDatabase {
    /// The section with its defaults, every problem pushed with its key path.
    pub(crate) fn validate(self, problems: &mut Problems) -> DatabaseConfig {
        let url = self
            .url
            .unwrap_or_else(|| "sqlite://data/refund-gateway.db".to_owned());
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            problems.push("database.url", "must start with sqlite: or postgres://");
        }
        let max_connections = self.max_connections.unwrap_or(8);
        if max_connections == 0 {
            problems.push("database.max_connections", "must be at least 1");
        }
        DatabaseConfig {
            url,
            max_connections,
        }
    }
}

/// A database URL without its password (`postgres://user:***@host/db`, and `***` for a
/// `password=` query parameter), for `Debug` and logs.
pub fn redacted_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        // Not a URL: it might still hold a password somewhere; show nothing of it.
        return "[unparsed url]".to_owned();
    };
    if parsed.password().is_some() && parsed.set_password(Some("***")).is_err() {
        return "[url with a password]".to_owned();
    }
    let secret_pair = |key: &str| key.to_ascii_lowercase().contains("password");
    if parsed.query_pairs().any(|(key, _)| secret_pair(&key)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if secret_pair(&key) {
                    "***".to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}
