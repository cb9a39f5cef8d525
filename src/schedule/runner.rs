//! The [`Runner`] `mapsweep serve` uses: one scheduled run = one [`crate::sweep::Sweep`] of
//! the site, recorded in `schedule_runs`, compared with the site's previous run, with a
//! webhook notice for each newly introduced problem map.
//!
//! Rules kept here:
//! - The sweep's seed is the site URL, with the site's depth and render mode over `[crawl]`.
//!   A run serving a campaign is tagged with the campaign's name (the first, when one run
//!   serves several), a run of the site's own schedule with `site-<id>`.
//! - A sweep that fails as a whole, or fetches no page of the site (unreachable), is
//!   [`RunOutcome::Failed`]: recorded with its error, retried at the next slot; what it
//!   captured stays sealed. A sweep stopped by the daemon's token is
//!   [`RunOutcome::Cancelled`] (the slot runs again).
//! - What a run saw (pages fetched, maps with BLAKE3 and perceptual hash, verdict, finding)
//!   is stored with the run; the next run of the site is compared with it
//!   ([`super::changes::compare`]) and the changes stored, so a re-encoded problem map is
//!   "still present", never "introduced". The first run of a site compares with nothing:
//!   each problem map it finds is introduced.
//! - The runner keeps what does not change between runs of an unchanged map: check results
//!   ([`CheckCache`], 64 MiB) and perceptual hashes, both by the image's BLAKE3. Every run
//!   still fetches, seals its own capture (with the report and overlay) and records its run.
//! - Notices go through [`Notifier::notify`], which never waits; a failure to notify or to
//!   compute changes is logged and never fails the run.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use sqlx::Row;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::changes::{self, MapRecord, MapVerdict, ProblemChangeKind, SweepMaps};
use super::daemon::Runner;
use super::db::{RunResult, ScheduleDb, ScheduleDbError};
use super::notify::{NoticeRule, Notifier, ViolationNotice};
use super::state::{RunOutcome, RunRequest, RunSummary};
use crate::check::Checker;
use crate::crawl::CrawlOptions;
use crate::evidence::{EvidenceError, EvidenceStore};
use crate::sweep::{CheckCache, StopSignal, Sweep, SweepError, SweepRequest, SweepSummary};

/// Bytes of check reports and overlays the runner keeps between runs.
const CHECK_CACHE_BYTES: usize = 64 << 20;
/// Perceptual hashes kept between runs (a few dozen bytes each); the map is cleared when full.
const PHASH_CACHE_ENTRIES: usize = 100_000;

/// Errors of one scheduled run; each names the site or sweep.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Db(#[from] ScheduleDbError),
    #[error("site {site}: evidence store: {source}")]
    Evidence { site: i64, source: EvidenceError },
    #[error("sweep of {url}: {source}")]
    Sweep { url: String, source: SweepError },
    #[error("site {site} has an unusable URL {url:?}: {reason}")]
    BadUrl {
        site: i64,
        url: String,
        reason: String,
    },
    #[error("sweep {sweep_id}: reading its findings: {cause}")]
    Findings {
        sweep_id: String,
        cause: sqlx::Error,
    },
}

/// Runs scheduled sweeps into one evidence store.
pub struct SweepRunner {
    store: EvidenceStore,
    checker: Arc<Checker>,
    db: ScheduleDb,
    crawl: CrawlOptions,
    notifier: Option<Notifier>,
    checks: CheckCache,
    phashes: std::sync::Mutex<HashMap<String, Option<String>>>,
}

impl SweepRunner {
    /// A runner sweeping into `store` (whose pool holds the schedule tables `db`), with
    /// `[crawl]` options `crawl` under each site's own depth and render mode.
    pub fn new(
        store: EvidenceStore,
        checker: Arc<Checker>,
        db: ScheduleDb,
        crawl: CrawlOptions,
        notifier: Option<Notifier>,
    ) -> Self {
        Self {
            store,
            checker,
            db,
            crawl,
            notifier,
            checks: CheckCache::new(CHECK_CACHE_BYTES),
            phashes: std::sync::Mutex::default(),
        }
    }

