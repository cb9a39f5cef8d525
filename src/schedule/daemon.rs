//! The daemon loop behind `mapsweep serve`: sleeps until the next due slot (or the poll
//! interval), starts due runs as tokio tasks within the concurrency bounds, persists every
//! job-state transition, and stops cleanly on cancellation.
//!
//! Shutdown: when the cancellation token fires, no new run starts; in-flight runs get a
//! child token that is cancelled at the same moment (a runner must then seal what it has
//! captured and return [`RunOutcome::Cancelled`], or finish). The daemon waits for them up to
//! the grace period (real time); runs still going after that are aborted and reported as
//! dropped, and their jobs are marked interrupted so they run again on the next start.
//! Aborting a task drops it at an `.await`: the runner must write evidence atomically
//! (temporary file + rename, database transactions) so a dropped run leaves nothing
//! half-written.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::clock::Clock;
use super::state::{JobStateChange, RunId, RunOutcome, RunRequest, Scheduler, Snapshot};

/// Runs one sweep of one site. Implemented by the sweep adapter (and by fakes in tests).
pub trait Runner: Send + Sync + 'static {
    /// Sweeps `run.url` for the jobs in `run`. On `cancel`, finish or drop in-flight captures
    /// (never half-write) and return [`RunOutcome::Cancelled`] soon.
    fn run(
        &self,
        run: RunRequest,
        cancel: CancellationToken,
    ) -> impl Future<Output = RunOutcome> + Send;
}

/// Error from a [`StateStore`] (the database layer's own error, boxed).
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Where the daemon keeps its state: the database in production, memory in tests.
pub trait StateStore: Send + Sync + 'static {
    /// Persists job states changed by a start or finish.
    fn save(
        &self,
        changes: Vec<JobStateChange>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads the current definitions (sites, campaigns, pauses), called every poll interval.
    /// Their job states are only used for jobs the daemon does not know yet.
    fn load(&self) -> impl Future<Output = Result<Snapshot, StoreError>> + Send;
}

/// A [`StateStore`] in memory: holds a snapshot, applies saved changes to it.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Snapshot>>,
}

impl MemoryStore {
    /// A store holding `snapshot`.
    pub fn new(snapshot: Snapshot) -> Self {
        Self {
            inner: Arc::new(Mutex::new(snapshot)),
        }
    }

    /// The stored snapshot now.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Replaces the definitions (as `site add` / `campaign create` would in the database).
    pub fn replace(&self, snapshot: Snapshot) {
        if let Ok(mut s) = self.inner.lock() {
            *s = snapshot;
        }
    }
}

impl StateStore for MemoryStore {
    async fn save(&self, changes: Vec<JobStateChange>) -> Result<(), StoreError> {
        let mut snap = self.inner.lock().map_err(|_| "memory store poisoned")?;
        for change in changes {
            match change.job {
                super::JobKey::Site(id) => {
                    if let Some(site) = snap.sites.iter_mut().find(|s| s.id == id) {
                        site.state = change.state;
                    }
                }
                super::JobKey::Campaign(c, s) => {
                    if let Some(cs) = snap
                        .campaigns
                        .iter_mut()
                        .filter(|x| x.id == c)
                        .flat_map(|x| x.sites.iter_mut())
                        .find(|x| x.site == s)
                    {
                        cs.state = change.state;
                    }
                }
            }
        }
        Ok(())
    }

    async fn load(&self) -> Result<Snapshot, StoreError> {
        Ok(self.snapshot())
    }
}

/// Daemon settings.
#[derive(Debug, Clone, Copy)]
pub struct DaemonOptions {
    /// Longest sleep between looks at the store (clock time).
    pub poll_interval: SignedDuration,
    /// How long in-flight runs get after cancellation (real time).
    pub shutdown_grace: Duration,
    /// Longest one sweep may run (real time); then it is told to stop, gets
    /// `shutdown_grace` to seal what it has, and is recorded as failed (retried at the next
    /// slot), so a hung sweep cannot hold a concurrency slot for ever. None: no limit.
    pub max_run_time: Option<Duration>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        Self {
            poll_interval: SignedDuration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            max_run_time: None,
        }
    }
}

