//! `GET /_sandbox/statement?from=&to=`: eFundPay's settlement statement of the refunds the
//! simulator recorded in that period (by creation time), as eFundPay writes it: UTF-8 CSV,
//! amounts in integer minor units, its own status words, Unix-second times, and settled
//! refunds paid out in batches (one per day and currency) whose total line carries the fee.
//!
//! Columns: `settlement_batch,refund_id,external_identifier,transaction_id,amount,currency,
//! status,fee,settled_at`. A batch's members are its `SETTLED` refunds (amount each, no fee);
//! its total line has the batch id, the sum, the currency and the fee
//! ([`FEE_PER_REFUND_MINOR`] per refund) and no refund key. `VOIDED`, `FAILED` and `DECLINED`
//! refunds are listed outside any batch; refunds still processing are not listed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use refund_provider::sandbox_kit::statement::{
    csv_row, statement_refused, statement_response, StatementPeriod,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::effect::Effect;
use super::state::Shared;

/// The statement's header row.
pub const HEADER: [&str; 9] = [
    "settlement_batch",
    "refund_id",
    "external_identifier",
    "transaction_id",
    "amount",
    "currency",
    "status",
    "fee",
    "settled_at",
];

/// eFundPay's fee per settled refund, in minor units, charged on the batch's total line.
pub const FEE_PER_REFUND_MINOR: i64 = 20;

/// eFundPay's statement word for a refund's status; `None` for one not settled yet.
fn word(status: &str) -> Option<&'static str> {
    match status {
        "succeeded" => Some("SETTLED"),
        "voided" => Some("VOIDED"),
        "failed" => Some("FAILED"),
        "declined" => Some("DECLINED"),
        _ => None,
    }
}

/// The statement of `effects` created in `period`.
pub fn render(effects: &[Effect], period: StatementPeriod) -> String {
    let mut out = csv_row(&HEADER, ',');
    let mut batches: BTreeMap<String, Vec<(&Effect, i64)>> = BTreeMap::new();
    let mut others = Vec::new();
    for effect in effects {
        let Ok(created) = OffsetDateTime::parse(&effect.created_at, &Rfc3339) else {
            continue;
        };
        if !period.contains(created) {
            continue;
        }
        let Some(word) = word(&effect.status) else {
            continue;
        };
        let at = created.unix_timestamp();
        if word == "SETTLED" {
            let day = created.date();
            let id = format!(
                "STL-{:04}{:02}{:02}-{}",
                day.year(),
                u8::from(day.month()),
                day.day(),
                effect.currency
            );
            batches.entry(id).or_default().push((effect, at));
        } else {
            others.push((effect, word, at));
        }
    }
    for (id, members) in &batches {
        let mut total = 0i64;
        let mut last = 0i64;
        for (effect, at) in members {
            total = total.saturating_add(effect.amount_minor);
            last = last.max(*at);
            out.push_str(&csv_row(
                &[
                    id,
                    &effect.refund_id,
                    &effect.reference,
                    &effect.payment_id,
                    &effect.amount_minor.to_string(),
                    &effect.currency,
                    "SETTLED",
                    "",
                    &at.to_string(),
                ],
                ',',
            ));
        }
        let fee = FEE_PER_REFUND_MINOR.saturating_mul(members.len() as i64);
        let currency = members.first().map_or("", |(e, _)| e.currency.as_str());
        out.push_str(&csv_row(
            &[
                id,
                "",
                "",
                "",
                &total.to_string(),
                currency,
                "",
                &fee.to_string(),
                &last.to_string(),
            ],
            ',',
        ));
    }
    for (effect, word, at) in others {
        out.push_str(&csv_row(
            &[
                "",
                &effect.refund_id,
                &effect.reference,
                &effect.payment_id,
                &effect.amount_minor.to_string(),
                &effect.currency,
                word,
                "",
                &at.to_string(),
            ],
            ',',
        ));
    }
    out
}

/// The route's handler.
pub(crate) async fn statement(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match StatementPeriod::parse(&query) {
        Ok(period) => statement_response(
            render(&shared.effects(), period).into_bytes(),
            "utf-8",
            "efundpay-statement.csv",
        ),
        Err(message) => statement_refused(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(reference: &str, amount: i64, status: &str, created_at: &str) -> Effect {
        Effect {
            reference: reference.into(),
            payment_id: "pay_1".into(),
            amount_minor: amount,
            currency: "EUR".into(),
            status: status.into(),
            refund_id: format!("efp_{reference}"),
            reason: String::new(),
            webhooks_url: String::new(),
            created_at: created_at.into(),
        }
    }

    #[test]
    fn settled_refunds_are_batched_per_day_with_a_total_line_carrying_the_fee() {
        let effects = [
            effect("rf_a", 1000, "succeeded", "2026-11-23T10:00:00.000+00:00"),
            effect("rf_b", 250, "succeeded", "2026-11-23T11:00:00.000+00:00"),
            effect("rf_c", 500, "voided", "2026-11-23T12:00:00.000+00:00"),
            effect("rf_d", 700, "processing", "2026-11-23T12:00:00.000+00:00"),
            effect("rf_e", 900, "succeeded", "2026-11-24T12:00:00.000+00:00"),
        ];
        let period = StatementPeriod {
            from: OffsetDateTime::parse("2026-11-23T00:00:00Z", &Rfc3339).ok(),
            to: OffsetDateTime::parse("2026-11-24T00:00:00Z", &Rfc3339).ok(),
        };
        let text = render(&effects, period);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(
            lines[1],
            "STL-20261123-EUR,efp_rf_a,rf_a,pay_1,1000,EUR,SETTLED,,1795428000"
        );
        assert_eq!(lines[3], "STL-20261123-EUR,,,,1250,EUR,,40,1795431600");
        assert_eq!(lines[4], ",efp_rf_c,rf_c,pay_1,500,EUR,VOIDED,,1795435200");
        assert_eq!(
            lines.len(),
            5,
            "processing and out-of-period refunds are not listed"
        );
    }
}
