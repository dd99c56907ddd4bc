//! From an AuthMS `TransactionResponse` to the gateway's `ProviderRefund`: the status map and
//! exact reading of the amounts AuthMS writes as decimal strings.

use std::str::FromStr;

use refund_provider::{
    Currency, Failure, FailureCode, Money, ProviderError, ProviderRefund, ProviderRefundStatus,
};
use rust_decimal::Decimal;

use crate::wire::TransactionResponse;

/// An AuthMS transaction status in the gateway's vocabulary: `completed` → succeeded,
/// `pending`/`processing` → processing, `failed` → failed, anything else → processing with a
/// warning (the status query will settle it).
pub fn map_status(status: &str) -> ProviderRefundStatus {
    match status {
        "completed" => ProviderRefundStatus::Succeeded,
        "pending" | "processing" => ProviderRefundStatus::Processing,
        "failed" => ProviderRefundStatus::Failed,
        other => {
            tracing::warn!(
                provider = "authms",
                status = other,
                "unknown AuthMS transaction status, treated as processing"
            );
            ProviderRefundStatus::Processing
        }
    }
}

/// Reads a decimal string exactly (no float, no rounding); `what` names the field in errors.
pub fn parse_decimal(value: Option<&str>, what: &str) -> Result<Decimal, ProviderError> {
    let value = value.ok_or_else(|| ProviderError::unknown(format!("answer has no `{what}`")))?;
    Decimal::from_str_exact(value).map_err(|_| {
        ProviderError::unknown(format!(
            "answer's `{what}` `{value}` is not an exact decimal"
        ))
    })
}

/// The transaction's currency, or `fallback` (the request's) when AuthMS leaves it out.
pub fn transaction_currency(
    tx: &TransactionResponse,
    fallback: Currency,
) -> Result<Currency, ProviderError> {
    match tx.currency.as_deref() {
        None | Some("") => Ok(fallback),
        Some(code) => Currency::from_str(code).map_err(|_| {
            ProviderError::unknown(format!(
                "answer's currency `{code}` is not an ISO 4217 code"
            ))
        }),
    }
}

/// The transaction's amount as money, when it has one. An amount of zero ("0.00") moved
/// nothing and proves nothing: it is no amount (the engine then refuses to book the
/// refund, DESIGN §16); anything unreadable is an answer we cannot read (`Unknown`).
pub fn transaction_amount(
    tx: &TransactionResponse,
    fallback: Currency,
) -> Result<Option<Money>, ProviderError> {
    if tx.amount.as_deref().is_none_or(str::is_empty) {
        return Ok(None);
    }
    let currency = transaction_currency(tx, fallback)?;
    let amount = parse_decimal(tx.amount.as_deref(), "amount")?;
    if amount.is_zero() {
        return Ok(None);
    }
    Money::from_decimal(amount, currency)
        .map(Some)
        .map_err(|e| ProviderError::unknown(format!("answer's amount is unusable: {e}")))
}

/// A refund (or transfer) transaction as the gateway sees it. A transaction without a status
/// is an answer we cannot conclude anything from.
pub fn refund_from_transaction(
    tx: &TransactionResponse,
    fallback_currency: Currency,
    message: Option<&str>,
) -> Result<ProviderRefund, ProviderError> {
    let raw_status = tx
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ProviderError::unknown("answer's transaction has no status"))?;
    let status = map_status(raw_status);
    let failure = (status == ProviderRefundStatus::Failed).then(|| Failure {
        code: FailureCode::ProviderFailed,
        message: message
            .filter(|m| !m.is_empty())
            .or(tx.description.as_deref())
            .unwrap_or("AuthMS reports the refund transaction failed")
            .to_owned(),
    });
    Ok(ProviderRefund {
        status,
        provider_refund_id: tx.id.clone(),
        provider_reference: tx.reference_id.clone().filter(|r| !r.is_empty()),
        amount: transaction_amount(tx, fallback_currency)?,
        breakdown: Vec::new(),
        failure,
        raw_status: raw_status.to_owned(),
        contradiction: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cny() -> Currency {
        Currency::parse("CNY").expect("cny")
    }

    #[test]
    fn documented_statuses_map_to_the_gateway_vocabulary() {
        assert_eq!(map_status("completed"), ProviderRefundStatus::Succeeded);
        assert_eq!(map_status("pending"), ProviderRefundStatus::Processing);
        assert_eq!(map_status("processing"), ProviderRefundStatus::Processing);
        assert_eq!(map_status("failed"), ProviderRefundStatus::Failed);
        assert_eq!(map_status("on_hold"), ProviderRefundStatus::Processing);
    }

    #[test]
    fn amounts_are_read_exactly_in_the_transaction_currency() {
        let tx = TransactionResponse {
            amount: Some("1.299".into()),
            currency: Some("KWD".into()),
            status: Some("completed".into()),
            ..Default::default()
        };
        let money = transaction_amount(&tx, cny()).expect("ok").expect("some");
        assert_eq!(money.minor_units().get(), 1299);
        assert_eq!(money.currency().code(), "KWD");
    }

    #[test]
    fn amounts_with_more_digits_than_the_currency_or_beyond_twelve_integer_digits_are_unknown() {
        for bad in [
            "50.001",
            "5e1",
            "fifty",
            "-50.00",
            "1000000000000.00",
            "79228162514264337593543950335",
        ] {
            let tx = TransactionResponse {
                amount: Some(bad.into()),
                status: Some("completed".into()),
                ..Default::default()
            };
            assert!(
                matches!(
                    refund_from_transaction(&tx, cny(), None),
                    Err(ProviderError::Unknown { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_zero_or_empty_amount_is_no_amount() {
        for nothing in ["0.00", "0", ""] {
            let tx = TransactionResponse {
                amount: Some(nothing.into()),
                status: Some("completed".into()),
                ..Default::default()
            };
            let refund = refund_from_transaction(&tx, cny(), None).expect("readable");
            assert_eq!(refund.amount, None, "{nothing:?}");
        }
    }

    #[test]
    fn a_transaction_without_status_is_unknown() {
        let tx = TransactionResponse::default();
        assert!(matches!(
            refund_from_transaction(&tx, cny(), None),
            Err(ProviderError::Unknown { .. })
        ));
    }
}
