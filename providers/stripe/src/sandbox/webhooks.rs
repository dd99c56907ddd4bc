//! The simulator's events: `refund.created` (and a `charge.refunded`, an event type the
//! adapter acknowledges and ignores) when a refund is created, then, after
//! `settle_after_ms`, the refund's next status as `refund.updated` or `refund.failed`, each
//! signed with `Stripe-Signature` ([`super::WEBHOOK_SECRET`]) and posted to the configured
//! webhook endpoint, retried with doubling waits. The `duplicate_webhooks` and
//! `out_of_order_webhooks` faults shape what is sent.

use std::sync::Arc;
use std::time::Duration;

use refund_provider::sandbox_kit::webhook::{pause, WebhookPost};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::config::WEBHOOK_SECRET;
use super::effect::WebhookDelivery;
use super::state::{random_id, Shared, Stored};
use crate::webhook::SIGNATURE_HEADER;
use crate::wire::{Event, EventData, EVENT_OBJECT};

/// Sends the creation events of `created`, settles it later and sends that too.
pub(crate) fn schedule(shared: Arc<Shared>, created: Stored) {
    tokio::spawn(async move {
        let faults = created.faults.clone();
        let mut sent = Vec::new();
        if faults.webhooks_enabled {
            let refund_created = event("refund.created", &created, None);
            let charge_refunded = charge_refunded(&created);
            for event in [refund_created.clone(), charge_refunded] {
                deliver_with_faults(&shared, &created, &event).await;
            }
            sent.push(refund_created);
        }
        if created.next.is_none() {
            return;
        }
        let delay = Duration::from_millis(shared.config.settle_after_ms);
        if !pause(&shared.stopped, delay).await {
            return;
        }
        let Some((before, after)) = shared.settle(&created.refund.id) else {
            return;
        };
        if !faults.webhooks_enabled {
            return;
        }
        let kind = if after.refund.status.as_deref() == Some("failed") {
            "refund.failed"
        } else {
            "refund.updated"
        };
        let previous = json!({"status": before.refund.status});
        deliver_with_faults(&shared, &after, &event(kind, &after, Some(previous))).await;
        if faults.out_of_order_webhooks {
            // The creation-time news again, after the final one: stale.
            let mut stale = event("refund.updated", &created, None);
            stale.created = created.refund.created;
            deliver(&shared, &stale).await;
        }
    });
}

/// The event of `kind` about `stored`'s refund as it is now.
fn event(kind: &str, stored: &Stored, previous: Option<Value>) -> Event {
    Event {
        id: format!("evt_{}", random_id(24)),
        object: EVENT_OBJECT.into(),
        api_version: None,
        created: OffsetDateTime::now_utc().unix_timestamp(),
        data: EventData {
            object: serde_json::to_value(&stored.refund).unwrap_or(Value::Null),
            previous_attributes: previous,
        },
        livemode: false,
        pending_webhooks: 1,
        request: Some(json!({"id": null, "idempotency_key": stored.idempotency_key})),
        event_type: kind.into(),
    }
}

/// `charge.refunded`: about the charge, not the refund.
fn charge_refunded(stored: &Stored) -> Event {
    let refund = &stored.refund;
    let mut event = event("charge.refunded", stored, None);
    event.data.object = json!({
        "id": refund.charge,
        "object": "charge",
        "amount_refunded": refund.amount,
        "currency": refund.currency,
        "payment_intent": refund.payment_intent,
        "refunded": false,
    });
    event
}

async fn deliver_with_faults(shared: &Shared, stored: &Stored, event: &Event) {
    deliver(shared, event).await;
    if stored.faults.duplicate_webhooks {
        deliver(shared, event).await;
    }
}

async fn deliver(shared: &Shared, event: &Event) {
    let Some(url) = shared.webhook_url() else {
        return;
    };
    let Ok(body) = serde_json::to_vec(event) else {
        return;
    };
    let status = event.data.object["status"]
        .as_str()
        .filter(|_| event.data.object["object"] == "refund")
        .unwrap_or_default()
        .to_owned();
    let post = WebhookPost {
        http: &shared.http,
        signature_header: SIGNATURE_HEADER,
        content_type: "application/json; charset=utf-8",
        secret: WEBHOOK_SECRET.as_bytes(),
        attempts: shared.config.webhook_attempts,
        retry: Duration::from_millis(shared.config.webhook_retry_ms),
        stopped: &shared.stopped,
    };
    post.deliver(&url, &body, |attempt, answer| {
        shared.record_delivery(WebhookDelivery {
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            status: status.clone(),
            url: url.clone(),
            attempt,
            answer,
        });
    })
    .await;
}
