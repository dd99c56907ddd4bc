//! Ids in provider URLs (DESIGN §16): a client-given id that a provider's URL path carries
//! (`payment_id`: eFundPay's `transactions/{payment_id}`; `customer_id`: AuthMS's
//! `wallets/{user_id}`) that is `.` or `..` would name another path however it is encoded,
//! so it is `400 parameter_invalid` before anything is recorded or sent. Every other id is
//! percent-encoded as one whole segment by each adapter (their own tests).

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{assert_error, fake, spawn_app, Db, Script, ACME_KEY};

both_backends!(
    a_dot_or_dot_dot_id_is_refused_before_anything_is_recorded_or_sent,
    |db: Db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider.clone()).await else {
            return;
        };
        for (field, value) in [
            ("payment_id", "."),
            ("payment_id", ".."),
            ("customer_id", "."),
            ("customer_id", ".."),
        ] {
            let mut body = json!({"payment_id": "pay_1", "amount": "1.00", "currency": "EUR"});
            body[field] = json!(value);
            let error = assert_error(
                app.post_refund(ACME_KEY, Some(&format!("key-{field}-{value}")), &body)
                    .await,
                400,
                "parameter_invalid",
            )
            .await;
            assert_eq!(error["param"], field, "{field} {value}: {error}");
        }
        let page: Value = app.get_json(ACME_KEY, "/v1/refunds").await;
        assert_eq!(page["data"], json!([]), "nothing recorded");
        assert_eq!(provider.calls(), 0, "nothing sent");

        // Dots inside an id are ordinary characters of one segment.
        for (n, payment) in ["...", "a/..", "./b"].into_iter().enumerate() {
            let body = json!({"payment_id": payment, "amount": "1.00", "currency": "EUR",
                              "customer_id": format!("../u{n}")});
            let response = app.post_refund(ACME_KEY, None, &body).await;
            assert_eq!(response.status().as_u16(), 201, "{payment}");
        }
        assert_eq!(provider.calls(), 3);
    }
);
