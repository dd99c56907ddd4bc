//! `[[merchants]]`: the callers of the refund API, their API keys, where their webhooks go and
//! with which secrets, and which providers they may use or hold accounts of their own with
//! (`[merchants.providers.<id>]`, DESIGN §14).

use std::collections::BTreeMap;

use refund_provider::{ExposeSecret, Problems, ProviderId, SecretString};
use serde::Deserialize;

use super::callers::{caller_keys, check_id, ApiKey, ApiKeySource, CallerKey, RawApiKey};
use super::provider_sections::{self, ProviderSections};
use super::rules::section;

/// `[[merchants]]` as written. Its `Debug` names only the fields known to be harmless.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMerchant {
    /// The merchant's id, 1-64 of `A-Z a-z 0-9 _ -`; required, unique.
    id: String,
    /// Hex SHA-256 of the API key (64 digits). Exactly one of this and `api_key` is given.
    api_key_sha256: Option<String>,
    /// The API key itself (sandbox only); hashed at load.
    api_key: Option<String>,
    /// More keys, each `{sha256 = "…"}` or `{sha256_env = "VAR"}` with an optional
    /// `expires_at` (RFC 3339; after it the key is `401 api_key_expired`), for rotations
    /// (DESIGN §18). At most 8 keys in all; with a list, the single key is optional.
    api_keys: Option<Vec<RawApiKey>>,
    /// Where the merchant's webhooks are posted (http or https); default: none sent.
    webhook_url: Option<String>,
    /// The secret merchant webhooks are signed with (inline, sandbox only); required with a
    /// `webhook_url` unless `webhook_secret_env` or the lists below give one.
    webhook_secret: Option<SecretString>,
    /// Name of the environment variable holding the webhook secret.
    webhook_secret_env: Option<String>,
    /// More secrets to sign merchant webhooks with, for a rotation (inline, sandbox only):
    /// every event carries one `v1` per secret.
    webhook_secrets: Option<Vec<SecretString>>,
    /// Names of environment variables holding more webhook secrets, for a rotation. At most
    /// `signature::MAX_CANDIDATES` secrets in all.
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
    /// Provider ids, each with a `[providers.<id>]` section.
    Allowed(Vec<String>),
    /// The merchant's own account per provider id.
    Accounts(BTreeMap<String, toml::Table>),
}

impl RawMerchantProviders {
    /// The providers the merchant may use (`None`: all) and its own accounts, each provider
    /// named needing a `[providers.<id>]` section; `key` is the merchant's (`merchants[0]`).
    fn validate(
        self,
        problems: &mut Problems,
        key: &str,
        sections: &ProviderSections,
    ) -> (Option<Vec<ProviderId>>, BTreeMap<String, toml::Table>) {
        match self {
            Self::Allowed(list) => {
                let allowed = list
                    .iter()
                    .enumerate()
                    .filter_map(|(j, name)| {
                        let at = format!("{key}.providers[{j}]");
                        provider_sections::known(problems, sections, at, name)
                    })
                    .collect();
                (Some(allowed), BTreeMap::new())
            }
            Self::Accounts(tables) => {
                for name in tables.keys() {
                    let at = format!("{key}.providers.{name}");
                    provider_sections::known(problems, sections, at, name);
                }
                (None, tables)
            }
        }
    }
}

/// A merchant allowed to call the API.
#[derive(Clone)]
pub struct MerchantConfig {
    /// The merchant's id.
    pub(crate) id: String,
    /// The merchant's API keys (at least one).
    pub(crate) api_keys: Vec<ApiKey>,
    /// Where its webhooks are posted; `None`: none are sent.
    pub(crate) webhook_url: Option<String>,
    /// The secrets merchant webhooks are signed with, each giving one `v1` of the
    /// signature header (more than one during a rotation; empty without webhooks).
    pub(crate) webhook_secrets: Vec<SecretString>,
    /// Providers this merchant may use; `None` means all configured ones.
    pub(crate) providers: Option<Vec<ProviderId>>,
    /// The merchant's own provider accounts (`[merchants.providers.<id>]`, DESIGN §14) as
    /// raw tables, by provider; the registry checks and builds them.
    pub(crate) accounts: BTreeMap<String, toml::Table>,
}

impl std::fmt::Debug for MerchantConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantConfig")
            .field("id", &self.id)
            .field("api_keys", &self.api_keys)
            .field("webhook_url", &self.webhook_url)
            .field(
                "webhook_secrets",
                &format!("[{} redacted]", self.webhook_secrets.len()),
            )
            .field("providers", &self.providers)
            .field("accounts", &self.accounts.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl MerchantConfig {
    pub(crate) fn may_use(&self, provider: &ProviderId) -> bool {
        self.providers
            .as_ref()
            .is_none_or(|list| list.contains(provider))
    }

    /// Stands in for a merchant whose entry could not be read (its problem is reported), so
    /// that the other checks see every merchant at its index: no key, no provider.
    fn unreadable(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            api_keys: Vec::new(),
            webhook_url: None,
            webhook_secrets: Vec::new(),
            providers: Some(Vec::new()),
            accounts: BTreeMap::new(),
        }
    }
}

