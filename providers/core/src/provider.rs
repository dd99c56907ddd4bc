//! The `RefundProvider` trait every adapter implements, and what it declares it can do.

use async_trait::async_trait;
use http::HeaderMap;
use time::OffsetDateTime;

use crate::error::ProviderError;
use crate::ids::{ProviderId, RefundId};
use crate::money::Currency;
use crate::outcome::ProviderRefund;
use crate::proof::Proofs;
use crate::request::{InvalidCode, ProviderRefundRequest, RequestInvalid};
use crate::webhook::ProviderWebhook;

/// What a provider supports; the gateway checks requests against it before any call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Currencies the provider takes; `None` means every currency the gateway accepts.
    pub currencies: Option<Vec<Currency>>,
    /// Refunds of part of a payment.
    pub partial: bool,
    /// Full refunds with the amount omitted.
    pub full_without_amount: bool,
    /// `refund_status` answers from the provider (otherwise only webhooks settle refunds).
    pub status_query: bool,
    /// The provider sends webhooks for refund status changes.
    pub webhooks: bool,
}

impl Capabilities {
    pub fn supports_currency(&self, currency: Currency) -> bool {
        self.currencies
            .as_ref()
            .is_none_or(|list| list.contains(&currency))
    }
}

/// How a provider takes a refund of "what is left" of a payment: a refund request without an
/// amount, of a payment whose captured amount the gateway knows (DESIGN §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestRefund {
    /// The gateway sends what is left as the amount (the default).
    SendAmount,
    /// The provider's whole-refund form refunds exactly what is left: the gateway records
    /// that amount but sends the whole-refund form (e-Buy's whole-order refund).
    WholeForm,
    /// The provider's whole-refund form of this request refunds a part the gateway cannot
    /// size (e-Buy's refund of one whole asset): the gateway sends the form and learns the
    /// amount from the provider's answer.
    ProviderSized,
}

/// One payment provider, spoken to in its own wire format.
#[async_trait]
pub trait RefundProvider: Send + Sync + 'static {
    /// `"authms"`, `"ebuy"`, `"efundpay"`.
    fn id(&self) -> ProviderId;

    fn capabilities(&self) -> Capabilities;

    /// What this provider's answers prove (DESIGN §16), each fact justified in the adapter by
    /// a comment citing the sentence of the provider's document that grants it. No default:
    /// a provider added later states what it proves.
    fn proofs(&self) -> Proofs;

    /// The deterministic reference sent to the provider for this refund, derived from the
    /// gateway refund id and stored before the first call. Defaults to the refund id.
    fn provider_reference(&self, refund_id: &RefundId) -> String {
        refund_id.to_string()
    }

    /// Checks what can be known before calling the provider (currency, amount required,
    /// provider options). The default checks currency and amount against `capabilities`.
    fn validate(&self, req: &ProviderRefundRequest) -> Result<(), RequestInvalid> {
        validate_against_capabilities(&self.capabilities(), req)
    }

    /// How a refund without an amount of a payment whose captured amount is known is sent
    /// (see [`RestRefund`]); by default, with what is left as the amount.
    fn rest_refund(&self, req: &ProviderRefundRequest) -> RestRefund {
        let _ = req;
        RestRefund::SendAmount
    }

    /// Sends the refund.
    async fn refund(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError>;

    /// Asks the provider where the refund stands; `NotFound` when it has no such refund.
    async fn refund_status(
        &self,
        req: &ProviderRefundRequest,
    ) -> Result<ProviderRefund, ProviderError>;

    /// Verifies and parses a webhook; `InvalidWebhook` for anything not provably genuine.
    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<ProviderWebhook, ProviderError>;
}

/// The capability checks every provider shares: currency, and amount presence.
pub fn validate_against_capabilities(
    caps: &Capabilities,
    req: &ProviderRefundRequest,
) -> Result<(), RequestInvalid> {
    if !caps.supports_currency(req.currency) {
        return Err(RequestInvalid::new(
            InvalidCode::CurrencyUnsupported,
            "currency",
            format!("this provider does not refund in {}", req.currency),
        ));
    }
    match req.amount {
        None if !caps.full_without_amount => Err(RequestInvalid::new(
            InvalidCode::ParameterMissing,
            "amount",
            "this provider requires an amount",
        )),
        Some(_) if !caps.partial && !caps.full_without_amount => Err(RequestInvalid::new(
            InvalidCode::ParameterInvalid,
            "amount",
            "this provider only refunds whole payments",
        )),
        _ => Ok(()),
    }
}
