//! The `refund-gateway` command line (clap): `serve`, `check-config`, `migrate`, `reconcile`,
//! `export`, `sandbox`, `demo`, `bench`. Help texts that list providers are built from the
//! registry's plugins.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use refund_gateway::config::{Config, ConfigErrors, EMBEDDED_DEFAULT};
use refund_gateway::reload::ConfigSource;
use refund_gateway::startup::Application;
use refund_gateway::store::Store;
use refund_provider::ConfigProblem;

/// mimalloc instead of glibc's malloc (Cargo.toml says why; docs/performance.md measures it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "refund-gateway", version, about = about())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (no --config: config/gateway.toml if present, else the embedded sandbox default).
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen address, overriding the config's server.listen.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Check a configuration and report every problem with its key path.
    CheckConfig {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Apply the database migrations and exit.
    Migrate {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Reconcile a provider's CSV statement against the store (streaming); exit 2 on variances.
    Reconcile(refund_gateway::cli::reconcile::ReconcileArgs),
    /// Export refunds as CSV or JSON Lines (streaming).
    Export(refund_gateway::cli::reconcile::ExportArgs),
    #[command(about = refund_gateway::cli::sandbox::ports_help())]
    Sandbox {
        /// The first port; each provider's simulator listens on it plus its offset.
        #[arg(long, default_value_t = 9100)]
        listen_base: u16,
    },
    /// A scripted tour on the embedded default in a temporary directory; non-zero exit if
    /// anything misbehaves.
    Demo,
    /// Load test: the gateway (a child `serve` on a fresh database) against the provider
    /// simulator called directly, in one run; prints a table and one JSON line.
    Bench(refund_gateway::cli::bench::BenchArgs),
}

const DEFAULT_CONFIG_PATH: &str = "config/gateway.toml";

/// `One refund API in front of every provider it knows: authms, ebuy, …`.
fn about() -> String {
    format!(
        "One refund API in front of every provider it knows: {}",
        refund_gateway::providers::known_ids()
    )
}

/// The config text to use and a label saying where it came from: `--config`, else
/// `config/gateway.toml` when present, else the embedded default.
fn config_text(path: Option<&Path>) -> Result<(String, String), ConfigErrors> {
    let default = Path::new(DEFAULT_CONFIG_PATH);
    match path.or(default.exists().then_some(default)) {
        Some(path) => Ok((Config::read_text(path)?, path.display().to_string())),
        None => Ok((EMBEDDED_DEFAULT.to_owned(), "embedded default".to_owned())),
    }
}

/// The configuration to run with, and where it came from.
fn load_config(path: Option<&Path>) -> Result<(Config, String), ConfigErrors> {
    let (text, source) = config_text(path)?;
    Ok((Config::from_toml(&text)?, source))
}

/// `check-config`'s answer for a configuration with problems: one line each, then the count.
fn print_problems(problems: &[ConfigProblem]) -> ExitCode {
    for problem in problems {
        println!("{}: {}", problem.key, problem.message);
    }
    println!("{} problem(s) found", problems.len());
    ExitCode::FAILURE
}

fn default_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"))
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(default_filter())
        .init();
}

/// Errors only (the demo's table is the output), unless RUST_LOG says otherwise.
fn init_quiet_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve {
            config: path,
            listen,
        } => {
            let (text, source) = config_text(path.as_deref())?;
            let mut config = Config::from_toml(&text)?;
            let telemetry = refund_gateway::telemetry::init(
                default_filter(),
                config.server.log_format,
                &config.telemetry,
                false,
            )?;
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            let mut app = Application::build(config).await?;
            // SIGHUP re-reads the file the gateway started from (DESIGN §18).
            let default = Path::new(DEFAULT_CONFIG_PATH);
            let file = path
                .clone()
                .or_else(|| default.exists().then(|| default.to_path_buf()));
            app.reload_on_sighup(ConfigSource {
                path: file,
                text,
                listen_override: listen,
            });
            let addr = app.local_addr().context("no local address")?;
            let simulators = app.engine().providers().sandbox_urls();
            print!(
                "{}",
                refund_gateway::cli::banner::banner(
                    app.engine().config(),
                    &source,
                    addr,
                    &simulators
                )
            );
            let served = app.run_until_stopped().await;
            telemetry.shutdown().await;
            served?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { config } => {
            let (text, source) = match config_text(config.as_deref()) {
                Ok(found) => found,
                Err(errors) => return Ok(print_problems(&errors.0)),
            };
            let (config, problems) = Config::read_toml(&text);
            let report = refund_gateway::config_check::check(&config, problems).await;
            if !report.problems.is_empty() {
                return Ok(print_problems(&report.problems));
            }
            for warning in &report.warnings {
                println!("warning: {}: {}", warning.key, warning.message);
            }
            println!(
                "{source}: OK ({} merchant(s), providers: {})",
                report.merchants,
                report.providers.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { config } => {
            let (config, _) = load_config(config.as_deref())?;
            let store = Store::connect(&config.database.url, 1).await?;
            store.close().await;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile(args) => {
            let (config, _) = load_config(args.config.as_deref())?;
            let clean = refund_gateway::cli::reconcile::run_reconcile(args, &config).await?;
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Export(args) => {
            let (config, _) = load_config(args.config.as_deref())?;
            refund_gateway::cli::reconcile::run_export(args, &config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sandbox { listen_base } => {
            init_tracing();
            refund_gateway::cli::sandbox::run_standalone(listen_base).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo => {
            init_quiet_tracing();
            let report = refund_gateway::cli::demo::run().await?;
            print!("{}", report.render());
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Bench(args) => {
            init_quiet_tracing();
            print!(
                "{}",
                refund_gateway::cli::bench::run_and_render(&args).await?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
