//! A create-refund body, checked field by field as eFundPay checks it: JSON object, known
//! fields only, integer minor units, an ISO 4217 currency, lengths, an http(s) webhooks URL
//! and a whole `bank_detail` or none.

use refund_provider::Currency;
use serde_json::{Map, Value};

use crate::sandbox::error::ApiError;

/// The fields a create-refund body may carry.
const TOP_LEVEL_FIELDS: [&str; 6] = [
    "amount",
    "currency",
    "reason",
    "external_identifier",
    "webhooks_url",
    "bank_detail",
];

/// A create-refund body, checked field by field.
#[derive(Debug)]
pub(super) struct Fields {
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) reason: String,
    pub(super) external_identifier: String,
    pub(super) webhooks_url: String,
    pub(super) has_bank_detail: bool,
}

pub(super) fn parse_fields(body: &[u8]) -> Result<Fields, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("body is not JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(ApiError::bad_request(
            "invalid_json",
            "body must be a JSON object",
        ));
    };
    if let Some(unknown) = object
        .keys()
        .find(|k| !TOP_LEVEL_FIELDS.contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(
            "unknown_field",
            format!("unknown field `{unknown}`"),
        ));
    }
    let amount = match object.get("amount") {
        None | Some(Value::Null) => return Err(missing("amount")),
        // Integers only: 1299.0, 12.99 and "1299" are all refused.
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_i64() {
            Some(amount) if amount >= 1 => amount,
            _ => {
                return Err(ApiError::unprocessable(
                    "invalid_amount",
                    "amount must be an integer >= 1 in minor units",
                ))
            }
        },
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "amount must be an integer in minor units",
            ))
        }
    };
    let currency = string(&object, "currency")?;
    if Currency::parse(&currency).is_err() {
        return Err(ApiError::unprocessable(
            "invalid_currency",
            format!("`{currency}` is not an ISO 4217 currency code"),
        ));
    }
    let reason = limited(&object, "reason", 255)?;
    let external_identifier = limited(&object, "external_identifier", 50)?;
    let webhooks_url = string(&object, "webhooks_url")?;
    let valid_url = reqwest::Url::parse(&webhooks_url)
        .map(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .unwrap_or(false);
    if !valid_url {
        return Err(ApiError::unprocessable(
            "invalid_webhooks_url",
            "webhooks_url must be an http(s) URL",
        ));
    }
    let has_bank_detail = match object.get("bank_detail") {
        None | Some(Value::Null) => false,
        Some(Value::Object(detail)) => {
            check_bank_detail(detail)?;
            true
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_type",
                "bank_detail must be an object or null",
            ))
        }
    };
    Ok(Fields {
        amount,
        currency,
        reason,
        external_identifier,
        webhooks_url,
        has_bank_detail,
    })
}

fn missing(field: &str) -> ApiError {
    ApiError::bad_request("missing_field", format!("`{field}` is required"))
}

fn string(object: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(ApiError::bad_request(
            "invalid_type",
            format!("`{field}` must be a string"),
        )),
    }
}

fn limited(object: &Map<String, Value>, field: &str, max: usize) -> Result<String, ApiError> {
    let text = string(object, field)?;
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(ApiError::unprocessable(
            "invalid_length",
            format!("`{field}` must be 1-{max} characters"),
        ));
    }
    Ok(text)
}

fn check_bank_detail(detail: &Map<String, Value>) -> Result<(), ApiError> {
    const FIELDS: [&str; 3] = ["bank_code", "bank_account_name", "bank_account_no"];
    let valid = detail.len() == FIELDS.len()
        && FIELDS.iter().all(|name| {
            matches!(detail.get(*name), Some(Value::String(text)) if !text.trim().is_empty())
        });
    if valid {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_bank_detail",
            "bank_detail needs exactly bank_code, bank_account_name and bank_account_no",
        ))
    }
}
