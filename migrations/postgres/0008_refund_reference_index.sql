-- no-transaction
-- The merchant's reference is unique per merchant only where there is one: a partial unique
-- index replaces the table's UNIQUE (merchant_id, reference), whose entries for refunds
-- without a reference (most of them) were written on every insert and every update and never
-- read. Built CONCURRENTLY, so a live table takes writes meanwhile; alone in its file because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block (and a file of several
-- statements is one). Migration 0009 drops the old constraint once this index exists. The
-- queries it serves: the create step's uniqueness (ON CONFLICT DO NOTHING, and the reference
-- check of the transactional path) and `GET /v1/refunds?reference=` (merchant_id =, reference =).
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS refunds_reference_once
    ON refunds (merchant_id, reference) WHERE reference IS NOT NULL
