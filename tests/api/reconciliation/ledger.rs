//! The books under any history: refunds reported succeeded, failed, canceled (including
//! voids and failures of succeeded refunds) and statements settling them (line by line or in
//! batches, with provider fees), applied through the engine's pure decision and the store, in
//! any order. Every currency's ledger must sum to zero, each provider's clearing balance must
//! be exactly what the model says is still owed (fees net to zero there), and each fees
//! account must hold exactly the fees posted, each refund's once.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use refund_gateway::config::statements::StatementFormat;
use refund_gateway::domain::RefundStatus;
use refund_gateway::domain::{EntryKind, EventSource};
use refund_gateway::engine::decide::decide;
use refund_gateway::reconcile::statement::{reconcile, CollectSink, Options, VarianceKind};
use refund_gateway::store::{now_ms, Modified, Store};
use refund_provider::{
    Currency, MinorUnits, Money, ProviderRefund, ProviderRefundStatus, RefundId,
};

use sqlx::Row;

use refund_gateway::ledger::settled_lines;
use refund_gateway::ledger::LedgerLine;

use crate::both_backends;
use crate::helpers::{fresh_database, pending_record, Db};

const PROVIDERS: [&str; 2] = ["efundpay", "ebuy"];
const CURRENCIES: [&str; 3] = ["EUR", "JPY", "KWD"];

/// One step of a history.
#[derive(Debug, Clone)]
enum Op {
    Create {
        provider: usize,
        currency: usize,
        minor: i64,
    },
    Report {
        refund: usize,
        outcome: ProviderRefundStatus,
    },
    /// A statement listing these refunds as succeeded with their amounts, each line with a
    /// fee (minor units, 0 for none); `batched`: one batch per currency, its total line
    /// carrying the first fee.
    Statement {
        refunds: Vec<usize>,
        fees: Vec<i64>,
        batched: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..PROVIDERS.len(), 0..CURRENCIES.len(), 1i64..1_000_000)
            .prop_map(|(provider, currency, minor)| Op::Create { provider, currency, minor }),
        5 => (0usize..64, prop_oneof![
                Just(ProviderRefundStatus::Processing),
                Just(ProviderRefundStatus::Succeeded),
                Just(ProviderRefundStatus::Failed),
                Just(ProviderRefundStatus::Canceled),
            ])
            .prop_map(|(refund, outcome)| Op::Report { refund, outcome }),
        2 => (
            proptest::collection::vec(0usize..64, 0..6),
            proptest::collection::vec(prop_oneof![Just(0i64), 1i64..500], 6),
            any::<bool>(),
        )
            .prop_map(|(refunds, fees, batched)| Op::Statement { refunds, fees, batched }),
    ]
}

/// What the model knows of one refund.
#[derive(Debug, Clone)]
struct Modelled {
    id: RefundId,
    provider: &'static str,
    currency: &'static str,
    minor: i64,
    status: RefundStatus,
    voided: bool,
    settled: bool,
    /// The fee posted on this refund (the first one posted stays: once per refund).
    fee: Option<i64>,
}

/// Applies a provider report the way the engine does: decide on the refund as it is, and
/// write the change atomically.
pub async fn report(store: &Store, id: &RefundId, outcome: ProviderRefundStatus) {
    let modified = store
        .modify_refund(*id, move |refund, now| {
            let mut report = ProviderRefund::with_status(outcome, outcome.as_str());
            report.amount = refund.amount_minor.and_then(|m| {
                Some(Money::from_minor(
                    MinorUnits::new(m)?,
                    Currency::parse(&refund.currency).ok()?,
                ))
            });
            Ok::<_, ()>(decide(
                refund,
                &report,
                EventSource::Webhook,
                now + 60_000,
                false,
                true,
            ))
        })
        .await
        .expect("apply");
    assert!(
        matches!(
            modified,
            Ok(Modified::Changed { .. } | Modified::Unchanged(_))
        ),
        "{modified:?}"
    );
}

/// The gateway's six columns plus a batch and a fee column.
fn format() -> Arc<StatementFormat> {
    let mut format = StatementFormat::default();
    format.columns.batch = Some("batch".into());
    format.columns.fee = Some("fee".into());
    Arc::new(format)
}

