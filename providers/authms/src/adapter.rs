//! `AuthMsProvider`: the `RefundProvider` for the AuthMS internal wallet — wallet refunds
//! against the original transaction, merchant-funded transfers, the status query, and the
//! one function that classifies every failure AuthMS can answer with.
//!
//! Units (DESIGN §16 "Currencies as each provider counts them"): the wallet refund document
//! types `amount` as a string with the example `50.00` ("amount string No 50.00 金额", and
//! `TransactionResponse.amount` "100.00"), and the transfer document likewise: a decimal
//! string in major units. So amounts go out with exactly the currency's ISO 4217 exponent of
//! decimals (`Money::to_major_string`: "50.00" CNY, "500" JPY, "1.500" KWD), never rounded,
//! and answers are read back with the same exponent.

use std::time::Duration;

use refund_provider::http::{classify_common_status, client, send, HttpAnswer};
use refund_provider::{
    async_trait, validate_against_capabilities, Capabilities, Currency, ExposeSecret, FailureCode,
    InvalidCode, Money, Proofs, ProviderError, ProviderId, ProviderRefund, ProviderRefundRequest,
    ProviderWebhook, RefundProvider, RequestInvalid,
};
use reqwest::{StatusCode, Url};
use secrecy::SecretString;
use time::OffsetDateTime;

use crate::endpoint::endpoint;
use crate::map::refund_from_transaction;
use crate::options::{AuthMsOptions, Method};
use crate::status_query;
use crate::transfer::{queried_direction_problem, refund_from_transfer, Direction};
use crate::wire::{
    RefundDetailResponse, RefundRequest, SimpleResponse, TransactionListResponse,
    TransferDetailResponse, TransferRequest,
};

pub use crate::identity::PROVIDER_ID;

/// The AuthMS wallet adapter. Build it from [`crate::AuthMsSettings`] or with
/// [`AuthMsProvider::new`].
#[derive(Debug, Clone)]
pub struct AuthMsProvider {
    base_url: Url,
    token: SecretString,
    client: reqwest::Client,
    currencies: Vec<Currency>,
    transfer_source_user_id: Option<String>,
}

/// What one validated request will do at AuthMS.
#[derive(Debug, Clone, PartialEq)]
enum Plan<'a> {
    WalletRefund {
        user_id: &'a str,
    },
    Transfer {
        from_user_id: &'a str,
        to_user_id: &'a str,
        amount: Money,
    },
}

impl Plan<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::WalletRefund { .. } => "refund",
            Self::Transfer { .. } => "transfer",
        }
    }
}

/// Which call an answer belongs to, where the classification differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Refund,
    Transfer,
    StatusQuery,
}

/// A non-failure answer, as far as the status code and `code` tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified {
    /// 2xx: read the body.
    Answer,
    /// The status query's 404 with an AuthMS body: the wallet does not exist, so neither
    /// does the refund.
    NoSuchWallet,
}

impl AuthMsProvider {
    /// An adapter for `base_url` (http or https) with the bearer `token` and a whole-request
    /// `timeout`; wallets in CNY and no transfer source until configured otherwise.
    pub fn new(
        base_url: &str,
        token: SecretString,
        timeout: Duration,
    ) -> Result<Self, ProviderError> {
        let base_url = Url::parse(base_url.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or_else(|| {
                ProviderError::misconfigured(format!("`{base_url}` is not an http(s) base URL"))
            })?;
        let cny =
            Currency::parse("CNY").map_err(|e| ProviderError::misconfigured(e.to_string()))?;
        Ok(Self {
            base_url,
            token,
            client: client(timeout)?,
            currencies: vec![cny],
            transfer_source_user_id: None,
        })
    }

    /// The wallets' currencies (config `currencies`).
    pub fn with_currencies(mut self, currencies: Vec<Currency>) -> Self {
        self.currencies = currencies;
        self
    }

    /// The wallet user that funds `transfer` refunds (config `transfer_source_user_id`).
    pub fn with_transfer_source_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.transfer_source_user_id = Some(user_id.into());
        self
    }

    pub fn transfer_source_user_id(&self) -> Option<&str> {
        self.transfer_source_user_id.as_deref()
    }

