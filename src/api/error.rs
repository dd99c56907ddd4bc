//! `ApiError` and the one table from error code to HTTP status and type (DESIGN §5). Every
//! error response of the API, including axum's own rejections, is rendered here in the shape
//! `{"error": {"type", "code", "message", "param"?, "request_id"}}`.
//!
//! The errors of the layers below (`EngineError`, `StoreError`, `StatementError`, a provider's
//! `InvalidCode`) become API errors here and only here, each by an exhaustive `match`. An error
//! the client cannot act on (a 500, an unavailable store) carries its cause, which is logged
//! with its `source()` chain when the answer is made and never shown in the body.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use refund_provider::InvalidCode;

use crate::engine::EngineError;
use crate::reconcile::statement::StatementError;
use crate::store::StoreError;

/// The cause behind an answer, for the log only.
pub(crate) type Cause = Arc<dyn StdError + Send + Sync + 'static>;

/// Every error code the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    ParameterMissing,
    ParameterInvalid,
    AmountInvalid,
    CurrencyUnsupported,
    ProviderUnsupported,
    CouponPartialRefund,
    BodyInvalid,
    ApiKeyMissing,
    ApiKeyInvalid,
    ApiKeyExpired,
    RefundNotFound,
    RouteNotFound,
    MethodNotAllowed,
    IdempotencyInProgress,
    ReferenceInUse,
    RefundFinal,
    RefundSent,
    NotAwaitingApproval,
    BatchInvalid,
    OperatorOnly,
    MerchantOnly,
    PaymentNotFound,
    AmountExceedsRefundable,
    PaymentAmountMismatch,
    CurrencyMismatch,
    BodyTooLarge,
    IdempotencyKeyReused,
    NoRoute,
    WebhookInvalid,
    RequestTimeout,
    RateLimited,
    StoreUnavailable,
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the enum (for tables and tests that must cover all).
    pub const ALL: [ErrorCode; 33] = [
        Self::ParameterMissing,
        Self::ParameterInvalid,
        Self::AmountInvalid,
        Self::CurrencyUnsupported,
        Self::ProviderUnsupported,
        Self::CouponPartialRefund,
        Self::BodyInvalid,
        Self::ApiKeyMissing,
        Self::ApiKeyInvalid,
        Self::ApiKeyExpired,
        Self::RefundNotFound,
        Self::RouteNotFound,
        Self::MethodNotAllowed,
        Self::IdempotencyInProgress,
        Self::ReferenceInUse,
        Self::RefundFinal,
        Self::RefundSent,
        Self::NotAwaitingApproval,
        Self::BatchInvalid,
        Self::OperatorOnly,
        Self::MerchantOnly,
        Self::PaymentNotFound,
        Self::AmountExceedsRefundable,
        Self::PaymentAmountMismatch,
        Self::CurrencyMismatch,
        Self::BodyTooLarge,
        Self::IdempotencyKeyReused,
        Self::NoRoute,
        Self::WebhookInvalid,
        Self::RequestTimeout,
        Self::RateLimited,
        Self::StoreUnavailable,
        Self::Internal,
    ];
}

