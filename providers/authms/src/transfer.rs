//! The `transfer` method: a merchant-funded refund posted as `POST /wallets/transfer` from the
//! configured source wallet to the customer's, and the double-entry check of its answer.
//!
//! A transfer has no original transaction and no `reference_id` field, so the gateway refund
//! id travels in `description` ("refund rf_…: reason"); the status query finds it there.
//!
//! The answer is trusted only if it balances exactly: the source lost exactly the amount
//! asked, the customer gained exactly that amount, and both legs name that amount. Anything
//! else is an `Unknown` outcome (money may have moved, but not as asked): the refund stays
//! pending for the status query and, failing that, for finance.
//!
//! A balanced answer must also prove its direction (DESIGN §16): `from_wallet.user_id` is the
//! account's `transfer_source_user_id` and `to_wallet.user_id` the refund's customer. A
//! status query proves it with the customer's transaction: its `counterparty_id` is the
//! source and its balances show a credit of the amount. Anything else (a transfer from the
//! customer to the merchant, wallets not named) is a contradiction: the refund is flagged
//! for finance and never booked as succeeded.

use refund_provider::{Money, ProviderError, ProviderRefund, ProviderRefundRequest};
use rust_decimal::Decimal;

use crate::map::{parse_decimal, refund_from_transaction, transaction_currency};
use crate::wire::{TransactionResponse, TransferRequest, TransferResult};

/// The description that carries the gateway refund id: `refund <ref>` or
/// `refund <ref>: <reason>`.
pub fn description(reference: &str, reason: Option<&str>) -> String {
    match reason.filter(|r| !r.is_empty()) {
        Some(reason) => format!("refund {reference}: {reason}"),
        None => format!("refund {reference}"),
    }
}

impl TransferRequest {
    /// The transfer body for a validated request: `amount` with exactly the currency's
    /// exponent of decimals, from the configured source user to the customer.
    pub fn build(
        req: &ProviderRefundRequest,
        from_user_id: &str,
        to_user_id: &str,
        amount: &Money,
    ) -> Self {
        Self {
            amount: amount.to_major_string(),
            from_user_id: from_user_id.to_owned(),
            to_user_id: to_user_id.to_owned(),
            description: Some(description(&req.provider_reference, req.reason.as_deref())),
        }
    }
}

/// The two wallets a transfer refund must move money between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Direction<'a> {
    /// The account's `transfer_source_user_id`.
    pub from_user_id: &'a str,
    /// The refund's customer.
    pub to_user_id: &'a str,
}

/// Checks the double-entry invariant of a transfer answer and maps it to a refund; a
/// balanced answer between other wallets than `direction` carries its contradiction.
pub fn refund_from_transfer(
    result: &TransferResult,
    asked: &Money,
    direction: Direction<'_>,
    reference: &str,
    message: Option<&str>,
) -> Result<ProviderRefund, ProviderError> {
    let violation = |why: String| {
        ProviderError::unknown(format!(
            "AuthMS transfer answer violates double entry: {why}"
        ))
    };
    let from = result
        .from_transaction
        .as_ref()
        .ok_or_else(|| violation("no from_transaction".into()))?;
    let to = result
        .to_transaction
        .as_ref()
        .ok_or_else(|| violation("no to_transaction".into()))?;
    let currency = asked.currency();
    for (leg, tx) in [("from", from), ("to", to)] {
        let leg_currency = transaction_currency(tx, currency)?;
        if leg_currency != currency {
            return Err(violation(format!(
                "{leg}_transaction is in {leg_currency}, {currency} was asked"
            )));
        }
    }
    let amount = asked.amount();
    let from_amount = leg_decimal(from, "from_transaction.amount", |t| &t.amount)?;
    let to_amount = leg_decimal(to, "to_transaction.amount", |t| &t.amount)?;
    if from_amount != to_amount {
        return Err(violation(format!(
            "from_transaction.amount {from_amount} differs from to_transaction.amount {to_amount}"
        )));
    }
    if from_amount != amount {
        return Err(violation(format!(
            "the transfer moved {from_amount}, {} was asked",
            asked.to_major_string()
        )));
    }
    let from_before = leg_decimal(from, "from_transaction.balance_before", |t| {
        &t.balance_before
    })?;
    let from_after = leg_decimal(from, "from_transaction.balance_after", |t| &t.balance_after)?;
    // Balances are whatever AuthMS wrote: checked arithmetic, never a panic on overflow.
    if from_before.checked_sub(amount) != Some(from_after) {
        return Err(violation(format!(
            "from balance {from_before} - {amount} is not {from_after}"
        )));
    }
    let to_before = leg_decimal(to, "to_transaction.balance_before", |t| &t.balance_before)?;
    let to_after = leg_decimal(to, "to_transaction.balance_after", |t| &t.balance_after)?;
    if to_before.checked_add(amount) != Some(to_after) {
        return Err(violation(format!(
            "to balance {to_before} + {amount} is not {to_after}"
        )));
    }
    if from.status != to.status {
        return Err(violation(format!(
            "the legs disagree on the status ({:?} and {:?})",
            from.status, to.status
        )));
    }
    let mut refund = refund_from_transaction(to, currency, message)?;
    refund.contradiction = answer_direction_problem(result, direction);
    if refund.provider_reference.is_none()
        && to
            .description
            .as_deref()
            .is_some_and(|d| d.contains(reference))
    {
        refund.provider_reference = Some(reference.to_owned());
    }
    Ok(refund)
}

