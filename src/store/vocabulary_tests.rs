//! The store boundary of the closed vocabularies: failure codes, the kinds and sources of
//! history lines, merchant event types and ledger entry kinds are TEXT in the database and
//! enums in the code. Every word reads back as itself, and a word this build does not know
//! (an old or newer database) reads back verbatim instead of failing. The words the store
//! writes in SQL of its own (a refund's creation line and event, a delivery line, the
//! settlement and fee postings) are words the enums know. Each test runs on SQLite, and on
//! PostgreSQL where the tests have a server.

use refund_provider::{FailureCode, RefundId};
use refund_test_support::TempDir;

use crate::domain::{EntryKind, EventKind, EventSource, MerchantEventType, RefundStatus, Stored};
use crate::store::ledger::FeePosting;
use crate::store::work::Delivery;
use crate::store::{CreateOutcome, RefundRecord, Store};

/// A store on each backend the tests reach: SQLite in a directory of its own, and a fresh
/// PostgreSQL database where `REFUND_GATEWAY_TEST_POSTGRES_URL` is set.
async fn stores() -> Vec<(Store, Option<TempDir>)> {
    let dir = TempDir::new("refund-gateway-vocabulary-");
    let sqlite = Store::connect(&refund_test_support::sqlite_url(dir.path()), 2)
        .await
        .expect("SQLite store");
    let mut stores = vec![(sqlite, Some(dir))];
    if let Some(url) = refund_test_support::fresh_postgres_database().await {
        let postgres = Store::connect(&url, 2).await.expect("PostgreSQL store");
        stores.push((postgres, None));
    }
    stores
}

/// A failed refund with `failure_code`, written as raw text.
async fn insert_refund(store: &Store, failure_code: &str) -> RefundId {
    let id = RefundId::generate();
    sqlx::query(
        "INSERT INTO refunds (id, merchant_id, provider, provider_reference, payment_id, currency, \
         status, failure_code, created_at, updated_at) \
         VALUES ($1, 'acme', 'demo', $2, 'pay_1', 'EUR', 'failed', $3, 0, 0)",
    )
    .bind(id.to_string())
    .bind(format!("ref_{id}"))
    .bind(failure_code)
    .execute(store.pool())
    .await
    .expect("insert refund");
    id
}

/// One history line of refund `id`, its kind and source written as raw text.
async fn insert_event(store: &Store, id: &RefundId, kind: &str, source: &str) {
    sqlx::query(
        "INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
         VALUES ($1, $2, 'failed', 'pending', $3, '{}', 0)",
    )
    .bind(id.to_string())
    .bind(kind)
    .bind(source)
    .execute(store.pool())
    .await
    .expect("insert event");
}

/// A merchant event about refund `id` due now, its type written as raw text.
async fn insert_outbox(store: &Store, id: &RefundId, event_type: &str) {
    sqlx::query(
        "INSERT INTO outbox (event_id, merchant_id, refund_id, event_type, payload, created_at, next_attempt_at) \
         VALUES ($1, 'acme', $2, $3, '{}', 0, 0)",
    )
    .bind(format!("evt_{}", uuid::Uuid::new_v4().simple()))
    .bind(id.to_string())
    .bind(event_type)
    .execute(store.pool())
    .await
    .expect("insert outbox event");
}

/// A refund with `failure_code` and one history line of `kind` from `source`.
async fn insert(store: &Store, failure_code: &str, kind: &str, source: &str) -> RefundId {
    let id = insert_refund(store, failure_code).await;
    insert_event(store, &id, kind, source).await;
    id
}

async fn read(
    store: &Store,
    id: &RefundId,
) -> (Stored<FailureCode>, Stored<EventKind>, Stored<EventSource>) {
    let refund = store
        .refund(id)
        .await
        .expect("read refund")
        .expect("refund exists");
    let events = store
        .refund_events_page(id, None, 10)
        .await
        .expect("read events");
    (
        refund.failure_code.expect("a failure code"),
        events[0].kind.clone(),
        events[0].source.clone(),
    )
}

/// The type of every merchant event due now, by claiming them all for delivery.
async fn claimed_event_types(store: &Store) -> Vec<Stored<MerchantEventType>> {
    let now = store.now();
    store
        .claim_due_outbox(now, now + 60_000, 100)
        .await
        .expect("claim outbox")
        .into_iter()
        .map(|row| row.event_type)
        .collect()
}

/// Every text of `column` in `table` (the vocabulary columns are TEXT on both backends).
async fn texts(store: &Store, column: &str, table: &str) -> Vec<String> {
    sqlx::query_scalar(&format!("SELECT {column} FROM {table} ORDER BY {column}"))
        .fetch_all(store.pool())
        .await
        .expect("read texts")
}

