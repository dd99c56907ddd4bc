//! From TOML text to a [`Config`]: the text is parsed once into a table, each section is typed
//! on its own (a wrongly typed value is reported with its key path, and hides nothing else),
//! then each section validates itself, all into one list of problems.

use std::collections::BTreeMap;
use std::sync::Arc;

use refund_provider::{ConfigProblem, Problems};
use serde::de::DeserializeOwned;

use super::approvals::{self, RawApprovalRule};
use super::batches::RawBatches;
use super::breaker::{RawBreaker, BREAKER_KEY};
use super::callers::one_key_per_caller;
use super::database::RawDatabase;
use super::idempotency::RawIdempotency;
use super::merchants::{self, RawMerchant};
use super::operators::{self, RawOperator};
use super::provider_sections::{self, ProviderSections};
use super::retention::RawRetention;
use super::routes::{self, RawRoute};
use super::server::RawServer;
use super::statements::RawStatementFormat;
use super::sync::RawSync;
use super::telemetry::RawTelemetry;
use super::{section_keys, syntax, Config};

/// The file's top-level sections.
const SECTIONS: &[&str] = &[
    "approval_expires_after_hours",
    "approval_rules",
    "batches",
    "server",
    "database",
    "merchants",
    "operators",
    "providers",
    "routes",
    "sync",
    "idempotency",
    "retention",
    "statements",
    "telemetry",
];

/// The file as written, each section typed on its own; an array entry or statement format
/// whose type error was reported is `None`. Its `Debug` (like that of every part holding a
/// secret) names only fields known to be harmless: inline keys and secrets, provider section
/// values and a database password never print.
pub(crate) struct RawSections {
    server: RawServer,
    database: RawDatabase,
    merchants: Vec<Option<RawMerchant>>,
    /// Each merchant's `id` as written, unreadable entries included (routes refer to them).
    merchant_ids: Vec<String>,
    operators: Vec<Option<RawOperator>>,
    providers: ProviderSections,
    /// Each provider's `[providers.<name>.breaker]`, taken out of its section (`None` when
    /// its type error was reported).
    breakers: BTreeMap<String, Option<RawBreaker>>,
    routes: Vec<Option<RawRoute>>,
    sync: RawSync,
    idempotency: RawIdempotency,
    retention: RawRetention,
    statements: BTreeMap<String, Option<RawStatementFormat>>,
    telemetry: RawTelemetry,
    approval_rules: Vec<Option<RawApprovalRule>>,
    approval_expires_after_hours: Option<i64>,
    batches: RawBatches,
}

impl std::fmt::Debug for RawSections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSections")
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
            .field("telemetry", &self.telemetry)
            .field("approval_rules", &self.approval_rules)
            .field(
                "approval_expires_after_hours",
                &self.approval_expires_after_hours,
            )
            .field("batches", &self.batches)
            .finish()
    }
}

/// Reads `text` as far as it goes: the configuration (defaults where a value was refused)
/// and every problem found.
pub(crate) fn read(text: &str) -> (Config, Vec<ConfigProblem>) {
    let mut problems = Problems::default();
    let raw = RawSections::parse(text, &mut problems);
    let config = raw.validate(&mut problems);
    (config, problems.0)
}

impl RawSections {
    /// Parses `text` and types each section; a syntax error leaves every section empty.
    pub(crate) fn parse(text: &str, problems: &mut Problems) -> Self {
        let table = text.parse::<toml::Table>().unwrap_or_else(|e| {
            problems.push(syntax::error_key(text, &e), e.message());
            toml::Table::new()
        });
        Self::from_table(table, problems)
    }

