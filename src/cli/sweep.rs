//! `mapsweep sweep`: crawl, capture, seal and check; print the flagged maps and a summary.

use crate::ExitStatus;
use crate::check::Checker;
use crate::cli::Settings;
use crate::cli::evidence::open;
use crate::crawl::CrawlOptions;
use crate::evidence::EvidenceStore;
use crate::sweep::{Progress, StopSignal, Sweep, SweepRequest, SweepSummary};
use anyhow::Context;
use clap::Args;
use std::io::IsTerminal;
use std::sync::Arc;
use url::Url;

/// `mapsweep sweep`
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Campaign name recorded in every capture [default: sweep-<date>]
    #[arg(long)]
    pub campaign: Option<String>,
    /// Continue the latest sweep of this campaign where it stopped (no seed URLs needed)
    #[arg(long, value_name = "CAMPAIGN", conflicts_with = "campaign")]
    pub resume: Option<String>,
    #[command(flatten)]
    pub options: CrawlOptions,
    /// Seed URLs (http or https)
    #[arg(value_name = "URL", required_unless_present = "resume")]
    pub urls: Vec<String>,
}

/// Opens (initialising when new) the evidence store of the settings.
pub(crate) async fn open_or_init(settings: &Settings) -> anyhow::Result<EvidenceStore> {
    let rep = EvidenceStore::init(&settings.data_dir, settings.config.database_url.as_deref())
        .await
        .with_context(|| format!("preparing data dir {}", settings.data_dir.display()))?;
    if rep.key_created {
        eprintln!(
            "mapsweep: new data dir {} (signing key {})",
            rep.data_dir.display(),
            rep.fingerprint
        );
    }
    Ok(open(settings).await?)
}

pub async fn run(args: SweepArgs, settings: &Settings) -> anyhow::Result<ExitStatus> {
    let crawl = CrawlOptions::merge(&args.options, &settings.config.crawl);
    let mut seeds = Vec::new();
    for u in &args.urls {
        seeds.push(Url::parse(u).with_context(|| format!("seed URL {u:?} is not a URL"))?);
    }
    let (campaign, resume) = match (&args.resume, &args.campaign) {
        (Some(c), _) => (c.clone(), true),
        (None, Some(c)) => (c.clone(), false),
        (None, None) => (
            format!("sweep-{}", jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S")),
            false,
        ),
    };
    let store = open_or_init(settings).await?;
    let checker = Arc::new(Checker::new()?);
    let summary = run_sweep(store, checker, campaign, seeds, crawl, resume, true).await?;
    print_summary(&summary);
    Ok(if summary.violations > 0 {
        ExitStatus::Violations
    } else {
        ExitStatus::Clean
    })
}

/// Runs a sweep with a progress bar (on a terminal) and clean stop on Ctrl-C / SIGTERM.
pub(crate) async fn run_sweep(
    store: EvidenceStore,
    checker: Arc<Checker>,
    campaign: String,
    seeds: Vec<Url>,
    crawl: crate::crawl::CrawlSettings,
    resume: bool,
    progress: bool,
) -> anyhow::Result<SweepSummary> {
    let bar = if progress && std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        Some(b)
    } else {
        None
    };
    let bar2 = bar.clone();
    let sweep = Sweep::new(store, checker).on_progress(move |p: &Progress| {
        let msg = format!(
            "pages {} | candidates {} | maps {} | flagged {} | {}",
            p.pages_done, p.candidates, p.maps, p.flagged, p.last_url
        );
        match &bar2 {
            Some(b) => b.set_message(msg),
            None if progress => eprintln!("mapsweep: {msg}"),
            None => {}
        }
    });
    let stop = StopSignal::new();
    let stopper = {
        let stop = stop.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("mapsweep: stopping: pages in flight are finished and sealed");
            stop.stop();
        })
    };
    let req = SweepRequest {
        campaign,
        seeds,
        settings: crawl,
        resume,
    };
    let out = sweep.run(req, &stop).await;
    stopper.abort();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(out?)
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prints the flagged maps and the summary.
pub(crate) fn print_summary(s: &SweepSummary) {
    if let Some(note) = &s.render_note {
        println!("note: {note}");
    }
    if !s.flagged.is_empty() {
        println!("Flagged maps:");
        println!("{:<10} {:<50} {:<16} message", "finding", "page", "rule");
        for f in &s.flagged {
            for (rule, msg) in &f.rules {
                println!(
                    "{:<10} {:<50} {:<16} {}",
                    f.finding_id, f.page_url, rule, msg
                );
            }
        }
        println!();
    }
    let c = &s.crawl;
    let errors: Vec<String> = c
        .errors_by_kind
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!(
        "sweep {} (campaign {}){}",
        s.sweep_id,
        s.campaign,
        if s.stopped {
            " stopped early; continue with --resume"
        } else {
            ""
        }
    );
    println!(
        "pages: {} fetched, {} sealed | errors: {} | candidates: {} (icons skipped {}, duplicates {}) | maps: {} | violations: {} | {:.1} s",
        c.pages,
        s.pages_sealed,
        if errors.is_empty() {
            "none".to_string()
        } else {
            errors.join(", ")
        },
        c.candidates,
        c.tiny_images_skipped,
        c.duplicates_by_url + c.duplicates_by_content,
        s.maps,
        s.violations,
        s.elapsed_ms as f64 / 1000.0
    );
    for e in &s.seal_errors {
        println!("not sealed: {e}");
    }
    if let Some(th) = &s.tree_head {
        println!(
            "signed tree head: size {} root {}",
            th.tree_head.tree_size, th.tree_head.root_hash
        );
    }
}
