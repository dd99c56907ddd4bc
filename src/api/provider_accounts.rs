//! `GET /v1/provider_accounts`: each provider account's circuit breaker as this process sees
//! it and its queue of refunds never sent (DESIGN §17), for the console's overview. An
//! operator sees every account; a merchant, the accounts its refunds go out on.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use crate::domain::refund_object::rfc3339_ms;
use crate::state::AppState;
use crate::store::now_ms;

/// One provider account's breaker and queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ProviderAccount {
    /// Always `"provider_account"`.
    object: &'static str,
    provider: String,
    /// `default`, or `merchant:<id>` for a merchant's own account.
    account: String,
    /// `closed` (sending), `open` (queueing), `half_open` (one probe out); `closed` when the
    /// breaker is turned off. This process's breaker: each gateway process keeps its own.
    breaker: &'static str,
    /// Whether the breaker and the queue are on (`[providers.<name>.breaker] enabled`).
    breaker_enabled: bool,
    /// Refunds waiting unsent in this account's queue (every process's).
    queued: u64,
    /// When the oldest of them was queued; null when none is.
    oldest_queued_at: Option<String>,
}

/// The provider accounts' breakers and queues.
#[utoipa::path(get, path = "/v1/provider_accounts", tag = "operations")]
pub(crate) async fn list_provider_accounts(
    state: AppState,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let engine = &state.engine;
    let visible: Option<Vec<(String, String)>> = match &caller {
        Caller::Operator(_) => None,
        Caller::Merchant(merchant) => Some(
            engine
                .providers()
                .ids()
                .filter(|id| merchant.may_use(id))
                .filter_map(|id| {
                    let (account, _) = engine.providers().for_merchant(id, &merchant.id)?;
                    Some((id.to_string(), account.key()))
                })
                .collect(),
        ),
    };
    let data: Vec<ProviderAccount> = engine
        .breakers
        .views(now_ms())
        .into_iter()
        .filter(|view| {
            visible.as_ref().is_none_or(|accounts| {
                accounts
                    .iter()
                    .any(|(p, a)| *p == view.provider && *a == view.account)
            })
        })
        .map(|view| ProviderAccount {
            object: "provider_account",
            provider: view.provider,
            account: view.account,
            breaker: view.state.as_str(),
            breaker_enabled: view.enabled,
            queued: view.queued,
            oldest_queued_at: view
                .oldest_queued_at
                .filter(|_| view.queued > 0)
                .map(rfc3339_ms),
        })
        .collect();
    Ok(Json(serde_json::json!({"object": "list", "data": data})))
}
