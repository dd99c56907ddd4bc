//! Reading refunds back: `GET /v1/refunds/{id}` and `GET /v1/refunds` (a payment's refunds,
//! or all, newest first, one page at a time), with Stripe's errors for what is not there.

use http::StatusCode;

use super::{payment_key, Shared, Stored};
use crate::sandbox::form::{PaymentRef, StripeError};
use crate::sandbox::magic;
use crate::wire::{Refund, RefundList, LIST_OBJECT};

impl Shared {
    /// `GET /v1/refunds/{id}`.
    pub(crate) fn retrieve(&self, refund_id: &str) -> Result<Refund, StripeError> {
        let inner = self.lock();
        inner
            .by_id
            .get(refund_id)
            .and_then(|seq| inner.refunds.get(seq))
            .map(|stored| stored.refund.clone())
            .ok_or_else(|| StripeError {
                status: StatusCode::NOT_FOUND,
                error_type: "invalid_request_error",
                code: Some("resource_missing"),
                param: Some("id".into()),
                message: format!("No such refund: '{refund_id}'"),
            })
    }

    /// `GET /v1/refunds`: the payment's refunds (or all), newest first, one page.
    pub(crate) fn list(
        &self,
        payment: Option<&PaymentRef>,
        limit: usize,
        starting_after: Option<&str>,
    ) -> Result<RefundList, StripeError> {
        if let Some(payment) = payment {
            if magic::PAYMENT_MISSING.contains(&payment.id()) {
                return Err(no_such(payment));
            }
        }
        let inner = self.lock();
        let matching: Vec<&Stored> = match payment {
            Some(payment) => inner
                .by_payment
                .get(payment_key(payment.id()))
                .into_iter()
                .flatten()
                .rev()
                .filter_map(|seq| inner.refunds.get(seq))
                .filter(|stored| match payment {
                    PaymentRef::PaymentIntent(id) => {
                        stored.refund.payment_intent.as_deref() == Some(id)
                    }
                    PaymentRef::Charge(id) => stored.refund.charge.as_deref() == Some(id),
                })
                .collect(),
            None => inner.refunds.values().rev().collect(),
        };
        let start = match starting_after {
            None => 0,
            Some(after) => {
                let at = matching
                    .iter()
                    .position(|stored| stored.refund.id == after)
                    .ok_or_else(|| {
                        StripeError::invalid(
                            Some("resource_missing"),
                            Some("starting_after"),
                            format!("No such refund: '{after}'"),
                        )
                    })?;
                at + 1
            }
        };
        let page: Vec<Refund> = matching
            .iter()
            .skip(start)
            .take(limit)
            .map(|stored| stored.refund.clone())
            .collect();
        Ok(RefundList {
            object: LIST_OBJECT.into(),
            has_more: matching.len() > start + page.len(),
            data: page,
            url: "/v1/refunds".into(),
        })
    }
}

/// Stripe's answer for a payment it does not know.
pub(super) fn no_such(payment: &PaymentRef) -> StripeError {
    StripeError::invalid(
        Some("resource_missing"),
        Some(payment.param()),
        format!("No such {}: '{}'", payment.param(), payment.id()),
    )
}
