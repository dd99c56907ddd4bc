-- SQLite counterpart of PostgreSQL's 0008/0009 (issue 22): (merchant_id, payment_id) repeated
-- what (payment_id, provider, account) already serves (every query naming a payment names
-- its id, and a payment has a handful of refunds), so the writer thread stops maintaining it.
-- The UNIQUE (merchant_id, reference) stays: SQLite cannot drop a table constraint without
-- rebuilding the table, which a migration at start must not do to a large store.
DROP INDEX IF EXISTS refunds_by_payment;
