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

use sqlx::{AnyConnection, Row};

use refund_provider::{Currency, MinorUnits, Money};

use super::{CreateOutcome, PaymentClaim, RefundRecord, Store, StoreError};

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

pub(super) async fn check_payment(
    conn: &mut AnyConnection,
    refund: &RefundRecord,
    payment: &PaymentClaim,
    now: i64,
) -> Result<PaymentCheck, StoreError> {
    // The row lock: `DO UPDATE` (never `DO NOTHING`) locks the existing row on PostgreSQL.
    let row = sqlx::query(
        "INSERT INTO payments (provider, account, payment_id, merchant_id, currency, amount_minor, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (provider, account, payment_id) DO UPDATE SET \
           amount_minor = COALESCE(payments.amount_minor, excluded.amount_minor), \
           updated_at = excluded.updated_at \
         RETURNING merchant_id, currency, amount_minor",
    )
    .bind(&refund.provider)
    .bind(&refund.account)
    .bind(&refund.payment_id)
    .bind(&refund.merchant_id)
    .bind(&refund.currency)
    .bind(payment.payment_amount_minor)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let owner: String = row.try_get("merchant_id")?;
    let currency: String = row.try_get("currency")?;
    let captured: Option<i64> = row.try_get("amount_minor")?;
    if owner != refund.merchant_id {
        return Ok(PaymentCheck::Refuse(CreateOutcome::PaymentNotFound));
    }
    if currency != refund.currency {
        return Ok(PaymentCheck::Refuse(CreateOutcome::CurrencyMismatch {
            payment_currency: currency,
        }));
    }
    if let (Some(given), Some(known)) = (payment.payment_amount_minor, captured) {
        if given != known {
            return Ok(PaymentCheck::Refuse(CreateOutcome::PaymentAmountMismatch {
                known_minor: known,
            }));
        }
    }
    let Some(captured) = captured else {
        return Ok(PaymentCheck::Refund { rest_minor: None });
    };
    let used = sqlx::query(&format!(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS used, COUNT(*) - COUNT(amount_minor) AS unknown_amounts \
         FROM refunds WHERE provider = $1 AND account = $2 AND payment_id = $3 \
           AND status IN ({COUNTED})"
    ))
    .bind(&refund.provider)
    .bind(&refund.account)
    .bind(&refund.payment_id)
    .fetch_one(&mut *conn)
    .await?;
    let unknown_amounts: i64 = used.try_get("unknown_amounts")?;
    let used: i64 = used.try_get("used")?;
    let rest = if unknown_amounts > 0 {
        0
    } else {
        captured.saturating_sub(used).max(0)
    };
    let exceeds = match refund.amount_minor {
        Some(asked) => asked > rest,
        None => rest == 0,
    };
    if exceeds {
        return Ok(PaymentCheck::Refuse(
            CreateOutcome::AmountExceedsRefundable {
                refundable_minor: rest,
            },
        ));
    }
    Ok(PaymentCheck::Refund {
        rest_minor: Some(rest),
    })
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
    pub provider: String,
    pub account: String,
    pub currency: String,
    /// The captured amount, when a merchant gave it.
    pub amount_minor: Option<i64>,
    /// What its `pending`, `processing` and `succeeded` refunds take; `None` when one of
    /// them has no known amount yet.
    pub used_minor: Option<i64>,
}

impl Store {
    /// `merchant`'s payment rows with this id (every merchant's with `None`; one per provider
    /// account), oldest first.
    pub async fn payment_rows(
        &self,
        merchant_id: Option<&str>,
        payment_id: &str,
    ) -> Result<Vec<PaymentRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT p.provider AS provider, p.account AS account, p.currency AS currency, \
                    p.amount_minor AS amount_minor, \
                    (SELECT CAST(COALESCE(SUM(r.amount_minor), 0) AS BIGINT) FROM refunds r \
                      WHERE r.provider = p.provider AND r.account = p.account \
                        AND r.payment_id = p.payment_id AND r.status IN ({COUNTED})) AS used, \
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
                let used: i64 = row.try_get("used")?;
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
    pub async fn payment_captured_amount(
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
