//! The e-Buy envelope signature (DESIGN §7), the one place it is computed: for requests we
//! send and for answers we verify.
//!
//! The document names `signType: "sha256"` but not the string that is hashed; this is our
//! canonical rule, pinned by the vectors in `fixtures/ebuy/signature-vectors.json` (computed
//! by an independent Python implementation, `fixtures/ebuy/sign_vectors.py`):
//!
//! 1. take every top-level field of the envelope except `sign`; drop those that are `null`
//!    or `""`;
//! 2. sort them by key, in byte order;
//! 3. render each value: a string as itself, a number or boolean as its JSON text, an object
//!    or array as canonical JSON (keys sorted by byte order at every depth, no whitespace,
//!    non-ASCII characters as raw UTF-8, never `\u` escapes);
//! 4. join as `key=value` with `&`, then append `&key=` and the app secret;
//! 5. `sign` is the lowercase hex SHA-256 of that UTF-8 string.
//!
//! Signing works on the `serde_json::Value` that is then serialised and sent, so the
//! signature always covers exactly the JSON on the wire.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The envelope field that carries the signature.
pub const SIGN_FIELD: &str = "sign";
/// The only `signType` e-Buy documents.
pub const SIGN_TYPE: &str = "sha256";

/// Why an answer's signature could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the envelope is not a JSON object")]
    NotAnObject,
    #[error("`sign` is not a string")]
    SignNotAString,
    #[error("`signType` is `{0}`, only sha256 is supported")]
    UnsupportedSignType(String),
    #[error("`sign` does not match the envelope")]
    Mismatch,
}

/// The string that is hashed: `k1=v1&k2=v2&...&key=<secret>`. Exposed for the test vectors;
/// it contains the secret, so it must never be logged.
pub fn signing_string(envelope: &Map<String, Value>, secret: &str) -> String {
    let mut fields: Vec<(&String, &Value)> = envelope
        .iter()
        .filter(|(key, value)| key.as_str() != SIGN_FIELD && !is_blank(value))
        .collect();
    fields.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (key, value) in fields {
        out.push_str(key);
        out.push('=');
        render_top_level(value, &mut out);
        out.push('&');
    }
    out.push_str("key=");
    out.push_str(secret);
    out
}

/// The lowercase hex SHA-256 signature of an envelope (its `sign` field, if any, ignored).
pub fn sign(envelope: &Map<String, Value>, secret: &str) -> String {
    hex::encode(Sha256::digest(signing_string(envelope, secret).as_bytes()))
}

/// Signs an envelope in place: computes the signature and sets its `sign` field.
pub fn sign_in_place(envelope: &mut Map<String, Value>, secret: &str) {
    let signature = sign(envelope, secret);
    envelope.insert(SIGN_FIELD.to_owned(), Value::String(signature));
}

/// Whether an envelope carries a signature at all (`sign` present, not null, not `""`).
pub fn is_signed(envelope: &Map<String, Value>) -> bool {
    envelope.get(SIGN_FIELD).is_some_and(|v| !is_blank(v))
}

/// Verifies the `sign` of an envelope in constant time. An envelope without a signature
/// does not verify; callers decide whether an unsigned envelope is acceptable.
pub fn verify(envelope: &Value, secret: &str) -> Result<(), SignatureError> {
    let map = envelope.as_object().ok_or(SignatureError::NotAnObject)?;
    if let Some(sign_type) = map.get("signType") {
        match sign_type {
            Value::String(t) if t.eq_ignore_ascii_case(SIGN_TYPE) => {}
            Value::Null => {}
            Value::String(t) if t.is_empty() => {}
            other => {
                let shown = match other {
                    Value::String(t) => t.clone(),
                    v => v.to_string(),
                };
                return Err(SignatureError::UnsupportedSignType(shown));
            }
        }
    }
    let given = match map.get(SIGN_FIELD) {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => return Err(SignatureError::Mismatch),
        Some(_) => return Err(SignatureError::SignNotAString),
    };
    let expected = sign(map, secret);
    if constant_time_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Canonical JSON: object keys sorted by byte order at every depth, no whitespace,
/// non-ASCII characters written as UTF-8 (serde_json escapes only `"`, `\` and controls,
/// exactly as Python's `json.dumps(..., ensure_ascii=False)` does).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn render_top_level(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
        Value::Array(_) | Value::Object(_) => write_canonical(value, out),
    }
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Sorted explicitly: serde_json's map keeps insertion order when another crate
            // in the build enables its `preserve_order` feature.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    // serde_json writes a string with the minimal escapes and raw UTF-8.
    match serde_json::to_string(s) {
        Ok(text) => out.push_str(&text),
        // Serialising a &str cannot fail; keep the function total anyway.
        Err(_) => out.push_str("\"\""),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn the_signing_string_sorts_drops_blanks_and_appends_the_key() {
        let envelope = obj(json!({
            "uuid": "u", "appId": "1", "sign": "ignored", "lang": "", "extra": null,
            "timestamp": 1742226986123u64, "ok": true,
            "content": {"b": 1, "a": "中文", "nested": {"z": null, "A": [2, 1]}}
        }));
        assert_eq!(
            signing_string(&envelope, "s3cret"),
            "appId=1&content={\"a\":\"中文\",\"b\":1,\"nested\":{\"A\":[2,1],\"z\":null}}\
             &ok=true&timestamp=1742226986123&uuid=u&key=s3cret"
        );
    }

    #[test]
    fn uppercase_keys_sort_before_lowercase_ones() {
        let envelope = obj(json!({"b": "2", "B": "1", "a": "3", "_": "4"}));
        assert_eq!(signing_string(&envelope, "k"), "B=1&_=4&a=3&b=2&key=k");
    }

    #[test]
    fn a_signed_envelope_verifies_and_a_tampered_one_does_not() {
        let mut envelope = obj(json!({"appId": "1", "content": {"refundAmount": "100"}}));
        sign_in_place(&mut envelope, "secret");
        let mut value = Value::Object(envelope);
        assert_eq!(verify(&value, "secret"), Ok(()));
        assert_eq!(verify(&value, "other"), Err(SignatureError::Mismatch));
        value["content"]["refundAmount"] = json!("1000");
        assert_eq!(verify(&value, "secret"), Err(SignatureError::Mismatch));
    }

    #[test]
    fn an_unsupported_sign_type_is_refused() {
        let value = json!({"signType": "md5", "sign": "x"});
        assert!(matches!(
            verify(&value, "k"),
            Err(SignatureError::UnsupportedSignType(_))
        ));
    }

    #[test]
    fn canonical_json_escapes_like_python_and_keeps_unicode_raw() {
        let value = json!({"q": "a\"b\\c\nd\u{1}", "e": "😀"});
        assert_eq!(
            canonical_json(&value),
            "{\"e\":\"😀\",\"q\":\"a\\\"b\\\\c\\nd\\u0001\"}"
        );
    }
}
