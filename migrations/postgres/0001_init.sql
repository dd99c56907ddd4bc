-- Refunds, their append-only history, idempotency keys, webhook receipts, the merchant-event
-- outbox and the double-entry ledger. Times are Unix milliseconds.

CREATE TABLE refunds (
    id                  TEXT PRIMARY KEY,
    merchant_id         TEXT NOT NULL,
    provider            TEXT NOT NULL,
    provider_refund_id  TEXT,
    provider_reference  TEXT NOT NULL,
    payment_id          TEXT NOT NULL,
    amount              TEXT,
    amount_minor        BIGINT,
    currency            TEXT NOT NULL,
    status              TEXT NOT NULL,
    failure_code        TEXT,
    failure_message     TEXT,
    reason              TEXT,
    reference           TEXT,
    customer_id         TEXT,
    metadata            TEXT NOT NULL DEFAULT '{}',
    provider_options    TEXT NOT NULL DEFAULT 'null',
    breakdown           TEXT NOT NULL DEFAULT '[]',
    requires_attention  BIGINT NOT NULL DEFAULT 0,
    idempotency_key     TEXT,
    version             BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    next_sync_at        BIGINT,
    sync_attempts       BIGINT NOT NULL DEFAULT 0,
    lease_until         BIGINT,
    UNIQUE (merchant_id, reference),
    UNIQUE (provider, provider_reference)
);
CREATE INDEX refunds_by_merchant ON refunds (merchant_id, id);
CREATE INDEX refunds_by_created ON refunds (created_at);
CREATE INDEX refunds_due_for_sync ON refunds (next_sync_at) WHERE next_sync_at IS NOT NULL;
CREATE INDEX refunds_by_payment ON refunds (merchant_id, payment_id);

CREATE TABLE refund_events (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    refund_id        TEXT NOT NULL REFERENCES refunds (id),
    kind             TEXT NOT NULL,
    status           TEXT,
    previous_status  TEXT,
    source           TEXT NOT NULL,
    detail           TEXT NOT NULL DEFAULT '{}',
    created_at       BIGINT NOT NULL
);
CREATE INDEX refund_events_by_refund ON refund_events (refund_id, id);

CREATE TABLE idempotency_keys (
    merchant_id      TEXT NOT NULL,
    idem_key         TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    refund_id        TEXT,
    response_status  BIGINT,
    response_body    TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, idem_key)
);
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

CREATE TABLE webhook_receipts (
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    refund_id    TEXT,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id         TEXT NOT NULL UNIQUE,
    merchant_id      TEXT NOT NULL,
    refund_id        TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    delivered_at     BIGINT,
    last_error       TEXT,
    lease_until      BIGINT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;

CREATE TABLE ledger_entries (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    refund_id     TEXT,
    entry_kind    TEXT NOT NULL,
    account       TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX ledger_entries_by_refund ON ledger_entries (refund_id);