/// One statement line: (provider_refund_id, reference, amount, currency, batch, fee).
type Line = (String, String, String, String, String, String);

fn statement_csv(lines: &[Line]) -> String {
    let mut csv = String::from(
        "provider_refund_id,provider_reference,amount,currency,status,settled_at,batch,fee\n",
    );
    for (provider_refund_id, reference, amount, currency, batch, fee) in lines {
        csv.push_str(&format!(
            "{provider_refund_id},{reference},{amount},{currency},succeeded,2026-11-23T10:00:00Z,{batch},{fee}\n"
        ));
    }
    csv
}

/// A fee cell in the format's unit (major), "0" for none.
fn fee_cell(minor: i64, currency: &str) -> String {
    if minor > 0 {
        major(minor, currency)
    } else {
        "0".to_owned()
    }
}

fn major(minor: i64, currency: &str) -> String {
    Money::from_minor(
        MinorUnits::new(minor).expect("positive"),
        Currency::parse(currency).expect("currency"),
    )
    .to_major_string()
}

async fn run_history(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let url = fresh_database(Db::Sqlite)
        .await
        .expect("sqlite is always available");
    let store = Store::connect(&url, 2).await.expect("store");
    let mut refunds: Vec<Modelled> = Vec::new();
    for op in ops {
        match op {
            Op::Create {
                provider,
                currency,
                minor,
            } => {
                let modelled = create(&store, PROVIDERS[provider], CURRENCIES[currency], minor);
                refunds.push(modelled.await);
            }
            Op::Report { .. } | Op::Statement { .. } if refunds.is_empty() => {}
            Op::Report { refund, outcome } => {
                let index = refund % refunds.len();
                report_outcome(&store, &mut refunds[index], outcome).await;
            }
            Op::Statement {
                refunds: picked,
                fees,
                batched,
            } => {
                for provider in PROVIDERS {
                    let statement = Statement::of(provider, &mut refunds, &picked, &fees, batched);
                    settle_statement(&store, provider, statement, &mut refunds).await?;
                }
            }
        }
    }
    assert_every_ledger_balances(&store).await?;
    assert_clearing_is_what_is_owed(&store, &refunds).await?;
    assert_fees_are_posted_once_per_refund(&store, &refunds).await?;
    store.close().await;
    Ok(())
}

/// Creates a pending refund of `minor` in the store; what the model knows of it.
async fn create(
    store: &Store,
    provider: &'static str,
    currency: &'static str,
    minor: i64,
) -> Modelled {
    let record = pending_record(provider, currency, minor, "pay_1");
    store
        .create_refund(&record, None, None, false)
        .await
        .expect("create");
    Modelled {
        id: record.id,
        provider,
        currency,
        minor,
        status: RefundStatus::Pending,
        voided: false,
        settled: false,
        fee: None,
    }
}

/// Reports `outcome` for the refund, and moves the model the way DESIGN §7 says.
async fn report_outcome(store: &Store, model: &mut Modelled, outcome: ProviderRefundStatus) {
    report(store, &model.id, outcome).await;
    let target = RefundStatus::from_provider(outcome).expect("a status");
    // A void or a failure of a succeeded refund reverses it (DESIGN §7).
    if model.status == RefundStatus::Succeeded
        && matches!(target, RefundStatus::Canceled | RefundStatus::Failed)
    {
        model.voided = true;
    } else if model.status.can_move_to(target) {
        model.status = target;
    }
}

/// One provider's statement of some refunds, and which of them it settles.
struct Statement {
    lines: Vec<Line>,
    /// The model's indexes of the refunds it settles (succeeded and not voided).
    settles: Vec<usize>,
}

