//! The `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` signature scheme,
//! used to verify eFundPay webhooks and to sign the gateway's own merchant webhooks.
//!
//! The cost of a check is bounded whatever the header holds (DESIGN §15):
//! - the header is read once, left to right; `t` must be 1 to 19 ASCII digits (no sign, no
//!   overflow: anything else is malformed), `v1` values must be exactly 64 hex characters,
//!   and a 9th `v1` stops the reading at once ([`MAX_CANDIDATES`] is 8);
//! - `v0=` and any other key are ignored (so providers can add schemes), but still bounded by
//!   the header's own length;
//! - `|now - t|` is computed as an unsigned distance, so no timestamp can overflow it, and a
//!   stale header is refused before any MAC is computed;
//! - then the MAC is computed **once per configured secret**, before any candidate is looked
//!   at, and each candidate is compared with each MAC in constant time (`subtle`), every
//!   comparison made even after a match. The work is at most `secrets` MACs and
//!   `8 × secrets` 32-byte comparisons.
//!
//! Several secrets may be configured at once (rotation): a header verifies when any `v1`
//! matches any secret, and [`sign_header_with_all`] emits one `v1` per secret so that a
//! receiver holding either the old or the new secret accepts it.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Default tolerance between the signature's timestamp and now.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;
/// Most `v1` candidates a header may carry; one more makes it malformed.
pub const MAX_CANDIDATES: usize = 8;
/// Length of one `v1` value: hex of a 32-byte HMAC-SHA256.
pub const SIGNATURE_HEX_LEN: usize = 64;
/// Most digits of `t` (i64 seconds have at most 19).
const MAX_TIMESTAMP_DIGITS: usize = 19;

/// Why a signature header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header is missing")]
    Missing,
    #[error("signature header is malformed")]
    Malformed,
    #[error("signature header carries more than {MAX_CANDIDATES} v1 signatures")]
    TooManyCandidates,
    #[error("signature timestamp is outside the {0} s tolerance")]
    Stale(i64),
    #[error("no signature matches")]
    Mismatch,
}

/// The header value for `body` signed with `secret` at `timestamp` (Unix seconds).
pub fn sign_header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    sign_header_with_all(&[secret], timestamp, body)
}

/// The header value for `body` signed at `timestamp` with each of `secrets`: one `v1` per
/// secret, in order (`t=…,v1=<first>,v1=<second>`), for a receiver in the middle of a
/// secret rotation. At most [`MAX_CANDIDATES`] secrets are used, since a receiver refuses
/// more `v1` values than that.
pub fn sign_header_with_all(secrets: &[&[u8]], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets.iter().take(MAX_CANDIDATES) {
        header.push_str(",v1=");
        header.push_str(&hex::encode(compute(secret, timestamp, body)));
    }
    header
}

fn compute(secret: &[u8], timestamp: i64, body: &[u8]) -> [u8; 32] {
    #[cfg(test)]
    tests::count_mac();
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// What a header says, once read: its timestamp and up to [`MAX_CANDIDATES`] signatures.
struct Parsed {
    timestamp: i64,
    candidates: Vec<[u8; 32]>,
}

/// Reads a header without computing anything: bounded by its length and by
/// [`MAX_CANDIDATES`].
fn parse(header: &str) -> Result<Parsed, SignatureError> {
    let mut timestamp = None;
    let mut candidates: Vec<[u8; 32]> = Vec::with_capacity(MAX_CANDIDATES);
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
                timestamp = Some(parse_timestamp(value)?);
            }
            "v1" => {
                if candidates.len() == MAX_CANDIDATES {
                    return Err(SignatureError::TooManyCandidates);
                }
                candidates.push(parse_candidate(value)?);
            }
            // `v0` and unknown schemes are ignored so providers can add stronger ones later.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    Ok(Parsed {
        timestamp,
        candidates,
    })
}

/// `t`: 1 to 19 ASCII digits that fit an i64; no sign, no spaces, nothing else.
fn parse_timestamp(value: &str) -> Result<i64, SignatureError> {
    if value.is_empty()
        || value.len() > MAX_TIMESTAMP_DIGITS
        || !value.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SignatureError::Malformed);
    }
    value.parse().map_err(|_| SignatureError::Malformed)
}