/// Why a transfer answer does not prove it went from the source to the customer, if it
/// does not.
fn answer_direction_problem(result: &TransferResult, direction: Direction<'_>) -> Option<String> {
    let from = result
        .from_wallet
        .as_ref()
        .and_then(|w| w.user_id.as_deref());
    let to = result.to_wallet.as_ref().and_then(|w| w.user_id.as_deref());
    if from == Some(direction.from_user_id) && to == Some(direction.to_user_id) {
        return None;
    }
    Some(format!(
        "the transfer went from {} to {}, not from {} to {}",
        from.unwrap_or("an unnamed wallet"),
        to.unwrap_or("an unnamed wallet"),
        direction.from_user_id,
        direction.to_user_id
    ))
}

/// Why the customer's transaction found by the status query does not prove a transfer from
/// the source to the customer, if it does not: its counterparty must be the source and its
/// balances must show a credit of exactly its amount.
pub fn queried_direction_problem(tx: &TransactionResponse, source_user_id: &str) -> Option<String> {
    let counterparty = tx.counterparty_id.as_deref();
    if counterparty != Some(source_user_id) {
        return Some(format!(
            "the customer's transaction has counterparty {}, not the transfer source {source_user_id}",
            counterparty.unwrap_or("(none)")
        ));
    }
    let credit = (|| {
        let amount = Decimal::from_str_exact(tx.amount.as_deref()?).ok()?;
        let before = Decimal::from_str_exact(tx.balance_before.as_deref()?).ok()?;
        let after = Decimal::from_str_exact(tx.balance_after.as_deref()?).ok()?;
        Some(before.checked_add(amount) == Some(after))
    })();
    match credit {
        Some(true) => None,
        Some(false) => Some(
            "the customer's transaction does not credit the customer's wallet with its amount"
                .to_owned(),
        ),
        None => Some(
            "the customer's transaction does not show its amount and balances, so its direction is unproven"
                .to_owned(),
        ),
    }
}

fn leg_decimal(
    tx: &TransactionResponse,
    what: &str,
    field: impl Fn(&TransactionResponse) -> &Option<String>,
) -> Result<Decimal, ProviderError> {
    parse_decimal(field(tx).as_deref(), what)
}

