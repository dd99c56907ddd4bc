//! Extractors that turn requests into typed input or an `ApiError` in the API's shape: the
//! caller (a merchant or an operator) from its API key, the `Idempotency-Key` header, the query
//! string, and a JSON body read with our own error codes instead of axum's plain-text rejections;
//! and the media type and size-limited reading of the file bodies (batches, statements).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use futures_util::StreamExt;
use subtle::ConstantTimeEq;

use super::error::{ApiError, ErrorCode};
use crate::config::{hash_api_key, ApiKey, Config, MerchantConfig, OperatorConfig};
use crate::domain::IdempotencyKey;
use crate::state::{AppState, LiveState};

/// Who is calling: a merchant, or an operator (finance and support staff, DESIGN §14).
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    Merchant(MerchantConfig),
    Operator(OperatorConfig),
}

impl FromRequestParts<LiveState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, live: &LiveState) -> Result<Self, ApiError> {
        let state = AppState::of(parts, live);
        let missing = || {
            ApiError::new(
                ErrorCode::ApiKeyMissing,
                "send your API key as `Authorization: Bearer <key>`",
            )
        };
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::new(ErrorCode::ApiKeyInvalid, "the API key is invalid"))?;
        let key = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(missing)?;
        let (caller, api_key) = caller_for(state.engine.config(), &hash_api_key(key))
            .ok_or_else(|| ApiError::new(ErrorCode::ApiKeyInvalid, "the API key is invalid"))?;
        if api_key.expired(time::OffsetDateTime::now_utc()) {
            let at = api_key
                .expires_at
                .and_then(|at| {
                    at.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            return Err(ApiError::new(
                ErrorCode::ApiKeyExpired,
                format!("this API key expired at {at}: use the key that replaced it"),
            ));
        }
        parts.extensions.insert(PresentedKey(api_key));
        Ok(caller)
    }
}

/// The key a request authenticated with (its expiry, for `GET /v1/me`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PresentedKey(pub(crate) ApiKey);

/// The caller holding the API key whose SHA-256 is `presented`, and that key; compared
/// against every key of every caller in constant time, whichever matches.
pub(crate) fn caller_for(config: &Config, presented: &[u8; 32]) -> Option<(Caller, ApiKey)> {
    let mut found = None;
    for merchant in &config.merchants {
        for key in &merchant.api_keys {
            if bool::from(key.sha256.ct_eq(presented)) {
                found = Some((Caller::Merchant(merchant.clone()), *key));
            }
        }
    }
    for operator in &config.operators {
        for key in &operator.api_keys {
            if bool::from(key.sha256.ct_eq(presented)) {
                found = Some((Caller::Operator(operator.clone()), *key));
            }
        }
    }
    found
}

impl Caller {
    /// The merchant whose data this caller may read: a merchant reads its own (naming
    /// another with `?merchant=` is an operator's right), an operator every merchant's
    /// (`None`) or the one it names.
    pub(crate) fn scope(
        &self,
        requested: Option<&str>,
        state: &AppState,
    ) -> Result<Option<String>, ApiError> {
        match (self, requested) {
            (Caller::Merchant(merchant), None) => Ok(Some(merchant.id.clone())),
            (Caller::Merchant(merchant), Some(id)) if id == merchant.id => {
                Ok(Some(merchant.id.clone()))
            }
            (Caller::Merchant(_), Some(_)) => Err(ApiError::new(
                ErrorCode::OperatorOnly,
                "only an operator key may read another merchant's data",
            )
            .with_param("merchant")),
            (Caller::Operator(_), None) => Ok(None),
            (Caller::Operator(_), Some(id)) => match state.engine.config().merchant(id) {
                Some(merchant) => Ok(Some(merchant.id.clone())),
                None => Err(ApiError::new(
                    ErrorCode::ParameterInvalid,
                    format!(
                        "no merchant `{}` is configured",
                        id.chars().take(64).collect::<String>()
                    ),
                )
                .with_param("merchant")),
            },
        }
    }
}

