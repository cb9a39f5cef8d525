//! `mapsweep site …`, `campaign …`, `serve`, `status` and `changes`: watched sites, event
//! campaigns, the scheduling daemon and what changed between sweeps.
//!
//! Times are typed and shown in `[schedule] timezone` (Asia/Shanghai by default) and stored
//! in UTC. `--format json` prints one JSON document for machines.

use crate::ExitStatus;
use crate::check::Checker;
use crate::cli::Settings;
use crate::cli::evidence::Format;
use crate::cli::sweep::open_or_init;
use crate::crawl::RenderMode;
use crate::schedule::db::{CampaignRow, NewCampaign, NewSite, RunRow, ScheduleDb, SiteRow};
use crate::schedule::notify::{Notifier, NotifierOptions};
use crate::schedule::runner::SweepRunner;
use crate::schedule::sites::parse_import;
use crate::schedule::spec::display_time;
use crate::schedule::{
    Daemon, DaemonEvent, JobKey, RunOutcome, ScheduleSettings, ScheduleSpec, Scheduler,
    SystemClock, Window, parse_instant,
};
use anyhow::{Context, bail};
use clap::{ArgGroup, Args, Subcommand};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// `mapsweep site …`
#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Watch a site: sweep it on its own schedule (and in campaigns that name it)
    Add(SiteAddArgs),
    /// List watched sites
    List(ListArgs),
    /// Show one site: settings, schedule state and its latest runs
    Show(SiteIdArgs),
    /// Stop sweeping a site until `site resume`
    Pause(SiteIdArgs),
    /// Sweep a paused site again
    Resume(SiteIdArgs),
    /// Stop watching a site (its runs, changes and evidence are kept)
    Remove(SiteIdArgs),
    /// Add many sites from a CSV (header: url,name,tags,every,cron) or a file of URLs
    Import(SiteImportArgs),
}

/// How often: `--every 6h` or `--cron "0 */6 * * *"`.
#[derive(Debug, Args, Clone, Default)]
pub struct ScheduleArgs {
    /// Sweep at this interval (e.g. 30m, 6h, 1d, 1h30m)
    #[arg(long, value_name = "INTERVAL", conflicts_with = "cron")]
    pub every: Option<String>,
    /// Sweep at the times of this five-field cron expression, in [schedule] timezone
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
}

impl ScheduleArgs {
    fn spec(&self) -> anyhow::Result<Option<ScheduleSpec>> {
        Ok(match (&self.every, &self.cron) {
            (Some(e), _) => Some(ScheduleSpec::every(e)?),
            (None, Some(c)) => Some(ScheduleSpec::cron(c)?),
            (None, None) => None,
        })
    }
}

