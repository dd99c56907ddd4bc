//! The provider registry: one adapter per provider account (DESIGN §14), built from each
//! `[providers.<name>]` section (the connection and the default account) and each merchant's
//! `[merchants.providers.<name>]` (that merchant's own account) through the provider's
//! plugin ([`PLUGINS`], one line per provider crate: the only place the gateway names them);
//! for `base_url = "sandbox"` it starts that provider's simulator in-process on a loopback
//! port of its own. Here: the plugins, the accounts and the lookups; the building from the
//! configuration is `build.rs`.
//!
//! A merchant's account replaces every account field of the default (the provider declares
//! them in `ACCOUNT_FIELDS`); the rest of the section (base URL, timeout, language) is shared.
//! Nothing of the default account leaks into a merchant's: a merchant that gives only a token
//! gets no transfer wallet, never the default's. A default account that would serve two or
//! more merchants (no account of their own) is refused unless the section says
//! `shared_account = true`, which is then reported as a warning.
//!
//! In-process simulators keep bounded state: each retains at most `sandbox_max_refunds`
//! refunds (a key of the provider section, only with `base_url = "sandbox"`; default
//! [`refund_provider::sandbox_kit::DEFAULT_MAX_REFUNDS`]), evicting the oldest settled ones.
//! A simulator of a provider whose webhook endpoint is configured on its side (Stripe) sends
//! its webhooks to `{public_base_url}/v1/webhooks/<name>` when the section has a default
//! account, else to the first merchant account's `/v1/webhooks/<name>/<merchant>` (one
//! simulator is one provider account: other accounts' refunds settle by status query).

mod build;

use std::collections::BTreeMap;
use std::sync::Arc;

use refund_provider::{
    ConfigProblem, Proofs, ProviderId, ProviderPlugin, RefundProvider, Simulator, SimulatorOptions,
    Trust,
};

use crate::config::Config;

/// Every provider the gateway knows, one line per provider crate. Adding a provider is its
/// folder, its workspace member, this line and its config section.
pub static PLUGINS: &[&dyn ProviderPlugin] = &[
    &provider_authms::PROVIDER,
    &provider_ebuy::PROVIDER,
    &provider_efundpay::PROVIDER,
    &provider_stripe::PROVIDER,
];

/// The plugin of provider `id`, if the gateway knows it.
pub(crate) fn plugin(id: &str) -> Option<&'static dyn ProviderPlugin> {
    PLUGINS.iter().copied().find(|plugin| plugin.id() == id)
}

/// `authms, ebuy, efundpay, stripe`: the known providers, for messages and help texts.
pub fn known_ids() -> String {
    PLUGINS
        .iter()
        .map(|plugin| plugin.id())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which account of a provider a refund is made on; stored in `refunds.account` and
/// `payments.account` as `default` or `merchant:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Account {
    /// The account of the `[providers.<name>]` section.
    Default,
    /// A merchant's own account, `[merchants.providers.<name>]`.
    Merchant(String),
}

impl Account {
    /// The stored form.
    pub(crate) fn key(&self) -> String {
        match self {
            Self::Default => "default".to_owned(),
            Self::Merchant(id) => format!("merchant:{id}"),
        }
    }

    /// Reads the stored form back; `None` for anything else.
    pub(crate) fn parse(key: &str) -> Option<Self> {
        match key {
            "default" => Some(Self::Default),
            other => other
                .strip_prefix("merchant:")
                .filter(|id| !id.is_empty())
                .map(|id| Self::Merchant(id.to_owned())),
        }
    }
}

/// Every account of one provider, and what its section trusts.
#[derive(Default)]
struct ProviderAccounts {
    default: Option<Arc<dyn RefundProvider>>,
    merchants: BTreeMap<String, Arc<dyn RefundProvider>>,
    trust: Trust,
}

/// An in-process simulator this registry runs, with what it was started with: a registry
/// rebuilt by a reload keeps a simulator started with the same options (its refunds, its
/// port) instead of starting another.
struct RunningSandbox {
    provider: String,
    options: SimulatorOptions,
    simulator: Arc<dyn Simulator>,
}

/// The configured providers, by id, each with its accounts, and the simulators started for
/// them (running for as long as a registry holding them lives).
#[derive(Default)]
pub struct ProviderRegistry {
    providers: BTreeMap<ProviderId, ProviderAccounts>,
    sandboxes: Vec<RunningSandbox>,
    warnings: Vec<ConfigProblem>,
}

impl std::fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRegistry")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Whether `base_url = "sandbox"` starts simulators (serve) or is only checked (check-config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SandboxMode {
    Start,
    CheckOnly,
}

impl ProviderRegistry {
    /// The provider's default account (any adapter of it, for what accounts share).
    pub(crate) fn get(&self, id: &ProviderId) -> Option<&Arc<dyn RefundProvider>> {
        let accounts = self.providers.get(id)?;
        accounts
            .default
            .as_ref()
            .or_else(|| accounts.merchants.values().next())
    }