/// Every merchant, in order: `raw[i]` is `None` where the entry's type error was reported,
/// `ids[i]` its `id` as written. Returns each merchant (a stand-in where unreadable) and
/// its key for [`super::callers::one_key_per_caller`].
pub(crate) fn validate_all(
    problems: &mut Problems,
    raw: Vec<Option<RawMerchant>>,
    ids: &[String],
    providers: &ProviderSections,
) -> Vec<(MerchantConfig, CallerKey)> {
    raw.into_iter()
        .enumerate()
        .map(|(i, merchant)| {
            let key = format!("merchants[{i}]");
            let Some(merchant) = merchant else {
                let id = ids.get(i).map_or("", String::as_str);
                let caller = CallerKey {
                    key,
                    id: id.to_owned(),
                    hashes: Vec::new(),
                };
                return (MerchantConfig::unreadable(id), caller);
            };
            let earlier = ids.get(..i).unwrap_or_default();
            merchant.validate(problems, key, earlier, providers)
        })
        .collect()
}

impl RawMerchant {
    /// One merchant under `key` (`merchants[0]`), its id unique among `earlier_ids`; a
    /// refused API key is all zeros here and `None` in the caller key (the configuration is
    /// refused anyway).
    fn validate(
        self,
        problems: &mut Problems,
        key: String,
        earlier_ids: &[String],
        sections: &ProviderSections,
    ) -> (MerchantConfig, CallerKey) {
        check_id(problems, format!("{key}.id"), &self.id);
        if earlier_ids.contains(&self.id) {
            problems.push(
                format!("{key}.id"),
                format!("duplicate merchant `{}`", self.id),
            );
        }
        let single = ApiKeySource {
            sha256_hex: self.api_key_sha256.as_deref(),
            inline: self.api_key.as_deref(),
            env_var: None,
        };
        let api_keys = caller_keys(problems, &key, single, self.api_keys.as_deref());
        let ctx = section(key.clone());
        if let Some(url) = &self.webhook_url {
            problems.take(ctx.http_url("webhook_url", url));
        }
        let webhook_secrets = self.webhook_secrets(problems, &key);
        let (providers, accounts) = match self.providers {
            None => (None, BTreeMap::new()),
            Some(choice) => choice.validate(problems, &key, sections),
        };
        let merchant = MerchantConfig {
            id: self.id.clone(),
            api_keys: api_keys.clone(),
            webhook_url: self.webhook_url,
            webhook_secrets,
            providers,
            accounts,
        };
        let caller = CallerKey {
            key,
            id: self.id,
            hashes: api_keys.iter().map(|k| k.sha256).collect(),
        };
        (merchant, caller)
    }

    /// The webhook secrets in signing order: `webhook_secret` (or its `_env`), then
    /// `webhook_secrets`, then `webhook_secrets_env`; read with the core's secret helpers.
    fn webhook_secrets(&self, problems: &mut Problems, key: &str) -> Vec<SecretString> {
        let ctx = section(key);
        let given = usize::from(self.webhook_secret.is_some() || self.webhook_secret_env.is_some())
            + self.webhook_secrets.as_ref().map_or(0, Vec::len)
            + self.webhook_secrets_env.as_ref().map_or(0, Vec::len);
        let mut secrets = Vec::new();
        if self.webhook_secret.is_some() || self.webhook_secret_env.is_some() {
            secrets.extend(problems.take(ctx.secret_setting(
                "webhook_secret",
                self.webhook_secret.as_ref(),
                self.webhook_secret_env.as_deref(),
            )));
        }
        for (j, value) in self.webhook_secrets.iter().flatten().enumerate() {
            let name = format!("webhook_secrets[{j}]");
            secrets.extend(problems.take(ctx.secret(&name, Some(value.expose_secret()), None)));
        }
        for (j, var) in self.webhook_secrets_env.iter().flatten().enumerate() {
            let name = format!("webhook_secrets_env[{j}]");
            secrets.extend(problems.take(ctx.env_secret(&name, var)));
        }
        let most = refund_provider::signature::MAX_CANDIDATES;
        if given > most {
            problems.push(
                format!("{key}.webhook_secrets"),
                format!(
                    "at most {most} webhook secrets at once (receivers check at most that many signatures)"
                ),
            );
        }
        if self.webhook_url.is_some() && given == 0 {
            problems.push(
                format!("{key}.webhook_secret"),
                "a webhook_url needs webhook_secret_env or webhook_secret",
            );
        }
        secrets
    }
}