/// `mapsweep site add`
#[derive(Debug, Args)]
pub struct SiteAddArgs {
    /// The site's URL (https:// is assumed when no scheme is given)
    pub url: String,
    /// A readable name
    #[arg(long)]
    pub name: Option<String>,
    /// A tag (repeatable), for choosing sites in `campaign create --tag`
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// How many links deep to follow from the site URL [default: [crawl] depth]
    #[arg(long)]
    pub depth: Option<u32>,
    /// When to render pages in Chromium [default: [crawl] render]
    #[arg(long, value_enum)]
    pub render: Option<RenderMode>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `--format`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Include removed sites
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// A site id.
#[derive(Debug, Args)]
pub struct SiteIdArgs {
    /// Site id (see `mapsweep site list`)
    pub id: i64,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `mapsweep site import`
#[derive(Debug, Args)]
pub struct SiteImportArgs {
    /// CSV with a header naming the columns (url required; name, tags, every, cron), or one URL per line
    pub file: PathBuf,
    /// Schedule for rows that give none
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// Tag added to every imported site (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub depth: Option<u32>,
    #[arg(long, value_enum)]
    pub render: Option<RenderMode>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `mapsweep campaign …`
#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Create a campaign: its sites swept at its rate inside a time window
    Create(CampaignCreateArgs),
    /// List campaigns
    List(CampaignListArgs),
    /// Show a campaign: its runs, pages, violations, new and fixed problems, map changes
    Show(CampaignShowArgs),
}

/// `mapsweep campaign create`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("rate").required(true).args(["every", "cron"])))]
#[command(group(ArgGroup::new("which").required(true).multiple(true).args(["sites", "tags"])))]
pub struct CampaignCreateArgs {
    /// Campaign name (letters, digits, '-', '_', '.'); sweeps of it are recorded under it
    pub name: String,
    /// Window start, e.g. 2024-11-01T00:00+08:00 (no offset: [schedule] timezone)
    #[arg(long)]
    pub from: String,
    /// Window end (exclusive); a bare date means the end of that day
    #[arg(long)]
    pub to: String,
    /// A site id (repeatable)
    #[arg(long = "site", value_name = "ID")]
    pub sites: Vec<i64>,
    /// Every site with this tag (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Rate inside the window (e.g. 1h), slots counted from the window start
    #[arg(long, value_name = "INTERVAL", conflicts_with = "cron")]
    pub every: Option<String>,
    /// Rate as a cron expression in [schedule] timezone
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `mapsweep campaign list`
#[derive(Debug, Args)]
pub struct CampaignListArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `mapsweep campaign show`
#[derive(Debug, Args)]
pub struct CampaignShowArgs {
    pub name: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `mapsweep serve`
#[derive(Debug, Args)]
pub struct ServeArgs {}

/// `mapsweep status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `mapsweep changes`
#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Site id
    #[arg(long)]
    pub site: i64,
    /// Only changes detected at or after this time (e.g. 2024-11-01 or 2024-11-01T08:00)
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

fn db_name(settings: &Settings) -> String {
    crate::store::redact(&crate::store::resolve_url(
        &settings.data_dir,
        settings.config.database_url.as_deref(),
    ))
}

fn tz_of(settings: &Settings) -> anyhow::Result<TimeZone> {
    Ok(ScheduleSettings::from_config(&settings.config.schedule)?.time_zone)
}

/// Opens the evidence store (initialising a new data dir) and the schedule tables. A
/// database locked by another process is reported naming it.
async fn open_db(
    settings: &Settings,
) -> anyhow::Result<(crate::evidence::EvidenceStore, ScheduleDb)> {
    let name = db_name(settings);
    let store = match open_or_init(settings).await {
        Ok(s) => s,
        Err(e) => {
            let text = format!("{e:#}");
            if text.contains("database is locked") || text.contains("database is busy") {
                bail!(
                    "database {name} is locked by another process; wait for it to finish or stop it, then try again ({text})"
                );
            }
            return Err(e);
        }
    };
    let db = ScheduleDb::new(store.pool().clone(), name);
    Ok((store, db))
}

fn json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn show_time(t: Option<Timestamp>, tz: &TimeZone) -> String {
    t.map(|t| display_time(t, tz)).unwrap_or_else(|| "-".into())
}

fn describe_schedule(s: Option<&str>, tz: &TimeZone) -> String {
    match s.map(str::parse::<ScheduleSpec>) {
        Some(Ok(spec)) => spec.describe(tz),
        Some(Err(_)) => s.unwrap_or_default().to_string(),
        None => "campaigns only".into(),
    }
}

fn site_line(s: &SiteRow, tz: &TimeZone) -> String {
    let state = if s.removed_at.is_some() {
        "removed"
    } else if s.paused {
        "paused"
    } else {
        "active"
    };
    format!(
        "{:<4} {:<8} {:<40} {:<28} {:<20} {}",
        s.id,
        state,
        s.url,
        describe_schedule(s.schedule.as_deref(), tz),
        s.tags.join(","),
        s.name.clone().unwrap_or_default()
    )
}

/// `mapsweep site …`
pub async fn site_cmd(settings: &Settings, cmd: SiteCommand) -> anyhow::Result<ExitStatus> {
    let tz = tz_of(settings)?;
    match cmd {
        SiteCommand::Add(a) => {
            let spec = a.schedule.spec()?;
            let (_store, db) = open_db(settings).await?;
            let site = db
                .add_site(
                    &NewSite {
                        url: a.url.clone(),
                        name: a.name.clone(),
                        tags: a.tags.clone(),
                        schedule: spec,
                        depth: a.depth,
                        render: a.render,
                    },
                    Timestamp::now(),
                )
                .await?;
            match a.format {
                Format::Json => json(&site)?,
                Format::Text => {
                    println!(
                        "site {} added: {} ({})",
                        site.id,
                        site.url,
                        describe_schedule(site.schedule.as_deref(), &tz)
                    );
                    if site.schedule.is_none() {
                        println!(
                            "no schedule of its own: it is swept only by campaigns that name it"
                        );
                    }
                }
            }
            Ok(ExitStatus::Clean)
        }
        SiteCommand::List(a) => {
            let (_store, db) = open_db(settings).await?;
            let sites = db.sites(a.all).await?;
            match a.format {
                Format::Json => json(&sites)?,
                Format::Text => {
                    println!(
                        "{:<4} {:<8} {:<40} {:<28} {:<20} name",
                        "id", "state", "url", "schedule", "tags"
                    );
                    for s in &sites {
                        println!("{}", site_line(s, &tz));
                    }
                }
            }
            Ok(ExitStatus::Clean)
        }
        SiteCommand::Show(a) => {
            let (_store, db) = open_db(settings).await?;
            let site = db.site(a.id).await?;
            let runs = db.site_runs(a.id, 20).await?;
            match a.format {
                Format::Json => json(&serde_json::json!({"site": site, "runs": runs}))?,
                Format::Text => {
                    println!("site {}: {}", site.id, site.url);
                    if let Some(n) = &site.name {
                        println!("name: {n}");
                    }
                    println!("tags: {}", site.tags.join(", "));
                    println!(
                        "schedule: {}",
                        describe_schedule(site.schedule.as_deref(), &tz)
                    );
                    println!(
                        "depth: {} | render: {}",
                        site.depth
                            .map_or("[crawl] default".into(), |d| d.to_string()),
                        site.render
                            .map_or("[crawl] default".into(), |r| r.to_string())
                    );
                    println!(
                        "state: {}{}",
                        if site.paused { "paused" } else { "active" },
                        site.removed_at
                            .map(|t| format!(", removed {}", display_time(t, &tz)))
                            .unwrap_or_default()
                    );
                    println!("added: {}", display_time(site.created_at, &tz));
                    println!(
                        "last run: {} ({})",
                        show_time(site.state.last_finished_at, &tz),
                        site.state
                            .last_outcome
                            .map(crate::schedule::db::outcome_kind_word)
                            .unwrap_or("never run")
                    );
                    print_runs(&runs, &tz);
                }
            }
            Ok(ExitStatus::Clean)
        }
        SiteCommand::Pause(a) => set_paused(settings, a, true).await,
        SiteCommand::Resume(a) => set_paused(settings, a, false).await,
        SiteCommand::Remove(a) => {
            let (_store, db) = open_db(settings).await?;
            let site = db.remove_site(a.id, Timestamp::now()).await?;
            match a.format {
                Format::Json => json(&site)?,
                Format::Text => println!(
                    "site {} removed: {} is no longer swept; its runs, changes and evidence are kept",
                    site.id, site.url
                ),
            }
            Ok(ExitStatus::Clean)
        }
        SiteCommand::Import(a) => import(settings, a, &tz).await,
    }
}

async fn set_paused(
    settings: &Settings,
    a: SiteIdArgs,
    paused: bool,
) -> anyhow::Result<ExitStatus> {
    let (_store, db) = open_db(settings).await?;
    let site = db.set_paused(a.id, paused).await?;
    match a.format {
        Format::Json => json(&site)?,
        Format::Text => println!(
            "site {} {}: {}",
            site.id,
            if paused { "paused" } else { "resumed" },
            site.url
        ),
    }
    Ok(ExitStatus::Clean)
}

/// One line of the import report.
#[derive(Debug, serde::Serialize)]
struct ImportLine {
    line: usize,
    text: String,
    reason: String,
}

async fn import(
    settings: &Settings,
    a: SiteImportArgs,
    tz: &TimeZone,
) -> anyhow::Result<ExitStatus> {
    let default_spec = a.schedule.spec()?;
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("cannot read import file {}", a.file.display()))?;
    let file = a.file.display().to_string();
    let report = parse_import(&text, &file)?;
    let (_store, db) = open_db(settings).await?;
    let mut added = Vec::new();
    let mut rejected: Vec<ImportLine> = report
        .rejected
        .iter()
        .map(|r| ImportLine {
            line: r.line,
            text: r.text.clone(),
            reason: r.reason.clone(),
        })
        .collect();
    let now = Timestamp::now();
    for row in &report.accepted {
        let mut tags = row.tags.clone();
        tags.extend(a.tags.iter().cloned());
        let new = NewSite {
            url: row.url.clone(),
            name: row.name.clone(),
            tags,
            schedule: row.schedule.clone().or_else(|| default_spec.clone()),
            depth: a.depth,
            render: a.render,
        };
        match db.add_site(&new, now).await {
            Ok(site) => added.push(site),
            Err(e @ crate::schedule::db::ScheduleDbError::DuplicateSite { .. })
            | Err(e @ crate::schedule::db::ScheduleDbError::Url(_)) => rejected.push(ImportLine {
                line: row.line,
                text: row.url.clone(),
                reason: e.to_string(),
            }),
            Err(e) => return Err(e.into()),
        }
    }
    rejected.sort_by_key(|r| r.line);
    match a.format {
        Format::Json => {
            json(&serde_json::json!({"file": file, "added": added, "rejected": rejected}))?
        }
        Format::Text => {
            println!(
                "{file}: {} sites added, {} lines rejected",
                added.len(),
                rejected.len()
            );
            for s in &added {
                println!("added {}", site_line(s, tz));
            }
            for r in &rejected {
                println!("rejected line {}: {} ({})", r.line, r.reason, r.text);
            }
        }
    }
    Ok(ExitStatus::Clean)
}

fn print_runs(runs: &[RunRow], tz: &TimeZone) {
    if runs.is_empty() {
        println!("no runs yet");
        return;
    }
    println!(
        "{:<6} {:<5} {:<26} {:<12} {:>5} {:>5} {:>4} {:>4} {:>5} {:<18} error",
        "run", "site", "started", "outcome", "pages", "viol", "new", "fixd", "maps±", "campaign"
    );
    for r in runs {
        println!(
            "{:<6} {:<5} {:<26} {:<12} {:>5} {:>5} {:>4} {:>4} {:>5} {:<18} {}",
            r.id,
            r.site_id,
            display_time(r.started_at, tz),
            r.outcome,
            r.pages,
            r.violations,
            r.new_violations,
            r.fixed,
            r.maps_new + r.maps_changed + r.maps_gone,
            r.sweep_campaign,
            r.error.clone().unwrap_or_default()
        );
    }
}

/// `mapsweep campaign …`
pub async fn campaign_cmd(settings: &Settings, cmd: CampaignCommand) -> anyhow::Result<ExitStatus> {
    let tz = tz_of(settings)?;
    match cmd {
        CampaignCommand::Create(a) => {
            let window = Window::parse(&a.from, &a.to, &tz)?;
            let schedule = match (&a.every, &a.cron) {
                (Some(e), _) => ScheduleSpec::every(e)?,
                (None, Some(c)) => ScheduleSpec::cron(c)?,
                (None, None) => bail!("give the campaign's rate with --every or --cron"),
            };
            let (_store, db) = open_db(settings).await?;
            let c = db
                .create_campaign(
                    &NewCampaign {
                        name: a.name.clone(),
                        window,
                        schedule,
                        sites: a.sites.clone(),
                        tags: a.tags.clone(),
                    },
                    Timestamp::now(),
                )
                .await?;
            match a.format {
                Format::Json => json(&c)?,
                Format::Text => println!(
                    "campaign {} created: {} sites, {} from {} until {}",
                    c.name,
                    c.sites.len(),
                    describe_schedule(Some(&c.schedule), &tz),
                    display_time(c.from, &tz),
                    display_time(c.to, &tz)
                ),
            }
            Ok(ExitStatus::Clean)
        }
        CampaignCommand::List(a) => {
            let (_store, db) = open_db(settings).await?;
            let list = db.campaigns().await?;
            match a.format {
                Format::Json => json(&list)?,
                Format::Text => {
                    println!(
                        "{:<20} {:<26} {:<26} {:<24} {:>5} state",
                        "name", "from", "until", "rate", "sites"
                    );
                    let now = Timestamp::now();
                    for c in &list {
                        println!(
                            "{:<20} {:<26} {:<26} {:<24} {:>5} {}",
                            c.name,
                            display_time(c.from, &tz),
                            display_time(c.to, &tz),
                            describe_schedule(Some(&c.schedule), &tz),
                            c.sites.len(),
                            window_state(c, now)
                        );
                    }
                }
            }
            Ok(ExitStatus::Clean)
        }
        CampaignCommand::Show(a) => {
            let (_store, db) = open_db(settings).await?;
            let c = db.campaign(&a.name).await?;
            let runs = db.campaign_runs(c.id).await?;
            let totals = CampaignTotals::of(&runs);
            match a.format {
                Format::Json => {
                    json(&serde_json::json!({"campaign": c, "totals": totals, "runs": runs}))?
                }
                Format::Text => {
                    println!(
                        "campaign {} ({})",
                        c.name,
                        window_state(&c, Timestamp::now())
                    );
                    println!(
                        "window: {} until {} | rate: {}",
                        display_time(c.from, &tz),
                        display_time(c.to, &tz),
                        describe_schedule(Some(&c.schedule), &tz)
                    );
                    println!(
                        "sites: {} ({})",
                        c.sites
                            .iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        c.selectors.join(", ")
                    );
                    println!(
                        "runs: {} ({} succeeded, {} failed) | pages: {} | violations: {} | new problems: {} (in the latest run of each site: {}) | fixed: {} | maps new {}, changed {}, gone {}",
                        totals.runs,
                        totals.succeeded,
                        totals.failed,
                        totals.pages,
                        totals.violations,
                        totals.new_violations,
                        totals.new_in_latest,
                        totals.fixed,
                        totals.maps_new,
                        totals.maps_changed,
                        totals.maps_gone
                    );
                    print_runs(&runs, &tz);
                }
            }
            Ok(ExitStatus::Clean)
        }
    }
}

fn window_state(c: &CampaignRow, now: Timestamp) -> &'static str {
    if c.paused {
        "paused"
    } else if now < c.from {
        "upcoming"
    } else if now < c.to {
        "open"
    } else {
        "closed"
    }
}

/// Sums over a campaign's runs.
#[derive(Debug, Default, serde::Serialize)]
struct CampaignTotals {
    runs: u64,
    succeeded: u64,
    failed: u64,
    pages: u64,
    violations: u64,
    new_violations: u64,
    /// New problems found by the latest run of each site.
    new_in_latest: u64,
    fixed: u64,
    maps_new: u64,
    maps_changed: u64,
    maps_gone: u64,
}

impl CampaignTotals {
    fn of(runs: &[RunRow]) -> Self {
        let mut t = Self::default();
        let mut latest: std::collections::BTreeMap<i64, u64> = Default::default();
        for r in runs {
            t.runs += 1;
            match r.outcome.as_str() {
                "succeeded" => t.succeeded += 1,
                "failed" => t.failed += 1,
                _ => {}
            }
            t.pages += r.pages;
            t.violations += r.violations;
            t.new_violations += r.new_violations;
            t.fixed += r.fixed;
            t.maps_new += r.maps_new;
            t.maps_changed += r.maps_changed;
            t.maps_gone += r.maps_gone;
            if r.outcome == "succeeded" {
                latest.insert(r.site_id, r.new_violations);
            }
        }
        t.new_in_latest = latest.values().sum();
        t
    }
}

/// `mapsweep serve`
pub async fn serve(settings: &Settings, _args: ServeArgs) -> anyhow::Result<ExitStatus> {
    let sched = ScheduleSettings::from_config(&settings.config.schedule)?;
    let notify = NotifierOptions::from_config(&settings.config.notify)?;
    let (store, db) = open_db(settings).await?;
    let now = Timestamp::now();
    let stale = db.mark_interrupted(now).await?;
    if stale > 0 {
        eprintln!(
            "mapsweep serve: {stale} runs were interrupted by the last stop; their sites run again now"
        );
    }
    let snapshot = db.snapshot().await?;
    let (sites, campaigns) = (snapshot.sites.len(), snapshot.campaigns.len());
    let (scheduler, changes, problems) =
        Scheduler::load(snapshot, sched.time_zone.clone(), sched.limits, now);
    db.save_changes(&changes).await?;
    for p in problems {
        tracing::warn!(error = %p, "ignored in the schedule");
    }
    let notifier = match notify {
        Some(o) => Some(Notifier::spawn(o)?),
        None => None,
    };
    let checker = Arc::new(Checker::new()?);
    let runner = Arc::new(SweepRunner::new(
        store,
        checker,
        db.clone(),
        settings.config.crawl.clone(),
        notifier.as_ref().map(|(n, _)| n.clone()),
    ));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::new(
        scheduler,
        runner,
        Arc::new(SystemClock),
        Arc::new(db.clone()),
        sched.daemon,
    )
    .with_events(tx);
    let cancel = CancellationToken::new();
    let signals = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            crate::cli::sweep::wait_for_signal().await;
            eprintln!("mapsweep serve: stopping: sweeps in flight finish and seal their pages");
            cancel.cancel();
        })
    };
    let printer = {
        let tz = sched.time_zone.clone();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                match ev {
                    DaemonEvent::Started(r) => eprintln!(
                        "mapsweep serve: {} run {} site {} {} (due {})",
                        display_time(r.started_at, &tz),
                        r.run,
                        r.site,
                        r.url,
                        display_time(r.due_since, &tz)
                    ),
                    DaemonEvent::Finished { run, site, outcome } => match outcome {
                        RunOutcome::Succeeded { summary } => eprintln!(
                            "mapsweep serve: run {run} site {site} done: {} pages, {} maps, {} violations, {} new",
                            summary.pages, summary.maps, summary.violations, summary.new_violations
                        ),
                        RunOutcome::Failed { error } => eprintln!(
                            "mapsweep serve: run {run} site {site} failed (retried at the next slot): {error}"
                        ),
                        RunOutcome::Cancelled => {
                            eprintln!(
                                "mapsweep serve: run {run} site {site} stopped; runs again on next start"
                            )
                        }
                    },
                    DaemonEvent::StoreFailed { error } => {
                        eprintln!("mapsweep serve: database problem: {error}")
                    }
                    DaemonEvent::Dropped(r) => eprintln!(
                        "mapsweep serve: run {} site {} dropped at shutdown; runs again on next start",
                        r.run, r.site
                    ),
                    DaemonEvent::Idle { .. } | DaemonEvent::Stopped => {}
                }
            }
        })
    };
    eprintln!(
        "mapsweep serve: {sites} sites, {campaigns} campaigns, database {}; stop with Ctrl-C or SIGTERM",
        db_name(settings)
    );
    let report = daemon.run(cancel).await;
    signals.abort();
    let _ = printer.await;
    if let Some((n, task)) = notifier {
        drop(n);
        match tokio::time::timeout(sched.daemon.shutdown_grace, task).await {
            Ok(Ok(c)) => eprintln!(
                "mapsweep serve: webhook: {} delivered, {} failed, {} dropped",
                c.delivered, c.failed, c.dropped
            ),
            _ => {
                eprintln!("mapsweep serve: webhook notices still pending at shutdown were not sent")
            }
        }
    }
    eprintln!(
        "mapsweep serve: stopped: {} runs started, {} finished, {} dropped",
        report.started,
        report.finished,
        report.dropped.len()
    );
    Ok(ExitStatus::Clean)
}

