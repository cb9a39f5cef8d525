//! Command-line definitions and dispatch. This is the only module that writes to stdout/stderr
//! for the user; everything below it returns typed values.

use crate::ExitStatus;
use crate::config::Config;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub mod case;
pub mod check;
pub mod crawl;
pub mod demo;
pub mod evidence;
pub mod schedule;
pub mod sweep;

/// mapsweep: find problem maps on the web and seal them as verifiable evidence.
#[derive(Debug, Parser)]
#[command(name = "mapsweep", version = crate::TOOL_VERSION, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Data directory (evidence, blobs, keys, database) [default: ./evidence]
    #[arg(long, global = true, env = "MAPSWEEP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (sqlite://... or postgres://...) [default: <data-dir>/mapsweep.db]
    #[arg(long, global = true, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Configuration file [default: ./mapsweep.toml when present]
    #[arg(long, short = 'c', global = true, env = "MAPSWEEP_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors in the log
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the data dir, the database and this installation's signing key (idempotent;
    /// never overwrites a key)
    Init,
    /// Capture one URL statically (HTTP fetch) and seal it as an evidence record
    Capture(evidence::CaptureArgs),
    /// Evidence log operations
    #[command(subcommand)]
    Log(evidence::LogCommand),
    /// Verify the whole data dir (blobs, records, hash chain, Merkle tree, signed tree heads,
    /// time-stamp tokens), or one case bundle ZIP alone (exit 0 clean, 1 problems, 2 error)
    Verify(evidence::VerifyArgs),
    /// Crawl sites and print pages and map candidates as JSON lines, without sealing (dev tool)
    Crawl(crawl::CrawlArgs),
    /// Check map images against the standard boundaries, rule by rule
    Check(check::CheckArgs),
    /// Run the whole job on a bundled local demo site: sweep, flag, open a case, export, verify
    Demo(demo::DemoArgs),
    /// Sweep sites: crawl, capture and seal every page and map, check each map, record findings
    Sweep(sweep::SweepArgs),
    /// List findings (checked maps): violations by default, with their latest review
    Findings(case::FindingsArgs),
    /// Confirm or dismiss a finding; the review is sealed in the evidence log (a later review
    /// supersedes an earlier one; both stay)
    Review(case::ReviewArgs),
    /// Cases: open, add findings, list, show
    #[command(subcommand)]
    Case(case::CaseCommand),
    /// Export a case as one ZIP (report.html + report.pdf, artifacts, records, proofs, signed
    /// tree head, manifest, SHA256SUMS, VERIFY.md) that verifies offline
    Export(case::ExportArgs),
    /// Verify a case bundle ZIP alone (same as `verify BUNDLE.zip`)
    #[command(hide = true)]
    VerifyBundle(case::VerifyBundleArgs),
    /// Watched sites: add, list, show, pause, resume, remove, import
    #[command(subcommand)]
    Site(schedule::SiteCommand),
    /// Event campaigns: sites swept at a rate inside a time window
    #[command(subcommand)]
    Campaign(schedule::CampaignCommand),
    /// Run the scheduler: sweep watched sites and campaigns when due, until SIGTERM/Ctrl-C
    Serve(schedule::ServeArgs),
    /// Next runs, running sweeps and the last result per site
    Status(schedule::StatusArgs),
    /// What changed between sweeps of a site: maps new/changed/gone, problems introduced/fixed
    Changes(schedule::ChangesArgs),
}

/// Sets up `tracing` output on stderr.
pub fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("mapsweep={level},headless_chrome=error,warn")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolved global settings: config file merged with command-line overrides.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    pub data_dir: PathBuf,
}

impl Settings {
    pub fn resolve(global: &GlobalArgs) -> anyhow::Result<Self> {
        let mut config = match &global.config {
            Some(p) => Config::load(p)?,
            None => Config::load_default()?,
        };
        if let Some(d) = &global.data_dir {
            config.data_dir = Some(d.clone());
        }
        if let Some(u) = &global.database_url {
            config.database_url = Some(u.clone());
        }
        let data_dir = config
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("evidence"));
        Ok(Self { config, data_dir })
    }
}

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let settings = Settings::resolve(&cli.global)?;
    match cli.command {
        Command::Init => evidence::init(&settings).await,
        Command::Capture(a) => evidence::capture(&settings, &a).await,
        Command::Log(c) => evidence::log(&settings, &c).await,
        Command::Verify(a) => match &a.bundle {
            Some(bundle) => {
                let format = match a.format {
                    evidence::Format::Text => case::ReportFormat::Text,
                    evidence::Format::Json => case::ReportFormat::Json,
                };
                let args = case::VerifyBundleArgs {
                    bundle: bundle.clone(),
                    format,
                };
                case::verify_bundle_cmd(&args).await
            }
            None => evidence::verify(&settings, &a).await,
        },
        Command::Crawl(args) => crawl::run(args, &settings).await,
        Command::Check(a) => check::run(a),
        Command::Sweep(a) => sweep::run(a, &settings).await,
        Command::Demo(a) => demo::run(a, &settings).await,
        Command::Findings(a) => case::findings(&settings, &a).await,
        Command::Review(a) => case::review_cmd(&settings, &a).await,
        Command::Case(c) => case::case_cmd(&settings, &c).await,
        Command::Export(a) => case::export(&settings, &a).await,
        Command::VerifyBundle(a) => case::verify_bundle_cmd(&a).await,
        Command::Site(c) => schedule::site_cmd(&settings, c).await,
        Command::Campaign(c) => schedule::campaign_cmd(&settings, c).await,
        Command::Serve(a) => schedule::serve(&settings, a).await,
        Command::Status(a) => schedule::status(&settings, a).await,
        Command::Changes(a) => schedule::changes(&settings, a).await,
    }
}
