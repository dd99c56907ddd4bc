//! The Stripe [`RefundProvider`]: `POST {base_url}/v1/refunds` form-encoded, with
//! `Authorization: Bearer {secret_key}`, `Idempotency-Key: {gateway refund id}` and
//! (optionally) `Stripe-Version`; the status query reads `GET /v1/refunds/{id}` when the
//! request carries the Stripe refund id (learnt from an earlier answer or webhook), else lists
//! the payment's refunds (`GET /v1/refunds?payment_intent=…` or `?charge=…`, `limit=100`,
//! following `has_more`) and matches `metadata[gateway_refund_id]`; webhooks are verified
//! with `Stripe-Signature`.
//!
//! Every answer is classified in [`StripeProvider::classify`] with the tables of `map.rs`.
//!
//! Re-sending is safe because Stripe replays the saved answer of an `Idempotency-Key` (a
//! saved 500 included) — but only for 24 hours. So a refund whose first attempt is older
//! than [`RESEND_WINDOW`] is never sent again: it is looked up by the status query, and
//! when not found, left to the gateway as `Unknown` (DESIGN §7).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http::HeaderMap;
use refund_provider::http::{classify_common_status, client, send, HttpAnswer};
use refund_provider::{
    Capabilities, ExposeSecret, InvalidCode, Proofs, ProviderError, ProviderId, ProviderRefund,
    ProviderRefundRequest, ProviderRefundStatus, ProviderWebhook, RefundId, RefundProvider,
    RequestInvalid, SecretString,
};
use reqwest::Url;
use time::OffsetDateTime;

use crate::currency::to_stripe_amount;
use crate::identity::PROVIDER_ID;
use crate::map::{self, create_error, query_error, to_provider_refund, Conclusion};
use crate::options::StripeOptions;
use crate::wire::{ErrorBody, Refund, RefundList, LIST_OBJECT};
use crate::{metadata, webhook};

/// Stripe keeps an `Idempotency-Key` for at least 24 hours; the adapter re-sends a refund
/// only within 20 hours of its creation, leaving a margin.
pub const RESEND_WINDOW: time::Duration = time::Duration::hours(20);
/// Refunds per page of the status query (Stripe's maximum).
pub const PAGE_LIMIT: u32 = 100;
/// Pages the status query reads at most (10,000 refunds of one payment) before giving up
/// with `Unknown`.
pub const MAX_PAGES: usize = 100;
/// The header naming the API version.
pub const VERSION_HEADER: &str = "Stripe-Version";
/// The header carrying the gateway refund id.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The credentials of one Stripe account, and the merchant it belongs to (a merchant's own
/// account, DESIGN §14), when it is one.
/// `Debug` shows no secret (`SecretString` is redacted).
#[derive(Clone, Debug)]
pub struct StripeAccount {
    pub secret_key: SecretString,
    pub webhook_secret: SecretString,
    /// Sent as `metadata[merchant_id]` when the request names no merchant.
    pub merchant_id: Option<String>,
}

/// The Stripe adapter. Build it from [`crate::StripeSettings`] or, in tests, with
/// [`StripeProvider::new`].
pub struct StripeProvider {
    client: reqwest::Client,
    base_url: String,
    account: StripeAccount,
    api_version: Option<String>,
}

impl fmt::Debug for StripeProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeProvider")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("merchant_id", &self.account.merchant_id)
            .finish_non_exhaustive()
    }
}

/// Which call an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Create,
    Query,
}

