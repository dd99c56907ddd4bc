//! PostgreSQL's change of a refund as ONE statement: the guarded update, then (each only if
//! the update happened) the history lines, ledger lines, merchant event, idempotent answer,
//! webhook receipt and audit event, as data-modifying CTEs.

use super::Receipt;
use crate::domain::refund_object::{merchant_event, new_event_id, RefundObject};
use crate::domain::NewAuditEvent;
use crate::ledger::LedgerLine;
use crate::store::records::OutboxMessage;
use crate::store::{Bind, Change, NewEvent, RefundRecord};

/// The one PostgreSQL statement that writes a change: the guarded update, then (each only if
/// the update happened) the history lines, ledger lines, merchant event, idempotent answer
/// and webhook receipt.
#[derive(Debug)]
pub(super) struct ChangeStatement {
    pub(super) sql: String,
    pub(super) binds: Vec<Bind>,
}

impl ChangeStatement {
    pub(super) fn new(
        before: &RefundRecord,
        after: &RefundRecord,
        change: &Change,
        receipt: Option<&Receipt>,
        now: i64,
    ) -> Self {
        let mut statement = Self::update(before, after, now);
        statement.events(&change.events);
        statement.ledger(&change.ledger);
        if let Some(outbox) = &change.outbox {
            statement.outbox(outbox, after, now);
        }
        if let Some(key) = &change.idempotency_key {
            statement.answer(key, after);
        }
        if let Some(receipt) = receipt {
            statement.receipt(receipt);
        }
        if let Some(audit) = &change.audit {
            statement.audit(audit, now);
        }
        statement
            .sql
            .push_str(" SELECT COUNT(*) AS applied FROM updated");
        statement
    }

    /// The guarded update every other part hangs on (`$12` is `now` throughout).
    fn update(before: &RefundRecord, after: &RefundRecord, now: i64) -> Self {
        let binds = vec![
            Bind::Text(Some(after.status.as_str().to_owned())),
            Bind::Text(after.provider_refund_id.clone()),
            Bind::Text(after.amount.clone()),
            Bind::Int(after.amount_minor),
            Bind::Text(Some(after.breakdown.to_string())),
            Bind::Text(after.failure_code.as_ref().map(|c| c.as_str().to_owned())),
            Bind::Text(after.failure_message.clone()),
            Bind::Int(Some(i64::from(after.requires_attention))),
            Bind::Int(after.next_sync_at),
            Bind::Int(Some(after.sync_attempts)),
            Bind::Int(Some(after.version)),
            Bind::Int(Some(now)),
            Bind::Text(Some(before.id.to_string())),
            Bind::Int(Some(before.version)),
            Bind::Text(after.pending_reason.as_ref().map(|r| r.as_str().to_owned())),
            Bind::Int(after.queued_at),
        ];
        let sql = String::from(
            "WITH updated AS (UPDATE refunds SET status = $1, provider_refund_id = $2, \
             amount = $3, amount_minor = $4, breakdown = $5, failure_code = $6, \
             failure_message = $7, requires_attention = $8, next_sync_at = $9, \
             sync_attempts = $10, version = $11, lease_until = NULL, updated_at = $12, \
             pending_reason = $15, queued_at = $16 \
             WHERE id = $13 AND version = $14 RETURNING id)",
        );
        Self { sql, binds }
    }

    /// Binds `value` as the next parameter and returns its placeholder.
    fn push(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn events(&mut self, events: &[NewEvent]) {
        if events.is_empty() {
            return;
        }
        let rows: Vec<String> = events
            .iter()
            .map(|event| {
                format!(
                    "({}::text, {}::text, {}::text, {}::text, {}::text)",
                    self.push(Bind::Text(Some(event.kind.as_str().to_owned()))),
                    self.push(Bind::Text(event.status.map(|s| s.as_str().to_owned()))),
                    self.push(Bind::Text(
                        event.previous_status.map(|s| s.as_str().to_owned())
                    )),
                    self.push(Bind::Text(Some(event.source.as_str().to_owned()))),
                    self.push(Bind::Text(Some(event.detail.to_string()))),
                )
            })
            .collect();
        self.sql.push_str(&format!(
            ", events AS (INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
             SELECT updated.id, v.kind, v.status, v.previous_status, v.source, v.detail, $12 \
             FROM updated, (VALUES {}) AS v(kind, status, previous_status, source, detail))",
            rows.join(", ")
        ));
    }

