//! The pure decision at the heart of the engine: given a stored refund and what a provider
//! said (a create answer, a status query, a webhook), which change to apply. Kept free of
//! I/O so every rule is tested beside it.
//!
//! Rules: a final refund never moves (a contradicting report flags it `requires_attention`);
//! a report that does not prove what was asked moves nothing and is flagged (DESIGN §16:
//! one that contradicts the request, a success or processing report without the amount
//! where the provider's answers carry one, another amount or currency, asset lines that do
//! not add up; both values in the history); the provider's refund id is learnt from whichever
//! report brings it first; a succeeded refund posts balanced ledger lines in the same change,
//! and a void or a failure reported after it succeeded (Stripe's failed-after-succeeded)
//! posts their reversal, once, in the flagging change (see `crate::ledger`).

use serde_json::json;

use refund_provider::proof::{proven_amount, AmountMismatch, Asked};
use refund_provider::{Currency, FailureCode, Money, ProviderRefund};

use crate::domain::{
    AttentionReason, EntryKind, EventKind, EventSource, MerchantEventType, RefundRecord,
    RefundStatus,
};
use crate::ledger::LedgerLine;
use crate::store::{Change, NewEvent, OutboxMessage};

/// The balanced lines a succeeded refund posts (DESIGN §10).
pub(crate) fn succeeded_ledger_lines(refund: &RefundRecord, amount_minor: i64) -> Vec<LedgerLine> {
    vec![
        LedgerLine {
            entry_kind: EntryKind::RefundSucceeded,
            account: format!(
                "merchant:{}:refund_expense:{}",
                refund.merchant_id, refund.currency
            ),
            currency: refund.currency.clone(),
            amount_minor,
        },
        LedgerLine {
            entry_kind: EntryKind::RefundSucceeded,
            account: format!("provider:{}:clearing:{}", refund.provider, refund.currency),
            currency: refund.currency.clone(),
            amount_minor: -amount_minor,
        },
    ]
}

/// A move of `refund` into `next` with everything that goes with it: the history line, the
/// ledger lines (succeeded), the merchant event and clearing the sync schedule when final.
pub(crate) fn transition(
    refund: &RefundRecord,
    next: RefundStatus,
    source: EventSource,
    detail: serde_json::Value,
    emit_events: bool,
) -> Change {
    let mut change = Change {
        status: Some(next),
        ..Change::default()
    };
    change.events.push(NewEvent {
        kind: EventKind::StatusChanged,
        status: Some(next),
        previous_status: Some(refund.status),
        source,
        detail,
    });
    if next.is_final() {
        change.next_sync_at = Some(None);
    }
    if next == RefundStatus::Succeeded {
        if let Some(minor) = refund.amount_minor {
            change.ledger = succeeded_ledger_lines(refund, minor);
        }
    }
    if emit_events {
        change.outbox = Some(OutboxMessage {
            event_type: MerchantEventType::for_move_to(next),
        });
    }
    change
}

/// What to apply for a provider's report on `refund`. `next_sync_at` is the time of the next
/// status query should the refund remain open; `answers_carry_amount` is the provider's
/// declared proof (DESIGN §16): its success and processing reports must carry the amount.
pub fn decide(
    refund: &RefundRecord,
    report: &ProviderRefund,
    source: EventSource,
    next_sync_at: i64,
    emit_events: bool,
    answers_carry_amount: bool,
) -> Change {
    let decision = Decision {
        refund,
        report,
        source,
        next_sync_at,
        reported: json!({
            "provider_status": report.raw_status,
            "provider_refund_id": report.provider_refund_id,
            "amount": report.amount.map(|m| m.to_major_string()),
            "currency": report.amount.map(|m| m.currency().to_string()),
        }),
    };
    let Some(target) = RefundStatus::from_provider(report.status) else {
        return decision.not_found();
    };
    let proven = match decision.proven_amount(answers_carry_amount) {
        Ok(proven) => proven,
        Err((reason, detail)) => return decision.unproven(reason, detail),
    };
    let mut change = if refund.status.is_final() {
        decision.on_final(target)
    } else {
        match decision.on_open(target, proven, emit_events) {
            Ok(change) => change,
            Err((reason, detail)) => return decision.unproven(reason, detail),
        }
    };
    decision.learn_id(&mut change);
    change
}

/// Why a report proves nothing, and what the flag's history line says.
type Unproven = (AttentionReason, serde_json::Value);

/// One provider report being decided on, with what every rule reads.
struct Decision<'a> {
    refund: &'a RefundRecord,
    report: &'a ProviderRefund,
    source: EventSource,
    next_sync_at: i64,
    /// What the provider reported, as the history shows it.
    reported: serde_json::Value,
}