    /// Everything that can be known before sending, as one plan.
    fn plan<'a>(&'a self, req: &'a ProviderRefundRequest) -> Result<Plan<'a>, RequestInvalid> {
        let options = AuthMsOptions::parse(&req.options)?;
        let customer = customer_id(req)?;
        if let Some(amount) = &req.amount {
            if amount.currency() != req.currency {
                return Err(RequestInvalid::new(
                    InvalidCode::AmountInvalid,
                    "amount",
                    "the amount is not in the request's currency",
                ));
            }
        }
        match options.method {
            Method::WalletRefund => Ok(Plan::WalletRefund { user_id: customer }),
            Method::Transfer => {
                let from = self.transfer_source_user_id.as_deref().ok_or_else(|| {
                    RequestInvalid::invalid(
                        "provider_options.authms.method",
                        "`transfer` is not configured for AuthMS \
                         (providers.authms.transfer_source_user_id is not set)",
                    )
                })?;
                let amount = req.amount.ok_or_else(|| {
                    RequestInvalid::new(
                        InvalidCode::ParameterMissing,
                        "amount",
                        "an AuthMS transfer refund requires an amount",
                    )
                })?;
                if customer == from {
                    return Err(RequestInvalid::invalid(
                        "customer_id",
                        "the customer is the transfer source itself",
                    ));
                }
                Ok(Plan::Transfer {
                    from_user_id: from,
                    to_user_id: customer,
                    amount,
                })
            }
        }
    }

    async fn wallet_refund(
        &self,
        req: &ProviderRefundRequest,
        user_id: &str,
    ) -> Result<ProviderRefund, ProviderError> {
        let url = endpoint(&self.base_url, &["wallets", user_id, "refund"]);
        let body = RefundRequest::build(req);
        let answer = send(self.authorized(self.client.post(url)).json(&body)).await?;
        classify(Call::Refund, &answer)?;
        let envelope: RefundDetailResponse = answer.json()?;
        let tx = envelope
            .data
            .and_then(|d| d.transaction)
            .ok_or_else(|| ProviderError::unknown("AuthMS answer has no data.transaction"))?;
        if let Some(kind) = tx.kind.as_deref().filter(|k| *k != "refund") {
            return Err(ProviderError::unknown(format!(
                "AuthMS answered with a `{kind}` transaction, not a refund"
            )));
        }
        if let Some(reference) = tx
            .reference_id
            .as_deref()
            .filter(|r| !r.is_empty() && *r != req.provider_reference)
        {
            return Err(ProviderError::unknown(format!(
                "AuthMS answered for reference `{reference}`, not `{}`",
                req.provider_reference
            )));
        }
        refund_from_transaction(&tx, req.currency, envelope.message.as_deref())
    }

    async fn transfer(
        &self,
        req: &ProviderRefundRequest,
        from_user_id: &str,
        to_user_id: &str,
        amount: &Money,
    ) -> Result<ProviderRefund, ProviderError> {
        let url = endpoint(&self.base_url, &["wallets", "transfer"]);
        let body = TransferRequest::build(req, from_user_id, to_user_id, amount);
        let answer = send(self.authorized(self.client.post(url)).json(&body)).await?;
        classify(Call::Transfer, &answer)?;
        let envelope: TransferDetailResponse = answer.json()?;
        let result = envelope
            .data
            .ok_or_else(|| ProviderError::unknown("AuthMS transfer answer has no data"))?;
        refund_from_transfer(
            &result,
            amount,
            Direction {
                from_user_id,
                to_user_id,
            },
            &req.provider_reference,
            envelope.message.as_deref(),
        )
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.token.expose_secret())
    }
}

#[async_trait]
impl RefundProvider for AuthMsProvider {
    fn id(&self) -> ProviderId {
        ProviderId::from_static(PROVIDER_ID)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            currencies: Some(self.currencies.clone()),
            partial: true,
            full_without_amount: true,
            status_query: true,
            webhooks: false,
        }
    }

    fn proofs(&self) -> Proofs {
        crate::proofs::PROOFS
    }

    fn validate(&self, req: &ProviderRefundRequest) -> Result<(), RequestInvalid> {
        validate_against_capabilities(&self.capabilities(), req)?;
        self.plan(req).map(|_| ())
    }

    async fn refund(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        // `validate` refuses these first; one met here was never sent and never can be.
        let plan = self.plan(req)?;
        tracing::info!(
            provider = PROVIDER_ID,
            refund_id = %req.refund_id,
            method = plan.name(),
            "sending AuthMS refund"
        );
        match plan {
            Plan::WalletRefund { user_id } => self.wallet_refund(req, user_id).await,
            Plan::Transfer {
                from_user_id,
                to_user_id,
                amount,
            } => self.transfer(req, from_user_id, to_user_id, &amount).await,
        }
    }

    async fn refund_status(
        &self,
        req: &ProviderRefundRequest,
    ) -> Result<ProviderRefund, ProviderError> {
        let cannot = |invalid: RequestInvalid| {
            ProviderError::unknown(format!("cannot query this refund at AuthMS: {invalid}"))
        };
        let method = AuthMsOptions::parse(&req.options).map_err(cannot)?.method;
        let user_id = customer_id(req).map_err(cannot)?;
        let url = status_query::url(&self.base_url, user_id, &req.provider_reference);
        let answer = send(self.authorized(self.client.get(url))).await?;
        if classify(Call::StatusQuery, &answer)? == Classified::NoSuchWallet {
            return Ok(ProviderRefund::not_found());
        }
        let envelope: TransactionListResponse = answer.json()?;
        let list = envelope
            .data
            .ok_or_else(|| ProviderError::unknown("AuthMS transactions answer has no data"))?;
        let Some(tx) = status_query::select(method, list, &req.provider_reference)? else {
            return Ok(ProviderRefund::not_found());
        };
        let mut refund = refund_from_transaction(&tx, req.currency, None)?;
        if method == Method::Transfer {
            refund.contradiction = match self.transfer_source_user_id.as_deref() {
                Some(source) => queried_direction_problem(&tx, source),
                None => Some(
                    "transfers are no longer configured (no transfer_source_user_id): the \
                     transfer's direction cannot be checked"
                        .to_owned(),
                ),
            };
        }
        if refund.provider_reference.is_none() {
            refund.provider_reference = Some(req.provider_reference.clone());
        }
        Ok(refund)
    }

    fn parse_webhook(
        &self,
        _headers: &http::HeaderMap,
        _body: &[u8],
        _now: OffsetDateTime,
    ) -> Result<ProviderWebhook, ProviderError> {
        Err(ProviderError::invalid_webhook("AuthMS sends no webhooks"))
    }
}

