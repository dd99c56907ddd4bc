//! The finance commands of the CLI: `refund-gateway reconcile` (a statement file against the
//! store, every merchant unless `--merchant`) and `refund-gateway export`.
//!
//! Both stream: the statement is read line by line and matched in batches, variances are
//! written as they are found (table and csv; json buffers only malformed-line notes, at most
//! `MALFORMED_LISTED`, all counted), and the export is written page by page. A progress bar
//! (indicatif) is drawn on stderr only when stderr is a terminal. `reconcile` exits 0 when
//! the statement matches, 2 when it found variances or malformed lines, 1 on error.

mod report;

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::Config;
use crate::reconcile::export::{stream_export, ExportFormat};
use crate::reconcile::statement::{reconcile, Options, ReportSummary, StatementError};
use crate::store::{Backend, Store, StoreError};
use report::{CsvSink, JsonSink, ReportWriter, TableSink};

/// The SQLite writer's page cache while `reconcile` settles, KiB.
const WRITER_CACHE_KIB: u32 = 16_384;
/// The SQLite writer's WAL checkpoint interval while `reconcile` settles, pages (40 MiB).
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

/// How `reconcile` writes its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    Table,
    Csv,
    Json,
}

/// `refund-gateway reconcile`.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// The provider whose statement this is (efundpay, ebuy, authms, …).
    #[arg(long)]
    pub(crate) provider: String,
    /// The statement file, in the provider's `[statements.<provider>]` format (default: the
    /// CSV provider_refund_id,provider_reference,amount,currency,status,settled_at).
    #[arg(long)]
    pub(crate) statement: PathBuf,
    /// Only show how the first lines are read (raw cells → parsed, or why refused); no
    /// database is opened, nothing is matched or settled.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Lines the dry run shows.
    #[arg(long, default_value_t = crate::reconcile::preview::DEFAULT_LINES)]
    pub(crate) lines: usize,
    /// Period start (RFC 3339) for missing_in_statement; default: the statement's settled_at days.
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Period end (RFC 3339, exclusive).
    #[arg(long)]
    pub(crate) to: Option<String>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub(crate) format: ReportFormat,
    /// Only this merchant's refunds (default: every merchant's).
    #[arg(long)]
    pub(crate) merchant: Option<String>,
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportFileFormat {
    Csv,
    Jsonl,
}

/// `refund-gateway export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Refunds created at or after (RFC 3339).
    #[arg(long)]
    pub(crate) from: Option<String>,
    /// Refunds created before (RFC 3339).
    #[arg(long)]
    pub(crate) to: Option<String>,
    #[arg(long, value_enum, default_value_t = ExportFileFormat::Csv)]
    pub(crate) format: ExportFileFormat,
    /// Only this merchant (default: every configured merchant, one after the other).
    #[arg(long)]
    pub(crate) merchant: Option<String>,
    /// Write here instead of stdout.
    #[arg(long)]
    pub(crate) output: Option<PathBuf>,
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Why a finance command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Argument(String),
    #[error("{path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Statement(#[from] StatementError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the output failed: {0}")]
    Io(#[from] std::io::Error),
}

fn parse_time(flag: &str, value: Option<&str>) -> Result<Option<i64>, CliError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339)
                .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
                .map_err(|_| {
                    CliError::Argument(format!(
                        "--{flag} must be an RFC 3339 time such as 2026-11-23T00:00:00Z"
                    ))
                })
        })
        .transpose()
}

/// One connection is all a report needs (its queries run one after another). On SQLite a
/// statement's bulk reads go through the matcher's own connection, which has a 64 MiB page
/// cache (`store::finance::matcher`); the export gets that cache here.
async fn connect_for_reports(config: &Config, cache: bool) -> Result<Store, CliError> {
    let store = Store::connect(&config.database.url, 1).await?;
    if cache && store.backend() == Backend::Sqlite {
        sqlx::query("PRAGMA cache_size = -65536")
            .execute(store.pool())
            .await
            .map_err(StoreError::from)?;
    }
    Ok(store)
}

fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// `refund-gateway reconcile`: returns whether the statement matched without variance.
pub async fn run_reconcile(args: ReconcileArgs, config: &Config) -> Result<bool, CliError> {
    let from = parse_time("from", args.from.as_deref())?;
    let to = parse_time("to", args.to.as_deref())?;
    let period = match (from, to) {
        (None, None) => None,
        (from, to) => Some((
            from.unwrap_or(i64::MIN),
            to.unwrap_or_else(crate::store::now_ms),
        )),
    };
    let open = |e| CliError::Open {
        path: args.statement.display().to_string(),
        source: e,
    };
    let file = File::open(&args.statement).map_err(open)?;
    let format = config.statement_format(&args.provider);
    if args.dry_run {
        let lines =
            crate::reconcile::preview::preview(BufReader::new(file), format.clone(), args.lines)?;
        let mut out = std::io::stdout().lock();
        crate::reconcile::preview::write_preview(&mut out, &args.provider, &format, &lines)?;
        return Ok(lines.iter().all(|l| l.parsed.is_ok()));
    }
    let size = file.metadata().map_err(open)?.len();
    let store = connect_for_reports(config, false).await?;
    store
        .tune_writer_for_bulk(WRITER_CACHE_KIB, WRITER_CHECKPOINT_PAGES)
        .await?;
    let options = Options {
        provider: args.provider.clone(),
        merchant_id: args.merchant.clone(),
        period,
        // The CLI is run by whoever runs the gateway, on its database: it settles.
        settle: true,
        format,
    };
    let bar = progress_bar(size);
    // Read synchronously between batched store calls: the CLI runs nothing else on its
    // runtime, so short blocking reads of a local file cost nothing.
    let input = BufReader::with_capacity(256 * 1024, file);
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::with_capacity(64 * 1024, stdout);
    let summary = match args.format {
        ReportFormat::Table => {
            write_report(TableSink::start(out)?, &store, options, input, &bar).await?
        }
        ReportFormat::Csv => {
            write_report(CsvSink::start(out)?, &store, options, input, &bar).await?
        }
        ReportFormat::Json => {
            write_report(JsonSink::start(out)?, &store, options, input, &bar).await?
        }
    };
    if let Some(settlement) = &summary.settlement {
        let statement_id = crate::reconcile::audit::statement_id();
        let entry = crate::reconcile::audit::settled(
            crate::domain::audit::CLI_ACTOR,
            &statement_id,
            &args.provider,
            args.merchant.as_deref(),
            &summary,
            settlement,
        );
        store.append_audit(entry).await?;
    }
    store.close().await;
    let clean = summary.malformed_count == 0 && summary.by_kind.values().all(|k| k.count == 0);
    Ok(clean)
}

/// Reconciles `input` with `report` as its sink, the progress on `bar`, then ends the report.
async fn write_report(
    mut report: impl ReportWriter,
    store: &Store,
    options: Options,
    input: impl Read + Send,
    bar: &ProgressBar,
) -> Result<ReportSummary, CliError> {
    let progress = {
        let bar = bar.clone();
        move |bytes| bar.set_position(bytes)
    };
    let summary = reconcile(store, options, input, &mut report, progress).await?;
    bar.finish_and_clear();
    report.finish(&summary)?;
    Ok(summary)
}

/// `refund-gateway export`: returns how many bytes were written.
pub async fn run_export(args: ExportArgs, config: &Config) -> Result<u64, CliError> {
    let from = parse_time("from", args.from.as_deref())?;
    let to = parse_time("to", args.to.as_deref())?;
    let merchants: Vec<String> = match &args.merchant {
        Some(m) => {
            if config.merchant(m).is_none() {
                return Err(CliError::Argument(format!(
                    "no merchant `{m}` in the configuration"
                )));
            }
            vec![m.clone()]
        }
        None => config.merchants.iter().map(|m| m.id.clone()).collect(),
    };
    let format = match args.format {
        ExportFileFormat::Csv => ExportFormat::Csv,
        ExportFileFormat::Jsonl => ExportFormat::Jsonl,
    };
    let store = connect_for_reports(config, true).await?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(File::create(path).map_err(
            |e| CliError::Open {
                path: path.display().to_string(),
                source: e,
            },
        )?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bytes} written")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut written = 0u64;
    for (index, merchant) in merchants.into_iter().enumerate() {
        let mut chunks = std::pin::pin!(stream_export(
            store.clone(),
            Some(merchant),
            from,
            to,
            format
        ));
        let mut first = true;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            // One CSV header for the whole file: later merchants' headers are dropped.
            let skip = first && index > 0 && format == ExportFormat::Csv;
            first = false;
            if skip {
                continue;
            }
            out.write_all(&chunk)?;
            written += chunk.len() as u64;
            bar.set_position(written);
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    store.close().await;
    Ok(written)
}
