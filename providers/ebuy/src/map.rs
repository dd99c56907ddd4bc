//! From an e-Buy answer's `content` to the gateway's [`ProviderRefund`].
//!
//! e-Buy reports a refund per asset (`cashRefund`, `cardRefund` = cashcard, `couponRefund`,
//! `pointsRefund`), each `{refundAmount (fen), refundStatus}`. The overall status:
//!
//! - the lines that count are the present ones with a non-zero amount; when every present
//!   line is zero (nothing to weigh by amount), all present lines count;
//! - every counted line `SUCCESS` → succeeded; any `PROCESSING` (or an unknown word) →
//!   processing; every line `FAIL` → failed (`provider_failed`);
//! - **a mix of `SUCCESS` and `FAIL` → processing**, raw status `PARTIAL:…`: part of the
//!   money moved, so it is neither a success (a partial refund must never look like a full
//!   one) nor a failure (the ledger would miss what did move). It stays open, the sync
//!   worker keeps asking and, if e-Buy never settles it, flags it for finance;
//! - no line at all is not a readable refund: the caller reports an unknown outcome.
//!
//! Units (DESIGN §16 "Currencies as each provider counts them"): the e-Buy document types
//! the request's `refundAmount` as an integer ("具体资产类型的退款金额", the refund amount of
//! that asset type, `"type": "integer"`) and the answer's as a string of at most 11 digits,
//! without naming a unit; an integer amount of a CNY-only service is in fen (分, 1/100
//! yuan), which DESIGN §7 fixes. So requests carry CNY minor units (`1250` for 12.50 CNY)
//! and answers are read back as fen; e-Buy takes CNY only, so no other exponent arises.

use refund_provider::{
    BreakdownLine, Currency, Failure, FailureCode, Money, ProviderRefund, ProviderRefundStatus,
};

use crate::options::AssetType;
use crate::wire::{AnswerContent, AssetRefund, Fen};

/// The one currency e-Buy refunds in.
pub fn cny() -> Currency {
    // "CNY" is an active ISO 4217 code; `parse` cannot refuse it.
    Currency::parse("CNY").unwrap_or_else(|_| unreachable_currency())
}

#[cold]
fn unreachable_currency() -> Currency {
    panic!("CNY missing from the ISO 4217 table")
}

/// A line status word → the gateway's vocabulary; unknown words are processing (with a
/// warning), never success.
pub fn line_status(raw: &str) -> ProviderRefundStatus {
    match raw {
        "SUCCESS" => ProviderRefundStatus::Succeeded,
        "PROCESSING" => ProviderRefundStatus::Processing,
        "FAIL" => ProviderRefundStatus::Failed,
        other => {
            tracing::warn!(
                provider = "ebuy",
                refund_status = %other,
                "unknown e-Buy refundStatus, treating the line as processing"
            );
            ProviderRefundStatus::Processing
        }
    }
}

struct Line<'a> {
    asset: AssetType,
    minor: i64,
    /// The line's amount when not zero, range-checked.
    money: Option<Money>,
    raw: &'a str,
    status: ProviderRefundStatus,
}

