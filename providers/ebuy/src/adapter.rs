//! The e-Buy [`RefundProvider`]: a signed JSON envelope `POST {base_url}/api/refund`
//! (`action: "refund"`) and the assumed status query `POST {base_url}/api/refund/query`
//! (`action: "refundQuery"`), both answered with the same envelope and `content`.
//!
//! Every answer is classified in [`EbuyProvider::classify`]: HTTP status, body, signature,
//! `success`/`errorCode`, then the per-asset breakdown (see [`crate::map`]).
//!
//! HTTP statuses (the document lists none; DESIGN §4 decides): 401/403 `Misconfigured`,
//! 429 `NotSent` (rate limited: nothing was processed, the engine may send it again), 408
//! `Unknown` (a timeout somewhere after our request left: it may have been applied), other
//! 4xx `Rejected provider_rejected`, 5xx and anything else `Unknown`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, StatusCode};
use refund_provider::http::{classify_common_status, client, send, HttpAnswer};
use refund_provider::{
    Capabilities, ExposeSecret, FailureCode, InvalidCode, Proofs, ProviderError, ProviderId,
    ProviderRefund, ProviderRefundRequest, ProviderWebhook, RefundId, RefundProvider,
    RequestInvalid, RestRefund, SecretString, SharedClock,
};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::identity::PROVIDER_ID;
use crate::map::{cny, to_provider_refund};
use crate::options::{AssetType, EbuyOptions};
use crate::reference::{refund_trade_no, request_uuid};
use crate::sign::{self, SIGN_TYPE};
use crate::wire::{
    Answer, AnswerContent, GoodsDetail, QueryContent, RefundContent, RefundMethod, RequestEnvelope,
    ACTION_REFUND, ACTION_REFUND_QUERY, REFUND_PATH, REFUND_QUERY_PATH,
};

/// Longest `outTradeNo` (the merchant API's `payment_id`) e-Buy takes.
pub const MAX_OUT_TRADE_NO: usize = 32;
/// Longest `refundTradeNo` e-Buy takes.
pub const MAX_REFUND_TRADE_NO: usize = 32;

/// `errorCode` of a status query for a refund e-Buy does not know (our assumption: the
/// document does not describe the query). Mapped to [`ProviderRefund::not_found`].
pub const ERROR_REFUND_NOT_FOUND: &str = "REFUND_NOT_FOUND";
/// `errorCode` when e-Buy could not verify our signature: our secret is wrong.
pub const ERROR_SIGN: &str = "SIGN_ERROR";
/// `errorCode` when e-Buy does not know our `appId`.
pub const ERROR_APP_NOT_FOUND: &str = "APP_NOT_FOUND";

/// The e-Buy adapter. Build it from [`crate::EbuySettings`] or, in tests, with
/// [`EbuyProvider::new`].
pub struct EbuyProvider {
    client: reqwest::Client,
    base_url: String,
    app_id: String,
    app_secret: SecretString,
    lang: String,
    /// Today's date in China for the envelope's `uuid` comes from it (tests set it).
    clock: SharedClock,
}

impl fmt::Debug for EbuyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EbuyProvider")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

/// Which call an answer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Refund,
    Query,
}

