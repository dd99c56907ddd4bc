//! `ApiError` and the one table from error code to HTTP status and type (DESIGN §5). Every
//! error response of the API, including axum's own rejections, is rendered here in the shape
//! `{"error": {"type", "code", "message", "param"?, "request_id"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::EngineError;

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
    RefundNotFound,
    RouteNotFound,
    MethodNotAllowed,
    IdempotencyInProgress,
    ReferenceInUse,
    RefundFinal,
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

    /// The code text of an error raised outside `ApiError` (provider pre-flight checks).
    pub fn from_text(code: &str) -> Self {
        use ErrorCode::*;
        match code {
            "parameter_missing" => ParameterMissing,
            "amount_invalid" => AmountInvalid,
            "currency_unsupported" => CurrencyUnsupported,
            "provider_unsupported" => ProviderUnsupported,
            "coupon_partial_refund" => CouponPartialRefund,
            _ => ParameterInvalid,
        }
    }
}

/// An error answer. Rendered (with the request id) by `render_errors` middleware.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub param: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            param: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The JSON body with the request id filled in.
    pub fn body(&self, request_id: &str) -> String {
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
        json!({ "error": error }).to_string()
    }

    /// The error an un-annotated error status stands for (axum and tower-http rejections).
    pub fn from_status(status: StatusCode) -> Self {
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

impl IntoResponse for ApiError {
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
                code: ErrorCode::from_text(code),
                message,
                param,
            },
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
            EngineError::Store(e) => e.into(),
            EngineError::Contention => {
                tracing::error!("refund update contention");
                Self::new(
                    ErrorCode::StoreUnavailable,
                    "the store is busy; retry with the same Idempotency-Key",
                )
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(error = %error, "store error");
        Self::new(
            ErrorCode::StoreUnavailable,
            "the store is unavailable; retry with the same Idempotency-Key",
        )
    }
}