/// Maps an answer's content for the refund we sent as `sent_reference`. `Err` carries the
/// cause of an unreadable answer (the caller makes it `Unknown`).
pub fn to_provider_refund(
    content: &AnswerContent,
    sent_reference: &str,
) -> Result<ProviderRefund, String> {
    if let Some(echoed) = content.refund_trade_no.as_deref() {
        if !echoed.is_empty() && echoed != sent_reference {
            return Err(format!(
                "answer is about refundTradeNo `{echoed}`, not the one sent"
            ));
        }
    }
    let mut present = Vec::new();
    for (asset, field, line) in [
        (AssetType::Cash, "cashRefund", &content.cash_refund),
        (AssetType::Cashcard, "cardRefund", &content.card_refund),
        (AssetType::Coupon, "couponRefund", &content.coupon_refund),
        (AssetType::Points, "pointsRefund", &content.points_refund),
    ] {
        if let Some(line) = line {
            present.push(read_line(asset, field, line)?);
        }
    }
    if present.is_empty() {
        return Err(
            "answer has no asset breakdown (cashRefund, cardRefund, couponRefund, pointsRefund)"
                .into(),
        );
    }
    let has_amounts = present.iter().any(|l| l.minor > 0);
    let counted: Vec<&Line> = present
        .iter()
        .filter(|l| !has_amounts || l.minor > 0)
        .collect();

    let all = |s: ProviderRefundStatus| counted.iter().all(|l| l.status == s);
    let any = |s: ProviderRefundStatus| counted.iter().any(|l| l.status == s);
    let status = if all(ProviderRefundStatus::Succeeded) {
        ProviderRefundStatus::Succeeded
    } else if all(ProviderRefundStatus::Failed) {
        ProviderRefundStatus::Failed
    } else if any(ProviderRefundStatus::Processing) {
        ProviderRefundStatus::Processing
    } else {
        tracing::warn!(
            provider = "ebuy",
            refund_trade_no = %sent_reference,
            "e-Buy refunded some assets and failed others; keeping the refund processing"
        );
        ProviderRefundStatus::Processing
    };
    let summary = counted
        .iter()
        .map(|l| format!("{}:{}", l.asset.as_str(), l.raw))
        .collect::<Vec<_>>()
        .join(",");
    let raw_status = if counted.len() == 1 {
        counted[0].raw.to_owned()
    } else if status == ProviderRefundStatus::Processing
        && any(ProviderRefundStatus::Succeeded)
        && any(ProviderRefundStatus::Failed)
    {
        format!("PARTIAL:{summary}")
    } else {
        summary.clone()
    };

    let amount = match &content.refund_amount {
        None => None,
        Some(fen) => money(fen, "refundAmount")?,
    };
    let breakdown = present
        .iter()
        .filter_map(|l| {
            l.money.map(|amount| BreakdownLine {
                asset_type: l.asset.as_str().to_owned(),
                amount,
                status: l.status,
            })
        })
        .collect();
    let failure = (status == ProviderRefundStatus::Failed).then(|| Failure {
        code: FailureCode::ProviderFailed,
        message: format!("e-Buy reported the refund failed ({summary})"),
    });
    Ok(ProviderRefund {
        status,
        provider_refund_id: content.refund_trade_no.clone().filter(|s| !s.is_empty()),
        provider_reference: Some(sent_reference.to_owned()),
        amount,
        breakdown,
        failure,
        raw_status,
        contradiction: None,
    })
}

fn read_line<'a>(asset: AssetType, field: &str, line: &'a AssetRefund) -> Result<Line<'a>, String> {
    let minor = line.refund_amount.minor().ok_or_else(|| {
        format!(
            "{field}.refundAmount `{}` is not an amount in fen",
            line.refund_amount
        )
    })?;
    Ok(Line {
        asset,
        minor,
        money: money(&line.refund_amount, &format!("{field}.refundAmount"))?,
        raw: &line.refund_status,
        status: line_status(&line.refund_status),
    })
}

