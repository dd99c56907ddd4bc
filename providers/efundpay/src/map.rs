//! From eFundPay's refund object to the gateway's [`ProviderRefund`]: the status table and
//! the checks that make a malformed answer an error rather than a guess.
//!
//! | eFundPay `status` | gateway status | failure code        |
//! |-------------------|----------------|---------------------|
//! | `processing`      | `processing`   |                     |
//! | `succeeded`       | `succeeded`    |                     |
//! | `failed`          | `failed`       | `provider_failed`   |
//! | `declined`        | `failed`       | `provider_declined` |
//! | `voided`          | `canceled`     |                     |
//! | anything else     | error: we cannot tell what happened |   |
//!
//! The callers decide the error kind: `Unknown` for an API answer, `InvalidWebhook` for a
//! webhook. Nothing here guesses a status for a word it does not know.

use refund_provider::{
    Currency, Failure, FailureCode, Money, ProviderRefund, ProviderRefundStatus,
};

use crate::wire::{Refund, REFUND_OBJECT_TYPE};

/// The gateway status and failure code of an eFundPay status word; `None` for a word the
/// document does not list.
pub fn status(word: &str) -> Option<(ProviderRefundStatus, Option<FailureCode>)> {
    match word {
        "processing" => Some((ProviderRefundStatus::Processing, None)),
        "succeeded" => Some((ProviderRefundStatus::Succeeded, None)),
        "failed" => Some((
            ProviderRefundStatus::Failed,
            Some(FailureCode::ProviderFailed),
        )),
        "declined" => Some((
            ProviderRefundStatus::Failed,
            Some(FailureCode::ProviderDeclined),
        )),
        "voided" => Some((ProviderRefundStatus::Canceled, None)),
        _ => None,
    }
}

/// Maps a refund object; `Err` says why it cannot be trusted.
pub fn to_provider_refund(refund: &Refund) -> Result<ProviderRefund, String> {
    if refund.object_type != REFUND_OBJECT_TYPE {
        return Err(format!(
            "object type is `{}`, expected `{REFUND_OBJECT_TYPE}`",
            excerpt(&refund.object_type)
        ));
    }
    if refund.id.is_empty() {
        return Err("refund id is empty".into());
    }
    let (status, failure_code) = status(&refund.status)
        .ok_or_else(|| format!("unknown refund status `{}`", excerpt(&refund.status)))?;
    let currency = Currency::parse(&refund.currency)
        .map_err(|_| format!("unknown currency `{}`", excerpt(&refund.currency)))?;
    // No amount (left out, null or 0) proves nothing and is reported as none (DESIGN §16);
    // anything else passes the range check every provider amount passes (positive, at most
    // 12 integer digits).
    let amount = match refund.amount {
        0 => None,
        minor => Some(Money::from_provider_minor(minor, currency).map_err(|e| e.to_string())?),
    };
    let failure = failure_code.map(|code| Failure {
        code,
        message: format!("eFundPay reported the refund {}", refund.status),
    });
    Ok(ProviderRefund {
        status,
        provider_refund_id: Some(refund.id.clone()),
        provider_reference: Some(refund.external_identifier.clone()),
        amount,
        breakdown: Vec::new(),
        failure,
        raw_status: refund.status.clone(),
        contradiction: None,
    })
}

