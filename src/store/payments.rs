//! Payment rows (DESIGN §14): whose payment a refund draws on and how much of it is left.
//!
//! The check runs inside the create step, after the idempotency claim and before the pending
//! insert, all in one transaction:
//!
//! 1. One upsert creates the payment row on its first refund (owner = this merchant, the
//!    refund's currency, the `payment_amount` if given) or, when it exists, keeps its captured
//!    amount (the first value given wins) and returns it. On PostgreSQL the upsert's
//!    `ON CONFLICT DO UPDATE` locks the row until the transaction ends, so every create of the
//!    same payment waits here for the one before to commit; on SQLite the single writer runs
//!    one step at a time anyway.
//! 2. Only then, in a statement of its own (so it sees what the previous holder of the lock
//!    committed), the sum of the payment's refunds that still count: `pending`, `processing`
//!    and `succeeded` (a `failed` or `canceled` refund gives its amount back). A counted refund
//!    whose amount is not known yet (a full refund the provider has not sized) counts as the
//!    whole payment.
//!
//! A refusal rolls the whole step back: nothing is recorded, nothing is sent.
//!
//! Later, when a refund sent without an amount learns it from the provider, the change that
//! writes it is checked against what was refundable for it (DESIGN §16): beyond it, the
//! amount is still booked as reported (the money moved) and the refund is flagged
//! `requires_attention` (`exceeds_refundable`).

use rusqlite::{params, Connection, OptionalExtension};
use sqlx::{AnyConnection, Row};

use refund_provider::{Currency, MinorUnits, Money};

use super::writer::sqlite_error;
use super::{prepare, sums, Change, CreateOutcome, NewEvent, PaymentClaim, Store, StoreError};
use crate::domain::{AttentionReason, EventSource, RefundRecord};

/// What the payment check concluded.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PaymentCheck {
    /// The refund may go ahead; `rest_minor` is what was left before it (`None` when the
    /// captured amount is unknown).
    Refund { rest_minor: Option<i64> },
    /// The refund is refused with this outcome; nothing is to be kept.
    Refuse(CreateOutcome),
}

/// Statuses whose amount is taken from the payment.
const COUNTED: &str = "'pending', 'processing', 'succeeded'";
/// Creates the payment row or locks it, keeping the first captured amount given.
const UPSERT_PAYMENT: &str = "INSERT INTO payments (provider, account, payment_id, merchant_id, currency, amount_minor, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
     ON CONFLICT (provider, account, payment_id) DO UPDATE SET \
       amount_minor = COALESCE(payments.amount_minor, excluded.amount_minor), \
       updated_at = excluded.updated_at \
     RETURNING merchant_id, currency, amount_minor";

/// What the payment's counted refunds take, and how many of them have no amount yet. The
/// sum is split as `sums.rs` explains (`used_hi`, `used_lo`), so refunds booked before the
/// captured amount was known, or learnt larger later, can never overflow it.
const USED: &str =
    "SELECT CAST(COALESCE(SUM(amount_minor / 4294967296), 0) AS BIGINT) AS used_hi, \
       CAST(COALESCE(SUM(amount_minor % 4294967296), 0) AS BIGINT) AS used_lo, \
       COUNT(*) - COUNT(amount_minor) AS unknown_amounts \
     FROM refunds WHERE provider = $1 AND account = $2 AND payment_id = $3 \
       AND status IN ('pending', 'processing', 'succeeded')";

/// The payment row as the upsert returned it.
pub(super) struct LockedPayment {
    pub(super) owner: String,
    pub(super) currency: String,
    pub(super) captured: Option<i64>,
}

/// The rules of DESIGN §14 on the locked payment row: `Err` is the refusal; `Ok(None)`: the
/// refund may go ahead and nothing is left to count; `Ok(Some(captured))`: count the
/// refunds, then [`rest_check`].
pub(super) fn row_check(
    row: LockedPayment,
    refund: &RefundRecord,
    payment: &PaymentClaim,
) -> Result<Option<i64>, CreateOutcome> {
    if row.owner != refund.merchant_id {
        return Err(CreateOutcome::PaymentNotFound);
    }
    if row.currency != refund.currency {
        return Err(CreateOutcome::CurrencyMismatch {
            payment_currency: row.currency,
        });
    }
    if let (Some(given), Some(known)) = (payment.payment_amount_minor, row.captured) {
        if given != known {
            return Err(CreateOutcome::PaymentAmountMismatch { known_minor: known });
        }
    }
    Ok(row.captured)
}

