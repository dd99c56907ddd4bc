//! `/metrics` labels come from closed sets only (DESIGN §15): invented methods and paths
//! must not grow the exposition.

use reqwest::Method;

use crate::both_backends;
use crate::helpers::*;

async fn metrics_text(app: &TestApp) -> String {
    app.client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text")
}

/// One request with an invented method and one with an invented path per `i`.
async fn odd_requests(app: &TestApp, range: std::ops::Range<usize>) {
    for i in range {
        let method = Method::from_bytes(format!("BREW{i}").as_bytes()).expect("method");
        let answer = app
            .client
            .request(method, format!("{}/v1/refunds", app.address))
            .bearer_auth(ACME_KEY)
            .send()
            .await
            .expect("odd method");
        assert!(answer.status().is_client_error(), "{}", answer.status());
        let answer = app
            .client
            .get(format!("{}/teapot-{i}/x{i}", app.address))
            .send()
            .await
            .expect("odd path");
        assert_eq!(answer.status().as_u16(), 404);
        let answer = app
            .get(ACME_KEY, &format!("/v1/refunds/rf_invented{i}"))
            .await;
        assert_eq!(answer.status().as_u16(), 404);
    }
}

both_backends!(
    invented_methods_and_paths_never_become_metric_labels,
    |db| async move {
        let Some(app) = spawn_app(db, fake(Script::Succeed)).await else {
            return;
        };
        // Every label value these requests can produce exists after the first round.
        odd_requests(&app, 0..2).await;
        // The background workers publish their series (the breakers') on their first pass,
        // which may come after the first requests when the pool is still connecting.
        refund_test_support::poll_until(
            std::time::Duration::from_secs(10),
            std::time::Duration::from_millis(20),
            || metrics_text(&app),
            |text: &String| text.contains("refund_gateway_breaker_state{"),
        )
        .await;
        let before = metrics_text(&app).await;
        odd_requests(&app, 2..62).await;
        let after = metrics_text(&app).await;

        for invented in ["BREW", "teapot", "rf_invented"] {
            assert!(!after.contains(invented), "{invented} in:\n{after}");
        }
        assert!(after.contains(r#"method="other""#), "{after}");
        assert!(after.contains(r#"route="unmatched""#), "{after}");
        assert!(after.contains(r#"route="/v1/refunds/{id}""#), "{after}");
        // Only counts and sums change: no new series.
        let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(
            series(&after),
            series(&before),
            "before:\n{before}\nafter:\n{after}"
        );
        assert!(
            after.len() < before.len() + 512,
            "{} bytes grew to {}",
            before.len(),
            after.len()
        );
    }
);
