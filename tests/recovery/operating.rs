//! Operating the gateway binary (DESIGN §18): OpenTelemetry spans of one refund reach a
//! small OTLP/HTTP receiver (parented, continuing the merchant's `traceparent`, no secret or
//! body in any attribute), a dead collector costs only dropped spans, JSON log lines carry
//! the request id, and a real `SIGHUP` reloads the file.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use serde_json::{json, Value};

use refund_test_support::{free_port, poll_until};

use crate::harness::{database_url, temp_dir, Gateway, API_KEY};

/// AuthMS's simulator in the gateway's own process, routing CNY to it.
const AUTHMS: &str = r#"
[[operators]]
id = "finance"
api_key = "sk_operating_operator"
[providers.authms]
base_url = "sandbox"
token = "sandbox-authms-token"
transfer_source_user_id = "usr_merchant"
timeout_ms = 700
[[routes]]
provider = "authms"
currency = ["CNY"]
"#;

/// What a merchant sends that must never be exported: its key is `API_KEY`, these are in
/// the body.
const SECRET_CUSTOMER: &str = "usr_never_in_a_span";
const SECRET_REASON: &str = "reason never in a span";

/// A receiver of OTLP/HTTP JSON: every body posted to `/v1/traces`.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                if let Ok(value) = serde_json::from_slice::<Value>(&body) {
                    kept.lock().expect("bodies").push(value);
                }
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, bodies)
}

/// Every span received, flattened: `(name, span object)`.
fn spans(bodies: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for body in bodies {
        for resource in body["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                out.extend(scope["spans"].as_array().into_iter().flatten().cloned());
            }
        }
    }
    out
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

fn text_attribute<'a>(span: &'a Value, key: &str) -> Option<&'a str> {
    attribute(span, key)?.get("stringValue")?.as_str()
}

