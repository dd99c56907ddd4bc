//! Sums never overflow (DESIGN §16), on SQLite and PostgreSQL: 1,000 refunds of the largest
//! amount the API takes in a four-decimal currency (`999999999999.9999` CLF, 9,999,999,999,
//! 999,999 minor units each: their sum, 9,999,999,999,999,999,000, is beyond an i64) read
//! through every aggregate with exact figures. Before `store/sums.rs`, SQLite's `SUM` failed
//! with "integer overflow" and the summary answered 503 for every operator from then on.

use futures_util::{stream, StreamExt};
use serde_json::{json, Value};

use refund_gateway::store::Store;

use crate::both_backends;
use crate::helpers::{fake, spawn_app_with, Db, Script, ACME_KEY, OPERATOR_KEY};
use crate::reconciliation::post_statement;

const LARGEST: &str = "999999999999.9999";
const COUNT: usize = 1000;
/// 1,000 × 999999999999.9999.
const SUM: &str = "999999999999999.9000";
/// The same sum in minor units.
const SUM_MINOR: i128 = 9_999_999_999_999_999_000;

both_backends!(
    a_thousand_of_the_largest_clf_refunds_sum_exactly_in_every_aggregate,
    |db: Db| async move {
        let Some(app) =
            spawn_app_with(db, fake(Script::Succeed), "rate_limit_per_second = 0", "").await
        else {
            return;
        };
        // All on one payment whose captured amount nobody gave: nothing caps them.
        let body = json!({
            "payment_id": "pay_huge", "amount": LARGEST, "currency": "CLF",
            "provider": "scripted",
        });
        let refunds: Vec<Value> = stream::iter(0..COUNT)
            .map(|_| {
                let (app, body) = (&app, &body);
                async move {
                    let response = app.post_refund(ACME_KEY, None, body).await;
                    assert_eq!(response.status().as_u16(), 201);
                    response.json::<Value>().await.expect("json")
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        assert!(refunds.iter().all(|r| r["status"] == "succeeded"));

        // The summary, as the merchant and as an operator.
        for key in [ACME_KEY, OPERATOR_KEY] {
            let response = app.get(key, "/v1/reconciliation/summary").await;
            assert_eq!(response.status().as_u16(), 200, "{key}");
            let summary: Value = response.json().await.expect("json");
            assert_eq!(
                summary["by_status"],
                json!([{"provider": "scripted", "currency": "CLF", "status": "succeeded",
                        "count": COUNT, "amount": SUM, "amount_unknown_count": 0}]),
                "{key}"
            );
            assert_eq!(
                summary["clearing_balances"],
                json!([{"provider": "scripted", "currency": "CLF", "balance": format!("-{SUM}")}]),
                "{key}"
            );
        }

        // The payment's roll-up: totals, refunded; its captured amount is unknown.
        let rollup: Value = app
            .get_json(ACME_KEY, "/v1/payments/pay_huge/refunds")
            .await;
        assert_eq!(rollup["data"].as_array().map(Vec::len), Some(COUNT));
        assert_eq!(
            rollup["totals"],
            json!([{"currency": "CLF", "status": "succeeded", "count": COUNT, "amount": SUM}])
        );
        assert_eq!(
            rollup["refunded"],
            json!([{"currency": "CLF", "amount": SUM}])
        );
        assert_eq!(
            rollup["payment_amount"],
            json!([{"currency": "CLF", "amount": null}])
        );
        assert_eq!(
            rollup["refundable"],
            json!([{"currency": "CLF", "amount": null}])
        );

        // The create step's refundable check sums the same refunds: the captured amount given
        // now is far below them, so nothing is refundable (not a 503).
        let late = json!({
            "payment_id": "pay_huge", "amount": "0.0001", "currency": "CLF",
            "provider": "scripted", "payment_amount": LARGEST,
        });
        let response = app.post_refund(ACME_KEY, None, &late).await;
        assert_eq!(response.status().as_u16(), 400);
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"]["code"], "amount_exceeds_refundable");

        // The export lists every refund at its amount.
        let export = app
            .get(ACME_KEY, "/v1/refunds/export?format=csv")
            .await
            .text()
            .await
            .expect("csv");
        assert_eq!(export.lines().count(), COUNT + 1);
        assert_eq!(
            export.lines().filter(|l| l.contains(LARGEST)).count(),
            COUNT
        );

        // A statement of all of them, imported by an operator: matched and settled.
        let mut csv = String::from(
            "provider_refund_id,provider_reference,amount,currency,status,settled_at\n",
        );
        for refund in &refunds {
            csv.push_str(&format!(
                "{},{},{LARGEST},CLF,succeeded,{}\n",
                refund["provider_refund_id"].as_str().expect("provider id"),
                refund["provider_reference"].as_str().expect("reference"),
                refund["created_at"].as_str().expect("created_at"),
            ));
        }
        let response = post_statement(&app, OPERATOR_KEY, "scripted", "", csv, "text/csv").await;
        assert_eq!(response.status().as_u16(), 200);
        let report: Value = response.json().await.expect("json");
        assert_eq!(
            report["matched"],
            json!({"count": COUNT, "amounts": [{"currency": "CLF", "amount": SUM}]})
        );
        assert_eq!(report["settlement"]["settled"], COUNT);

        // Ledger and clearing balances, exact; every currency's lines sum to zero.
        let store = Store::connect(&app.database_url, 1).await.expect("store");
        for (currency, sum) in store.ledger_sums_by_currency().await.expect("sums") {
            assert_eq!(sum, 0, "the {currency} ledger does not balance");
        }
        let balances = store.account_balances().await.expect("balances");
        let balance = |account: &str| {
            balances
                .iter()
                .find(|(a, _, _)| a == account)
                .map(|(_, _, b)| *b)
        };
        assert_eq!(balance("merchant:acme:refund_expense:CLF"), Some(SUM_MINOR));
        assert_eq!(balance("provider:scripted:clearing:CLF"), Some(0));
        assert_eq!(balance("provider:scripted:settled:CLF"), Some(-SUM_MINOR));
        store.close().await;
        let summary: Value = app
            .get_json(OPERATOR_KEY, "/v1/reconciliation/summary")
            .await;
        assert_eq!(
            summary["clearing_balances"],
            json!([{"provider": "scripted", "currency": "CLF", "balance": "0.0000"}])
        );
    }
);
