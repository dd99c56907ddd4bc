//! The reconciliation summary of one merchant (`GET /v1/reconciliation/summary`) and the
//! per-payment roll-up (`GET /v1/payments/{payment_id}/refunds`).
//!
//! Period semantics: counts and amounts by provider × currency × status, flagged refunds and
//! possible duplicates are about refunds *created* in `[from, to)` (both optional: from the
//! beginning, until now); clearing balances are the ledger *as of* `to`; ageing is a
//! snapshot of every refund still `pending` or `processing` now, whatever the period, because
//! a stuck refund must not hide behind a period. Amounts are exact decimals with the
//! currency's exponent, one entry per currency, never summed across currencies.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::refund_object::{rfc3339_ms, RefundObject};
use crate::domain::RefundRecord;
use crate::ledger::{CurrencyAmount, Totals};
use crate::store::payments::PaymentRow;
use crate::store::{Store, StoreError};

/// Counts and amount of one provider × currency × status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct StatusTotal {
    pub(crate) provider: String,
    pub(crate) currency: String,
    pub(crate) status: String,
    pub(crate) count: i64,
    /// Sum of the known amounts.
    pub(crate) amount: String,
    /// Full refunds whose amount the provider has not reported yet (not in `amount`).
    pub(crate) amount_unknown_count: i64,
}

/// A provider's clearing balance in one currency: negative while the provider still owes
/// the refunds it reported succeeded and no statement settled yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ClearingBalance {
    pub(crate) provider: String,
    pub(crate) currency: String,
    pub(crate) balance: String,
}

/// Open refunds by age.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct AgeingBuckets {
    pub(crate) under_15m: i64,
    pub(crate) under_24h: i64,
    pub(crate) under_7d: i64,
    pub(crate) older: i64,
}

/// A refund flagged for finance.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FlaggedRefunds {
    pub(crate) count: i64,
    /// The first 100, oldest first.
    pub(crate) refunds: Vec<RefundObject>,
}

/// A refund that may duplicate an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PossibleDuplicate {
    pub(crate) refund_id: String,
    pub(crate) duplicate_of: String,
    pub(crate) payment_id: String,
    pub(crate) amount: Option<String>,
    pub(crate) currency: String,
    pub(crate) created_at: String,
    pub(crate) first_created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PossibleDuplicates {
    pub(crate) count: i64,
    /// The first 100 pairs.
    pub(crate) refunds: Vec<PossibleDuplicate>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SummaryPeriod {
    pub(crate) from: Option<String>,
    pub(crate) to: String,
}

/// `GET /v1/reconciliation/summary`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    pub(crate) object: &'static str,
    /// The merchant summarized; `null` for an operator's summary of every merchant.
    pub(crate) merchant_id: Option<String>,
    pub(crate) period: SummaryPeriod,
    pub(crate) by_status: Vec<StatusTotal>,
    pub(crate) clearing_balances: Vec<ClearingBalance>,
    pub(crate) requires_attention: FlaggedRefunds,
    /// `pending` and `processing`, each by age.
    pub(crate) ageing: BTreeMap<&'static str, AgeingBuckets>,
    pub(crate) possible_duplicates: PossibleDuplicates,
}

/// Builds the summary of `merchant_id` (every merchant with `None`) for refunds created in
/// `[from, to)` at `now`.
pub(crate) async fn summary(
    store: &Store,
    merchant_id: Option<&str>,
    from: Option<i64>,
    to: Option<i64>,
    now: i64,
) -> Result<Summary, StoreError> {
    let start = from.unwrap_or(i64::MIN);
    let end = to.unwrap_or(now.saturating_add(1));
    let by_status = store
        .status_groups(merchant_id, start, end)
        .await?
        .into_iter()
        .map(|g| StatusTotal {
            amount: CurrencyAmount::new(&g.currency, g.amount_minor).amount,
            provider: g.provider,
            currency: g.currency,
            status: g.status,
            count: g.count,
            amount_unknown_count: g.amount_unknown,
        })
        .collect();
    let clearing_balances = store
        .provider_balances(merchant_id, "clearing", end)
        .await?
        .into_iter()
        .map(|b| ClearingBalance {
            balance: CurrencyAmount::new(&b.currency, b.balance_minor).amount,
            provider: b.provider,
            currency: b.currency,
        })
        .collect();
    let (attention_count, attention) = store.attention_refunds(merchant_id, start, end).await?;
    let mut ageing: BTreeMap<&'static str, AgeingBuckets> = [
        ("pending", AgeingBuckets::default()),
        ("processing", AgeingBuckets::default()),
    ]
    .into();
    for row in store.open_refund_ageing(merchant_id, now).await? {
        let slot = if row.status == "pending" {
            "pending"
        } else {
            "processing"
        };
        ageing.insert(
            slot,
            AgeingBuckets {
                under_15m: row.under_15m,
                under_24h: row.under_24h,
                under_7d: row.under_7d,
                older: row.older,
            },
        );
    }
    let (duplicate_count, pairs) = store.possible_duplicates(merchant_id, start, end).await?;
    Ok(Summary {
        object: "reconciliation_summary",
        merchant_id: merchant_id.map(str::to_owned),
        period: SummaryPeriod {
            from: from.map(rfc3339_ms),
            to: rfc3339_ms(end),
        },
        by_status,
        clearing_balances,
        requires_attention: FlaggedRefunds {
            count: attention_count,
            refunds: attention.iter().map(RefundObject::from).collect(),
        },
        ageing,
        possible_duplicates: PossibleDuplicates {
            count: duplicate_count,
            refunds: pairs
                .into_iter()
                .map(|p| PossibleDuplicate {
                    refund_id: p.refund_id,
                    duplicate_of: p.duplicate_of,
                    payment_id: p.payment_id,
                    amount: p.amount,
                    currency: p.currency,
                    created_at: rfc3339_ms(p.created_at),
                    first_created_at: rfc3339_ms(p.first_created_at),
                })
                .collect(),
        },
    })
}

