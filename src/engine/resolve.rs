//! An operator resolving by hand a refund that is still `pending` or `processing` (DESIGN
//! §14): it moves to `succeeded` or `failed` through the same change as any other report
//! (history line, ledger postings, merchant event), the history naming the operator and the
//! reason. A final refund is never moved: `refund_final`.

use serde_json::json;

use refund_provider::{FailureCode, InvalidCode, MinorUnits, Money, RefundId};

use super::decide::transition;
use super::{Engine, EngineError};
use crate::domain::{AuditKind, EventSource, NewAuditEvent, RefundRecord, RefundStatus};
use crate::store::Change;
use crate::telemetry::spans;
use tracing::Instrument;

/// What an operator decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveCommand {
    /// `succeeded` or `failed`.
    pub(crate) status: RefundStatus,
    pub(crate) reason: String,
    /// The provider's id of the refund, when the operator learnt it (kept if none is known).
    pub(crate) provider_refund_id: Option<String>,
    /// The amount refunded, needed to resolve as succeeded a full refund whose amount the
    /// provider never told; must equal the refund's amount when that is known.
    pub(crate) amount: Option<Money>,
}

impl ResolveCommand {
    /// An operator's decision, as the API builds it from the request (tests and embedders).
    pub fn new(
        status: RefundStatus,
        reason: String,
        provider_refund_id: Option<String>,
        amount: Option<Money>,
    ) -> Self {
        Self {
            status,
            reason,
            provider_refund_id,
            amount,
        }
    }
}

/// The change resolving `refund` as `command` says, or why it cannot be. `refundable` is
/// what was left of the payment for this refund (`None` when its captured amount is
/// unknown): an amount the operator gives never books more (DESIGN §16).
pub(crate) fn resolution(
    refund: &RefundRecord,
    operator_id: &str,
    command: &ResolveCommand,
    emit_events: bool,
    refundable: Option<i128>,
) -> Result<Change, EngineError> {
    if refund.status.is_final() {
        return Err(EngineError::RefundFinal {
            status: refund.status,
        });
    }
    // Never sent: there is no outcome to settle by hand; it is approved or rejected (§19).
    if refund.is_awaiting_approval() {
        return Err(EngineError::InvalidRequest {
            code: InvalidCode::ParameterInvalid,
            message: "this refund awaits approval and was never sent: approve or reject it".into(),
            param: Some("status".into()),
        });
    }
    let invalid = |code: InvalidCode, message: String| EngineError::InvalidRequest {
        code,
        message,
        param: Some("amount".into()),
    };
    let mut sized = refund.clone();
    let mut learned_amount = None;
    match (command.amount, refund.amount_minor) {
        (Some(amount), Some(known)) if amount.minor_units().get() != known => {
            return Err(invalid(
                InvalidCode::ParameterInvalid,
                format!(
                    "the refund's amount is {} {}",
                    refund.amount.as_deref().unwrap_or_default(),
                    refund.currency
                ),
            ));
        }
        (Some(amount), None) => {
            if amount.currency().code() != refund.currency {
                return Err(invalid(
                    InvalidCode::ParameterInvalid,
                    format!("the refund is in {}", refund.currency),
                ));
            }
            if let Some(refundable) = refundable.filter(|r| {
                i128::from(amount.minor_units().get()) > *r
                    && command.status == RefundStatus::Succeeded
            }) {
                let text = i64::try_from(refundable)
                    .ok()
                    .and_then(MinorUnits::new)
                    .map_or_else(
                        || "0".to_owned(),
                        |minor| Money::from_minor(minor, amount.currency()).to_major_string(),
                    );
                return Err(EngineError::AmountExceedsRefundable {
                    refundable: text,
                    currency: refund.currency.clone(),
                });
            }
            let text = amount.to_major_string();
            let minor = amount.minor_units().get();
            sized.amount = Some(text.clone());
            sized.amount_minor = Some(minor);
            learned_amount = Some((text, minor));
        }
        (None, None) if command.status == RefundStatus::Succeeded => {
            return Err(invalid(
                InvalidCode::ParameterMissing,
                "the provider never told this refund's amount: give the `amount` refunded"
                    .to_owned(),
            ));
        }
        _ => {}
    }
    let detail = json!({
        "operator": operator_id,
        "reason": command.reason,
        "provider_refund_id": command.provider_refund_id,
    });
    let mut change = transition(
        &sized,
        command.status,
        EventSource::Operator,
        detail,
        emit_events,
    );
    change.amount = learned_amount;
    change.provider_refund_id = command.provider_refund_id.clone();
    if command.status == RefundStatus::Failed {
        change.failure = Some((FailureCode::ResolvedByOperator, command.reason.clone()));
    }
    // Written with the change itself (DESIGN §18): a resolve and its audit entry never
    // diverge.
    change.audit = Some(NewAuditEvent::new(
        operator_id,
        AuditKind::RefundResolved,
        Some(refund.id.to_string()),
        json!({
            "reason": command.reason,
            "status": command.status.as_str(),
            "previous_status": refund.status.as_str(),
            "provider_refund_id": command.provider_refund_id,
            "amount": command.amount.map(|a| a.to_major_string()),
        }),
    ));
    Ok(change)
}

