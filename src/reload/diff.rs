//! What a reload changes, read from the two files as TOML tables: the sections that differ
//! (with the ids of the merchants and operators added, removed or changed, and the provider
//! sections changed), and the keys that only a restart applies. It names sections, keys and
//! ids, never a value: secrets live in those tables.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

/// `[server]` keys the running server fixed at start (the listener, the connection loop, the
/// router's timeout layer, the log format): a change is reported, and applied at the next
/// start.
pub(crate) const RESTART_SERVER_KEYS: &[&str] = &[
    "listen",
    "request_timeout_ms",
    "header_read_timeout_ms",
    "max_connections",
    "log_format",
];

/// Sections only a restart applies as a whole: the store, and the trace exporter installed
/// at start.
pub(crate) const RESTART_SECTIONS: &[&str] = &["database", "telemetry"];

/// What differs between two configuration files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Top-level sections whose applied keys differ, in file order of the gateway's sections.
    pub sections: Vec<String>,
    /// What needs a restart: `database`, `telemetry` or `server.<key>`.
    pub restart_required: Vec<String>,
    /// Per section of entries with ids (`merchants`, `operators`) and `providers`: the
    /// ids added, removed and changed.
    pub entries: Map<String, Value>,
}

impl Changes {
    /// True when nothing a reload applies has changed.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// The audit entry's detail (and the log's): sections and ids, never a value.
    pub fn detail(&self, generation: Option<u64>) -> Value {
        let mut detail = Map::new();
        if let Some(generation) = generation {
            detail.insert("generation".into(), json!(generation));
        }
        detail.insert("sections".into(), json!(self.sections));
        detail.insert("restart_required".into(), json!(self.restart_required));
        for (section, ids) in &self.entries {
            detail.insert(section.clone(), ids.clone());
        }
        Value::Object(detail)
    }
}

/// The changes from `old` to `new`.
pub(crate) fn changes(old: &toml::Table, new: &toml::Table) -> Changes {
    let mut out = Changes::default();
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        let (before, after) = (old.get(name.as_str()), new.get(name.as_str()));
        if before == after {
            continue;
        }
        if RESTART_SECTIONS.contains(&name.as_str()) {
            out.restart_required.push(name.clone());
            continue;
        }
        if name == "server" {
            let (applied, restart) = server_changes(before, after);
            out.restart_required
                .extend(restart.into_iter().map(|key| format!("server.{key}")));
            if !applied {
                continue;
            }
        }
        match name.as_str() {
            "merchants" | "operators" => {
                out.entries
                    .insert(name.clone(), by_id(before, after, id_of));
            }
            "providers" => {
                out.entries.insert(name.clone(), by_key(before, after));
            }
            _ => {}
        }
        out.sections.push(name.clone());
    }
    out
}

/// Whether `[server]` changed in a key a reload applies, and the restart-only keys changed.
fn server_changes(
    before: Option<&toml::Value>,
    after: Option<&toml::Value>,
) -> (bool, Vec<String>) {
    let empty = toml::Table::new();
    let table = |v: Option<&toml::Value>| v.and_then(toml::Value::as_table).cloned();
    let (before, after) = (
        table(before).unwrap_or_else(|| empty.clone()),
        table(after).unwrap_or(empty),
    );
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut applied = false;
    let mut restart = Vec::new();
    for key in keys {
        if before.get(key.as_str()) == after.get(key.as_str()) {
            continue;
        }
        if RESTART_SERVER_KEYS.contains(&key.as_str()) {
            restart.push(key.clone());
        } else {
            applied = true;
        }
    }
    (applied, restart)
}

fn id_of(entry: &toml::Value) -> Option<String> {
    entry
        .get("id")
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
}

/// Entries of an array of tables matched by id: `{"added", "removed", "changed"}`.
fn by_id(
    before: Option<&toml::Value>,
    after: Option<&toml::Value>,
    id: impl Fn(&toml::Value) -> Option<String>,
) -> Value {
    let list = |v: Option<&toml::Value>| -> Vec<(String, toml::Value)> {
        v.and_then(toml::Value::as_array)
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|e| Some((id(e)?, e.clone())))
                    .collect()
            })
            .unwrap_or_default()
    };
    compare(&list(before), &list(after))
}

/// Keys of a table (`[providers.<name>]`): `{"added", "removed", "changed"}`.
fn by_key(before: Option<&toml::Value>, after: Option<&toml::Value>) -> Value {
    let list = |v: Option<&toml::Value>| -> Vec<(String, toml::Value)> {
        v.and_then(toml::Value::as_table)
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    compare(&list(before), &list(after))
}

fn compare(before: &[(String, toml::Value)], after: &[(String, toml::Value)]) -> Value {
    let find = |list: &[(String, toml::Value)], id: &str| {
        list.iter().find(|(k, _)| k == id).map(|(_, v)| v.clone())
    };
    let added: Vec<&str> = after
        .iter()
        .filter(|(id, _)| find(before, id).is_none())
        .map(|(id, _)| id.as_str())
        .collect();
    let removed: Vec<&str> = before
        .iter()
        .filter(|(id, _)| find(after, id).is_none())
        .map(|(id, _)| id.as_str())
        .collect();
    let changed: Vec<&str> = after
        .iter()
        .filter(|(id, value)| find(before, id).is_some_and(|old| old != *value))
        .map(|(id, _)| id.as_str())
        .collect();
    json!({"added": added, "removed": removed, "changed": changed})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sections_ids_and_restart_keys_are_named_and_no_value_is() {
        let old = table(
            r#"
            [server]
            listen = "127.0.0.1:1"
            rate_limit_per_second = 10
            [database]
            url = "sqlite://a.db"
            [[merchants]]
            id = "acme"
            api_key = "sk_old_secret"
            [[merchants]]
            id = "globex"
            api_key = "sk_globex"
            [[routes]]
            provider = "efundpay"
            "#,
        );
        let new = table(
            r#"
            [server]
            listen = "127.0.0.1:2"
            rate_limit_per_second = 10
            [database]
            url = "sqlite://b.db"
            [[merchants]]
            id = "acme"
            api_key = "sk_new_secret"
            [[merchants]]
            id = "initech"
            api_key = "sk_initech"
            [[routes]]
            provider = "efundpay"
            "#,
        );
        let changes = changes(&old, &new);
        assert_eq!(changes.sections, ["merchants"]);
        assert_eq!(changes.restart_required, ["database", "server.listen"]);
        let detail = changes.detail(Some(2));
        assert_eq!(
            detail["merchants"],
            json!({"added": ["initech"], "removed": ["globex"], "changed": ["acme"]})
        );
        let shown = detail.to_string();
        assert!(!shown.contains("sk_"), "{shown}");
    }

    #[test]
    fn the_same_file_changes_nothing() {
        let text = "[server]\nrate_limit_per_second = 5\n[[routes]]\nprovider = \"x\"\n";
        assert!(changes(&table(text), &table(text)).is_empty());
    }

    #[test]
    fn a_rate_limit_change_is_applied_and_a_timeout_change_waits_for_a_restart() {
        let old = table("[server]\nrate_limit_per_second = 5\nmax_connections = 10\n");
        let new = table("[server]\nrate_limit_per_second = 6\nmax_connections = 11\n");
        let changes = changes(&old, &new);
        assert_eq!(changes.sections, ["server"]);
        assert_eq!(changes.restart_required, ["server.max_connections"]);
    }
}