impl ErrorCode {
    /// The one table: code → (HTTP status, type, code text).
    pub fn describe(self) -> (StatusCode, &'static str, &'static str) {
        use ErrorCode::*;
        match self {
            ParameterMissing => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "parameter_missing",
            ),
            ParameterInvalid => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "parameter_invalid",
            ),
            AmountInvalid => (StatusCode::BAD_REQUEST, "invalid_request", "amount_invalid"),
            CurrencyUnsupported => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "currency_unsupported",
            ),
            ProviderUnsupported => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "provider_unsupported",
            ),
            CouponPartialRefund => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "coupon_partial_refund",
            ),
            BodyInvalid => (StatusCode::BAD_REQUEST, "invalid_request", "body_invalid"),
            WebhookInvalid => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "webhook_invalid",
            ),
            ApiKeyMissing => (
                StatusCode::UNAUTHORIZED,
                "authentication",
                "api_key_missing",
            ),
            ApiKeyInvalid => (
                StatusCode::UNAUTHORIZED,
                "authentication",
                "api_key_invalid",
            ),
            ApiKeyExpired => (
                StatusCode::UNAUTHORIZED,
                "authentication",
                "api_key_expired",
            ),
            RefundNotFound => (StatusCode::NOT_FOUND, "not_found", "refund_not_found"),
            RouteNotFound => (StatusCode::NOT_FOUND, "not_found", "route_not_found"),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "method_not_allowed",
            ),
            RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "unavailable",
                "request_timeout",
            ),
            IdempotencyInProgress => (StatusCode::CONFLICT, "conflict", "idempotency_in_progress"),
            ReferenceInUse => (StatusCode::CONFLICT, "conflict", "reference_in_use"),
            RefundFinal => (StatusCode::CONFLICT, "conflict", "refund_final"),
            RefundSent => (StatusCode::CONFLICT, "conflict", "refund_sent"),
            NotAwaitingApproval => (StatusCode::CONFLICT, "conflict", "not_awaiting_approval"),
            BatchInvalid => (StatusCode::BAD_REQUEST, "invalid_request", "batch_invalid"),
            OperatorOnly => (StatusCode::FORBIDDEN, "permission", "operator_only"),
            MerchantOnly => (StatusCode::FORBIDDEN, "permission", "merchant_only"),
            PaymentNotFound => (StatusCode::NOT_FOUND, "not_found", "payment_not_found"),
            AmountExceedsRefundable => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "amount_exceeds_refundable",
            ),
            PaymentAmountMismatch => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "payment_amount_mismatch",
            ),
            CurrencyMismatch => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "currency_mismatch",
            ),
            BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "body_too_large",
            ),
            IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "idempotency_key_reused",
            ),
            NoRoute => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "no_route",
            ),
            RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "rate_limited",
            ),
            StoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "store_unavailable",
            ),
            Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                "internal_error",
            ),
        }
    }
}

/// The request-level codes a provider's pre-flight checks raise, each to the API's own:
/// exhaustive, so a new `InvalidCode` does not compile until it is given its API code here.
impl From<InvalidCode> for ErrorCode {
    fn from(code: InvalidCode) -> Self {
        match code {
            InvalidCode::ParameterMissing => Self::ParameterMissing,
            InvalidCode::ParameterInvalid => Self::ParameterInvalid,
            InvalidCode::AmountInvalid => Self::AmountInvalid,
            InvalidCode::CurrencyUnsupported => Self::CurrencyUnsupported,
            InvalidCode::CouponPartialRefund => Self::CouponPartialRefund,
        }
    }
}

