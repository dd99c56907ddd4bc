//! Money: ISO 4217 currencies with their exponents, exact decimal amounts and minor units.
//!
//! This module is the only place where major units become minor units and back. Amounts are
//! parsed from decimal strings exactly (`Decimal::from_str_exact`), never through a float, and
//! an amount the currency cannot carry is rejected, never rounded.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Largest number of integer digits accepted in a major-unit amount (`^[0-9]{1,12}`).
const MAX_INTEGER_DIGITS: usize = 12;

/// `10^12`: the smallest major-unit amount with more than [`MAX_INTEGER_DIGITS`] digits.
fn max_major_exclusive() -> Decimal {
    Decimal::from(1_000_000_000_000_i64)
}

/// Why a currency code or an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("currency `{0}` is not an active ISO 4217 currency code")]
    CurrencyUnsupported(String),
    #[error("amount `{amount}` is not a valid {currency} amount: {why}")]
    AmountInvalid {
        amount: String,
        currency: Currency,
        why: &'static str,
    },
}

/// An active ISO 4217 currency (upper case), with its exponent from the standard's table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses an upper-case active ISO 4217 code. Lower case, superseded codes and codes
    /// without an exponent (gold, testing codes, "no currency") are refused.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let unsupported = || MoneyError::CurrencyUnsupported(code.to_owned());
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(unsupported());
        }
        let iso = iso_currency::Currency::from_code(code).ok_or_else(unsupported)?;
        if iso.exponent().is_none() || iso.is_superseded().is_some() {
            return Err(unsupported());
        }
        Ok(Self(iso))
    }

    /// The three-letter code, e.g. `"EUR"`.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Number of fractional digits of the minor unit: 0 for JPY, 2 for EUR, 3 for KWD.
    pub fn exponent(self) -> u32 {
        // `parse` only admits currencies that have an exponent.
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

/// An amount in the currency's minor unit (cents, fen, yen, fils). Always positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MinorUnits(i64);

impl MinorUnits {
    /// A positive count of minor units; zero and negatives are refused.
    pub fn new(value: i64) -> Option<Self> {
        (value > 0).then_some(Self(value))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for MinorUnits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A positive amount of money in one currency, exact to the currency's exponent.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Parses a major-unit decimal string as the API takes it: `^[0-9]{1,12}(\.[0-9]{1,E})?$`
    /// where E is the currency's exponent (no fraction at all when E is 0), and not zero.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let invalid = |why| MoneyError::AmountInvalid {
            amount: amount.to_owned(),
            currency,
            why,
        };
        let (integer, fraction) = match amount.split_once('.') {
            Some((integer, fraction)) => (integer, Some(fraction)),
            None => (amount, None),
        };
        if integer.is_empty() || integer.len() > MAX_INTEGER_DIGITS {
            return Err(invalid("expected 1 to 12 integer digits"));
        }
        if !integer.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("only digits and one decimal point are allowed"));
        }
        if let Some(fraction) = fraction {
            let exponent = currency.exponent() as usize;
            if exponent == 0 {
                return Err(invalid("this currency has no fractional digits"));
            }
            if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("only digits and one decimal point are allowed"));
            }
            if fraction.len() > exponent {
                return Err(invalid(
                    "more fractional digits than the currency's exponent",
                ));
            }
        }
        let decimal =
            Decimal::from_str_exact(amount).map_err(|_| invalid("not an exact decimal"))?;
        if decimal.is_zero() {
            return Err(invalid("amount must be greater than zero"));
        }
        Ok(Self {
            amount: decimal,
            currency,
        })
    }

    /// Builds money from a count of minor units (`1299` EUR → 12.99 EUR).
    pub fn from_minor(minor: MinorUnits, currency: Currency) -> Self {
        Self {
            amount: Decimal::new(minor.get(), currency.exponent()),
            currency,
        }
    }

    /// Builds money from a decimal read from a provider's answer (major units). The range
    /// check every provider amount passes (DESIGN §15): positive, at most the currency's
    /// exponent of fractional digits, at most 12 integer digits (so its minor units always
    /// fit an i64 and sums of a few of them cannot overflow).
    pub fn from_decimal(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let invalid = |why| MoneyError::AmountInvalid {
            amount: amount.to_string(),
            currency,
            why,
        };
        if amount <= Decimal::ZERO {
            return Err(invalid("amount must be greater than zero"));
        }
        if amount.normalize().scale() > currency.exponent() {
            return Err(invalid(
                "more fractional digits than the currency's exponent",
            ));
        }
        if amount >= max_major_exclusive() {
            return Err(invalid("more than 12 integer digits"));
        }
        Ok(Self { amount, currency })
    }

    /// Builds money from a count of minor units read from a provider's answer (eFundPay's
    /// `amount`, e-Buy's fen): the same range check as [`Money::from_decimal`], so an
    /// answer's amount beyond 12 integer digits, zero or negative is refused, never
    /// wrapped, saturated or trusted.
    pub fn from_provider_minor(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        let invalid = |why| MoneyError::AmountInvalid {
            amount: minor.to_string(),
            currency,
            why,
        };
        let minor = MinorUnits::new(minor)
            .ok_or_else(|| invalid("amount must be a positive count of minor units"))?;
        let money = Self::from_minor(minor, currency);
        if money.amount >= max_major_exclusive() {
            return Err(invalid("more than 12 integer digits"));
        }
        Ok(money)
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in major units, exact.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The exact count of minor units (`12.99` EUR → 1299, `1.299` KWD → 1299).
    pub fn minor_units(&self) -> MinorUnits {
        let mut scaled = self.amount;
        scaled.rescale(self.currency.exponent());
        // A rescale to at least the current scale is exact; `parse` and `from_decimal`
        // guarantee a positive amount with at most 12 integer digits, which fits an i64.
        MinorUnits(i64::try_from(scaled.mantissa()).unwrap_or(i64::MAX))
    }

    /// The amount with exactly the currency's number of decimals: "50.00", "1299", "1.299".
    pub fn to_major_string(&self) -> String {
        let mut scaled = self.amount;
        scaled.rescale(self.currency.exponent());
        scaled.to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_major_string(), self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

/// Reads a provider answer's minor-unit amount, with a missing or `null` amount as 0: an
/// answer that leaves its amount out is still read (its status may matter), and a zero
/// amount proves nothing, which the adapter reports as no amount (DESIGN §16). Use with
/// `#[serde(default, deserialize_with = "refund_provider::money::minor_or_zero")]`.
pub fn minor_or_zero<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Ok(Option::<i64>::deserialize(deserializer)?.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("test currency")
    }

    #[test]
    fn currency_codes_are_checked_against_the_iso_table() {
        for ok in ["EUR", "USD", "CNY", "JPY", "KWD", "THB", "CLF"] {
            assert!(Currency::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "eur", "Eur", "EU", "EURO", "XAU", "XXX", "HRK", "ZZZ", "", "E1R", " EUR",
        ] {
            assert_eq!(
                Currency::parse(bad),
                Err(MoneyError::CurrencyUnsupported(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn exponents_come_from_the_standard() {
        for (code, exp) in [
            ("JPY", 0),
            ("KRW", 0),
            ("VND", 0),
            ("CLP", 0),
            ("ISK", 0),
            ("UGX", 0),
            ("XAF", 0),
            ("XOF", 0),
            ("KWD", 3),
            ("BHD", 3),
            ("JOD", 3),
            ("OMR", 3),
            ("TND", 3),
            ("IQD", 3),
            ("LYD", 3),
            ("EUR", 2),
            ("USD", 2),
            ("CNY", 2),
        ] {
            assert_eq!(cur(code).exponent(), exp, "{code}");
        }
    }

    #[test]
    fn amount_strings_are_accepted_or_rejected_exactly() {
        // (amount, currency, expected minor units or None for rejected)
        let table: &[(&str, &str, Option<i64>)] = &[
            ("12.99", "EUR", Some(1299)),
            ("12.9", "EUR", Some(1290)),
            ("12", "EUR", Some(1200)),
            ("0.01", "EUR", Some(1)),
            ("999999999999.99", "EUR", Some(99_999_999_999_999)),
            ("007.50", "USD", Some(750)),
            ("1299", "JPY", Some(1299)),
            ("1", "JPY", Some(1)),
            ("1.299", "KWD", Some(1299)),
            ("1.2", "KWD", Some(1200)),
            ("0.001", "BHD", Some(1)),
            ("50.00", "CNY", Some(5000)),
            ("12.999", "EUR", None),
            ("12.990", "EUR", None),
            ("12.", "EUR", None),
            (".99", "EUR", None),
            ("", "EUR", None),
            ("0", "EUR", None),
            ("0.00", "EUR", None),
            ("-1.00", "EUR", None),
            ("+1.00", "EUR", None),
            (" 1.00", "EUR", None),
            ("1.00 ", "EUR", None),
            ("1e3", "EUR", None),
            ("1E3", "EUR", None),
            ("1,00", "EUR", None),
            ("1.0.0", "EUR", None),
            ("1000000000000", "EUR", None),
            ("NaN", "EUR", None),
            ("Infinity", "EUR", None),
            ("0x10", "EUR", None),
            ("１２", "EUR", None),
            ("1299.0", "JPY", None),
            ("1299.", "JPY", None),
            ("0", "JPY", None),
            ("1.2999", "KWD", None),
            ("1.2990", "KWD", None),
            ("0.000", "KWD", None),
        ];
        assert!(table.len() >= 30);
        for (amount, code, expected) in table {
            let parsed = Money::parse(amount, cur(code));
            match expected {
                Some(minor) => {
                    let money = parsed.unwrap_or_else(|e| panic!("{amount} {code}: {e}"));
                    assert_eq!(money.minor_units().get(), *minor, "{amount} {code}");
                }
                None => assert!(
                    matches!(parsed, Err(MoneyError::AmountInvalid { .. })),
                    "{amount} {code} should be rejected, got {parsed:?}"
                ),
            }
        }
    }

    #[test]
    fn major_strings_carry_exactly_the_exponent() {
        assert_eq!(
            Money::parse("50", cur("CNY")).map(|m| m.to_major_string()),
            Ok("50.00".into())
        );
        assert_eq!(
            Money::parse("1.2", cur("KWD")).map(|m| m.to_major_string()),
            Ok("1.200".into())
        );
        assert_eq!(
            Money::parse("1299", cur("JPY")).map(|m| m.to_major_string()),
            Ok("1299".into())
        );
    }

    #[test]
    fn decimals_from_providers_with_too_many_digits_are_refused() {
        let d = |s: &str| Decimal::from_str_exact(s).expect("decimal");
        assert!(Money::from_decimal(d("12.990"), cur("EUR")).is_ok());
        assert!(Money::from_decimal(d("12.991"), cur("EUR")).is_err());
        assert!(Money::from_decimal(d("0"), cur("EUR")).is_err());
        assert!(Money::from_decimal(d("-1"), cur("EUR")).is_err());
    }

    #[test]
    fn provider_amounts_beyond_twelve_integer_digits_are_refused_never_wrapped() {
        let d = |s: &str| Decimal::from_str_exact(s).expect("decimal");
        assert!(Money::from_decimal(d("999999999999.99"), cur("EUR")).is_ok());
        assert!(Money::from_decimal(d("1000000000000"), cur("EUR")).is_err());
        assert!(Money::from_decimal(Decimal::MAX, cur("JPY")).is_err());
        assert!(Money::from_decimal(d("79228162514264337593543950335"), cur("EUR")).is_err());

        for (minor, code, ok) in [
            (99_999_999_999_999, "EUR", true),
            (100_000_000_000_000, "EUR", false),
            (999_999_999_999, "JPY", true),
            (1_000_000_000_000, "JPY", false),
            (999_999_999_999_999, "KWD", true),
            (1_000_000_000_000_000, "KWD", false),
            (i64::MAX, "JPY", false),
            (i64::MAX, "CLF", false),
            (0, "EUR", false),
            (-1, "EUR", false),
            (i64::MIN, "EUR", false),
        ] {
            let money = Money::from_provider_minor(minor, cur(code));
            assert_eq!(money.is_ok(), ok, "{minor} {code}: {money:?}");
            if let Ok(money) = money {
                assert_eq!(money.minor_units().get(), minor);
                assert!(Money::parse(&money.to_major_string(), cur(code)).is_ok());
            }
        }
    }

    proptest! {
        #[test]
        fn minor_units_round_trip(minor in 1i64..=99_999_999_999_999, code in prop::sample::select(vec!["JPY", "EUR", "KWD", "CNY", "CLF"])) {
            let currency = cur(code);
            let money = Money::from_minor(MinorUnits(minor), currency);
            prop_assert_eq!(money.minor_units().get(), minor);
            let reparsed = Money::parse(&money.to_major_string(), currency);
            // Only amounts within 12 integer digits are representable in the API.
            if money.amount().trunc().to_string().len() <= MAX_INTEGER_DIGITS {
                let reparsed = reparsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(reparsed.minor_units().get(), minor);
                prop_assert_eq!(reparsed, money);
            }
        }
    }
}
