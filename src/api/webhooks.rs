//! `POST /v1/webhooks/{provider}` (the provider's default account) and
//! `POST /v1/webhooks/{provider}/{merchant_id}` (a merchant's own account, DESIGN §14):
//! provider webhooks, verified by that account's adapter (no merchant auth). A bad or missing signature, a stale timestamp or an unreadable body is
//! refused with a 400 and changes nothing; the same event id is applied once.
//!
//! Applying a report is idempotent on its own (a final refund never moves; a repeated status
//! changes nothing), so the receipt is written after the report is applied: a crash in
//! between makes the provider's retry apply it again harmlessly, never lose it. An event the
//! adapter acknowledges and ignores (an event type about something else than a refund's
//! status, e.g. Stripe's `charge.refunded`) is answered 200 `{"received": true, "ignored":
//! true}`, logged at debug only, and changes nothing (no refund, no receipt). An event for a
//! refund this gateway does not know is acknowledged (`"refund": null`) and stores nothing
//! either (DESIGN §16). Verified events count against their account's rate
//! (`crate::limits::webhooks`): beyond it, `429` and the provider delivers the event again later.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use time::OffsetDateTime;

use refund_provider::{ProviderError, ProviderId};

use super::error::{ApiError, ErrorCode};
use super::rate_limit::too_many;
use crate::engine::WebhookApplied;
use crate::limits::Verdict;
use crate::providers::Account;
use crate::state::AppState;

/// Receive a provider's webhook for its default account.
#[utoipa::path(post, path = "/v1/webhooks/{provider}", tag = "webhooks")]
pub(crate) async fn provider_webhook(
    state: AppState,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    receive(&state, &provider, Account::Default, &headers, &body).await
}

/// Receive a provider's webhook for a merchant's own account (DESIGN §14), verified with
/// that account's secret.
#[utoipa::path(post, path = "/v1/webhooks/{provider}/{merchant_id}", tag = "webhooks")]
pub(crate) async fn merchant_account_webhook(
    state: AppState,
    Path((provider, merchant_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    receive(
        &state,
        &provider,
        Account::Merchant(merchant_id),
        &headers,
        &body,
    )
    .await
}

/// Verifies a webhook with the account's adapter and applies it to that account's refund
/// only: a webhook verified with one account's secret never touches another's refunds or
/// marks another's events as received.
async fn receive(
    state: &AppState,
    provider: &str,
    account: Account,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    if body.len() > super::BODY_LIMIT {
        return Err(ApiError::from_status(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        ));
    }
    let not_found = || ApiError::new(ErrorCode::RouteNotFound, "no such provider account");
    let id = ProviderId::parse(provider).map_err(|_| not_found())?;
    let adapter = state
        .engine
        .providers()
        .account(&id, &account)
        .cloned()
        .ok_or_else(not_found)?;
    let account = account.key();
    let webhook = adapter
        .parse_webhook(headers, body, OffsetDateTime::now_utc())
        .map_err(|e| {
            let message = match e {
                ProviderError::InvalidWebhook { message } => message,
                other => other.to_string(),
            };
            tracing::warn!(provider = %id, account = %account, message = %message, "webhook refused");
            ApiError::new(
                ErrorCode::WebhookInvalid,
                format!("webhook refused: {message}"),
            )
        })?;
    // Counted once verified, so only configured accounts are keys (`crate::limits::webhooks`).
    if let Verdict::Refuse(wait) = state.engine.webhook_limits().event(id.as_str(), &account) {
        tracing::debug!(provider = %id, account = %account, "webhook over the account's rate");
        return Ok(too_many(wait));
    }
    let event_id = webhook.event_id.clone();
    let event_type = webhook.event_type.clone();
    match state
        .engine
        .apply_webhook(&id, account.clone(), webhook)
        .await?
    {
        WebhookApplied::Ignored => {
            tracing::debug!(provider = %id, account = %account, event_id = %event_id, event_type = %event_type, "webhook acknowledged and ignored");
            Ok(Json(json!({"received": true, "ignored": true})).into_response())
        }
        WebhookApplied::Duplicate => {
            Ok(Json(json!({"received": true, "duplicate": true})).into_response())
        }
        WebhookApplied::UnknownRefund => {
            tracing::warn!(provider = %id, account = %account, event_id = %event_id, "webhook for an unknown refund");
            Ok(Json(json!({"received": true, "refund": null})).into_response())
        }
        WebhookApplied::Refund(refund) => {
            Ok(Json(json!({"received": true, "refund": refund.id.to_string()})).into_response())
        }
    }
}