#[tokio::test]
async fn every_failure_code_kind_and_source_reads_back_as_the_word_written() {
    for (store, _dir) in stores().await {
        let sources = EventSource::ALL.iter().copied().cycle();
        let kinds = EventKind::ALL.iter().copied().cycle();
        // As many refunds as the longest vocabulary, so every word of each is written.
        let rows = FailureCode::ALL.len().max(EventKind::ALL.len());
        let codes = FailureCode::ALL.into_iter().cycle();
        for ((code, kind), source) in codes.zip(kinds).zip(sources).take(rows) {
            let id = insert(&store, code.as_str(), kind.as_str(), source.as_str()).await;
            assert_eq!(
                read(&store, &id).await,
                (
                    Stored::Known(code),
                    Stored::Known(kind),
                    Stored::Known(source)
                )
            );
        }
        store.close().await;
    }
}

#[tokio::test]
async fn every_merchant_event_type_reads_back_as_the_word_written() {
    for (store, _dir) in stores().await {
        // One event per refund: a claim takes only the oldest undelivered one of each.
        for event_type in MerchantEventType::ALL {
            let id = insert_refund(&store, "provider_failed").await;
            insert_outbox(&store, &id, event_type.as_str()).await;
        }
        let expected: Vec<_> = MerchantEventType::ALL
            .iter()
            .copied()
            .map(Stored::Known)
            .collect();
        assert_eq!(claimed_event_types(&store).await, expected);
        store.close().await;
    }
}

#[tokio::test]
async fn a_word_this_build_does_not_know_reads_back_verbatim() {
    for (store, _dir) in stores().await {
        let id = insert(
            &store,
            "card_expired_v2",
            "refund_exploded",
            "legacy_import",
        )
        .await;
        insert_outbox(&store, &id, "refund.exploded").await;
        let (code, kind, source) = read(&store, &id).await;
        assert_eq!(code, Stored::Unknown("card_expired_v2".into()));
        assert_eq!(kind, Stored::Unknown("refund_exploded".into()));
        assert_eq!(source, Stored::Unknown("legacy_import".into()));
        assert_eq!(code.as_str(), "card_expired_v2");
        assert_eq!(kind.as_str(), "refund_exploded");
        assert_eq!(
            claimed_event_types(&store).await,
            [Stored::Unknown("refund.exploded".into())]
        );
        store.close().await;
    }
}

#[tokio::test]
async fn every_word_the_store_writes_in_its_own_sql_is_one_the_code_knows() {
    for (store, _dir) in stores().await {
        // A refund's creation line and its `refund.created` event, written by the create
        // step's own SQL; then a delivery attempt's line, and the settlement and fee
        // postings, written by theirs.
        let refund = RefundRecord::sample(RefundStatus::Pending, Some(1299));
        let created = store
            .create_refund(&refund, None, None, true)
            .await
            .expect("create");
        assert!(
            matches!(created, CreateOutcome::Created { .. }),
            "{created:?}"
        );
        let now = store.now();
        let claimed = store
            .claim_due_outbox(now, now + 60_000, 10)
            .await
            .expect("claim outbox");
        assert_eq!(claimed.len(), 1, "{claimed:?}");
        assert_eq!(
            claimed[0].event_type,
            Stored::Known(MerchantEventType::Created)
        );
        store
            .record_delivery(&claimed[0], &Delivery::Delivered { status: 200 }, now)
            .await
            .expect("record delivery");
        let id = refund.id.to_string();
        assert_eq!(
            store
                .settle(std::slice::from_ref(&id), now)
                .await
                .expect("settle"),
            1
        );
        let fee = FeePosting {
            refund_id: id,
            fee_minor: 45,
        };
        assert_eq!(
            store.post_settlement_fees(&[fee], now).await.expect("fee"),
            1
        );

        let kinds = texts(&store, "kind", "refund_events").await;
        assert_eq!(kinds, ["created", "webhook_delivery"]);
        for kind in &kinds {
            assert!(EventKind::parse(kind).is_some(), "{kind}");
        }
        for source in texts(&store, "source", "refund_events").await {
            assert!(EventSource::parse(&source).is_some(), "{source}");
        }
        for event_type in texts(&store, "event_type", "outbox").await {
            assert!(
                MerchantEventType::parse(&event_type).is_some(),
                "{event_type}"
            );
        }
        let mut entries = texts(&store, "entry_kind", "ledger_entries").await;
        entries.dedup();
        assert_eq!(entries, ["fee_settled", "refund_settled", "settlement_fee"]);
        for entry in &entries {
            assert!(EntryKind::parse(entry).is_some(), "{entry}");
        }
        store.close().await;
    }
}