impl Decision<'_> {
    /// A report that the provider has no record of the refund: a history line, nothing
    /// else (the sync worker decides what its silence means).
    fn not_found(&self) -> Change {
        let mut change = Change::default();
        change
            .events
            .push(self.line(EventKind::ProviderNotFound, self.reported.clone()));
        change
    }

    /// A history line of `kind` about this report that moves no status.
    fn line(&self, kind: EventKind, detail: serde_json::Value) -> NewEvent {
        NewEvent {
            kind,
            status: None,
            previous_status: None,
            source: self.source,
            detail,
        }
    }

    /// The provider's refund id, learnt on `change` from the first report that brings it.
    fn learn_id(&self, change: &mut Change) {
        if self.refund.provider_refund_id.is_none() && self.report.provider_refund_id.is_some() {
            change.provider_refund_id = self.report.provider_refund_id.clone();
        }
    }

    /// A report that proves nothing moves nothing: it is flagged for `reason`, the
    /// provider's id is learnt, and the sync goes on asking.
    fn unproven(&self, reason: AttentionReason, detail: serde_json::Value) -> Change {
        let mut change = Change {
            flag_requires_attention: true,
            next_sync_at: (!self.refund.status.is_final()).then_some(Some(self.next_sync_at)),
            ..Change::default()
        };
        change
            .events
            .push(NewEvent::attention(reason, self.source, detail));
        self.learn_id(&mut change);
        change
    }

    /// The amount the report proves, if it carries one; `Err` when it proves nothing. The amount must be what was asked, in the same currency, its lines
    /// adding up to it; a success or processing report must carry one (DESIGN §16). A report
    /// about a final refund moves nothing, so only an amount it does carry is checked.
    fn proven_amount(&self, answers_carry_amount: bool) -> Result<Option<Money>, Unproven> {
        let (refund, report) = (self.refund, self.report);
        if let Some(contradiction) = &report.contradiction {
            return Err((
                AttentionReason::AnswerContradictsRequest,
                json!({"contradiction": contradiction, "reported": self.reported}),
            ));
        }
        let Ok(currency) = Currency::parse(&refund.currency) else {
            return Err((
                AttentionReason::AmountMismatch,
                json!({"problem": "stored_currency_unreadable", "reported": self.reported}),
            ));
        };
        let asked = Asked {
            currency,
            amount_minor: refund.amount_minor,
        };
        let must_carry = answers_carry_amount && !refund.status.is_final();
        proven_amount(asked, report, must_carry).map_err(|problem| {
            (
                AttentionReason::AmountMismatch,
                json!({
                    "problem": problem.as_str(),
                    "asked": {"amount": refund.amount, "currency": refund.currency},
                    "reported": {
                        "amount": report.amount.map(|m| m.to_major_string()),
                        "currency": report.amount.map(|m| m.currency().to_string()),
                        "lines": report.breakdown.iter().map(|l| json!({
                            "asset_type": l.asset_type,
                            "amount": l.amount.to_major_string(),
                        })).collect::<Vec<_>>(),
                    },
                    "provider_status": report.raw_status,
                }),
            )
        })
    }

    /// A report about a final refund: it never moves. A report of another final status
    /// that contradicts it flags it; a void or a failure of a succeeded refund reverses its
    /// lines in the same change (see `crate::ledger`; one reversal whichever comes, however
    /// often). Anything else is noted as ignored.
    fn on_final(&self, target: RefundStatus) -> Change {
        let refund = self.refund;
        let mut change = Change::default();
        if target == refund.status {
            return change;
        }
        let contradicts = matches!(
            (refund.status, target),
            (
                RefundStatus::Succeeded,
                RefundStatus::Failed | RefundStatus::Canceled
            ) | (
                RefundStatus::Failed | RefundStatus::Canceled,
                RefundStatus::Succeeded
            )
        );
        change.flag_requires_attention = contradicts;
        if let (
            RefundStatus::Succeeded,
            RefundStatus::Canceled | RefundStatus::Failed,
            Some(minor),
        ) = (refund.status, target, refund.amount_minor)
        {
            change.ledger = crate::ledger::canceled_lines(refund, minor);
        }
        let detail = json!({
            "final_status": refund.status.as_str(),
            "reported": self.reported,
        });
        change.events.push(if contradicts {
            NewEvent::attention(AttentionReason::ContradictsFinalStatus, self.source, detail)
        } else {
            self.line(
                EventKind::Ignored,
                json!({
                    "reason": "refund_already_final",
                    "final_status": refund.status.as_str(),
                    "reported": self.reported,
                }),
            )
        });
        change
    }

    /// A report about an open refund: a move to `target` where allowed (with the amount it
    /// proved for a refund sent without one, its failure, and the sync kept going while it
    /// stays open), else a history line; the asset lines it reports either way. `Err` for a
    /// success without any amount to post.
    fn on_open(
        &self,
        target: RefundStatus,
        proven: Option<Money>,
        emit_events: bool,
    ) -> Result<Change, Unproven> {
        let (refund, report) = (self.refund, self.report);
        let learned_amount = proven
            .filter(|_| refund.amount_minor.is_none())
            .map(|amount| (amount.to_major_string(), amount.minor_units().get()));
        let mut with_amount = refund.clone();
        if let Some((text, minor)) = &learned_amount {
            with_amount.amount = Some(text.clone());
            with_amount.amount_minor = Some(*minor);
        }
        let mut change = if refund.status.can_move_to(target) {
            if target == RefundStatus::Succeeded && with_amount.amount_minor.is_none() {
                // A refund sent without an amount, reported succeeded without one by a
                // provider whose answers carry none: nothing to post; keep it open and ask
                // finance rather than book an unknown sum.
                return Err((
                    AttentionReason::AmountMismatch,
                    json!({"problem": AmountMismatch::Missing.as_str(), "reported": self.reported}),
                ));
            }
            self.move_to(&with_amount, target, emit_events)
        } else {
            let mut change = Change::default();
            change
                .events
                .push(self.line(EventKind::ProviderAnswer, self.reported.clone()));
            change
        };
        if let Some(amount) = learned_amount {
            change.amount = Some(amount);
        }
        if !report.breakdown.is_empty() {
            change.breakdown = Some(breakdown(report));
        }
        Ok(change)
    }

    /// The move of the open refund (with any amount just learnt) into `target`.
    fn move_to(&self, refund: &RefundRecord, target: RefundStatus, emit_events: bool) -> Change {
        let mut change = transition(
            refund,
            target,
            self.source,
            self.reported.clone(),
            emit_events,
        );
        if target == RefundStatus::Failed {
            change.failure = Some(match self.report.failure.clone() {
                Some(f) => (f.code, f.message),
                None => (
                    FailureCode::ProviderFailed,
                    format!(
                        "the provider reported the refund {}",
                        self.report.raw_status
                    ),
                ),
            });
        }
        if !target.is_final() {
            change.next_sync_at = Some(Some(self.next_sync_at));
        }
        change
    }
}