impl Statement {
    /// The statement of `provider`'s refunds among `picked`, line by line with the given
    /// fees or in one batch per currency (its total line carrying the first fee); notes in
    /// the model which refund each posted fee lands on.
    fn of(
        provider: &str,
        refunds: &mut [Modelled],
        picked: &[usize],
        fees: &[i64],
        batched: bool,
    ) -> Statement {
        let mut lines: Vec<Line> = Vec::new();
        let mut settles = Vec::new();
        // Batches by currency: (members, their sum).
        let mut batches: BTreeMap<&str, (Vec<usize>, i64)> = BTreeMap::new();
        for (n, pick) in picked.iter().enumerate() {
            let index = pick % refunds.len();
            let m = &refunds[index];
            if m.provider != provider {
                continue;
            }
            let fee = fees[n % fees.len()];
            let (batch, fee_cell) = if batched {
                let entry = batches.entry(m.currency).or_default();
                entry.0.push(index);
                entry.1 += m.minor;
                (format!("B-{}", m.currency), String::new())
            } else {
                (String::new(), fee_cell(fee, m.currency))
            };
            lines.push((
                format!("prov_{}", m.id),
                m.id.to_string(),
                major(m.minor, m.currency),
                m.currency.to_owned(),
                batch,
                fee_cell,
            ));
            let settles_now = m.status == RefundStatus::Succeeded && !m.voided;
            if settles_now {
                settles.push(index);
            }
            if !batched && settles_now && fee > 0 {
                refunds[index].fee.get_or_insert(fee);
            }
        }
        for (currency, (members, sum)) in &batches {
            let fee = fees[0];
            lines.push((
                String::new(),
                String::new(),
                major(*sum, currency),
                (*currency).to_owned(),
                format!("B-{currency}"),
                fee_cell(fee, currency),
            ));
            // A batch of our own refunds at their own amounts always matches; its fee goes
            // on its lowest refund id.
            let anchor = members
                .iter()
                .copied()
                .min_by_key(|i| refunds[*i].id.to_string());
            if let (Some(anchor), true) = (anchor, fee > 0) {
                refunds[anchor].fee.get_or_insert(fee);
            }
        }
        Statement { lines, settles }
    }
}

/// Reconciles (and settles) `provider`'s statement: every line reads, none is missing in
/// the gateway nor a batch that does not add up; the refunds it settles are settled in the
/// model.
async fn settle_statement(
    store: &Store,
    provider: &str,
    statement: Statement,
    refunds: &mut [Modelled],
) -> Result<(), TestCaseError> {
    let options = Options {
        provider: provider.to_owned(),
        merchant_id: None,
        period: None,
        settle: true,
        format: format(),
    };
    let mut sink = CollectSink::default();
    let csv = statement_csv(&statement.lines);
    let summary = reconcile(store, options, csv.as_bytes(), &mut sink, |_| {})
        .await
        .expect("reconcile");
    prop_assert_eq!(summary.malformed_count, 0, "{:?}", sink.malformed);
    prop_assert!(sink.variances.iter().all(|v| !matches!(
        v.kind,
        VarianceKind::MissingInGateway | VarianceKind::BatchMismatch
    )));
    for index in statement.settles {
        refunds[index].settled = true;
    }
    Ok(())
}

/// Every currency's ledger sums to zero.
async fn assert_every_ledger_balances(store: &Store) -> Result<(), TestCaseError> {
    for (currency, sum) in store.ledger_sums_by_currency().await.expect("sums") {
        prop_assert_eq!(sum, 0, "the {} ledger does not balance", currency);
    }
    Ok(())
}

/// The balances of the accounts whose name contains `kind` (e.g. `:clearing:`), those of
/// zero too when `with_zero`.
async fn balances(store: &Store, kind: &str, with_zero: bool) -> BTreeMap<String, i64> {
    store
        .account_balances()
        .await
        .expect("balances")
        .into_iter()
        .filter(|(account, _, balance)| account.contains(kind) && (with_zero || *balance != 0))
        .map(|(account, _, balance)| (account, i64::try_from(balance).expect("small balance")))
        .collect()
}

/// Each provider's clearing balance is what the model says is still owed: a succeeded
/// refund not yet settled is owed to us, a settled one voided afterwards is owed back.
async fn assert_clearing_is_what_is_owed(
    store: &Store,
    refunds: &[Modelled],
) -> Result<(), TestCaseError> {
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for m in refunds {
        let account = format!("provider:{}:clearing:{}", m.provider, m.currency);
        let owed = match (m.status, m.voided, m.settled) {
            (RefundStatus::Succeeded, false, false) => -m.minor,
            (RefundStatus::Succeeded, true, true) => m.minor,
            _ => 0,
        };
        *expected.entry(account).or_default() += owed;
    }
    let actual = balances(store, ":clearing:", true).await;
    for (account, owed) in &expected {
        prop_assert_eq!(
            actual.get(account).copied().unwrap_or(0),
            *owed,
            "clearing balance of {}",
            account
        );
    }
    for (account, balance) in &actual {
        prop_assert_eq!(
            expected.get(account).copied().unwrap_or(0),
            *balance,
            "unexpected balance on {}",
            account
        );
    }
    Ok(())
}