/// What is left of `captured` once the counted refunds (`used`, `unknown_amounts` of them
/// unsized, each taking the whole payment) are taken, and whether `refund` fits in it.
fn rest_check(
    captured: i64,
    used: i128,
    unknown_amounts: i64,
    refund: &RefundRecord,
) -> PaymentCheck {
    let rest = if unknown_amounts > 0 {
        0
    } else {
        // In [0, captured], so it fits an i64.
        i64::try_from((i128::from(captured) - used).max(0)).unwrap_or(0)
    };
    let exceeds = match refund.amount_minor {
        Some(asked) => asked > rest,
        None => rest == 0,
    };
    if exceeds {
        PaymentCheck::Refuse(CreateOutcome::AmountExceedsRefundable {
            refundable_minor: rest,
        })
    } else {
        PaymentCheck::Refund {
            rest_minor: Some(rest),
        }
    }
}

/// The payment check on SQLite, on the writer thread (which serializes it with every other
/// write).
pub(super) fn check_payment_sqlite(
    conn: &Connection,
    refund: &RefundRecord,
    payment: &PaymentClaim,
    now: i64,
) -> Result<PaymentCheck, StoreError> {
    let row = prepare(conn, UPSERT_PAYMENT)?
        .query_row(
            params![
                refund.provider,
                refund.account,
                refund.payment_id,
                refund.merchant_id,
                refund.currency,
                payment.payment_amount_minor,
                now
            ],
            |row| {
                Ok(LockedPayment {
                    owner: row.get(0)?,
                    currency: row.get(1)?,
                    captured: row.get(2)?,
                })
            },
        )
        .map_err(sqlite_error)?;
    let captured = match row_check(row, refund, payment) {
        Err(refusal) => return Ok(PaymentCheck::Refuse(refusal)),
        Ok(None) => return Ok(PaymentCheck::Refund { rest_minor: None }),
        Ok(Some(captured)) => captured,
    };
    let (used, unknown_amounts) = prepare(conn, USED)?
        .query_row(
            params![refund.provider, refund.account, refund.payment_id],
            |row| {
                Ok((
                    sums::combine(row.get::<_, i64>(0)?, row.get::<_, i64>(1)?),
                    row.get::<_, i64>(2)?,
                ))
            },
        )
        .map_err(sqlite_error)?;
    Ok(rest_check(captured, used, unknown_amounts, refund))
}

