//! The eFundPay [`RefundProvider`]: sends `POST {base_url}/v4/transactions/{payment_id}/refunds`
//! with a bearer token and `x-merchant-account-id`, asks the (assumed) listing
//! `GET {base_url}/v4/transactions/{payment_id}/refunds` for status, and verifies webhooks.
//!
//! Every failure is classified in [`EfundpayProvider::classify`]. A 409 on create means a
//! refund with our `external_identifier` already exists (a re-send after an unknown outcome):
//! the adapter then answers with that refund, found by the status query. This is what makes
//! re-sending safe for eFundPay (`deduplicates_by_reference`).
//!
//! Units (DESIGN §16 "Currencies as each provider counts them"): the create-refund document
//! says `amount` is an integer "退款金额,单位为最小货币单位,比如1美金为100美分" (the refund
//! amount in the currency's smallest unit, e.g. 1 USD is 100 cents), `x >= 1`. So amounts
//! go out as integer minor units by the ISO 4217 exponent (`1299` for 12.99 EUR, `500` for
//! 500 JPY) and answers' `amount` is read back the same way.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, StatusCode};
use refund_provider::http::{classify_common_status, client, send, HttpAnswer};
use refund_provider::{
    Capabilities, ExposeSecret, FailureCode, Proofs, ProviderError, ProviderId, ProviderRefund,
    ProviderRefundRequest, ProviderWebhook, RefundId, RefundProvider, RequestInvalid, SecretString,
};
use time::OffsetDateTime;

use crate::identity::PROVIDER_ID;
use crate::map::to_provider_refund;
use crate::wire::{ErrorBody, Refund, RefundList};
use crate::{request, webhook};

/// The header naming the merchant account a request is for.
pub const MERCHANT_ACCOUNT_HEADER: &str = "x-merchant-account-id";

/// The eFundPay adapter. Build it from [`crate::EfundpaySettings`] or, in tests, with
/// [`EfundpayProvider::new`].
pub struct EfundpayProvider {
    client: reqwest::Client,
    base_url: String,
    token: SecretString,
    merchant_account_id: String,
    /// Every secret a webhook may be signed with (more than one while rotating).
    webhook_secrets: Vec<SecretString>,
    webhooks_url: String,
}

impl fmt::Debug for EfundpayProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EfundpayProvider")
            .field("base_url", &self.base_url)
            .field("merchant_account_id", &self.merchant_account_id)
            .field("webhooks_url", &self.webhooks_url)
            .finish_non_exhaustive()
    }
}

/// Which call an answer belongs to; the same status means different things for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Create,
    List,
}

/// What an answer means once classified.
enum Classified {
    /// A 2xx whose body should be the expected JSON.
    Body(HttpAnswer),
    /// Create answered 409: a refund with this `external_identifier` already exists.
    AlreadyExists,
    /// List answered 404: eFundPay knows no such transaction, hence no such refund.
    NoSuchTransaction,
}

impl EfundpayProvider {
    /// An adapter talking to `base_url` (without `/v4`; a trailing `/` is ignored), giving
    /// eFundPay `webhooks_url` for status notifications, with a whole-request `timeout`.
    pub fn new(
        base_url: &str,
        token: SecretString,
        merchant_account_id: &str,
        webhook_secret: SecretString,
        webhooks_url: &str,
        timeout: Duration,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            client: client(timeout)?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            merchant_account_id: merchant_account_id.to_owned(),
            webhook_secrets: vec![webhook_secret],
            webhooks_url: webhooks_url.to_owned(),
        })
    }

    /// Also accepts webhooks signed with any of `secrets` (secret rotation: config
    /// `webhook_secrets` / `webhook_secrets_env`).
    pub fn with_more_webhook_secrets(
        mut self,
        secrets: impl IntoIterator<Item = SecretString>,
    ) -> Self {
        self.webhook_secrets.extend(secrets);
        self
    }

    /// How many webhook secrets a webhook is verified against.
    pub fn webhook_secret_count(&self) -> usize {
        self.webhook_secrets.len()
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The `webhooks_url` sent with every refund.
    pub fn webhooks_url(&self) -> &str {
        &self.webhooks_url
    }

    /// `{base_url}/v4/transactions/{payment_id}/refunds`, the payment id percent-encoded.
    fn refunds_url(&self, payment_id: &str) -> String {
        format!(
            "{}/v4/transactions/{}/refunds",
            self.base_url,
            encode_path_segment(payment_id)
        )
    }

    fn authorized(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        builder
            .bearer_auth(self.token.expose_secret())
            .header(MERCHANT_ACCOUNT_HEADER, &self.merchant_account_id)
    }

    /// The one place a provider answer becomes a conclusion.
    fn classify(call: Call, answer: HttpAnswer) -> Result<Classified, ProviderError> {
        if let Some(common) = classify_common_status(&answer) {
            // 401/403: our token or merchant account is wrong; 5xx: outcome unknown.
            return Err(common);
        }
        let status = answer.status;
        if status.is_success() {
            return Ok(Classified::Body(answer));
        }
        match (call, status) {
            (Call::Create, StatusCode::CONFLICT) => Ok(Classified::AlreadyExists),
            (
                Call::Create,
                StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY,
            ) => Err(ProviderError::rejected(
                FailureCode::ProviderRejected,
                error_message(&answer),
            )),
            (Call::List, StatusCode::NOT_FOUND) => Ok(Classified::NoSuchTransaction),
            (_, StatusCode::TOO_MANY_REQUESTS) => Err(ProviderError::not_sent(format!(
                "eFundPay is rate limiting (HTTP 429), the request was not applied: {}",
                error_message(&answer)
            ))),
            // Anything else is not documented: the request may or may not have been applied.
            _ => Err(ProviderError::unknown(format!(
                "unexpected HTTP {} from eFundPay: {}",
                status.as_u16(),
                error_message(&answer)
            ))),
        }
    }

    /// Finds our refund (by `external_identifier`) in the transaction's refund list.
    async fn find(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        let builder = self.client.get(self.refunds_url(req.payment_id.as_str()));
        let answer = send(self.authorized(builder)).await?;
        let answer = match Self::classify(Call::List, answer)? {
            Classified::Body(answer) => answer,
            Classified::NoSuchTransaction | Classified::AlreadyExists => {
                return Ok(ProviderRefund::not_found())
            }
        };
        let list: RefundList = answer.json()?;
        let mut matches = list
            .items
            .iter()
            .filter(|item| item.external_identifier == req.provider_reference);
        let Some(found) = matches.next() else {
            return Ok(ProviderRefund::not_found());
        };
        if matches.next().is_some() {
            return Err(ProviderError::unknown(
                "eFundPay lists several refunds with our external_identifier",
            ));
        }
        checked(found, req)
    }
}