impl StripeProvider {
    /// An adapter talking to `base_url` (without `/v1`; a trailing `/` is ignored) with a
    /// whole-request `timeout`.
    pub fn new(
        base_url: &str,
        account: StripeAccount,
        api_version: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            client: client(timeout)?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account,
            api_version: api_version.map(str::to_owned),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The merchant whose own account this is, if it is one.
    pub fn merchant_id(&self) -> Option<&str> {
        self.account.merchant_id.as_deref()
    }

    fn refunds_url(&self) -> Result<Url, ProviderError> {
        Url::parse(&format!("{}/v1/refunds", self.base_url))
            .map_err(|e| ProviderError::misconfigured(format!("bad Stripe base_url: {e}")))
    }

    fn authorized(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let builder = builder.bearer_auth(self.account.secret_key.expose_secret());
        match &self.api_version {
            Some(version) => builder.header(VERSION_HEADER, version),
            None => builder,
        }
    }

    /// The create-refund form: the payment, the amount in Stripe's units (omitted for a
    /// full refund), `reason` from `provider_options.stripe`, and the metadata: the gateway
    /// refund id, the merchant (the request's, else the account's) and the merchant's own
    /// pairs. What Stripe could not take is refused here, before anything is sent.
    pub fn form(
        &self,
        req: &ProviderRefundRequest,
    ) -> Result<Vec<(String, String)>, RequestInvalid> {
        let options = StripeOptions::parse(&req.options)?;
        let mut form = vec![(
            payment_field(req.payment_id.as_str()).to_owned(),
            req.payment_id.as_str().to_owned(),
        )];
        if let Some(amount) = &req.amount {
            let stripe = to_stripe_amount(amount).map_err(|e| {
                RequestInvalid::new(InvalidCode::AmountInvalid, "amount", e.to_string())
            })?;
            form.push(("amount".into(), stripe.to_string()));
        }
        if let Some(reason) = options.reason {
            form.push(("reason".into(), reason.as_str().into()));
        }
        let merchant_id = req
            .merchant_id
            .as_deref()
            .or(self.account.merchant_id.as_deref());
        form.extend(metadata::form_fields(
            &req.refund_id,
            merchant_id,
            &req.metadata,
        )?);
        Ok(form)
    }

    /// The one place a Stripe answer becomes a conclusion: `Ok` with the answer to read, or
    /// the error; `Ok(None)` for a status query that found no such refund or payment.
    fn classify(call: Call, answer: HttpAnswer) -> Result<Option<HttpAnswer>, ProviderError> {
        if let Some(common) = classify_common_status(&answer) {
            // 401/403: our key is wrong; 5xx: the outcome is unknown.
            return Err(common);
        }
        if answer.status.is_success() {
            return Ok(Some(answer));
        }
        let status = answer.status.as_u16();
        let error = serde_json::from_slice::<ErrorBody>(&answer.body)
            .map(|body| body.error)
            .unwrap_or_default();
        let described = describe(status, &error, &answer);
        let conclusion = match call {
            Call::Create => create_error(status, &error),
            Call::Query => query_error(status, &error),
        };
        match conclusion {
            Conclusion::Rejected(code) => Err(ProviderError::rejected(code, described)),
            Conclusion::NotSent => Err(ProviderError::not_sent(format!(
                "Stripe is rate limiting, nothing was processed: {described}"
            ))),
            Conclusion::NotFound => Ok(None),
            Conclusion::Unknown => Err(ProviderError::unknown(format!(
                "Stripe answered {described}"
            ))),
        }
    }

    /// Where our refund stands: read by its Stripe id when the request carries it (one
    /// request), else found among the payment's refunds.
    async fn lookup(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        match req.provider_refund_id.as_deref() {
            // `.`/`..` would name another path even percent-encoded: found by listing.
            Some(id) if !refund_provider::is_dot_segment(id) => self.retrieve(req, id).await,
            _ => self.find(req).await,
        }
    }

    /// `GET /v1/refunds/{id}`: the refund, checked to be ours; a 404 is `NotFound`.
    async fn retrieve(
        &self,
        req: &ProviderRefundRequest,
        stripe_id: &str,
    ) -> Result<ProviderRefund, ProviderError> {
        let mut url = self.refunds_url()?;
        url.path_segments_mut()
            .map_err(|()| ProviderError::misconfigured("bad Stripe base_url"))?
            .push(stripe_id);
        let answer = send(self.authorized(self.client.get(url))).await?;
        match Self::classify(Call::Query, answer)? {
            Some(answer) => checked(&answer.json::<Refund>()?, req),
            None => Ok(ProviderRefund::not_found()),
        }
    }

    /// Finds our refund among the payment's refunds, newest first, page by page.
    async fn find(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        let ours = req.refund_id.to_string();
        let mut found: Option<Refund> = None;
        let mut starting_after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.refunds_url()?;
            url.query_pairs_mut()
                .append_pair(
                    payment_field(req.payment_id.as_str()),
                    req.payment_id.as_str(),
                )
                .append_pair("limit", &PAGE_LIMIT.to_string());
            if let Some(after) = &starting_after {
                url.query_pairs_mut().append_pair("starting_after", after);
            }
            let answer = send(self.authorized(self.client.get(url))).await?;
            let Some(answer) = Self::classify(Call::Query, answer)? else {
                return Ok(ProviderRefund::not_found());
            };
            let page: RefundList = answer.json()?;
            if page.object != LIST_OBJECT {
                return Err(ProviderError::unknown("Stripe's refund list is not a list"));
            }
            for refund in &page.data {
                if map::gateway_refund_id(refund) == Some(ours.as_str()) {
                    if found.is_some() {
                        return Err(ProviderError::unknown(
                            "Stripe lists several refunds with our gateway_refund_id",
                        ));
                    }
                    found = Some(refund.clone());
                }
            }
            match (page.has_more, page.data.last()) {
                (false, _) => {
                    return match found {
                        Some(refund) => checked(&refund, req),
                        None => Ok(ProviderRefund::not_found()),
                    }
                }
                (true, Some(last)) => starting_after = Some(last.id.clone()),
                (true, None) => {
                    return Err(ProviderError::unknown(
                        "Stripe says more refunds follow an empty page",
                    ))
                }
            }
        }
        Err(ProviderError::unknown(format!(
            "the payment has more than {} refunds; gave up looking for ours",
            MAX_PAGES * PAGE_LIMIT as usize
        )))
    }
}

