-- A merchant event whose delivery was given up on (after 3 days of retries) is done with:
-- it no longer holds back the refund's later events.
ALTER TABLE outbox ADD COLUMN gave_up_at BIGINT;
