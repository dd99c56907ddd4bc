//! What merchants and operators share: ids, the API key given as exactly one of a hash, an
//! inline key or a variable's name, and the rule that every caller has a key of its own.

use refund_provider::Problems;
use sha2::{Digest, Sha256};

use super::rules::section;

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
                    "missing: the hex SHA-256 of the API key (or api_key_env)",
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

/// A caller's key as read, for [`one_key_per_caller`].
pub(crate) struct CallerKey {
    /// Where the caller is configured: `merchants[0]`, `operators[1]`.
    pub(crate) key: String,
    pub(crate) id: String,
    /// `None` when its key was refused (already reported).
    pub(crate) hash: Option<[u8; 32]>,
}

/// One key, one caller: a key shared by two callers would make one of them the other.
pub(crate) fn one_key_per_caller(problems: &mut Problems, callers: &[CallerKey]) {
    for (j, caller) in callers.iter().enumerate() {
        let Some(hash) = caller.hash else { continue };
        if let Some(first) = callers[..j].iter().find(|c| c.hash == Some(hash)) {
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
