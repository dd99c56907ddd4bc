//! The pieces the contract's tables are written with: parameter and field formats (printable
//! ASCII, amounts, currencies, date-times, providers), references, and the shape of one
//! operation's entry.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use refund_provider::Currency;

use crate::providers::PLUGINS;

/// One operation's entry in the contract: what it takes and what it answers.
pub(super) struct Operation {
    /// Its path, query and header parameters.
    pub(super) parameters: Vec<Value>,
    /// Its request body, if it takes one.
    pub(super) body: Option<Value>,
    /// Its success answers, by status.
    pub(super) ok: Value,
    /// The error statuses it may answer (each one of `ERROR_ANSWERS`).
    pub(super) errors: &'static [u16],
    pub(super) security: Security,
}

/// Whether an operation needs an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Security {
    /// `Authorization: Bearer <key>`, a merchant's or an operator's.
    Bearer,
    /// No key: the provider's signature, or nothing (the probes).
    Open,
}

/// 1-N printable ASCII characters (space to tilde), what `is_printable_ascii` admits.
pub(super) fn printable(max: u32) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": format!("^[ -~]{{1,{max}}}$")})
}

/// `schema` that refuses `.` and `..` (ids a provider's URL path carries, DESIGN §16).
pub(super) fn not_a_dot_segment(mut schema: Value) -> Value {
    if let Some(map) = schema.as_object_mut() {
        map.insert("not".into(), json!({"enum": [".", ".."]}));
    }
    schema
}

/// Like [`printable`], or `null` (optional body fields take `null` as absent).
pub(super) fn nullable(mut schema: Value) -> Value {
    if let Some(map) = schema.as_object_mut() {
        if let Some(kind) = map.get("type").cloned() {
            map.insert("type".into(), json!([kind, "null"]));
        }
        if let Some(values) = map.get_mut("enum").and_then(Value::as_array_mut) {
            values.push(Value::Null);
        }
    }
    schema
}

/// Every ISO 4217 code `Currency::parse` admits (active, with an exponent), computed from
/// the same table rather than listed by hand.
pub(super) fn currency_codes() -> &'static [&'static str] {
    static CODES: OnceLock<Vec<&'static str>> = OnceLock::new();
    CODES.get_or_init(|| {
        let letters = b'A'..=b'Z';
        let mut codes = Vec::new();
        for a in letters.clone() {
            for b in letters.clone() {
                for c in letters.clone() {
                    let code = [a, b, c];
                    let text = std::str::from_utf8(&code).unwrap_or_default();
                    if let Ok(currency) = Currency::parse(text) {
                        codes.push(currency.code());
                    }
                }
            }
        }
        codes
    })
}

pub(super) fn currency() -> Value {
    json!({"type": "string", "enum": currency_codes(),
           "description": "An active ISO 4217 code, upper case"})
}

/// A decimal string in major units: no sign, no exponent, at most 12 integer digits and at
/// most the currency's exponent of decimals (none for JPY, 2 for EUR, 3 for KWD), not zero.
pub(super) fn amount(what: &str) -> Value {
    json!({"type": ["string", "null"], "pattern": "^[0-9]{1,12}(\\.[0-9]{1,3})?$",
           "description": format!("{what}: a decimal string in major units such as \"12.99\", with at most the currency's exponent of decimals (0 for JPY, 2 for EUR, 3 for KWD), never zero; JSON numbers are refused"),
           "examples": ["12.99"]})
}

/// Text without control characters, `min`-`max` characters.
pub(super) fn text(min: u32, max: u32) -> Value {
    json!({"type": "string", "minLength": min, "maxLength": max,
           "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"})
}

pub(super) fn date_time(description: &str) -> Value {
    json!({"type": "string", "format": "date-time", "description": description,
           "examples": ["2026-11-23T10:00:00Z"]})
}

pub(super) fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

pub(super) fn path(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": schema, "description": description})
}

pub(super) fn merchant_query() -> Value {
    query(
        "merchant",
        json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
        "Operators: only this merchant's data. A merchant key may name only itself (another merchant is 403 operator_only).",
    )
}

pub(super) fn limit_query(default: u32) -> Value {
    query(
        "limit",
        json!({"type": "integer", "minimum": 1, "maximum": 100, "default": default}),
        &format!("Items per page, 1-100 (default {default})"),
    )
}

/// Every provider the gateway knows (the registry's plugins).
pub(super) fn providers() -> Value {
    let ids: Vec<&str> = PLUGINS.iter().map(|plugin| plugin.id()).collect();
    json!({"type": "string", "enum": ids})
}

/// `provider_options`: each provider's own schema, from its plugin.
pub(super) fn provider_options() -> Value {
    let properties: Map<String, Value> = PLUGINS
        .iter()
        .map(|plugin| (plugin.id().to_owned(), plugin.options_schema()))
        .collect();
    json!({
        "type": ["object", "null"],
        "description": "Options per provider, keyed by provider id; only those of the provider the refund goes to are used, but every provider's are checked (a mistake in any is 400 parameter_invalid at its path, and so is a key that names no provider)",
        "properties": properties,
        "additionalProperties": false,
    })
}

pub(super) fn refund_id_path() -> Value {
    path(
        "id",
        json!({"type": "string", "examples": ["rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e"]}),
        "Refund id (rf_ and 32 lowercase hex digits); anything else is 404 refund_not_found",
    )
}

pub(super) fn json_body(schema_name: &str, description: &str) -> Value {
    json!({"required": true, "description": description,
           "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema_name}")}}}})
}

pub(super) fn answer(description: &str, content_type: &str, schema: Value) -> Value {
    json!({"description": description, "content": {content_type: {"schema": schema}}})
}

pub(super) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_currency_enum_is_what_the_money_parser_admits() {
        let codes = currency_codes();
        for code in ["EUR", "JPY", "KWD", "CNY", "THB", "CLP"] {
            assert!(codes.contains(&code), "{code}");
        }
        for refused in ["XAU", "XTS", "XXX"] {
            assert!(!codes.contains(&refused), "{refused}");
        }
        assert!(codes.len() > 140, "{}", codes.len());
    }
}
