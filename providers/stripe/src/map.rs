//! From Stripe's answers to the gateway's conclusions: the status table, the error table,
//! and the checks that make a malformed refund object an error rather than a guess.
//!
//! | Stripe refund `status` | gateway status | failure code |
//! |---|---|---|
//! | `pending` | `processing` | |
//! | `requires_action` | `processing` | |
//! | `succeeded` | `succeeded` | |
//! | `failed` | `failed` | `provider_failed` (`failure_reason` in the message) |
//! | `canceled` | `canceled` | |
//! | null or anything else | error: we cannot tell what happened | |
//!
//! | error answer of `POST /v1/refunds` | conclusion |
//! |---|---|
//! | 401, 403 | `Misconfigured` (the core's common rule) |
//! | 402 | `Rejected provider_declined` |
//! | 400 `idempotency_error` (the key was used with other parameters) | `Unknown`: the first use may have refunded |
//! | 400 about the amount (`param: amount`, `amount_too_large`, `amount_too_small`) | `Rejected amount_invalid` |
//! | 400 `charge_already_refunded`, `resource_missing`, any other 400; 404 | `Rejected provider_rejected` |
//! | 409 (`idempotency_key_in_use`) | `Unknown`: query later, never a refusal |
//! | 429 | `NotSent`: Stripe processed nothing |
//! | 5xx, anything else | `Unknown` |
//!
//! | error answer of a status query | conclusion |
//! |---|---|
//! | 404, 400 `resource_missing` | no such refund (`NotFound`) |
//! | 429 | `NotSent` |
//! | anything else | `Unknown` (a status query never concludes a rejection) |

use refund_provider::{Failure, FailureCode, ProviderRefund, ProviderRefundStatus};

use crate::currency::{from_stripe_amount, from_stripe_code};
use crate::metadata::GATEWAY_REFUND_ID;
use crate::wire::{ApiError, Refund, REFUND_OBJECT};

/// The gateway status of a Stripe refund status; `None` for null or a word Stripe does not
/// document.
pub fn status(word: Option<&str>) -> Option<ProviderRefundStatus> {
    match word? {
        "pending" | "requires_action" => Some(ProviderRefundStatus::Processing),
        "succeeded" => Some(ProviderRefundStatus::Succeeded),
        "failed" => Some(ProviderRefundStatus::Failed),
        "canceled" => Some(ProviderRefundStatus::Canceled),
        _ => None,
    }
}

/// Maps a refund object; `Err` says why it cannot be trusted. Its `provider_reference` is
/// `metadata[gateway_refund_id]` (absent for a refund made outside the gateway).
pub fn to_provider_refund(refund: &Refund) -> Result<ProviderRefund, String> {
    if refund.object != REFUND_OBJECT {
        return Err(format!(
            "object is `{}`, expected `refund`",
            excerpt(&refund.object)
        ));
    }
    if refund.id.is_empty() {
        return Err("refund id is empty".into());
    }
    let word = refund.status.as_deref();
    let status = status(word).ok_or_else(|| match word {
        None => "refund status is null".to_owned(),
        Some(word) => format!("unknown refund status `{}`", excerpt(word)),
    })?;
    let currency = from_stripe_code(&refund.currency)
        .ok_or_else(|| format!("unknown currency `{}`", excerpt(&refund.currency)))?;
    // No amount (left out, null or 0) proves nothing and is reported as none (DESIGN §16).
    let amount = match refund.amount {
        0 => None,
        minor => Some(from_stripe_amount(minor, currency).map_err(|e| e.to_string())?),
    };
    let failure = (status == ProviderRefundStatus::Failed).then(|| Failure {
        code: FailureCode::ProviderFailed,
        message: format!(
            "Stripe reported the refund failed: {}",
            refund
                .failure_reason
                .as_deref()
                .map(excerpt)
                .unwrap_or_else(|| "no failure_reason given".into())
        ),
    });
    Ok(ProviderRefund {
        status,
        provider_refund_id: Some(refund.id.clone()),
        provider_reference: gateway_refund_id(refund).map(str::to_owned),
        amount,
        breakdown: Vec::new(),
        failure,
        raw_status: word.unwrap_or_default().to_owned(),
        contradiction: None,
    })
}

