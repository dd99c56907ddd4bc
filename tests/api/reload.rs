//! Reload without restart, key rotation and expiry (DESIGN §18), on both backends: a valid
//! file is applied whole (a merchant's key and its route appear together, under load too),
//! an invalid one changes nothing, restart-only changes are reported, every applied reload
//! is audited, and a key is rotated without one refused request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use refund_gateway::reload::{ReloadError, Reloaded};
use serde_json::{json, Value};

use crate::helpers::{fresh_database, spawn_reloadable, Db, TestApp};

const OPERATOR: &str = "sk_reload_operator";

/// The key of extra merchant `i`.
fn key_of(i: usize) -> String {
    format!("sk_reload_merchant_{i}")
}

/// A sandbox configuration: merchant `acme` (with `acme_keys`), `extra` more merchants
/// `m1..` each with a route of its own, the AuthMS simulator in-process, rate limits off.
fn config(database_url: &str, acme_keys: &str, extra: usize, tail: &str) -> String {
    let mut merchants = String::new();
    let mut routes = String::new();
    for i in 1..=extra {
        merchants.push_str(&format!(
            "[[merchants]]\nid = \"m{i}\"\napi_key = \"{}\"\n",
            key_of(i)
        ));
        routes.push_str(&format!(
            "[[routes]]\nprovider = \"authms\"\nmerchant = [\"m{i}\"]\ncurrency = [\"CNY\"]\n"
        ));
    }
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
rate_limit_per_second = 0
[database]
url = "{database_url}"
[[merchants]]
id = "acme"
{acme_keys}
{merchants}
[[operators]]
id = "finance"
api_key = "{OPERATOR}"
[providers.authms]
base_url = "sandbox"
token = "sandbox-authms-token"
transfer_source_user_id = "usr_merchant"
shared_account = true
[[routes]]
provider = "authms"
merchant = ["acme"]
currency = ["CNY"]
{routes}
{tail}
"#
    )
}

const ACME_KEY: &str = "api_key = \"sk_reload_acme\"";

fn refund_body(n: u64) -> Value {
    json!({"payment_id": format!("txn_reload_{n}"), "amount": "1.00", "currency": "CNY",
           "customer_id": format!("usr_{n}")})
}

async fn post(app: &TestApp, key: &str, n: u64) -> u16 {
    app.post_refund(key, None, &refund_body(n))
        .await
        .status()
        .as_u16()
}

