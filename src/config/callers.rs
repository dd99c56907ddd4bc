//! What merchants and operators share: ids, their API keys (DESIGN §18: the single key,
//! given as exactly one of a hash, an inline key or a variable's name, and the `api_keys`
//! list, each with its own expiry, for rotations), and the rule that every key belongs to
//! one caller.

use refund_provider::Problems;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::rules::section;

/// Most keys one caller may hold at once, the single key and `api_keys` together.
pub(crate) const MAX_KEYS: usize = 8;

/// One API key of a caller: its SHA-256 and when it stops being accepted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ApiKey {
    pub(crate) sha256: [u8; 32],
    /// After this instant the key is answered `401 api_key_expired`; `None`: never.
    pub(crate) expires_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("sha256", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl ApiKey {
    /// True once `now` has reached the key's expiry.
    pub(crate) fn expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// An entry of `api_keys` as written: `{sha256 = "…", expires_at = "2027-01-31T00:00:00Z"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApiKey {
    /// Hex SHA-256 of the key (64 digits). Exactly one of this and `sha256_env` is given.
    sha256: Option<String>,
    /// Name of the environment variable holding the hex SHA-256 of the key.
    sha256_env: Option<String>,
    /// When the key stops being accepted: an RFC 3339 instant (a string, or a TOML
    /// offset date-time); default: never.
    expires_at: Option<toml::Value>,
}

/// Every key of a caller: the single key (when given) first, then `api_keys` in order;
/// problems reported under `section_key` (`merchants[0]`). A caller needs at least one.
pub(crate) fn caller_keys(
    problems: &mut Problems,
    section_key: &str,
    single: ApiKeySource<'_>,
    list: Option<&[RawApiKey]>,
) -> Vec<ApiKey> {
    let mut keys = Vec::new();
    let listed = list.unwrap_or_default();
    if single.given() || listed.is_empty() {
        if let Some(sha256) = single.hash(problems, section_key) {
            keys.push(ApiKey {
                sha256,
                expires_at: None,
            });
        }
    }
    for (j, raw) in listed.iter().enumerate() {
        let at = format!("{section_key}.api_keys[{j}]");
        if let Some(key) = raw.validate(problems, &at) {
            keys.push(key);
        }
    }
    let given = usize::from(single.given()) + listed.len();
    if given > MAX_KEYS {
        problems.push(
            format!("{section_key}.api_keys"),
            format!("at most {MAX_KEYS} API keys per caller, api_key_sha256 included"),
        );
    }
    keys
}

impl RawApiKey {
    fn validate(&self, problems: &mut Problems, at: &str) -> Option<ApiKey> {
        let hex_hash = match (&self.sha256, &self.sha256_env) {
            (Some(hex_hash), None) => Some((hex_hash.clone(), format!("{at}.sha256"))),
            (None, Some(var)) => match std::env::var(var) {
                Ok(value) => Some((value, format!("{at}.sha256_env"))),
                Err(_) => {
                    problems.push(
                        format!("{at}.sha256_env"),
                        format!("environment variable `{var}` is not set"),
                    );
                    None
                }
            },
            _ => {
                problems.push(at.to_owned(), "give exactly one of sha256 and sha256_env");
                None
            }
        };
        let sha256 = hex_hash.and_then(|(text, key)| {
            let mut out = [0u8; 32];
            if hex::decode_to_slice(text.trim(), &mut out).is_ok() {
                Some(out)
            } else {
                problems.push(key, "expected 64 hex digits (SHA-256 of the API key)");
                None
            }
        });
        let expires_at = match &self.expires_at {
            None => Ok(None),
            Some(toml::Value::String(text)) => parse_instant(text).map(Some),
            Some(toml::Value::Datetime(datetime)) => parse_instant(&datetime.to_string()).map(Some),
            Some(_) => Err(()),
        };
        let expires_at = expires_at
            .map_err(|()| {
                problems.push(
                    format!("{at}.expires_at"),
                    "expected an RFC 3339 instant with its offset, such as \"2027-01-31T00:00:00Z\"",
                );
            })
            .ok()?;
        Some(ApiKey {
            sha256: sha256?,
            expires_at,
        })
    }
}

fn parse_instant(text: &str) -> Result<OffsetDateTime, ()> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|_| ())
}

