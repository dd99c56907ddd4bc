//! Criterion benches of the gateway's hot paths: money parsing and minor-unit conversion,
//! e-Buy envelope signing and verification, eFundPay webhook verification, and the
//! create-refund path (engine + store + the test kit's `FakeProvider`, answering at once).
//!
//! Run with `cargo bench --bench hot_paths` (not in CI). The create-refund bench uses a
//! SQLite file in the temp directory, not `sqlite::memory:`: an in-memory database is one
//! database per connection, so it could not have the store's writer connection and group
//! commit; its figure therefore includes the two durable commits (fsync) of a refund.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::HeaderMap;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use refund_gateway::config::Config;
use refund_gateway::domain::IdempotencyKey;
use refund_gateway::engine::{CreateCommand, Engine};
use refund_gateway::metrics::Metrics;
use refund_gateway::providers::ProviderRegistry;
use refund_gateway::store::Store;
use refund_provider::signature::sign_header;
use refund_provider::testkit::{FakeProvider, Script};
use refund_provider::{Currency, MinorUnits, Money, PaymentId};

fn money(c: &mut Criterion) {
    let eur = Currency::parse("EUR").expect("EUR");
    let jpy = Currency::parse("JPY").expect("JPY");
    let kwd = Currency::parse("KWD").expect("KWD");
    let mut group = c.benchmark_group("money");
    group.bench_function("parse EUR 12.99", |b| {
        b.iter(|| Money::parse(std::hint::black_box("12.99"), eur))
    });
    group.bench_function("parse KWD 1234.567", |b| {
        b.iter(|| Money::parse(std::hint::black_box("1234.567"), kwd))
    });
    group.bench_function("refuse JPY 10.5", |b| {
        b.iter(|| Money::parse(std::hint::black_box("10.5"), jpy))
    });
    group.bench_function("currency parse", |b| {
        b.iter(|| Currency::parse(std::hint::black_box("EUR")))
    });
    let amount = Money::parse("12.99", eur).expect("amount");
    group.bench_function("to minor units", |b| {
        b.iter(|| std::hint::black_box(amount).minor_units().get())
    });
    group.bench_function("major string", |b| {
        b.iter(|| std::hint::black_box(amount).to_major_string())
    });
    let minor = MinorUnits::new(1299).expect("minor");
    group.bench_function("from minor units", |b| {
        b.iter(|| Money::from_minor(std::hint::black_box(minor), eur))
    });
    group.finish();
}

/// A refund envelope shaped like the adapter's (fixtures/ebuy).
fn ebuy_envelope() -> Map<String, Value> {
    let value = json!({
        "appId": "10001",
        "method": "refund",
        "lang": "zh_CN",
        "signType": "sha256",
        "timestamp": "20250317120000",
        "version": "1.0",
        "content": {
            "outTradeNo": "ORDER20250317001",
            "outRefundNo": "rf_01JPZ3W4Q8X2M5N7B9C1D3E5F7",
            "tradeDate": "20250317",
            "refundAmount": "8.00",
            "currency": "CNY",
            "refundReason": "Product return",
            "refundMethod": [{"assetType": "cash", "amount": "8.00"}],
            "goodsDetail": [{"goodsId": "G-1", "goodsName": "Tea", "goodsNum": 1}]
        }
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn ebuy_signature(c: &mut Criterion) {
    let secret = "sandbox-ebuy-secret";
    let envelope = ebuy_envelope();
    let mut signed = envelope.clone();
    provider_ebuy::sign::sign_in_place(&mut signed, secret);
    let signed = Value::Object(signed);
    let mut group = c.benchmark_group("ebuy");
    group.bench_function("sign", |b| {
        b.iter(|| provider_ebuy::sign::sign(std::hint::black_box(&envelope), secret))
    });
    group.bench_function("verify", |b| {
        b.iter(|| provider_ebuy::sign::verify(std::hint::black_box(&signed), secret))
    });
    group.finish();
}

fn efundpay_webhook(c: &mut Criterion) {
    let secret = b"sandbox-efundpay-whsec";
    let now = OffsetDateTime::now_utc();
    let body = serde_json::to_vec(&json!({
        "id": "evt_0123456789",
        "type": "refund.updated",
        "created_at": "2025-03-17T12:00:00.000+00:00",
        "data": {
            "type": "refund", "id": "rfd_123", "transaction_id": "pay_1", "status": "succeeded",
            "currency": "EUR", "amount": 1299, "reason": "requested_by_customer",
            "external_identifier": "rf_01JPZ3W4Q8X2M5N7B9C1D3E5F7",
            "transaction_external_identifier": "order-1",
            "created_at": "2025-03-17T12:00:00.000+00:00"
        }
    }))
    .expect("body");
    let mut headers = HeaderMap::new();
    let header = sign_header(secret, now.unix_timestamp(), &body);
    headers.insert(
        provider_efundpay::SIGNATURE_HEADER,
        header.parse().expect("header value"),
    );
    let mut group = c.benchmark_group("efundpay webhook");
    group.bench_function("sign header", |b| {
        b.iter(|| sign_header(secret, now.unix_timestamp(), std::hint::black_box(&body)))
    });
    group.bench_function("verify and parse", |b| {
        b.iter(|| {
            provider_efundpay::webhook::verify(
                &headers,
                std::hint::black_box(&body),
                now,
                &[secret],
            )
        })
    });
    group.finish();
}

fn create_refund(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = refund_test_support::temp_dir("refund-gateway-criterion-");
    let url = refund_test_support::sqlite_url(&dir);
    let config = Config::from_toml(&format!(
        "[database]\nurl = \"{url}\"\n\n[[merchants]]\nid = \"bench\"\napi_key = \"sk_bench\"\n\n\
         [providers.instant]\nbase_url = \"http://127.0.0.1:9\"\n\n[[routes]]\nprovider = \"instant\"\n"
    ))
    .expect("config");
    let engine = runtime.block_on(async {
        let store = Store::connect(&config.database.url, config.database.max_connections)
            .await
            .expect("store");
        let mut registry = ProviderRegistry::default();
        // The test kit's fake, accepting every refund at once: the bench measures the gateway.
        registry.insert(Arc::new(FakeProvider::new("instant", Script::Succeed)));
        Engine::new(
            store,
            Arc::new(registry),
            Arc::new(config.clone()),
            Arc::new(Metrics::default()),
        )
    });
    let merchant = config.merchants[0].clone();
    let eur = Currency::parse("EUR").expect("EUR");
    let mut sequence = 0u64;
    let mut group = c.benchmark_group("create refund");
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("sqlite temp file, instant provider", |b| {
        b.iter_batched(
            || {
                sequence += 1;
                CreateCommand {
                    payment_id: PaymentId::parse(&format!("pay_{sequence}")).expect("payment id"),
                    amount: Some(Money::parse("12.99", eur).expect("amount")),
                    payment_amount: None,
                    currency: eur,
                    reason: None,
                    reference: None,
                    customer_id: None,
                    metadata: json!({}),
                    provider: None,
                    provider_options: Value::Null,
                    idempotency_key: IdempotencyKey::parse(&format!("key-{sequence}")),
                    fingerprint: format!("fp-{sequence}"),
                }
            },
            |command| {
                runtime
                    .block_on(engine.create_refund(&merchant, command))
                    .expect("created")
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    runtime.block_on(engine.store.close());
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(
    benches,
    money,
    ebuy_signature,
    efundpay_webhook,
    create_refund
);
criterion_main!(benches);
