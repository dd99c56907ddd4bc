//! Building the registry from the configuration: for each `[providers.<name>]` section, its
//! gateway keys (`shared_account`, `trust_*`, `sandbox_max_refunds`), the in-process
//! simulator for `base_url = "sandbox"` (kept from the previous registry when asked for
//! with the same options), the default account, each merchant's own account, and who the
//! default account would serve. Every problem is reported with its key path; the rules
//! are in the module doc of `crate::providers`.

use std::sync::Arc;

use refund_provider::{
    BuildContext, ConfigProblem, ProviderId, ProviderPlugin, RefundProvider, Simulator,
    SimulatorOptions, Trust,
};

use super::{known_ids, plugin, ProviderAccounts, ProviderRegistry, RunningSandbox, SandboxMode};
use crate::config::{Config, SANDBOX_BASE_URL};

/// The gateway's own keys in a provider section (not passed to the adapter).
const SHARED_ACCOUNT_KEY: &str = "shared_account";
const SANDBOX_MAX_REFUNDS_KEY: &str = "sandbox_max_refunds";
/// What a section trusts beyond its adapter's declared proofs (DESIGN §16), for whoever
/// holds that provider's written confirmation.
const TRUST_NOT_FOUND_KEY: &str = "trust_not_found";
const TRUST_RESEND_KEY: &str = "trust_resend";

/// One `[providers.<name>]` section being built: what every step reads.
struct Section<'a> {
    config: &'a Config,
    public_base_url: &'a str,
    name: &'a str,
    /// `providers.<name>`, where its problems are reported.
    key: String,
    plugin: &'static dyn ProviderPlugin,
    /// The rest of the section, without the gateway's own keys.
    table: toml::Table,
}

impl ProviderRegistry {
    /// Builds every configured provider account (see the module doc), reusing the
    /// simulators of `previous` started with the same options.
    pub(super) async fn build_keeping(
        config: &Config,
        public_base_url: &str,
        mode: SandboxMode,
        previous: Option<&ProviderRegistry>,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let mut registry = Self::default();
        let mut problems = Vec::new();
        for (name, section) in &config.providers {
            let key = format!("providers.{name}");
            let Some(plugin) = plugin(name) else {
                problems.push(ConfigProblem::new(
                    key,
                    format!("unknown provider (known: {})", known_ids()),
                ));
                continue;
            };
            let Some(table) = section.as_table().cloned() else {
                problems.push(ConfigProblem::new(key, "must be a table"));
                continue;
            };
            let section = Section {
                config,
                public_base_url,
                name,
                key,
                plugin,
                table,
            };
            registry
                .build_section(section, mode, previous, &mut problems)
                .await;
        }
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(problems)
        }
    }

    /// Builds the accounts of one provider section into the registry.
    async fn build_section(
        &mut self,
        mut section: Section<'_>,
        mode: SandboxMode,
        previous: Option<&ProviderRegistry>,
        problems: &mut Vec<ConfigProblem>,
    ) {
        let shared = section.take_flag(SHARED_ACCOUNT_KEY, problems);
        let trust = Trust {
            not_found: section.take_flag(TRUST_NOT_FOUND_KEY, problems),
            resend: section.take_flag(TRUST_RESEND_KEY, problems),
        };
        if let Some(warning) = trust_warning(section.name, &section.key, trust) {
            self.warnings.push(warning);
        }
        let is_sandbox =
            section.table.get("base_url").and_then(|v| v.as_str()) == Some(SANDBOX_BASE_URL);
        let max_refunds = section.sandbox_max_refunds(is_sandbox, problems);
        // The default account, when the section gives any account field.
        let has_default = section.has_default_account();
        if is_sandbox {
            let url = match mode {
                SandboxMode::CheckOnly => "http://127.0.0.1:9".to_owned(),
                SandboxMode::Start => {
                    match self
                        .sandbox(&section, has_default, max_refunds, previous)
                        .await
                    {
                        Ok(url) => url,
                        Err(problem) => {
                            problems.push(problem);
                            return;
                        }
                    }
                }
            };
            section
                .table
                .insert("base_url".into(), toml::Value::String(url));
        }
        let Ok(id) = ProviderId::parse(section.name) else {
            return; // reported by the config's own validation
        };
        let entry = self.providers.entry(id.clone()).or_default();
        entry.trust = trust;
        if has_default {
            let ctx = BuildContext::new(section.key.clone(), section.public_base_url);
            match build_one(
                section.plugin,
                toml::Value::Table(section.table.clone()),
                &ctx,
            ) {
                Ok(provider) => entry.default = Some(provider),
                Err(mut found) => problems.append(&mut found),
            }
        }
        section.build_merchant_accounts(entry, problems);
        if has_default {
            self.check_default_account_use(&section, &id, shared, problems);
        } else if !section.any_merchant_account() {
            problems.push(ConfigProblem::new(
                section.key.clone(),
                format!(
                    "no account: give the account fields ({}) here or in a merchant's [merchants.providers.{}]",
                    section.plugin.account_fields().join(", "),
                    section.name
                ),
            ));
        }
    }

    /// The base URL of the section's in-process simulator: the one of `previous` started
    /// with the same options, else a new one. Its webhooks go to the default account's
    /// endpoint, else to the first merchant account's.
    async fn sandbox(
        &mut self,
        section: &Section<'_>,
        has_default: bool,
        max_refunds: Option<usize>,
        previous: Option<&ProviderRegistry>,
    ) -> Result<String, ConfigProblem> {
        let name = section.name;
        let endpoint_owner = if has_default {
            None
        } else {
            section
                .config
                .merchants
                .iter()
                .find(|m| m.accounts.contains_key(name))
                .map(|m| m.id.clone())
        };
        let mut ctx = BuildContext::new(section.key.clone(), section.public_base_url);
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
                .find(|r| r.provider == name && r.options == options)
                .map(|r| r.simulator.clone())
        });
        let simulator = match kept {
            Some(simulator) => simulator,
            None => Arc::from(start_sandbox(section.plugin, options.clone()).await?),
        };
        let url = simulator.base_url();
        self.sandboxes.push(RunningSandbox {
            provider: name.to_owned(),
            options,
            simulator,
        });
        Ok(url)
    }

    /// A default account that would serve two or more merchants (those without an account
    /// of their own) is a problem, or a warning where the section says
    /// `shared_account = true`.
    fn check_default_account_use(
        &mut self,
        section: &Section<'_>,
        id: &ProviderId,
        shared: bool,
        problems: &mut Vec<ConfigProblem>,
    ) {
        let name = section.name;
        let served: Vec<&str> = section
            .config
            .merchants
            .iter()
            .filter(|m| m.may_use(id) && !m.accounts.contains_key(name))
            .map(|m| m.id.as_str())
            .collect();
        if served.len() < 2 {
            return;
        }
        let who = served.join(", ");
        if shared {
            self.warnings.push(ConfigProblem::new(
                section.key.clone(),
                format!(
                    "the default {name} account is shared by merchants {who}: each payment on it belongs to the merchant that first refunds it"
                ),
            ));
        } else {
            problems.push(ConfigProblem::new(
                section.key.clone(),
                format!(
                    "the default {name} account would serve merchants {who}: give each its own [merchants.providers.{name}] account, or set shared_account = true"
                ),
            ));
        }
    }
}

