//! Identifier newtypes shared by the gateway and the adapters: refund ids, provider ids,
//! payment ids. Each has a private field and one way in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} `{value}` is invalid: {why}")]
pub struct IdError {
    pub kind: &'static str,
    pub value: String,
    pub why: &'static str,
}

/// The gateway's refund id: `rf_` + 32 lowercase hex digits of a UUIDv7, so ids sort by
/// creation time. Fixed before the first provider call and reused on every retry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RefundId(Uuid);

impl RefundId {
    const PREFIX: &'static str = "rf_";

    /// A new, time-ordered refund id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(value: &str) -> Result<Self, IdError> {
        let invalid = |why| IdError {
            kind: "refund id",
            value: value.chars().take(80).collect(),
            why,
        };
        let hex = value
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| invalid("must start with rf_"))?;
        if hex.len() != 32 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid("expected 32 lowercase hex digits after rf_"));
        }
        Uuid::try_parse(hex)
            .map(Self)
            .map_err(|_| invalid("not a uuid"))
    }

    /// The 128 bits of the id, for adapters that must derive a numeric reference from it.
    pub fn as_u128(&self) -> u128 {
        self.0.as_u128()
    }

    /// Milliseconds since the Unix epoch at which the id was generated.
    pub fn created_unix_ms(&self) -> Option<u64> {
        self.0.get_timestamp().map(|ts| {
            let (secs, nanos) = ts.to_unix();
            secs * 1000 + u64::from(nanos) / 1_000_000
        })
    }
}

impl fmt::Display for RefundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0.simple())
    }
}

impl fmt::Debug for RefundId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefundId({self})")
    }
}

impl FromStr for RefundId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for RefundId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RefundId> for String {
    fn from(value: RefundId) -> Self {
        value.to_string()
    }
}

/// True when every character is printable ASCII (0x20..=0x7e).
pub fn is_printable_ascii(value: &str) -> bool {
    value.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// True for `.` and `..`: ids that, placed in a provider's URL path, would name the current
/// or the parent directory however they are encoded (URL parsers read `%2E` as `.` there),
/// so they are refused before anything is recorded or sent (DESIGN §16 "Ids in provider
/// URLs"). Every other id is percent-encoded as one whole path segment.
pub fn is_dot_segment(value: &str) -> bool {
    value == "." || value == ".."
}

/// Printable ASCII and not a dot segment: what a client-given id that a provider's URL
/// path carries must be.
pub fn is_path_safe_id(value: &str) -> bool {
    is_printable_ascii(value) && !is_dot_segment(value)
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr, $check:expr, $why:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, IdError> {
                let check: fn(&str) -> bool = $check;
                if value.is_empty() || value.len() > $max || !check(value) {
                    return Err(IdError {
                        kind: $kind,
                        value: value.chars().take(80).collect(),
                        why: $why,
                    });
                }
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A provider's name in config and in the API: lowercase letters, digits, `_` and `-`.
    ProviderId,
    "provider",
    32,
    |v| v.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-')),
    "expected 1-32 of a-z, 0-9, _ and -"
);

string_id!(
    /// The provider's id of the original payment (AuthMS transaction_id, e-Buy outTradeNo,
    /// eFundPay transaction id): 1-128 printable ASCII, not `.` or `..` (eFundPay's URL path
    /// carries it).
    PaymentId,
    "payment_id",
    128,
    is_path_safe_id,
    "expected 1-128 printable ASCII characters, not `.` or `..`"
);

impl ProviderId {
    /// A provider id known at compile time; panics only on a programming error.
    pub fn from_static(value: &'static str) -> Self {
        match Self::parse(value) {
            Ok(id) => id,
            Err(e) => panic!("invalid static provider id: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_ids_round_trip_and_sort_by_creation() {
        let a = RefundId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = RefundId::generate();
        assert!(a.to_string() < b.to_string());
        assert_eq!(RefundId::parse(&a.to_string()), Ok(a));
        assert_eq!(a.to_string().len(), 35);
        assert!(a.created_unix_ms().is_some());
    }

    #[test]
    fn malformed_refund_ids_are_refused() {
        for bad in [
            "",
            "rf_",
            "rf_0192F5E4C1B87A3E9D5C2F1A0B3C4D5E",
            "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5",
            "re_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e",
            "rf_0192f5e4-c1b8-7a3e-9d5c-2f1a0b3c4d5e",
        ] {
            assert!(RefundId::parse(bad).is_err(), "{bad}");
        }
        assert!(RefundId::parse("rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e").is_ok());
    }

    #[test]
    fn payment_ids_are_printable_ascii_up_to_128() {
        assert!(PaymentId::parse("7099948d-7286-47e4-aad8-b68f7eb44591").is_ok());
        assert!(PaymentId::parse(&"a".repeat(128)).is_ok());
        assert!(PaymentId::parse(&"a".repeat(129)).is_err());
        assert!(PaymentId::parse("").is_err());
        assert!(PaymentId::parse("tab\there").is_err());
        assert!(PaymentId::parse("café").is_err());
        assert!(PaymentId::parse(".").is_err());
        assert!(PaymentId::parse("..").is_err());
        assert!(PaymentId::parse("...").is_ok());
        assert!(
            PaymentId::parse("a/..").is_ok(),
            "encoded as one segment: a%2F.."
        );
    }
}