/// SHA-256 of an API key, as configured in `api_key_sha256`.
pub fn hash_api_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Refuses a merchant or operator id that is not 1-64 of `A-Z a-z 0-9 _ -`.
pub(crate) fn check_id(problems: &mut Problems, key: String, id: &str) {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        problems.push(key, "expected 1-64 of A-Z a-z 0-9 _ -");
    }
}

/// The ways a caller's API key may be given; exactly one must be.
#[derive(Clone, Copy)]
pub(crate) struct ApiKeySource<'a> {
    /// `api_key_sha256`: hex SHA-256 of the key.
    pub(crate) sha256_hex: Option<&'a str>,
    /// `api_key`: the key itself (sandbox only).
    pub(crate) inline: Option<&'a str>,
    /// `api_key_env`: the name of the variable holding the key.
    pub(crate) env_var: Option<&'a str>,
}

impl ApiKeySource<'_> {
    /// True when any form of the single key is given.
    pub(crate) fn given(self) -> bool {
        self.sha256_hex.is_some() || self.inline.is_some() || self.env_var.is_some()
    }

    /// The SHA-256 of the caller's key, problems reported under `section_key`
    /// (`merchants[0]`); inline and `_env` keys are read with the core's secret helper.
    pub(crate) fn hash(self, problems: &mut Problems, section_key: &str) -> Option<[u8; 32]> {
        use refund_provider::ExposeSecret;
        let ctx = section(section_key);
        match (self.sha256_hex, self.inline, self.env_var) {
            (Some(hex_hash), None, None) => {
                let mut out = [0u8; 32];
                if hex::decode_to_slice(hex_hash.trim(), &mut out).is_ok() {
                    return Some(out);
                }
                problems.push(
                    ctx.key("api_key_sha256"),
                    "expected 64 hex digits (SHA-256 of the API key)",
                );
                None
            }
            (None, inline @ Some(_), None) | (None, inline @ None, Some(_)) => problems
                .take(ctx.secret("api_key", inline, self.env_var))
                .map(|key| hash_api_key(key.expose_secret())),
            (None, None, None) => {
                problems.push(
                    ctx.key("api_key_sha256"),
                    "missing: the hex SHA-256 of the API key (or api_key_env, or api_keys)",
                );
                None
            }
            _ => {
                problems.push(
                    ctx.key("api_key"),
                    "give exactly one of api_key_sha256, api_key_env and api_key",
                );
                None
            }
        }
    }
}

/// A caller's keys as read, for [`one_key_per_caller`].
pub(crate) struct CallerKey {
    /// Where the caller is configured: `merchants[0]`, `operators[1]`.
    pub(crate) key: String,
    pub(crate) id: String,
    /// The SHA-256 of each of its keys that could be read (the others are reported).
    pub(crate) hashes: Vec<[u8; 32]>,
}

/// One key, one caller: a key shared by two callers would make one of them the other (and a
/// key listed twice by one caller is a mistake in a rotation).
pub(crate) fn one_key_per_caller(problems: &mut Problems, callers: &[CallerKey]) {
    for (j, caller) in callers.iter().enumerate() {
        for (k, hash) in caller.hashes.iter().enumerate() {
            if caller.hashes[..k].contains(hash) {
                problems.push(
                    format!("{}.api_keys", caller.key),
                    format!("`{}` lists the same API key twice", caller.id),
                );
            } else if let Some(first) = callers[..j].iter().find(|c| c.hashes.contains(hash)) {
                problems.push(
                    caller.key.clone(),
                    format!(
                        "`{}` has the same API key as `{}`: every caller needs its own key",
                        caller.id, first.id
                    ),
                );
            }
        }
    }
}
