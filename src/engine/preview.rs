//! What a new refund would do, without doing it (a batch's dry run, DESIGN §19): the same
//! routing, pre-flight checks (every provider's `provider_options` among them) and approval
//! rules as `create.rs`, and what is left of the
//! payment; nothing is recorded and nobody is called.

use refund_provider::{MinorUnits, Money, RefundId, RestRefund};

use super::intake::{check_every_providers_options, CreateCommand};
use super::{Engine, EngineError};
use crate::config::MerchantConfig;

/// What a new refund would do, without doing it (a batch's dry run, DESIGN §19).
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// The provider and account routing picked.
    pub provider: String,
    pub account: String,
    /// The amount it would be recorded for, when known (the rest of the payment for a
    /// refund without an amount).
    pub amount: Option<Money>,
    /// Whether an approval rule would hold it.
    pub awaiting_approval: bool,
    /// What is left to refund of the payment before it, when the captured amount is known.
    pub refundable_minor: Option<i128>,
}

impl Engine {
    /// Routes and checks `command` as [`Engine::create_refund`] would (routing, the
    /// provider's pre-flight checks, approval rules) and reads what is left of its payment;
    /// records nothing and calls nobody.
    pub async fn preview_refund(
        &self,
        merchant: &MerchantConfig,
        command: &CreateCommand,
    ) -> Result<Preview, EngineError> {
        let routed = self.routed(merchant, command)?;
        let refundable_minor = self
            .store
            .payment_refundable(
                routed.id.as_str(),
                &routed.account,
                command.payment_id.as_str(),
                command.payment_amount.map(|m| m.minor_units().get()),
            )
            .await?;
        let rest = refundable_minor
            .filter(|_| command.amount.is_none())
            .and_then(|minor| i64::try_from(minor).ok())
            .and_then(MinorUnits::new)
            .map(|minor| Money::from_minor(minor, command.currency));
        let amount = command.amount.or(rest);
        let mut request = self.provider_request(merchant, command, &routed, RefundId::generate());
        if routed.provider.rest_refund(&request) == RestRefund::SendAmount {
            request.amount = amount;
        }
        routed.provider.validate(&request)?;
        check_every_providers_options(&command.provider_options, self.providers())?;
        let awaiting_approval =
            self.held_for_approval(merchant, &routed.id, command.currency, amount);
        Ok(Preview {
            provider: routed.id.to_string(),
            account: routed.account,
            amount,
            awaiting_approval,
            refundable_minor,
        })
    }
}
