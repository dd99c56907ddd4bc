//! Rate limits (DESIGN §15): `server.rate_limit_per_second` per API key with a burst of
//! twice that, `429 rate_limited` with `Retry-After` beyond, `0` turns it off; failed
//! authentications count per client address.

use std::net::IpAddr;

use crate::both_backends;
use crate::helpers::*;

/// Sends `n` `GET /v1/me` with `key` one after the other; the statuses in order.
async fn statuses(app: &TestApp, client: &reqwest::Client, key: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        let answer = client
            .get(format!("{}/v1/me", app.address))
            .bearer_auth(key)
            .send()
            .await
            .expect("request");
        out.push(answer.status().as_u16());
    }
    out
}

fn client_from(address: &str) -> reqwest::Client {
    let ip: IpAddr = address.parse().expect("ip");
    reqwest::Client::builder()
        .local_address(ip)
        .build()
        .expect("client")
}

both_backends!(
    a_key_past_its_burst_gets_429_rate_limited_with_retry_after_and_other_keys_do_not,
    |db| async move {
        let provider = fake(Script::Succeed);
        // 2 per second, burst 4: one more every 500 ms.
        let Some(app) = spawn_app_with(db, provider, "rate_limit_per_second = 2", "").await else {
            return;
        };
        let started = std::time::Instant::now();
        let seen = statuses(&app, &app.client, ACME_KEY, 8).await;
        let refilled = usize::try_from(started.elapsed().as_millis() / 500).unwrap_or(0);
        assert_eq!(seen[..4], [200; 4], "{seen:?}");
        let passed = seen.iter().filter(|s| **s == 200).count();
        assert!(passed <= 4 + refilled, "{passed} passed in {seen:?}");
        assert!(seen.contains(&429), "{seen:?}");

        let answer = app.get(ACME_KEY, "/v1/me").await;
        let retry_after = answer
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let error = assert_error(answer, 429, "rate_limited").await;
        assert_eq!(error["type"], "rate_limited");
        assert_eq!(retry_after, Some(1), "Retry-After in whole seconds");

        // Another merchant's key has its own budget.
        assert_eq!(statuses(&app, &app.client, GLOBEX_KEY, 4).await, [200; 4]);

        // And the key gets its budget back with time.
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        assert_eq!(statuses(&app, &app.client, ACME_KEY, 1).await, [200]);
    }
);

both_backends!(zero_turns_the_rate_limit_off, |db| async move {
    let provider = fake(Script::Succeed);
    let Some(app) = spawn_app_with(db, provider, "rate_limit_per_second = 0", "").await else {
        return;
    };
    assert_eq!(statuses(&app, &app.client, ACME_KEY, 60).await, [200; 60]);
    let wrong = statuses(&app, &app.client, "sk_guess", 40).await;
    assert_eq!(wrong, [401; 40]);
});

both_backends!(
    failed_authentications_are_limited_per_client_address,
    |db| async move {
        let provider = fake(Script::Succeed);
        let Some(app) = spawn_app(db, provider).await else {
            return;
        };
        let guesser = client_from("127.0.0.1");
        let mut seen = Vec::new();
        for i in 0..30 {
            let answer = guesser
                .get(format!("{}/v1/me", app.address))
                .bearer_auth(format!("sk_guess_{i}"))
                .send()
                .await
                .expect("request");
            seen.push(answer.status().as_u16());
        }
        assert_eq!(seen[..20], [401; 20], "{seen:?}");
        assert!(
            seen[20..].iter().filter(|s| **s == 429).count() >= 8,
            "{seen:?}"
        );

        // While over its budget the address learns nothing, even with a right key…
        let answer = guesser
            .get(format!("{}/v1/me", app.address))
            .bearer_auth(ACME_KEY)
            .send()
            .await
            .expect("request");
        assert!(answer.headers().contains_key("retry-after"));
        assert_error(answer, 429, "rate_limited").await;

        // …and the merchant calling from another address is not held back.
        let merchant = client_from("127.0.0.2");
        assert_eq!(statuses(&app, &merchant, ACME_KEY, 3).await, [200; 3]);
    }
);
