//! `[[operators]]`: finance and support staff of whoever runs the gateway (DESIGN §14), who
//! read across merchants, settle statements and resolve refunds.

use refund_provider::Problems;
use serde::Deserialize;

use super::callers::{caller_keys, check_id, ApiKey, ApiKeySource, CallerKey, RawApiKey};

/// `[[operators]]` as written. Its `Debug` names only the fields known to be harmless.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperator {
    /// Shown in the history of every refund the operator resolves; 1-64 of
    /// `A-Z a-z 0-9 _ -`, unique.
    id: String,
    /// Hex SHA-256 of the operator's API key. Exactly one of this, `api_key_env` and
    /// `api_key` is given.
    api_key_sha256: Option<String>,
    /// Name of the environment variable holding the API key (hashed at load).
    api_key_env: Option<String>,
    /// The API key itself (sandbox only); hashed at load.
    api_key: Option<String>,
    /// More keys with their expiry, for rotations: as a merchant's `api_keys` (DESIGN §18).
    api_keys: Option<Vec<RawApiKey>>,
}

impl std::fmt::Debug for RawOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawOperator")
            .field("id", &self.id)
            .field("api_key_env", &self.api_key_env)
            .finish_non_exhaustive()
    }
}

/// An operator: may read every merchant's data, settle statements and resolve refunds.
#[derive(Clone)]
pub struct OperatorConfig {
    /// The operator's id.
    pub(crate) id: String,
    /// The operator's API keys (at least one).
    pub(crate) api_keys: Vec<ApiKey>,
}

impl std::fmt::Debug for OperatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorConfig")
            .field("id", &self.id)
            .field("api_keys", &self.api_keys)
            .finish()
    }
}

/// Every operator whose entry could be read (`raw[i]` is `None` where its type error was
/// reported), at its index, with its key for [`super::callers::one_key_per_caller`].
/// Operators with a refused key are left out (the configuration is refused anyway).
pub(crate) fn validate_all(
    problems: &mut Problems,
    raw: Vec<Option<RawOperator>>,
) -> (Vec<OperatorConfig>, Vec<CallerKey>) {
    let mut operators = Vec::new();
    let mut callers = Vec::new();
    let mut earlier: Vec<String> = Vec::new();
    for (i, operator) in raw.into_iter().enumerate() {
        let Some(operator) = operator else { continue };
        let key = format!("operators[{i}]");
        check_id(problems, format!("{key}.id"), &operator.id);
        if earlier.contains(&operator.id) {
            problems.push(
                format!("{key}.id"),
                format!("duplicate operator `{}`", operator.id),
            );
        }
        earlier.push(operator.id.clone());
        let single = ApiKeySource {
            sha256_hex: operator.api_key_sha256.as_deref(),
            inline: operator.api_key.as_deref(),
            env_var: operator.api_key_env.as_deref(),
        };
        let api_keys = caller_keys(problems, &key, single, operator.api_keys.as_deref());
        if !api_keys.is_empty() {
            operators.push(OperatorConfig {
                id: operator.id.clone(),
                api_keys: api_keys.clone(),
            });
        }
        callers.push(CallerKey {
            key,
            id: operator.id,
            hashes: api_keys.iter().map(|k| k.sha256).collect(),
        });
    }
    (operators, callers)
}
