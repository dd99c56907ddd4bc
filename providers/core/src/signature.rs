//! The `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` signature scheme,
//! used to verify eFundPay webhooks and to sign the gateway's own merchant webhooks.
//!
//! Several `v1` values may be present (secret rotation); one matching is enough. Comparison
//! is constant-time (`Mac::verify_slice`), and a timestamp further than the tolerance from
//! now is refused, so a captured webhook cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Default tolerance between the signature's timestamp and now.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a signature header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header is missing")]
    Missing,
    #[error("signature header is malformed")]
    Malformed,
    #[error("signature timestamp is outside the {0} s tolerance")]
    Stale(i64),
    #[error("no signature matches")]
    Mismatch,
}

/// The header value for `body` signed with `secret` at `timestamp` (Unix seconds).
pub fn sign_header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(compute(secret, timestamp, body))
    )
}

fn mac_for(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn compute(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    mac_for(secret, timestamp, body)
        .finalize()
        .into_bytes()
        .to_vec()
}

/// Verifies `header` over `body` against any of `secrets`, with `now` in Unix seconds.
/// Returns the signed timestamp.
pub fn verify_header(
    header: Option<&str>,
    secrets: &[&[u8]],
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed);
                }
                let t: i64 = value.parse().map_err(|_| SignatureError::Malformed)?;
                timestamp = Some(t);
            }
            "v1" => {
                let bytes = hex::decode(value).map_err(|_| SignatureError::Malformed)?;
                candidates.push(bytes);
            }
            // Unknown schemes are ignored so providers can add stronger ones later.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > tolerance_secs {
        return Err(SignatureError::Stale(tolerance_secs));
    }
    let matched = secrets.iter().any(|secret| {
        candidates.iter().any(|candidate| {
            mac_for(secret, timestamp, body)
                .verify_slice(candidate)
                .is_ok()
        })
    });
    if matched {
        Ok(timestamp)
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    #[test]
    fn a_signed_header_verifies() {
        let header = sign_header(SECRET, 1_700_000_000, BODY);
        assert_eq!(
            verify_header(Some(&header), &[SECRET], BODY, 1_700_000_100, 300),
            Ok(1_700_000_000)
        );
    }

    #[test]
    fn a_known_vector_matches_an_independent_hmac() {
        // printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            sign_header(SECRET, 1_700_000_000, BODY),
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }

    #[test]
    fn any_of_several_v1_values_may_match() {
        let good = sign_header(SECRET, 100, BODY);
        let v1 = good.split("v1=").nth(1).unwrap_or_default();
        let header = format!("t=100,v1={},v1={v1}", "00".repeat(32));
        assert!(verify_header(Some(&header), &[SECRET], BODY, 100, 300).is_ok());
    }

    #[test]
    fn rotated_secrets_are_all_tried() {
        let header = sign_header(b"new", 100, BODY);
        assert!(verify_header(Some(&header), &[b"old", b"new"], BODY, 100, 300).is_ok());
    }

    #[test]
    fn stale_tampered_wrong_and_missing_signatures_are_refused() {
        let header = sign_header(SECRET, 100, BODY);
        assert_eq!(
            verify_header(Some(&header), &[SECRET], BODY, 401, 300),
            Err(SignatureError::Stale(300))
        );
        assert_eq!(
            verify_header(Some(&header), &[SECRET], BODY, -201, 300),
            Err(SignatureError::Stale(300))
        );
        assert_eq!(
            verify_header(Some(&header), &[SECRET], b"{\"id\":\"evt_2\"}", 100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_header(Some(&header), &[b"other"], BODY, 100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_header(None, &[SECRET], BODY, 100, 300),
            Err(SignatureError::Missing)
        );
        for malformed in [
            "",
            "t=100",
            "v1=00",
            "t=abc,v1=00",
            "t=1,t=2,v1=00",
            "t=100,v1=zz",
            "garbage",
        ] {
            assert_eq!(
                verify_header(Some(malformed), &[SECRET], BODY, 100, 300),
                Err(SignatureError::Malformed),
                "{malformed}"
            );
        }
    }
}
