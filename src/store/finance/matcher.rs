//! The reads of statement matching, at the pace a million-line statement needs (issue 15).
//!
//! On SQLite they run on a read-only rusqlite connection of their own (WAL lets it read
//! beside the writer thread), off the async runtime (`spawn_blocking`), as cached prepared
//! point lookups: one index probe per line by `(provider, provider_reference)`, else by
//! `(provider, provider_refund_id)`, each with its settlement and void flags from one range
//! of the ledger's unique index. The profile of the sqlx path this replaces (a million
//! lines: 54 s) put 39 % of the samples on sqlx's SQLite worker thread and another third of
//! the main thread in handing rows over from it and converting them (`AnyRow`), with
//! `sqlite3_bind_parameter_name` alone at 3.5 % (sqlx looks each `$N` of a 1,000-key `IN`
//! list up by name).
//!
//! The refunds missing from a statement are found by streaming the `refund_succeeded`
//! postings of the period (the kind/time index) and looking up, one by one, only those the
//! statement did not name; the old join checked every posting's refund and void first.
//!
//! On PostgreSQL both go through the pool as before (batched `IN` lookups, a streamed join).

use std::sync::{Arc, Mutex};

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use sqlx::Row;

use super::{MatchColumn, MatchRow};
use crate::domain::EntryKind;
use crate::store::writer::{sqlite_error, sqlite_sql};
use crate::store::{Backend, Store, StoreError};

/// How a statement line names its refund.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MatchKey {
    pub(crate) reference: Option<String>,
    pub(crate) provider_refund_id: Option<String>,
}

/// Page cache of the matching connection, KiB. Lookups in statement order walk the indexes
/// mostly forward, so a small cache does (64 MiB measured no faster and put the CLI's peak
/// over 120 MiB).
const CACHE_KIB: i64 = 16_384;

/// The match columns, then the refund's settlement and void postings as one flags value
/// (1 settled, 2 voided) from a single range of the ledger's unique index: every line of
/// the refund, a handful, instead of one probe per kind.
fn match_sql(column: &str) -> String {
    let (settled, canceled) = (EntryKind::RefundSettled, EntryKind::RefundCanceled);
    sqlite_sql(&format!(
        "SELECT id, merchant_id, provider_refund_id, provider_reference, amount_minor, currency, status, \
           (SELECT COALESCE(MAX(l.entry_kind = '{settled}'), 0) \
                 + 2 * COALESCE(MAX(l.entry_kind = '{canceled}'), 0) \
              FROM ledger_entries l WHERE l.refund_id = refunds.id) AS flags \
         FROM refunds WHERE provider = $1 AND {column} = $2 AND ($3 = '' OR merchant_id = $3) LIMIT 1"
    ))
}

/// Rows the missing-refund scan hands over at a time.
const SCAN_CHANNEL: usize = 1024;

/// Statement matching for one provider (and merchant) of one store.
#[derive(Clone)]
pub(crate) struct StatementMatcher {
    store: Store,
    provider: String,
    merchant: Option<String>,
    sqlite: Option<Arc<Mutex<Borrowed>>>,
}

/// Read-only lookup connections waiting for the next import: at most [`IDLE_LOOKUPS`].
#[derive(Debug, Clone, Default)]
pub(crate) struct IdleLookups(Arc<Mutex<Vec<Connection>>>);

/// Idle lookup connections kept; more imports at once open more, closed when done.
const IDLE_LOOKUPS: usize = 2;

impl IdleLookups {
    fn take(&self) -> Option<Connection> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
    }

    /// How many wait now.
    #[cfg(test)]
    pub(crate) fn idle(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// A lookup connection borrowed from [`IdleLookups`] for one import, given back when the
/// import's matcher (every clone of it) is gone.
#[derive(Debug)]
pub(crate) struct Borrowed {
    conn: Option<Connection>,
    home: IdleLookups,
}

impl std::ops::Deref for Borrowed {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Some until dropped.
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("a borrowed lookup is held"))
    }
}

impl Drop for Borrowed {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let mut idle = self
            .home
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < IDLE_LOOKUPS {
            idle.push(conn);
        }
    }
}

impl std::fmt::Debug for StatementMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatementMatcher")
            .field("provider", &self.provider)
            .field("merchant", &self.merchant)
            .field("sqlite", &self.sqlite.is_some())
            .finish()
    }
}

/// A row of [`match_sql`] (columns by position: no name look-ups per row).
fn match_row(row: &rusqlite::Row<'_>) -> Result<MatchRow, StoreError> {
    let flags: i64 = row.get(7).map_err(sqlite_error)?;
    Ok(MatchRow {
        id: row.get(0).map_err(sqlite_error)?,
        merchant_id: row.get(1).map_err(sqlite_error)?,
        provider_refund_id: row.get(2).map_err(sqlite_error)?,
        provider_reference: row.get(3).map_err(sqlite_error)?,
        amount_minor: row.get(4).map_err(sqlite_error)?,
        currency: row.get(5).map_err(sqlite_error)?,
        status: row.get(6).map_err(sqlite_error)?,
        settled: flags & 1 != 0,
        voided: flags & 2 != 0,
        reversed_to: Vec::new(),
    })
}

