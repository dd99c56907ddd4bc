//! The audit log (DESIGN §18): append-only entries of what operators did and of reloads.
//!
//! Three ways in, one row shape:
//! - [`Store::append_audit`]: an entry on its own (a reload, a settling import once its
//!   batches are written);
//! - `Change::audit` (see [`super::records::Change`]): the entry of a change to one refund
//!   (a resolve), written by the same writer step (SQLite) or the same statement
//!   (PostgreSQL) as the change, so the action and its entry cannot diverge;
//! - [`insert_sqlite`] / [`AuditInsert`] for a writer step or a PostgreSQL transaction of
//!   another module that must record its action atomically with it.
//!
//! Nothing updates or deletes a row.

use rusqlite::{params, Connection};
use sqlx::Row;

use super::writer::sqlite_error;
use super::{prepare, Bind, Store, StoreError};
use crate::domain::audit::new_audit_id;
use crate::domain::{AuditEvent, AuditKind, NewAuditEvent};

/// The query of `GET /v1/audit_events`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub(crate) actor: Option<String>,
    pub(crate) kind: Option<AuditKind>,
    pub(crate) created_gte: Option<i64>,
    pub(crate) created_lt: Option<i64>,
    /// The id of the last entry of the previous page.
    pub(crate) starting_after: Option<String>,
    /// 1-100.
    pub(crate) limit: u32,
}

/// An entry ready to insert: its id and time fixed, its detail as text.
#[derive(Debug, Clone)]
pub(crate) struct AuditInsert {
    pub(crate) event: AuditEvent,
    detail_text: String,
}

/// The one INSERT, with `$N` placeholders for both backends.
pub(crate) const INSERT_SQL: &str =
    "INSERT INTO audit_events (id, created_at, actor, kind, target, detail) \
     VALUES ($1, $2, $3, $4, $5, $6)";

impl AuditInsert {
    pub(crate) fn new(new: &NewAuditEvent, now: i64) -> Self {
        let event = AuditEvent {
            id: new_audit_id(),
            created_at: now,
            actor: new.actor.clone(),
            kind: new.kind.as_str().to_owned(),
            target: new.target.clone(),
            detail: new.detail.clone(),
        };
        let detail_text = new.detail.to_string();
        Self { event, detail_text }
    }

    /// Its values in [`INSERT_SQL`]'s order.
    pub(crate) fn binds(&self) -> Vec<Bind> {
        vec![
            Bind::Text(Some(self.event.id.clone())),
            Bind::Int(Some(self.event.created_at)),
            Bind::Text(Some(self.event.actor.clone())),
            Bind::Text(Some(self.event.kind.clone())),
            Bind::Text(self.event.target.clone()),
            Bind::Text(Some(self.detail_text.clone())),
        ]
    }

    /// Runs the insert in a PostgreSQL (or any sqlx) transaction of the caller's.
    pub(crate) async fn execute<'c, E>(&self, executor: E) -> Result<(), StoreError>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        let mut query = sqlx::query(INSERT_SQL);
        for bind in self.binds() {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(int) => query.bind(int),
            };
        }
        query.execute(executor).await?;
        Ok(())
    }
}

/// Inserts `new` at `now` inside a writer step (SQLite): kept or rolled back with the step.
pub(crate) fn insert_sqlite(
    conn: &Connection,
    new: &NewAuditEvent,
    now: i64,
) -> Result<AuditEvent, StoreError> {
    let insert = AuditInsert::new(new, now);
    let e = &insert.event;
    prepare(conn, INSERT_SQL)?
        .execute(params![
            e.id,
            e.created_at,
            e.actor,
            e.kind,
            e.target,
            insert.detail_text
        ])
        .map_err(sqlite_error)?;
    Ok(insert.event)
}

impl Store {
    /// Appends one entry on its own; returns it as stored.
    pub async fn append_audit(&self, new: NewAuditEvent) -> Result<AuditEvent, StoreError> {
        let now = self.now();
        if let Some(writer) = &self.sqlite {
            return writer
                .write(move |conn| Ok((insert_sqlite(conn, &new, now)?, true)))
                .await;
        }
        let insert = AuditInsert::new(&new, now);
        insert.execute(&self.pool).await?;
        Ok(insert.event)
    }

    /// Entries matching `filter`, newest first, at most `filter.limit + 1` (the extra one
    /// says there is more).
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let mut sql = String::from(
            "SELECT id, created_at, actor, kind, target, detail FROM audit_events WHERE 1 = 1",
        );
        let mut binds: Vec<Bind> = Vec::new();
        let mut add = |clause: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&format!(" AND {clause} ${}", binds.len()));
        };
        if let Some(actor) = &filter.actor {
            add("actor =", Bind::Text(Some(actor.clone())));
        }
        if let Some(kind) = filter.kind {
            add("kind =", Bind::Text(Some(kind.as_str().to_owned())));
        }
        if let Some(gte) = filter.created_gte {
            add("created_at >=", Bind::Int(Some(gte)));
        }
        if let Some(lt) = filter.created_lt {
            add("created_at <", Bind::Int(Some(lt)));
        }
        if let Some(after) = &filter.starting_after {
            add("id <", Bind::Text(Some(after.clone())));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", filter.limit + 1));
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(int) => query.bind(int),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let detail: String = row.try_get("detail")?;
                Ok(AuditEvent {
                    id: row.try_get("id")?,
                    created_at: row.try_get("created_at")?,
                    actor: row.try_get("actor")?,
                    kind: row.try_get("kind")?,
                    target: row.try_get("target")?,
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| StoreError::Corrupt(format!("audit detail: {e}")))?,
                })
            })
            .collect()
    }
}
