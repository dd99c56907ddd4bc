//! The simulator's HTTP surface: Stripe's refund endpoints with their auth, content-type,
//! version and Idempotency-Key handling and the counted faults, and the `/_sandbox/*` control
//! endpoints.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use refund_provider::sandbox_kit::FaultPlan;
use serde::Deserialize;

use super::config::{Faults, SECRET_KEY};
use super::form::{create_params, fingerprint, PaymentRef, StripeError};
use super::state::{Begin, Shared};
use super::webhooks;
use crate::adapter::{IDEMPOTENCY_HEADER, VERSION_HEADER};

/// Longest Idempotency-Key Stripe takes.
const MAX_IDEMPOTENCY_KEY: usize = 255;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/refunds", post(create_refund).get(list_refunds))
        .route("/v1/refunds/{id}", get(retrieve_refund))
        .route("/_sandbox/faults", post(set_faults).get(get_faults))
        .route("/_sandbox/effects", get(effects))
        .route("/_sandbox/webhooks", get(deliveries))
        .route("/_sandbox/webhook_endpoint", post(set_webhook_endpoint))
        .fallback(|| async {
            error(&StripeError {
                status: StatusCode::NOT_FOUND,
                error_type: "invalid_request_error",
                code: None,
                param: None,
                message: "Unrecognized request URL.".into(),
            })
        })
        .with_state(shared)
}

fn error(e: &StripeError) -> Response {
    json_response(e.status, e.body().to_string())
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The secret key as a bearer token or as Basic auth's user, as Stripe takes it.
fn authorize(headers: &HeaderMap) -> Result<(), StripeError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let bearer = format!("Bearer {SECRET_KEY}");
    let basic = format!("Basic {}", base64_user(SECRET_KEY));
    match given {
        Some(value) if value == bearer || value == basic => Ok(()),
        None => Err(unauthorized("You did not provide an API key.")),
        Some(_) => Err(unauthorized("Invalid API Key provided.")),
    }
}

fn unauthorized(message: &str) -> StripeError {
    StripeError {
        status: StatusCode::UNAUTHORIZED,
        error_type: "invalid_request_error",
        code: None,
        param: None,
        message: message.into(),
    }
}

/// `user:` in base64, for Basic auth with an empty password.
fn base64_user(user: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `Stripe-Version`, when given, must look like one.
fn check_version(headers: &HeaderMap) -> Result<(), StripeError> {
    let Some(value) = headers.get(VERSION_HEADER) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or_default();
    let date = text.split('.').next().unwrap_or_default();
    let looks_like_date = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if looks_like_date {
        Ok(())
    } else {
        Err(StripeError::invalid(
            None,
            None,
            format!(
                "Invalid Stripe API version: {}",
                text.chars().take(40).collect::<String>()
            ),
        ))
    }
}

/// Latency and the request's counted fault around `work`; the unavailable answer is
/// Stripe's error shape.
async fn with_faults(shared: &Shared, work: impl FnOnce() -> Response) -> Response {
    let draw = shared.faults.draw(shared.config.latency_ms);
    if let Err(plan) = draw.before_apply(&shared.hang).await {
        let which = if plan == FaultPlan::Timeout {
            "timeout_next"
        } else {
            "fail_next"
        };
        return error(&StripeError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error_type: "api_error",
            code: None,
            param: None,
            message: format!("sandbox fault: {which}"),
        });
    }
    let response = work();
    draw.finish(response, &shared.hang).await
}

async fn create_refund(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let work = || {
        let outcome = create(&shared, &headers, &body);
        if let Ok((_, Some(created))) = &outcome {
            webhooks::schedule(Arc::clone(&shared), created.clone());
        }
        match outcome {
            Ok((response, _)) => response,
            Err(e) => error(&e),
        }
    };
    with_faults(&shared, work).await
}

