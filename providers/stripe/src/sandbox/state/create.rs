//! Creating a refund (`POST /v1/refunds`) as Stripe rules it, in steps: the magic payments
//! and amounts that fail on purpose, the amount checked against what is left of the payment
//! (found, or assumed on first sight) and against Stripe's currency rules, the refund's
//! course (its status now and the one it moves to), then the refund object made and
//! recorded, and its answer saved under its Idempotency-Key.

use http::StatusCode;
use refund_provider::Currency;
use serde_json::Value;

use super::query::no_such;
use super::{currency_in, payment_key, random_id, Inner, Outcome, Payment, Shared, Stored};
use crate::currency::{HUNDREDTHS_OF_WHOLE_UNITS, THREE_DECIMAL};
use crate::metadata::GATEWAY_REFUND_ID;
use crate::sandbox::config::{Faults, SandboxConfig, UNSEEN_PAYMENT_AMOUNT_MINOR};
use crate::sandbox::form::{CreateParams, PaymentRef, StripeError};
use crate::sandbox::magic;
use crate::wire::{Refund, REFUND_OBJECT};

/// A refund's status when created, and the status (with its failure reason) it moves to
/// after `settle_after_ms`, if any.
type Course = (&'static str, Option<(&'static str, Option<&'static str>)>);

impl Shared {
    /// Executes a checked create request and saves its answer under `key` (a rate-limited
    /// request excepted, as Stripe processed nothing).
    pub(crate) fn create(
        &self,
        params: CreateParams,
        key: Option<(&str, Vec<(String, String)>)>,
    ) -> Outcome {
        let faults = self.faults.get();
        let mut inner = self.lock();
        let outcome = inner.create(params, &self.config, faults, key.as_ref().map(|(k, _)| *k));
        if let Some((key, fingerprint)) = key {
            inner
                .saved
                .finish(key, fingerprint, outcome.status, outcome.body.to_string());
        }
        outcome
    }
}

impl Inner {
    /// The answer to a create request: the refund created, or Stripe's refusal.
    fn create(
        &mut self,
        params: CreateParams,
        config: &SandboxConfig,
        faults: Faults,
        idempotency_key: Option<&str>,
    ) -> Outcome {
        match self.create_refund(params, config, faults, idempotency_key) {
            Ok(stored) => Outcome {
                status: StatusCode::OK,
                body: serde_json::to_value(&stored.refund).unwrap_or(Value::Null),
                created: Some(stored),
            },
            Err(error) => Outcome {
                status: error.status,
                body: error.body(),
                created: None,
            },
        }
    }

    /// Checks the request against the payment, then makes and records the refund.
    fn create_refund(
        &mut self,
        params: CreateParams,
        config: &SandboxConfig,
        faults: Faults,
        idempotency_key: Option<&str>,
    ) -> Result<Stored, StripeError> {
        if let Some(refusal) = refused_on_purpose(&params) {
            return Err(refusal);
        }
        let key = payment_key(params.payment.id()).to_owned();
        let payment = self.payments.entry(key.clone()).or_insert_with(|| Payment {
            amount: UNSEEN_PAYMENT_AMOUNT_MINOR,
            currency: currency_in(params.payment.id(), &config.default_currency),
            refunded: 0,
            configured: false,
        });
        let amount = refundable_amount(payment, &params, &key)?;
        let (status, next) = course(amount);
        payment.refunded = payment.refunded.saturating_add(amount);
        let refund = refund_object(&params, &key, amount, status, payment.currency);
        let reference = params
            .metadata
            .get(GATEWAY_REFUND_ID)
            .cloned()
            .or_else(|| idempotency_key.map(str::to_owned))
            .unwrap_or_else(|| refund.id.clone());
        let stored = Stored {
            refund,
            payment: params.payment.id().to_owned(),
            reference,
            next,
            faults,
            idempotency_key: idempotency_key.map(str::to_owned),
        };
        self.insert(stored.clone());
        Ok(stored)
    }
}

/// The magic payments and amounts refused before any payment is looked at.
fn refused_on_purpose(params: &CreateParams) -> Option<StripeError> {
    if magic::PAYMENT_MISSING.contains(&params.payment.id()) {
        return Some(no_such(&params.payment));
    }
    match params.amount? {
        magic::AMOUNT_SERVER_ERROR => Some(StripeError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error_type: "api_error",
            code: None,
            param: None,
            message: "An unknown error occurred".into(),
        }),
        magic::AMOUNT_RATE_LIMITED => Some(StripeError {
            status: StatusCode::TOO_MANY_REQUESTS,
            error_type: "invalid_request_error",
            code: Some("rate_limit"),
            param: None,
            message: "Too many requests hit the API too quickly.".into(),
        }),
        magic::AMOUNT_DECLINED => Some(StripeError {
            status: StatusCode::PAYMENT_REQUIRED,
            error_type: "card_error",
            code: Some("card_declined"),
            param: None,
            message: "The refund was declined by the card issuer.".into(),
        }),
        _ => None,
    }
}