/// True when a transaction found by the status query is the transfer of `reference`.
pub fn is_transfer_of(tx: &TransactionResponse, reference: &str) -> bool {
    tx.reference_id.as_deref() == Some(reference)
        || tx
            .description
            .as_deref()
            .is_some_and(|d| d.contains(reference))
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::Currency;

    fn leg(amount: &str, before: &str, after: &str) -> TransactionResponse {
        TransactionResponse {
            amount: Some(amount.into()),
            balance_before: Some(before.into()),
            balance_after: Some(after.into()),
            currency: Some("CNY".into()),
            status: Some("completed".into()),
            id: Some("txn_to".into()),
            description: Some("refund rf_x: late delivery".into()),
            ..Default::default()
        }
    }

    fn asked(amount: &str) -> Money {
        Money::parse(amount, Currency::parse("CNY").expect("cny")).expect("money")
    }

    fn wallet(user_id: &str) -> Option<crate::wire::WalletResponse> {
        Some(crate::wire::WalletResponse {
            user_id: Some(user_id.into()),
            ..Default::default()
        })
    }

    fn result(from: TransactionResponse, to: TransactionResponse) -> TransferResult {
        TransferResult {
            from_transaction: Some(from),
            from_wallet: wallet("usr_merchant"),
            to_transaction: Some(to),
            to_wallet: wallet("usr_customer"),
        }
    }

    const MERCHANT_TO_CUSTOMER: Direction<'static> = Direction {
        from_user_id: "usr_merchant",
        to_user_id: "usr_customer",
    };

    #[test]
    fn a_balanced_transfer_is_a_refund_of_the_to_leg() {
        let r = result(
            leg("100.00", "1000.00", "900.00"),
            leg("100.00", "900.00", "1000.00"),
        );
        let refund = refund_from_transfer(&r, &asked("100.00"), MERCHANT_TO_CUSTOMER, "rf_x", None)
            .expect("balanced");
        assert_eq!(refund.provider_refund_id.as_deref(), Some("txn_to"));
        assert_eq!(refund.provider_reference.as_deref(), Some("rf_x"));
        assert_eq!(refund.amount, Some(asked("100.00")));
        assert_eq!(refund.contradiction, None);
    }

    #[test]
    fn a_balanced_transfer_between_other_wallets_carries_its_contradiction() {
        let balanced = || {
            result(
                leg("100.00", "1000.00", "900.00"),
                leg("100.00", "900.00", "1000.00"),
            )
        };
        // From the customer's wallet to the merchant's: balanced, and the wrong way round.
        let mut reversed = balanced();
        reversed.from_wallet = wallet("usr_customer");
        reversed.to_wallet = wallet("usr_merchant");
        // Wallets not named at all: the direction is unproven.
        let mut unnamed = balanced();
        unnamed.from_wallet = None;
        // To another customer.
        let mut elsewhere = balanced();
        elsewhere.to_wallet = wallet("usr_someone_else");
        for (name, case) in [
            ("reversed", reversed),
            ("unnamed", unnamed),
            ("elsewhere", elsewhere),
        ] {
            let refund =
                refund_from_transfer(&case, &asked("100.00"), MERCHANT_TO_CUSTOMER, "rf_x", None)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(refund.contradiction.is_some(), "{name}");
        }
    }

    #[test]
    fn a_queried_transfer_proves_its_direction_by_counterparty_and_credit() {
        let tx = |counterparty: Option<&str>, before: &str, after: &str| TransactionResponse {
            counterparty_id: counterparty.map(str::to_owned),
            ..leg("100.00", before, after)
        };
        assert_eq!(
            queried_direction_problem(&tx(Some("usr_merchant"), "0.00", "100.00"), "usr_merchant"),
            None
        );
        for (name, case) in [
            ("debit", tx(Some("usr_merchant"), "100.00", "0.00")),
            (
                "other counterparty",
                tx(Some("usr_other"), "0.00", "100.00"),
            ),
            ("no counterparty", tx(None, "0.00", "100.00")),
            (
                "no balances",
                TransactionResponse {
                    balance_before: None,
                    ..tx(Some("usr_merchant"), "0.00", "100.00")
                },
            ),
        ] {
            assert!(
                queried_direction_problem(&case, "usr_merchant").is_some(),
                "{name}"
            );
        }
    }

    #[test]
    fn every_broken_invariant_is_an_unknown_outcome() {
        let cases = [
            // from side lost the wrong amount
            result(
                leg("100.00", "1000.00", "910.00"),
                leg("100.00", "0.00", "100.00"),
            ),
            // to side gained the wrong amount
            result(
                leg("100.00", "1000.00", "900.00"),
                leg("100.00", "0.00", "100.01"),
            ),
            // the two legs name different amounts
            result(
                leg("100.00", "1000.00", "900.00"),
                leg("99.00", "0.00", "99.00"),
            ),
            // a balanced transfer of another amount than asked
            result(
                leg("90.00", "1000.00", "910.00"),
                leg("90.00", "0.00", "90.00"),
            ),
            // a leg without balances
            result(
                leg("100.00", "1000.00", "900.00"),
                TransactionResponse {
                    amount: Some("100.00".into()),
                    ..Default::default()
                },
            ),
        ];
        for (i, case) in cases.iter().enumerate() {
            match refund_from_transfer(case, &asked("100.00"), MERCHANT_TO_CUSTOMER, "rf_x", None) {
                Err(ProviderError::Unknown { cause }) => {
                    assert!(
                        cause.contains("double entry") || cause.contains("answer"),
                        "{cause}"
                    )
                }
                other => panic!("case {i}: expected Unknown, got {other:?}"),
            }
        }
    }

    #[test]
    fn balances_at_the_edge_of_decimal_are_a_violation_not_a_panic() {
        let max = "79228162514264337593543950335";
        let min = "-79228162514264337593543950335";
        for case in [
            result(leg("100.00", min, min), leg("100.00", "0.00", "100.00")),
            result(leg("100.00", "1000.00", "900.00"), leg("100.00", max, max)),
        ] {
            assert!(matches!(
                refund_from_transfer(&case, &asked("100.00"), MERCHANT_TO_CUSTOMER, "rf_x", None),
                Err(ProviderError::Unknown { .. })
            ));
        }
    }

    #[test]
    fn descriptions_carry_the_reference_and_the_reason() {
        assert_eq!(description("rf_1", Some("broken")), "refund rf_1: broken");
        assert_eq!(description("rf_1", None), "refund rf_1");
        let tx = TransactionResponse {
            description: Some(description("rf_1", Some("x"))),
            ..Default::default()
        };
        assert!(is_transfer_of(&tx, "rf_1"));
        assert!(!is_transfer_of(&tx, "rf_2"));
    }
}
