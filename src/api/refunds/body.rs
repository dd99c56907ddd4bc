//! The body of `POST /v1/refunds`, each field checked, into an engine command. Pure (no
//! I/O, no state), so the bulk upload (`crate::batch`) and the fuzz target `refund_body`
//! run exactly the checks the API runs.

use serde_json::{json, Map, Value};

use refund_provider::{is_path_safe_id, is_printable_ascii, Currency, Money, PaymentId};

use crate::api::error::{ApiError, ErrorCode};
use crate::api::extract::IdempotencyKeyHeader;
use crate::domain::idempotency::fingerprint;
use crate::engine::CreateCommand;

/// The fields a create body may hold.
pub(crate) const FIELDS: [&str; 10] = [
    "payment_id",
    "amount",
    "payment_amount",
    "currency",
    "reason",
    "provider",
    "reference",
    "customer_id",
    "metadata",
    "provider_options",
];

pub(super) fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ParameterInvalid, message).with_param(param)
}

/// A string field: absent or null → `None`; another type → `body_invalid`.
fn string_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(
            ApiError::new(ErrorCode::BodyInvalid, format!("`{name}` must be a string"))
                .with_param(name),
        ),
    }
}

fn required(body: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    string_field(body, name)?.ok_or_else(|| {
        ApiError::new(ErrorCode::ParameterMissing, format!("`{name}` is required")).with_param(name)
    })
}

fn bounded_text(value: Option<String>, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    match value {
        Some(text)
            if text.is_empty()
                || text.chars().count() > max
                || text.chars().any(char::is_control) =>
        {
            Err(invalid(
                name,
                format!("`{name}` must be 1-{max} characters without control characters"),
            ))
        }
        other => Ok(other),
    }
}

/// An amount field: absent or null → `None`; a decimal string in major units with at most
/// the currency's exponent → the amount; anything else (JSON numbers included) →
/// `amount_invalid`, never rounded.
fn money_field(
    body: &Map<String, Value>,
    name: &str,
    currency: Currency,
) -> Result<Option<Money>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Money::parse(text, currency)
            .map(Some)
            .map_err(|e| ApiError::new(ErrorCode::AmountInvalid, e.to_string()).with_param(name)),
        Some(_) => Err(ApiError::new(
            ErrorCode::AmountInvalid,
            format!("`{name}` must be a decimal string in major units, such as \"12.99\""),
        )
        .with_param(name)),
    }
}

/// Parses and validates the create body into an engine command. Pure (no I/O, no state):
/// public so that the fuzz target `refund_body` can drive it with any JSON object.
pub fn parse_create(
    body: Map<String, Value>,
    key: IdempotencyKeyHeader,
) -> Result<CreateCommand, ApiError> {
    if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(
            ApiError::new(ErrorCode::BodyInvalid, format!("unknown field `{unknown}`"))
                .with_param(unknown.clone()),
        );
    }
    let payment_id = required(&body, "payment_id")?;
    let payment_id = PaymentId::parse(&payment_id).map_err(|_| {
        invalid(
            "payment_id",
            "`payment_id` must be 1-128 printable ASCII characters, and not `.` or `..`",
        )
    })?;
    let currency_text = required(&body, "currency")?;
    let currency = Currency::parse(&currency_text).map_err(|e| {
        ApiError::new(ErrorCode::CurrencyUnsupported, e.to_string()).with_param("currency")
    })?;
    let amount = money_field(&body, "amount", currency)?;
    let payment_amount = money_field(&body, "payment_amount", currency)?;
    let reason = bounded_text(string_field(&body, "reason")?, "reason", 255)?;
    let reference = ascii_field(&body, "reference", 64, Ascii::Printable)?;
    let customer_id = ascii_field(&body, "customer_id", 128, Ascii::PathSafe)?;
    let provider = string_field(&body, "provider")?;
    let metadata = metadata_field(&body)?;
    let provider_options = provider_options_field(&body)?;
    let fingerprint = fingerprint(&Value::Object(body));
    Ok(CreateCommand {
        payment_id,
        amount,
        payment_amount,
        currency,
        reason,
        reference,
        customer_id,
        metadata,
        provider,
        provider_options,
        idempotency_key: key.0,
        fingerprint,
    })
}

/// The characters an id-like text field may hold.
#[derive(Debug, Clone, Copy)]
enum Ascii {
    /// Printable ASCII.
    Printable,
    /// Printable ASCII, and not `.` or `..`: a URL path carries it (AuthMS's
    /// `wallets/{user_id}` carries `customer_id`).
    PathSafe,
}

/// An id-like text field: absent or null → `None`; else 1-`max` characters of `chars`, or
/// `parameter_invalid`.
fn ascii_field(
    body: &Map<String, Value>,
    name: &str,
    max: usize,
    chars: Ascii,
) -> Result<Option<String>, ApiError> {
    let value = string_field(body, name)?;
    let (valid, rule): (fn(&str) -> bool, &str) = match chars {
        Ascii::Printable => (is_printable_ascii, ""),
        Ascii::PathSafe => (is_path_safe_id, ", and not `.` or `..`"),
    };
    match &value {
        Some(text) if text.is_empty() || text.len() > max || !valid(text) => Err(invalid(
            name,
            format!("`{name}` must be 1-{max} printable ASCII characters{rule}"),
        )),
        _ => Ok(value),
    }
}

/// `metadata`: absent or null → `{}`; else an object of at most 20 string pairs, keys of
/// 1-40 characters and values of at most 500.
fn metadata_field(body: &Map<String, Value>) -> Result<Value, ApiError> {
    match body.get("metadata") {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::Object(map)) => {
            if map.len() > 20 {
                return Err(invalid("metadata", "`metadata` holds at most 20 pairs"));
            }
            for (k, v) in map {
                let Value::String(v) = v else {
                    return Err(ApiError::new(
                        ErrorCode::BodyInvalid,
                        "`metadata` values must be strings",
                    )
                    .with_param(format!("metadata.{k}")));
                };
                if k.is_empty() || k.chars().count() > 40 || v.chars().count() > 500 {
                    return Err(invalid(
                        "metadata",
                        "`metadata` keys are 1-40 characters and values at most 500",
                    ));
                }
            }
            Ok(Value::Object(map.clone()))
        }
        Some(_) => Err(
            ApiError::new(ErrorCode::BodyInvalid, "`metadata` must be an object")
                .with_param("metadata"),
        ),
    }
}

/// `provider_options`: absent or null → `{}`; else an object of one object per provider
/// (each provider checks its own, `crate::engine`).
fn provider_options_field(body: &Map<String, Value>) -> Result<Value, ApiError> {
    match body.get("provider_options") {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::Object(map)) => {
            if let Some((name, _)) = map.iter().find(|(_, v)| !v.is_object()) {
                return Err(ApiError::new(
                    ErrorCode::BodyInvalid,
                    format!("`provider_options.{name}` must be an object"),
                )
                .with_param(format!("provider_options.{name}")));
            }
            Ok(Value::Object(map.clone()))
        }
        Some(_) => Err(ApiError::new(
            ErrorCode::BodyInvalid,
            "`provider_options` must be an object",
        )
        .with_param("provider_options")),
    }
}