async fn metrics(app: &TestApp) -> String {
    app.request(reqwest::Method::GET, "/metrics")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

async fn a_reload_applies_a_merchant_and_its_route_together_and_is_audited(db: Db) {
    let Some(url) = fresh_database(db).await else {
        return;
    };
    let (app, reloader, engine) = spawn_reloadable(&config(&url, ACME_KEY, 0, "")).await;
    let simulators = engine.providers().sandbox_urls();
    assert_eq!(
        post(&app, &key_of(1), 1).await,
        401,
        "m1 is not configured yet"
    );
    let reloaded = reloader
        .reload_text(&config(&url, ACME_KEY, 1, ""))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let Reloaded::Applied {
        generation,
        changes,
    } = reloaded
    else {
        panic!("not applied: {reloaded:?}");
    };
    assert_eq!(generation, 2);
    assert_eq!(changes.sections, ["merchants", "routes"]);
    assert_eq!(post(&app, &key_of(1), 2).await, 201, "m1's key and route");
    assert_eq!(post(&app, "sk_reload_acme", 3).await, 201);
    // The in-process simulator was kept, not restarted on another port.
    assert_eq!(engine.current().providers().sandbox_urls(), simulators);
    let text = metrics(&app).await;
    assert!(
        text.contains("refund_gateway_config_reloads_total{result=\"applied\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("refund_gateway_config_generation 2"),
        "{text}"
    );

    let audit = app
        .get_json(OPERATOR, "/v1/audit_events?kind=config.reloaded")
        .await;
    let entries = audit["data"].as_array().expect("data");
    assert_eq!(entries.len(), 1, "{audit}");
    let entry = &entries[0];
    assert_eq!(entry["object"], "audit_event");
    assert_eq!(entry["actor"], "signal");
    assert_eq!(entry["kind"], "config.reloaded");
    assert_eq!(entry["target"], Value::Null);
    assert_eq!(entry["detail"]["generation"], 2);
    assert_eq!(entry["detail"]["sections"], json!(["merchants", "routes"]));
    assert_eq!(entry["detail"]["merchants"]["added"], json!(["m1"]));
    assert!(!audit.to_string().contains("sk_reload"), "a key in {audit}");
}

async fn an_invalid_file_changes_nothing_and_names_every_problem(db: Db) {
    let Some(url) = fresh_database(db).await else {
        return;
    };
    let (app, reloader, engine) = spawn_reloadable(&config(&url, ACME_KEY, 0, "")).await;
    let broken = config(&url, ACME_KEY, 1, "[sync]\npoll_interval_ms = 0\n").replace(
        "provider = \"authms\"\nmerchant = [\"m1\"]",
        "provider = \"nowhere\"\nmerchant = [\"m1\"]",
    );
    let Err(ReloadError::Invalid(problems)) = reloader.reload_text(&broken).await else {
        panic!("an invalid file was applied");
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"sync.poll_interval_ms"), "{keys:?}");
    assert!(keys.contains(&"routes[1].provider"), "{keys:?}");
    // Nothing of it: not m1's key (valid in itself), and still generation 1.
    assert_eq!(post(&app, &key_of(1), 1).await, 401);
    assert_eq!(post(&app, "sk_reload_acme", 2).await, 201);
    assert_eq!(engine.current().snapshot().generation, 1);
    let text = metrics(&app).await;
    assert!(
        text.contains("refund_gateway_config_reloads_total{result=\"invalid\"} 1"),
        "{text}"
    );
    let audit = app.get_json(OPERATOR, "/v1/audit_events").await;
    assert_eq!(audit["data"], json!([]), "{audit}");
}

async fn restart_only_changes_are_reported_and_left_for_the_restart(db: Db) {
    let Some(url) = fresh_database(db).await else {
        return;
    };
    let first = config(&url, ACME_KEY, 0, "");
    let (app, reloader, engine) = spawn_reloadable(&first).await;
    let moved = first
        .replace(
            "listen = \"127.0.0.1:0\"",
            "listen = \"127.0.0.1:1\"\nmax_connections = 7",
        )
        .replace(
            &format!("url = \"{url}\""),
            &format!("url = \"{url}\"\nmax_connections = 3"),
        );
    let reloaded = reloader
        .reload_text(&moved)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let Reloaded::Unchanged { changes } = reloaded else {
        panic!("applied: {reloaded:?}");
    };
    assert_eq!(
        changes.restart_required,
        ["database", "server.listen", "server.max_connections"]
    );
    let running = engine.current();
    assert_eq!(running.config().database.max_connections, 8);
    assert_eq!(post(&app, "sk_reload_acme", 1).await, 201);
}

async fn a_key_is_rotated_without_one_refused_request(db: Db) {
    let Some(url) = fresh_database(db).await else {
        return;
    };
    let old = "sk_rotation_old";
    let new = "sk_rotation_new";
    let hash = |key: &str| hex(&refund_gateway::config::hash_api_key(key));
    let only_old = format!("api_key_sha256 = \"{}\"", hash(old));
    let both = format!(
        "api_key_sha256 = \"{}\"\napi_keys = [{{sha256 = \"{}\", expires_at = \"2999-01-01T00:00:00Z\"}}]",
        hash(old),
        hash(new)
    );
    let only_new = format!("api_keys = [{{sha256 = \"{}\"}}]", hash(new));
    let (app, reloader, _) = spawn_reloadable(&config(&url, &only_old, 0, "")).await;
    let app = Arc::new(app);
    // The client sends refunds back to back with whichever key it holds.
    let current = Arc::new(std::sync::Mutex::new(old.to_owned()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (app, current, stop) = (app.clone(), current.clone(), stop.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = current.lock().expect("key").clone();
                n += 1;
                statuses.push((key.clone(), post(&app, &key, n).await));
            }
            statuses
        })
    };
    let settle = || tokio::time::sleep(Duration::from_millis(150));
    settle().await;
    reloader
        .reload_text(&config(&url, &both, 0, ""))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    settle().await;
    *current.lock().expect("key") = new.to_owned();
    settle().await;
    reloader
        .reload_text(&config(&url, &only_new, 0, ""))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    settle().await;
    stop.store(true, Ordering::Relaxed);
    let statuses = client.await.expect("client");
    assert!(statuses.iter().any(|(k, _)| k == old) && statuses.iter().any(|(k, _)| k == new));
    let refused: Vec<_> = statuses.iter().filter(|(_, s)| *s != 201).collect();
    assert!(
        refused.is_empty(),
        "refused during the rotation: {refused:?}"
    );
    assert_eq!(post(&app, old, 999_999).await, 401, "the old key is gone");
}

