//! Retention (DESIGN §15, `[retention] days`): webhook receipts and the non-essential history
//! of final refunds past the retention are purged in bounded batches; a refund's creation,
//! status changes and flags, and anything of a refund that is not final, are never purged.

use std::time::Duration;

use refund_gateway::engine::housekeeping::{purge_history, Purged};
use refund_gateway::store::Store;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

const DAY_MS: i64 = 86_400_000;
const RETENTION: Duration = Duration::from_secs(90 * 86_400);

async fn create(app: &TestApp, payment: &str) -> String {
    let refund: Value = app
        .create(
            ACME_KEY,
            None,
            &json!({"payment_id": payment, "amount": "5.00", "currency": "EUR"}),
        )
        .await;
    refund["id"].as_str().expect("id").to_owned()
}

async fn event_kinds(app: &TestApp, id: &str) -> Vec<String> {
    let events: Value = app
        .get_json(ACME_KEY, &format!("/v1/refunds/{id}/events"))
        .await;
    events["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn execute(store: &Store, sql: &str, text: &str, at: i64) {
    sqlx::query(sql)
        .bind(text.to_owned())
        .bind(at)
        .execute(store.pool())
        .await
        .expect("sql");
}

/// Moves a refund and all its events `days` into the past.
async fn back_date(store: &Store, id: &str, at: i64, refund_too: bool) {
    execute(
        store,
        "UPDATE refund_events SET created_at = $2 WHERE refund_id = $1",
        id,
        at,
    )
    .await;
    if refund_too {
        execute(
            store,
            "UPDATE refunds SET created_at = $2, updated_at = $2 WHERE id = $1",
            id,
            at,
        )
        .await;
    }
}

async fn add_event(store: &Store, id: &str, kind: &str, at: i64) {
    let sql = format!(
        "INSERT INTO refund_events (refund_id, kind, source, detail, created_at) \
         VALUES ($1, '{kind}', 'sync', '{{}}', $2)"
    );
    execute(store, &sql, id, at).await;
}

async fn add_receipt(store: &Store, event_id: &str, at: i64) {
    execute(
        store,
        "INSERT INTO webhook_receipts (provider, account, event_id, received_at) \
         VALUES ('efundpay', 'default', $1, $2)",
        event_id,
        at,
    )
    .await;
}

async fn receipts(store: &Store) -> Vec<String> {
    use sqlx::Row;
    sqlx::query("SELECT event_id FROM webhook_receipts ORDER BY event_id")
        .fetch_all(store.pool())
        .await
        .expect("receipts")
        .iter()
        .map(|row| row.try_get::<String, _>("event_id").expect("event_id"))
        .collect()
}

both_backends!(
    old_receipts_and_old_noise_of_final_refunds_are_purged_and_nothing_finance_needs,
    |db| async move {
        let provider = fake(Script::Succeed);
        // The gateway's own housekeeping must not purge these rows before the test does.
        let Some(app) =
            spawn_app_with(db, provider.clone(), "", "[retention]\ndays = 36500\n").await
        else {
            return;
        };
        let store = Store::connect(&app.database_url, 2).await.expect("store");
        let now = refund_gateway::store::now_ms();
        let old = now - 120 * DAY_MS;
        let recent = now - 10 * DAY_MS;

        // A: final long ago, with old noise and a recent late report.
        let final_old = create(&app, "pay_final_old").await;
        back_date(&store, &final_old, old, true).await;
        add_event(&store, &final_old, "provider_answer", old).await;
        add_event(&store, &final_old, "requires_attention", old).await;
        add_event(&store, &final_old, "ignored", recent).await;
        // B: not final (processing), everything old.
        provider.then(Script::Processing);
        let open = create(&app, "pay_open").await;
        add_event(&store, &open, "status_query_failed", old).await;
        back_date(&store, &open, old, true).await;
        // C: final, old events, but changed recently (e.g. flagged): kept for now.
        let final_recent = create(&app, "pay_final_recent").await;
        add_event(&store, &final_recent, "provider_not_found", old).await;
        back_date(&store, &final_recent, old, false).await;

        add_receipt(&store, "evt_old", old).await;
        add_receipt(&store, "evt_recent", recent).await;

        let purged = purge_history(&store, RETENTION, now).await.expect("purge");
        assert_eq!(
            purged,
            Purged {
                idempotency_keys: 0,
                webhook_receipts: 1,
                refund_events: 1
            }
        );
        assert_eq!(
            event_kinds(&app, &final_old).await,
            ["created", "status_changed", "requires_attention", "ignored"]
        );
        assert_eq!(
            event_kinds(&app, &open).await,
            ["created", "status_changed", "status_query_failed"]
        );
        assert_eq!(
            event_kinds(&app, &final_recent).await,
            ["created", "status_changed", "provider_not_found"]
        );
        assert_eq!(receipts(&store).await, ["evt_recent"]);

        // A second pass finds nothing more.
        let again = purge_history(&store, RETENTION, now).await.expect("purge");
        assert_eq!(again, Purged::default());
        store.close().await;
    }
);

both_backends!(
    each_purge_statement_deletes_at_most_its_batch,
    |db| async move {
        // The gateway's own housekeeping must not purge these rows while the test counts:
        // its retention is far longer than their age.
        let Some(app) =
            spawn_app_with(db, fake(Script::Succeed), "", "[retention]\ndays = 36500\n").await
        else {
            return;
        };
        let store = Store::connect(&app.database_url, 2).await.expect("store");
        let now = refund_gateway::store::now_ms();
        let old = now - 200 * DAY_MS;
        for i in 0..5 {
            add_receipt(&store, &format!("evt_{i}"), old + i).await;
        }
        let before = now - 90 * DAY_MS;
        let mut counts = Vec::new();
        for _ in 0..4 {
            counts.push(
                store
                    .purge_webhook_receipts(before, 2)
                    .await
                    .expect("purge"),
            );
        }
        assert_eq!(counts, [2, 2, 1, 0]);

        let id = create(&app, "pay_batch").await;
        for _ in 0..3 {
            add_event(&store, &id, "provider_answer", old).await;
        }
        back_date(&store, &id, old, true).await;
        assert_eq!(
            store
                .purge_final_refund_events(before, 2)
                .await
                .expect("purge"),
            2
        );
        assert_eq!(
            store
                .purge_final_refund_events(before, 2)
                .await
                .expect("purge"),
            1
        );

        for i in 0..3 {
            sqlx::query(
                "INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, created_at, expires_at) \
                 VALUES ('acme', $1, 'f', $2, $2)",
            )
            .bind(format!("expired-{i}"))
            .bind(old + i)
            .execute(store.pool())
            .await
            .expect("an expired key");
        }
        let mut counts = Vec::new();
        for _ in 0..3 {
            counts.push(
                store
                    .purge_expired_idempotency_keys(now, 2)
                    .await
                    .expect("purge"),
            );
        }
        assert_eq!(counts, [2, 1, 0], "expired keys go two at a time");
        store.close().await;
    }
);