/// `metadata[gateway_refund_id]` of a refund, when it has one.
pub fn gateway_refund_id(refund: &Refund) -> Option<&str> {
    refund
        .metadata
        .as_ref()
        .and_then(|m| m.get(GATEWAY_REFUND_ID))
        .map(String::as_str)
        .filter(|id| !id.is_empty())
}

/// What an error answer lets the adapter conclude (401/403 and 5xx are the core's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Rejected(FailureCode),
    Unknown,
    NotSent,
    NotFound,
}

/// The error table of `POST /v1/refunds`.
pub fn create_error(status: u16, error: &ApiError) -> Conclusion {
    let code = error.code.as_deref().unwrap_or_default();
    match status {
        402 => Conclusion::Rejected(FailureCode::ProviderDeclined),
        400 if error.error_type == "idempotency_error" => Conclusion::Unknown,
        400 if error.param.as_deref() == Some("amount")
            || matches!(code, "amount_too_large" | "amount_too_small") =>
        {
            Conclusion::Rejected(FailureCode::AmountInvalid)
        }
        400 | 404 => Conclusion::Rejected(FailureCode::ProviderRejected),
        409 => Conclusion::Unknown,
        429 => Conclusion::NotSent,
        _ => Conclusion::Unknown,
    }
}

/// The error table of the status query (retrieve or list).
pub fn query_error(status: u16, error: &ApiError) -> Conclusion {
    match status {
        404 => Conclusion::NotFound,
        400 if error.code.as_deref() == Some("resource_missing") => Conclusion::NotFound,
        429 => Conclusion::NotSent,
        _ => Conclusion::Unknown,
    }
}