/// Count and amount of one currency × status of a payment's refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PaymentTotal {
    pub(crate) currency: String,
    pub(crate) status: String,
    pub(crate) count: u64,
    pub(crate) amount: String,
}

/// `GET /v1/payments/{payment_id}/refunds`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PaymentRefunds {
    pub(crate) object: &'static str,
    pub(crate) payment_id: String,
    /// Every refund of the payment, oldest first.
    pub(crate) data: Vec<RefundObject>,
    pub(crate) has_more: bool,
    /// Count and amount per currency and status.
    pub(crate) totals: Vec<PaymentTotal>,
    /// What has been refunded (succeeded), per currency.
    pub(crate) refunded: Vec<CurrencyAmount>,
    /// What is in flight (pending or processing), per currency.
    pub(crate) in_flight: Vec<CurrencyAmount>,
    /// The payment's captured amount per currency (DESIGN §14); `amount` is null where no
    /// merchant has given it (`payment_amount`).
    pub(crate) payment_amount: Vec<MaybeAmount>,
    /// What is still refundable per currency: the captured amount less the refunds that are
    /// pending, processing or succeeded; null where the captured amount is unknown.
    pub(crate) refundable: Vec<MaybeAmount>,
}

/// An amount in one currency that may be unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MaybeAmount {
    pub(crate) currency: String,
    pub(crate) amount: Option<String>,
}

/// Per currency: the captured amounts of the payment rows and what is left of them (each
/// `None` as soon as one row's is unknown).
fn payment_amounts(rows: &[PaymentRow]) -> (Vec<MaybeAmount>, Vec<MaybeAmount>) {
    // i128 throughout: the refunds of a payment whose captured amount was given late may
    // add up to more than an i64 holds (`store/sums.rs`); these sums of a few i64 values
    // cannot reach i128's limit.
    let mut by_currency: BTreeMap<&str, (Option<i128>, Option<i128>)> = BTreeMap::new();
    for row in rows {
        let slot = by_currency
            .entry(row.currency.as_str())
            .or_insert((Some(0), Some(0)));
        // A refund in flight whose amount is not known yet takes the whole payment, as in
        // the create check.
        let rest = row.amount_minor.map(|captured| {
            row.used_minor
                .map_or(0, |used| (i128::from(captured) - used).max(0))
        });
        slot.0 = slot
            .0
            .zip(row.amount_minor)
            .map(|(a, b)| a.saturating_add(i128::from(b)));
        slot.1 = slot.1.zip(rest).map(|(a, b)| a.saturating_add(b));
    }
    let render = |currency: &str, minor: Option<i128>| MaybeAmount {
        currency: currency.to_owned(),
        amount: minor.map(|m| CurrencyAmount::new(currency, m).amount),
    };
    by_currency
        .iter()
        .map(|(currency, (captured, rest))| (render(currency, *captured), render(currency, *rest)))
        .unzip()
}

/// At most this many refunds of one payment are listed.
pub(crate) const PAYMENT_REFUNDS_LIMIT: usize = 1000;

/// Rolls up a payment's refunds and its payment rows.
pub(crate) fn payment_refunds(
    payment_id: &str,
    mut refunds: Vec<RefundRecord>,
    rows: &[PaymentRow],
) -> PaymentRefunds {
    let (payment_amount, refundable) = payment_amounts(rows);
    let has_more = refunds.len() > PAYMENT_REFUNDS_LIMIT;
    refunds.truncate(PAYMENT_REFUNDS_LIMIT);
    let mut totals: BTreeMap<(String, &'static str), (u64, i128)> = BTreeMap::new();
    let mut refunded = Totals::default();
    let mut in_flight = Totals::default();
    for refund in &refunds {
        let minor = refund.amount_minor.unwrap_or(0);
        let slot = totals
            .entry((refund.currency.clone(), refund.status.as_str()))
            .or_default();
        slot.0 += 1;
        slot.1 = slot.1.saturating_add(i128::from(minor));
        match refund.status.as_str() {
            "succeeded" => refunded.add(&refund.currency, minor),
            "pending" | "processing" => in_flight.add(&refund.currency, minor),
            _ => {}
        }
    }
    PaymentRefunds {
        object: "payment_refunds",
        payment_id: payment_id.to_owned(),
        data: refunds.iter().map(RefundObject::from).collect(),
        has_more,
        totals: totals
            .into_iter()
            .map(|((currency, status), (count, minor))| PaymentTotal {
                amount: CurrencyAmount::new(&currency, minor).amount,
                currency,
                status: status.to_owned(),
                count,
            })
            .collect(),
        refunded: refunded.render(),
        in_flight: in_flight.render(),
        payment_amount,
        refundable,
    }
}