/// Maps a refund object that should be ours, refusing one for another refund or payment.
fn checked(refund: &Refund, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
    if refund.external_identifier != req.provider_reference {
        return Err(ProviderError::unknown(
            "eFundPay answered with a refund for another external_identifier",
        ));
    }
    if refund.transaction_id != req.payment_id.as_str() {
        return Err(ProviderError::unknown(
            "eFundPay answered with a refund of another transaction",
        ));
    }
    to_provider_refund(refund)
        .map_err(|why| ProviderError::unknown(format!("unusable eFundPay refund: {why}")))
}

/// The message of an error answer: `code: message` from the JSON error body when there is
/// one, otherwise the start of the body.
fn error_message(answer: &HttpAnswer) -> String {
    let described = format!("HTTP {}", answer.status.as_u16());
    match serde_json::from_slice::<ErrorBody>(&answer.body) {
        Ok(ErrorBody {
            code: Some(code),
            message: Some(message),
            ..
        }) => format!("{code}: {message}"),
        Ok(ErrorBody {
            message: Some(message),
            ..
        }) => message,
        Ok(ErrorBody {
            code: Some(code), ..
        }) => code,
        _ if answer.body.is_empty() => described,
        _ => format!("{described}: {}", answer.body_excerpt()),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a payment id is always
/// exactly one path segment (`/`, `?`, `#`, `%` and spaces cannot escape it).
pub fn encode_path_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[async_trait]
impl RefundProvider for EfundpayProvider {
    fn id(&self) -> ProviderId {
        ProviderId::from_static(PROVIDER_ID)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            currencies: None,
            partial: true,
            full_without_amount: false,
            status_query: true,
            webhooks: true,
        }
    }

    fn proofs(&self) -> Proofs {
        crate::proofs::PROOFS
    }

    /// `external_identifier` is the gateway refund id itself (35 characters, within 50).
    fn provider_reference(&self, refund_id: &RefundId) -> String {
        refund_id.to_string()
    }

    fn validate(&self, req: &ProviderRefundRequest) -> Result<(), RequestInvalid> {
        refund_provider::validate_against_capabilities(&self.capabilities(), req)?;
        request::build(req, &self.webhooks_url).map(|_| ())
    }

    async fn refund(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        let body = request::build(req, &self.webhooks_url)?;
        let builder = self
            .client
            .post(self.refunds_url(req.payment_id.as_str()))
            .json(&body);
        let answer = send(self.authorized(builder)).await?;
        match Self::classify(Call::Create, answer)? {
            Classified::Body(answer) => checked(&answer.json::<Refund>()?, req),
            Classified::AlreadyExists | Classified::NoSuchTransaction => {
                match self.find(req).await? {
                    found if found.status == refund_provider::ProviderRefundStatus::NotFound => {
                        Err(ProviderError::unknown(
                            "eFundPay says the refund exists (409) but does not list it",
                        ))
                    }
                    found => Ok(found),
                }
            }
        }
    }

    async fn refund_status(
        &self,
        req: &ProviderRefundRequest,
    ) -> Result<ProviderRefund, ProviderError> {
        self.find(req).await
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<ProviderWebhook, ProviderError> {
        let secrets: Vec<&[u8]> = self
            .webhook_secrets
            .iter()
            .map(|secret| secret.expose_secret().as_bytes())
            .collect();
        webhook::verify(headers, body, now, &secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids_stay_one_path_segment() {
        assert_eq!(
            encode_path_segment("7099948d-7286-47e4-aad8-b68f7eb44591"),
            "7099948d-7286-47e4-aad8-b68f7eb44591"
        );
        assert_eq!(encode_path_segment("a/b?c#d e%f"), "a%2Fb%3Fc%23d%20e%25f");
        assert_eq!(encode_path_segment("x.y_z~"), "x.y_z~");
    }
}
