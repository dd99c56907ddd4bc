//! Sums of minor units that cannot overflow, on either backend (DESIGN §16 "Sums never
//! overflow").
//!
//! One amount fits an i64 (at most 12 integer digits and 4 decimals: `999999999999.9999` CLF
//! is 9,999,999,999,999,999 minor units), but a thousand of them do not: SQLite's `SUM` of
//! integers then fails with "integer overflow" (every summary answered 503 from then on) and
//! an i64 in Rust would wrap or saturate. So every aggregate sums `x` as two parts that
//! cannot overflow, `x / 2^32` and `x % 2^32` (both backends truncate toward zero, so
//! `x = hi·2^32 + lo` with `|hi| < 2^31`, `|lo| < 2^32` whatever the sign), and Rust
//! combines them in i128: `SUM(hi)·2^32 + SUM(lo)`, exact for fewer than 2^31 rows. The
//! same SQL runs on PostgreSQL, whose `SUM` of BIGINT is NUMERIC anyway; one text for both
//! keeps the two backends' figures identical by construction.
//!
//! In Rust an i128 holds the sum of 2^64 i64 amounts, so adding rows' amounts to it never
//! overflows; rendering goes through [`crate::ledger::format_minor`], which formats an i128
//! exactly (no `Decimal` range to fall out of).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::StoreError;

/// `2^32`, the split of every summed amount.
const SPLIT: i128 = 1 << 32;

/// `SUM(expr)` as two BIGINT columns, `{alias}_hi` and `{alias}_lo` (0 when no row has a
/// value); read them back with [`read`].
pub(crate) fn exact_sum(expr: &str, alias: &str) -> String {
    format!(
        "CAST(COALESCE(SUM(({expr}) / 4294967296), 0) AS BIGINT) AS {alias}_hi, \
         CAST(COALESCE(SUM(({expr}) % 4294967296), 0) AS BIGINT) AS {alias}_lo"
    )
}

/// The sum that [`exact_sum`] split: `hi·2^32 + lo`.
pub(crate) fn combine(hi: i64, lo: i64) -> i128 {
    // |hi| < 2^63, so hi·2^32 < 2^95 and the addition stays far inside i128.
    i128::from(hi) * SPLIT + i128::from(lo)
}

/// The sum named `alias` (see [`exact_sum`]) of `row`.
pub(crate) fn read(row: &AnyRow, alias: &str) -> Result<i128, StoreError> {
    let hi: i64 = row.try_get(format!("{alias}_hi").as_str())?;
    let lo: i64 = row.try_get(format!("{alias}_lo").as_str())?;
    Ok(combine(hi, lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What SQL's truncating `/` and `%` give for `x` (Rust's are the same).
    fn split(x: i64) -> (i64, i64) {
        (x / 4_294_967_296, x % 4_294_967_296)
    }

    #[test]
    fn splitting_and_combining_gives_back_every_amount() {
        for x in [
            0,
            1,
            -1,
            4_294_967_295,
            4_294_967_296,
            -4_294_967_297,
            9_999_999_999_999_999,
            -9_999_999_999_999_999,
            i64::MAX,
            i64::MIN,
        ] {
            let (hi, lo) = split(x);
            assert_eq!(combine(hi, lo), i128::from(x), "{x}");
        }
    }

    #[test]
    fn a_thousand_of_the_largest_amounts_sum_exactly() {
        let x = 9_999_999_999_999_999_i64;
        let (hi, lo) = split(x);
        let sum = combine(hi * 1000, lo * 1000);
        assert_eq!(sum, 9_999_999_999_999_999_000_i128);
        assert!(sum > i128::from(i64::MAX));
        // Mixed signs (a ledger account with debits and credits) sum exactly too.
        let (nh, nl) = split(-x);
        assert_eq!(combine(hi * 3 + nh, lo * 3 + nl), i128::from(x) * 2);
    }
}
