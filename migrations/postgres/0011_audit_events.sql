-- The audit log (DESIGN §18): append-only, one row per operator action or reload. Nothing
-- updates or deletes a row (retention leaves it alone). `id` is `ae_` + a UUIDv7, so it
-- orders the rows by creation: the list pages newest first by id, like the refunds list.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL
);
-- The list's filters, each newest first by id.
CREATE INDEX audit_events_by_actor ON audit_events (actor, id);
CREATE INDEX audit_events_by_kind ON audit_events (kind, id);
CREATE INDEX audit_events_by_created ON audit_events (created_at);