/// The amount to refund (the request's, or all that is left of the payment `key`), refused
/// beyond what is left and where Stripe's rules for the payment's currency refuse it.
fn refundable_amount(
    payment: &Payment,
    params: &CreateParams,
    key: &str,
) -> Result<i64, StripeError> {
    let remaining = payment.amount.saturating_sub(payment.refunded);
    if remaining <= 0 {
        return Err(StripeError::invalid(
            Some("charge_already_refunded"),
            Some(params.payment.param()),
            format!("Charge ch_{key} has already been refunded."),
        ));
    }
    let amount = params.amount.unwrap_or(remaining);
    if amount > remaining {
        return Err(StripeError::invalid(
            None,
            Some("amount"),
            format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"
            ),
        ));
    }
    let code = payment.currency.code();
    if THREE_DECIMAL.contains(&code) && amount % 10 != 0 {
        return Err(StripeError::invalid(
            Some("invalid_amount"),
            Some("amount"),
            format!("Amounts in {code} must end in 0 (rounded to the nearest ten)."),
        ));
    }
    if HUNDREDTHS_OF_WHOLE_UNITS.contains(&code) && amount % 100 != 0 {
        return Err(StripeError::invalid(
            Some("invalid_charge_amount_no_decimal_compatible"),
            Some("amount"),
            format!(
                "Invalid amount. Currency {code} has become effectively zero-decimal and \
                 charged amounts must be evenly divisible by 100."
            ),
        ));
    }
    Ok(amount)
}

/// What happens to a refund of `amount`: the magic amounts choose, any other is `pending`
/// and then succeeds.
fn course(amount: i64) -> Course {
    match amount {
        magic::AMOUNT_SUCCEEDED_AT_ONCE => ("succeeded", None),
        magic::AMOUNT_FAILS_LATER => (
            "pending",
            Some(("failed", Some("expired_or_canceled_card"))),
        ),
        magic::AMOUNT_CANCELED_LATER => ("requires_action", Some(("canceled", None))),
        magic::AMOUNT_STAYS_PENDING => ("pending", None),
        magic::AMOUNT_SUCCEEDS_THEN_FAILS => {
            ("succeeded", Some(("failed", Some("lost_or_stolen_card"))))
        }
        _ => ("pending", Some(("succeeded", None))),
    }
}

/// The refund object Stripe answers with, for a refund of `amount` of the payment `key`.
fn refund_object(
    params: &CreateParams,
    key: &str,
    amount: i64,
    status: &str,
    currency: Currency,
) -> Refund {
    let (payment_intent, charge) = match &params.payment {
        PaymentRef::PaymentIntent(id) => (Some(id.clone()), format!("ch_{key}")),
        PaymentRef::Charge(id) => (None, id.clone()),
    };
    Refund {
        id: format!("re_{}", random_id(24)),
        object: REFUND_OBJECT.into(),
        amount,
        balance_transaction: Some(format!("txn_{}", random_id(24))),
        charge: Some(charge),
        created: time::OffsetDateTime::now_utc().unix_timestamp(),
        currency: currency.code().to_ascii_lowercase(),
        destination_details: Some(serde_json::json!({"card": {"type": "refund"}, "type": "card"})),
        failure_reason: None,
        metadata: Some(params.metadata.clone()),
        next_action: (status == "requires_action")
            .then(|| serde_json::json!({"type": "display_details", "display_details": null})),
        payment_intent,
        reason: params.reason.clone(),
        receipt_number: None,
        source_transfer_reversal: None,
        status: Some(status.into()),
        transfer_reversal: None,
    }
}
