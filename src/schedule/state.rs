//! The pure scheduler state: which jobs exist, when each is due, which are running.
//!
//! A *job* is a site's own schedule ([`JobKey::Site`]) or a site's membership in a campaign
//! ([`JobKey::Campaign`]). A *run* is one sweep of one site; it serves every job of that site
//! that was due when it started (so a site due in two campaigns and on its own schedule is
//! swept once, tagged with both campaigns).
//!
//! Persistence: [`Snapshot`] is plain serde data shaped like the database rows (sites,
//! campaigns, campaign_sites) with each job's [`JobState`] beside its definition. Every
//! transition returns the [`JobStateChange`]s to write, so the daemon can persist them;
//! a restart is `Scheduler::load(snapshot, ..)` followed by `due(now)`.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use super::ScheduleError;
use super::spec::{ScheduleSpec, Window};

/// A watched site's id (the `sites` row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SiteId(pub i64);

/// A campaign's id (the `campaigns` row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CampaignId(pub i64);

/// A run's id, unique within one daemon process (the `runs` row gets its own id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which job: a site's own schedule, or a site inside a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKey {
    Site(SiteId),
    Campaign(CampaignId, SiteId),
}

impl JobKey {
    /// The site the job sweeps.
    pub fn site(self) -> SiteId {
        match self {
            Self::Site(s) | Self::Campaign(_, s) => s,
        }
    }

    /// The campaign, for a campaign job.
    pub fn campaign(self) -> Option<CampaignId> {
        match self {
            Self::Site(_) => None,
            Self::Campaign(c, _) => Some(c),
        }
    }
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Site(s) => write!(f, "site {s}"),
            Self::Campaign(c, s) => write!(f, "site {s} in campaign {c}"),
        }
    }
}

/// How a job's last run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// The sweep ran to the end (it may have found errors on single pages).
    Succeeded,
    /// The sweep failed as a whole (site unreachable, ...); retried at the next slot.
    Failed,
    /// The daemon stopped or crashed mid-run; the slot was not consumed and runs again.
    Interrupted,
}

/// Mutable per-job state, persisted beside the job's definition (columns of `sites` and
/// `campaign_sites`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobState {
    /// The slot the last finished run was recorded under (None: never run).
    pub last_slot: Option<Timestamp>,
    pub last_started_at: Option<Timestamp>,
    pub last_finished_at: Option<Timestamp>,
    pub last_outcome: Option<OutcomeKind>,
    /// Error text of the last failed run.
    pub last_error: Option<String>,
    /// Failed runs in a row (reset by a success).
    pub consecutive_failures: u32,
    /// Set while a run serving this job is in flight. Found set at load: the process died
    /// mid-run, the job is treated as interrupted.
    pub running_since: Option<Timestamp>,
}

/// A watched site (one `sites` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedSite {
    pub id: SiteId,
    /// Normalised URL (see [`super::sites::normalize_site_url`]).
    pub url: String,
    /// Host the per-host concurrency bound counts against.
    pub host: String,
    /// Its own schedule; None for a site swept only by campaigns.
    pub schedule: Option<ScheduleSpec>,
    /// A paused site is not swept, by its schedule or by any campaign.
    pub paused: bool,
    /// When the site was added: the anchor of an interval schedule (first sweep at once).
    pub created_at: Timestamp,
    /// State of its own schedule.
    #[serde(default)]
    pub state: JobState,
}

/// A site inside a campaign (one `campaign_sites` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignSite {
    pub site: SiteId,
    #[serde(default)]
    pub state: JobState,
}

/// A campaign (one `campaigns` row plus its `campaign_sites`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub name: String,
    pub window: Window,
    /// The rate inside the window; interval slots are counted from `window.from`.
    pub schedule: ScheduleSpec,
    #[serde(default)]
    pub paused: bool,
    pub sites: Vec<CampaignSite>,
}

/// Everything the scheduler needs to (re)start: the definitions with their job state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub sites: Vec<WatchedSite>,
    pub campaigns: Vec<Campaign>,
}

/// A job state to persist after a transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStateChange {
    pub job: JobKey,
    pub state: JobState,
}

/// Concurrency bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Most runs at once overall (at least 1).
    pub global: usize,
    /// Most runs at once against one host (at least 1).
    pub per_host: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            global: 4,
            per_host: 1,
        }
    }
}

