//! The sample statements of `fixtures/statements/`, each in its provider's own format, read
//! with the formats the embedded default ships (`config/gateway.toml`; Stripe's from
//! `fixtures/statements/stripe.toml`), against the refunds their README lists: seeded in the
//! store, then reconciled through the API (e-Buy's GBK file as `application/octet-stream`),
//! on SQLite and PostgreSQL.

use serde_json::{json, Value};

use refund_gateway::config::{Config, EMBEDDED_DEFAULT};
use refund_gateway::domain::RefundRecord;
use refund_gateway::reconcile::statement::{reconcile, CollectSink, Options};
use refund_gateway::store::Store;
use refund_provider::{ProviderRefundStatus, RefundId};

use super::ledger::report;
use crate::both_backends;
use crate::helpers::{fresh_database, pending_record, spawn_config, Db, TestApp};

const OPERATOR: &str = "sk_sandbox_operator";

/// A refund as a provider's statement names it: the gateway's reference (a refund id, or
/// e-Buy's refundTradeNo), the provider's id, amount in minor units, currency, and the
/// status it reached.
pub struct Seed {
    pub provider: &'static str,
    pub reference: &'static str,
    pub provider_refund_id: Option<&'static str>,
    pub minor: i64,
    pub currency: &'static str,
    pub status: ProviderRefundStatus,
}

const fn seed(
    provider: &'static str,
    reference: &'static str,
    provider_refund_id: Option<&'static str>,
    minor: i64,
    currency: &'static str,
    status: ProviderRefundStatus,
) -> Seed {
    Seed {
        provider,
        reference,
        provider_refund_id,
        minor,
        currency,
        status,
    }
}

use ProviderRefundStatus::{Canceled, Failed, Processing, Succeeded};

pub const EFUNDPAY: [Seed; 6] = [
    seed(
        "efundpay",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4e01",
        Some("6a1d4e46-14ed-4fe1-a45f-eff4e025d201"),
        1299,
        "EUR",
        Succeeded,
    ),
    seed(
        "efundpay",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4e02",
        Some("6a1d4e46-14ed-4fe1-a45f-eff4e025d202"),
        2500,
        "EUR",
        Succeeded,
    ),
    seed(
        "efundpay",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4e03",
        Some("6a1d4e46-14ed-4fe1-a45f-eff4e025d203"),
        1000,
        "USD",
        Succeeded,
    ),
    seed(
        "efundpay",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4e04",
        Some("6a1d4e46-14ed-4fe1-a45f-eff4e025d204"),
        500,
        "USD",
        Succeeded,
    ),
    seed(
        "efundpay",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4e05",
        Some("6a1d4e46-14ed-4fe1-a45f-eff4e025d205"),
        4040,
        "EUR",
        Failed,
    ),
    seed(
        "efundpay",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4e06",
        Some("6a1d4e46-14ed-4fe1-a45f-eff4e025d206"),
        8080,
        "EUR",
        Canceled,
    ),
];

const EBUY: [Seed; 4] = [
    seed(
        "ebuy",
        "20261123000000000000000000000001",
        None,
        800,
        "CNY",
        Succeeded,
    ),
    seed(
        "ebuy",
        "20261123000000000000000000000002",
        None,
        1500,
        "CNY",
        Succeeded,
    ),
    seed(
        "ebuy",
        "20261123000000000000000000000003",
        None,
        1999,
        "CNY",
        Failed,
    ),
    seed(
        "ebuy",
        "20261123000000000000000000000004",
        None,
        5000,
        "CNY",
        Processing,
    ),
];

const AUTHMS: [Seed; 5] = [
    seed(
        "authms",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4a11",
        Some("tx_01JD2K7Q8R9S0T1V2W3X4Y5Z61"),
        5000,
        "CNY",
        Succeeded,
    ),
    seed(
        "authms",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4a12",
        Some("tx_01JD2K7Q8R9S0T1V2W3X4Y5Z62"),
        1999,
        "CNY",
        Succeeded,
    ),
    seed(
        "authms",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4a13",
        Some("tx_01JD2K7Q8R9S0T1V2W3X4Y5Z63"),
        500,
        "CNY",
        Succeeded,
    ),
    seed(
        "authms",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4a14",
        Some("tx_01JD2K7Q8R9S0T1V2W3X4Y5Z64"),
        1313,
        "CNY",
        Failed,
    ),
    seed(
        "authms",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4a15",
        Some("tx_01JD2K7Q8R9S0T1V2W3X4Y5Z65"),
        700,
        "CNY",
        Succeeded,
    ),
];

