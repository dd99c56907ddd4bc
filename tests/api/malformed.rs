//! The malformed-input battery: every body a client could send wrong gets a 4xx in the
//! documented shape, never a 500, a panic or a provider call.

use serde_json::Value;

use crate::both_backends;
use crate::helpers::{fake, spawn_app, Db, Script, ACME_KEY};

fn bodies() -> Vec<(String, Vec<u8>)> {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let deep_object = format!(
        "{{\"metadata\": {}1{}}}",
        "{\"a\":".repeat(200),
        "}".repeat(200)
    );
    let texts: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("not json", "payment_id=1".into()),
        ("truncated", r#"{"payment_id": "p", "amount": "1.00""#.into()),
        ("array", "[]".into()),
        ("string", "\"refund\"".into()),
        ("number", "42".into()),
        ("null", "null".into()),
        ("trailing garbage", r#"{"payment_id":"p","currency":"EUR","amount":"1.00"} x"#.into()),
        ("payment_id number", r#"{"payment_id": 1, "currency": "EUR", "amount": "1.00"}"#.into()),
        ("payment_id empty", r#"{"payment_id": "", "currency": "EUR", "amount": "1.00"}"#.into()),
        ("payment_id too long", format!(r#"{{"payment_id": "{}", "currency": "EUR", "amount": "1.00"}}"#, "p".repeat(129))),
        ("payment_id control", r#"{"payment_id": "p\u0000", "currency": "EUR", "amount": "1.00"}"#.into()),
        ("payment_id unicode", r#"{"payment_id": "支付", "currency": "EUR", "amount": "1.00"}"#.into()),
        ("currency number", r#"{"payment_id": "p", "currency": 978, "amount": "1.00"}"#.into()),
        ("currency lower", r#"{"payment_id": "p", "currency": "eur", "amount": "1.00"}"#.into()),
        ("currency long", r#"{"payment_id": "p", "currency": "EURO", "amount": "1.00"}"#.into()),
        ("amount number", r#"{"payment_id": "p", "currency": "EUR", "amount": 1.0}"#.into()),
        ("amount negative", r#"{"payment_id": "p", "currency": "EUR", "amount": "-1.00"}"#.into()),
        ("amount zero", r#"{"payment_id": "p", "currency": "EUR", "amount": "0.00"}"#.into()),
        ("amount exponent", r#"{"payment_id": "p", "currency": "EUR", "amount": "1e2"}"#.into()),
        ("amount spaces", r#"{"payment_id": "p", "currency": "EUR", "amount": " 1.00"}"#.into()),
        ("amount too precise EUR", r#"{"payment_id": "p", "currency": "EUR", "amount": "1.001"}"#.into()),
        ("amount trailing zero EUR", r#"{"payment_id": "p", "currency": "EUR", "amount": "1.000"}"#.into()),
        ("amount fraction JPY", r#"{"payment_id": "p", "currency": "JPY", "amount": "100.0"}"#.into()),
        ("amount four digits KWD", r#"{"payment_id": "p", "currency": "KWD", "amount": "1.0001"}"#.into()),
        ("amount huge", r#"{"payment_id": "p", "currency": "EUR", "amount": "10000000000000.00"}"#.into()),
        ("amount object", r#"{"payment_id": "p", "currency": "EUR", "amount": {"value": "1.00"}}"#.into()),
        ("unknown field", r#"{"payment_id": "p", "currency": "EUR", "amount": "1.00", "amout": "2"}"#.into()),
        ("reason too long", format!(r#"{{"payment_id": "p", "currency": "EUR", "amount": "1.00", "reason": "{}"}}"#, "r".repeat(256))),
        ("reason empty", r#"{"payment_id": "p", "currency": "EUR", "amount": "1.00", "reason": ""}"#.into()),
        ("reference too long", format!(r#"{{"payment_id": "p", "currency": "EUR", "amount": "1.00", "reference": "{}"}}"#, "r".repeat(65))),
        ("metadata array", r#"{"payment_id": "p", "currency": "EUR", "amount": "1.00", "metadata": []}"#.into()),
        ("metadata number value", r#"{"payment_id": "p", "currency": "EUR", "amount": "1.00", "metadata": {"a": 1}}"#.into()),
        ("metadata too many", format!(r#"{{"payment_id": "p", "currency": "EUR", "amount": "1.00", "metadata": {{{}}}}}"#, (0..21).map(|i| format!("\"k{i}\": \"v\"")).collect::<Vec<_>>().join(","))),
        ("provider number", r#"{"payment_id": "p", "currency": "EUR", "amount": "1.00", "provider": 7}"#.into()),
        ("provider_options string", r#"{"payment_id": "p", "currency": "EUR", "amount": "1.00", "provider_options": "x"}"#.into()),
        ("provider_options inner string", r#"{"payment_id": "p", "currency": "EUR", "amount": "1.00", "provider_options": {"scripted": 1}}"#.into()),
        ("deep nesting", deep),
        ("deep object", deep_object),
        ("huge string", format!(r#"{{"payment_id": "{}"}}"#, "x".repeat(100_000))),
        ("duplicate-ish unicode escape", r#"{"payment_id": "\ud800", "currency": "EUR", "amount": "1.00"}"#.into()),
    ];
    let mut all: Vec<(String, Vec<u8>)> = texts
        .into_iter()
        .map(|(n, t)| (n.to_owned(), t.into_bytes()))
        .collect();
    all.push((
        "invalid utf-8".into(),
        b"{\"payment_id\": \"\xff\xfe\", \"currency\": \"EUR\"}".to_vec(),
    ));
    all.push((
        "bom".into(),
        b"\xef\xbb\xbf{\"payment_id\": \"p\"}".to_vec(),
    ));
    all
}

both_backends!(
    every_malformed_body_gets_a_documented_4xx,
    |db: Db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        let bodies = bodies();
        assert!(bodies.len() >= 30);
        for (name, bytes) in bodies {
            let response = app
                .client
                .post(format!("{}/v1/refunds", app.address))
                .bearer_auth(ACME_KEY)
                .header("content-type", "application/json")
                .body(bytes)
                .send()
                .await
                .expect("send");
            let status = response.status().as_u16();
            assert!((400..500).contains(&status), "{name}: got {status}");
            let body: Value = response
                .json()
                .await
                .unwrap_or_else(|e| panic!("{name}: error body is not JSON: {e}"));
            assert!(body["error"]["code"].is_string(), "{name}: {body}");
            assert!(body["error"]["request_id"].is_string(), "{name}: {body}");
        }
        assert_eq!(
            app.provider.calls(),
            0,
            "no malformed request reached a provider"
        );
        let metrics = app.get("", "/metrics").await.text().await.expect("metrics");
        let panics = metrics
            .lines()
            .find(|l| l.starts_with("refund_gateway_panics_total"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok());
        assert_eq!(panics, Some(0.0), "no request reached the panic guard");
    }
);