    fn from_table(mut table: toml::Table, problems: &mut Problems) -> Self {
        for name in table.keys().filter(|k| !SECTIONS.contains(&k.as_str())) {
            let error =
                <serde::de::value::Error as serde::de::Error>::unknown_field(name, SECTIONS);
            problems.push(name.clone(), error.to_string());
        }
        let mut section = |name: &str| table.remove(name);
        let server = optional(problems, "server", section("server"));
        let database = optional(problems, "database", section("database"));
        let merchants = entries(problems, "merchants", section("merchants"));
        let merchant_ids = merchants
            .iter()
            .map(|m| {
                m.get("id")
                    .and_then(toml::Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        let merchants = each(problems, "merchants", merchants);
        let operators = entries(problems, "operators", section("operators"));
        let operators = each(problems, "operators", operators);
        let mut providers: ProviderSections = optional(problems, "providers", section("providers"));
        let breakers = take_breakers(problems, &mut providers);
        let routes = entries(problems, "routes", section("routes"));
        let routes = each(problems, "routes", routes);
        let sync = optional(problems, "sync", section("sync"));
        let idempotency = optional(problems, "idempotency", section("idempotency"));
        let retention = optional(problems, "retention", section("retention"));
        let telemetry = optional(problems, "telemetry", section("telemetry"));
        let approval_rules = entries(problems, "approval_rules", section("approval_rules"));
        let approval_rules = each(problems, "approval_rules", approval_rules);
        let approval_expires_after_hours = section("approval_expires_after_hours")
            .and_then(|value| typed(problems, "approval_expires_after_hours", value));
        let batches = optional(problems, "batches", section("batches"));
        let statements: BTreeMap<String, toml::Value> =
            optional(problems, "statements", section("statements"));
        let statements = statements
            .into_iter()
            .map(|(name, value)| {
                let format = typed(problems, &format!("statements.{name}"), value);
                (name, format)
            })
            .collect();
        Self {
            server,
            database,
            merchants,
            merchant_ids,
            operators,
            providers,
            breakers,
            routes,
            sync,
            idempotency,
            retention,
            statements,
            telemetry,
            approval_rules,
            approval_expires_after_hours,
            batches,
        }
    }

    /// Validates every section in turn, then what spans sections (one key per caller,
    /// provider timeouts against the sync grace, statement formats of known providers).
    pub(crate) fn validate(self, problems: &mut Problems) -> Config {
        let server = self.server.validate(problems);
        let database = self.database.validate(problems);
        provider_sections::check_names(problems, &self.providers);
        let (merchants, mut callers): (Vec<_>, Vec<_>) = merchants::validate_all(
            problems,
            self.merchants,
            &self.merchant_ids,
            &self.providers,
        )
        .into_iter()
        .unzip();
        let (operators, operator_keys) = operators::validate_all(problems, self.operators);
        callers.extend(operator_keys);
        one_key_per_caller(problems, &callers);
        let routes =
            routes::validate_all(problems, self.routes, &self.merchant_ids, &self.providers);
        let sync = self.sync.validate(problems);
        let idempotency = self.idempotency.validate(problems);
        let retention = self.retention.validate(problems);
        provider_sections::timeouts_within_grace(problems, &self.providers, sync.not_found_grace);
        let mut raw_breakers = self.breakers;
        let mut breakers = BTreeMap::new();
        for name in self.providers.keys() {
            let breaker = match raw_breakers.remove(name) {
                Some(Some(raw)) => raw.validate(problems, name),
                _ => super::BreakerConfig::default(),
            };
            breakers.insert(name.clone(), breaker);
        }
        let mut statements = BTreeMap::new();
        for (name, format) in self.statements {
            let key = format!("statements.{name}");
            provider_sections::known(problems, &self.providers, key, &name);
            if let Some(format) = format.and_then(|f| f.validate(&name, &mut problems.0)) {
                statements.insert(name, Arc::new(format));
            }
        }
        let telemetry = self.telemetry.validate(problems);
        let approval_rules = approvals::validate_all(
            problems,
            self.approval_rules,
            &self.merchant_ids,
            &self.providers,
        );
        let approval_expires_after =
            approvals::expires_after(problems, self.approval_expires_after_hours);
        let batches = self.batches.validate(problems);
        Config {
            server,
            database,
            merchants,
            operators,
            providers: self.providers,
            breakers,
            routes,
            sync,
            idempotency,
            retention,
            statements,
            telemetry,
            approval_rules,
            approval_expires_after,
            batches,
        }
    }
}

/// Takes each provider's `breaker` table out of its section (the gateway's, not the
/// adapter's: see `config/breaker.rs`), typed at `providers.<name>.breaker`.
fn take_breakers(
    problems: &mut Problems,
    providers: &mut ProviderSections,
) -> BTreeMap<String, Option<RawBreaker>> {
    let mut breakers = BTreeMap::new();
    for (name, section) in providers.iter_mut() {
        let Some(table) = section.as_table_mut() else {
            continue;
        };
        if let Some(value) = table.remove(BREAKER_KEY) {
            let key = format!("providers.{name}.{BREAKER_KEY}");
            breakers.insert(name.clone(), typed(problems, &key, value));
        }
    }
    breakers
}

/// `value` typed as `T`, or `None` with its type error reported at `key` plus the path
/// inside it (`merchants[0].webhook_secrets[1]`).
fn typed<T: DeserializeOwned>(problems: &mut Problems, key: &str, value: toml::Value) -> Option<T> {
    match serde_path_to_error::deserialize(value) {
        Ok(typed) => Some(typed),
        Err(error) => {
            let path = error.path().to_string();
            let at = match path.as_str() {
                "." => key.to_owned(),
                inner if inner.starts_with('[') => format!("{key}{inner}"),
                inner => format!("{key}.{inner}"),
            };
            problems.push(at, error.inner().message());
            None
        }
    }
}

/// An optional section typed as `T`; its default when absent or refused.
fn optional<T: DeserializeOwned + Default>(
    problems: &mut Problems,
    key: &str,
    value: Option<toml::Value>,
) -> T {
    value
        .and_then(|value| typed(problems, key, value))
        .unwrap_or_default()
}

/// The entries of an array of tables (`[[merchants]]`), not yet typed.
fn entries(problems: &mut Problems, key: &str, value: Option<toml::Value>) -> Vec<toml::Value> {
    optional(problems, key, value)
}

/// Each entry typed on its own, at its index: one entry's type error hides no other.
fn each<T: DeserializeOwned>(
    problems: &mut Problems,
    key: &str,
    entries: Vec<toml::Value>,
) -> Vec<Option<T>> {
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| typed(problems, &format!("{key}[{i}]"), entry))
        .collect()
}