/// A fen amount as CNY money; zero is "nothing" (`None`). Anything beyond 12 integer
/// digits of yuan is refused by the core's range check (`Money::from_provider_minor`).
fn money(fen: &Fen, field: &str) -> Result<Option<Money>, String> {
    let minor = fen
        .minor()
        .ok_or_else(|| format!("{field} `{fen}` is not an amount in fen"))?;
    if minor == 0 {
        return Ok(None);
    }
    Money::from_provider_minor(minor, cny())
        .map(Some)
        .map_err(|e| format!("{field}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REF: &str = "20250317000000000000000000000042";

    fn content(value: serde_json::Value) -> AnswerContent {
        serde_json::from_value(value).expect("content")
    }

    fn line(amount: &str, status: &str) -> serde_json::Value {
        json!({"refundAmount": amount, "refundStatus": status})
    }

    fn status_of(value: serde_json::Value) -> ProviderRefundStatus {
        to_provider_refund(&content(value), REF)
            .expect("mapped")
            .status
    }

    #[test]
    fn every_documented_line_status_maps() {
        assert_eq!(line_status("SUCCESS"), ProviderRefundStatus::Succeeded);
        assert_eq!(line_status("PROCESSING"), ProviderRefundStatus::Processing);
        assert_eq!(line_status("FAIL"), ProviderRefundStatus::Failed);
        assert_eq!(line_status("REFUNDED"), ProviderRefundStatus::Processing);
        assert_eq!(line_status("success"), ProviderRefundStatus::Processing);
    }

    #[test]
    fn a_single_successful_cash_line_is_a_success_with_amount_and_breakdown() {
        let mapped = to_provider_refund(
            &content(json!({"outTradeNo": "O1", "refundAmount": "1250",
                "cashRefund": line("1250", "SUCCESS"), "couponRefund": line("0", "SUCCESS"),
                "cardRefund": line("0", "FAIL"), "pointsRefund": line("0", "PROCESSING")})),
            REF,
        )
        .expect("mapped");
        assert_eq!(mapped.status, ProviderRefundStatus::Succeeded);
        assert_eq!(mapped.raw_status, "SUCCESS");
        assert_eq!(mapped.amount.map(|m| m.minor_units().get()), Some(1250));
        assert_eq!(mapped.amount.map(|m| m.currency().code()), Some("CNY"));
        assert_eq!(mapped.breakdown.len(), 1);
        assert_eq!(mapped.breakdown[0].asset_type, "cash");
        assert_eq!(mapped.provider_reference.as_deref(), Some(REF));
        assert_eq!(mapped.provider_refund_id, None);
        assert_eq!(mapped.failure, None);
    }

    #[test]
    fn any_processing_line_keeps_the_refund_processing() {
        assert_eq!(
            status_of(
                json!({"cashRefund": line("100", "SUCCESS"), "pointsRefund": line("5", "PROCESSING")})
            ),
            ProviderRefundStatus::Processing
        );
    }

    #[test]
    fn all_failed_lines_are_a_failure_with_provider_failed() {
        let mapped = to_provider_refund(
            &content(json!({"cashRefund": line("100", "FAIL"), "cardRefund": line("50", "FAIL")})),
            REF,
        )
        .expect("mapped");
        assert_eq!(mapped.status, ProviderRefundStatus::Failed);
        assert_eq!(
            mapped
                .failure
                .map(|f| f.code.as_str().to_owned())
                .as_deref(),
            Some("provider_failed")
        );
    }

    #[test]
    fn a_partial_success_never_looks_like_a_full_success_nor_a_failure() {
        let mapped = to_provider_refund(
            &content(json!({"refundAmount": "100", "cashRefund": line("100", "SUCCESS"), "couponRefund": line("500", "FAIL")})),
            REF,
        )
        .expect("mapped");
        assert_eq!(mapped.status, ProviderRefundStatus::Processing);
        assert_eq!(mapped.raw_status, "PARTIAL:cash:SUCCESS,coupon:FAIL");
        assert_eq!(mapped.failure, None);
        let statuses: Vec<_> = mapped
            .breakdown
            .iter()
            .map(|l| (l.asset_type.as_str(), l.status))
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("cash", ProviderRefundStatus::Succeeded),
                ("coupon", ProviderRefundStatus::Failed)
            ]
        );
    }

    #[test]
    fn zero_amount_lines_decide_only_when_no_line_has_an_amount() {
        assert_eq!(
            status_of(json!({"cashRefund": line("0", "FAIL")})),
            ProviderRefundStatus::Failed
        );
        assert_eq!(
            status_of(
                json!({"cashRefund": line("0", "FAIL"), "cardRefund": line("10", "SUCCESS")})
            ),
            ProviderRefundStatus::Succeeded
        );
    }

    #[test]
    fn missing_breakdown_objects_are_tolerated_but_none_at_all_is_unreadable() {
        assert_eq!(
            status_of(json!({"couponRefund": line("500", "SUCCESS")})),
            ProviderRefundStatus::Succeeded
        );
        assert!(to_provider_refund(&content(json!({"refundAmount": "100"})), REF).is_err());
    }

    #[test]
    fn unreadable_amounts_and_a_foreign_refund_trade_no_are_errors() {
        assert!(
            to_provider_refund(&content(json!({"cashRefund": line("1.5", "SUCCESS")})), REF)
                .is_err()
        );
        assert!(to_provider_refund(
            &content(json!({"refundAmount": "x", "cashRefund": line("1", "SUCCESS")})),
            REF
        )
        .is_err());
        assert!(to_provider_refund(
            &content(json!({"refundTradeNo": "20250317999", "cashRefund": line("1", "SUCCESS")})),
            REF
        )
        .is_err());
    }

    #[test]
    fn amounts_beyond_twelve_integer_digits_are_unreadable_not_wrapped() {
        for huge in [
            json!("100000000000000"),
            json!(i64::MAX),
            json!("999999999999999"),
        ] {
            let huge_line = json!({"refundAmount": huge, "refundStatus": "SUCCESS"});
            assert!(
                to_provider_refund(&content(json!({"cashRefund": huge_line})), REF).is_err(),
                "{huge}"
            );
            assert!(
                to_provider_refund(
                    &content(json!({"refundAmount": huge, "cashRefund": line("1", "SUCCESS")})),
                    REF
                )
                .is_err(),
                "{huge}"
            );
        }
        let largest = to_provider_refund(
            &content(json!({"cashRefund": line("99999999999999", "SUCCESS")})),
            REF,
        )
        .expect("12 integer digits of yuan are fine");
        assert_eq!(
            largest.breakdown[0].amount.to_major_string(),
            "999999999999.99"
        );
    }

    #[test]
    fn an_echoed_refund_trade_no_becomes_the_provider_refund_id() {
        let mapped = to_provider_refund(
            &content(json!({"refundTradeNo": REF, "cashRefund": line("1", "SUCCESS")})),
            REF,
        )
        .expect("mapped");
        assert_eq!(mapped.provider_refund_id.as_deref(), Some(REF));
    }
}
