//! The invariants of money, checked after every step against the providers' ground truth
//! (the [`World`]) and what the model remembers:
//!
//! 1. A provider applied each refund at most once (`plain` pays a repeated reference again,
//!    so a second send there shows as a second application).
//! 2. A refund the provider applied never ends `failed` or `canceled` unless the provider
//!    said it failed.
//! 3. A refund ends `succeeded` only if the provider made it, succeeded, for that amount.
//! 4. Per payment whose captured amount was known from its first refund, succeeded +
//!    pending + processing never exceed it; a payment belongs to one merchant.
//! 5. Each refund's ledger lines balance; each provider's clearing account and each
//!    merchant's expense account equal the succeeded refunds' amounts (less, on clearing,
//!    what was settled into the provider's settled account); only a succeeded refund is
//!    settled.
//! 6. A final status never changes.
//! 7. One refund per merchant and Idempotency-Key while the key is retained.
//!
//! (The give-up and the merchant events are checked in `harness.rs`.)

use std::collections::BTreeMap;

use sqlx::Row as _;

use refund_gateway::domain::RefundStatus;
use refund_gateway::store::Store;

use crate::provider::{lock, Made, SharedWorld, CAPTURED};

/// What the model remembers between steps.
#[derive(Debug, Default)]
pub struct Model {
    /// The first final status seen of each refund.
    pub finals: BTreeMap<String, RefundStatus>,
    /// Per (provider, payment): its owner, and whether its first refund gave the captured
    /// amount.
    pub payments: BTreeMap<(String, String), (String, bool)>,
}

/// A refund as stored.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub merchant_id: String,
    pub provider: String,
    pub reference: String,
    pub payment_id: String,
    pub amount_minor: Option<i64>,
    pub status: RefundStatus,
    pub attention: bool,
    pub queued: bool,
    pub created_at: i64,
    pub idempotency_key: Option<String>,
}

pub async fn rows(store: &Store) -> Result<Vec<Row>, String> {
    let rows = sqlx::query(
        "SELECT id, merchant_id, provider, provider_reference, payment_id, amount_minor, status, \
                requires_attention, pending_reason, created_at, idempotency_key \
         FROM refunds ORDER BY created_at, id",
    )
    .fetch_all(store.pool())
    .await
    .map_err(|e| format!("read refunds: {e}"))?;
    rows.iter()
        .map(|row| {
            let get = |e: sqlx::Error| format!("refund row: {e}");
            let status: String = row.try_get("status").map_err(get)?;
            Ok(Row {
                id: row.try_get("id").map_err(get)?,
                merchant_id: row.try_get("merchant_id").map_err(get)?,
                provider: row.try_get("provider").map_err(get)?,
                reference: row.try_get("provider_reference").map_err(get)?,
                payment_id: row.try_get("payment_id").map_err(get)?,
                amount_minor: row.try_get("amount_minor").map_err(get)?,
                status: RefundStatus::parse(&status).ok_or(format!("status {status}"))?,
                attention: row.try_get::<i64, _>("requires_attention").map_err(get)? != 0,
                queued: row
                    .try_get::<Option<String>, _>("pending_reason")
                    .map_err(get)?
                    .is_some(),
                created_at: row.try_get("created_at").map_err(get)?,
                idempotency_key: row.try_get("idempotency_key").map_err(get)?,
            })
        })
        .collect()
}

/// Every ledger line: (refund, account, amount).
pub async fn ledger(store: &Store) -> Result<Vec<(Option<String>, String, i64)>, String> {
    let rows = sqlx::query("SELECT refund_id, account, amount_minor FROM ledger_entries")
        .fetch_all(store.pool())
        .await
        .map_err(|e| format!("read ledger: {e}"))?;
    rows.iter()
        .map(|row| {
            let get = |e: sqlx::Error| format!("ledger row: {e}");
            Ok((
                row.try_get("refund_id").map_err(get)?,
                row.try_get("account").map_err(get)?,
                row.try_get("amount_minor").map_err(get)?,
            ))
        })
        .collect()
}

/// Every merchant event written, in order: (event id, refund, type, delivered).
pub async fn outbox(store: &Store) -> Result<Vec<(String, String, String, bool)>, String> {
    let rows =
        sqlx::query("SELECT event_id, refund_id, event_type, delivered_at FROM outbox ORDER BY id")
            .fetch_all(store.pool())
            .await
            .map_err(|e| format!("read outbox: {e}"))?;
    rows.iter()
        .map(|row| {
            let get = |e: sqlx::Error| format!("outbox row: {e}");
            Ok((
                row.try_get("event_id").map_err(get)?,
                row.try_get("refund_id").map_err(get)?,
                row.try_get("event_type").map_err(get)?,
                row.try_get::<Option<i64>, _>("delivered_at")
                    .map_err(get)?
                    .is_some(),
            ))
        })
        .collect()
}

/// `[idempotency] retention_hours` in the model's config, in milliseconds.
pub const KEY_RETENTION_MS: i64 = 3_600_000;