/// A provider-sent string, shortened for messages.
pub(crate) fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn refund(status: Option<&str>) -> Refund {
        Refund {
            id: "re_1Nispe2eZvKYlo2Cd31jOCgZ".into(),
            object: "refund".into(),
            amount: 1000,
            balance_transaction: None,
            charge: Some("ch_1NirD82eZvKYlo2CIvbtLWuY".into()),
            created: 1692942318,
            currency: "usd".into(),
            destination_details: None,
            failure_reason: None,
            metadata: Some(BTreeMap::from([(
                "gateway_refund_id".to_owned(),
                "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e".to_owned(),
            )])),
            next_action: None,
            payment_intent: Some("pi_1GszsK2eZvKYlo2CfhZyoZLp".into()),
            reason: None,
            receipt_number: None,
            source_transfer_reversal: None,
            status: status.map(str::to_owned),
            transfer_reversal: None,
        }
    }

    #[test]
    fn every_documented_status_maps_to_the_design_table() {
        let table = [
            ("pending", ProviderRefundStatus::Processing, None),
            ("requires_action", ProviderRefundStatus::Processing, None),
            ("succeeded", ProviderRefundStatus::Succeeded, None),
            (
                "failed",
                ProviderRefundStatus::Failed,
                Some("provider_failed"),
            ),
            ("canceled", ProviderRefundStatus::Canceled, None),
        ];
        for (word, expected, code) in table {
            let mapped = to_provider_refund(&refund(Some(word))).expect(word);
            assert_eq!(mapped.status, expected, "{word}");
            assert_eq!(
                mapped.failure.as_ref().map(|f| f.code.as_str()),
                code,
                "{word}"
            );
            assert_eq!(mapped.raw_status, word);
        }
    }

    #[test]
    fn a_failed_refund_keeps_stripes_failure_reason_in_the_message() {
        let mut failed = refund(Some("failed"));
        failed.failure_reason = Some("expired_or_canceled_card".into());
        let mapped = to_provider_refund(&failed).expect("mapped");
        let message = mapped.failure.map(|f| f.message).unwrap_or_default();
        assert!(message.contains("expired_or_canceled_card"), "{message}");
    }

    #[test]
    fn the_refund_object_fills_ids_reference_and_exact_amount() {
        let mapped = to_provider_refund(&refund(Some("succeeded"))).expect("mapped");
        assert_eq!(
            mapped.provider_refund_id.as_deref(),
            Some("re_1Nispe2eZvKYlo2Cd31jOCgZ")
        );
        assert_eq!(
            mapped.provider_reference.as_deref(),
            Some("rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e")
        );
        assert_eq!(
            mapped.amount.map(|m| m.to_string()),
            Some("10.00 USD".into())
        );
    }

    #[test]
    fn a_refund_without_an_amount_or_with_zero_is_read_with_no_amount() {
        let mut zero = refund(Some("succeeded"));
        zero.amount = 0;
        assert_eq!(to_provider_refund(&zero).map(|r| r.amount), Ok(None));
        let mut body = serde_json::to_value(refund(Some("succeeded"))).expect("json");
        if let Some(object) = body.as_object_mut() {
            object.remove("amount");
        }
        let parsed: Refund = serde_json::from_value(body).expect("readable");
        assert_eq!(to_provider_refund(&parsed).map(|r| r.amount), Ok(None));
    }

    #[test]
    fn null_or_unknown_statuses_bad_amounts_currencies_and_objects_are_refused() {
        for word in [None, Some("pending_review"), Some("SUCCEEDED"), Some("")] {
            assert!(to_provider_refund(&refund(word)).is_err(), "{word:?}");
        }
        for amount in [-1, i64::MIN] {
            let mut r = refund(Some("succeeded"));
            r.amount = amount;
            assert!(to_provider_refund(&r).is_err(), "{amount}");
        }
        for currency in ["USD", "zzz", ""] {
            let mut r = refund(Some("succeeded"));
            r.currency = currency.into();
            assert!(to_provider_refund(&r).is_err(), "{currency}");
        }
        let mut r = refund(Some("succeeded"));
        r.object = "charge".into();
        assert!(to_provider_refund(&r).is_err());
    }

    fn error(error_type: &str, code: Option<&str>, param: Option<&str>) -> ApiError {
        ApiError {
            error_type: error_type.into(),
            code: code.map(str::to_owned),
            param: param.map(str::to_owned),
            ..ApiError::default()
        }
    }

    #[test]
    fn create_errors_follow_the_design_table() {
        let table = [
            (
                402,
                error("card_error", Some("card_declined"), None),
                Conclusion::Rejected(FailureCode::ProviderDeclined),
            ),
            (
                400,
                error("invalid_request_error", None, Some("amount")),
                Conclusion::Rejected(FailureCode::AmountInvalid),
            ),
            (
                400,
                error("invalid_request_error", Some("amount_too_large"), None),
                Conclusion::Rejected(FailureCode::AmountInvalid),
            ),
            (
                400,
                error(
                    "invalid_request_error",
                    Some("charge_already_refunded"),
                    Some("charge"),
                ),
                Conclusion::Rejected(FailureCode::ProviderRejected),
            ),
            (
                400,
                error(
                    "invalid_request_error",
                    Some("resource_missing"),
                    Some("payment_intent"),
                ),
                Conclusion::Rejected(FailureCode::ProviderRejected),
            ),
            (
                400,
                error(
                    "invalid_request_error",
                    Some("parameter_unknown"),
                    Some("foo"),
                ),
                Conclusion::Rejected(FailureCode::ProviderRejected),
            ),
            (
                404,
                error("invalid_request_error", Some("resource_missing"), None),
                Conclusion::Rejected(FailureCode::ProviderRejected),
            ),
            (
                400,
                error("idempotency_error", None, None),
                Conclusion::Unknown,
            ),
            (
                409,
                error("idempotency_error", Some("idempotency_key_in_use"), None),
                Conclusion::Unknown,
            ),
            (
                429,
                error("invalid_request_error", Some("rate_limit"), None),
                Conclusion::NotSent,
            ),
            (418, error("api_error", None, None), Conclusion::Unknown),
        ];
        for (status, error, expected) in table {
            assert_eq!(create_error(status, &error), expected, "{status} {error:?}");
        }
    }

    #[test]
    fn status_query_errors_never_conclude_a_rejection() {
        let missing = error(
            "invalid_request_error",
            Some("resource_missing"),
            Some("id"),
        );
        assert_eq!(query_error(404, &missing), Conclusion::NotFound);
        assert_eq!(query_error(400, &missing), Conclusion::NotFound);
        let other = error(
            "invalid_request_error",
            Some("parameter_invalid_integer"),
            Some("limit"),
        );
        assert_eq!(query_error(400, &other), Conclusion::Unknown);
        assert_eq!(query_error(402, &other), Conclusion::Unknown);
        assert_eq!(query_error(429, &other), Conclusion::NotSent);
    }
}