/// One `v1`: exactly 64 hex characters.
fn parse_candidate(value: &str) -> Result<[u8; 32], SignatureError> {
    if value.len() != SIGNATURE_HEX_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(value, &mut bytes).map_err(|_| SignatureError::Malformed)?;
    Ok(bytes)
}

/// Verifies `header` over `body` against any of `secrets`, with `now` in Unix seconds.
/// Returns the signed timestamp. A negative `tolerance_secs` counts as zero.
pub fn verify_header(
    header: Option<&str>,
    secrets: &[&[u8]],
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let parsed = parse(header.ok_or(SignatureError::Missing)?)?;
    let tolerance = u64::try_from(tolerance_secs).unwrap_or(0);
    if now.abs_diff(parsed.timestamp) > tolerance {
        return Err(SignatureError::Stale(tolerance_secs));
    }
    // One MAC per secret, computed before any candidate is looked at.
    let expected: Vec<[u8; 32]> = secrets
        .iter()
        .map(|secret| compute(secret, parsed.timestamp, body))
        .collect();
    let mut matched = subtle::Choice::from(0);
    for mac in &expected {
        for candidate in &parsed.candidates {
            matched |= mac.ct_eq(candidate);
        }
    }
    if bool::from(matched) {
        Ok(parsed.timestamp)
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    thread_local! {
        static MACS: Cell<usize> = const { Cell::new(0) };
    }

    /// Counts MAC computations on this thread (each test runs on its own thread).
    pub(super) fn count_mac() {
        MACS.with(|n| n.set(n.get() + 1));
    }

    fn macs_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let before = MACS.with(Cell::get);
        let out = f();
        (out, MACS.with(Cell::get) - before)
    }

    fn v1_of(header: &str) -> String {
        header.split("v1=").nth(1).unwrap_or_default().to_owned()
    }

    #[test]
    fn a_genuine_mac_in_uppercase_hex_verifies_and_a_wrong_one_in_any_case_does_not() {
        let header = sign_header(SECRET, 1_800_000_000, BODY);
        let upper = header.replace(&v1_of(&header), &v1_of(&header).to_ascii_uppercase());
        assert_ne!(upper, header);
        assert_eq!(
            verify_header(Some(&upper), &[SECRET], BODY, 1_800_000_000, 300),
            Ok(1_800_000_000)
        );
        let other = sign_header(b"whsec_other", 1_800_000_000, BODY).to_ascii_uppercase();
        let other = other.replace("T=", "t=").replace("V1=", "v1=");
        assert!(verify_header(Some(&other), &[SECRET], BODY, 1_800_000_000, 300).is_err());
    }

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
        let v1 = v1_of(&sign_header(SECRET, 100, BODY));
        let header = format!("t=100,v1={},v1={v1}", "00".repeat(32));
        assert!(verify_header(Some(&header), &[SECRET], BODY, 100, 300).is_ok());
    }

    #[test]
    fn rotated_secrets_are_all_tried() {
        let header = sign_header(b"new", 100, BODY);
        assert!(verify_header(Some(&header), &[b"old", b"new"], BODY, 100, 300).is_ok());
        assert_eq!(
            verify_header(Some(&header), &[], BODY, 100, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn signing_with_several_secrets_emits_one_v1_per_secret_each_verifiable_alone() {
        let header = sign_header_with_all(&[b"old", b"new"], 100, BODY);
        assert_eq!(header.matches(",v1=").count(), 2);
        assert!(header.starts_with("t=100,v1="));
        assert!(verify_header(Some(&header), &[b"old"], BODY, 100, 300).is_ok());
        assert!(verify_header(Some(&header), &[b"new"], BODY, 100, 300).is_ok());
        assert_eq!(
            verify_header(Some(&header), &[b"other"], BODY, 100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            header.split(",v1=").nth(1),
            Some(v1_of(&sign_header(b"old", 100, BODY)).as_str())
        );
    }

    #[test]
    fn ten_thousand_candidates_cost_no_mac_at_all() {
        let bogus = "ab".repeat(32);
        let header = format!("t=100{}", format!(",v1={bogus}").repeat(10_000));
        let (result, macs) =
            macs_during(|| verify_header(Some(&header), &[SECRET, b"other"], BODY, 100, 300));
        assert_eq!(result, Err(SignatureError::TooManyCandidates));
        assert_eq!(macs, 0);
    }

    #[test]
    fn eight_candidates_cost_one_mac_per_secret_whatever_they_hold() {
        let good = v1_of(&sign_header(SECRET, 100, BODY));
        let bogus = "cd".repeat(32);
        let header = format!("t=100{},v1={good}", format!(",v1={bogus}").repeat(7));
        let (result, macs) =
            macs_during(|| verify_header(Some(&header), &[b"a", b"b", SECRET], BODY, 100, 300));
        assert_eq!(result, Ok(100));
        assert_eq!(macs, 3, "one MAC per secret, none per candidate");

        let header = format!("t=100{}", format!(",v1={bogus}").repeat(8));
        let (result, macs) =
            macs_during(|| verify_header(Some(&header), &[b"a", b"b"], BODY, 100, 300));
        assert_eq!(result, Err(SignatureError::Mismatch));
        assert_eq!(macs, 2);
    }

    #[test]
    fn a_stale_header_costs_no_mac() {
        let header = sign_header(SECRET, 100, BODY);
        let (result, macs) =
            macs_during(|| verify_header(Some(&header), &[SECRET], BODY, 100_000, 300));
        assert_eq!(result, Err(SignatureError::Stale(300)));
        assert_eq!(macs, 0);
    }

    #[test]
    fn v0_and_unknown_keys_are_ignored() {
        let v1 = v1_of(&sign_header(SECRET, 100, BODY));
        let header = format!("t=100,v0=whatever,v2=zz,scheme=x,v1={v1}");
        assert_eq!(
            verify_header(Some(&header), &[SECRET], BODY, 100, 300),
            Ok(100)
        );
        let many_v0 = format!("t=100{},v1={v1}", ",v0=00".repeat(1_000));
        assert_eq!(
            verify_header(Some(&many_v0), &[SECRET], BODY, 100, 300),
            Ok(100)
        );
    }

    #[test]
    fn extreme_timestamps_and_clocks_never_overflow() {
        let v1 = "00".repeat(32);
        for (t, now) in [
            ("9223372036854775807", i64::MIN),
            ("9223372036854775807", 0),
            ("0", i64::MAX),
            ("0", i64::MIN),
            ("9223372036854775807", i64::MAX),
        ] {
            let header = format!("t={t},v1={v1}");
            let result = verify_header(Some(&header), &[SECRET], BODY, now, 300);
            assert!(
                matches!(
                    result,
                    Err(SignatureError::Stale(_) | SignatureError::Mismatch)
                ),
                "{t} at {now}: {result:?}"
            );
        }
        let header = format!("t=100,v1={v1}");
        assert_eq!(
            verify_header(Some(&header), &[SECRET], BODY, 100, -5),
            Err(SignatureError::Mismatch),
            "a negative tolerance is zero, not a panic"
        );
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
        let v1 = "00".repeat(32);
        for malformed in [
            "".to_owned(),
            "t=100".to_owned(),
            format!("v1={v1}"),
            format!("t=abc,v1={v1}"),
            format!("t=-100,v1={v1}"),
            format!("t=+100,v1={v1}"),
            format!("t=,v1={v1}"),
            format!("t= 100,v1={v1}"),
            format!("t=99999999999999999999,v1={v1}"),
            format!("t=9223372036854775808,v1={v1}"),
            format!("t=1,t=2,v1={v1}"),
            "t=100,v1=00".to_owned(),
            format!("t=100,v1={}", "0".repeat(63)),
            format!("t=100,v1={}", "0".repeat(65)),
            format!("t=100,v1={}", "zz".repeat(32)),
            format!("t=100,v1={}", "é".repeat(32)),
            "garbage".to_owned(),
        ] {
            assert_eq!(
                verify_header(Some(&malformed), &[SECRET], BODY, 100, 300),
                Err(SignatureError::Malformed),
                "{malformed}"
            );
        }
    }
}
