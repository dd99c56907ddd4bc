//! The signer against vectors computed by an independent Python implementation
//! (`fixtures/ebuy/sign_vectors.py`), and against every signed fixture.

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{fixture, FIXTURE_SECRET};
use provider_ebuy::sign::{sign, signing_string, verify, SignatureError};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    match fixture("signature-vectors.json") {
        Value::Array(items) => items,
        other => panic!("expected an array of vectors, got {other}"),
    }
}

#[test]
fn every_vector_gives_the_python_signing_string_and_signature() {
    let vectors = vectors();
    assert!(vectors.len() >= 8, "expected at least 8 vectors");
    for vector in vectors {
        let name = vector["name"].as_str().expect("name");
        let secret = vector["secret"].as_str().expect("secret");
        let envelope = vector["envelope"].as_object().expect("envelope");
        assert_eq!(
            signing_string(envelope, secret),
            vector["signing_string"].as_str().expect("signing_string"),
            "signing string of `{name}`"
        );
        assert_eq!(
            sign(envelope, secret),
            vector["sign"].as_str().expect("sign"),
            "sign of `{name}`"
        );
    }
}

#[test]
fn the_vectors_cover_what_the_rule_is_subtle_about() {
    let all = serde_json::to_string(&vectors()).expect("json");
    for needle in [
        "马克杯",
        "refundMethod",
        "goodsDetail",
        "null",
        "\"success\":true",
        "9007199254740993",
        "AppId",
        "😀",
    ] {
        assert!(all.contains(needle), "no vector contains {needle}");
    }
}

#[test]
fn every_signed_fixture_verifies_with_the_fixture_secret_and_not_another() {
    for name in [
        "refund-request.json",
        "refund-request-whole-order.json",
        "refund-query-request.json",
        "refund-response-success.json",
        "refund-response-processing.json",
        "refund-response-failed.json",
        "refund-response-partial.json",
        "refund-response-error.json",
        "refund-query-response-not-found.json",
    ] {
        let envelope = fixture(name);
        assert_eq!(verify(&envelope, FIXTURE_SECRET), Ok(()), "{name}");
        assert_eq!(
            verify(&envelope, "sandbox-ebuy-secret"),
            Err(SignatureError::Mismatch),
            "{name}"
        );
    }
}

#[test]
fn changing_any_signed_value_breaks_the_signature() {
    let original = fixture("refund-response-success.json");
    let tamperings: Vec<(&str, Value)> = vec![
        ("/content/refundAmount", Value::from("125000")),
        ("/content/cashRefund/refundStatus", Value::from("FAIL")),
        (
            "/content/couponRefund/useList/0/useRule",
            Value::from("满100减20"),
        ),
        ("/success", Value::from(false)),
        ("/timestamp", Value::from(1_742_226_986_533u64)),
    ];
    for (pointer, replacement) in tamperings {
        let mut tampered = original.clone();
        *tampered.pointer_mut(pointer).expect(pointer) = replacement;
        assert_eq!(
            verify(&tampered, FIXTURE_SECRET),
            Err(SignatureError::Mismatch),
            "{pointer}"
        );
    }
}

#[test]
fn the_order_of_keys_in_the_json_sent_does_not_change_the_signature() {
    let a: Value = serde_json::from_str(r#"{"b":"1","a":{"y":1,"x":[{"d":1,"c":2}]}}"#).expect("a");
    let b: Value = serde_json::from_str(r#"{"a":{"x":[{"c":2,"d":1}],"y":1},"b":"1"}"#).expect("b");
    assert_eq!(
        sign(a.as_object().expect("a"), "k"),
        sign(b.as_object().expect("b"), "k")
    );
}