async fn refund(gateway: &Gateway, traceparent: Option<&str>) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/refunds", gateway.url))
        .bearer_auth(API_KEY)
        .json(
            &json!({"payment_id": format!("txn_{}", uuid::Uuid::new_v4().simple()),
                      "amount": "3.00", "currency": "CNY",
                      "customer_id": SECRET_CUSTOMER, "reason": SECRET_REASON}),
        );
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let response = request.send().await.expect("refund");
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spans_of_one_refund_reach_the_collector_parented_and_without_secrets() {
    let dir = temp_dir();
    let Some(db) = database_url(&dir, false).await else {
        return;
    };
    let (collector, bodies) = receiver().await;
    let tail = format!(
        "{AUTHMS}\n[telemetry]\notlp_endpoint = \"{collector}\"\nprotocol = \"http/json\"\nservice_name = \"gateway-under-test\"\n"
    );
    let gateway = Gateway::start(&dir, &db, &tail).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let created = refund(&gateway, Some(&format!("00-{trace_id}-{caller_span}-01"))).await;
    let refund_id = created["id"].as_str().expect("id").to_owned();

    let names = [
        "POST /v1/refunds",
        "engine.create",
        "store.create_refund",
        "provider.refund",
        "store.change_refund",
    ];
    let read = || async { spans(&bodies.lock().expect("bodies")) };
    let found = poll_until(
        Duration::from_secs(10),
        Duration::from_millis(100),
        read,
        |spans| {
            names.iter().all(|name| {
                spans
                    .iter()
                    .any(|s| s["name"] == *name && s["traceId"] == trace_id)
            })
        },
    )
    .await;
    let of_trace: Vec<&Value> = found.iter().filter(|s| s["traceId"] == trace_id).collect();
    let named = |name: &str| {
        of_trace
            .iter()
            .find(|s| s["name"] == name)
            .copied()
            .unwrap_or_else(|| panic!("no {name} span in {of_trace:?}"))
    };
    let request = named("POST /v1/refunds");
    assert_eq!(
        request["parentSpanId"], caller_span,
        "the merchant's traceparent is continued"
    );
    assert_eq!(text_attribute(request, "http.route"), Some("/v1/refunds"));
    let engine = named("engine.create");
    assert_eq!(engine["parentSpanId"], request["spanId"]);
    assert_eq!(
        text_attribute(engine, "refund_id"),
        Some(refund_id.as_str())
    );
    let store = named("store.create_refund");
    assert_eq!(store["parentSpanId"], engine["spanId"]);
    let call = named("provider.refund");
    assert_eq!(call["parentSpanId"], engine["spanId"]);
    assert_eq!(text_attribute(call, "provider"), Some("authms"));
    assert_eq!(text_attribute(call, "account"), Some("default"));
    assert_eq!(text_attribute(call, "outcome"), Some("ok"));
    assert!(attribute(call, "duration_ms").is_some(), "{call}");
    assert_eq!(
        named("store.change_refund")["parentSpanId"],
        engine["spanId"]
    );

    let exported = serde_json::to_string(&*bodies.lock().expect("bodies")).expect("json");
    assert!(exported.contains("gateway-under-test"), "service.name");
    for secret in [
        API_KEY,
        "sandbox-authms-token",
        SECRET_CUSTOMER,
        SECRET_REASON,
    ] {
        assert!(!exported.contains(secret), "{secret} was exported");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_collector_costs_nothing_but_dropped_spans() {
    let dir = temp_dir();
    let Some(db) = database_url(&dir, false).await else {
        return;
    };
    let dead = free_port();
    let tail = format!(
        "{AUTHMS}\n[telemetry]\notlp_endpoint = \"http://127.0.0.1:{dead}\"\nexport_timeout_ms = 500\n"
    );
    let gateway = Gateway::start(&dir, &db, &tail).await;
    for _ in 0..5 {
        refund(&gateway, None).await;
    }
    let client = reqwest::Client::new();
    let metrics = || async {
        client
            .get(format!("{}/metrics", gateway.url))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    };
    let text = poll_until(
        Duration::from_secs(10),
        Duration::from_millis(200),
        metrics,
        |t| {
            t.lines().any(|l| {
                l.starts_with("refund_gateway_otel_spans_dropped_total{reason=\"export_failed\"}")
                    && !l.ends_with(" 0")
            })
        },
    )
    .await;
    assert!(
        text.contains("refund_gateway_otel_spans_dropped_total{reason=\"export_failed\"}"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_carry_the_request_id() {
    let dir = temp_dir();
    let Some(db) = database_url(&dir, false).await else {
        return;
    };
    let mut gateway =
        Gateway::start_configured(&dir, &db, "log_format = \"json\"", "", AUTHMS).await;
    gateway.set_log_filter("info,tower_http=debug");
    gateway.restart().await;
    let response = reqwest::Client::new()
        .get(format!("{}/v1/refunds", gateway.url))
        .bearer_auth(API_KEY)
        .header("x-request-id", "req-json-log-1")
        .send()
        .await
        .expect("list");
    assert_eq!(response.status().as_u16(), 200);
    let log = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(100),
        || async { gateway.log() },
        |log| log.contains("req-json-log-1"),
    )
    .await;
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "{log}");
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["request_id"] == "req-json-log-1"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_file_and_an_invalid_one_changes_nothing() {
    let dir = temp_dir();
    let Some(db) = database_url(&dir, false).await else {
        return;
    };
    let gateway = Gateway::start(&dir, &db, AUTHMS).await;
    let client = reqwest::Client::new();
    let status_for = |key: &'static str| {
        let (client, url) = (client.clone(), gateway.url.clone());
        async move {
            client
                .get(format!("{url}/v1/refunds"))
                .bearer_auth(key)
                .send()
                .await
                .expect("list")
                .status()
                .as_u16()
        }
    };
    assert_eq!(status_for("sk_added_by_sighup").await, 401);
    let path = gateway.config_path().to_path_buf();
    let text = std::fs::read_to_string(&path).expect("config");
    // Invalid first: nothing changes, the gateway goes on.
    std::fs::write(
        &path,
        format!("{text}\n[[merchants]]\nid = \"bad id!\"\napi_key = \"sk_added_by_sighup\"\n"),
    )
    .expect("write");
    gateway.hangup();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(status_for("sk_added_by_sighup").await, 401);
    assert_eq!(status_for(API_KEY).await, 200);
    // Then valid.
    std::fs::write(&path, format!("{text}\n[[merchants]]\nid = \"initech\"\napi_key = \"sk_added_by_sighup\"\nproviders = []\n"))
        .expect("write");
    gateway.hangup();
    let added = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(100),
        || status_for("sk_added_by_sighup"),
        |status| *status == 200,
    )
    .await;
    assert_eq!(added, 200);
    // The entry is appended right after the new configuration is published.
    let read = || async {
        client
            .get(format!("{}/v1/audit_events?actor=signal", gateway.url))
            .bearer_auth("sk_operating_operator")
            .send()
            .await
            .expect("audit")
            .json::<Value>()
            .await
            .expect("json")
    };
    let audit = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(100),
        read,
        |a| a["data"].as_array().is_some_and(|d| !d.is_empty()),
    )
    .await;
    assert_eq!(audit["data"][0]["kind"], "config.reloaded", "{audit}");
    assert_eq!(
        audit["data"][0]["detail"]["merchants"]["added"],
        json!(["initech"])
    );
    assert!(
        gateway.log().contains("configuration reload refused"),
        "{}",
        gateway.log()
    );
}
