//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers' annotations by
//! utoipa so it cannot drift from the code.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{export, health, operators, payments, reconciliation, refunds, webhooks};
use crate::domain::refund_object::RefundObject;
use crate::domain::RefundStatus;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "refund-gateway", description = "One refund API in front of AuthMS, e-Buy and eFundPay"),
    paths(
        refunds::create_refund,
        refunds::get_refund,
        refunds::list_refund_events,
        refunds::list_refunds,
        operators::resolve_refund,
        operators::me,
        webhooks::provider_webhook,
        webhooks::merchant_account_webhook,
        reconciliation::get_summary,
        reconciliation::import_statement,
        payments::list_payment_refunds,
        export::export_refunds,
        health::healthz,
        health::readyz,
        health::metrics,
    ),
    components(schemas(RefundObject, RefundStatus)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