fn lock(conn: &Mutex<Borrowed>) -> std::sync::MutexGuard<'_, Borrowed> {
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Store {
    /// The matcher of `provider`'s statements (only `merchant`'s refunds when given).
    pub(crate) async fn statement_matcher(
        &self,
        provider: &str,
        merchant: Option<&str>,
    ) -> Result<StatementMatcher, StoreError> {
        let sqlite = match self.backend() {
            Backend::Postgres => None,
            Backend::Sqlite => {
                let conn = match self.lookups.take() {
                    Some(conn) => conn,
                    None => self.open_lookup().await?,
                };
                Some(Arc::new(Mutex::new(Borrowed {
                    conn: Some(conn),
                    home: self.lookups.clone(),
                })))
            }
        };
        Ok(StatementMatcher {
            store: self.clone(),
            provider: provider.to_owned(),
            merchant: merchant.map(str::to_owned),
            sqlite,
        })
    }
}

impl Store {
    /// A new read-only connection to this SQLite store's file, for statement lookups.
    async fn open_lookup(&self) -> Result<Connection, StoreError> {
        let path: String = sqlx::query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(self.pool())
            .await?
            .try_get("file")?;
        tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(sqlite_error)?;
            conn.execute_batch(&format!(
                "PRAGMA busy_timeout = 10000; PRAGMA cache_size = -{CACHE_KIB};"
            ))
            .map_err(sqlite_error)?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("the matcher did not start: {e}")))?
    }

    /// Lookup connections idle now (SQLite).
    #[cfg(test)]
    pub(crate) fn idle_lookups(&self) -> usize {
        self.lookups.idle()
    }
}

