//! Fuzz the e-Buy answer path (`EbuyProvider::classify`): HTTP status, JSON envelope, the
//! SHA-256 `sign` check and the per-asset breakdown. Nothing panics, and an answer whose
//! `sign` does not match is never read as a refund.
//!
//! Input: one selector byte (HTTP status, refund or query, sign the body or not), then the
//! body. Signing a fuzzed JSON object with the right secret lets the fuzzer get past the
//! signature into the content mapping.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use provider_ebuy::adapter::Call;
use provider_ebuy::EbuyProvider;
use refund_provider::http::HttpAnswer;
use refund_provider::SecretString;

const SECRET: &str = "ebuy-fuzz-secret";
const REFERENCE: &str = "20250317352352304040865490029918";
const STATUSES: [u16; 8] = [200, 200, 200, 400, 401, 408, 429, 500];

fn provider() -> Option<&'static EbuyProvider> {
    static PROVIDER: OnceLock<Option<EbuyProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            EbuyProvider::new(
                "http://127.0.0.1:9",
                "10001",
                SecretString::from(SECRET),
                "zh_CN",
                Duration::from_secs(1),
            )
            .ok()
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let Some(provider) = provider() else {
        return;
    };
    let status =
        StatusCode::from_u16(STATUSES[usize::from(selector & 7)]).unwrap_or(StatusCode::OK);
    let call = if selector & 8 == 0 {
        Call::Refund
    } else {
        Call::Query
    };
    let mut body = body.to_vec();
    let mut signed_by_us = false;
    if selector & 16 != 0 {
        if let Ok(serde_json::Value::Object(mut map)) = serde_json::from_slice(&body) {
            provider_ebuy::sign::sign_in_place(&mut map, SECRET);
            if let Ok(bytes) = serde_json::to_vec(&serde_json::Value::Object(map)) {
                body = bytes;
                signed_by_us = true;
            }
        }
    }
    let forged = !signed_by_us
        && serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .filter(|v| {
                v.get("sign")
                    .and_then(|s| s.as_str())
                    .is_some_and(|s| !s.is_empty())
            })
            .is_some_and(|v| provider_ebuy::sign::verify(&v, SECRET).is_err());
    let result = provider.classify(call, REFERENCE, Ok(HttpAnswer { status, body }));
    if forged {
        assert!(
            result.is_err(),
            "a badly signed answer was read as a refund"
        );
    }
    if let Ok(refund) = result {
        if let Some(amount) = refund.amount {
            assert!(amount.minor_units().get() > 0);
            assert!(
                refund_provider::Money::parse(&amount.to_major_string(), amount.currency()).is_ok()
            );
        }
    }
});