/// Invariants 1-7 (see the module doc).
pub fn check(
    model: &mut Model,
    rows: &[Row],
    world: &SharedWorld,
    ledger: &[(Option<String>, String, i64)],
) -> Result<(), String> {
    let world = lock(world);
    // 1. At most once.
    for ((provider, reference), made) in &world.applied {
        if made.times > 1 {
            return Err(format!(
                "provider {provider} paid refund {reference} {} times",
                made.times
            ));
        }
    }
    let mut counted: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut booked: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        let made = world
            .applied
            .get(&(row.provider.clone(), row.reference.clone()));
        // 2. Applied, never failed or canceled unless the provider said so.
        if matches!(row.status, RefundStatus::Failed | RefundStatus::Canceled) {
            if let Some(made) = made.filter(|m| m.status != Made::Failed) {
                return Err(format!(
                    "refund {} is {} but provider {} made it ({:?}, {} cents)",
                    row.id, row.status, row.provider, made.status, made.amount_minor
                ));
            }
        }
        // 3. Succeeded only as the provider made it.
        if row.status == RefundStatus::Succeeded {
            match made {
                Some(made)
                    if made.status == Made::Succeeded
                        && Some(made.amount_minor) == row.amount_minor => {}
                other => {
                    return Err(format!(
                        "refund {} is succeeded ({:?} cents) but provider {} has {other:?}",
                        row.id, row.amount_minor, row.provider
                    ))
                }
            }
            let amount = row.amount_minor.unwrap_or_default();
            *booked
                .entry(format!("provider:{}:clearing:EUR", row.provider))
                .or_default() -= amount;
            *booked
                .entry(format!("merchant:{}:refund_expense:EUR", row.merchant_id))
                .or_default() += amount;
        }
        // 4. The refundable, and one owner per payment.
        let payment = (row.provider.clone(), row.payment_id.clone());
        if let Some((owner, known)) = model.payments.get(&payment) {
            if *owner != row.merchant_id {
                return Err(format!(
                    "payment {} of {} belongs to {owner} but {} refunded it (refund {})",
                    row.payment_id, row.provider, row.merchant_id, row.id
                ));
            }
            if *known
                && matches!(
                    row.status,
                    RefundStatus::Pending | RefundStatus::Processing | RefundStatus::Succeeded
                )
            {
                *counted.entry(payment).or_default() += row.amount_minor.unwrap_or(CAPTURED);
            }
        }
        // 6. A final status never changes.
        if let Some(first) = model.finals.get(&row.id) {
            if *first != row.status {
                return Err(format!(
                    "refund {} was {first}, a final status, and is now {}",
                    row.id, row.status
                ));
            }
        } else if row.status.is_final() {
            model.finals.insert(row.id.clone(), row.status);
        }
    }
    for ((provider, payment), sum) in &counted {
        if *sum > CAPTURED {
            return Err(format!(
                "payment {payment} of {provider} has {sum} cents pending, processing or succeeded, \
                 more than its {CAPTURED} captured"
            ));
        }
    }
    // 7. A key makes one refund until it expires (rows are in creation order).
    let mut last_of_key: BTreeMap<(String, String), (String, i64)> = BTreeMap::new();
    for row in rows {
        let Some(key) = &row.idempotency_key else {
            continue;
        };
        let slot = (row.merchant_id.clone(), key.clone());
        if let Some((earlier, at)) = last_of_key.get(&slot) {
            if row.created_at - at < KEY_RETENTION_MS {
                return Err(format!(
                    "Idempotency-Key {key} of {} made refund {earlier} and, {} ms later, refund {}",
                    row.merchant_id,
                    row.created_at - at,
                    row.id
                ));
            }
        }
        last_of_key.insert(slot, (row.id.clone(), row.created_at));
    }
    // 5. Balanced lines per refund; the accounts equal what succeeded and was settled.
    let mut per_refund: BTreeMap<String, i64> = BTreeMap::new();
    let mut accounts: BTreeMap<String, i64> = BTreeMap::new();
    for (refund, account, amount) in ledger {
        if account.contains(":settled:") {
            let refund = refund.clone().unwrap_or_default();
            let Some(row) = rows
                .iter()
                .find(|r| r.id == refund && r.status == RefundStatus::Succeeded)
            else {
                return Err(format!("refund {refund} is settled but not succeeded"));
            };
            *booked
                .entry(format!("provider:{}:clearing:EUR", row.provider))
                .or_default() -= amount;
            *booked.entry(account.clone()).or_default() += amount;
        }
        *per_refund
            .entry(refund.clone().unwrap_or_default())
            .or_default() += amount;
        *accounts.entry(account.clone()).or_default() += amount;
    }
    if let Some((refund, sum)) = per_refund.iter().find(|(_, sum)| **sum != 0) {
        return Err(format!(
            "the ledger lines of refund {refund} do not balance: they sum to {sum}"
        ));
    }
    accounts.retain(|_, sum| *sum != 0);
    booked.retain(|_, sum| *sum != 0);
    if accounts != booked {
        return Err(format!(
            "the ledger's accounts are {accounts:?}, the succeeded refunds make {booked:?}"
        ));
    }
    Ok(())
}