/// A run that is due: one site, the jobs it serves, each with the slot it is recorded under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueRun {
    pub site: SiteId,
    pub url: String,
    pub host: String,
    /// (job, slot) pairs, the slot being the latest due slot of that job at or before now.
    pub jobs: Vec<(JobKey, Timestamp)>,
    /// When the oldest of these jobs became due (for ordering and lateness).
    pub due_since: Timestamp,
}

impl DueRun {
    /// The campaigns this run is swept for (its sweep is tagged with each).
    pub fn campaigns(&self) -> Vec<CampaignId> {
        self.jobs.iter().filter_map(|(j, _)| j.campaign()).collect()
    }
}

/// What the runner gets: a started run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    pub run: RunId,
    pub site: SiteId,
    pub url: String,
    pub host: String,
    pub jobs: Vec<(JobKey, Timestamp)>,
    /// Campaigns served (names resolved by the caller from ids).
    pub campaigns: Vec<CampaignId>,
    pub started_at: Timestamp,
    pub due_since: Timestamp,
}

/// Figures a finished sweep reports (for `status` and campaign reports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub pages: u64,
    pub maps: u64,
    pub violations: u64,
    pub new_violations: u64,
    pub errors: u64,
}

/// What a runner returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum RunOutcome {
    Succeeded {
        summary: RunSummary,
    },
    /// The sweep as a whole failed (unreachable site, ...): recorded, retried next slot.
    Failed {
        error: String,
    },
    /// The sweep stopped because it was cancelled (shutdown); what it captured is sealed,
    /// the slot is not consumed.
    Cancelled,
}

/// One line of `mapsweep status`: a job, when it runs next, and how its last run went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobStatus {
    pub job: JobKey,
    pub url: String,
    /// Human description of the schedule (and window), in the scheduler's zone.
    pub schedule: String,
    pub paused: bool,
    /// None: no more slots (campaign over) or paused.
    pub next_due: Option<Timestamp>,
    pub running: Option<RunId>,
    pub state: JobState,
}

#[derive(Debug, Clone)]
struct SiteEntry {
    url: String,
    host: String,
    paused: bool,
    running: Option<RunId>,
}

#[derive(Debug, Clone)]
struct JobEntry {
    spec: ScheduleSpec,
    /// Interval grid anchor for a never-run job (site creation, campaign start).
    anchor: Timestamp,
    window: Option<Window>,
    /// Campaign paused (site pause is on the site).
    paused: bool,
    state: JobState,
    /// Cached first due slot (None: no more slots, e.g. campaign over).
    next_due: Option<Timestamp>,
}

#[derive(Debug, Clone)]
struct Running {
    site: SiteId,
    host: String,
    jobs: Vec<(JobKey, Timestamp)>,
}

/// The scheduler: definitions, job state and in-flight runs. Pure: no I/O, time passed in.
#[derive(Debug, Clone)]
pub struct Scheduler {
    tz: TimeZone,
    limits: Limits,
    sites: BTreeMap<SiteId, SiteEntry>,
    jobs: BTreeMap<JobKey, JobEntry>,
    campaigns: BTreeMap<CampaignId, (String, Window)>,
    running: BTreeMap<RunId, Running>,
    host_running: HashMap<String, usize>,
    next_run: u64,
}