/// A provider-sent string, shortened for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refund(status: &str) -> Refund {
        Refund {
            object_type: "refund".into(),
            id: "6a1d4e46-14ed-4fe1-a45f-eff4e025d211".into(),
            transaction_id: "7099948d-7286-47e4-aad8-b68f7eb44591".into(),
            status: status.into(),
            currency: "EUR".into(),
            amount: 1299,
            reason: Some("Product return".into()),
            external_identifier: "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e".into(),
            transaction_external_identifier: Some("transaction-12345".into()),
            created_at: Some("2013-07-16T19:23:00.000+00:00".into()),
        }
    }

    #[test]
    fn every_documented_status_maps_to_the_design_table() {
        let table = [
            ("processing", ProviderRefundStatus::Processing, None),
            ("succeeded", ProviderRefundStatus::Succeeded, None),
            (
                "failed",
                ProviderRefundStatus::Failed,
                Some("provider_failed"),
            ),
            (
                "declined",
                ProviderRefundStatus::Failed,
                Some("provider_declined"),
            ),
            ("voided", ProviderRefundStatus::Canceled, None),
        ];
        for (word, expected, code) in table {
            let mapped = to_provider_refund(&refund(word)).expect(word);
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
    fn the_refund_object_fills_ids_reference_and_exact_amount() {
        let mapped = to_provider_refund(&refund("succeeded")).expect("mapped");
        assert_eq!(
            mapped.provider_refund_id.as_deref(),
            Some("6a1d4e46-14ed-4fe1-a45f-eff4e025d211")
        );
        assert_eq!(
            mapped.provider_reference.as_deref(),
            Some("rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e")
        );
        let amount = mapped.amount.expect("amount");
        assert_eq!(amount.to_major_string(), "12.99");
        assert_eq!(amount.currency().code(), "EUR");
    }

    #[test]
    fn null_informational_fields_leave_a_clear_answer_clear() {
        let mut r = refund("succeeded");
        r.reason = None;
        r.created_at = None;
        r.transaction_external_identifier = None;
        let mapped = to_provider_refund(&r).expect("mapped");
        assert_eq!(mapped.status, ProviderRefundStatus::Succeeded);
        let parsed: Refund = serde_json::from_value(serde_json::json!({
            "type": "refund", "id": "r1", "transaction_id": "t1", "status": "succeeded",
            "currency": "EUR", "amount": 1299, "reason": null, "external_identifier": "rf_1",
            "transaction_external_identifier": null, "created_at": null
        }))
        .expect("nulls are read");
        assert_eq!(
            to_provider_refund(&parsed).map(|m| m.status),
            Ok(ProviderRefundStatus::Succeeded)
        );
    }

    #[test]
    fn the_largest_twelve_digit_amount_is_read_and_one_more_digit_is_refused() {
        let mut r = refund("succeeded");
        r.amount = 99_999_999_999_999;
        assert!(to_provider_refund(&r).is_ok());
        r.amount = 100_000_000_000_000;
        assert!(to_provider_refund(&r).is_err());
    }

    #[test]
    fn a_refund_object_without_an_amount_or_with_zero_is_read_with_no_amount() {
        let mut zero = refund("succeeded");
        zero.amount = 0;
        assert_eq!(to_provider_refund(&zero).map(|r| r.amount), Ok(None));
        for body in [
            serde_json::json!({"type": "refund", "id": "r1", "transaction_id": "t", "status": "succeeded",
                   "currency": "EUR", "external_identifier": "rf_1"}),
            serde_json::json!({"type": "refund", "id": "r1", "transaction_id": "t", "status": "succeeded",
                   "currency": "EUR", "amount": null, "external_identifier": "rf_1"}),
        ] {
            let parsed: Refund = serde_json::from_value(body).expect("readable");
            let mapped = to_provider_refund(&parsed).expect("mapped");
            assert_eq!(mapped.status, ProviderRefundStatus::Succeeded);
            assert_eq!(mapped.amount, None);
        }
    }

    #[test]
    fn unknown_words_bad_amounts_and_currencies_are_refused() {
        for word in ["pending", "SUCCEEDED", "", "refunded"] {
            assert!(to_provider_refund(&refund(word)).is_err(), "{word}");
        }
        for amount in [-5, 100_000_000_000_000, i64::MAX, i64::MIN] {
            let mut r = refund("succeeded");
            r.amount = amount;
            assert!(to_provider_refund(&r).is_err(), "{amount}");
        }
        for currency in ["eur", "ZZZ", ""] {
            let mut r = refund("succeeded");
            r.currency = currency.into();
            assert!(to_provider_refund(&r).is_err(), "{currency}");
        }
        let mut r = refund("succeeded");
        r.object_type = "payment".into();
        assert!(to_provider_refund(&r).is_err());
    }
}
