//! Scheduling of watched sites and event-period campaigns: when each site is swept, how many
//! sweeps run at once, and the daemon loop that starts them (`mapsweep serve`).
//!
//! The pieces, each usable alone:
//! - [`spec`]: `--every`/`--cron` schedules, campaign windows, time parsing in a configured zone.
//! - [`state`]: the pure [`Scheduler`]: per job (a site's own schedule, or a site inside a
//!   campaign) its schedule, last slot, last run and running/paused flags; `due(now)` and
//!   `start`/`finish` transitions. No I/O and no clock of its own: time is always passed in.
//! - [`clock`]: the [`Clock`] trait with the system clock and a manual clock for tests.
//! - [`daemon`]: the async loop generic over a [`Runner`] (runs one sweep), a [`Clock`] and a
//!   [`StateStore`] (persists job state, reloads definitions).
//! - [`notify`]: the webhook notifier for new violations.
//! - [`sites`]: URL normalisation for duplicate detection and bulk import parsing.
//! - [`changes`]: change detection between two sweeps of a site, with perceptual hashes.
//!
//! Rules the scheduler keeps:
//! - Times are UTC [`jiff::Timestamp`]s; the configured zone only shapes cron matching,
//!   times typed without offset, and display.
//! - Slots missed while the daemon was down collapse into ONE run, recorded under the latest
//!   missed slot; the next run is the first slot after that.
//! - One site never has two runs at once: jobs of the same site due together (its own
//!   schedule and any number of campaigns) become one run that serves all of them.
//! - Concurrency is bounded globally and per host; runs that have waited longest go first.
//! - A failed run (site unreachable) consumes its slot and is retried at the next slot; it
//!   never holds up other sites. An interrupted run (daemon stopped or crashed mid-run) does
//!   not consume its slot: it runs again on the next start.
//! - Campaign windows are half-open `[from, to)`: a slot exactly at `from` runs, none at or
//!   after `to`; a campaign's missed slot is caught up only while its window is still open.

//!
//! Wiring (`mapsweep serve`): build [`ScheduleSettings`] from `[schedule]`; read a
//! [`Snapshot`] from the database through a [`StateStore`]; `Scheduler::load` it with the
//! current time and save the interrupted-job changes it returns; run [`Daemon::run`] with
//! [`SystemClock`], a [`Runner`] that calls the sweep, and a `CancellationToken` cancelled on
//! SIGTERM/Ctrl-C. The runner maps a whole-sweep failure (seed unreachable) to
//! [`RunOutcome::Failed`] and a sweep stopped by its token to [`RunOutcome::Cancelled`]; after
//! a completed sweep it compares the site's previous sweep with this one
//! ([`changes::compare`]) and hands each introduced problem map to the
//! [`notify::Notifier`].

pub mod changes;
pub mod clock;
pub mod daemon;
pub mod db;
pub mod notify;
pub mod runner;
pub mod sites;
pub mod spec;
pub mod state;

pub use clock::{Clock, ManualClock, SystemClock};
pub use daemon::{
    Daemon, DaemonEvent, DaemonOptions, DaemonReport, MemoryStore, Runner, StateStore,
};
pub use spec::{CronSpec, Interval, ScheduleSpec, Window, parse_instant, time_zone};
pub use state::{
    Campaign, CampaignId, CampaignSite, DueRun, JobKey, JobState, JobStateChange, JobStatus,
    Limits, OutcomeKind, RunId, RunOutcome, RunRequest, RunSummary, Scheduler, SiteId, Snapshot,
    WatchedSite,
};

use jiff::Timestamp;

/// Errors of the scheduling layer; each names the input, job or run it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("invalid interval {input:?}: {reason}")]
    InvalidInterval { input: String, reason: String },
    #[error("invalid cron expression {input:?}: {reason}")]
    InvalidCron { input: String, reason: String },
    #[error("invalid time {input:?}: {reason}")]
    InvalidTime { input: String, reason: String },
    #[error("unknown time zone {name:?}: {reason}")]
    UnknownTimeZone { name: String, reason: String },
    #[error("campaign window ends before it starts: from {from} to {to}")]
    WindowEndsBeforeStart { from: String, to: String },
    #[error("schedule {spec} has no slot after {after}")]
    NoNextSlot { spec: String, after: Timestamp },
    #[error("site {site} is already running (run {run})")]
    SiteBusy { site: SiteId, run: RunId },
    #[error("unknown site {0}")]
    UnknownSite(SiteId),
    #[error("unknown run {0}")]
    UnknownRun(RunId),
    #[error("concurrency limit reached for host {host}")]
    LimitReached { host: String },
    #[error("campaign {campaign} lists site {site}, which is not a watched site")]
    CampaignSiteMissing { campaign: CampaignId, site: SiteId },
    #[error("invalid setting schedule.{key} = {value:?}: {reason}")]
    InvalidSetting {
        key: &'static str,
        value: String,
        reason: String,
    },
}

/// The `[schedule]` configuration turned into what the scheduler and daemon take.
#[derive(Debug, Clone)]
pub struct ScheduleSettings {
    pub time_zone: jiff::tz::TimeZone,
    pub limits: Limits,
    pub daemon: DaemonOptions,
}

impl ScheduleSettings {
    /// Checks and converts `[schedule]`; each error names the key and value.
    pub fn from_config(config: &crate::config::ScheduleConfig) -> Result<Self, ScheduleError> {
        let tz = time_zone(&config.timezone)?;
        let bad = |key: &'static str, value: String, reason: String| {
            ScheduleError::InvalidSetting { key, value, reason }
        };
        if config.global_concurrency == 0 {
            return Err(bad(
                "global_concurrency",
                "0".into(),
                "must be at least 1".into(),
            ));
        }
        if config.per_host_concurrency == 0 {
            return Err(bad(
                "per_host_concurrency",
                "0".into(),
                "must be at least 1".into(),
            ));
        }
        let poll = Interval::parse(&config.poll_interval)
            .map_err(|e| bad("poll_interval", config.poll_interval.clone(), e.to_string()))?;
        let grace = Interval::parse(&config.shutdown_grace).map_err(|e| {
            bad(
                "shutdown_grace",
                config.shutdown_grace.clone(),
                e.to_string(),
            )
        })?;
        let max_run_time = match config.max_run_time.trim() {
            "" | "none" => None,
            text => Some(
                Interval::parse(text)
                    .map_err(|e| bad("max_run_time", config.max_run_time.clone(), e.to_string()))?,
            ),
        };
        Ok(Self {
            time_zone: tz,
            limits: Limits {
                global: config.global_concurrency,
                per_host: config.per_host_concurrency,
            },
            daemon: DaemonOptions {
                poll_interval: poll.duration(),
                shutdown_grace: std::time::Duration::from_secs(grace.as_secs() as u64),
                max_run_time: max_run_time
                    .map(|i| std::time::Duration::from_secs(i.as_secs() as u64)),
            },
        })
    }
}