/// The create request, from auth to the saved answer.
fn create(
    shared: &Shared,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Response, Option<super::state::Stored>), StripeError> {
    authorize(headers)?;
    check_version(headers)?;
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return Err(StripeError::invalid(
            None,
            None,
            "Invalid request: the body must be application/x-www-form-urlencoded.",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| StripeError::invalid(None, None, "Invalid request body."))?;
    let key = match headers.get(IDEMPOTENCY_HEADER) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY => Some(key.to_owned()),
            _ => {
                return Err(StripeError::invalid(
                    None,
                    None,
                    format!("Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} ASCII characters."),
                ))
            }
        },
    };
    let fingerprint = fingerprint(&pairs);
    if let Some(key) = &key {
        match shared.begin(key, &fingerprint) {
            Begin::Fresh => {}
            Begin::Replay { status, body } => {
                let mut response = json_response(status, body);
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                return Ok((response, None));
            }
            Begin::Refused(e) => return Err(e),
        }
    }
    let params = match create_params(&pairs) {
        Ok(params) => params,
        Err(e) => {
            if let Some(key) = &key {
                shared.abandon(key);
            }
            return Err(e);
        }
    };
    let outcome = shared.create(params, key.as_deref().map(|k| (k, fingerprint)));
    Ok((
        json_response(outcome.status, outcome.body.to_string()),
        outcome.created,
    ))
}

async fn retrieve_refund(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let work = || {
        let found = authorize(&headers)
            .and_then(|()| check_version(&headers))
            .and_then(|()| shared.retrieve(&id));
        match found {
            Ok(refund) => Json(refund).into_response(),
            Err(e) => error(&e),
        }
    };
    with_faults(&shared, work).await
}

async fn list_refunds(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let work = || {
        let listed = authorize(&headers)
            .and_then(|()| check_version(&headers))
            .and_then(|()| list(&shared, query.as_deref().unwrap_or_default()));
        match listed {
            Ok(page) => Json(page).into_response(),
            Err(e) => error(&e),
        }
    };
    with_faults(&shared, work).await
}

fn list(shared: &Shared, query: &str) -> Result<crate::wire::RefundList, StripeError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| StripeError::invalid(None, None, "Invalid query string."))?;
    let mut params: HashMap<String, String> = HashMap::new();
    for (key, value) in pairs {
        match key.as_str() {
            "payment_intent" | "charge" | "limit" | "starting_after" => {
                params.insert(key, value);
            }
            other => {
                return Err(StripeError::invalid(
                    Some("parameter_unknown"),
                    Some(other),
                    format!("Received unknown parameter: {other}"),
                ))
            }
        }
    }
    let payment = match (params.remove("payment_intent"), params.remove("charge")) {
        (Some(id), None) => Some(PaymentRef::PaymentIntent(id)),
        (None, Some(id)) => Some(PaymentRef::Charge(id)),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(StripeError::invalid(
                None,
                Some("charge"),
                "You cannot pass both charge and payment_intent.",
            ))
        }
    };
    let limit = match params.get("limit") {
        None => 10,
        Some(text) => match text.parse::<usize>() {
            Ok(limit @ 1..=100) => limit,
            _ => {
                return Err(StripeError::invalid(
                    Some("parameter_invalid_integer"),
                    Some("limit"),
                    "Limit must be between 1 and 100.",
                ))
            }
        },
    };
    shared.list(
        payment.as_ref(),
        limit,
        params.get("starting_after").map(String::as_str),
    )
}

async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) => {
            shared.faults.set(faults.clone());
            Json(faults).into_response()
        }
        Err(e) => error(&StripeError::invalid(
            None,
            None,
            format!("not a Faults object: {e}"),
        )),
    }
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.faults.get()).into_response()
}

async fn effects(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.effects()).into_response()
}

async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.deliveries()).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookEndpoint {
    url: Option<String>,
}

async fn set_webhook_endpoint(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<WebhookEndpoint>(&body) {
        Ok(endpoint) => {
            shared.set_webhook_url(endpoint.url.clone());
            Json(serde_json::json!({"url": endpoint.url})).into_response()
        }
        Err(e) => error(&StripeError::invalid(
            None,
            Some("url"),
            format!("expected {{\"url\": \"http://…\"}}: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_carries_the_key_as_the_user_with_an_empty_password() {
        // printf 'sk_test_sandbox_stripe:' | base64
        assert_eq!(
            base64_user("sk_test_sandbox_stripe"),
            "c2tfdGVzdF9zYW5kYm94X3N0cmlwZTo="
        );
        assert_eq!(base64_user("a"), "YTo=");
        assert_eq!(base64_user("ab"), "YWI6");
    }
}