const STRIPE: [Seed; 4] = [
    seed(
        "stripe",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4f01",
        Some("re_3QGzA1LkdIwHu7ix1f2e3d4c"),
        1299,
        "EUR",
        Succeeded,
    ),
    seed(
        "stripe",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4f02",
        Some("re_3QGzA1LkdIwHu7ix1f2e3d4d"),
        2500,
        "EUR",
        Succeeded,
    ),
    seed(
        "stripe",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4f03",
        Some("re_3QGzA1LkdIwHu7ix1f2e3d4e"),
        4000,
        "USD",
        Succeeded,
    ),
    seed(
        "stripe",
        "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4f04",
        Some("re_3QGzA1LkdIwHu7ix1f2e3d4f"),
        905,
        "EUR",
        Succeeded,
    ),
];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/statements/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The refund a seed describes, for merchant `demo`, pending.
fn record(seed: &Seed) -> RefundRecord {
    RefundRecord {
        id: RefundId::parse(seed.reference).unwrap_or_else(|_| RefundId::generate()),
        merchant_id: "demo".into(),
        provider_refund_id: seed.provider_refund_id.map(str::to_owned),
        provider_reference: seed.reference.into(),
        payment_id: format!("pay_{}", seed.reference),
        ..pending_record(seed.provider, seed.currency, seed.minor, "")
    }
}

/// Seeds the refunds into the store at `url` with their final statuses.
pub async fn seed_refunds(url: &str, seeds: &[Seed]) {
    let store = Store::connect(url, 1).await.expect("store");
    for seed in seeds {
        let record = record(seed);
        store
            .create_refund(&record, None, None, false)
            .await
            .expect("create");
        report(&store, &record.id, seed.status).await;
    }
    store.close().await;
}

/// The embedded default (its three simulators in-process) on a fresh database.
async fn sandbox_gateway(db: Db) -> Option<(TestApp, String)> {
    let url = fresh_database(db).await?;
    let toml = EMBEDDED_DEFAULT
        .replace("sqlite://data/refund-gateway.db", &url)
        .replace("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:0\"");
    Some((spawn_config(&toml).await, url))
}

async fn post(app: &TestApp, provider: &str, body: Vec<u8>, content_type: &str) -> Value {
    let response =
        crate::reconciliation::post_statement(app, OPERATOR, provider, "", body, content_type)
            .await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("json")
}

fn counts(report: &Value) -> Vec<(String, u64)> {
    report["by_kind"]
        .as_object()
        .expect("by_kind")
        .iter()
        .filter_map(|(kind, total)| {
            let n = total["count"].as_u64().unwrap_or(0);
            (n > 0).then(|| (kind.clone(), n))
        })
        .collect()
}

