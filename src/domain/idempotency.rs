//! Idempotency keys (1-255 printable ASCII) and the fingerprint that tells a replay of the
//! same request from a different request reusing the key.

use std::fmt;

use refund_provider::is_printable_ascii;
use sha2::{Digest, Sha256};

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Option<Self> {
        (!value.is_empty() && value.len() <= 255 && is_printable_ascii(value))
            .then(|| Self(value.to_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

/// SHA-256 (hex) of the request's canonical JSON: the same request always has the same
/// fingerprint whatever the key order or whitespace of the body.
pub(crate) fn fingerprint(canonical_request: &serde_json::Value) -> String {
    // serde_json's map is ordered by key (no `preserve_order` feature), so `to_vec` is
    // canonical for values parsed from any key order.
    let bytes = serde_json::to_vec(canonical_request).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("abc-123").is_some());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_some());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_none());
        assert!(IdempotencyKey::parse("").is_none());
        assert!(IdempotencyKey::parse("clé").is_none());
        assert!(IdempotencyKey::parse("a\nb").is_none());
    }

    #[test]
    fn fingerprints_ignore_key_order_but_not_values() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":"x"}"#).unwrap_or_default();
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "b":"x", "a":1 }"#).unwrap_or_default();
        let c: serde_json::Value = serde_json::from_str(r#"{"a":2,"b":"x"}"#).unwrap_or_default();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
