//! The store boundary of the closed vocabularies: failure codes and event sources are TEXT in
//! the database and enums in the code; every word reads back as itself, and a word this build
//! does not know (an old or newer database) reads back verbatim instead of failing.

use refund_provider::{FailureCode, RefundId};

use crate::domain::{EventSource, Stored};
use crate::store::Store;

async fn store() -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "refund-gateway-vocabulary-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let url = format!("sqlite://{}/gateway.db", dir.display());
    let store = Store::connect(&url, 2).await.expect("store");
    (store, dir)
}

/// A failed refund with `failure_code` and one history line from `source`, written as raw text.
async fn insert(store: &Store, failure_code: &str, source: &str) -> RefundId {
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
    sqlx::query(
        "INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
         VALUES ($1, 'status_changed', 'failed', 'pending', $2, '{}', 0)",
    )
    .bind(id.to_string())
    .bind(source)
    .execute(store.pool())
    .await
    .expect("insert event");
    id
}

async fn read(store: &Store, id: &RefundId) -> (Stored<FailureCode>, Stored<EventSource>) {
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
        events[0].source.clone(),
    )
}

#[tokio::test]
async fn every_failure_code_and_source_reads_back_as_the_word_written() {
    let (store, dir) = store().await;
    for (code, source) in FailureCode::ALL
        .into_iter()
        .zip(EventSource::ALL.into_iter().cycle())
    {
        let id = insert(&store, code.as_str(), source.as_str()).await;
        assert_eq!(
            read(&store, &id).await,
            (Stored::Known(code), Stored::Known(source))
        );
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_word_this_build_does_not_know_reads_back_verbatim() {
    let (store, dir) = store().await;
    let id = insert(&store, "card_expired_v2", "legacy_import").await;
    let (code, source) = read(&store, &id).await;
    assert_eq!(code, Stored::Unknown("card_expired_v2".into()));
    assert_eq!(source, Stored::Unknown("legacy_import".into()));
    assert_eq!(code.as_str(), "card_expired_v2");
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