impl RefundRequest {
    /// The wallet refund body: the original transaction, the amount with exactly the
    /// currency's exponent of decimals (absent for a full refund), the reason, and the
    /// gateway refund's reference.
    pub fn build(req: &ProviderRefundRequest) -> Self {
        Self {
            transaction_id: req.payment_id.as_str().to_owned(),
            amount: req.amount.as_ref().map(Money::to_major_string),
            reason: req.reason.clone().filter(|r| !r.is_empty()),
            reference_id: Some(req.provider_reference.clone()),
        }
    }
}

/// `customer_id`, the wallet user: required by every AuthMS method.
/// It is a path segment of every AuthMS URL (`wallets/{user_id}/…`), percent-encoded as one
/// whole segment by [`endpoint`]; `.` and `..` would still name another path (URL parsers
/// read them, encoded or not, as directory steps), so they are refused before sending.
fn customer_id(req: &ProviderRefundRequest) -> Result<&str, RequestInvalid> {
    match req.customer_id.as_deref() {
        Some(id) if refund_provider::is_dot_segment(id) => Err(RequestInvalid::invalid(
            "customer_id",
            "`customer_id` cannot be `.` or `..`: AuthMS's URL path carries it",
        )),
        Some(id) if !id.trim().is_empty() => Ok(id),
        _ => Err(RequestInvalid::missing("customer_id")),
    }
}

/// Every AuthMS answer, classified in this one place. HTTP status first, and on a 2xx the
/// envelope's `code` when it names an error (AuthMS repeats the HTTP status in `code`; a 2xx
/// whose `code` is 4xx/5xx is read as that status). The provider's `message` is kept.
///
/// | status | outcome |
/// |---|---|
/// | 2xx | read the body |
/// | 400 | `Rejected provider_rejected` |
/// | 401, 403 | `Misconfigured` |
/// | 404 | `Rejected provider_rejected` (unknown wallet or transaction); for the status query: no such refund only with AuthMS's own envelope ([`is_authms_not_found`]), else `Unknown` |
/// | 409 | `Rejected insufficient_balance` |
/// | 422 | `Rejected amount_invalid` |
/// | 5xx, anything else | `Unknown` |
pub fn classify(call: Call, answer: &HttpAnswer) -> Result<Classified, ProviderError> {
    let simple: Option<SimpleResponse> = serde_json::from_slice(&answer.body).ok();
    let status = if answer.status.is_success() {
        let code = simple
            .as_ref()
            .and_then(|s| s.code)
            .and_then(|c| u16::try_from(c).ok())
            .and_then(|c| StatusCode::from_u16(c).ok());
        match code {
            Some(code) if code.is_client_error() || code.is_server_error() => code,
            _ => return Ok(Classified::Answer),
        }
    } else {
        answer.status
    };
    let message = simple
        .as_ref()
        .and_then(|s| s.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| answer.body_excerpt());
    let effective = HttpAnswer {
        status,
        body: answer.body.clone(),
    };
    if let Some(common) = classify_common_status(&effective) {
        return Err(match common {
            ProviderError::Misconfigured { message: ours } => {
                ProviderError::misconfigured(format!("{ours} (AuthMS: {message})"))
            }
            other => other,
        });
    }
    let rejected = |code: FailureCode| Err(ProviderError::rejected(code, message.clone()));
    match status.as_u16() {
        404 if call == Call::StatusQuery => {
            if is_authms_not_found(&answer.body) {
                Ok(Classified::NoSuchWallet)
            } else {
                // Not AuthMS speaking (a proxy's page, an empty body, another service's
                // JSON): the assumed endpoint may not exist. Conclude nothing.
                Err(ProviderError::unknown(format!(
                    "AuthMS status query answered 404 without an AuthMS body: {message}"
                )))
            }
        }
        400 | 404 => rejected(FailureCode::ProviderRejected),
        409 => rejected(FailureCode::InsufficientBalance),
        422 => rejected(FailureCode::AmountInvalid),
        other => Err(ProviderError::unknown(format!(
            "AuthMS answered HTTP {other}, which it does not document: {message}"
        ))),
    }
}