/// What the daemon did, as it happens (for logs, `status`, and tests).
#[derive(Debug, Clone, PartialEq)]
pub enum DaemonEvent {
    Started(RunRequest),
    Finished {
        run: RunId,
        site: super::SiteId,
        outcome: RunOutcome,
    },
    /// Nothing more to start now; sleeping until `until` or a run finishes.
    Idle {
        until: Timestamp,
        running: usize,
    },
    StoreFailed {
        error: String,
    },
    Dropped(RunRequest),
    Stopped,
}

/// Runs one sweep, stopping it when it exceeds `limit` (see [`DaemonOptions::max_run_time`]).
async fn bounded_run<R: Runner>(
    runner: Arc<R>,
    req: RunRequest,
    token: CancellationToken,
    limit: Option<Duration>,
    grace: Duration,
) -> RunOutcome {
    let url = req.url.clone();
    let fut = runner.run(req, token.clone());
    tokio::pin!(fut);
    let Some(limit) = limit else {
        return fut.await;
    };
    tokio::select! {
        out = &mut fut => out,
        _ = tokio::time::sleep(limit) => {
            tracing::warn!(%url, ?limit, "sweep exceeded the longest run time; stopping it");
            token.cancel();
            match tokio::time::timeout(grace, &mut fut).await {
                Ok(_) => RunOutcome::Failed {
                    error: format!("sweep of {url} exceeded the longest run time ({limit:?}) and was stopped"),
                },
                Err(_) => RunOutcome::Failed {
                    error: format!("sweep of {url} exceeded the longest run time ({limit:?}) and did not stop; dropped"),
                },
            }
        }
    }
}

/// Summary returned when the daemon stops.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DaemonReport {
    pub started: u64,
    pub finished: u64,
    /// Runs that returned within the grace period after cancellation.
    pub finished_after_cancel: u64,
    /// Runs aborted when the grace period ran out (their jobs are rerun on next start).
    pub dropped: Vec<RunRequest>,
}

/// The daemon: a scheduler driven by a clock, a runner and a store.
pub struct Daemon<R: Runner, C: Clock, S: StateStore> {
    scheduler: Scheduler,
    runner: Arc<R>,
    clock: Arc<C>,
    store: Arc<S>,
    options: DaemonOptions,
    events: Option<mpsc::UnboundedSender<DaemonEvent>>,
}

impl<R: Runner, C: Clock, S: StateStore> Daemon<R, C, S> {
    /// A daemon over an already loaded scheduler (see [`Scheduler::load`]).
    pub fn new(
        scheduler: Scheduler,
        runner: Arc<R>,
        clock: Arc<C>,
        store: Arc<S>,
        options: DaemonOptions,
    ) -> Self {
        Self {
            scheduler,
            runner,
            clock,
            store,
            options,
            events: None,
        }
    }

    /// Sends every [`DaemonEvent`] to `tx`.
    pub fn with_events(mut self, tx: mpsc::UnboundedSender<DaemonEvent>) -> Self {
        self.events = Some(tx);
        self
    }