fn compute_next_due(job: &JobEntry, tz: &TimeZone) -> Option<Timestamp> {
    let mut candidate = match job.state.last_slot {
        Some(last) => job.spec.next_after(last, tz).ok()?,
        None => job.spec.first_at_or_after(job.anchor, tz).ok()?,
    };
    if let Some(w) = job.window {
        if candidate < w.from {
            candidate = job.spec.first_at_or_after(w.from, tz).ok()?;
        }
        if candidate >= w.to {
            return None;
        }
    }
    Some(candidate)
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new(tz: TimeZone, limits: Limits) -> Self {
        Self {
            tz,
            limits: Limits {
                global: limits.global.max(1),
                per_host: limits.per_host.max(1),
            },
            sites: BTreeMap::new(),
            jobs: BTreeMap::new(),
            campaigns: BTreeMap::new(),
            running: BTreeMap::new(),
            host_running: HashMap::new(),
            next_run: 1,
        }
    }

    /// Restores a scheduler from persisted state. A job found with `running_since` set was
    /// interrupted (the process died mid-run): it is marked [`OutcomeKind::Interrupted`],
    /// keeps its last slot and so is due again at once. Returns the scheduler, the
    /// interrupted jobs' changed states (persist them), and campaign sites that name an
    /// unknown site (skipped).
    pub fn load(
        snapshot: Snapshot,
        tz: TimeZone,
        limits: Limits,
        now: Timestamp,
    ) -> (Self, Vec<JobStateChange>, Vec<ScheduleError>) {
        let mut s = Self::new(tz, limits);
        let problems = s.apply(snapshot, true);
        let mut changes = Vec::new();
        for (key, job) in s.jobs.iter_mut() {
            if job.state.running_since.take().is_some() {
                job.state.last_outcome = Some(OutcomeKind::Interrupted);
                job.state.last_finished_at = Some(now);
                changes.push(JobStateChange {
                    job: *key,
                    state: job.state.clone(),
                });
            }
        }
        (s, changes, problems)
    }

    /// Takes new definitions (sites added, removed, paused, rescheduled; campaigns changed)
    /// while keeping the in-memory state of jobs that already exist, which is authoritative
    /// while the daemon runs. Removed jobs are dropped; a run in flight for one finishes
    /// normally and its result for the removed job is ignored.
    pub fn sync(&mut self, snapshot: Snapshot) -> Vec<ScheduleError> {
        self.apply(snapshot, false)
    }

    fn apply(&mut self, snapshot: Snapshot, take_state: bool) -> Vec<ScheduleError> {
        let mut problems = Vec::new();
        let mut sites = BTreeMap::new();
        let mut jobs = BTreeMap::new();
        let mut campaigns = BTreeMap::new();
        for site in snapshot.sites {
            let running = self.sites.get(&site.id).and_then(|s| s.running);
            if let Some(spec) = site.schedule.clone() {
                let key = JobKey::Site(site.id);
                let state = match self.jobs.get(&key) {
                    Some(old) if !take_state => old.state.clone(),
                    _ => site.state.clone(),
                };
                jobs.insert(
                    key,
                    JobEntry {
                        spec,
                        anchor: site.created_at,
                        window: None,
                        paused: false,
                        state,
                        next_due: None,
                    },
                );
            }
            sites.insert(
                site.id,
                SiteEntry {
                    url: site.url,
                    host: site.host,
                    paused: site.paused,
                    running,
                },
            );
        }
        for c in snapshot.campaigns {
            campaigns.insert(c.id, (c.name.clone(), c.window));
            for cs in c.sites {
                if !sites.contains_key(&cs.site) {
                    problems.push(ScheduleError::CampaignSiteMissing {
                        campaign: c.id,
                        site: cs.site,
                    });
                    continue;
                }
                let key = JobKey::Campaign(c.id, cs.site);
                let state = match self.jobs.get(&key) {
                    Some(old) if !take_state => old.state.clone(),
                    _ => cs.state.clone(),
                };
                jobs.insert(
                    key,
                    JobEntry {
                        spec: c.schedule.clone(),
                        anchor: c.window.from,
                        window: Some(c.window),
                        paused: c.paused,
                        state,
                        next_due: None,
                    },
                );
            }
        }
        for job in jobs.values_mut() {
            job.next_due = compute_next_due(job, &self.tz);
        }
        self.sites = sites;
        self.jobs = jobs;
        self.campaigns = campaigns;
        problems
    }

    /// The current definitions and job states, to persist wholesale.
    pub fn snapshot(&self) -> Snapshot {
        let mut out = Snapshot::default();
        for (id, site) in &self.sites {
            let own = self.jobs.get(&JobKey::Site(*id));
            out.sites.push(WatchedSite {
                id: *id,
                url: site.url.clone(),
                host: site.host.clone(),
                schedule: own.map(|j| j.spec.clone()),
                paused: site.paused,
                created_at: own.map(|j| j.anchor).unwrap_or(Timestamp::UNIX_EPOCH),
                state: own.map(|j| j.state.clone()).unwrap_or_default(),
            });
        }
        let mut by_campaign: BTreeMap<CampaignId, Campaign> = BTreeMap::new();
        for (key, job) in &self.jobs {
            if let JobKey::Campaign(c, s) = key {
                let (name, window) = self.campaigns.get(c).cloned().unwrap_or_else(|| {
                    (
                        String::new(),
                        job.window.unwrap_or(Window {
                            from: job.anchor,
                            to: job.anchor,
                        }),
                    )
                });
                by_campaign
                    .entry(*c)
                    .or_insert_with(|| Campaign {
                        id: *c,
                        name,
                        window,
                        schedule: job.spec.clone(),
                        paused: job.paused,
                        sites: Vec::new(),
                    })
                    .sites
                    .push(CampaignSite {
                        site: *s,
                        state: job.state.clone(),
                    });
            }
        }
        out.campaigns = by_campaign.into_values().collect();
        out
    }

    /// The time zone cron schedules are evaluated in.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The concurrency bounds.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Number of jobs.
    pub fn job_count(&self) -> usize {
        self.jobs.len()
    }

    /// A job's state.
    pub fn job_state(&self, job: JobKey) -> Option<&JobState> {
        self.jobs.get(&job).map(|j| &j.state)
    }

    /// A job's next due slot (None: no more slots, e.g. its campaign is over).
    pub fn next_due(&self, job: JobKey) -> Option<Timestamp> {
        self.jobs.get(&job).and_then(|j| j.next_due)
    }

    /// Every job with its schedule, next slot and state, for `status`.
    pub fn jobs(
        &self,
    ) -> impl Iterator<Item = (JobKey, &ScheduleSpec, Option<Timestamp>, &JobState)> {
        self.jobs
            .iter()
            .map(|(k, j)| (*k, &j.spec, j.next_due, &j.state))
    }

    /// Runs in flight.
    pub fn running(&self) -> impl Iterator<Item = (RunId, SiteId)> + '_ {
        self.running.iter().map(|(r, run)| (*r, run.site))
    }

    fn blocked(&self, key: JobKey, job: &JobEntry, now: Timestamp) -> bool {
        if job.paused {
            return true;
        }
        if let Some(w) = job.window
            && now >= w.to
        {
            return true;
        }
        match self.sites.get(&key.site()) {
            Some(site) => site.paused || site.running.is_some(),
            None => true,
        }
    }

    /// Every run due at `now`, ignoring concurrency bounds, oldest first: jobs whose next slot
    /// has come, of sites not paused and not already running, grouped one run per site. A
    /// campaign job whose window has closed is not due (missed campaign slots are only caught
    /// up while the window is open).
    pub fn due(&self, now: Timestamp) -> Vec<DueRun> {
        let mut by_site: BTreeMap<SiteId, DueRun> = BTreeMap::new();
        for (key, job) in &self.jobs {
            let Some(next) = job.next_due else { continue };
            if next > now || self.blocked(*key, job, now) {
                continue;
            }
            let Some(site) = self.sites.get(&key.site()) else {
                continue;
            };
            let slot = job.spec.latest_at_or_before(next, now, &self.tz);
            let run = by_site.entry(key.site()).or_insert_with(|| DueRun {
                site: key.site(),
                url: site.url.clone(),
                host: site.host.clone(),
                jobs: Vec::new(),
                due_since: next,
            });
            run.jobs.push((*key, slot));
            run.due_since = run.due_since.min(next);
        }
        let mut runs: Vec<DueRun> = by_site.into_values().collect();
        runs.sort_by_key(|r| (r.due_since, r.site));
        runs
    }

    /// The due runs that can start now within the concurrency bounds, oldest first. A host
    /// at its bound is skipped so other hosts still start.
    pub fn startable(&self, now: Timestamp) -> Vec<DueRun> {
        let mut free = self.limits.global.saturating_sub(self.running.len());
        let mut out: Vec<DueRun> = Vec::new();
        if free == 0 {
            return out;
        }
        for run in self.due(now) {
            let busy = self.host_running.get(&run.host).copied().unwrap_or(0);
            let planned = out.iter().filter(|r| r.host == run.host).count();
            if busy + planned >= self.limits.per_host {
                continue;
            }
            out.push(run);
            free -= 1;
            if free == 0 {
                break;
            }
        }
        out
    }

    /// Marks a due run as started. Fails if the site is already running or a bound is
    /// reached. Returns the request for the runner and the job states to persist.
    pub fn start(
        &mut self,
        due: &DueRun,
        now: Timestamp,
    ) -> Result<(RunRequest, Vec<JobStateChange>), ScheduleError> {
        let site = self
            .sites
            .get(&due.site)
            .ok_or(ScheduleError::UnknownSite(due.site))?;
        if let Some(run) = site.running {
            return Err(ScheduleError::SiteBusy {
                site: due.site,
                run,
            });
        }
        let host_busy = self.host_running.get(&site.host).copied().unwrap_or(0);
        if self.running.len() >= self.limits.global || host_busy >= self.limits.per_host {
            return Err(ScheduleError::LimitReached {
                host: site.host.clone(),
            });
        }
        let run = RunId(self.next_run);
        self.next_run += 1;
        let host = site.host.clone();
        let url = site.url.clone();
        let mut changes = Vec::new();
        let mut jobs = Vec::new();
        for (key, slot) in &due.jobs {
            if let Some(job) = self.jobs.get_mut(key) {
                job.state.running_since = Some(now);
                job.state.last_started_at = Some(now);
                jobs.push((*key, *slot));
                changes.push(JobStateChange {
                    job: *key,
                    state: job.state.clone(),
                });
            }
        }
        if let Some(site) = self.sites.get_mut(&due.site) {
            site.running = Some(run);
        }
        *self.host_running.entry(host.clone()).or_default() += 1;
        self.running.insert(
            run,
            Running {
                site: due.site,
                host: host.clone(),
                jobs: jobs.clone(),
            },
        );
        let request = RunRequest {
            run,
            site: due.site,
            url,
            host,
            campaigns: jobs.iter().filter_map(|(j, _)| j.campaign()).collect(),
            jobs,
            started_at: now,
            due_since: due.due_since,
        };
        Ok((request, changes))
    }

    /// Records the end of a run. Success and failure consume the slot (the next run is the
    /// first slot after it); cancellation does not (the run is repeated). Returns the job
    /// states to persist.
    pub fn finish(
        &mut self,
        run: RunId,
        outcome: &RunOutcome,
        now: Timestamp,
    ) -> Result<Vec<JobStateChange>, ScheduleError> {
        let running = self
            .running
            .remove(&run)
            .ok_or(ScheduleError::UnknownRun(run))?;
        if let Some(n) = self.host_running.get_mut(&running.host) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.host_running.remove(&running.host);
            }
        }
        if let Some(site) = self.sites.get_mut(&running.site)
            && site.running == Some(run)
        {
            site.running = None;
        }
        let mut changes = Vec::new();
        for (key, slot) in running.jobs {
            let Some(job) = self.jobs.get_mut(&key) else {
                continue;
            };
            job.state.running_since = None;
            job.state.last_finished_at = Some(now);
            match outcome {
                RunOutcome::Succeeded { .. } => {
                    job.state.last_slot = Some(slot);
                    job.state.last_outcome = Some(OutcomeKind::Succeeded);
                    job.state.last_error = None;
                    job.state.consecutive_failures = 0;
                }
                RunOutcome::Failed { error } => {
                    job.state.last_slot = Some(slot);
                    job.state.last_outcome = Some(OutcomeKind::Failed);
                    job.state.last_error = Some(error.clone());
                    job.state.consecutive_failures += 1;
                }
                RunOutcome::Cancelled => {
                    job.state.last_outcome = Some(OutcomeKind::Interrupted);
                }
            }
            job.next_due = compute_next_due(job, &self.tz);
            changes.push(JobStateChange {
                job: key,
                state: job.state.clone(),
            });
        }
        Ok(changes)
    }

    /// The earliest future instant (after `now`) at which a job becomes due, for the daemon's
    /// sleep. Due-but-blocked runs (site running, bound reached) wake the daemon when a run
    /// finishes instead, so they are not counted here.
    pub fn next_wake(&self, now: Timestamp) -> Option<Timestamp> {
        self.jobs
            .values()
            .filter(|j| !j.paused)
            .filter_map(|j| j.next_due)
            .filter(|t| *t > now)
            .min()
    }

    /// Human description of a job's schedule, in this scheduler's zone.
    pub fn describe(&self, job: JobKey) -> Option<String> {
        self.jobs.get(&job).map(|j| {
            let mut d = j.spec.describe(&self.tz);
            if let Some(w) = j.window {
                d.push_str(&format!(
                    " from {} until {}",
                    super::spec::display_time(w.from, &self.tz),
                    super::spec::display_time(w.to, &self.tz)
                ));
            }
            d
        })
    }

    /// Status of every job, soonest next run first (running and due ones at the top).
    pub fn status(&self) -> Vec<JobStatus> {
        let mut out: Vec<JobStatus> = self
            .jobs
            .iter()
            .map(|(key, job)| {
                let site = self.sites.get(&key.site());
                let paused = job.paused || site.is_some_and(|s| s.paused);
                JobStatus {
                    job: *key,
                    url: site.map(|s| s.url.clone()).unwrap_or_default(),
                    schedule: self.describe(*key).unwrap_or_default(),
                    paused,
                    next_due: if paused { None } else { job.next_due },
                    running: site.and_then(|s| s.running),
                    state: job.state.clone(),
                }
            })
            .collect();
        out.sort_by_key(|s| (s.running.is_none(), s.next_due.is_none(), s.next_due, s.job));
        out
    }

    /// Ids of the sites known.
    pub fn site_ids(&self) -> BTreeSet<SiteId> {
        self.sites.keys().copied().collect()
    }
}