/// `payment_intent` for a PaymentIntent id (`pi_…`), else `charge`.
pub fn payment_field(payment_id: &str) -> &'static str {
    if payment_id.starts_with("pi_") {
        "payment_intent"
    } else {
        "charge"
    }
}

/// Maps a refund object that should be ours, refusing one for another refund or payment.
fn checked(refund: &Refund, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
    let ours = req.refund_id.to_string();
    if map::gateway_refund_id(refund) != Some(ours.as_str()) {
        return Err(ProviderError::unknown(
            "Stripe answered with a refund whose metadata[gateway_refund_id] is not ours",
        ));
    }
    let payment = req.payment_id.as_str();
    let answered = match payment_field(payment) {
        "payment_intent" => refund.payment_intent.as_deref(),
        _ => refund.charge.as_deref(),
    };
    if answered != Some(payment) {
        return Err(ProviderError::unknown(
            "Stripe answered with a refund of another payment",
        ));
    }
    let mut mapped = to_provider_refund(refund)
        .map_err(|why| ProviderError::unknown(format!("unusable Stripe refund: {why}")))?;
    mapped.provider_reference = Some(req.provider_reference.clone());
    Ok(mapped)
}

/// `HTTP 400 invalid_request_error charge_already_refunded (param charge): message`, or the
/// start of a body that is not Stripe's error shape.
fn describe(status: u16, error: &crate::wire::ApiError, answer: &HttpAnswer) -> String {
    if error.error_type.is_empty() && error.message.is_none() {
        return format!("HTTP {status}: {}", answer.body_excerpt());
    }
    let mut text = format!("HTTP {status} {}", error.error_type);
    if let Some(code) = &error.code {
        text.push_str(&format!(" {code}"));
    }
    if let Some(param) = &error.param {
        text.push_str(&format!(" (param {param})"));
    }
    if let Some(message) = &error.message {
        text.push_str(&format!(": {}", map::excerpt(message)));
    }
    text
}

#[async_trait]
impl RefundProvider for StripeProvider {
    fn id(&self) -> ProviderId {
        ProviderId::from_static(PROVIDER_ID)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            currencies: None,
            partial: true,
            full_without_amount: true,
            status_query: true,
            webhooks: true,
        }
    }

    fn proofs(&self) -> Proofs {
        crate::proofs::PROOFS
    }

    /// The gateway refund id: the `Idempotency-Key` and `metadata[gateway_refund_id]`.
    fn provider_reference(&self, refund_id: &RefundId) -> String {
        refund_id.to_string()
    }

    fn validate(&self, req: &ProviderRefundRequest) -> Result<(), RequestInvalid> {
        refund_provider::validate_against_capabilities(&self.capabilities(), req)?;
        self.form(req).map(|_| ())
    }

    async fn refund(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        let form = self.form(req)?;
        if OffsetDateTime::now_utc() - req.created_at > RESEND_WINDOW {
            return match self.lookup(req).await? {
                found if found.status != ProviderRefundStatus::NotFound => Ok(found),
                _ => Err(ProviderError::unknown(
                    "not sent again: the refund is older than 20 h and Stripe forgets \
                     Idempotency-Keys after 24 h; the status query must settle it",
                )),
            };
        }
        tracing::info!(provider = PROVIDER_ID, refund_id = %req.refund_id, "sending Stripe refund");
        let builder = self
            .client
            .post(self.refunds_url()?)
            .header(IDEMPOTENCY_HEADER, req.refund_id.to_string())
            .form(&form);
        let answer = send(self.authorized(builder)).await?;
        match Self::classify(Call::Create, answer)? {
            Some(answer) => checked(&answer.json::<Refund>()?, req),
            None => Err(ProviderError::unknown("Stripe found nothing to refund")),
        }
    }

    async fn refund_status(
        &self,
        req: &ProviderRefundRequest,
    ) -> Result<ProviderRefund, ProviderError> {
        self.lookup(req).await
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<ProviderWebhook, ProviderError> {
        let secret = self.account.webhook_secret.expose_secret().as_bytes();
        webhook::verify(headers, body, now, secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_intents_and_charges_are_named_by_their_prefix() {
        assert_eq!(
            payment_field("pi_3MtwBwLkdIwHu7ix28a3tqPa"),
            "payment_intent"
        );
        assert_eq!(payment_field("ch_1NirD82eZvKYlo2CIvbtLWuY"), "charge");
        assert_eq!(payment_field("py_1NirD82eZvKYlo2C"), "charge");
        assert_eq!(payment_field("pix_1"), "charge");
    }
}
