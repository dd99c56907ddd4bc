//! The provider registry: one adapter per provider account (DESIGN §14), built from each
//! `[providers.<name>]` section (the connection and the default account) and each merchant's
//! `[merchants.providers.<name>]` (that merchant's own account) through the provider's
//! plugin ([`PLUGINS`], one line per provider crate: the only place the gateway names them);
//! for `base_url = "sandbox"` it starts that provider's simulator in-process on a loopback
//! port of its own.
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

use std::collections::BTreeMap;
use std::sync::Arc;

use refund_provider::{
    BuildContext, ConfigProblem, Proofs, ProviderId, ProviderPlugin, RefundProvider, Simulator,
    SimulatorOptions, Trust,
};

use crate::config::{Config, SANDBOX_BASE_URL};

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

/// The gateway's own keys in a provider section (not passed to the adapter).
const SHARED_ACCOUNT_KEY: &str = "shared_account";
const SANDBOX_MAX_REFUNDS_KEY: &str = "sandbox_max_refunds";
/// What a section trusts beyond its adapter's declared proofs (DESIGN §16), for whoever
/// holds that provider's written confirmation.
const TRUST_NOT_FOUND_KEY: &str = "trust_not_found";
const TRUST_RESEND_KEY: &str = "trust_resend";

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

    async fn build_keeping(
        config: &Config,
        public_base_url: &str,
        mode: SandboxMode,
        previous: Option<&ProviderRegistry>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let mut registry = Self::default();
        let mut problems = Vec::new();
        for (name, section) in &config.providers {
            let section_key = format!("providers.{name}");
            let Some(plugin) = plugin(name) else {
                problems.push(ConfigProblem::new(
                    section_key,
                    format!("unknown provider (known: {})", known_ids()),
                ));
                continue;
            };
            let account_fields = plugin.account_fields();
            let Some(mut table) = section.as_table().cloned() else {
                problems.push(ConfigProblem::new(section_key, "must be a table"));
                continue;
            };
            let shared = take_flag(&mut table, &section_key, SHARED_ACCOUNT_KEY, &mut problems);
            let trust = Trust {
                not_found: take_flag(&mut table, &section_key, TRUST_NOT_FOUND_KEY, &mut problems),
                resend: take_flag(&mut table, &section_key, TRUST_RESEND_KEY, &mut problems),
            };
            if let Some(warning) = trust_warning(name, &section_key, trust) {
                registry.warnings.push(warning);
            }
            let is_sandbox =
                table.get("base_url").and_then(|v| v.as_str()) == Some(SANDBOX_BASE_URL);
            let max_refunds = match (table.remove(SANDBOX_MAX_REFUNDS_KEY), is_sandbox) {
                (None, _) => None,
                (Some(toml::Value::Integer(n)), true) if n > 0 => usize::try_from(n).ok(),
                (Some(_), true) => {
                    problems.push(ConfigProblem::new(
                        format!("{section_key}.{SANDBOX_MAX_REFUNDS_KEY}"),
                        "must be a positive integer",
                    ));
                    None
                }
                (Some(_), false) => {
                    problems.push(ConfigProblem::new(
                        format!("{section_key}.{SANDBOX_MAX_REFUNDS_KEY}"),
                        "only for an in-process simulator (base_url = \"sandbox\")",
                    ));
                    None
                }
            };
            // The default account, when the section gives any account field.
            let has_default = table.keys().any(|k| account_fields.contains(&k.as_str()));
            if is_sandbox {
                let url = match mode {
                    SandboxMode::CheckOnly => "http://127.0.0.1:9".to_owned(),
                    SandboxMode::Start => {
                        let endpoint_owner = if has_default {
                            None
                        } else {
                            config
                                .merchants
                                .iter()
                                .find(|m| m.accounts.contains_key(name))
                                .map(|m| m.id.clone())
                        };
                        let mut ctx = BuildContext::new(section_key.clone(), public_base_url);
                        ctx.merchant = endpoint_owner;
                        let options = SimulatorOptions {
                            max_refunds,
                            webhook_url: Some(ctx.webhook_url(name)),
                            ..SimulatorOptions::default()
                        };
                        let kept = previous.and_then(|previous| {
                            previous
                                .sandboxes
                                .iter()
                                .find(|r| r.provider == *name && r.options == options)
                                .map(|r| r.simulator.clone())
                        });
                        let started = match kept {
                            Some(simulator) => Ok(simulator),
                            None => start_sandbox(plugin, options.clone()).await.map(Arc::from),
                        };
                        match started {
                            Ok(simulator) => {
                                let url = simulator.base_url();
                                registry.sandboxes.push(RunningSandbox {
                                    provider: name.clone(),
                                    options,
                                    simulator,
                                });
                                url
                            }
                            Err(problem) => {
                                problems.push(problem);
                                continue;
                            }
                        }
                    }
                };
                table.insert("base_url".into(), toml::Value::String(url));
            }
            let Ok(id) = ProviderId::parse(name) else {
                continue; // reported by the config's own validation
            };
            let entry = registry.providers.entry(id.clone()).or_default();
            entry.trust = trust;

            if has_default {
                let ctx = BuildContext::new(section_key.clone(), public_base_url);
                match build_one(plugin, toml::Value::Table(table.clone()), &ctx) {
                    Ok(provider) => entry.default = Some(provider),
                    Err(mut found) => problems.append(&mut found),
                }
            }

            // Each merchant's own account: the shared connection plus its account fields.
            let connection: toml::Table = table
                .iter()
                .filter(|(k, _)| !account_fields.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (i, merchant) in config.merchants.iter().enumerate() {
                let Some(own) = merchant.accounts.get(name) else {
                    continue;
                };
                let merchant_key = format!("merchants[{i}].providers.{name}");
                let mut merged = connection.clone();
                let mut clean = true;
                for (k, v) in own {
                    if account_fields.contains(&k.as_str()) {
                        merged.insert(k.clone(), v.clone());
                    } else {
                        clean = false;
                        problems.push(ConfigProblem::new(
                            format!("{merchant_key}.{k}"),
                            format!(
                                "not an account field of {name} (account fields: {})",
                                account_fields.join(", ")
                            ),
                        ));
                    }
                }
                if !clean {
                    continue;
                }
                let ctx = BuildContext::new(merchant_key.clone(), public_base_url)
                    .for_merchant(merchant.id.clone());
                match build_one(plugin, toml::Value::Table(merged), &ctx) {
                    Ok(provider) => {
                        entry.merchants.insert(merchant.id.clone(), provider);
                    }
                    Err(found) => {
                        for problem in found {
                            let problem = connection_problem_at_section(
                                problem,
                                &merchant_key,
                                &section_key,
                                account_fields,
                            );
                            if !problems.contains(&problem) {
                                problems.push(problem);
                            }
                        }
                    }
                }
            }

            // Who the default account would serve.
            if has_default {
                let served: Vec<&str> = config
                    .merchants
                    .iter()
                    .filter(|m| m.may_use(&id) && !m.accounts.contains_key(name))
                    .map(|m| m.id.as_str())
                    .collect();
                if served.len() >= 2 {
                    let who = served.join(", ");
                    if shared {
                        registry.warnings.push(ConfigProblem::new(
                            section_key.clone(),
                            format!(
                                "the default {name} account is shared by merchants {who}: each payment on it belongs to the merchant that first refunds it"
                            ),
                        ));
                    } else {
                        problems.push(ConfigProblem::new(
                            section_key.clone(),
                            format!(
                                "the default {name} account would serve merchants {who}: give each its own [merchants.providers.{name}] account, or set shared_account = true"
                            ),
                        ));
                    }
                }
            } else if !config
                .merchants
                .iter()
                .any(|m| m.accounts.contains_key(name))
            {
                problems.push(ConfigProblem::new(
                    section_key.clone(),
                    format!(
                        "no account: give the account fields ({}) here or in a merchant's [merchants.providers.{name}]",
                        account_fields.join(", ")
                    ),
                ));
            }
        }
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(problems)
        }
    }
}

