//! The merchants' webhook endpoint: records every delivery (body as received), and can be
//! told to answer 503 (down) so deliveries are retried.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::Value;

#[derive(Debug, Default)]
struct Inbox {
    down: AtomicBool,
    received: Mutex<Vec<Value>>,
}

/// A running endpoint on a loopback port (served until the runtime stops).
#[derive(Debug, Clone)]
pub struct Receiver {
    pub base_url: String,
    inbox: Arc<Inbox>,
}

impl Receiver {
    pub async fn start() -> Self {
        let inbox = Arc::new(Inbox::default());
        let app = Router::new()
            .route("/{merchant}", post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the merchant endpoint");
        let port = listener.local_addr().expect("local address").port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            inbox,
        }
    }

    pub fn set_down(&self, down: bool) {
        self.inbox.down.store(down, Ordering::SeqCst);
    }

    /// Every delivery so far, in arrival order.
    pub fn received(&self) -> Vec<Value> {
        self.inbox
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, body: String) -> StatusCode {
    if inbox.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let value = serde_json::from_str(&body).unwrap_or(Value::Null);
    inbox
        .received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(value);
    StatusCode::OK
}