/// The asset lines of a report as the refund stores them, each with its own status.
fn breakdown(report: &ProviderRefund) -> serde_json::Value {
    serde_json::Value::Array(
        report
            .breakdown
            .iter()
            .map(|line| {
                json!({
                    "asset_type": line.asset_type,
                    "amount": line.amount.to_major_string(),
                    "status": RefundStatus::from_provider(line.status)
                        .map_or("processing", RefundStatus::as_str),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::{Currency, Money, ProviderRefundStatus};

    fn refund(status: RefundStatus, amount_minor: Option<i64>) -> RefundRecord {
        RefundRecord::sample(status, amount_minor)
    }

    fn report(status: ProviderRefundStatus, minor: Option<i64>, currency: &str) -> ProviderRefund {
        let mut r = ProviderRefund::with_status(status, status.as_str());
        r.provider_refund_id = Some("prov_1".into());
        r.amount = minor.and_then(|m| {
            Some(Money::from_minor(
                refund_provider::MinorUnits::new(m)?,
                Currency::parse(currency).ok()?,
            ))
        });
        r
    }

    /// The reason of the change's first `requires_attention` line.
    fn attention_reason(change: &Change) -> Option<String> {
        change
            .events
            .iter()
            .find(|e| e.kind == EventKind::RequiresAttention)
            .and_then(|e| e.detail["reason"].as_str().map(str::to_owned))
    }

    #[test]
    fn a_success_or_processing_report_without_the_amount_moves_nothing_and_is_flagged() {
        for status in [
            ProviderRefundStatus::Succeeded,
            ProviderRefundStatus::Processing,
        ] {
            for asked in [Some(1250), None] {
                let r = refund(RefundStatus::Pending, asked);
                let change = decide(
                    &r,
                    &report(status, None, "EUR"),
                    EventSource::Sync,
                    7,
                    true,
                    true,
                );
                assert_eq!(change.status, None, "{status:?} {asked:?}");
                assert!(change.ledger.is_empty());
                assert!(change.outbox.is_none());
                assert!(change.flag_requires_attention);
                assert_eq!(
                    attention_reason(&change).as_deref(),
                    Some("amount_mismatch")
                );
                assert_eq!(change.events[0].detail["problem"], "no_amount");
                assert_eq!(change.next_sync_at, Some(Some(7)), "sync goes on");
                assert_eq!(change.provider_refund_id.as_deref(), Some("prov_1"));
            }
        }
    }

    #[test]
    fn lines_that_do_not_add_up_to_the_amount_move_nothing() {
        let r = refund(RefundStatus::Pending, Some(1250));
        let mut rep = report(ProviderRefundStatus::Succeeded, Some(1250), "EUR");
        rep.breakdown = vec![refund_provider::BreakdownLine {
            asset_type: "cash".into(),
            amount: Money::from_minor(
                refund_provider::MinorUnits::new(100).unwrap_or_else(|| panic!("positive")),
                Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}")),
            ),
            status: ProviderRefundStatus::Succeeded,
        }];
        let change = decide(&r, &rep, EventSource::Provider, 0, true, true);
        assert_eq!(change.status, None);
        assert!(change.ledger.is_empty());
        assert_eq!(
            attention_reason(&change).as_deref(),
            Some("amount_mismatch")
        );
        assert_eq!(change.events[0].detail["problem"], "lines_do_not_add_up");
        assert_eq!(
            change.events[0].detail["reported"]["lines"][0]["amount"],
            "1.00"
        );
    }

    #[test]
    fn an_answer_that_contradicts_the_request_moves_nothing_and_is_flagged() {
        let r = refund(RefundStatus::Pending, Some(1250));
        let mut rep = report(ProviderRefundStatus::Succeeded, Some(1250), "EUR");
        rep.contradiction = Some("the transfer went from usr_customer to usr_merchant".into());
        let change = decide(&r, &rep, EventSource::Provider, 3, true, true);
        assert_eq!(change.status, None);
        assert!(change.ledger.is_empty());
        assert!(change.flag_requires_attention);
        assert_eq!(
            attention_reason(&change).as_deref(),
            Some("answer_contradicts_request")
        );
        assert_eq!(change.next_sync_at, Some(Some(3)));
    }

    #[test]
    fn a_provider_whose_answers_carry_no_amount_settles_a_sized_refund_without_one() {
        let r = refund(RefundStatus::Pending, Some(1250));
        let change = decide(
            &r,
            &report(ProviderRefundStatus::Succeeded, None, "EUR"),
            EventSource::Provider,
            0,
            true,
            false,
        );
        assert_eq!(change.status, Some(RefundStatus::Succeeded));
        assert_eq!(change.ledger[0].amount_minor, 1250);
        // ... but an unsized one is never booked without an amount.
        let unsized_refund = refund(RefundStatus::Pending, None);
        let change = decide(
            &unsized_refund,
            &report(ProviderRefundStatus::Succeeded, None, "EUR"),
            EventSource::Provider,
            0,
            true,
            false,
        );
        assert_eq!(change.status, None);
        assert_eq!(
            attention_reason(&change).as_deref(),
            Some("amount_mismatch")
        );
    }

    #[test]
    fn a_late_report_without_an_amount_about_a_final_refund_is_only_recorded() {
        let r = refund(RefundStatus::Succeeded, Some(1250));
        let change = decide(
            &r,
            &report(ProviderRefundStatus::Processing, None, "EUR"),
            EventSource::Webhook,
            0,
            true,
            true,
        );
        assert!(!change.flag_requires_attention);
        assert_eq!(change.events[0].kind.as_str(), "ignored");
    }

    #[test]
    fn a_matching_success_moves_the_refund_and_posts_balanced_lines() {
        let r = refund(RefundStatus::Pending, Some(1299));
        let change = decide(
            &r,
            &report(ProviderRefundStatus::Succeeded, Some(1299), "EUR"),
            EventSource::Provider,
            0,
            true,
            true,
        );
        assert_eq!(change.status, Some(RefundStatus::Succeeded));
        assert_eq!(change.ledger.iter().map(|l| l.amount_minor).sum::<i64>(), 0);
        assert_eq!(change.ledger.len(), 2);
        assert_eq!(change.provider_refund_id.as_deref(), Some("prov_1"));
        assert_eq!(change.next_sync_at, Some(None));
        assert_eq!(
            change.outbox.map(|o| o.event_type.as_str()),
            Some("refund.succeeded")
        );
    }

    #[test]
    fn a_different_amount_or_currency_never_becomes_succeeded() {
        let r = refund(RefundStatus::Pending, Some(1299));
        for rep in [
            report(ProviderRefundStatus::Succeeded, Some(1300), "EUR"),
            report(ProviderRefundStatus::Succeeded, Some(1299), "USD"),
        ] {
            let change = decide(&r, &rep, EventSource::Webhook, 5, true, true);
            assert_eq!(change.status, None);
            assert!(change.flag_requires_attention);
            assert!(change.ledger.is_empty());
            assert_eq!(change.events[0].kind.as_str(), "requires_attention");
        }
    }

    #[test]
    fn a_final_refund_is_never_moved_and_contradictions_are_flagged() {
        let r = refund(RefundStatus::Succeeded, Some(1299));
        let late = decide(
            &r,
            &report(ProviderRefundStatus::Processing, None, "EUR"),
            EventSource::Webhook,
            0,
            true,
            true,
        );
        assert_eq!(late.status, None);
        assert!(!late.flag_requires_attention);
        assert_eq!(late.events[0].kind.as_str(), "ignored");
        let voided = decide(
            &r,
            &report(ProviderRefundStatus::Canceled, None, "EUR"),
            EventSource::Webhook,
            0,
            true,
            true,
        );
        assert_eq!(voided.status, None);
        assert!(voided.flag_requires_attention);
        assert_eq!(voided.ledger.iter().map(|l| l.amount_minor).sum::<i64>(), 0);
        assert!(voided
            .ledger
            .iter()
            .all(|l| l.entry_kind == EntryKind::RefundCanceled));
    }

    #[test]
    fn a_failure_after_success_keeps_succeeded_flags_it_and_reverses_the_ledger_lines() {
        let r = refund(RefundStatus::Succeeded, Some(1299));
        let mut rep = report(ProviderRefundStatus::Failed, Some(1299), "EUR");
        rep.failure = Some(refund_provider::Failure {
            code: FailureCode::ProviderFailed,
            message: "lost_or_stolen_card".into(),
        });
        let change = decide(&r, &rep, EventSource::Webhook, 0, true, true);
        assert_eq!(change.status, None, "a final status never moves");
        assert_eq!(change.failure, None);
        assert!(change.flag_requires_attention);
        assert_eq!(change.events[0].kind.as_str(), "requires_attention");
        assert_eq!(
            change.events[0].detail["reason"],
            "contradicts_final_status"
        );
        // The reversal of the refund_succeeded lines: clearing debited, expense credited.
        let lines: Vec<(&str, &str, i64)> = change
            .ledger
            .iter()
            .map(|l| (l.entry_kind.as_str(), l.account.as_str(), l.amount_minor))
            .collect();
        assert_eq!(
            lines,
            [
                ("refund_canceled", "provider:efundpay:clearing:EUR", 1299),
                ("refund_canceled", "merchant:acme:refund_expense:EUR", -1299),
            ]
        );
        // A failed or canceled refund reported failed again posts nothing.
        for status in [RefundStatus::Failed, RefundStatus::Canceled] {
            let change = decide(
                &refund(status, Some(1299)),
                &rep,
                EventSource::Webhook,
                0,
                true,
                true,
            );
            assert!(change.ledger.is_empty(), "{status:?}");
        }
    }

    #[test]
    fn a_full_refund_learns_its_amount_from_the_provider() {
        let r = refund(RefundStatus::Pending, None);
        let change = decide(
            &r,
            &report(ProviderRefundStatus::Succeeded, Some(5000), "EUR"),
            EventSource::Provider,
            0,
            false,
            true,
        );
        assert_eq!(change.amount, Some(("50.00".into(), 5000)));
        assert_eq!(change.ledger[0].amount_minor, 5000);
        assert!(change.outbox.is_none());
    }

    #[test]
    fn not_found_changes_nothing_but_the_history() {
        let r = refund(RefundStatus::Pending, Some(100));
        let change = decide(
            &r,
            &ProviderRefund::not_found(),
            EventSource::Sync,
            0,
            true,
            true,
        );
        assert_eq!(change.status, None);
        assert_eq!(change.events[0].kind.as_str(), "provider_not_found");
    }

    #[test]
    fn a_failure_keeps_the_providers_reason() {
        let r = refund(RefundStatus::Processing, Some(100));
        let mut rep = report(ProviderRefundStatus::Failed, None, "EUR");
        rep.failure = Some(refund_provider::Failure {
            code: FailureCode::ProviderDeclined,
            message: "declined by issuer".into(),
        });
        let change = decide(&r, &rep, EventSource::Webhook, 0, true, true);
        assert_eq!(change.status, Some(RefundStatus::Failed));
        assert_eq!(
            change.failure,
            Some((FailureCode::ProviderDeclined, "declined by issuer".into()))
        );
    }
}