fn owned(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

both_backends!(
    the_efundpay_sample_reconciles_its_batches_and_fees_through_the_api,
    |db: Db| async move {
        let Some((app, url)) = sandbox_gateway(db).await else {
            return;
        };
        seed_refunds(&url, &EFUNDPAY).await;
        let report = post(&app, "efundpay", fixture("efundpay.csv"), "text/csv").await;
        assert_eq!(report["malformed_count"], 0, "{report}");
        assert_eq!(counts(&report), owned(&[("batch_mismatch", 1)]), "{report}");
        assert_eq!(report["matched"]["count"], 4, "{report}");
        assert_eq!(report["batches"], json!({"count": 2, "matched": 1}));
        assert_eq!(
            report["settlement"],
            json!({"settled": 2, "already_settled": 0, "fees_posted": 1})
        );
        let batch = &report["variances"][0];
        assert_eq!(batch["batch"], "STL-20261123-USD");
        assert_eq!(
            (batch["expected"].as_str(), batch["actual"].as_str()),
            (Some("15.00"), Some("15.50"))
        );
        assert_eq!(batch["members"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            report["period"],
            json!({"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"})
        );
    }
);

both_backends!(
    the_ebuy_sample_in_gbk_reconciles_with_its_fees_through_the_api,
    |db: Db| async move {
        let Some((app, url)) = sandbox_gateway(db).await else {
            return;
        };
        seed_refunds(&url, &EBUY).await;
        let bytes = fixture("ebuy.csv");
        assert!(std::str::from_utf8(&bytes).is_err(), "the sample is GBK");
        let report = post(&app, "ebuy", bytes, "application/octet-stream").await;
        assert_eq!(report["malformed_count"], 0, "{report}");
        assert_eq!(
            counts(&report),
            owned(&[("missing_in_gateway", 1), ("status_mismatch", 1)]),
            "{report}"
        );
        assert_eq!(report["matched"]["count"], 3);
        assert_eq!(
            report["settlement"],
            json!({"settled": 2, "already_settled": 0, "fees_posted": 2})
        );
        let status = report["variances"]
            .as_array()
            .expect("variances")
            .iter()
            .find(|v| v["kind"] == "status_mismatch")
            .expect("status_mismatch");
        assert_eq!(
            (
                status["expected"].as_str(),
                status["actual"].as_str(),
                status["line"].as_u64()
            ),
            (Some("processing"), Some("succeeded"), Some(7))
        );
        // China time: 18:00 to 21:10 on the 23rd at UTC+8 is 10:00 to 13:10 UTC.
        assert_eq!(
            report["period"],
            json!({"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"})
        );
        assert_eq!(
            report["fees"],
            json!({"count": 4, "amounts": [{"currency": "CNY", "amount": "0.44"}]})
        );
    }
);

both_backends!(
    the_authms_sample_reconciles_through_the_api,
    |db: Db| async move {
        let Some((app, url)) = sandbox_gateway(db).await else {
            return;
        };
        seed_refunds(&url, &AUTHMS).await;
        let report = post(&app, "authms", fixture("authms.csv"), "text/csv").await;
        assert_eq!(report["malformed_count"], 0, "{report}");
        assert_eq!(
            counts(&report),
            owned(&[("amount_mismatch", 1), ("currency_mismatch", 1)]),
            "{report}"
        );
        assert_eq!(report["matched"]["count"], 3);
        assert_eq!(report["settlement"]["settled"], 2);
    }
);

#[tokio::test]
async fn the_stripe_sample_reconciles_with_the_format_of_its_fixture() {
    let url = fresh_database(Db::Sqlite).await.expect("sqlite");
    seed_refunds(&url, &STRIPE).await;
    let format_file = String::from_utf8(fixture("stripe.toml")).expect("utf-8");
    let config = Config::from_toml(&format!(
        "[providers.stripe]\nbase_url = \"https://api.stripe.com\"\n{format_file}"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let store = Store::connect(&url, 1).await.expect("store");
    let options = Options {
        provider: "stripe".into(),
        merchant_id: None,
        period: None,
        settle: true,
        format: config.statement_format("stripe"),
    };
    let mut sink = CollectSink::default();
    let bytes = fixture("stripe.csv");
    let summary = reconcile(&store, options, bytes.as_slice(), &mut sink, |_| {})
        .await
        .expect("reconcile");
    assert_eq!(summary.malformed_count, 0, "{:?}", sink.malformed);
    let kinds: Vec<&str> = sink.variances.iter().map(|v| v.kind.as_str()).collect();
    assert_eq!(kinds, vec!["amount_mismatch"]);
    assert_eq!(
        (
            sink.variances[0].expected.as_deref(),
            sink.variances[0].actual.as_deref()
        ),
        (Some("9.05"), Some("9.50"))
    );
    assert_eq!((summary.batches.count, summary.batches.matched), (2, 2));
    assert_eq!(summary.matched.count, 3);
    assert_eq!(summary.settlement.map(|s| s.settled), Some(3));
    store.close().await;
}

fn cli(args: &[&str]) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_refund-gateway"))
        .args(args)
        .output()
        .expect("run the gateway binary");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

both_backends!(
    the_efundpay_sample_reconciles_through_the_cli_and_a_second_run_settles_nothing,
    |db: Db| async move {
        let Some(url) = fresh_database(db).await else {
            return;
        };
        seed_refunds(&url, &EFUNDPAY).await;
        let dir = std::env::temp_dir().join(format!("rg-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let config = dir.join("gateway.toml");
        std::fs::write(
            &config,
            EMBEDDED_DEFAULT.replace("sqlite://data/refund-gateway.db", &url),
        )
        .expect("write config");
        let statement = format!(
            "{}/fixtures/statements/efundpay.csv",
            env!("CARGO_MANIFEST_DIR")
        );
        let args = |format: &'static str| {
            vec![
                "reconcile".to_owned(),
                "--config".to_owned(),
                config.display().to_string(),
                "--provider".to_owned(),
                "efundpay".to_owned(),
                "--statement".to_owned(),
                statement.clone(),
                "--format".to_owned(),
                format.to_owned(),
            ]
        };
        let first = args("json");
        let (code, out, err) = cli(&first.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, Some(2), "variances exit 2: {err}");
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(report["variances"][0]["kind"], "batch_mismatch", "{report}");
        assert_eq!(report["matched"]["count"], 4);
        assert_eq!(
            report["settlement"],
            json!({"settled": 2, "already_settled": 0, "fees_posted": 1})
        );
        let second = args("csv");
        let (code, out, err) = cli(&second.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, Some(2), "{err}");
        assert!(
            out.starts_with("kind,refund_id,provider_refund_id,expected,actual,currency,line,message,batch,members\n"),
            "{out}"
        );
        assert!(
            out.contains("batch_mismatch,,,15.00,15.50,USD,7,,STL-20261123-USD,5:rf_0192f5e4c1b87a3e9d5c2f1a0b3c4e03 6:rf_0192f5e4c1b87a3e9d5c2f1a0b3c4e04"),
            "{out}"
        );
        assert!(
            err.contains("already settled: 2; fees posted: 0"),
            "nothing twice: {err}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
);

#[test]
fn the_dry_run_shows_how_the_ebuy_sample_is_read_without_a_database() {
    let statement = format!(
        "{}/fixtures/statements/ebuy.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let config = format!("{}/config/gateway.toml", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = cli(&[
        "reconcile",
        "--config",
        &config,
        "--provider",
        "ebuy",
        "--statement",
        &statement,
        "--dry-run",
        "--lines",
        "3",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("format of ebuy: delimiter ',', gbk, skip 2 row(s)"),
        "{out}"
    );
    assert!(
        out.contains("provider_reference=20261123000000000000000000000001; amount=800"),
        "the raw cells, decoded: {out}"
    );
    assert!(
        out.contains("→ reference 20261123000000000000000000000001, 8.00 CNY, succeeded, settled 2026-11-23T10:00:00Z, fee 0.04"),
        "{out}"
    );
    assert!(out.contains("3 line(s) shown, 0 refused"), "{out}");

    // A file that does not fit: each refused line says why.
    let dir = std::env::temp_dir().join(format!("rg-dry-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "settlement_batch,refund_id,external_identifier,transaction_id,amount,currency,status,fee,settled_at\n\
         ,efp_1,rf_1,pay_1,12.99,EUR,SETTLED,,1795428000\n\
         ,efp_2,rf_2,pay_2,1299,EUR,PAID,,1795428000\n",
    )
    .expect("write");
    let (code, out, _) = cli(&[
        "reconcile",
        "--config",
        &config,
        "--provider",
        "efundpay",
        "--statement",
        &bad.display().to_string(),
        "--dry-run",
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("✗ refused: amount `12.99` is not a whole number of minor units"),
        "{out}"
    );
    assert!(
        out.contains("✗ refused: status `PAID` is not one of the format's words"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn check_config_reports_every_problem_of_a_statement_format_with_its_key_path() {
    let dir = std::env::temp_dir().join(format!("rg-cc-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("statements.toml");
    std::fs::write(
        &path,
        r#"
[providers.efundpay]
base_url = "https://api.efundpay.example"
token = "t"
merchant_account_id = "m"
webhook_secret = "s"

[statements.efundpay]
encoding = "latin1"
amount_unit = "cents"
timezone = "Asia/Shanghai"
[statements.efundpay.columns]
amount = "amount"
fee = "amount"
[statements.efundpay.status]
SETTLED = "paid"

[statements.nowhere]
"#,
    )
    .expect("write");
    let (code, out, err) = cli(&["check-config", "--config", &path.display().to_string()]);
    assert_eq!(code, Some(1), "{out}{err}");
    for key in [
        "statements.efundpay.encoding",
        "statements.efundpay.amount_unit",
        "statements.efundpay.timezone",
        "statements.efundpay.columns.fee",
        "statements.efundpay.columns.currency",
        "statements.efundpay.columns:",
        "statements.efundpay.status.SETTLED",
        "statements.nowhere",
    ] {
        assert!(out.contains(key), "{key} missing from:\n{out}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