impl EbuyProvider {
    /// An adapter talking to `base_url` (a trailing `/` is ignored) as `app_id`, signing
    /// with `app_secret`, sending `lang`, with a whole-request `timeout`.
    pub fn new(
        base_url: &str,
        app_id: &str,
        app_secret: SecretString,
        lang: &str,
        timeout: Duration,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            client: client(timeout)?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            app_id: app_id.to_owned(),
            app_secret,
            lang: lang.to_owned(),
            clock: refund_provider::clock::system(),
        })
    }

    /// The same adapter reading the time from `clock` (tests run it at any hour).
    #[must_use]
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The `content` of the refund request, or why it cannot be sent. `validate` and
    /// `refund` both use it, so what passes validation is exactly what is sent.
    pub fn refund_content(req: &ProviderRefundRequest) -> Result<RefundContent, RequestInvalid> {
        refund_provider::validate_against_capabilities(&capabilities(), req)?;
        let payment_id = req.payment_id.as_str();
        if payment_id.len() > MAX_OUT_TRADE_NO {
            return Err(RequestInvalid::invalid(
                "payment_id",
                format!(
                    "e-Buy order numbers (outTradeNo) have at most {MAX_OUT_TRADE_NO} characters"
                ),
            ));
        }
        let reference = req.provider_reference.as_str();
        if reference.is_empty() || reference.len() > MAX_REFUND_TRADE_NO {
            return Err(RequestInvalid::invalid(
                "provider_reference",
                format!("refundTradeNo must have 1 to {MAX_REFUND_TRADE_NO} characters"),
            ));
        }
        let options = EbuyOptions::parse(&req.options)?;
        let refund_method = match req.amount {
            // A whole-order refund: e-Buy refunds every asset of the order.
            None if options.asset_type.is_none() => None,
            // A single-asset refund of all that asset: `refundMethod` without `refundAmount`
            // (the document needs `refundAmount` only for a partial non-coupon refund).
            None => Some(vec![RefundMethod {
                asset_type: options.asset_or_default().as_str().to_owned(),
                refund_amount: None,
            }]),
            Some(amount) => {
                if amount.currency() != cny() {
                    return Err(RequestInvalid::new(
                        InvalidCode::CurrencyUnsupported,
                        "currency",
                        "e-Buy refunds in CNY only",
                    ));
                }
                let asset = options.asset_or_default();
                if asset == AssetType::Coupon {
                    return Err(RequestInvalid::new(
                        InvalidCode::CouponPartialRefund,
                        "amount",
                        "e-Buy refunds coupons only whole: omit the amount to refund the whole order",
                    ));
                }
                Some(vec![RefundMethod {
                    asset_type: asset.as_str().to_owned(),
                    refund_amount: Some(amount.minor_units().get()),
                }])
            }
        };
        Ok(RefundContent {
            out_trade_no: payment_id.to_owned(),
            refund_trade_no: reference.to_owned(),
            trade_time: options.trade_date,
            goods_detail: options.goods.map(|g| GoodsDetail {
                goods_id: g.goods_id,
                goods_name: g.goods_name,
                goods_code: g.goods_code,
                goods_num: g.quantity,
            }),
            refund_method,
        })
    }

    /// The signed envelope for `action` with `content`, as sent at `now`.
    pub fn envelope(
        &self,
        action: &str,
        content: Value,
        now: OffsetDateTime,
    ) -> Result<Map<String, Value>, ProviderError> {
        let envelope = RequestEnvelope {
            uuid: request_uuid(now),
            app_id: self.app_id.clone(),
            action: action.to_owned(),
            timestamp: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
            sign_type: SIGN_TYPE.to_owned(),
            sign: String::new(),
            lang: self.lang.clone(),
            content,
        };
        let mut map = match serde_json::to_value(envelope) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(ProviderError::misconfigured(
                    "cannot build the e-Buy envelope",
                ))
            }
        };
        sign::sign_in_place(&mut map, self.app_secret.expose_secret());
        Ok(map)
    }

    /// Signs and posts one envelope; the bytes sent are exactly the JSON that was signed.
    async fn post(
        &self,
        path: &str,
        action: &str,
        content: Value,
    ) -> Result<HttpAnswer, ProviderError> {
        let envelope = self.envelope(action, content, self.clock.now())?;
        let body = serde_json::to_vec(&Value::Object(envelope)).map_err(|e| {
            ProviderError::misconfigured(format!("cannot encode the envelope: {e}"))
        })?;
        let request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        send(request).await
    }

    /// The one place an e-Buy answer (or the failure to get one) becomes a conclusion.
    /// Public so that the fuzz target can feed it any body.
    pub fn classify(
        &self,
        call: Call,
        sent_reference: &str,
        result: Result<HttpAnswer, ProviderError>,
    ) -> Result<ProviderRefund, ProviderError> {
        // Transport failures are already classified by the core (NotSent only before sending).
        let answer = result?;
        if let Some(common) = classify_common_status(&answer) {
            // 401/403: our app credentials are wrong; 5xx: the outcome is unknown.
            return Err(common);
        }
        let status = answer.status;
        match status {
            // Rate limited before anything was processed: safe to send again later.
            StatusCode::TOO_MANY_REQUESTS => {
                return Err(ProviderError::not_sent(format!(
                    "e-Buy is rate limiting (HTTP 429), nothing was processed: {}",
                    answer.body_excerpt()
                )))
            }
            // A request timeout may come from any hop after ours; nothing proves the refund
            // was not applied, so only a status query can tell.
            StatusCode::REQUEST_TIMEOUT => {
                return Err(ProviderError::unknown(format!(
                    "e-Buy answered HTTP 408 (request timeout): {}",
                    answer.body_excerpt()
                )))
            }
            _ => {}
        }
        if status.is_client_error() {
            return Err(ProviderError::rejected(
                FailureCode::ProviderRejected,
                format!(
                    "e-Buy answered HTTP {}: {}",
                    status.as_u16(),
                    answer.body_excerpt()
                ),
            ));
        }
        if !status.is_success() {
            return Err(ProviderError::unknown(format!(
                "unexpected HTTP {} from e-Buy",
                status.as_u16()
            )));
        }
        let raw: Value = answer.json()?;
        let Some(map) = raw.as_object() else {
            return Err(ProviderError::unknown("e-Buy answer is not a JSON object"));
        };
        if sign::is_signed(map) {
            if let Err(e) = sign::verify(&raw, self.app_secret.expose_secret()) {
                return Err(ProviderError::unknown(format!(
                    "e-Buy answer signature rejected ({e}): it may be forged, the outcome is unknown"
                )));
            }
        }
        let parsed: Answer = serde_json::from_value(raw.clone())
            .map_err(|e| ProviderError::unknown(format!("unreadable e-Buy answer: {e}")))?;
        if !parsed.success {
            let code = parsed.error_code.unwrap_or_default();
            let message = parsed.error_message.unwrap_or_default();
            return match code.as_str() {
                "" => Err(ProviderError::unknown(format!(
                    "e-Buy answered success=false without an errorCode: {message}"
                ))),
                ERROR_REFUND_NOT_FOUND if call == Call::Query => Ok(ProviderRefund::not_found()),
                ERROR_SIGN | ERROR_APP_NOT_FOUND => Err(ProviderError::misconfigured(format!(
                    "e-Buy refused our app credentials: {code}: {message}"
                ))),
                _ => Err(ProviderError::rejected(
                    FailureCode::ProviderRejected,
                    format!("{code}: {message}"),
                )),
            };
        }
        let content = match parsed.content {
            None | Some(Value::Null) => {
                return Err(ProviderError::unknown(
                    "e-Buy answered success=true without content",
                ))
            }
            Some(content) => content,
        };
        let content: AnswerContent = serde_json::from_value(content)
            .map_err(|e| ProviderError::unknown(format!("unreadable e-Buy content: {e}")))?;
        to_provider_refund(&content, sent_reference).map_err(ProviderError::unknown)
    }
}

