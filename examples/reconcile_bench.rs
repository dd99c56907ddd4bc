//! Benchmark fixture generator (not a test): a SQLite store holding N succeeded eFundPay
//! refunds with their ledger lines, an N-line statement of them with a few planted
//! variances, and a config pointing at the store. See README "Performance" for the command
//! that reconciles it.
//!
//! Usage: `cargo run --release --example reconcile_bench -- DIR [N]` (N defaults to 1,000,000).
//!
//! The statement lists every refund except every 10,000th (missing_in_statement), with every
//! 10,000th+1 at a different amount (amount_mismatch) and, to keep N lines, one unknown
//! refund (missing_in_gateway) in place of each omitted one. All refunds succeed on
//! 2026-11-01 UTC and the statement settles them that day.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use refund_gateway::store::Store;
use refund_provider::RefundId;

/// 2026-11-01T00:00:00Z in Unix ms.
const DAY_START: i64 = 1_793_491_200_000;
const ROWS_PER_INSERT: usize = 400;

fn refund_id(index: usize) -> String {
    // Deterministic, time-ordered ids: the day's start plus the index as UUIDv7-shaped hex.
    let ms = u128::try_from(DAY_START).unwrap_or(0) + index as u128;
    let value = (ms << 80) | (0x7u128 << 76) | (index as u128);
    let id = format!("rf_{value:032x}");
    match RefundId::parse(&id) {
        Ok(parsed) => parsed.to_string(),
        Err(_) => id,
    }
}

fn created_at(index: usize, n: usize) -> i64 {
    // Spread over the day (up to 86,399,000 ms after midnight).
    DAY_START + i64::try_from(index as u128 * 86_399_000 / n.max(1) as u128).unwrap_or(0)
}

fn amount_minor(index: usize) -> i64 {
    100 + i64::try_from(index % 99_900).unwrap_or(0)
}

fn major(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: reconcile_bench DIR [N]")?);
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("gateway.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let url = format!("sqlite://{}", db.display());
    let started = Instant::now();
    let store = Store::connect(&url, 1).await?;
    sqlx::query("PRAGMA synchronous = OFF")
        .execute(store.pool())
        .await?;

    for chunk_start in (0..n).step_by(ROWS_PER_INSERT) {
        let chunk: Vec<usize> = (chunk_start..n.min(chunk_start + ROWS_PER_INSERT)).collect();
        let mut tx = store.pool().begin().await?;
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 8;
                format!(
                    "(${}, 'acme', 'efundpay', ${}, ${}, ${}, ${}, ${}, 'EUR', 'succeeded', 2, ${}, ${})",
                    b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO refunds (id, merchant_id, provider, provider_refund_id, provider_reference, payment_id, \
             amount, amount_minor, currency, status, version, created_at, updated_at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for &i in &chunk {
            let id = refund_id(i);
            let minor = amount_minor(i);
            query = query
                .bind(id.clone())
                .bind(format!("efp_{i:010}"))
                .bind(id)
                .bind(format!("pay_{i}"))
                .bind(major(minor))
                .bind(minor)
                .bind(created_at(i, n))
                .bind(created_at(i, n));
        }
        query.execute(&mut *tx).await?;
        let lines: Vec<String> = (0..chunk.len() * 2)
            .map(|i| {
                let b = i * 4;
                format!(
                    "(${}, 'refund_succeeded', ${}, 'EUR', ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) VALUES {}",
            lines.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for &i in &chunk {
            let id = refund_id(i);
            let minor = amount_minor(i);
            query = query
                .bind(id.clone())
                .bind("merchant:acme:refund_expense:EUR")
                .bind(minor)
                .bind(created_at(i, n))
                .bind(id)
                .bind("provider:efundpay:clearing:EUR")
                .bind(-minor)
                .bind(created_at(i, n));
        }
        query.execute(&mut *tx).await?;
        tx.commit().await?;
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool())
        .await?;
    store.close().await;
    eprintln!(
        "store: {n} refunds in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("statement.csv"))?);
    writeln!(
        out,
        "provider_refund_id,provider_reference,amount,currency,status,settled_at"
    )?;
    for i in 0..n {
        let settled = "2026-11-01T23:00:00Z";
        if i % 10_000 == 0 {
            writeln!(out, "efp_unknown_{i},,1.00,EUR,succeeded,{settled}")?;
            continue;
        }
        let minor = if i % 10_000 == 1 {
            amount_minor(i) + 1
        } else {
            amount_minor(i)
        };
        writeln!(
            out,
            "efp_{i:010},{},{},EUR,succeeded,{settled}",
            refund_id(i),
            major(minor)
        )?;
    }
    out.flush()?;
    std::fs::write(
        dir.join("bench.toml"),
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[database]\nurl = \"{url}\"\n\n[[merchants]]\nid = \"acme\"\napi_key = \"sk_bench\"\n\n\
             [providers.efundpay]\nbase_url = \"sandbox\"\ntoken = \"sandbox-efundpay-token\"\nmerchant_account_id = \"sandbox-merchant\"\n\
             webhook_secret = \"sandbox-efundpay-whsec\"\n\n[[routes]]\nprovider = \"efundpay\"\n"
        ),
    )?;
    eprintln!(
        "statement: {n} lines in {:.1}s; config: {}",
        started.elapsed().as_secs_f64(),
        dir.join("bench.toml").display()
    );
    Ok(())
}