/// Each fees account holds exactly the fees posted, each refund's once.
async fn assert_fees_are_posted_once_per_refund(
    store: &Store,
    refunds: &[Modelled],
) -> Result<(), TestCaseError> {
    let mut fees_expected: BTreeMap<String, i64> = BTreeMap::new();
    for m in refunds {
        if let Some(fee) = m.fee {
            *fees_expected
                .entry(format!("provider:{}:fees:{}", m.provider, m.currency))
                .or_default() += fee;
        }
    }
    let fees_actual = balances(store, ":fees:", false).await;
    prop_assert_eq!(fees_actual, fees_expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn any_history_keeps_every_currency_balanced_and_clearing_equal_to_what_is_owed(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(run_history(ops))?;
    }
}

#[tokio::test]
async fn a_void_reported_twice_reverses_the_lines_once() {
    let url = fresh_database(Db::Sqlite).await.expect("sqlite");
    let store = Store::connect(&url, 2).await.expect("store");
    let record = pending_record("efundpay", "EUR", 1299, "pay_v");
    store
        .create_refund(&record, None, None, false)
        .await
        .expect("create");
    report(&store, &record.id, ProviderRefundStatus::Succeeded).await;
    report(&store, &record.id, ProviderRefundStatus::Canceled).await;
    report(&store, &record.id, ProviderRefundStatus::Canceled).await;
    let refund = store
        .refund(&record.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(refund.status, RefundStatus::Succeeded);
    assert!(refund.requires_attention);
    let balances = store.account_balances().await.expect("balances");
    assert!(balances.iter().all(|(_, _, b)| *b == 0), "{balances:?}");
    let lines: i64 = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM ledger_entries WHERE entry_kind = 'refund_canceled'",
    )
    .fetch_one(store.pool())
    .await
    .expect("count");
    assert_eq!(lines, 2);
}

both_backends!(
    settlement_posts_exactly_the_ledgers_settled_lines_once,
    |db: Db| async move {
        let Some(url) = fresh_database(db).await else {
            return;
        };
        let store = Store::connect(&url, 2).await.expect("store");
        let record = pending_record("efundpay", "KWD", 1299, "pay_s");
        store
            .create_refund(&record, None, None, false)
            .await
            .expect("create");
        report(&store, &record.id, ProviderRefundStatus::Succeeded).await;
        let ids = vec![record.id.to_string()];
        assert_eq!(store.settle(&ids, now_ms()).await.expect("settle"), 1);
        assert_eq!(store.settle(&ids, now_ms()).await.expect("settle"), 0);
        let rows = sqlx::query(
            "SELECT entry_kind, account, currency, amount_minor FROM ledger_entries \
         WHERE refund_id = $1 AND entry_kind = 'refund_settled' ORDER BY amount_minor DESC",
        )
        .bind(record.id.to_string())
        .fetch_all(store.pool())
        .await
        .expect("lines");
        let posted: Vec<LedgerLine> = rows
            .iter()
            .map(|row| LedgerLine {
                entry_kind: EntryKind::parse(
                    &row.try_get::<String, _>("entry_kind").expect("kind"),
                )
                .expect("a known entry kind"),
                account: row.try_get("account").expect("account"),
                currency: row.try_get("currency").expect("currency"),
                amount_minor: row.try_get("amount_minor").expect("amount"),
            })
            .collect();
        assert_eq!(posted, settled_lines("efundpay", "KWD", 1299));
        let balances = store.account_balances().await.expect("balances");
        let clearing = balances
            .iter()
            .find(|(a, _, _)| a == "provider:efundpay:clearing:KWD")
            .map(|(_, _, b)| *b);
        assert_eq!(clearing, Some(0));
    }
);
