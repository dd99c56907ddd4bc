-- Finance (DESIGN §10). Every posting is written at most once per refund, kind and account:
-- the unique key is what makes a repeated void report or a re-imported statement post
-- nothing twice, whichever process does it. Lookups for statement matching and the
-- missing-in-statement scan get their indexes.
DROP INDEX ledger_entries_by_refund;
CREATE UNIQUE INDEX ledger_entries_once ON ledger_entries (refund_id, entry_kind, account);
CREATE INDEX ledger_entries_by_kind_time ON ledger_entries (entry_kind, created_at);
CREATE INDEX refunds_by_provider_refund_id ON refunds (provider, provider_refund_id);
