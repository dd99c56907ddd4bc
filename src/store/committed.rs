//! A PostgreSQL write statement's answer, taken only once PostgreSQL said the statement's
//! implicit transaction is over.
//!
//! A statement sent outside a transaction block commits when PostgreSQL processes the `Sync`
//! after it, and the rows it returns (`RETURNING`, or the `applied` count) are sent before
//! that commit. sqlx's `Any` driver hands `fetch_one`/`fetch_optional` the first row as soon
//! as it arrives and leaves the rest (`CommandComplete`, and the `ReadyForQuery` that follows
//! the commit, or the error that replaces it) for whoever uses the connection next. Usually
//! PostgreSQL sends them all in one packet, so nothing shows; but whenever the first row
//! arrives alone, a caller taking it would call the provider for a refund whose create has
//! not committed yet (and may never commit: the server dying, a failed WAL flush), which is
//! how a refund the store never recorded gets paid, and paid again on the client's retry.
//! `fetch_all` reads until `ReadyForQuery`: the row is taken only after the commit, and an
//! error raised by the commit reaches the caller.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool};

/// The first row of `query`, once its transaction is over (committed: any failure, the
/// commit's included, is the error). `RowNotFound` when it returned no row.
pub(crate) async fn first_row_committed<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    pool: &AnyPool,
) -> Result<AnyRow, sqlx::Error> {
    query
        .fetch_all(pool)
        .await?
        .into_iter()
        .next()
        .ok_or(sqlx::Error::RowNotFound)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use crate::domain::RefundStatus;
    use crate::store::{Change, CreateOutcome, Modified, RefundRecord, Store};

    /// How long the proxy holds each `ReadyForQuery` once armed.
    const HOLD: Duration = Duration::from_millis(400);

    /// A TCP proxy in front of PostgreSQL that passes every message through at once, except
    /// that, while `armed`, it holds each `ReadyForQuery` for [`HOLD`]: the answer of a
    /// statement arrives, the end of its transaction comes later, as it may on a real network.
    async fn holding_proxy(upstream: String, armed: Arc<AtomicBool>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, armed) = (upstream.clone(), armed.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let (mut from_client, mut to_client) = client.into_split();
                    let (mut from_server, mut to_server) = server.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
                    });
                    // Backend messages: a type byte, a length counting itself, the body.
                    let mut header = [0u8; 5];
                    while from_server.read_exact(&mut header).await.is_ok() {
                        let length =
                            u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
                        let mut body = vec![0u8; (length as usize).saturating_sub(4)];
                        if from_server.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        if header[0] == b'Z' && armed.load(Ordering::SeqCst) {
                            tokio::time::sleep(HOLD).await;
                        }
                        if to_client.write_all(&header).await.is_err()
                            || to_client.write_all(&body).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    /// A fresh PostgreSQL store reached through a [`holding_proxy`]; `None` when the tests
    /// have no PostgreSQL.
    async fn store_behind_proxy() -> Option<(Store, Arc<AtomicBool>)> {
        let url = refund_test_support::fresh_postgres_database().await?;
        let mut url = reqwest::Url::parse(&url).expect("PostgreSQL URL");
        let upstream = format!(
            "{}:{}",
            url.host_str().expect("PostgreSQL URL host"),
            url.port().unwrap_or(5432)
        );
        let armed = Arc::new(AtomicBool::new(false));
        let proxy = holding_proxy(upstream, armed.clone()).await;
        url.set_host(Some("127.0.0.1")).expect("set host");
        url.set_port(Some(proxy.port())).expect("set port");
        // No TLS negotiation: every backend message through the proxy is a framed one.
        url.query_pairs_mut().append_pair("sslmode", "disable");
        // One connection, so the statements the test prepares are the ones it then runs.
        let store = Store::connect(url.as_str(), 1).await.expect("store");
        Some((store, armed))
    }

    /// A change that settles `refund` (the same statement text each time).
    fn settle() -> impl Fn(&RefundRecord, i64) -> Result<Change, std::convert::Infallible> {
        |_, _| {
            Ok(Change {
                status: Some(RefundStatus::Succeeded),
                next_sync_at: Some(None),
                ..Change::default()
            })
        }
    }

    /// A pending refund of its own reference.
    fn pending(amount_minor: i64) -> RefundRecord {
        let mut refund = RefundRecord::sample(RefundStatus::Pending, Some(amount_minor));
        refund.provider_reference = format!("ref_{}", refund.id);
        refund
    }

    #[tokio::test]
    async fn postgres_create_and_change_answer_only_after_their_commit() {
        let Some((store, armed)) = store_behind_proxy().await else {
            return;
        };
        // Both statements prepared on the pool's one connection, idle, before arming: from
        // then on nothing but the statement itself waits for a `ReadyForQuery`.
        let warm = pending(1299);
        store
            .create_refund(&warm, None, None, false)
            .await
            .expect("warm-up create");
        store
            .modify_known_refund(warm, settle())
            .await
            .expect("warm-up change")
            .expect("settled");
        tokio::time::sleep(Duration::from_millis(200)).await;

        armed.store(true, Ordering::SeqCst);
        let refund = pending(500);
        let started = Instant::now();
        let created = store
            .create_refund(&refund, None, None, false)
            .await
            .expect("create");
        let create_took = started.elapsed();
        assert!(
            matches!(created, CreateOutcome::Created { .. }),
            "{created:?}"
        );
        assert!(
            create_took >= HOLD,
            "the create answered after {create_took:?}, before its transaction's end was seen"
        );

        // The connection back in the pool (its ping's answer held too), then the change.
        armed.store(false, Ordering::SeqCst);
        tokio::time::sleep(HOLD * 3).await;
        armed.store(true, Ordering::SeqCst);
        let started = Instant::now();
        let modified = store
            .modify_known_refund(refund, settle())
            .await
            .expect("change");
        let change_took = started.elapsed();
        assert!(
            matches!(modified, Ok(Modified::Changed { .. })),
            "{modified:?}"
        );
        assert!(
            change_took >= HOLD,
            "the change answered after {change_took:?}, before its transaction's end was seen"
        );
        armed.store(false, Ordering::SeqCst);
        store.close().await;
    }
}
