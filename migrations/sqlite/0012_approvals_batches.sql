-- Finance operations (DESIGN §19).
--
-- Approvals: a refund awaiting approval is a pending refund whose pending_reason is
-- 'awaiting_approval' (no queued_at: it is not in the send queue). The partial index holds
-- only those, for the console's queue and the expiry pass (oldest first); every other refund
-- costs it nothing.
CREATE INDEX refunds_awaiting_approval ON refunds (created_at)
    WHERE pending_reason = 'awaiting_approval';

-- Bulk refunds: one row per batch, one per row of its file. Every row is stored (validated)
-- before the batch is answered; the worker turns rows into refunds in row order, each with
-- its own Idempotency-Key ('batch:{id}:{row}' or the row's own), so a process that dies
-- between creating a refund and marking its row finds the refund again on resume and never
-- refunds the row twice. 'lease_until' keeps two processes off one batch at a time.
CREATE TABLE refund_batches (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    idempotency_key TEXT,
    -- SHA-256 of the file and its options: the same key with another file is refused.
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    total INTEGER NOT NULL,
    -- Rows refused at validation and skipped (skip_invalid=true): failed from the start.
    skipped INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    completed_at INTEGER,
    lease_until INTEGER
);
CREATE UNIQUE INDEX refund_batches_key_once ON refund_batches (merchant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX refund_batches_by_merchant ON refund_batches (merchant_id, id);
CREATE INDEX refund_batches_running ON refund_batches (created_at) WHERE status = 'running';

CREATE TABLE refund_batch_rows (
    batch_id TEXT NOT NULL REFERENCES refund_batches (id),
    row_number INTEGER NOT NULL,
    -- The row as a refund body (JSON); null for a row refused at validation.
    body TEXT,
    -- The row's own idempotency_key column, if it had one.
    idempotency_key TEXT,
    -- 'pending' (to do), 'created' (a refund exists), 'failed' (refused, with the error).
    state TEXT NOT NULL,
    refund_id TEXT,
    error_code TEXT,
    error_message TEXT,
    error_param TEXT,
    PRIMARY KEY (batch_id, row_number)
);