/// Removes the boolean `key` from a section (absent is `false`); anything but a boolean is a
/// problem at its key path.
fn take_flag(
    table: &mut toml::Table,
    section_key: &str,
    key: &str,
    problems: &mut Vec<ConfigProblem>,
) -> bool {
    match table.remove(key) {
        None => false,
        Some(toml::Value::Boolean(flag)) => flag,
        Some(_) => {
            problems.push(ConfigProblem::new(
                format!("{section_key}.{key}"),
                "must be true or false",
            ));
            false
        }
    }
}

/// The warning `check-config` and the start-up log print for a section that trusts what its
/// provider's documents do not promise (DESIGN §16).
fn trust_warning(name: &str, section_key: &str, trust: Trust) -> Option<ConfigProblem> {
    let mut trusted = Vec::new();
    if trust.not_found {
        trusted.push(format!(
            "{TRUST_NOT_FOUND_KEY}: a {name} status query that finds nothing after sync.not_found_grace_ms is taken as proof that the refund was never made (it is failed, or re-sent)"
        ));
    }
    if trust.resend {
        trusted.push(format!(
            "{TRUST_RESEND_KEY}: {name} is taken to refuse or replay a second refund with the same reference (a refund it has no record of may be re-sent once)"
        ));
    }
    (!trusted.is_empty()).then(|| {
        ConfigProblem::new(
            section_key.to_owned(),
            format!(
                "trusts what {name}'s documents do not promise, on the strength of {name}'s written confirmation: {}",
                trusted.join("; ")
            ),
        )
    })
}

