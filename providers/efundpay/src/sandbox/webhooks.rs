//! The simulator's second act: after `webhook_delay_ms` a `processing` refund reaches its
//! final status and a signed `refund.updated` webhook goes to its `webhooks_url`
//! (`eFundPay-Signature`, secret [`super::WEBHOOK_SECRET`]), retried with doubling waits.
//! The `duplicate_webhooks` and `out_of_order_webhooks` faults shape what is sent.

use std::sync::Arc;
use std::time::Duration;

use refund_provider::sandbox_kit::webhook::{pause, WebhookPost};
use time::OffsetDateTime;

use super::config::WEBHOOK_SECRET;
use super::effect::WebhookDelivery;
use super::state::{event_id, timestamp, Shared, Stored};
use crate::webhook::SIGNATURE_HEADER;
use crate::wire::{WebhookEvent, REFUND_UPDATED};

/// Settles `created` later, and tells its `webhooks_url`.
pub(crate) fn schedule(shared: Arc<Shared>, created: Stored) {
    if created.settles_to.is_none() {
        return;
    }
    tokio::spawn(async move {
        let delay = Duration::from_millis(shared.config.webhook_delay_ms);
        if !pause(&shared.stopped, delay).await {
            return;
        }
        let Some(settled) = shared.settle(&created.refund.id) else {
            return;
        };
        if !settled.faults.webhooks_enabled {
            return;
        }
        let event = WebhookEvent {
            id: event_id(),
            event_type: REFUND_UPDATED.into(),
            created_at: Some(timestamp(OffsetDateTime::now_utc())),
            data: settled.refund.clone(),
        };
        let mut events = vec![event.clone()];
        if settled.faults.duplicate_webhooks {
            events.push(event);
        }
        if settled.faults.out_of_order_webhooks {
            // The `processing` news, arriving after the final one.
            events.push(WebhookEvent {
                id: event_id(),
                event_type: REFUND_UPDATED.into(),
                created_at: created.refund.created_at.clone(),
                data: created.refund.clone(),
            });
        }
        for event in &events {
            deliver(&shared, &settled.webhooks_url, event).await;
        }
    });
}

async fn deliver(shared: &Shared, url: &str, event: &WebhookEvent) {
    let Ok(body) = serde_json::to_vec(event) else {
        return;
    };
    let post = WebhookPost {
        http: &shared.http,
        signature_header: SIGNATURE_HEADER,
        content_type: "application/json",
        secret: WEBHOOK_SECRET.as_bytes(),
        attempts: shared.config.webhook_attempts,
        retry: Duration::from_millis(shared.config.webhook_retry_ms),
        stopped: &shared.stopped,
    };
    post.deliver(url, &body, |attempt, answer| {
        shared.record_delivery(WebhookDelivery {
            event_id: event.id.clone(),
            status: event.data.status.clone(),
            url: url.to_owned(),
            attempt,
            answer,
        });
    })
    .await;
}
