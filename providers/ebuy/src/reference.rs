//! The identifiers e-Buy wants in `YYYYMMDD…` form: the deterministic `refundTradeNo` we
//! derive from the gateway refund id, and the per-request envelope `uuid`. e-Buy is a
//! Chinese service: every date it reads (`uuid`, `refundTradeNo`, a defaulted `tradeTime`)
//! is the date in China (UTC+8), which differs from the UTC date from 16:00 UTC on.

use rand::Rng;
use refund_provider::RefundId;
use time::macros::{date, offset};
use time::{Date, OffsetDateTime, UtcOffset};

/// Length of a `refundTradeNo` we generate: 8 date digits + 24 id digits (the documented
/// maximum is 32).
pub const REFUND_TRADE_NO_LEN: usize = 32;

/// `10^24`: the refund id contributes its 24 lowest decimal digits.
const ID_DIGITS_MODULUS: u128 = 1_000_000_000_000_000_000_000_000;

/// China Standard Time, UTC+8 (no daylight saving): the zone of every date e-Buy reads.
pub const CHINA: UtcOffset = offset!(+8);

/// The calendar date in China at `at`: 2025-03-16T23:30Z is already 2025-03-17 there.
pub fn china_date(at: OffsetDateTime) -> Date {
    at.to_offset(CHINA).date()
}

/// The `refundTradeNo` for a gateway refund: `YYYYMMDD` (the China date, UTC+8, of the
/// refund id's UUIDv7 timestamp) followed by the 24 lowest decimal digits of the id's 128
/// bits, zero-padded. Deterministic, so every retry of the same refund sends the same
/// number. An id without a timestamp (not a UUIDv7; the gateway never makes one) uses
/// `19700101`.
pub fn refund_trade_no(refund_id: &RefundId) -> String {
    let date = refund_id
        .created_unix_ms()
        .and_then(|ms| i128::from(ms).checked_mul(1_000_000))
        .and_then(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok())
        .map(china_date)
        .unwrap_or(date!(1970 - 01 - 01));
    let digits = refund_id.as_u128() % ID_DIGITS_MODULUS;
    format!("{}{digits:024}", yyyymmdd(date))
}

/// A fresh envelope `uuid`: `YYYYMMDD-` (today in China, UTC+8) + 32 random characters of
/// `[a-z0-9]`, as the document's mock rule `@now('yyyyMMdd')-@string('lower',32)` describes.
/// New for every HTTP request, retries included.
pub fn request_uuid(now: OffsetDateTime) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..32)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{}-{tail}", yyyymmdd(china_date(now)))
}

/// `YYYYMMDD` of a date.
pub fn yyyymmdd(date: Date) -> String {
    format!(
        "{:04}{:02}{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Parses a `YYYYMMDD` calendar date (8 ASCII digits, a real date).
pub fn parse_yyyymmdd(value: &str) -> Option<Date> {
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = value[0..4].parse().ok()?;
    let month: u8 = value[4..6].parse().ok()?;
    let day: u8 = value[6..8].parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refund_trade_no_is_the_id_date_and_its_lowest_24_digits() {
        // UUIDv7 with timestamp 0x0192f5e4c1b8 ms = 2024-11-04T06:37:42.712Z; expected value from
        // Python: "20241104%024d" % (0x0192f5e4c1b87a3e9d5c2f1a0b3c4d5e % 10**24).
        let id = RefundId::parse("rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e").expect("id");
        let reference = refund_trade_no(&id);
        assert_eq!(reference.len(), REFUND_TRADE_NO_LEN);
        let expected_digits = format!("{:024}", id.as_u128() % 10u128.pow(24));
        assert_eq!(&reference[8..], expected_digits);
        let ms = id.created_unix_ms().expect("v7");
        let date = OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
            .expect("date")
            .date();
        assert_eq!(&reference[..8], yyyymmdd(date));
        assert_eq!(&reference[..8], "20241104");
        assert_eq!(reference, "20241104575148268820378385403230");
        assert!(reference.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn the_refund_trade_no_is_the_same_on_every_call_and_differs_between_refunds() {
        let a = RefundId::generate();
        let b = RefundId::generate();
        assert_eq!(refund_trade_no(&a), refund_trade_no(&a));
        assert_ne!(refund_trade_no(&a), refund_trade_no(&b));
    }

    #[test]
    fn request_uuids_are_dated_lowercase_alphanumerics_and_fresh() {
        let now = OffsetDateTime::from_unix_timestamp(1_742_226_986).expect("now");
        let a = request_uuid(now);
        let b = request_uuid(now);
        assert_ne!(a, b);
        assert_eq!(a.len(), 41);
        assert!(a.starts_with("20250317-"), "{a}");
        assert!(a[9..]
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn dates_are_china_dates_even_at_half_past_eleven_utc() {
        // 2025-03-16T23:30:00Z is 2025-03-17 07:30 in China.
        let late = time::macros::datetime!(2025-03-16 23:30 UTC);
        assert_eq!(china_date(late), date!(2025 - 03 - 17));
        assert!(request_uuid(late).starts_with("20250317-"));
        // A UUIDv7 refund id minted at that instant: 1742167800000 ms = 0x0195a14af8c0.
        let id = RefundId::parse("rf_0195a14af8c07a3e9d5c2f1a0b3c4d5e").expect("id");
        assert_eq!(id.created_unix_ms(), Some(1_742_167_800_000));
        assert!(
            refund_trade_no(&id).starts_with("20250317"),
            "{}",
            refund_trade_no(&id)
        );
        // And at 15:59 UTC the two calendars still agree.
        let afternoon = time::macros::datetime!(2025-03-16 15:59 UTC);
        assert!(request_uuid(afternoon).starts_with("20250316-"));
    }

    #[test]
    fn only_real_calendar_dates_parse() {
        assert!(parse_yyyymmdd("20250317").is_some());
        assert!(parse_yyyymmdd("20240229").is_some());
        for bad in [
            "20250229",
            "20251301",
            "2025031",
            "2025-03-17",
            "2025031a",
            "+2025031",
        ] {
            assert!(parse_yyyymmdd(bad).is_none(), "{bad}");
        }
    }
}
