//! `GET /_sandbox/statement?from=&to=`: AuthMS's export of the wallet transactions the
//! simulator carried out for refunds and transfers in that period (by creation time), as the
//! wallet service writes it: UTF-8 CSV, amounts as decimal strings in major units ("50.00"),
//! its own status words (`completed`, `failed`), RFC 3339 times. Transactions still
//! processing are not listed.
//!
//! Columns: `transaction_id,reference_id,type,user_id,amount,currency,status,completed_at`;
//! `reference_id` is the gateway's refund id (the reference it sent).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use refund_provider::sandbox_kit::statement::{
    csv_row, statement_refused, statement_response, StatementPeriod,
};
use refund_provider::{Currency, Money};
use time::OffsetDateTime;

use super::effect::Effect;
use super::shared::Shared;

/// The export's header row.
pub const HEADER: [&str; 8] = [
    "transaction_id",
    "reference_id",
    "type",
    "user_id",
    "amount",
    "currency",
    "status",
    "completed_at",
];

/// The export of `effects` created in `period`.
pub fn render(effects: &[Effect], period: StatementPeriod) -> String {
    let mut out = csv_row(&HEADER, ',');
    for effect in effects {
        if !matches!(effect.status.as_str(), "completed" | "failed")
            || !period.contains_text(&effect.created_at)
        {
            continue;
        }
        let amount = Currency::parse(&effect.currency)
            .ok()
            .and_then(|c| Money::from_provider_minor(effect.amount_minor, c).ok())
            .map(|m| m.to_major_string())
            .unwrap_or_else(|| effect.amount_minor.to_string());
        out.push_str(&csv_row(
            &[
                &effect.transaction_id,
                &effect.reference,
                &effect.kind,
                &effect.user_id,
                &amount,
                &effect.currency,
                &effect.status,
                &effect.created_at,
            ],
            ',',
        ));
    }
    out
}

/// The route's handler.
pub(super) async fn statement(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match StatementPeriod::parse(&query) {
        Ok(period) => {
            let effects = shared.ledger().effects(OffsetDateTime::now_utc());
            statement_response(
                render(&effects, period).into_bytes(),
                "utf-8",
                "authms-transactions.csv",
            )
        }
        Err(message) => statement_refused(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(reference: &str, amount: i64, status: &str) -> Effect {
        Effect {
            reference: reference.into(),
            payment_id: "txn_1".into(),
            amount_minor: amount,
            currency: "CNY".into(),
            status: status.into(),
            kind: "refund".into(),
            user_id: "usr_1".into(),
            transaction_id: format!("tx_{reference}"),
            created_at: "2026-11-23T10:00:00Z".into(),
        }
    }

    #[test]
    fn completed_and_failed_transactions_are_listed_in_major_units() {
        let text = render(
            &[
                effect("rf_a", 5000, "completed"),
                effect("rf_b", 1313, "failed"),
                effect("rf_c", 100, "processing"),
            ],
            StatementPeriod::default(),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(
            lines[1],
            "tx_rf_a,rf_a,refund,usr_1,50.00,CNY,completed,2026-11-23T10:00:00Z"
        );
        assert!(lines[2].contains(",13.13,CNY,failed,"));
        assert_eq!(lines.len(), 3);
    }
}
