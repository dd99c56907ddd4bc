//! `GET /v1/payments/{payment_id}/refunds`: every refund of one payment (the merchant's
//! own; an operator's: every merchant's, or `?merchant=`'s), oldest first, with counts and
//! amounts per currency and status so partial refunds visibly add up, and (DESIGN §14) the
//! payment's captured amount and what is still refundable, per currency. A payment without
//! refunds answers an empty list, not 404.

use axum::extract::Path;
use axum::Json;

use refund_provider::PaymentId;

use super::error::{ApiError, ErrorCode};
use super::extract::{refuse_unknown, Caller, QueryMap};
use crate::reconcile::summary::{payment_refunds, PaymentRefunds, PAYMENT_REFUNDS_LIMIT};
use crate::state::AppState;

/// Every refund of a payment with totals by status.
#[utoipa::path(
    get,
    path = "/v1/payments/{payment_id}/refunds",
    tag = "reconciliation"
)]
pub(crate) async fn list_payment_refunds(
    state: AppState,
    caller: Caller,
    Path(payment_id): Path<String>,
    QueryMap(query): QueryMap,
) -> Result<Json<PaymentRefunds>, ApiError> {
    refuse_unknown(&query, &["merchant"])?;
    let scope = caller.scope(query.get("merchant").map(String::as_str), &state)?;
    let payment = PaymentId::parse(&payment_id).map_err(|_| {
        ApiError::new(
            ErrorCode::ParameterInvalid,
            "`payment_id` must be 1-128 printable ASCII characters",
        )
        .with_param("payment_id")
    })?;
    let limit = i64::try_from(PAYMENT_REFUNDS_LIMIT + 1).unwrap_or(i64::MAX);
    let store = &state.engine.store;
    let refunds = store
        .payment_refunds(scope.as_deref(), payment.as_str(), limit)
        .await?;
    let rows = store
        .payment_rows(scope.as_deref(), payment.as_str())
        .await?;
    Ok(Json(payment_refunds(payment.as_str(), refunds, &rows)))
}