impl StatementMatcher {
    /// The refund each item names (`key`: its reference and provider refund id), in order;
    /// the items come back with the rows, so the caller's lines need not be copied into keys.
    pub(crate) async fn lookup_items<T: Send + 'static>(
        &self,
        items: Vec<T>,
        key: fn(&T) -> (Option<&str>, Option<&str>),
    ) -> Result<(Vec<T>, Vec<Option<MatchRow>>), StoreError> {
        let Some(conn) = self.sqlite.clone() else {
            let keys: Vec<MatchKey> = items
                .iter()
                .map(|item| {
                    let (reference, provider_refund_id) = key(item);
                    MatchKey {
                        reference: reference.map(str::to_owned),
                        provider_refund_id: provider_refund_id.map(str::to_owned),
                    }
                })
                .collect();
            let rows = self.lookup_pool(&keys).await?;
            return Ok((items, rows));
        };
        let provider = self.provider.clone();
        let merchant = self.merchant.clone().unwrap_or_default();
        tokio::task::spawn_blocking(move || {
            let conn = lock(&conn);
            let mut by_reference = conn
                .prepare_cached(&match_sql("provider_reference"))
                .map_err(sqlite_error)?;
            let mut by_id = conn
                .prepare_cached(&match_sql("provider_refund_id"))
                .map_err(sqlite_error)?;
            let mut rows = Vec::with_capacity(items.len());
            for item in &items {
                let (reference, provider_refund_id) = key(item);
                let mut found = None;
                if let Some(reference) = reference {
                    found = by_reference
                        .query_row(rusqlite::params![provider, reference, merchant], |row| {
                            Ok(match_row(row))
                        })
                        .optional()
                        .map_err(sqlite_error)?
                        .transpose()?;
                }
                if found.is_none() {
                    if let Some(id) = provider_refund_id {
                        found = by_id
                            .query_row(rusqlite::params![provider, id, merchant], |row| {
                                Ok(match_row(row))
                            })
                            .optional()
                            .map_err(sqlite_error)?
                            .transpose()?;
                    }
                }
                rows.push(found);
            }
            drop(by_reference);
            drop(by_id);
            drop(conn);
            Ok((items, rows))
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("a statement lookup failed: {e}")))?
    }

    async fn lookup_pool(&self, keys: &[MatchKey]) -> Result<Vec<Option<MatchRow>>, StoreError> {
        let references: Vec<&str> = keys.iter().filter_map(|k| k.reference.as_deref()).collect();
        let merchant = self.merchant.as_deref();
        let by_reference: std::collections::HashMap<String, MatchRow> = self
            .store
            .refunds_by_provider_keys(
                &self.provider,
                merchant,
                MatchColumn::ProviderReference,
                &references,
            )
            .await?
            .into_iter()
            .map(|row| (row.provider_reference.clone(), row))
            .collect();
        let unmatched: Vec<&str> = keys
            .iter()
            .filter(|k| {
                k.reference
                    .as_ref()
                    .is_none_or(|r| !by_reference.contains_key(r))
            })
            .filter_map(|k| k.provider_refund_id.as_deref())
            .collect();
        let by_id: std::collections::HashMap<String, MatchRow> = self
            .store
            .refunds_by_provider_keys(
                &self.provider,
                merchant,
                MatchColumn::ProviderRefundId,
                &unmatched,
            )
            .await?
            .into_iter()
            .filter_map(|row| row.provider_refund_id.clone().map(|id| (id, row)))
            .collect();
        Ok(keys
            .iter()
            .map(|key| {
                key.reference
                    .as_ref()
                    .and_then(|r| by_reference.get(r))
                    .or_else(|| key.provider_refund_id.as_ref().and_then(|id| by_id.get(id)))
                    .cloned()
            })
            .collect())
    }

    /// The refunds of the provider (and merchant) that succeeded in `[from, to)` and were
    /// not voided since, less those `seen` (sorted refund ids as `u128`) holds.
    pub(crate) fn succeeded_unseen(
        &self,
        from: i64,
        to: i64,
        seen: Arc<Vec<u128>>,
    ) -> BoxStream<'_, Result<MatchRow, StoreError>> {
        let is_seen = move |id: &str| {
            refund_provider::RefundId::parse(id)
                .is_ok_and(|id| seen.binary_search(&id.as_u128()).is_ok())
        };
        let Some(conn) = self.sqlite.clone() else {
            return self
                .store
                .succeeded_between(&self.provider, self.merchant.as_deref(), from, to)
                .filter(move |row| {
                    let keep = row.as_ref().map_or(true, |row| !is_seen(&row.id));
                    std::future::ready(keep)
                })
                .boxed();
        };
        let provider = self.provider.clone();
        let merchant = self.merchant.clone().unwrap_or_default();
        let (tx, rx) = tokio::sync::mpsc::channel(SCAN_CHANNEL);
        tokio::task::spawn_blocking(move || {
            let scan = || -> Result<(), StoreError> {
                let conn = lock(&conn);
                let mut candidates = conn
                    .prepare(&sqlite_sql(
                        "SELECT refund_id FROM ledger_entries WHERE entry_kind = $1 \
                         AND amount_minor < 0 AND created_at >= $2 AND created_at < $3",
                    ))
                    .map_err(sqlite_error)?;
                let mut detail = conn
                    .prepare(&sqlite_sql(
                        "SELECT r.id AS id, r.merchant_id AS merchant_id, \
                           r.provider_refund_id AS provider_refund_id, \
                           r.provider_reference AS provider_reference, r.amount_minor AS amount_minor, \
                           r.currency AS currency, r.status AS status, 0 AS flags \
                         FROM refunds r WHERE r.id = $1 AND r.provider = $2 AND r.status = 'succeeded' \
                           AND ($3 = '' OR r.merchant_id = $3) \
                           AND NOT EXISTS (SELECT 1 FROM ledger_entries c WHERE c.refund_id = r.id AND c.entry_kind = $4)",
                    ))
                    .map_err(sqlite_error)?;
                let mut rows = candidates
                    .query(rusqlite::params![
                        EntryKind::RefundSucceeded.as_str(),
                        from,
                        to
                    ])
                    .map_err(sqlite_error)?;
                while let Some(row) = rows.next().map_err(sqlite_error)? {
                    let id: Option<String> = row.get(0).map_err(sqlite_error)?;
                    let Some(id) = id.filter(|id| !is_seen(id)) else {
                        continue;
                    };
                    let found = detail
                        .query_row(
                            rusqlite::params![
                                id,
                                provider,
                                merchant,
                                EntryKind::RefundCanceled.as_str()
                            ],
                            |row| Ok(match_row(row)),
                        )
                        .optional()
                        .map_err(sqlite_error)?
                        .transpose()?;
                    if let Some(found) = found {
                        if tx.blocking_send(Ok(found)).is_err() {
                            return Ok(());
                        }
                    }
                }
                Ok(())
            };
            if let Err(error) = scan() {
                let _ = tx.blocking_send(Err(error));
            }
        });
        futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn imports_one_after_another_reuse_one_lookup_connection() {
        let dir = refund_test_support::temp_dir("refund-gateway-matcher-");
        let store = Store::connect(&refund_test_support::sqlite_url(&dir), 2)
            .await
            .expect("store");
        assert_eq!(store.idle_lookups(), 0);
        for _ in 0..3 {
            let matcher = store
                .statement_matcher("efundpay", None)
                .await
                .expect("matcher");
            // A clone (the reconciler hands them around) keeps it borrowed.
            let clone = matcher.clone();
            drop(matcher);
            assert_eq!(store.idle_lookups(), 0, "borrowed while a clone lives");
            let (_, rows) = clone
                .lookup_items(vec!["rf_none"], |id| (Some(*id), None))
                .await
                .expect("lookup");
            assert_eq!(rows.len(), 1);
            drop(clone);
            assert_eq!(
                store.idle_lookups(),
                1,
                "given back, never a second one opened"
            );
        }
        // Two imports at once each get one; both come back, at most IDLE_LOOKUPS kept.
        let (a, b, c) = (
            store.statement_matcher("efundpay", None).await.expect("a"),
            store.statement_matcher("efundpay", None).await.expect("b"),
            store.statement_matcher("efundpay", None).await.expect("c"),
        );
        drop((a, b, c));
        assert_eq!(store.idle_lookups(), IDLE_LOOKUPS);
        let _ = std::fs::remove_dir_all(dir);
    }
}