    fn emit(&self, e: DaemonEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    async fn persist(&self, changes: Vec<JobStateChange>) {
        if changes.is_empty() {
            return;
        }
        if let Err(e) = self.store.save(changes).await {
            tracing::error!(error = %e, "could not save scheduler state");
            self.emit(DaemonEvent::StoreFailed {
                error: e.to_string(),
            });
        }
    }

    async fn finished(&mut self, run: RunId, outcome: RunOutcome, report: &mut DaemonReport) {
        let now = self.clock.now();
        let site = self
            .scheduler
            .running()
            .find(|(r, _)| *r == run)
            .map(|(_, s)| s);
        match self.scheduler.finish(run, &outcome, now) {
            Ok(changes) => self.persist(changes).await,
            Err(e) => tracing::warn!(error = %e, "finished run unknown to the scheduler"),
        }
        match &outcome {
            RunOutcome::Failed { error } => {
                tracing::warn!(run = run.0, site = ?site, error, "sweep failed; retried at the next slot")
            }
            _ => tracing::info!(run = run.0, site = ?site, ?outcome, "sweep finished"),
        }
        report.finished += 1;
        if let Some(site) = site {
            self.emit(DaemonEvent::Finished { run, site, outcome });
        }
    }

    /// Runs until `cancel` fires, then shuts down as described in the module docs.
    pub async fn run(mut self, cancel: CancellationToken) -> DaemonReport {
        let mut report = DaemonReport::default();
        let runs_cancel = cancel.child_token();
        let mut tasks: JoinSet<RunOutcome> = JoinSet::new();
        let mut task_runs: HashMap<tokio::task::Id, RunRequest> = HashMap::new();
        let mut next_reload = self.clock.now();

        loop {
            if cancel.is_cancelled() {
                break;
            }
            let now = self.clock.now();
            if now >= next_reload {
                match self.store.load().await {
                    Ok(snapshot) => {
                        for problem in self.scheduler.sync(snapshot) {
                            tracing::warn!(error = %problem, "ignored in the schedule");
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not reload sites and campaigns");
                        self.emit(DaemonEvent::StoreFailed {
                            error: e.to_string(),
                        });
                    }
                }
                next_reload = now.checked_add(self.options.poll_interval).unwrap_or(now);
            }
            for due in self.scheduler.startable(now) {
                match self.scheduler.start(&due, now) {
                    Ok((request, changes)) => {
                        self.persist(changes).await;
                        tracing::info!(run = request.run.0, site = request.site.0, url = %request.url,
                            campaigns = ?request.campaigns, "sweep started");
                        let runner = self.runner.clone();
                        let token = runs_cancel.child_token();
                        let req = request.clone();
                        let limit = self.options.max_run_time;
                        let grace = self.options.shutdown_grace;
                        let handle = tasks.spawn(bounded_run(runner, req, token, limit, grace));
                        task_runs.insert(handle.id(), request.clone());
                        report.started += 1;
                        self.emit(DaemonEvent::Started(request));
                    }
                    Err(e) => tracing::debug!(error = %e, "due run not started"),
                }
            }
            let wake = self
                .scheduler
                .next_wake(now)
                .map_or(next_reload, |w| w.min(next_reload));
            self.emit(DaemonEvent::Idle {
                until: wake,
                running: tasks.len(),
            });
            let clock = self.clock.clone();
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    let (id, outcome) = match joined {
                        Ok((id, outcome)) => (id, outcome),
                        Err(e) => (e.id(), RunOutcome::Failed { error: format!("sweep task failed: {e}") }),
                    };
                    if let Some(req) = task_runs.remove(&id) {
                        self.finished(req.run, outcome, &mut report).await;
                    }
                }
                _ = clock.sleep_until(wake) => {}
            }
        }

        // Shutdown: runs were told through their child token; give them the grace period.
        tracing::info!(
            in_flight = tasks.len(),
            "stopping: waiting for in-flight sweeps"
        );
        runs_cancel.cancel();
        let deadline = tokio::time::Instant::now() + self.options.shutdown_grace;
        while !tasks.is_empty() {
            match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
                Ok(Some(joined)) => {
                    let (id, outcome) = match joined {
                        Ok((id, outcome)) => (id, outcome),
                        Err(e) => (e.id(), RunOutcome::Cancelled),
                    };
                    if let Some(req) = task_runs.remove(&id) {
                        self.finished(req.run, outcome, &mut report).await;
                        report.finished_after_cancel += 1;
                    }
                }
                Ok(None) => break,
                Err(_) => break,
            }
        }
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let mut dropped: Vec<RunRequest> = task_runs.into_values().collect();
        dropped.sort_by_key(|r| r.run);
        let now = self.clock.now();
        for req in &dropped {
            tracing::warn!(run = req.run.0, site = req.site.0, url = %req.url, "sweep dropped at shutdown; reruns on next start");
            if let Ok(changes) = self.scheduler.finish(req.run, &RunOutcome::Cancelled, now) {
                self.persist(changes).await;
            }
            self.emit(DaemonEvent::Dropped(req.clone()));
        }
        report.dropped = dropped;
        self.emit(DaemonEvent::Stopped);
        report
    }
}