/// What e-Buy supports (DESIGN §7).
fn capabilities() -> Capabilities {
    Capabilities {
        currencies: Some(vec![cny()]),
        partial: true,
        full_without_amount: true,
        status_query: true,
        webhooks: false,
    }
}

fn content_value<T: serde::Serialize>(content: &T) -> Result<Value, ProviderError> {
    serde_json::to_value(content)
        .map_err(|e| ProviderError::misconfigured(format!("cannot encode content: {e}")))
}

#[async_trait]
impl RefundProvider for EbuyProvider {
    fn id(&self) -> ProviderId {
        ProviderId::from_static(PROVIDER_ID)
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn proofs(&self) -> Proofs {
        crate::proofs::PROOFS
    }

    /// `YYYYMMDD` + 24 digits derived from the refund id (see [`refund_trade_no`]).
    fn provider_reference(&self, refund_id: &RefundId) -> String {
        refund_trade_no(refund_id)
    }

    fn validate(&self, req: &ProviderRefundRequest) -> Result<(), RequestInvalid> {
        Self::refund_content(req).map(|_| ())
    }

    /// A refund without an amount keeps e-Buy's own form: a whole-order refund (exactly what
    /// is left) or, with `asset_type`, a refund of that whole asset (sized by e-Buy).
    fn rest_refund(&self, req: &ProviderRefundRequest) -> RestRefund {
        match EbuyOptions::parse(&req.options) {
            Ok(options) if options.asset_type.is_some() => RestRefund::ProviderSized,
            _ => RestRefund::WholeForm,
        }
    }

    async fn refund(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        // Validation failures here mean nothing was sent and nothing ever can be.
        let content = Self::refund_content(req)?;
        tracing::info!(
            provider = PROVIDER_ID,
            refund_id = %req.refund_id,
            refund_trade_no = %content.refund_trade_no,
            whole_order = content.refund_method.is_none(),
            "sending e-Buy refund"
        );
        let result = self
            .post(REFUND_PATH, ACTION_REFUND, content_value(&content)?)
            .await;
        self.classify(Call::Refund, &req.provider_reference, result)
    }

    async fn refund_status(
        &self,
        req: &ProviderRefundRequest,
    ) -> Result<ProviderRefund, ProviderError> {
        let content = QueryContent {
            out_trade_no: req.payment_id.as_str().to_owned(),
            refund_trade_no: req.provider_reference.clone(),
        };
        let result = self
            .post(
                REFUND_QUERY_PATH,
                ACTION_REFUND_QUERY,
                content_value(&content)?,
            )
            .await;
        self.classify(Call::Query, &req.provider_reference, result)
    }

    fn parse_webhook(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
        _now: OffsetDateTime,
    ) -> Result<ProviderWebhook, ProviderError> {
        Err(ProviderError::invalid_webhook("e-Buy sends no webhooks"))
    }
}