impl Engine {
    /// Resolves a refund by hand, atomically with the refund as it is when the change is
    /// written (a refund that became final meanwhile is `refund_final`).
    #[doc(hidden)]
    pub async fn resolve(
        &self,
        id: &RefundId,
        operator_id: &str,
        command: &ResolveCommand,
    ) -> Result<RefundRecord, EngineError> {
        // An amount given for a refund sent without one is capped by what was refundable for
        // it (read first: the payment's other refunds, not this one, decide it).
        let refundable = match (&command.amount, self.store.refund(id).await?) {
            (Some(_), Some(refund)) if refund.amount_minor.is_none() => {
                self.store.refundable_for(&refund).await?
            }
            _ => None,
        };
        let engine = self.clone();
        let (operator, command) = (operator_id.to_owned(), command.clone());
        let modified = self
            .store
            .modify_refund(*id, move |refund, _now| {
                resolution(
                    refund,
                    &operator,
                    &command,
                    engine.emits_events(&refund.merchant_id),
                    refundable,
                )
            })
            .instrument(spans::store_write("store.change_refund"))
            .instrument(spans::engine_step("engine.resolve"))
            .await??;
        let resolved = self.modified(id, modified)?;
        tracing::info!(refund_id = %id, operator = %operator_id, status = %resolved.status, "refund resolved by an operator");
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::Currency;

    fn refund(status: RefundStatus, amount_minor: Option<i64>) -> RefundRecord {
        RefundRecord {
            next_sync_at: Some(1),
            ..RefundRecord::sample(status, amount_minor)
        }
    }

    fn command(status: RefundStatus, amount: Option<&str>) -> ResolveCommand {
        let eur = Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"));
        ResolveCommand {
            status,
            reason: "confirmed with the provider's support".into(),
            provider_refund_id: Some("re_123".into()),
            amount: amount.map(|a| Money::parse(a, eur).unwrap_or_else(|e| panic!("{e}"))),
        }
    }

    #[test]
    fn resolving_as_succeeded_posts_the_ledger_and_names_the_operator() {
        let change = resolution(
            &refund(RefundStatus::Pending, Some(1299)),
            "finance-1",
            &command(RefundStatus::Succeeded, None),
            true,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(change.status, Some(RefundStatus::Succeeded));
        assert_eq!(change.ledger.len(), 2);
        assert_eq!(change.ledger.iter().map(|l| l.amount_minor).sum::<i64>(), 0);
        assert_eq!(change.events[0].source, EventSource::Operator);
        assert_eq!(change.events[0].detail["operator"], "finance-1");
        assert_eq!(
            change.events[0].detail["reason"],
            "confirmed with the provider's support"
        );
        assert_eq!(change.provider_refund_id.as_deref(), Some("re_123"));
        assert_eq!(change.next_sync_at, Some(None));
        assert_eq!(
            change.outbox.map(|o| o.event_type.as_str()),
            Some("refund.succeeded")
        );
    }

    #[test]
    fn resolving_as_failed_records_the_operator_failure_code_and_posts_nothing() {
        let change = resolution(
            &refund(RefundStatus::Processing, Some(1299)),
            "finance-1",
            &command(RefundStatus::Failed, None),
            false,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(change.status, Some(RefundStatus::Failed));
        assert!(change.ledger.is_empty());
        assert_eq!(
            change.failure.as_ref().map(|f| f.0.as_str()),
            Some("resolved_by_operator")
        );
        assert!(change.outbox.is_none());
    }

    #[test]
    fn a_final_refund_is_never_resolved() {
        for status in [
            RefundStatus::Succeeded,
            RefundStatus::Failed,
            RefundStatus::Canceled,
        ] {
            let result = resolution(
                &refund(status, Some(100)),
                "op",
                &command(RefundStatus::Failed, None),
                true,
                None,
            );
            assert!(
                matches!(result, Err(EngineError::RefundFinal { .. })),
                "{status}"
            );
        }
    }

    #[test]
    fn an_unsized_refund_needs_its_amount_to_succeed_and_a_known_one_must_match() {
        let unsized_refund = refund(RefundStatus::Pending, None);
        let missing = resolution(
            &unsized_refund,
            "op",
            &command(RefundStatus::Succeeded, None),
            true,
            None,
        );
        assert!(matches!(
            missing,
            Err(EngineError::InvalidRequest {
                code: InvalidCode::ParameterMissing,
                ..
            })
        ));
        let sized = resolution(
            &unsized_refund,
            "op",
            &command(RefundStatus::Succeeded, Some("50.00")),
            true,
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sized.amount, Some(("50.00".into(), 5000)));
        assert_eq!(sized.ledger[0].amount_minor, 5000);
        let mismatch = resolution(
            &refund(RefundStatus::Pending, Some(1299)),
            "op",
            &command(RefundStatus::Succeeded, Some("13.00")),
            true,
            None,
        );
        assert!(matches!(
            mismatch,
            Err(EngineError::InvalidRequest {
                code: InvalidCode::ParameterInvalid,
                ..
            })
        ));
    }

    #[test]
    fn an_operator_never_books_more_than_was_refundable() {
        let unsized_refund = refund(RefundStatus::Pending, None);
        let beyond = resolution(
            &unsized_refund,
            "op",
            &command(RefundStatus::Succeeded, Some("50.00")),
            true,
            Some(4999),
        );
        assert!(
            matches!(&beyond, Err(EngineError::AmountExceedsRefundable { refundable, .. }) if refundable == "49.99"),
            "{beyond:?}"
        );
        let nothing_left = resolution(
            &unsized_refund,
            "op",
            &command(RefundStatus::Succeeded, Some("0.01")),
            true,
            Some(0),
        );
        assert!(matches!(
            nothing_left,
            Err(EngineError::AmountExceedsRefundable { .. })
        ));
        let within = resolution(
            &unsized_refund,
            "op",
            &command(RefundStatus::Succeeded, Some("50.00")),
            true,
            Some(5000),
        );
        assert!(within.is_ok());
        // Resolving as failed books nothing, whatever amount is given.
        let failed = resolution(
            &unsized_refund,
            "op",
            &command(RefundStatus::Failed, Some("50.00")),
            true,
            Some(0),
        );
        assert!(failed.is_ok());
    }
}