    async fn run_inner(
        &self,
        req: &RunRequest,
        cancel: &CancellationToken,
    ) -> Result<RunOutcome, RunnerError> {
        let t0 = std::time::Instant::now();
        let site = self.db.site(req.site.0).await?;
        let names = self.db.campaign_names().await?;
        let campaign_names: Vec<String> = req
            .campaigns
            .iter()
            .filter_map(|c| names.get(&c.0).cloned())
            .collect();
        let sweep_campaign = campaign_names
            .first()
            .cloned()
            .unwrap_or_else(|| site.sweep_campaign());
        let run_id = self.db.start_run(req, &sweep_campaign).await?;
        tracing::info!(run = run_id, site = site.id, url = %site.url, campaign = %sweep_campaign, "sweep starting");

        let seed = Url::parse(&site.url).map_err(|e| RunnerError::BadUrl {
            site: site.id,
            url: site.url.clone(),
            reason: e.to_string(),
        });
        let seed = match seed {
            Ok(s) => s,
            Err(e) => {
                self.record_failure(run_id, site.id, None, &e.to_string())
                    .await;
                return Ok(RunOutcome::Failed {
                    error: e.to_string(),
                });
            }
        };
        let own = CrawlOptions {
            depth: site.depth,
            render: site.render,
            ..CrawlOptions::default()
        };
        let settings = CrawlOptions::merge(&own, &self.crawl);
        let seq0 = self
            .store
            .log_size()
            .await
            .map_err(|source| RunnerError::Evidence {
                site: site.id,
                source,
            })?;

        let stop = StopSignal::new();
        let watcher = {
            let stop = stop.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                cancel.cancelled().await;
                stop.stop();
            })
        };
        let sweep = Sweep::new(self.store.clone(), self.checker.clone())
            .with_check_cache(self.checks.clone());
        let result = sweep
            .run(
                SweepRequest {
                    campaign: sweep_campaign.clone(),
                    seeds: vec![seed],
                    settings,
                    resume: false,
                },
                &stop,
            )
            .await;
        watcher.abort();

        let summary = match result {
            Ok(s) => s,
            Err(source) => {
                let e = RunnerError::Sweep {
                    url: site.url.clone(),
                    source,
                };
                self.record_failure(run_id, site.id, None, &e.to_string())
                    .await;
                return Ok(RunOutcome::Failed {
                    error: e.to_string(),
                });
            }
        };
        if summary.stopped && cancel.is_cancelled() {
            let result = RunResult {
                outcome: "cancelled".into(),
                sweep_id: Some(summary.sweep_id.clone()),
                pages: summary.crawl.pages,
                maps: summary.maps,
                violations: summary.violations,
                error: Some("stopped by the daemon's shutdown; runs again on next start".into()),
                seen: None,
            };
            self.db
                .finish_run(run_id, site.id, &result, None, jiff::Timestamp::now())
                .await?;
            return Ok(RunOutcome::Cancelled);
        }
        if summary.crawl.pages_ok == 0 {
            let errors: Vec<String> = summary
                .crawl
                .errors_by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let error = format!(
                "no page of {} could be fetched ({})",
                site.url,
                if errors.is_empty() {
                    "no answer".to_string()
                } else {
                    errors.join(", ")
                }
            );
            self.record_failure(run_id, site.id, Some(&summary), &error)
                .await;
            return Ok(RunOutcome::Failed { error });
        }

        let t_sweep = t0.elapsed();
        let seen = self.seen(seq0, &summary).await?;
        let previous = self.db.last_seen(site.id).await?;
        let (prev_run, prev_maps) = match previous {
            Some((id, maps)) => (Some(id), maps),
            None => (None, SweepMaps::default()),
        };
        let report = changes::compare(&prev_maps, &seen);
        let introduced: Vec<&changes::ProblemChange> = report
            .problems
            .iter()
            .filter(|p| p.kind == ProblemChangeKind::Introduced)
            .collect();
        let result = RunResult {
            outcome: "succeeded".into(),
            sweep_id: Some(summary.sweep_id.clone()),
            pages: summary.crawl.pages,
            maps: summary.maps,
            violations: summary.violations,
            error: None,
            seen: Some(seen.clone()),
        };
        let now = jiff::Timestamp::now();
        self.db
            .finish_run(run_id, site.id, &result, Some((prev_run, &report)), now)
            .await?;
        if let Some(n) = &self.notifier {
            for p in &introduced {
                let Some(cur) = &p.current else { continue };
                let Some(fid) = &cur.finding_id else { continue };
                let rules = match crate::findings::get(self.store.pool(), fid).await {
                    Ok(f) => f
                        .rules
                        .iter()
                        .filter(|r| r.is_violated())
                        .map(|r| NoticeRule {
                            rule: r.rule.clone(),
                            status: r.status.clone(),
                            message: r.message.clone(),
                        })
                        .collect(),
                    Err(e) => {
                        tracing::warn!(finding = %fid, error = %e, "finding not readable for the webhook notice");
                        Vec::new()
                    }
                };
                let mut notice = ViolationNotice::new(fid, &site.url, &p.page_url, rules, now);
                notice.site_id = Some(site.id);
                notice.artifact_url = Some(cur.artifact_url.clone());
                notice.campaigns = campaign_names.clone();
                n.notify(notice);
            }
        }
        tracing::info!(
            run = run_id,
            site = site.id,
            pages = summary.crawl.pages,
            violations = summary.violations,
            introduced = report.counts.introduced,
            fixed = report.counts.fixed,
            sweep_ms = summary.elapsed_ms,
            total_ms = t0.elapsed().as_millis() as u64,
            after_sweep_ms = (t0.elapsed() - t_sweep).as_millis() as u64,
            "sweep finished"
        );
        let errors = summary.crawl.errors_by_kind.values().sum();
        Ok(RunOutcome::Succeeded {
            summary: RunSummary {
                pages: summary.crawl.pages,
                maps: summary.maps,
                violations: summary.violations,
                new_violations: report.counts.introduced as u64,
                errors,
            },
        })
    }

    async fn record_failure(
        &self,
        run_id: i64,
        site: i64,
        summary: Option<&SweepSummary>,
        error: &str,
    ) {
        // The daemon logs the failure (warn) when the run comes back; this is the detail.
        tracing::debug!(run = run_id, site, error, "recording the failed run");
        let result = RunResult {
            outcome: "failed".into(),
            sweep_id: summary.map(|s| s.sweep_id.clone()),
            pages: summary.map_or(0, |s| s.crawl.pages),
            maps: summary.map_or(0, |s| s.maps),
            violations: summary.map_or(0, |s| s.violations),
            error: Some(error.to_string()),
            seen: None,
        };
        if let Err(e) = self
            .db
            .finish_run(run_id, site, &result, None, jiff::Timestamp::now())
            .await
        {
            tracing::error!(run = run_id, error = %e, "cannot record the failed run");
        }
    }

    /// What a finished sweep saw: its captures (found by the sweep's note in records sealed
    /// since `seq0`) and the findings indexed on them, with perceptual hashes.
    async fn seen(&self, seq0: u64, summary: &SweepSummary) -> Result<SweepMaps, RunnerError> {
        let records = self
            .store
            .records(seq0.saturating_sub(1), u64::MAX)
            .await
            .map_err(|source| RunnerError::Evidence { site: -1, source })?;
        let tag = format!("sweep {} ", summary.sweep_id);
        let mut captures = HashSet::new();
        let mut pages = BTreeSet::new();
        for rec in &records {
            let Some(c) = rec.capture() else { continue };
            if !c.notes.iter().any(|n| n.starts_with(&tag)) {
                continue;
            }
            captures.insert(c.id.to_string());
            if c.status.is_some_and(|s| (200..400).contains(&s)) {
                pages.insert(c.requested_url.clone());
            }
        }
        let fe = |cause| RunnerError::Findings {
            sweep_id: summary.sweep_id.clone(),
            cause,
        };
        // By capture id (indexed through UNIQUE (capture_id, artifact_blake3)), not by a scan of
        // every finding since `seq0`, which grows with the findings table.
        let mut rows = Vec::new();
        for capture in &captures {
            rows.extend(
                sqlx::query(
                    "SELECT num, capture_id, page_url, artifact_url, artifact_blake3, verdict \
                     FROM findings WHERE capture_id = $1",
                )
                .bind(capture.as_str())
                .fetch_all(self.store.pool())
                .await
                .map_err(fe)?,
            );
        }
        let mut numbered = Vec::with_capacity(rows.len());
        for r in rows {
            let num: i64 = r.try_get(0).map_err(fe)?;
            numbered.push((num, r));
        }
        numbered.sort_by_key(|(n, _)| *n);
        let mut maps = Vec::new();
        let mut hashes: HashMap<String, Option<String>> = HashMap::new();
        for (num, r) in &numbered {
            let num = *num;
            let page_url: String = r.try_get(2).map_err(fe)?;
            let artifact_url: Option<String> = r.try_get(3).map_err(fe)?;
            let blake3: String = r.try_get(4).map_err(fe)?;
            let verdict: String = r.try_get(5).map_err(fe)?;
            let phash = match hashes.get(&blake3) {
                Some(h) => h.clone(),
                None => {
                    let h = self.phash(&blake3).await;
                    hashes.insert(blake3.clone(), h.clone());
                    h
                }
            };
            maps.push(MapRecord {
                artifact_url: artifact_url.unwrap_or_else(|| {
                    format!("{page_url}#map-{}", &blake3[..blake3.len().min(16)])
                }),
                page_url,
                blake3,
                phash,
                verdict: match verdict.as_str() {
                    "violation" => MapVerdict::Violation,
                    "compliant" => MapVerdict::Compliant,
                    _ => MapVerdict::Inconclusive,
                },
                finding_id: Some(format!("F-{num}")),
            });
        }
        Ok(SweepMaps { pages, maps })
    }

    /// Perceptual hash of a stored artifact; None when it is not a raster image we decode.
    /// Remembered by BLAKE3 across runs (the blob never changes).
    async fn phash(&self, blake3: &str) -> Option<String> {
        if let Some(h) = self.phashes.lock().ok()?.get(blake3) {
            return h.clone();
        }
        let bytes = self.store.read_blob(blake3).await.ok()?;
        let h = tokio::task::spawn_blocking(move || {
            image::load_from_memory(&bytes)
                .ok()
                .map(|img| changes::perceptual_hash(&img))
        })
        .await
        .ok()
        .flatten();
        if let Ok(mut m) = self.phashes.lock() {
            if m.len() >= PHASH_CACHE_ENTRIES {
                m.clear();
            }
            m.insert(blake3.to_string(), h.clone());
        }
        h
    }
}

impl Runner for SweepRunner {
    async fn run(&self, run: RunRequest, cancel: CancellationToken) -> RunOutcome {
        match self.run_inner(&run, &cancel).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(site = run.site.0, url = %run.url, error = %e, "scheduled run failed");
                RunOutcome::Failed {
                    error: e.to_string(),
                }
            }
        }
    }
}