/// On PostgreSQL, inside the create transaction and after the payment row's lock: what is
/// left of the `captured` amount, and whether the refund fits in it.
pub(super) async fn count_postgres(
    conn: &mut AnyConnection,
    refund: &RefundRecord,
    captured: i64,
) -> Result<PaymentCheck, StoreError> {
    let used = sqlx::query(USED)
        .bind(&refund.provider)
        .bind(&refund.account)
        .bind(&refund.payment_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(rest_check(
        captured,
        sums::read(&used, "used")?,
        used.try_get("unknown_amounts")?,
        refund,
    ))
}

/// The payment's other refunds that still count (DESIGN §14), for what is left for one of
/// them: summed in Rust (i128), so no number of refunds overflows.
const OTHERS_COUNTED: &str = "SELECT amount_minor FROM refunds \
     WHERE provider = $1 AND account = $2 AND payment_id = $3 AND id <> $4 \
       AND status IN ('pending', 'processing', 'succeeded')";
const CAPTURED: &str =
    "SELECT amount_minor FROM payments WHERE provider = $1 AND account = $2 AND payment_id = $3";

/// What was refundable for `refund` of a payment captured for `captured`: the captured
/// amount less what its other counted refunds take (an unsized one takes it all); `None`
/// when the captured amount is unknown.
fn refundable_for(captured: Option<i64>, others: &[Option<i64>]) -> Option<i128> {
    let captured = i128::from(captured?);
    if others.iter().any(Option::is_none) {
        return Some(0);
    }
    let used: i128 = others.iter().flatten().map(|m| i128::from(*m)).sum();
    Some((captured - used).max(0))
}

/// The minor units `change` teaches `refund`, a refund sent without an amount.
fn learnt_amount(refund: &RefundRecord, change: &Change) -> Option<i64> {
    match (&refund.amount_minor, &change.amount) {
        (None, Some((_, minor))) => Some(*minor),
        _ => None,
    }
}

/// Flags `change` when the amount it teaches `refund` exceeds what was `refundable` (DESIGN
/// §16): the amount is booked as reported (the money moved) and finance is asked to look.
fn flag_beyond_refundable(
    refund: &RefundRecord,
    change: &mut Change,
    learnt: i64,
    refundable: Option<i128>,
) {
    let Some(refundable) = refundable.filter(|r| i128::from(learnt) > *r) else {
        return;
    };
    let source = change
        .events
        .first()
        .map_or(EventSource::Provider, |event| event.source);
    let refundable_text = i64::try_from(refundable)
        .ok()
        .and_then(|minor| major_string(&refund.currency, minor).ok())
        .unwrap_or_else(|| "0".to_owned());
    change.flag_requires_attention = true;
    change.events.push(NewEvent::attention(
        AttentionReason::ExceedsRefundable,
        source,
        serde_json::json!({
            "amount": change.amount.as_ref().map(|(text, _)| text.clone()),
            "refundable": refundable_text,
            "currency": refund.currency,
        }),
    ));
}

/// SQLite, in the writer step that writes `change`: flags it if the amount it teaches
/// exceeds what was refundable (read in the same transaction).
pub(super) fn check_learnt_amount_sqlite(
    conn: &Connection,
    refund: &RefundRecord,
    change: &mut Change,
) -> Result<(), StoreError> {
    let Some(learnt) = learnt_amount(refund, change) else {
        return Ok(());
    };
    let captured: Option<i64> = prepare(conn, CAPTURED)?
        .query_row(
            params![refund.provider, refund.account, refund.payment_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(sqlite_error)?
        .flatten();
    let others = prepare(conn, OTHERS_COUNTED)?
        .query_map(
            params![
                refund.provider,
                refund.account,
                refund.payment_id,
                refund.id.to_string()
            ],
            |row| row.get::<_, Option<i64>>(0),
        )
        .map_err(sqlite_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_error)?;
    flag_beyond_refundable(refund, change, learnt, refundable_for(captured, &others));
    Ok(())
}

/// `minor` units of `currency` as the API's major-unit string.
pub(super) fn major_string(currency: &str, minor: i64) -> Result<String, StoreError> {
    let currency = Currency::parse(currency)
        .map_err(|_| StoreError::Corrupt(format!("currency `{currency}`")))?;
    let minor =
        MinorUnits::new(minor).ok_or_else(|| StoreError::Corrupt(format!("amount {minor}")))?;
    Ok(Money::from_minor(minor, currency).to_major_string())
}

/// One payment row as the payments endpoint shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub(crate) provider: String,
    pub(crate) account: String,
    pub(crate) currency: String,
    /// The captured amount, when a merchant gave it.
    pub(crate) amount_minor: Option<i64>,
    /// What its `pending`, `processing` and `succeeded` refunds take; `None` when one of
    /// them has no known amount yet.
    pub used_minor: Option<i128>,
}

impl Store {
    /// What was refundable for `refund` (see [`refundable_for`]), read through the pool.
    pub(crate) async fn refundable_for(
        &self,
        refund: &RefundRecord,
    ) -> Result<Option<i128>, StoreError> {
        let captured: Option<Option<i64>> = sqlx::query_scalar(CAPTURED)
            .bind(&refund.provider)
            .bind(&refund.account)
            .bind(&refund.payment_id)
            .fetch_optional(&self.pool)
            .await?;
        let others: Vec<Option<i64>> = sqlx::query_scalar(OTHERS_COUNTED)
            .bind(&refund.provider)
            .bind(&refund.account)
            .bind(&refund.payment_id)
            .bind(refund.id.to_string())
            .fetch_all(&self.pool)
            .await?;
        Ok(refundable_for(captured.flatten(), &others))
    }

    /// What is left to refund of a payment (a dry run's estimate, DESIGN §19): its captured
    /// amount (or `given`, the captured amount a request states, when none is stored) less
    /// what its counted refunds take; `None` when the captured amount is unknown.
    pub(crate) async fn payment_refundable(
        &self,
        provider: &str,
        account: &str,
        payment_id: &str,
        given: Option<i64>,
    ) -> Result<Option<i128>, StoreError> {
        let captured: Option<Option<i64>> = sqlx::query_scalar(CAPTURED)
            .bind(provider)
            .bind(account)
            .bind(payment_id)
            .fetch_optional(&self.pool)
            .await?;
        let others: Vec<Option<i64>> = sqlx::query_scalar(OTHERS_COUNTED)
            .bind(provider)
            .bind(account)
            .bind(payment_id)
            .bind("")
            .fetch_all(&self.pool)
            .await?;
        Ok(refundable_for(captured.flatten().or(given), &others))
    }

    /// PostgreSQL, before writing `change`: flags it if the amount it teaches exceeds what
    /// was refundable. (Read just before the guarded write rather than under the payment's
    /// lock: the flag asks finance to look at money that already moved; it refuses nothing.)
    pub(super) async fn check_learnt_amount_postgres(
        &self,
        refund: &RefundRecord,
        change: &mut Change,
    ) -> Result<(), StoreError> {
        if let Some(learnt) = learnt_amount(refund, change) {
            let refundable = self.refundable_for(refund).await?;
            flag_beyond_refundable(refund, change, learnt, refundable);
        }
        Ok(())
    }

    /// `merchant`'s payment rows with this id (every merchant's with `None`; one per provider
    /// account), oldest first.
    pub(crate) async fn payment_rows(
        &self,
        merchant_id: Option<&str>,
        payment_id: &str,
    ) -> Result<Vec<PaymentRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT p.provider AS provider, p.account AS account, p.currency AS currency, \
                    p.amount_minor AS amount_minor, \
                    (SELECT CAST(COALESCE(SUM(r.amount_minor / 4294967296), 0) AS BIGINT) FROM refunds r \
                      WHERE r.provider = p.provider AND r.account = p.account \
                        AND r.payment_id = p.payment_id AND r.status IN ({COUNTED})) AS used_hi, \
                    (SELECT CAST(COALESCE(SUM(r.amount_minor % 4294967296), 0) AS BIGINT) FROM refunds r \
                      WHERE r.provider = p.provider AND r.account = p.account \
                        AND r.payment_id = p.payment_id AND r.status IN ({COUNTED})) AS used_lo, \
                    (SELECT COUNT(*) - COUNT(r.amount_minor) FROM refunds r \
                      WHERE r.provider = p.provider AND r.account = p.account \
                        AND r.payment_id = p.payment_id AND r.status IN ({COUNTED})) AS unknown_amounts \
             FROM payments p WHERE ($1 = '' OR p.merchant_id = $1) AND p.payment_id = $2 \
             ORDER BY p.created_at, p.provider, p.account"
        ))
        .bind(merchant_id.unwrap_or(""))
        .bind(payment_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let unknown_amounts: i64 = row.try_get("unknown_amounts")?;
                let used = sums::read(row, "used")?;
                Ok(PaymentRow {
                    provider: row.try_get("provider")?,
                    account: row.try_get("account")?,
                    currency: row.try_get("currency")?,
                    amount_minor: row.try_get("amount_minor")?,
                    used_minor: (unknown_amounts == 0).then_some(used),
                })
            })
            .collect()
    }

    /// The captured amount of a payment, if a merchant gave it (no lock: a hint for request
    /// validation; the create step checks again under the lock).
    pub(crate) async fn payment_captured_amount(
        &self,
        provider: &str,
        account: &str,
        payment_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        let amount: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT amount_minor FROM payments WHERE provider = $1 AND account = $2 AND payment_id = $3",
        )
        .bind(provider)
        .bind(account)
        .bind(payment_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(amount.flatten())
    }
}