/// The authenticated merchant, for what only merchants do (creating refunds): an operator
/// key is `403 merchant_only`.
#[derive(Debug, Clone)]
pub(crate) struct MerchantAuth(pub MerchantConfig);

impl FromRequestParts<LiveState> for MerchantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &LiveState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Merchant(merchant) => Ok(Self(merchant)),
            Caller::Operator(_) => Err(ApiError::new(
                ErrorCode::MerchantOnly,
                "operators do not create refunds: use the merchant's API key",
            )),
        }
    }
}

/// The authenticated operator, for what only operators do (resolving refunds): a merchant
/// key is `403 operator_only`.
#[derive(Debug, Clone)]
pub(crate) struct OperatorAuth(pub OperatorConfig);

impl FromRequestParts<LiveState> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &LiveState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await? {
            Caller::Operator(operator) => Ok(Self(operator)),
            Caller::Merchant(_) => Err(ApiError::new(
                ErrorCode::OperatorOnly,
                "this action needs an operator's API key",
            )),
        }
    }
}

/// The optional `Idempotency-Key` header (1-255 printable ASCII).
#[derive(Debug, Clone)]
pub struct IdempotencyKeyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        value
            .to_str()
            .ok()
            .and_then(IdempotencyKey::parse)
            .map(|key| Self(Some(key)))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::ParameterInvalid,
                    "Idempotency-Key must be 1-255 printable ASCII characters",
                )
                .with_param("Idempotency-Key")
            })
    }
}

/// The query string as a map from parameter name to value.
#[derive(Debug, Clone)]
pub(crate) struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(query) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::ParameterInvalid,
                    "the query string could not be read",
                )
            })?;
        Ok(Self(query))
    }
}

/// Refuses a query with a parameter not in `allowed`: `400 parameter_invalid` naming it.
pub(crate) fn refuse_unknown(
    query: &HashMap<String, String>,
    allowed: &[&str],
) -> Result<(), ApiError> {
    match query.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::new(
            ErrorCode::ParameterInvalid,
            format!("unknown query parameter `{unknown}`"),
        )
        .with_param(unknown.as_str())),
        None => Ok(()),
    }
}

/// A JSON object body: `application/json`, at most the body limit, valid UTF-8 JSON.
#[derive(Debug, Clone)]
pub(crate) struct JsonObject(pub serde_json::Map<String, serde_json::Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let mime = media_type(req.headers());
        let is_json = mime == "application/json"
            || (mime.starts_with("application/") && mime.ends_with("+json"));
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::BodyInvalid,
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::from_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                ApiError::new(ErrorCode::BodyInvalid, "the request body could not be read")
            }
        })?;
        if bytes.len() > super::BODY_LIMIT {
            return Err(ApiError::from_status(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            ));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                ErrorCode::BodyInvalid,
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        match value {
            serde_json::Value::Object(map) => Ok(Self(map)),
            _ => Err(ApiError::new(
                ErrorCode::BodyInvalid,
                "the body must be a JSON object",
            )),
        }
    }
}

/// The `Content-Type` without its parameters, trimmed and lowercased; empty without one.
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Reads a body of at most `limit` bytes; a larger one is answered `too_large()` once it has
/// been read (and dropped) up to `drain` bytes, so that the client gets the answer rather than
/// a reset connection. Beyond `drain` (declared or sent) it is cut off.
pub(crate) async fn read_limited(
    request: Request,
    limit: usize,
    drain: usize,
    too_large: impl Fn() -> ApiError,
) -> Result<Vec<u8>, ApiError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let mut total = 0usize;
    let mut stream = request.into_body().into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(ErrorCode::BodyInvalid, "the request body could not be read")
        })?;
        total += chunk.len();
        if total > drain {
            return Err(too_large());
        }
        if total <= limit {
            body.extend_from_slice(&chunk);
        }
    }
    if total > limit {
        return Err(too_large());
    }
    Ok(body)
}
