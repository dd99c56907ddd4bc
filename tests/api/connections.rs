//! Connection limits (DESIGN §15): a connection that never finishes its headers is closed
//! after `server.header_read_timeout_ms`, and at most `server.max_connections` are served at
//! once. These are about sockets, not the store, so they run on SQLite only.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Opens a connection and sends the start of a request that never ends.
async fn half_request(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
        .await
        .expect("write");
    stream
}

/// Reads until the server closes the connection; `false` if it is still open at `deadline`.
async fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_headers_are_closed_after_the_timeout() {
    let provider = fake(Script::Succeed);
    let Some(app) = spawn_app_with(Db::Sqlite, provider, "header_read_timeout_ms = 500", "").await
    else {
        return;
    };
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..300 {
        slow.push(half_request(&host(&app)).await);
    }
    // Normal requests are served meanwhile.
    let answer = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("healthz");
    assert_eq!(answer.status().as_u16(), 200);

    let deadline = started + Duration::from_secs(5);
    let mut still_open = 0;
    for stream in &mut slow {
        if !closed_by(stream, deadline).await {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "of 300 slow connections");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "closed before the timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_beyond_the_cap_waits_until_one_is_freed() {
    let provider = fake(Script::Succeed);
    let lines = "max_connections = 4\nheader_read_timeout_ms = 30000";
    let Some(app) = spawn_app_with(Db::Sqlite, provider, lines, "").await else {
        return;
    };
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(half_request(&host(&app)).await);
    }
    // Let the server accept the four.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut fifth = TcpStream::connect(host(&app)).await.expect("connect");
    fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let waited = tokio::time::timeout(Duration::from_secs(1), fifth.read_to_end(&mut answer)).await;
    assert!(
        waited.is_err(),
        "the fifth connection was served while four were held: {}",
        String::from_utf8_lossy(&answer)
    );

    // One held connection goes away: the fifth is served.
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(5), fifth.read_to_end(&mut answer))
        .await
        .expect("served once a connection was freed")
        .expect("read");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_request_in_flight_then_stops_accepting() {
    let provider = fake_slow(Duration::from_millis(600));
    let Some(mut app) = spawn_app(Db::Sqlite, provider).await else {
        return;
    };
    let client = app.client.clone();
    let url = format!("{}/v1/refunds", app.address);
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(ACME_KEY)
            .json(&serde_json::json!({"payment_id": "pay_1", "amount": "1.00", "currency": "EUR"}))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.begin_shutdown();
    let answer = in_flight.await.expect("task").expect("answered");
    assert_eq!(answer.status().as_u16(), 201);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        TcpStream::connect(host(&app)).await.is_err(),
        "still accepting after shutdown"
    );
}
