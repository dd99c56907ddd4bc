-- A refund re-sent after its provider proved it had no record of it (DESIGN §16): one row
-- per refund, so "a refund is never re-sent twice" rests on the primary key, whichever
-- process decides to re-send. `resent_at` (Unix ms) restarts the not-found grace period.
CREATE TABLE refund_resends (
    refund_id  TEXT PRIMARY KEY REFERENCES refunds (id),
    resent_at  BIGINT NOT NULL
);