/// A problem found building a merchant's account is reported at the merchant's key when it
/// is about an account field, and at the provider section's key when it is about the shared
/// connection (so it is reported once, where it must be fixed).
fn connection_problem_at_section(
    problem: ConfigProblem,
    merchant_key: &str,
    section_key: &str,
    account_fields: &[&str],
) -> ConfigProblem {
    let Some(field) = problem
        .key
        .strip_prefix(merchant_key)
        .and_then(|rest| rest.strip_prefix('.'))
    else {
        return problem;
    };
    let stem = field.split(['.', '[']).next().unwrap_or(field);
    if account_fields.contains(&stem) {
        problem
    } else {
        ConfigProblem::new(format!("{section_key}.{field}"), problem.message)
    }
}

/// Builds one account's adapter through the provider's plugin (the section as JSON).
fn build_one(
    plugin: &dyn ProviderPlugin,
    section: toml::Value,
    ctx: &BuildContext,
) -> Result<Arc<dyn RefundProvider>, Vec<ConfigProblem>> {
    let section = serde_json::to_value(section)
        .map_err(|e| vec![ctx.section_problem(format!("not a valid section: {e}"))])?;
    plugin.build(section, ctx)
}

/// Starts one provider's simulator on a free loopback port.
async fn start_sandbox(
    plugin: &dyn ProviderPlugin,
    options: SimulatorOptions,
) -> Result<Box<dyn Simulator>, ConfigProblem> {
    let problem = |e: std::io::Error| {
        ConfigProblem::new(
            format!("providers.{}.base_url", plugin.id()),
            format!("cannot start the sandbox: {e}"),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(problem)?;
    plugin
        .start_simulator(listener, options)
        .await
        .map_err(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EFUNDPAY: &str = r#"
[providers.efundpay]
base_url = "https://api.efundpay.example"
token = "tok"
merchant_account_id = "default"
webhook_secret = "whsec"
"#;

    fn merchant(id: &str, extra: &str) -> String {
        format!("[[merchants]]\nid = \"{id}\"\napi_key = \"sk_{id}\"\n{extra}\n")
    }

    async fn build(toml: &str) -> Result<ProviderRegistry, Vec<ConfigProblem>> {
        let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("{e}"));
        ProviderRegistry::build(&config, "http://127.0.0.1:8080", SandboxMode::CheckOnly).await
    }

    fn keys(problems: &[ConfigProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.key.as_str()).collect()
    }

    #[tokio::test]
    async fn a_default_account_serving_two_merchants_is_refused_naming_provider_and_merchants() {
        let toml = format!(
            "{}{}{EFUNDPAY}",
            merchant("acme", ""),
            merchant("globex", "")
        );
        let problems = build(&toml).await.err().unwrap_or_default();
        assert_eq!(keys(&problems), ["providers.efundpay"]);
        let message = &problems[0].message;
        assert!(
            message.contains("efundpay") && message.contains("acme, globex"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_shared_default_account_is_accepted_with_a_warning() {
        let shared = EFUNDPAY.replace(
            "webhook_secret = \"whsec\"",
            "webhook_secret = \"whsec\"\nshared_account = true",
        );
        let toml = format!("{}{}{shared}", merchant("acme", ""), merchant("globex", ""));
        let registry = build(&toml).await.unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(keys(registry.warnings()), ["providers.efundpay"]);
        let efundpay = ProviderId::from_static("efundpay");
        for m in ["acme", "globex"] {
            let (account, _) = registry.for_merchant(&efundpay, m).expect("an account");
            assert_eq!(account, Account::Default);
        }
    }

    #[tokio::test]
    async fn a_section_trusting_what_its_documents_do_not_promise_is_warned_about_and_applied() {
        let trusting = EFUNDPAY.replace(
            "webhook_secret = \"whsec\"",
            "webhook_secret = \"whsec\"\ntrust_not_found = true\ntrust_resend = true",
        );
        let toml = format!("{}{trusting}", merchant("acme", ""));
        let registry = build(&toml).await.unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(keys(registry.warnings()), ["providers.efundpay"]);
        let warning = &registry.warnings()[0].message;
        assert!(
            warning.contains("efundpay")
                && warning.contains("trust_not_found")
                && warning.contains("trust_resend"),
            "{warning}"
        );
        let efundpay = ProviderId::from_static("efundpay");
        let (_, adapter) = registry.for_merchant(&efundpay, "acme").expect("account");
        let proofs = registry.proofs(adapter.as_ref());
        assert!(proofs.not_found_proves_absence && proofs.resend_is_deduplicated);
        assert!(
            !adapter.proofs().not_found_proves_absence,
            "the adapter itself still declares what eFundPay's document grants"
        );

        let untrusting = format!("{}{EFUNDPAY}", merchant("acme", ""));
        let registry = build(&untrusting).await.unwrap_or_else(|p| panic!("{p:?}"));
        let (_, adapter) = registry.for_merchant(&efundpay, "acme").expect("account");
        let proofs = registry.proofs(adapter.as_ref());
        assert!(!proofs.not_found_proves_absence && !proofs.resend_is_deduplicated);

        let wrong = EFUNDPAY.replace(
            "webhook_secret = \"whsec\"",
            "webhook_secret = \"whsec\"\ntrust_resend = \"yes\"",
        );
        let problems = build(&format!("{}{wrong}", merchant("acme", "")))
            .await
            .err()
            .unwrap_or_default();
        assert_eq!(keys(&problems), ["providers.efundpay.trust_resend"]);
    }

    #[tokio::test]
    async fn one_merchant_on_the_old_contract_builds_unchanged() {
        let toml = format!("{}{EFUNDPAY}", merchant("acme", ""));
        let registry = build(&toml).await.unwrap_or_else(|p| panic!("{p:?}"));
        assert!(registry.warnings().is_empty());
        assert!(!registry.has_merchant_accounts(&ProviderId::from_static("efundpay")));
    }

    #[tokio::test]
    async fn merchants_with_accounts_of_their_own_need_no_default_account() {
        let own = "[merchants.providers.efundpay]\ntoken = \"t\"\nmerchant_account_id = \"m\"\nwebhook_secret = \"w\"";
        let toml = format!(
            "{}{}[providers.efundpay]\nbase_url = \"https://api.efundpay.example\"\n",
            merchant("acme", own),
            merchant("globex", own)
        );
        let registry = build(&toml).await.unwrap_or_else(|p| panic!("{p:?}"));
        let efundpay = ProviderId::from_static("efundpay");
        assert!(registry.account(&efundpay, &Account::Default).is_none());
        let (account, _) = registry.for_merchant(&efundpay, "globex").expect("own");
        assert_eq!(account, Account::Merchant("globex".into()));
    }

    #[tokio::test]
    async fn every_account_problem_is_reported_where_it_must_be_fixed() {
        let acme =
            "[merchants.providers.efundpay]\ntoken = \"t\"\nbase_url = \"https://elsewhere\"";
        let globex = "[merchants.providers.efundpay]\ntoken = \"t\"";
        let toml = format!(
            "{}{}[providers.efundpay]\nbase_url = \"ftp://x\"\n",
            merchant("acme", acme),
            merchant("globex", globex)
        );
        let problems = build(&toml).await.err().unwrap_or_default();
        let keys = keys(&problems);
        assert!(
            keys.contains(&"merchants[0].providers.efundpay.base_url"),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"merchants[1].providers.efundpay.merchant_account_id"),
            "{keys:?}"
        );
        assert!(keys.contains(&"providers.efundpay.base_url"), "{keys:?}");
        assert_eq!(
            keys.iter()
                .filter(|k| **k == "providers.efundpay.base_url")
                .count(),
            1,
            "a shared connection problem is reported once: {keys:?}"
        );
    }

    #[tokio::test]
    async fn the_production_example_builds_with_its_variables_set() {
        let text = include_str!("../config/production.example.toml");
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=') {
                if key.trim().ends_with("_env") {
                    std::env::set_var(value.trim().trim_matches('"'), "example-secret");
                }
            }
        }
        let registry = build(text).await.unwrap_or_else(|p| panic!("{p:?}"));
        assert!(registry.warnings().is_empty());
        for plugin in PLUGINS {
            let provider = plugin.id();
            let id = ProviderId::parse(provider).unwrap_or_else(|e| panic!("{e}"));
            assert!(registry.has_merchant_accounts(&id), "{provider}");
            assert_eq!(
                registry.for_merchant(&id, "acme").map(|(a, _)| a),
                Some(Account::Default)
            );
        }
    }

    #[tokio::test]
    async fn a_provider_without_any_account_is_refused() {
        let toml = format!(
            "{}[providers.efundpay]\nbase_url = \"https://api.efundpay.example\"\n",
            merchant("acme", "")
        );
        let problems = build(&toml).await.err().unwrap_or_default();
        assert_eq!(keys(&problems), ["providers.efundpay"]);
        assert!(problems[0].message.contains("no account"));
    }

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

    #[tokio::test]
    async fn the_embedded_default_has_a_sandbox_section_for_every_known_provider() {
        let config =
            Config::from_toml(crate::config::EMBEDDED_DEFAULT).unwrap_or_else(|e| panic!("{e}"));
        for plugin in PLUGINS {
            let section = config.providers.get(plugin.id());
            assert_eq!(
                section
                    .and_then(|s| s.get("base_url"))
                    .and_then(|v| v.as_str()),
                Some(SANDBOX_BASE_URL),
                "{}",
                plugin.id()
            );
        }
        let registry =
            ProviderRegistry::build(&config, "http://127.0.0.1:8080", SandboxMode::CheckOnly)
                .await
                .unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(registry.ids().count(), PLUGINS.len());
    }

    #[tokio::test]
    async fn an_unknown_provider_section_names_the_known_ones() {
        let toml = format!(
            "{}[providers.paypal]\nbase_url = \"https://paypal.example\"\n",
            merchant("acme", "")
        );
        let problems = build(&toml).await.err().unwrap_or_default();
        assert_eq!(keys(&problems), ["providers.paypal"]);
        assert!(
            problems[0]
                .message
                .contains(&format!("(known: {})", known_ids())),
            "{}",
            problems[0].message
        );
    }

    #[tokio::test]
    async fn the_simulator_cap_is_only_for_in_process_simulators_and_must_be_positive() {
        let remote = format!(
            "{}[providers.authms]\nbase_url = \"https://iam.example\"\ntoken = \"t\"\nsandbox_max_refunds = 10\n",
            merchant("acme", "")
        );
        let problems = build(&remote).await.err().unwrap_or_default();
        assert_eq!(keys(&problems), ["providers.authms.sandbox_max_refunds"]);
        for bad in ["0", "-1", "\"many\""] {
            let local = format!(
                "{}[providers.authms]\nbase_url = \"sandbox\"\ntoken = \"t\"\nsandbox_max_refunds = {bad}\n",
                merchant("acme", "")
            );
            let problems = build(&local).await.err().unwrap_or_default();
            assert_eq!(
                keys(&problems),
                ["providers.authms.sandbox_max_refunds"],
                "{bad}"
            );
        }
    }

    /// Builds `toml` starting its simulators, webhooks to `public_base_url`.
    async fn start(toml: &str, public_base_url: &str) -> ProviderRegistry {
        let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("{e}"));
        ProviderRegistry::build(&config, public_base_url, SandboxMode::Start)
            .await
            .unwrap_or_else(|p| panic!("{p:?}"))
    }

    #[tokio::test]
    async fn an_in_process_simulator_keeps_at_most_its_configured_cap() {
        let section = provider_authms::PROVIDER
            .sandbox_section_toml("sandbox")
            .replace(
                "[providers.authms]\n",
                "[providers.authms]\nsandbox_max_refunds = 2\n",
            );
        let registry = start(
            &format!("{}{section}", merchant("acme", "")),
            "http://127.0.0.1:9",
        )
        .await;
        let id = ProviderId::from_static("authms");
        let adapter = registry.get(&id).cloned().expect("adapter");
        let simulator = registry.simulators().next().expect("a simulator");
        for n in 0..4 {
            let mut req = simulator.sample_request(&format!("cap{n}"));
            req.provider_reference = adapter.provider_reference(&req.refund_id);
            let refund = adapter.refund(&req).await.expect("refund");
            assert_eq!(refund.status.as_str(), "succeeded");
        }
        assert_eq!(simulator.effects().len(), 2, "{:?}", simulator.effects());
    }

    /// The paths a wiremock "gateway" received webhooks at, once `count` arrived (or 5 s).
    async fn webhook_paths(gateway: &wiremock::MockServer, count: usize) -> Vec<String> {
        for _ in 0..250 {
            let received = gateway.received_requests().await.unwrap_or_default();
            if received.len() >= count {
                return received.iter().map(|r| r.url.path().to_owned()).collect();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Vec::new()
    }

    #[tokio::test]
    async fn the_stripe_simulator_posts_to_the_default_accounts_endpoint_else_the_merchants() {
        use wiremock::{Mock, MockServer, ResponseTemplate};
        // Everything is kept to the end, so no port of one case is reused by the next.
        let mut running = Vec::new();
        for (own_account, expected_path) in [
            (false, "/v1/webhooks/stripe"),
            (true, "/v1/webhooks/stripe/acme"),
        ] {
            let gateway = MockServer::start().await;
            Mock::given(wiremock::matchers::method("POST"))
                .respond_with(ResponseTemplate::new(200))
                .mount(&gateway)
                .await;
            let sandbox = provider_stripe::PROVIDER.sandbox_section_toml("sandbox");
            let toml = if own_account {
                let credentials =
                    sandbox.replace("[providers.stripe]\nbase_url = \"sandbox\"\n", "");
                format!(
                    "{}[providers.stripe]\nbase_url = \"sandbox\"\n",
                    merchant(
                        "acme",
                        &format!("[merchants.providers.stripe]\n{credentials}")
                    )
                )
            } else {
                format!("{}{sandbox}", merchant("acme", ""))
            };
            let registry = start(&toml, &gateway.uri()).await;
            let id = ProviderId::from_static("stripe");
            let (_, adapter) = registry.for_merchant(&id, "acme").expect("an account");
            let simulator = registry.simulators().next().expect("a simulator");
            let req = simulator.sample_request("hooks");
            adapter.refund(&req).await.expect("refund");
            let paths = webhook_paths(&gateway, 1).await;
            assert!(!paths.is_empty(), "no webhook arrived");
            assert!(
                paths.iter().all(|p| p == expected_path),
                "{own_account}: {paths:?}"
            );
            running.push((gateway, registry));
        }
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

    #[test]
    fn a_connection_problem_of_a_merchant_account_is_reported_at_the_provider_section() {
        let at = |key: &str| {
            connection_problem_at_section(
                ConfigProblem::new(key, "bad"),
                "merchants[1].providers.efundpay",
                "providers.efundpay",
                provider_efundpay::ACCOUNT_FIELDS,
            )
            .key
        };
        assert_eq!(
            at("merchants[1].providers.efundpay.base_url"),
            "providers.efundpay.base_url"
        );
        assert_eq!(
            at("merchants[1].providers.efundpay.token_env"),
            "merchants[1].providers.efundpay.token_env"
        );
        assert_eq!(
            at("merchants[1].providers.efundpay"),
            "merchants[1].providers.efundpay"
        );
    }
}