/// An error answer. Rendered (with the request id) by `render_errors` middleware.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub(crate) message: String,
    pub(crate) param: Option<String>,
    /// What went wrong underneath, logged when the answer is made; never in the body.
    pub(crate) cause: Option<Cause>,
    /// More members of the error object (`batch_invalid`'s `rows`, DESIGN §19).
    pub(crate) details: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            param: None,
            cause: None,
            details: None,
        }
    }

    /// A bug or an unexpected failure: a bare 500 for the client, `cause` for the log.
    pub(crate) fn internal(cause: impl StdError + Send + Sync + 'static) -> Self {
        Self::new(ErrorCode::Internal, "an internal error occurred").caused_by(cause)
    }

    /// Attaches the cause to log when this error is answered.
    pub(crate) fn caused_by(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// Adds members to the error object (never `type`, `code`, `message` or `request_id`).
    pub(crate) fn with_details(
        mut self,
        details: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        self.details = Some(details);
        self
    }

    pub(crate) fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The JSON body with the request id filled in.
    pub(crate) fn body(&self, request_id: &str) -> String {
        let (_, kind, code) = self.code.describe();
        let mut error = json!({
            "type": kind,
            "code": code,
            "message": self.message,
            "request_id": request_id,
        });
        if let (Some(param), Some(map)) = (&self.param, error.as_object_mut()) {
            map.insert("param".into(), json!(param));
        }
        if let (Some(details), Some(map)) = (&self.details, error.as_object_mut()) {
            for (name, value) in details {
                map.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
        json!({ "error": error }).to_string()
    }

    /// The error an un-annotated error status stands for (axum and tower-http rejections).
    pub(crate) fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::new(ErrorCode::RouteNotFound, "no such route"),
            StatusCode::METHOD_NOT_ALLOWED => Self::new(
                ErrorCode::MethodNotAllowed,
                "this method is not allowed on this route",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(ErrorCode::BodyTooLarge, "the request body is over 64 KiB")
            }
            StatusCode::REQUEST_TIMEOUT => {
                Self::new(ErrorCode::RequestTimeout, "the request took too long")
            }
            StatusCode::TOO_MANY_REQUESTS => {
                Self::new(ErrorCode::RateLimited, "too many requests; retry later")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::BAD_REQUEST => {
                Self::new(ErrorCode::BodyInvalid, "the request could not be read")
            }
            _ => Self::new(ErrorCode::Internal, "an internal error occurred"),
        }
    }
}

/// `error: source: source …`, each source once (a `Display` that already ends with its
/// source's text, as thiserror's `{0}` with `#[from]` does, is not repeated).
pub(crate) fn cause_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        let line = next.to_string();
        if !text.ends_with(&line) {
            let _ = write!(text, ": {line}");
        }
        source = next.source();
    }
    text
}

impl ApiError {
    /// The one log line of an answered error that has a cause or is a 500 (the API's error
    /// layer calls it once per response, with the request's id): one line per failure, never
    /// one per layer it passed.
    pub(crate) fn log_answered(&self, request_id: &str) {
        let (status, _, code) = self.code.describe();
        match &self.cause {
            Some(cause) => tracing::error!(
                request_id,
                code,
                status = status.as_u16(),
                error = %cause_chain(cause.as_ref()),
                "error answered"
            ),
            None if status == StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(request_id, code, status = status.as_u16(), "error answered")
            }
            None => {}
        }
    }
}

impl IntoResponse for ApiError {
    /// The error travels in the response's extensions to the API's error layer, which
    /// renders and logs it ([`ApiError::log_answered`]); nothing is logged here.
    fn into_response(self) -> Response {
        let (status, _, _) = self.code.describe();
        let mut response = status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::InvalidRequest {
                code,
                message,
                param,
            } => Self {
                code: code.into(),
                message,
                param,
                cause: None,
                details: None,
            },
            EngineError::ProviderUnsupported(_) => {
                Self::new(ErrorCode::ProviderUnsupported, error.to_string()).with_param("provider")
            }
            EngineError::NoRoute => Self::new(ErrorCode::NoRoute, error.to_string()),
            EngineError::IdempotencyInProgress => {
                Self::new(ErrorCode::IdempotencyInProgress, error.to_string())
            }
            EngineError::IdempotencyKeyReused => {
                Self::new(ErrorCode::IdempotencyKeyReused, error.to_string())
            }
            EngineError::ReferenceInUse => {
                Self::new(ErrorCode::ReferenceInUse, error.to_string()).with_param("reference")
            }
            EngineError::PaymentNotFound => Self::new(
                ErrorCode::PaymentNotFound,
                "no such payment: it belongs to another merchant",
            )
            .with_param("payment_id"),
            EngineError::CurrencyMismatch { .. } => {
                Self::new(ErrorCode::CurrencyMismatch, error.to_string()).with_param("currency")
            }
            EngineError::PaymentAmountMismatch { .. } => {
                Self::new(ErrorCode::PaymentAmountMismatch, error.to_string())
                    .with_param("payment_amount")
            }
            EngineError::AmountExceedsRefundable { .. } => {
                Self::new(ErrorCode::AmountExceedsRefundable, error.to_string())
                    .with_param("amount")
            }
            EngineError::RefundFinal { .. } => Self::new(ErrorCode::RefundFinal, error.to_string()),
            EngineError::RefundSent => Self::new(ErrorCode::RefundSent, error.to_string()),
            EngineError::NotAwaitingApproval => {
                Self::new(ErrorCode::NotAwaitingApproval, error.to_string())
            }
            EngineError::Store(e) => e.into(),
            EngineError::Contention => Self::new(
                ErrorCode::StoreUnavailable,
                "the store is busy; retry with the same Idempotency-Key",
            )
            .caused_by(error),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::new(
            ErrorCode::StoreUnavailable,
            "the store is unavailable; retry with the same Idempotency-Key",
        )
        .caused_by(error)
    }
}

