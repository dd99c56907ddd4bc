//! Stripe's minor units, re-derived from Stripe's "Supported currencies" page
//! (<https://docs.stripe.com/currencies>: "Minor units in API amounts", "Zero-decimal",
//! "Three-decimal", "Special cases") and its note "Deprecation of fractional ISK charges and
//! refunds" (<https://support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds>).
//! Stripe counts every currency in hundredths unless its page lists it otherwise, whatever
//! the ISO 4217 exponent.
//!
//! | currencies | Stripe `amount` | the page's sentence |
//! |---|---|---|
//! | BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF | whole units (`500` = ¥500) | "For zero-decimal currencies, still provide amounts as an integer but without multiplying by 100. For example, to charge ¥500, provide an amount value of 500." MGA has an ISO exponent of 2, so an MGA amount with a fraction cannot be sent |
//! | BHD JOD KWD OMR TND | thousandths ending in 0 | "these API calls require the least-significant (last) digit to be 0. Your integration must round amounts to the nearest ten. For example, 5.124 KWD must be rounded to 5120 or 5130." We refuse, never round |
//! | ISK (special case) | hundredths of whole krónur (`500` = 5 ISK) | "ISK becomes a zero-decimal currency. To maintain backwards compatibility, you must pass in amounts with two decimals. The amount value must be evenly divisible by 100: 100, 200, 300, and so on. For example, to charge 5 ISK, provide an amount value of 500." The ISK note adds: "ISK will remain a two-decimal currency in the Stripe API", and refunds of fractions get `invalid_charge_amount_no_decimal_compatible` |
//! | UGX (special case) | hundredths of whole shillings (`50000` = 500 UGX) | the same rule as ISK: the special cases keep UGX, zero-decimal in ISO 4217, "a two-decimal value" for backwards compatibility, in multiples of 100. Sent as whole units (as a table listing it only among the zero-decimal currencies would), a 500 UGX refund reaches Stripe as 5 UGX, and Stripe's answer read the same way looks right |
//! | HUF, TWD (special cases) | hundredths, fractions allowed | "Stripe treats HUF [TWD] as a zero-decimal currency for payouts, even though you can charge two-decimal amounts": the rule is about payouts, which this gateway never makes |
//! | every other currency | hundredths | "All API requests expect amounts to be provided in a currency's smallest unit. For example, to charge 10 USD, provide an amount value of 1000 (that is, 1000 cents)."; an ISO three-decimal currency Stripe does not list (IQD, LYD) cannot carry a thousandth |
//!
//! An amount that cannot be expressed is refused before sending (`amount_invalid`), never
//! rounded; an answer's `amount` is read back through the same table.

use refund_provider::{Currency, Money};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Stripe's zero-decimal currencies.
pub const ZERO_DECIMAL: [&str; 15] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF",
    "XOF", "XPF",
];
/// Stripe's three-decimal currencies; their amounts must end in 0.
pub const THREE_DECIMAL: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];
/// Stripe's special cases that ISO gives no minor unit but Stripe counts in hundredths
/// ("backwards compatibility requires you to represent it as a two-decimal value, where the
/// decimal amount is always 00"): whole units only, sent times 100.
pub const HUNDREDTHS_OF_WHOLE_UNITS: [&str; 2] = ["ISK", "UGX"];
/// Stripe's special cases that are zero-decimal for payouts only: refunds are ordinary
/// two-decimal amounts (listed so that the table above is complete and tested).
pub const ZERO_DECIMAL_FOR_PAYOUTS_ONLY: [&str; 2] = ["HUF", "TWD"];

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
            ("10.00", "MGA", Ok(10)),
            ("10.50", "MGA", Err(())),
            ("5.120", "KWD", Ok(5120)),
            ("5.124", "KWD", Err(())),
            ("1.01", "BHD", Ok(1010)),
            ("5", "ISK", Ok(500)),
            ("1.234", "IQD", Err(())),
            ("1.230", "IQD", Ok(123)),
            ("999999999999", "KWD", Ok(999_999_999_999_000)),
        ];
        for (amount, code, expected) in table {
            let got = to_stripe_amount(&money(amount, code)).map_err(|_| ());
            assert_eq!(&got, expected, "{amount} {code}");
        }
    }

    /// `amount` sent for `major`, or `Err` when it is refused before sending.
    fn sent(major: &str, code: &str) -> Result<i64, ()> {
        to_stripe_amount(&money(major, code)).map_err(|_| ())
    }

    /// The major-unit string Stripe's `amount` reads back as, or `Err` when it is refused.
    fn read(amount: i64, code: &str) -> Result<String, ()> {
        from_stripe_amount(amount, Currency::parse(code).expect("currency"))
            .map(|m| m.to_major_string())
            .map_err(|_| ())
    }

    #[test]
    fn special_case_isk_goes_out_as_hundredths_of_whole_kronur() {
        // "to charge 5 ISK, provide an amount value of 500"; ISO gives ISK no decimals, so
        // an API amount with a fraction never gets here (the API refuses "5.5" ISK).
        assert_eq!(sent("5", "ISK"), Ok(500));
        assert_eq!(sent("999999999999", "ISK"), Ok(99_999_999_999_900));
        assert_eq!(read(500, "ISK"), Ok("5".into()));
        // "evenly divisible by 100": a fraction of a króna in an answer is not ours.
        assert_eq!(read(550, "ISK"), Err(()));
        assert_eq!(read(5, "ISK"), Err(()));
    }

    #[test]
    fn special_case_ugx_goes_out_as_hundredths_of_whole_shillings() {
        // Two-decimal for backwards compatibility: 500 UGX is 50000, not 500 (which Stripe
        // reads as 5.00 UGX, a hundredth of the refund).
        assert_eq!(sent("500", "UGX"), Ok(50_000));
        assert_eq!(sent("1", "UGX"), Ok(100));
        assert_eq!(read(50_000, "UGX"), Ok("500".into()));
        assert_eq!(read(50_050, "UGX"), Err(()));
        assert_eq!(read(500, "UGX"), Ok("5".into()));
        assert_eq!(exponent(Currency::parse("UGX").expect("UGX")), 2);
    }

    #[test]
    fn special_cases_huf_and_twd_are_two_decimal_for_refunds() {
        // "zero-decimal currency for payouts, even though you can charge two-decimal
        // amounts": refunds keep their fractions.
        for code in ZERO_DECIMAL_FOR_PAYOUTS_ONLY {
            assert_eq!(sent("1000", code), Ok(100_000), "{code}");
            assert_eq!(sent("10.45", code), Ok(1045), "{code}");
            assert_eq!(read(1045, code), Ok("10.45".into()), "{code}");
        }
    }

    #[test]
    fn three_decimal_amounts_must_end_in_zero_and_are_never_rounded() {
        for code in THREE_DECIMAL {
            assert_eq!(sent("5.120", code), Ok(5120), "{code}");
            assert_eq!(sent("5.124", code), Err(()), "{code}");
            assert_eq!(read(5120, code), Ok("5.120".into()), "{code}");
        }
    }

    #[test]
    fn zero_decimal_amounts_go_out_as_whole_units() {
        for code in ZERO_DECIMAL {
            let currency = Currency::parse(code).expect("currency");
            // MGA: ISO 4217 gives it two decimals; the API writes "500.00".
            let major = if currency.exponent() == 2 {
                "500.00"
            } else {
                "500"
            };
            assert_eq!(sent(major, code), Ok(500), "{code}");
            assert!(read(500, code).is_ok(), "{code}");
        }
        assert_eq!(sent("10.50", "MGA"), Err(()));
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