async fn an_expired_key_is_api_key_expired_and_me_tells_when_a_key_expires(db: Db) {
    let Some(url) = fresh_database(db).await else {
        return;
    };
    let hash = |key: &str| hex(&refund_gateway::config::hash_api_key(key));
    let keys = format!(
        "api_keys = [{{sha256 = \"{}\", expires_at = \"2020-01-31T00:00:00Z\"}}, {{sha256 = \"{}\", expires_at = 2999-01-31T00:00:00Z}}]",
        hash("sk_expired"),
        hash("sk_valid")
    );
    let (app, _, _) = spawn_reloadable(&config(&url, &keys, 0, "")).await;
    let error = crate::helpers::assert_error(
        app.post_refund("sk_expired", None, &refund_body(1)).await,
        401,
        "api_key_expired",
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("2020-01-31T00:00:00Z"),
        "{error}"
    );
    let me = app.get_json("sk_valid", "/v1/me").await;
    assert_eq!(me["id"], "acme");
    assert_eq!(me["key_expires_at"], "2999-01-31T00:00:00Z");
    assert_eq!(
        app.get_json(OPERATOR, "/v1/me").await["key_expires_at"],
        Value::Null
    );
}

/// 200 refunds a second for `duration` while the file is reloaded `reloads` times, each
/// reload adding merchant `m{i}` with its key AND its route. No request may fail; a new
/// merchant's request is either not yet authenticated (401) or fully served (201): a 422
/// `no_route` would be a key seen without its route, half a reload.
async fn reload_under_load(db: Db, duration: Duration, reloads: usize) {
    let Some(url) = fresh_database(db).await else {
        return;
    };
    let (app, reloader, engine) = spawn_reloadable(&config(&url, ACME_KEY, 0, "")).await;
    let app = Arc::new(app);
    let published = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let interval = duration / u32::try_from(reloads).unwrap_or(1);
    let reloading = {
        let (published, url) = (published.clone(), url.clone());
        tokio::spawn(async move {
            for i in 1..=reloads {
                tokio::time::sleep(interval.saturating_sub(Duration::from_millis(5))).await;
                reloader
                    .reload_text(&config(&url, ACME_KEY, i, ""))
                    .await
                    .unwrap_or_else(|e| panic!("reload {i}: {e}"));
                published.store(i as u64, Ordering::SeqCst);
            }
        })
    };
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut requests = Vec::new();
    let mut n = 0u64;
    while started.elapsed() < duration {
        tick.tick().await;
        n += 1;
        let (app, published) = (app.clone(), published.clone());
        requests.push(tokio::spawn(async move {
            // Every other request is acme's; the others come from the newest merchant
            // (published or about to be).
            let newest = published.load(Ordering::SeqCst) as usize + 1;
            let (who, key) = if n % 2 == 0 {
                ("acme".to_owned(), "sk_reload_acme".to_owned())
            } else {
                (format!("m{newest}"), key_of(newest))
            };
            (who, post(&app, &key, n).await)
        }));
    }
    reloading.await.expect("reloads");
    let mut served = 0;
    for request in requests {
        let (who, status) = request.await.expect("request");
        match (who.as_str(), status) {
            (_, 201) => served += 1,
            ("acme", _) => panic!("acme's refund answered {status}"),
            (_, 401) => {}
            (who, status) => panic!("{who}'s refund answered {status}: half a reload"),
        }
    }
    assert!(served > 0);
    assert_eq!(engine.current().snapshot().generation, reloads as u64 + 1);
    let audit = app
        .get_json(OPERATOR, "/v1/audit_events?kind=config.reloaded&limit=100")
        .await;
    assert_eq!(
        audit["data"].as_array().map(Vec::len),
        Some(reloads),
        "{audit}"
    );
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Db::Postgres).await })*
        }
    };
}

on_both!(
    a_reload_applies_a_merchant_and_its_route_together_and_is_audited,
    an_invalid_file_changes_nothing_and_names_every_problem,
    restart_only_changes_are_reported_and_left_for_the_restart,
    a_key_is_rotated_without_one_refused_request,
    an_expired_key_is_api_key_expired_and_me_tells_when_a_key_expires,
    twenty_reloads_under_200_refunds_a_second_short,
);

/// CI's variant: 20 reloads in 3 s.
async fn twenty_reloads_under_200_refunds_a_second_short(db: Db) {
    reload_under_load(db, Duration::from_secs(3), 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 20 reloads over 30 s at 200 refunds/s; run with --ignored"]
async fn twenty_reloads_under_200_refunds_a_second_for_30_s_sqlite() {
    reload_under_load(Db::Sqlite, Duration::from_secs(30), 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 20 reloads over 30 s at 200 refunds/s; run with --ignored"]
async fn twenty_reloads_under_200_refunds_a_second_for_30_s_postgres() {
    reload_under_load(Db::Postgres, Duration::from_secs(30), 20).await;
}
