-- Retention (DESIGN §15): the housekeeping worker deletes old webhook receipts and the
-- non-essential history of final refunds in small batches; these indexes let each batch find
-- its rows without scanning the tables. The events index is partial: it holds only the kinds
-- that may ever be purged (creation, status changes and flags are kept for good), so rows
-- kept forever never slow the search down.
CREATE INDEX webhook_receipts_by_received ON webhook_receipts (received_at);
CREATE INDEX refund_events_purgeable ON refund_events (created_at)
    WHERE kind NOT IN ('created', 'status_changed', 'requires_attention');
