//! Stripe's minor units, from its documentation ("Supported currencies": minor units in API
//! amounts, zero-decimal currencies, three-decimal currencies, special cases): Stripe counts
//! every currency in hundredths unless it lists it as zero- or three-decimal, whatever the
//! ISO 4217 exponent.
//!
//! | currencies | Stripe `amount` | rule |
//! |---|---|---|
//! | BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF | whole units (`500` = ¥500) | zero-decimal; MGA has an ISO exponent of 2, so an MGA amount with a fraction cannot be sent |
//! | BHD JOD KWD OMR TND | thousandths | the last digit must be 0 (Stripe: "round to the nearest ten") |
//! | ISK | hundredths (`500` = 5 ISK) | ISO gives ISK no minor unit; Stripe keeps it two-decimal and refuses fractions (multiples of 100) |
//! | every other currency | hundredths | HUF and TWD are zero-decimal only for payouts, not refunds; an ISO three-decimal currency Stripe does not list (IQD, LYD) cannot carry a thousandth |
//!
//! An amount that cannot be expressed is refused before sending, never rounded.

use refund_provider::{Currency, Money};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Stripe's zero-decimal currencies.
pub const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];
/// Stripe's three-decimal currencies; their amounts must end in 0.
pub const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];
/// Counted in hundredths by Stripe (as every unlisted currency) although ISO gives them no
/// minor unit, and refused with a fraction: whole units only.
pub const HUNDREDTHS_OF_WHOLE_UNITS: [&str; 1] = ["ISK"];

/// Largest number of integer digits of an amount (DESIGN §3, §15).
const MAX_INTEGER_DIGITS: u32 = 12;

/// Why an amount cannot be sent to Stripe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AmountError(pub String);

/// The number of decimals Stripe's `amount` carries for `currency`.
pub fn exponent(currency: Currency) -> u32 {
    let code = currency.code();
    if ZERO_DECIMAL.contains(&code) {
        0
    } else if THREE_DECIMAL.contains(&code) {
        3
    } else {
        2
    }
}

fn scale(exponent: u32) -> Decimal {
    Decimal::from(10i64.pow(exponent))
}

/// `money` as Stripe's integer `amount`, or why Stripe cannot take it.
pub fn to_stripe_amount(money: &Money) -> Result<i64, AmountError> {
    let currency = money.currency();
    let exponent = exponent(currency);
    let scaled = money.amount() * scale(exponent);
    if !scaled.fract().is_zero() {
        return Err(AmountError(format!(
            "Stripe takes {currency} amounts with at most {exponent} decimals"
        )));
    }
    let amount = scaled
        .to_i64()
        .ok_or_else(|| AmountError(format!("{} is too large for Stripe", money)))?;
    let code = currency.code();
    if THREE_DECIMAL.contains(&code) && amount % 10 != 0 {
        return Err(AmountError(format!(
            "Stripe takes {currency} amounts whose last (thousandth) digit is 0"
        )));
    }
    if HUNDREDTHS_OF_WHOLE_UNITS.contains(&code) && amount % 100 != 0 {
        return Err(AmountError(format!(
            "Stripe takes {currency} amounts in whole units only"
        )));
    }
    Ok(amount)
}

/// Stripe's integer `amount` in `currency` as money; an amount that is not positive, has more
/// integer digits than the API allows or more decimals than the currency carries is refused.
pub fn from_stripe_amount(amount: i64, currency: Currency) -> Result<Money, AmountError> {
    let exponent = exponent(currency);
    let limit = 10i64
        .checked_pow(MAX_INTEGER_DIGITS + exponent)
        .unwrap_or(i64::MAX);
    if amount <= 0 || amount >= limit {
        return Err(AmountError(format!(
            "amount {amount} is out of range for {currency}"
        )));
    }
    Money::from_decimal(Decimal::new(amount, exponent), currency)
        .map_err(|e| AmountError(format!("amount {amount} in Stripe's units: {e}")))
}

/// Stripe's lower-case currency code of `currency`.
pub fn stripe_code(currency: Currency) -> String {
    currency.code().to_ascii_lowercase()
}

/// A lower-case code from a Stripe answer as a `Currency`.
pub fn from_stripe_code(code: &str) -> Option<Currency> {
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    Currency::parse(&code.to_ascii_uppercase()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: &str, code: &str) -> Money {
        let currency = Currency::parse(code).expect("currency");
        Money::parse(amount, currency).expect("money")
    }

    #[test]
    fn amounts_become_stripe_units_by_stripes_own_table() {
        let table: &[(&str, &str, Result<i64, ()>)] = &[
            ("12.99", "USD", Ok(1299)),
            ("10", "EUR", Ok(1000)),
            ("500", "JPY", Ok(500)),
            ("500", "UGX", Ok(500)),
            ("10.00", "MGA", Ok(10)),
            ("10.50", "MGA", Err(())),
            ("5.120", "KWD", Ok(5120)),
            ("5.124", "KWD", Err(())),
            ("1.01", "BHD", Ok(1010)),
            ("5", "ISK", Ok(500)),
            ("1000", "HUF", Ok(100_000)),
            ("1.234", "IQD", Err(())),
            ("1.230", "IQD", Ok(123)),
            ("999999999999", "KWD", Ok(999_999_999_999_000)),
        ];
        for (amount, code, expected) in table {
            let got = to_stripe_amount(&money(amount, code)).map_err(|_| ());
            assert_eq!(&got, expected, "{amount} {code}");
        }
    }

    #[test]
    fn stripe_amounts_read_back_exactly_or_are_refused() {
        let cur = |code| Currency::parse(code).expect("currency");
        assert_eq!(
            from_stripe_amount(1299, cur("USD")).map(|m| m.to_major_string()),
            Ok("12.99".into())
        );
        assert_eq!(
            from_stripe_amount(500, cur("ISK")).map(|m| m.to_major_string()),
            Ok("5".into())
        );
        assert_eq!(
            from_stripe_amount(5120, cur("KWD")).map(|m| m.to_major_string()),
            Ok("5.120".into())
        );
        assert_eq!(
            from_stripe_amount(10, cur("MGA")).map(|m| m.to_major_string()),
            Ok("10.00".into())
        );
        for (amount, code) in [(0, "USD"), (-5, "USD"), (550, "ISK"), (i64::MAX, "USD")] {
            assert!(
                from_stripe_amount(amount, cur(code)).is_err(),
                "{amount} {code}"
            );
        }
    }

    #[test]
    fn currency_codes_are_lower_case_on_the_wire() {
        let eur = Currency::parse("EUR").expect("EUR");
        assert_eq!(stripe_code(eur), "eur");
        assert_eq!(from_stripe_code("eur"), Some(eur));
        for bad in ["EUR", "eu", "zzz", ""] {
            assert_eq!(from_stripe_code(bad), None, "{bad}");
        }
    }
}
