//! `GET /v1/payments/{payment_id}/refunds`: every refund of one payment (the merchant's
//! own), oldest first, with counts and amounts per currency and status, so partial refunds
//! visibly add up. A payment without refunds answers an empty list, not 404: the gateway
//! does not know payments, only their refunds.

use axum::extract::{Path, State};
use axum::Json;

use refund_provider::PaymentId;

use super::error::{ApiError, ErrorCode};
use super::extract::MerchantAuth;
use crate::reconcile::summary::{payment_refunds, PaymentRefunds, PAYMENT_REFUNDS_LIMIT};
use crate::state::AppState;

/// Every refund of a payment with totals by status.
#[utoipa::path(get, path = "/v1/payments/{payment_id}/refunds", tag = "reconciliation",
    params(("payment_id" = String, Path, description = "The provider's id of the original payment")),
    responses((status = 200, description = "{object: payment_refunds, payment_id, data, has_more, totals, refunded, in_flight}"),
        (status = 400, description = "parameter_invalid")),
    security(("bearer" = [])))]
pub async fn list_payment_refunds(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(payment_id): Path<String>,
) -> Result<Json<PaymentRefunds>, ApiError> {
    let payment = PaymentId::parse(&payment_id).map_err(|_| {
        ApiError::new(
            ErrorCode::ParameterInvalid,
            "`payment_id` must be 1-128 printable ASCII characters",
        )
        .with_param("payment_id")
    })?;
    let limit = i64::try_from(PAYMENT_REFUNDS_LIMIT + 1).unwrap_or(i64::MAX);
    let refunds = state
        .engine
        .store
        .payment_refunds(&merchant.id, payment.as_str(), limit)
        .await?;
    Ok(Json(payment_refunds(payment.as_str(), refunds)))
}
