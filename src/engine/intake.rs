//! Taking in a new refund request ([`CreateCommand`]), before anything is recorded: the
//! provider and account it is routed to, the request that provider gets, the checks of
//! every provider's options, and whether an approval rule holds it. Shared by the create
//! protocol (`create.rs`) and its dry run (`preview.rs`).

use std::sync::Arc;

use serde_json::Value;

use refund_provider::{
    Currency, Money, PaymentId, ProviderId, ProviderRefundRequest, RefundId, RefundProvider,
};

use super::{Engine, EngineError};
use crate::config::MerchantConfig;
use crate::domain::approval::{matching_rule, ApprovalInput};
use crate::domain::IdempotencyKey;
use crate::routing::{route, RouteError, RouteInput};

/// A validated create-refund request.
#[derive(Debug, Clone)]
pub struct CreateCommand {
    pub payment_id: PaymentId,
    pub amount: Option<Money>,
    /// The payment's captured amount, as the merchant knows it (`payment_amount`).
    pub payment_amount: Option<Money>,
    pub currency: Currency,
    pub reason: Option<String>,
    pub reference: Option<String>,
    pub customer_id: Option<String>,
    pub metadata: Value,
    pub provider: Option<String>,
    /// The whole `provider_options` object (each adapter reads its own key).
    pub provider_options: Value,
    pub idempotency_key: Option<IdempotencyKey>,
    /// Fingerprint of the request body, for idempotency.
    pub fingerprint: String,
}

/// The provider a request is routed to: its id, the key of the account calls go out on for
/// the merchant, and that account's adapter.
pub(super) struct Routed {
    pub(super) id: ProviderId,
    pub(super) account: String,
    pub(super) provider: Arc<dyn RefundProvider>,
}

impl Engine {
    /// The provider a merchant's request goes to (the routes, or its explicit `provider`),
    /// that provider's account key for the merchant, and its adapter.
    pub(super) fn routed(
        &self,
        merchant: &MerchantConfig,
        command: &CreateCommand,
    ) -> Result<Routed, EngineError> {
        let provider_id = route(
            &self.config().routes,
            RouteInput {
                merchant,
                explicit: command.provider.as_deref(),
                currency: command.currency,
                payment_id: command.payment_id.as_str(),
            },
            |id| self.providers().for_merchant(id, &merchant.id).is_some(),
        )
        .map_err(|e| match e {
            RouteError::NoRoute => EngineError::NoRoute,
            RouteError::ProviderUnsupported(name) => EngineError::ProviderUnsupported(name),
        })?;
        let (account, provider) = self
            .providers()
            .for_merchant(&provider_id, &merchant.id)
            .map(|(account, provider)| (account, provider.clone()))
            .ok_or(EngineError::NoRoute)?;
        Ok(Routed {
            id: provider_id,
            account: account.key(),
            provider,
        })
    }

    /// The request the routed provider gets for new refund `refund_id`, for the command's
    /// amount, with the merchant's `provider_options` for that provider.
    pub(super) fn provider_request(
        &self,
        merchant: &MerchantConfig,
        command: &CreateCommand,
        routed: &Routed,
        refund_id: RefundId,
    ) -> ProviderRefundRequest {
        ProviderRefundRequest {
            refund_id,
            provider_reference: routed.provider.provider_reference(&refund_id),
            payment_id: command.payment_id.clone(),
            currency: command.currency,
            amount: command.amount,
            reason: command.reason.clone(),
            customer_id: command.customer_id.clone(),
            options: command
                .provider_options
                .get(routed.id.as_str())
                .cloned()
                .unwrap_or(Value::Null),
            created_at: self.store.clock().now(),
            merchant_id: Some(merchant.id.clone()),
            metadata: super::sync::metadata_pairs(&command.metadata),
            provider_refund_id: None,
        }
    }

    /// Whether an `[[approval_rules]]` rule holds a refund of `amount` (DESIGN §19).
    pub(super) fn held_for_approval(
        &self,
        merchant: &MerchantConfig,
        provider: &ProviderId,
        currency: Currency,
        amount: Option<Money>,
    ) -> bool {
        matching_rule(
            &self.config().approval_rules,
            ApprovalInput {
                merchant: &merchant.id,
                provider,
                currency,
                amount_minor: amount.map(|m| m.minor_units().get()),
            },
        )
        .is_some()
    }
}

/// Every `provider_options.<id>` of a request, checked by that provider's own parsing
/// whatever provider the refund goes to (a request may carry options for several, DESIGN
/// §5): a mistake in another provider's options is refused, never silently carried; a key
/// that names no provider the gateway knows or runs is refused too (a misspelt provider
/// would otherwise be ignored).
pub(super) fn check_every_providers_options(
    options: &Value,
    running: &crate::providers::ProviderRegistry,
) -> Result<(), refund_provider::RequestInvalid> {
    let Some(map) = options.as_object() else {
        return Ok(());
    };
    for (id, value) in map {
        if let Some(plugin) = crate::providers::plugin(id) {
            plugin.check_options(value)?;
        } else if !running.ids().any(|known| known.as_str() == id) {
            let mut known: Vec<&str> = crate::providers::PLUGINS.iter().map(|p| p.id()).collect();
            known.extend(running.ids().map(refund_provider::ProviderId::as_str));
            known.sort_unstable();
            known.dedup();
            return Err(refund_provider::RequestInvalid::invalid(
                &format!("provider_options.{id}"),
                format!("no provider has this name (known: {})", known.join(", ")),
            ));
        }
    }
    Ok(())
}
