//! Idempotency keys and merchant references, under concurrency, on one and two instances.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    assert_error, fake, fake_slow, fresh_database, spawn_app, spawn_on, Db, Script, ACME_KEY,
};

fn body() -> Value {
    json!({"payment_id": "pay_idem", "amount": "10.00", "currency": "EUR"})
}

both_backends!(
    twenty_concurrent_requests_with_one_key_make_one_provider_call,
    |db: Db| async move {
        let provider = fake_slow(Duration::from_millis(300));
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let response = app
                    .post_refund(ACME_KEY, Some("key-concurrent"), &body())
                    .await;
                let status = response.status().as_u16();
                let replayed = response.headers().get("idempotent-replayed").is_some();
                (
                    status,
                    replayed,
                    response.json::<Value>().await.expect("json"),
                )
            }));
        }
        let mut created = 0;
        for task in tasks {
            let (status, replayed, body) = task.await.expect("task");
            match status {
                201 => created += 1,
                200 => assert!(replayed),
                409 => assert_eq!(body["error"]["code"], "idempotency_in_progress"),
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(created, 1);
        assert_eq!(provider.calls(), 1);
        // Once the first answer is stored, a retry replays it exactly.
        let first: Value = app.get_json(ACME_KEY, "/v1/refunds").await;
        assert_eq!(first["data"].as_array().map(Vec::len), Some(1));
        let replay = app
            .post_refund(ACME_KEY, Some("key-concurrent"), &body())
            .await;
        assert_eq!(replay.status().as_u16(), 200);
        assert_eq!(
            replay
                .headers()
                .get("idempotent-replayed")
                .and_then(|v| v.to_str().ok()),
            Some("true")
        );
        let replayed: Value = replay.json().await.expect("json");
        assert_eq!(replayed, first["data"][0]);
    }
);

both_backends!(
    the_same_key_with_another_body_is_refused,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        assert_eq!(
            app.post_refund(ACME_KEY, Some("k1"), &body())
                .await
                .status()
                .as_u16(),
            201
        );
        let mut other = body();
        other["amount"] = json!("11.00");
        assert_error(
            app.post_refund(ACME_KEY, Some("k1"), &other).await,
            422,
            "idempotency_key_reused",
        )
        .await;
        // Key order and whitespace do not make a different request.
        let reordered = json!({"currency": "EUR", "amount": "10.00", "payment_id": "pay_idem"});
        assert_eq!(
            app.post_refund(ACME_KEY, Some("k1"), &reordered)
                .await
                .status()
                .as_u16(),
            200
        );
        assert_error(
            app.post_refund(ACME_KEY, Some(&"k".repeat(256)), &body())
                .await,
            400,
            "parameter_invalid",
        )
        .await;
        assert_eq!(app.provider.calls(), 1);
    }
);

/// Two gateway processes on one PostgreSQL racing one key and one reference make one refund.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_make_one_refund() {
    let Some(url) = fresh_database(Db::Postgres).await else {
        return;
    };
    let provider_a = fake_slow(Duration::from_millis(200));
    let provider_b = fake_slow(Duration::from_millis(200));
    let a = std::sync::Arc::new(spawn_on(url.clone(), provider_a.clone()).await);
    let b = std::sync::Arc::new(spawn_on(url, provider_b.clone()).await);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            app.post_refund(ACME_KEY, Some("shared-key"), &body())
                .await
                .status()
                .as_u16()
        }));
        let app = if i % 2 == 0 { b.clone() } else { a.clone() };
        tasks.push(tokio::spawn(async move {
            let mut referenced = body();
            referenced["reference"] = json!("shared-ref");
            app.post_refund(ACME_KEY, None, &referenced)
                .await
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        2,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 201, 409].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(provider_a.calls() + provider_b.calls(), 2);
}

/// A key past its retention is free again: the same key with another body makes a new refund.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_idempotency_key_can_be_used_again() {
    use refund_gateway::domain::RefundRecord;
    use refund_gateway::store::{CreateOutcome, IdempotencyClaim, Store};

    use crate::helpers::pending_record;

    let Some(url) = crate::helpers::fresh_database(Db::Sqlite).await else {
        return;
    };
    let store = Store::connect(&url, 2).await.expect("store");
    let now = refund_gateway::store::now_ms();
    let record = |amount: &str| RefundRecord {
        provider_refund_id: None,
        provider_reference: uuid::Uuid::new_v4().to_string(),
        payment_id: "pay".into(),
        amount: Some(amount.into()),
        amount_minor: None,
        idempotency_key: Some("old-key".into()),
        created_at: now,
        updated_at: now,
        ..pending_record("scripted", "EUR", 1, "pay")
    };
    let claim = |fingerprint: &str, expires_at| IdempotencyClaim {
        key: "old-key".into(),
        fingerprint: fingerprint.into(),
        expires_at,
        in_progress_grace_ms: 60_000,
    };
    let first = store
        .create_refund(&record("1.00"), Some(&claim("a", now + 1)), None, false)
        .await
        .expect("create");
    assert_eq!(first, CreateOutcome::Created { amount_minor: None });
    let live = store
        .create_refund(&record("2.00"), Some(&claim("b", now + 1)), None, false)
        .await
        .expect("create");
    assert_eq!(
        live,
        CreateOutcome::KeyReused,
        "within retention the key is still taken"
    );
    let mut later = record("2.00");
    later.created_at = now + 10;
    let reused = store
        .create_refund(&later, Some(&claim("b", now + 100)), None, false)
        .await
        .expect("create");
    assert_eq!(
        reused,
        CreateOutcome::Created { amount_minor: None },
        "after retention the key is free"
    );
    assert_eq!(
        store
            .purge_expired_idempotency_keys(now + 1_000, 1_000)
            .await
            .expect("purge"),
        1
    );
}
