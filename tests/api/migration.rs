//! Data recorded before accounts and payments existed migrates (DESIGN §14): each payment
//! refunded before gets its payment row, owned by the merchant that refunded it first, and
//! its refunds keep working under the new rules. On SQLite and PostgreSQL.

use std::path::{Path, PathBuf};

use serde_json::json;
use sqlx::Row;

use refund_gateway::store::Store;

use crate::both_backends;
use crate::helpers::{
    assert_error, fake, fresh_database, spawn_on, Db, Script, ACME_KEY, GLOBEX_KEY,
};

/// A folder holding only the migrations before 0004 (the schema of the previous release).
fn migrations_before_accounts(db: Db) -> PathBuf {
    let backend = match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    };
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let target = std::env::temp_dir().join(format!(
        "refund-gateway-old-migrations-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&target).expect("temp dir");
    for entry in std::fs::read_dir(&source).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name < "0004" {
            std::fs::copy(&path, target.join(name)).expect("copy");
        }
    }
    target
}

async fn insert_old_refund(pool: &sqlx::AnyPool, id: &str, merchant: &str, created_at: i64) {
    sqlx::query(
        "INSERT INTO refunds (id, merchant_id, provider, provider_reference, payment_id, amount, \
         amount_minor, currency, status, created_at, updated_at) \
         VALUES ($1, $2, 'scripted', $1, 'pay_old', '10.00', 1000, 'EUR', 'succeeded', $3, $3)",
    )
    .bind(id)
    .bind(merchant)
    .bind(created_at)
    .execute(pool)
    .await
    .expect("insert an old refund");
}

both_backends!(
    refunds_made_before_payments_existed_get_their_payment_rows,
    |db: Db| async move {
        let Some(url) = fresh_database(db).await else {
            return;
        };
        sqlx::any::install_default_drivers();
        let url = if db == Db::Sqlite {
            format!("{url}?mode=rwc")
        } else {
            url
        };
        let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
        let old = sqlx::migrate::Migrator::new(migrations_before_accounts(db))
            .await
            .expect("old migrations");
        old.run(&pool).await.expect("the previous release's schema");
        // Under the old contract two merchants could refund one payment id: the first
        // refund's merchant becomes the owner.
        insert_old_refund(&pool, "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d50", "acme", 1_000).await;
        insert_old_refund(
            &pool,
            "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d51",
            "globex",
            2_000,
        )
        .await;
        sqlx::query(
            "INSERT INTO webhook_receipts (provider, event_id, refund_id, received_at) \
             VALUES ('scripted', 'evt_old', NULL, 5)",
        )
        .execute(&pool)
        .await
        .expect("an old receipt");
        pool.close().await;

        let store = Store::connect(&url, 2)
            .await
            .expect("migrate to this release");
        let rows = sqlx::query("SELECT merchant_id, currency, account, amount_minor FROM payments")
            .fetch_all(store.pool())
            .await
            .expect("payments");
        assert_eq!(rows.len(), 1);
        let owner: String = rows[0].try_get("merchant_id").expect("owner");
        let account: String = rows[0].try_get("account").expect("account");
        let captured: Option<i64> = rows[0].try_get("amount_minor").expect("amount");
        assert_eq!(owner, "acme");
        assert_eq!(account, "default");
        assert_eq!(captured, None);
        let accounts: Vec<String> = sqlx::query_scalar("SELECT account FROM refunds")
            .fetch_all(store.pool())
            .await
            .expect("accounts");
        assert_eq!(accounts, ["default", "default"]);
        assert!(store
            .webhook_seen("scripted", "default", "evt_old")
            .await
            .expect("receipt"));
        store.close().await;

        let provider = fake(Script::Succeed);
        let app = spawn_on(url, provider.clone()).await;
        let body = json!({"payment_id": "pay_old", "amount": "1.00", "currency": "EUR"});
        assert_eq!(
            app.post_refund(ACME_KEY, None, &body)
                .await
                .status()
                .as_u16(),
            201
        );
        assert_error(
            app.post_refund(GLOBEX_KEY, None, &body).await,
            404,
            "payment_not_found",
        )
        .await;
        assert_eq!(provider.calls(), 1);
    }
);