/// One job line of `status`.
#[derive(Debug, serde::Serialize)]
struct StatusJob {
    site: i64,
    campaign: Option<String>,
    url: String,
    schedule: String,
    paused: bool,
    next_due: Option<Timestamp>,
    last_outcome: Option<String>,
    last_finished_at: Option<Timestamp>,
    last_error: Option<String>,
    consecutive_failures: u32,
}

/// `mapsweep status`
pub async fn status(settings: &Settings, args: StatusArgs) -> anyhow::Result<ExitStatus> {
    let sched = ScheduleSettings::from_config(&settings.config.schedule)?;
    let tz = sched.time_zone.clone();
    let (_store, db) = open_db(settings).await?;
    let snapshot = db.snapshot().await?;
    let names = db.campaign_names().await?;
    let now = Timestamp::now();
    // Loaded the way the daemon would load it on a start now (not saved).
    let (scheduler, _, _) = Scheduler::load(snapshot.clone(), tz.clone(), sched.limits, now);
    let running = db.running_runs().await?;
    let jobs: Vec<StatusJob> = scheduler
        .status()
        .into_iter()
        .map(|j| {
            let stored = match j.job {
                JobKey::Site(s) => snapshot
                    .sites
                    .iter()
                    .find(|x| x.id == s)
                    .map(|x| x.state.clone()),
                JobKey::Campaign(c, s) => snapshot
                    .campaigns
                    .iter()
                    .find(|x| x.id == c)
                    .and_then(|x| x.sites.iter().find(|y| y.site == s))
                    .map(|y| y.state.clone()),
            }
            .unwrap_or_default();
            StatusJob {
                site: j.job.site().0,
                campaign: j.job.campaign().and_then(|c| names.get(&c.0).cloned()),
                url: j.url,
                schedule: j.schedule,
                paused: j.paused,
                next_due: j.next_due,
                last_outcome: stored
                    .last_outcome
                    .map(|k| crate::schedule::db::outcome_kind_word(k).to_string()),
                last_finished_at: stored.last_finished_at,
                last_error: stored.last_error,
                consecutive_failures: stored.consecutive_failures,
            }
        })
        .collect();
    let mut last = Vec::new();
    for s in &snapshot.sites {
        if let Some(r) = db
            .site_runs(s.id.0, 5)
            .await?
            .into_iter()
            .find(|r| r.outcome != "running")
        {
            last.push(r);
        }
    }
    match args.format {
        Format::Json => {
            json(&serde_json::json!({"now": now, "jobs": jobs, "running": running, "last": last}))?
        }
        Format::Text => {
            println!("now: {}", display_time(now, &tz));
            println!("Next runs:");
            println!(
                "{:<5} {:<16} {:<40} {:<26} {:<12} schedule",
                "site", "campaign", "url", "next", "last"
            );
            for j in &jobs {
                let next = if j.paused {
                    "paused".to_string()
                } else {
                    match j.next_due {
                        Some(t) if t <= now => "due now".to_string(),
                        other => show_time(other, &tz),
                    }
                };
                println!(
                    "{:<5} {:<16} {:<40} {:<26} {:<12} {}",
                    j.site,
                    j.campaign.clone().unwrap_or_else(|| "-".into()),
                    j.url,
                    next,
                    j.last_outcome.clone().unwrap_or_else(|| "never run".into()),
                    j.schedule
                );
            }
            println!();
            if running.is_empty() {
                println!("Running sweeps: none");
            } else {
                println!("Running sweeps:");
                for r in &running {
                    println!(
                        "run {} site {} since {} ({})",
                        r.id,
                        r.site_id,
                        display_time(r.started_at, &tz),
                        r.sweep_campaign
                    );
                }
            }
            println!();
            println!("Last result per site:");
            print_runs(&last, &tz);
        }
    }
    Ok(ExitStatus::Clean)
}