    fn ledger(&mut self, lines: &[LedgerLine]) {
        if lines.is_empty() {
            return;
        }
        let rows: Vec<String> = lines
            .iter()
            .map(|line| {
                format!(
                    "({}::text, {}::text, {}::text, {}::bigint)",
                    self.push(Bind::Text(Some(line.entry_kind.as_str().to_owned()))),
                    self.push(Bind::Text(Some(line.account.clone()))),
                    self.push(Bind::Text(Some(line.currency.clone()))),
                    self.push(Bind::Int(Some(line.amount_minor))),
                )
            })
            .collect();
        self.sql.push_str(&format!(
            ", ledger AS (INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
             SELECT updated.id, v.kind, v.account, v.currency, v.amount, $12 \
             FROM updated, (VALUES {}) AS v(kind, account, currency, amount) ON CONFLICT DO NOTHING)",
            rows.join(", ")
        ));
    }

    fn outbox(&mut self, outbox: &OutboxMessage, after: &RefundRecord, now: i64) {
        let event_id = new_event_id();
        let payload = merchant_event(&event_id, outbox.event_type.as_str(), now, after);
        let sql = format!(
            ", outbox AS (INSERT INTO outbox (event_id, merchant_id, refund_id, event_type, payload, created_at, next_attempt_at) \
             SELECT {}, {}, updated.id, {}, {}, $12, $12 FROM updated)",
            self.push(Bind::Text(Some(event_id.clone()))),
            self.push(Bind::Text(Some(after.merchant_id.clone()))),
            self.push(Bind::Text(Some(outbox.event_type.as_str().to_owned()))),
            self.push(Bind::Text(Some(payload))),
        );
        self.sql.push_str(&sql);
    }

    fn answer(&mut self, key: &str, after: &RefundRecord) {
        let sql = format!(
            ", answer AS (UPDATE idempotency_keys SET response_status = 201, response_body = {} \
             FROM updated WHERE merchant_id = {} AND idem_key = {} AND response_body IS NULL)",
            self.push(Bind::Text(Some(RefundObject::from(after).to_json()))),
            self.push(Bind::Text(Some(after.merchant_id.clone()))),
            self.push(Bind::Text(Some(key.to_owned()))),
        );
        self.sql.push_str(&sql);
    }

    fn receipt(&mut self, receipt: &Receipt) {
        let sql = format!(
            ", receipt AS (INSERT INTO webhook_receipts (provider, account, event_id, refund_id, received_at) \
             SELECT {}, {}, {}, updated.id, $12 FROM updated \
             ON CONFLICT (provider, account, event_id) DO NOTHING)",
            self.push(Bind::Text(Some(receipt.provider.clone()))),
            self.push(Bind::Text(Some(receipt.account.clone()))),
            self.push(Bind::Text(Some(receipt.event_id.clone()))),
        );
        self.sql.push_str(&sql);
    }

    fn audit(&mut self, audit: &NewAuditEvent, now: i64) {
        let insert = crate::store::audit::AuditInsert::new(audit, now);
        let values: Vec<String> = insert
            .binds()
            .into_iter()
            .map(|bind| self.push(bind))
            .collect();
        self.sql.push_str(&format!(
            ", audit AS (INSERT INTO audit_events (id, created_at, actor, kind, target, detail) \
             SELECT {}::text, {}::bigint, {}::text, {}::text, {}::text, {}::text FROM updated)",
            values[0], values[1], values[2], values[3], values[4], values[5]
        ));
    }
}
