//! Fuzz `Money::parse` (the API's major-unit amounts) and the provider-amount constructors:
//! nothing panics, and every accepted amount round-trips exactly through minor units.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refund_provider::{Currency, Money};

/// Exponents 0, 2, 3 and 4 (CLF), and the currencies the providers use.
const CODES: [&str; 6] = ["JPY", "EUR", "KWD", "CLF", "CNY", "THB"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(currency) = Currency::parse(CODES[usize::from(selector) % CODES.len()]) else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(rest) {
        if let Ok(money) = Money::parse(text, currency) {
            let minor = money.minor_units();
            assert!(minor.get() > 0, "{text}: non-positive minor units");
            assert_eq!(
                Money::parse(&money.to_major_string(), currency),
                Ok(money),
                "{text}: the major string does not parse back"
            );
            assert_eq!(
                Money::from_provider_minor(minor.get(), currency),
                Ok(money),
                "{text}: minor units do not come back"
            );
        }
        if let Ok(decimal) = rust_decimal::Decimal::from_str_exact(text) {
            if let Ok(money) = Money::from_decimal(decimal, currency) {
                assert_eq!(
                    Money::from_provider_minor(money.minor_units().get(), currency),
                    Ok(money)
                );
            }
        }
    }
    if let Ok(bytes) = <[u8; 8]>::try_from(rest.get(..8).unwrap_or_default()) {
        let _ = Money::from_provider_minor(i64::from_le_bytes(bytes), currency);
    }
});