/// `mapsweep changes`
pub async fn changes(settings: &Settings, args: ChangesArgs) -> anyhow::Result<ExitStatus> {
    let tz = tz_of(settings)?;
    let since = match &args.since {
        Some(s) => Some(parse_instant(s, &tz, false)?),
        None => None,
    };
    let (_store, db) = open_db(settings).await?;
    let site = db.site(args.site).await?;
    let list = db.changes(site.id, since).await?;
    match args.format {
        Format::Json => {
            json(&serde_json::json!({"site": site.id, "url": site.url, "changes": list}))?
        }
        Format::Text => {
            println!("site {}: {}", site.id, site.url);
            if list.is_empty() {
                println!(
                    "no changes recorded{}",
                    if since.is_some() {
                        " in that period"
                    } else {
                        ""
                    }
                );
            } else {
                println!(
                    "{:<26} {:<5} {:<8} {:<11} {:<8} {:<40} artifact",
                    "detected", "run", "what", "kind", "finding", "page"
                );
                for c in &list {
                    println!(
                        "{:<26} {:<5} {:<8} {:<11} {:<8} {:<40} {}",
                        display_time(c.detected_at, &tz),
                        c.run_id,
                        c.category,
                        c.kind,
                        c.finding_id
                            .clone()
                            .or_else(|| c.previous_finding_id.clone())
                            .unwrap_or_else(|| "-".into()),
                        c.page_url,
                        c.artifact_url.clone().unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(ExitStatus::Clean)
}
