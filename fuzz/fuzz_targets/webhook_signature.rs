//! Fuzz the `t=…,v1=…` signature header (`refund_provider::signature::verify_header`) and
//! the eFundPay webhook verifier behind it: nothing panics, a header verifies only when it
//! carries a genuine MAC of the body, and a genuine `v1` among fuzzed entries is never
//! reported as a mismatch.
//!
//! Input: the header, a `\n`, then the body.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use refund_provider::signature::{sign_header, verify_header, SignatureError};

const SECRETS: [&[u8]; 2] = [b"whsec_fuzz_old", b"whsec_fuzz_new"];
const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (header, body) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };

    // A fuzzed header alone verifies only if it carries a genuine MAC of this body (hex in
    // either case: the MAC's bytes are what is compared).
    if let Ok(t) = verify_header(Some(header), &SECRETS, body, NOW, 300) {
        let lower = header.to_ascii_lowercase();
        let genuine = SECRETS.iter().any(|secret| {
            let signed = sign_header(secret, t, body);
            signed
                .split_once(",v1=")
                .is_some_and(|(_, mac)| lower.contains(&format!("v1={mac}")))
        });
        assert!(
            genuine,
            "a header without a genuine MAC verified: {header:?}"
        );
    }

    // A genuine signature followed by fuzzed entries: either it verifies, or the fuzzed part
    // made the header unreadable (malformed, a second `t`, a 9th `v1`); never a mismatch.
    let genuine = sign_header(SECRETS[1], NOW, body);
    let combined = format!("{genuine},{header}");
    match verify_header(Some(&combined), &SECRETS, body, NOW, 300) {
        Ok(t) => assert_eq!(t, NOW),
        Err(SignatureError::Malformed | SignatureError::TooManyCandidates) => {}
        Err(other) => panic!("a genuine v1 was refused with {other:?}: {combined:?}"),
    }

    // The eFundPay verifier: the fuzzed header, then the body under a genuine signature
    // (so its JSON parsing is exercised too).
    let now =
        time::OffsetDateTime::from_unix_timestamp(NOW).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    if let Ok(value) = HeaderValue::from_bytes(header.as_bytes()) {
        let mut headers = HeaderMap::new();
        headers.insert(provider_efundpay::SIGNATURE_HEADER, value);
        let _ = provider_efundpay::webhook::verify(&headers, body, now, &SECRETS);
    }
    if let Ok(value) = HeaderValue::from_str(&genuine) {
        let mut headers = HeaderMap::new();
        headers.insert(provider_efundpay::SIGNATURE_HEADER, value);
        if let Ok(webhook) = provider_efundpay::webhook::verify(&headers, body, now, &SECRETS) {
            assert_eq!(webhook.event_type, "refund.updated");
        }
    }
});