impl Section<'_> {
    /// Removes the boolean `key` from the section (absent is `false`); anything but a
    /// boolean is a problem at its key path.
    fn take_flag(&mut self, key: &str, problems: &mut Vec<ConfigProblem>) -> bool {
        match self.table.remove(key) {
            None => false,
            Some(toml::Value::Boolean(flag)) => flag,
            Some(_) => {
                problems.push(ConfigProblem::new(
                    format!("{}.{key}", self.key),
                    "must be true or false",
                ));
                false
            }
        }
    }

    /// Removes `sandbox_max_refunds`: a positive integer, and only for an in-process
    /// simulator.
    fn sandbox_max_refunds(
        &mut self,
        is_sandbox: bool,
        problems: &mut Vec<ConfigProblem>,
    ) -> Option<usize> {
        let problem = |message: &str| {
            ConfigProblem::new(format!("{}.{SANDBOX_MAX_REFUNDS_KEY}", self.key), message)
        };
        match (self.table.remove(SANDBOX_MAX_REFUNDS_KEY), is_sandbox) {
            (None, _) => None,
            (Some(toml::Value::Integer(n)), true) if n > 0 => usize::try_from(n).ok(),
            (Some(_), true) => {
                problems.push(problem("must be a positive integer"));
                None
            }
            (Some(_), false) => {
                problems.push(problem(
                    "only for an in-process simulator (base_url = \"sandbox\")",
                ));
                None
            }
        }
    }

    /// Whether the section gives any account field (so it has a default account).
    fn has_default_account(&self) -> bool {
        let account_fields = self.plugin.account_fields();
        self.table
            .keys()
            .any(|k| account_fields.contains(&k.as_str()))
    }

    /// Whether some merchant has an account of its own with this provider.
    fn any_merchant_account(&self) -> bool {
        self.config
            .merchants
            .iter()
            .any(|m| m.accounts.contains_key(self.name))
    }

    /// Each merchant's own account: the shared connection (the section without its
    /// account fields) plus the merchant's account fields, and nothing else.
    fn build_merchant_accounts(
        &self,
        entry: &mut ProviderAccounts,
        problems: &mut Vec<ConfigProblem>,
    ) {
        let (name, account_fields) = (self.name, self.plugin.account_fields());
        let connection: toml::Table = self
            .table
            .iter()
            .filter(|(k, _)| !account_fields.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (i, merchant) in self.config.merchants.iter().enumerate() {
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
            let ctx = BuildContext::new(merchant_key.clone(), self.public_base_url)
                .for_merchant(merchant.id.clone());
            match build_one(self.plugin, toml::Value::Table(merged), &ctx) {
                Ok(provider) => {
                    entry.merchants.insert(merchant.id.clone(), provider);
                }
                Err(found) => {
                    for problem in found {
                        let problem = connection_problem_at_section(
                            problem,
                            &merchant_key,
                            &self.key,
                            account_fields,
                        );
                        if !problems.contains(&problem) {
                            problems.push(problem);
                        }
                    }
                }
            }
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
    use crate::providers::{Account, PLUGINS};

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
        let text = include_str!("../../config/production.example.toml");
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
