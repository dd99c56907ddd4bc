//! `provider_options.<provider>` of a merchant request, read through serde: one helper every
//! adapter uses, so that each refusal names the JSON path of the offending field as the
//! API's `param` (`provider_options.efundpay.bank_detail.bank_code`) and carries the API's
//! code.
//!
//! The rules, whatever the adapter's type `T`:
//! - `Null` (the request gave no options for this provider) is read as `{}`: every field
//!   takes its serde default, and a required field is reported missing. So `T` needs no
//!   `Default` bound, and "absent", `null` and `{}` always mean the same. Anything but an
//!   object or `Null` is `parameter_invalid` at `provider_options.<provider>`.
//! - A required field that is absent or `null` is `parameter_missing` at its path.
//! - Anything else serde refuses (wrong type, unknown field under `deny_unknown_fields`,
//!   unknown enum word, a `deserialize_with`/`try_from` check) is `parameter_invalid` at the
//!   path of the field, with serde's message. An unknown field's path is the field itself.
//!
//! - A nested struct given as an array (serde would read its fields in order) is
//!   `parameter_invalid` at its path: a struct is read only from an object (`strict.rs`).
//!
//! Adapters put their checks in the type (`deny_unknown_fields`, enums, `deserialize_with`
//! for lengths and formats), so the path comes for free.

mod strict;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::request::RequestInvalid;
use strict::Strict;

/// Reads `provider_options.<provider>` as `T`, or says which field is wrong and why.
pub fn parse_options<T: DeserializeOwned>(
    provider: &str,
    options: &Value,
) -> Result<T, RequestInvalid> {
    let empty = Value::Object(Map::new());
    let options = match options {
        Value::Null => &empty,
        Value::Object(_) => options,
        // serde would read a struct from an array too: refuse anything but an object here
        // (and at every depth below, through `Strict`).
        _ => {
            return Err(RequestInvalid::invalid(
                &format!("provider_options.{provider}"),
                "expected an object",
            ))
        }
    };
    serde_path_to_error::deserialize(Strict(options)).map_err(|error| {
        let mut param = format!("provider_options.{provider}");
        for segment in error.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => param.push_str(&format!("[{index}]")),
                Segment::Map { key } => push_field(&mut param, key),
                Segment::Enum { variant } => push_field(&mut param, variant),
                Segment::Unknown => push_field(&mut param, "?"),
            }
        }
        let message = error.inner().to_string();
        if let Some(field) = quoted_after(&message, "missing field `") {
            push_field(&mut param, field);
            RequestInvalid::missing(&param)
        } else if message.starts_with("invalid type: null") {
            RequestInvalid::missing(&param)
        } else {
            // serde_path_to_error already ends the path with the unknown key; be sure of it.
            if let Some(field) = quoted_after(&message, "unknown field `") {
                if !param.ends_with(&format!(".{field}")) {
                    push_field(&mut param, field);
                }
            }
            RequestInvalid::invalid(&param, message)
        }
    })
}

fn push_field(param: &mut String, field: &str) {
    param.push('.');
    param.push_str(field);
}

