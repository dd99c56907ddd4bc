-- The queue of refunds never sent (DESIGN §17): a refund recorded while its provider
-- account's circuit breaker is open, or whose call provably never left, waits here until the
-- breaker lets it go. `pending_reason` says why a pending refund has not been sent (null for
-- every refund that was sent, whatever its outcome); `queued_at` is when it joined the queue
-- (the drain takes the oldest first, and `queue_max_age_ms` counts from it). Both are null
-- once the refund leaves the queue, so the partial index holds the queue and nothing else.
ALTER TABLE refunds ADD COLUMN pending_reason TEXT;
ALTER TABLE refunds ADD COLUMN queued_at BIGINT;
CREATE INDEX refunds_send_queue ON refunds (provider, account, queued_at)
    WHERE queued_at IS NOT NULL;
