//! The provider registry: builds each configured adapter from its `[providers.<name>]`
//! section (one match arm per provider) and, for `base_url = "sandbox"`, starts that
//! provider's simulator in-process on a loopback port of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use refund_provider::{BuildContext, ConfigProblem, ProviderId, RefundProvider};
use serde::Deserialize;

use crate::config::{Config, SANDBOX_BASE_URL};

/// Keeps in-process simulators running for as long as the registry lives.
type SandboxGuard = Box<dyn std::any::Any + Send + Sync>;

/// The configured providers, by id.
#[derive(Default)]
pub struct ProviderRegistry {
    providers: BTreeMap<ProviderId, Arc<dyn RefundProvider>>,
    sandboxes: Vec<(ProviderId, String, SandboxGuard)>,
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
pub enum SandboxMode {
    Start,
    CheckOnly,
}

impl ProviderRegistry {
    pub fn get(&self, id: &ProviderId) -> Option<&Arc<dyn RefundProvider>> {
        self.providers.get(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &ProviderId> {
        self.providers.keys()
    }

    /// Adds or replaces a provider (tests and embedders).
    pub fn insert(&mut self, provider: Arc<dyn RefundProvider>) {
        self.providers.insert(provider.id(), provider);
    }

    /// `(provider, base_url)` of each simulator this registry started.
    pub fn sandbox_urls(&self) -> Vec<(ProviderId, String)> {
        self.sandboxes
            .iter()
            .map(|(id, url, _)| (id.clone(), url.clone()))
            .collect()
    }

    /// Builds every configured provider, reporting every problem with its key path.
    pub async fn build(
        config: &Config,
        public_base_url: &str,
        mode: SandboxMode,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let mut registry = Self::default();
        let mut problems = Vec::new();
        for (name, section) in &config.providers {
            let ctx = BuildContext::new(format!("providers.{name}"), public_base_url);
            let mut section = section.clone();
            let wants_sandbox =
                section.get("base_url").and_then(|v| v.as_str()) == Some(SANDBOX_BASE_URL);
            if wants_sandbox {
                let url = match mode {
                    SandboxMode::CheckOnly => "http://127.0.0.1:9".to_owned(),
                    SandboxMode::Start => match start_sandbox(name).await {
                        Ok((url, guard)) => {
                            if let Ok(id) = ProviderId::parse(name) {
                                registry.sandboxes.push((id, url.clone(), guard));
                            }
                            url
                        }
                        Err(problem) => {
                            problems.push(problem);
                            continue;
                        }
                    },
                };
                if let Some(table) = section.as_table_mut() {
                    table.insert("base_url".into(), toml::Value::String(url));
                }
            }
            match build_one(name, section, &ctx) {
                Ok(provider) => registry.insert(provider),
                Err(mut found) => problems.append(&mut found),
            }
        }
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(problems)
        }
    }
}

fn settings<'de, T: Deserialize<'de>>(
    section: toml::Value,
    ctx: &BuildContext,
) -> Result<T, Vec<ConfigProblem>> {
    T::deserialize(section)
        .map_err(|e| vec![ConfigProblem::new(ctx.section.clone(), e.to_string())])
}

/// One match arm per provider: the only place the gateway names an adapter crate.
fn build_one(
    name: &str,
    section: toml::Value,
    ctx: &BuildContext,
) -> Result<Arc<dyn RefundProvider>, Vec<ConfigProblem>> {
    match name {
        "authms" => Ok(Arc::new(
            settings::<provider_authms::AuthMsSettings>(section, ctx)?.build(ctx)?,
        )),
        "ebuy" => Ok(Arc::new(
            settings::<provider_ebuy::EbuySettings>(section, ctx)?.build(ctx)?,
        )),
        "efundpay" => Ok(Arc::new(
            settings::<provider_efundpay::EfundpaySettings>(section, ctx)?.build(ctx)?,
        )),
        other => Err(vec![ConfigProblem::new(
            format!("providers.{other}"),
            "unknown provider (known: authms, ebuy, efundpay)",
        )]),
    }
}

/// Starts one provider's simulator on a free loopback port.
async fn start_sandbox(name: &str) -> Result<(String, SandboxGuard), ConfigProblem> {
    let problem = |e: std::io::Error| {
        ConfigProblem::new(
            format!("providers.{name}.base_url"),
            format!("cannot start the sandbox: {e}"),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(problem)?;
    match name {
        "authms" => {
            let sandbox = provider_authms::sandbox::Sandbox::start(listener, Default::default())
                .await
                .map_err(problem)?;
            Ok((sandbox.base_url(), Box::new(sandbox)))
        }
        "ebuy" => {
            let sandbox = provider_ebuy::sandbox::Sandbox::start(listener, Default::default())
                .await
                .map_err(problem)?;
            Ok((sandbox.base_url(), Box::new(sandbox)))
        }
        "efundpay" => {
            let sandbox = provider_efundpay::sandbox::Sandbox::start(listener, Default::default())
                .await
                .map_err(problem)?;
            Ok((sandbox.base_url(), Box::new(sandbox)))
        }
        other => Err(ConfigProblem::new(
            format!("providers.{other}.base_url"),
            "this provider has no sandbox",
        )),
    }
}