/// True when a 404 body is AuthMS's own envelope saying "not found": a JSON object with
/// only the envelope's keys (`code`, `data`, `message`, `timestamp`), an integer `code` of
/// 404 (AuthMS repeats the HTTP status in `code`) and a string `message`. Anything else (a
/// proxy's HTML, an empty body, a framework's `{"error": …}`) was not said by AuthMS.
pub fn is_authms_not_found(body: &[u8]) -> bool {
    const ENVELOPE_KEYS: [&str; 4] = ["code", "data", "message", "timestamp"];
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) else {
        return false;
    };
    fields.keys().all(|k| ENVELOPE_KEYS.contains(&k.as_str()))
        && fields.get("code").and_then(serde_json::Value::as_i64) == Some(404)
        && fields
            .get("message")
            .is_some_and(serde_json::Value::is_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> HttpAnswer {
        HttpAnswer {
            status: StatusCode::from_u16(status).expect("status"),
            body: body.as_bytes().to_vec(),
        }
    }

    fn code_of(result: Result<Classified, ProviderError>) -> String {
        match result {
            Err(ProviderError::Rejected { code, .. }) => code.as_str().to_owned(),
            Err(other) => other.kind().to_owned(),
            Ok(c) => format!("{c:?}"),
        }
    }

    #[test]
    fn every_documented_status_is_classified() {
        let body = r#"{"code":0,"message":"provider says no","timestamp":"t"}"#;
        let table = [
            (200, "Answer"),
            (400, "provider_rejected"),
            (401, "misconfigured"),
            (403, "misconfigured"),
            (404, "provider_rejected"),
            (409, "insufficient_balance"),
            (422, "amount_invalid"),
            (500, "unknown"),
            (502, "unknown"),
            (429, "unknown"),
            (302, "unknown"),
        ];
        for (status, expected) in table {
            assert_eq!(
                code_of(classify(Call::Refund, &answer(status, body))),
                expected,
                "{status}"
            );
        }
    }

    #[test]
    fn the_providers_message_is_kept() {
        let err = classify(
            Call::Refund,
            &answer(409, r#"{"code":409,"message":"余额不足","timestamp":"t"}"#),
        )
        .expect_err("409");
        assert_eq!(
            err,
            ProviderError::rejected(FailureCode::InsufficientBalance, "余额不足")
        );
    }

    #[test]
    fn an_error_code_inside_a_200_is_read_as_that_status() {
        let result = classify(
            Call::Refund,
            &answer(200, r#"{"code":422,"message":"金额无效"}"#),
        );
        assert_eq!(
            result,
            Err(ProviderError::rejected(
                FailureCode::AmountInvalid,
                "金额无效"
            ))
        );
        assert_eq!(
            classify(Call::Refund, &answer(200, r#"{"code":200,"data":{}}"#)),
            Ok(Classified::Answer)
        );
    }

    #[test]
    fn a_status_query_404_means_no_refund_only_with_an_authms_body() {
        let authms = answer(404, r#"{"code":404,"message":"wallet not found"}"#);
        assert_eq!(
            classify(Call::StatusQuery, &authms),
            Ok(Classified::NoSuchWallet)
        );
        let html = answer(404, "<html>no route</html>");
        assert_eq!(code_of(classify(Call::StatusQuery, &html)), "unknown");
        let full = answer(
            404,
            r#"{"code":404,"data":null,"message":"wallet not found","timestamp":"2026-04-15T10:30:00Z"}"#,
        );
        assert_eq!(
            classify(Call::StatusQuery, &full),
            Ok(Classified::NoSuchWallet)
        );
        for not_authms in [
            "",
            "{}",
            "null",
            "[]",
            r#"{"message":"Not Found"}"#,
            r#"{"error":"not found"}"#,
            r#"{"code":404}"#,
            r#"{"code":"404","message":"wallet not found"}"#,
            r#"{"code":200,"message":"ok"}"#,
            r#"{"timestamp":"t","status":404,"error":"Not Found","path":"/wallets/u/transactions"}"#,
            r#"{"code":404,"message":"not found","path":"/x"}"#,
        ] {
            assert_eq!(
                code_of(classify(Call::StatusQuery, &answer(404, not_authms))),
                "unknown",
                "{not_authms}"
            );
        }
    }
}