    /// The adapter of one account.
    pub(crate) fn account(
        &self,
        id: &ProviderId,
        account: &Account,
    ) -> Option<&Arc<dyn RefundProvider>> {
        let accounts = self.providers.get(id)?;
        match account {
            Account::Default => accounts.default.as_ref(),
            Account::Merchant(merchant) => accounts.merchants.get(merchant),
        }
    }

    /// The account calls for `merchant` go out on: its own, else the provider's default.
    pub(crate) fn for_merchant(
        &self,
        id: &ProviderId,
        merchant: &str,
    ) -> Option<(Account, &Arc<dyn RefundProvider>)> {
        let accounts = self.providers.get(id)?;
        match accounts.merchants.get(merchant) {
            Some(own) => Some((Account::Merchant(merchant.to_owned()), own)),
            None => accounts.default.as_ref().map(|d| (Account::Default, d)),
        }
    }

    /// What `provider`'s answers prove (DESIGN §16): what its adapter declares, plus what
    /// its section trusts (`trust_not_found`, `trust_resend`).
    pub(crate) fn proofs(&self, provider: &dyn RefundProvider) -> Proofs {
        let trust = self
            .providers
            .get(&provider.id())
            .map(|accounts| accounts.trust)
            .unwrap_or_default();
        provider.proofs().trusting(trust)
    }

    /// True when some merchant has an account of its own with this provider.
    pub(crate) fn has_merchant_accounts(&self, id: &ProviderId) -> bool {
        self.providers
            .get(id)
            .is_some_and(|a| !a.merchants.is_empty())
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = &ProviderId> {
        self.providers.keys()
    }

    /// Every configured account: (provider, stored account key).
    pub(crate) fn accounts(&self) -> Vec<(String, String)> {
        let mut all = Vec::new();
        for (id, accounts) in &self.providers {
            if accounts.default.is_some() {
                all.push((id.to_string(), Account::Default.key()));
            }
            for merchant in accounts.merchants.keys() {
                all.push((id.to_string(), Account::Merchant(merchant.clone()).key()));
            }
        }
        all
    }

    /// What `check-config` should warn about (a default account shared by merchants).
    pub(crate) fn warnings(&self) -> &[ConfigProblem] {
        &self.warnings
    }

    /// Adds or replaces a provider's default account (tests and embedders).
    pub fn insert(&mut self, provider: Arc<dyn RefundProvider>) {
        let id = provider.id();
        self.providers.entry(id).or_default().default = Some(provider);
    }

    /// `(provider, base_url)` of each simulator this registry started.
    pub fn sandbox_urls(&self) -> Vec<(ProviderId, String)> {
        self.sandboxes
            .iter()
            .filter_map(|running| {
                let sim = &running.simulator;
                Some((ProviderId::parse(sim.provider()).ok()?, sim.base_url()))
            })
            .collect()
    }

    /// The simulators this registry started, in [`PLUGINS`] order.
    pub(crate) fn simulators(&self) -> impl Iterator<Item = &dyn Simulator> {
        self.sandboxes
            .iter()
            .map(|running| running.simulator.as_ref())
    }

    /// Builds every configured provider account, reporting every problem with its key path.
    pub(crate) async fn build(
        config: &Config,
        public_base_url: &str,
        mode: SandboxMode,
    ) -> Result<Self, Vec<ConfigProblem>> {
        Self::build_keeping(config, public_base_url, mode, None).await
    }

    /// [`ProviderRegistry::build`] for a reload: a simulator of `previous` that the new
    /// configuration asks for with the same options keeps running (same port, same state)
    /// and is shared by both registries; any other is stopped once `previous` is dropped.
    pub(crate) async fn rebuild(
        config: &Config,
        public_base_url: &str,
        previous: &ProviderRegistry,
    ) -> Result<Self, Vec<ConfigProblem>> {
        Self::build_keeping(config, public_base_url, SandboxMode::Start, Some(previous)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plugin_has_its_own_id_and_sandbox_port() {
        let mut ids: Vec<&str> = PLUGINS.iter().map(|p| p.id()).collect();
        let mut offsets: Vec<u16> = PLUGINS.iter().map(|p| p.sandbox_port_offset()).collect();
        ids.sort_unstable();
        ids.dedup();
        offsets.sort_unstable();
        offsets.dedup();
        assert_eq!(ids.len(), PLUGINS.len(), "{ids:?}");
        assert_eq!(offsets.len(), PLUGINS.len(), "{offsets:?}");
        for id in &ids {
            assert!(known_ids().contains(id), "{id}");
            assert_eq!(plugin(id).map(|p| p.id()), Some(*id));
        }
        assert!(plugin("paypal").is_none());
    }

    #[test]
    fn an_account_key_round_trips_and_nothing_else_parses() {
        for account in [Account::Default, Account::Merchant("acme".into())] {
            assert_eq!(Account::parse(&account.key()), Some(account));
        }
        for junk in ["", "merchant:", "acme", "Default"] {
            assert_eq!(Account::parse(junk), None, "{junk}");
        }
    }
}
