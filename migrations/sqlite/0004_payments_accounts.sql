-- Accounts, payments and the refundable amount (DESIGN §14).
--
-- `refunds.account` names the provider account a refund was made on: 'default' (the
-- provider section's account) or 'merchant:<id>' (that merchant's own account). Every
-- refund made before this migration was made on the default account.
--
-- `payments` holds one row per (provider, account, payment_id): the merchant that owns it,
-- its currency and, once a merchant has told it, its captured amount. Creating a refund
-- locks this row (PostgreSQL: FOR UPDATE; SQLite: the single writer) while it checks what
-- is left to refund and inserts the pending refund, so concurrent refunds can never exceed
-- the payment.
ALTER TABLE refunds ADD COLUMN account TEXT NOT NULL DEFAULT 'default';
CREATE INDEX refunds_by_account_payment ON refunds (provider, account, payment_id);

CREATE TABLE payments (
    provider      TEXT NOT NULL,
    account       TEXT NOT NULL,
    payment_id    TEXT NOT NULL,
    merchant_id   TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (provider, account, payment_id)
);
CREATE INDEX payments_by_merchant ON payments (merchant_id, payment_id);

-- Existing refunds get their payment rows: the owner is the merchant of the payment's
-- earliest refund (refund ids sort by time), its currency that refund's; the captured
-- amount is unknown.
INSERT INTO payments (provider, account, payment_id, merchant_id, currency, amount_minor, created_at, updated_at)
SELECT r.provider, 'default', r.payment_id, r.merchant_id, r.currency, NULL, r.created_at, r.created_at
FROM refunds r
WHERE r.id = (SELECT MIN(f.id) FROM refunds f
              WHERE f.provider = r.provider AND f.account = 'default' AND f.payment_id = r.payment_id);

-- A provider event id is unique per account, not per provider: a webhook verified with one
-- merchant's account secret must not be able to mark another account's event as received.
CREATE TABLE webhook_receipts_by_account (
    provider     TEXT NOT NULL,
    account      TEXT NOT NULL DEFAULT 'default',
    event_id     TEXT NOT NULL,
    refund_id    TEXT,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, account, event_id)
);
INSERT INTO webhook_receipts_by_account (provider, account, event_id, refund_id, received_at)
SELECT provider, 'default', event_id, refund_id, received_at FROM webhook_receipts;
DROP TABLE webhook_receipts;
ALTER TABLE webhook_receipts_by_account RENAME TO webhook_receipts;