/// A statement the gateway cannot read is the client's `body_invalid`; the rest is ours.
impl From<StatementError> for ApiError {
    fn from(error: StatementError) -> Self {
        match error {
            StatementError::Store(e) => e.into(),
            StatementError::Write(e) => Self::internal(e),
            StatementError::NoHeader(_)
            | StatementError::MissingColumn { .. }
            | StatementError::Read(_) => Self::new(ErrorCode::BodyInvalid, error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("disk full")]
    struct Disk;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("writing the report failed")]
        Write(#[source] Disk),
        #[error("writing the report failed: {0}")]
        Repeats(#[from] Disk),
    }

    #[test]
    fn a_cause_chain_names_every_source_once() {
        assert_eq!(
            cause_chain(&Outer::Write(Disk)),
            "writing the report failed: disk full"
        );
        assert_eq!(
            cause_chain(&Outer::Repeats(Disk)),
            "writing the report failed: disk full"
        );
    }

    /// Log lines written while `f` runs, in tracing's plain format.
    fn logged(f: impl FnOnce()) -> Vec<String> {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = lines.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn an_answered_500_is_one_log_line_with_its_cause_and_request_id() {
        let lines = logged(|| {
            let response = ApiError::internal(Outer::Write(Disk)).into_response();
            let error = response
                .extensions()
                .get::<ApiError>()
                .cloned()
                .unwrap_or_else(|| ApiError::new(ErrorCode::Internal, "lost"));
            error.log_answered("req_42");
        });
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(lines[0].contains("req_42"), "{lines:#?}");
        assert!(lines[0].contains("disk full"), "{lines:#?}");
        // A client's mistake has no cause to log.
        let quiet = logged(|| ApiError::new(ErrorCode::BodyInvalid, "no").log_answered("r"));
        assert_eq!(quiet, Vec::<String>::new());
    }

    #[test]
    fn an_internal_error_shows_the_client_nothing_of_its_cause() {
        let error = ApiError::internal(Outer::Write(Disk));
        let body = error.body("req_1");
        assert!(!body.contains("disk"), "{body}");
        assert!(body.contains("internal_error"), "{body}");
        assert!(error.cause.is_some());
    }

    #[test]
    fn a_statement_the_gateway_cannot_read_is_body_invalid_and_a_failed_write_internal() {
        let unreadable = ApiError::from(StatementError::Read("bad quote".into()));
        assert_eq!(unreadable.code, ErrorCode::BodyInvalid);
        assert!(unreadable.cause.is_none());
        let write = ApiError::from(StatementError::Write(std::io::Error::other("disk full")));
        assert_eq!(write.code, ErrorCode::Internal);
        assert!(!write.body("r").contains("disk"));
    }

    #[test]
    fn every_provider_invalid_code_has_the_api_code_of_the_same_text() {
        for code in [
            InvalidCode::ParameterMissing,
            InvalidCode::ParameterInvalid,
            InvalidCode::AmountInvalid,
            InvalidCode::CurrencyUnsupported,
            InvalidCode::CouponPartialRefund,
        ] {
            let (status, _, text) = ErrorCode::from(code).describe();
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert_eq!(text, code.as_str());
        }
    }
}
