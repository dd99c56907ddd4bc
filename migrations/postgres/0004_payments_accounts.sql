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
-- the payment, whichever gateway process takes them.
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
SELECT DISTINCT ON (provider, payment_id)
       provider, 'default', payment_id, merchant_id, currency, NULL, created_at, created_at
FROM refunds
ORDER BY provider, payment_id, id;

-- A provider event id is unique per account, not per provider: a webhook verified with one
-- merchant's account secret must not be able to mark another account's event as received.
ALTER TABLE webhook_receipts ADD COLUMN account TEXT NOT NULL DEFAULT 'default';
ALTER TABLE webhook_receipts DROP CONSTRAINT webhook_receipts_pkey;
ALTER TABLE webhook_receipts ADD PRIMARY KEY (provider, account, event_id);
