//! `POST /v1/refunds/{id}/cancel` (DESIGN §17): the merchant cancels a refund that waits in
//! its provider account's queue, never sent. Once sent it is `409 refund_sent`; a final
//! refund is `409 refund_final`.

use axum::extract::Path;
use axum::Json;

use super::error::{ApiError, ErrorCode};
use super::extract::Caller;
use super::refunds::visible_refund;
use crate::domain::refund_object::RefundObject;
use crate::state::AppState;

/// Cancel a refund still queued, never sent (merchants only).
#[utoipa::path(post, path = "/v1/refunds/{id}/cancel", tag = "refunds")]
pub(crate) async fn cancel_refund(
    state: AppState,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RefundObject>, ApiError> {
    let merchant = match &caller {
        Caller::Merchant(merchant) => merchant.id.clone(),
        Caller::Operator(_) => {
            return Err(ApiError::new(
                ErrorCode::MerchantOnly,
                "only the refund's merchant cancels it: use the merchant's API key",
            ))
        }
    };
    let refund = visible_refund(&state, &caller, &id).await?;
    let canceled = state.engine.cancel(&refund.id, &merchant).await?;
    Ok(Json(RefundObject::from(&canceled)))
}