/// The text between `prefix` (which ends in a backquote) and the next backquote, when
/// `message` starts with `prefix`: serde's wording of missing and unknown fields.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.split('`').next()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq, Eq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        code: String,
        #[serde(default)]
        name: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq, Eq)]
    #[serde(rename_all = "lowercase")]
    enum Method {
        Card,
        Bank,
    }

    #[derive(Debug, Deserialize, PartialEq, Eq)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        #[serde(default)]
        method: Option<Method>,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    struct NeedsOne {
        one: u8,
    }

    fn refusal<T: DeserializeOwned + std::fmt::Debug>(value: Value) -> (&'static str, String) {
        let e = parse_options::<T>("demo", &value).expect_err("refused");
        (e.code.as_str(), e.param.unwrap_or_default())
    }

    #[test]
    fn a_nested_struct_is_read_from_an_object_only_never_from_an_array() {
        // serde_json::from_value would take ["014", "Jack"] as Inner { code, name }.
        assert_eq!(
            refusal::<Demo>(json!({"inner": ["014", "Jack"]})),
            (
                "parameter_invalid",
                "provider_options.demo.inner".to_owned()
            )
        );
        assert_eq!(
            refusal::<Demo>(json!({"list": [["014"]]})),
            (
                "parameter_invalid",
                "provider_options.demo.list[0]".to_owned()
            )
        );
        // Sequences of values, numbers and nested objects still read as before.
        let read = parse_options::<Demo>(
            "demo",
            &json!({"inner": {"code": "014", "name": "Jack"}, "list": [{"code": "1"}]}),
        );
        assert_eq!(
            read.map(|d| (d.inner, d.list.len())),
            Ok((
                Some(Inner {
                    code: "014".into(),
                    name: Some("Jack".into())
                }),
                1
            ))
        );
        assert_eq!(
            parse_options::<NeedsOne>("demo", &json!({"one": 7})).map(|n| n.one),
            Ok(7)
        );
        assert_eq!(
            refusal::<NeedsOne>(json!({"one": 300})),
            ("parameter_invalid", "provider_options.demo.one".to_owned())
        );
    }

    #[test]
    fn null_and_an_empty_object_mean_every_default() {
        let expected = Demo {
            method: None,
            inner: None,
            list: Vec::new(),
        };
        assert_eq!(parse_options::<Demo>("demo", &Value::Null), Ok(expected));
        assert_eq!(
            parse_options::<Demo>("demo", &json!({"method": null})).map(|d| d.method),
            Ok(None)
        );
        assert_eq!(
            parse_options::<Demo>("demo", &json!({"method": "bank"})).map(|d| d.method),
            Ok(Some(Method::Bank))
        );
    }

    #[test]
    fn every_refusal_names_the_json_path_of_its_field() {
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!("card"), "parameter_invalid", "provider_options.demo"),
            (json!([1]), "parameter_invalid", "provider_options.demo"),
            (
                json!({"method": "cash"}),
                "parameter_invalid",
                "provider_options.demo.method",
            ),
            (
                json!({"method": 5}),
                "parameter_invalid",
                "provider_options.demo.method",
            ),
            (
                json!({"colour": "red"}),
                "parameter_invalid",
                "provider_options.demo.colour",
            ),
            (
                json!({"inner": {}}),
                "parameter_missing",
                "provider_options.demo.inner.code",
            ),
            (
                json!({"inner": {"code": null}}),
                "parameter_missing",
                "provider_options.demo.inner.code",
            ),
            (
                json!({"inner": {"code": 14}}),
                "parameter_invalid",
                "provider_options.demo.inner.code",
            ),
            (
                json!({"inner": {"code": "1", "iban": "x"}}),
                "parameter_invalid",
                "provider_options.demo.inner.iban",
            ),
            (
                json!({"list": [{"code": "1"}, {"code": 2}]}),
                "parameter_invalid",
                "provider_options.demo.list[1].code",
            ),
        ];
        for (value, code, param) in cases {
            assert_eq!(
                refusal::<Demo>(value.clone()),
                (code, param.to_owned()),
                "{value}"
            );
        }
    }

    #[test]
    fn a_type_with_a_required_field_reports_it_missing_when_options_are_absent() {
        assert_eq!(
            refusal::<NeedsOne>(Value::Null),
            ("parameter_missing", "provider_options.demo.one".to_owned())
        );
    }

    #[test]
    fn messages_keep_serdes_reason() {
        let e = parse_options::<Demo>("demo", &json!({"method": "cash"})).expect_err("refused");
        assert!(
            e.message.contains("unknown variant `cash`"),
            "{}",
            e.message
        );
        assert!(
            e.message
                .starts_with("`provider_options.demo.method` is invalid"),
            "{}",
            e.message
        );
    }
}
