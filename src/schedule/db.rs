//! The schedule tables (migration `..0030_schedule.sql`): watched sites, campaigns, runs and
//! detected changes, and the [`StateStore`] the daemon persists its job state through.
//!
//! Rules kept here:
//! - Times are stored as RFC 3339 UTC text; display zones are the CLI's business.
//! - A site is one row per *normalised* URL ([`super::sites::normalize_site_url`]); adding it
//!   again is an error naming the existing site id. Removing sets `removed_at`: the site's runs,
//!   changes and evidence stay; it only leaves the schedule ([`ScheduleDb::snapshot`]).
//! - Job state is the scheduler's [`JobState`] as JSON beside the job's definition (site row
//!   or campaign_sites row); every start/finish is written before the daemon moves on, so a
//!   restart resumes (a missed slot runs once, an interrupted run runs again).
//! - Campaign sites chosen by tag are resolved when the campaign is created.
//! - A database locked by another process is reported as [`ScheduleDbError::Locked`],
//!   naming the database.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::BTreeSet;

use super::changes::{ChangeReport, MapChangeKind, ProblemChangeKind, SweepMaps};
use super::daemon::{StateStore, StoreError};
use super::sites::{host_of, normalize_site_url};
use super::spec::{ScheduleSpec, Window};
use super::state::{
    Campaign, CampaignId, CampaignSite, JobKey, JobState, JobStateChange, OutcomeKind, RunOutcome,
    RunRequest, SiteId, Snapshot, WatchedSite,
};
use crate::crawl::RenderMode;
use crate::store::Db;

/// Errors of the schedule tables; each names the database, site, campaign or input concerned.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleDbError {
    #[error(
        "database {db} is locked by another process ({what}); wait for it to finish or stop it, then try again"
    )]
    Locked { db: String, what: String },
    #[error("database {db}: {what}: {cause}")]
    Db {
        db: String,
        what: String,
        cause: sqlx::Error,
    },
    #[error("database {db}: stored {what} is unreadable: {reason}")]
    Corrupt {
        db: String,
        what: String,
        reason: String,
    },
    #[error("{url} is already watched as site {id} (normalised URL {normalized})")]
    DuplicateSite {
        url: String,
        normalized: String,
        id: i64,
    },
    #[error(transparent)]
    Url(#[from] super::sites::SiteUrlError),
    #[error("unknown site {0} (see `mapsweep site list`)")]
    UnknownSite(i64),
    #[error("site {0} was removed; its evidence is kept but it is no longer swept")]
    SiteRemoved(i64),
    #[error("a campaign named {0:?} already exists")]
    DuplicateCampaign(String),
    #[error("unknown campaign {0:?} (see `mapsweep campaign list`)")]
    UnknownCampaign(String),
    #[error("no watched site has tag {0:?}")]
    UnknownTag(String),
    #[error("campaign {0:?} would have no sites: give --site ID or --tag T")]
    NoSites(String),
    #[error("invalid campaign name {0:?}: use letters, digits, '-', '_' or '.'")]
    BadCampaignName(String),
}

/// A site to add.
#[derive(Debug, Clone, Default)]
pub struct NewSite {
    pub url: String,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub schedule: Option<ScheduleSpec>,
    pub depth: Option<u32>,
    pub render: Option<RenderMode>,
}

/// A stored watched site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteRow {
    pub id: i64,
    pub url: String,
    pub host: String,
    pub name: Option<String>,
    pub tags: Vec<String>,
    /// Storage form of the schedule (`every 6h`, `cron 0 */6 * * *`); None: campaigns only.
    pub schedule: Option<String>,
    pub depth: Option<u32>,
    pub render: Option<RenderMode>,
    pub paused: bool,
    pub removed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub state: JobState,
}

impl SiteRow {
    /// The name a scheduled (non-campaign) sweep of this site is recorded under.
    pub fn sweep_campaign(&self) -> String {
        format!("site-{}", self.id)
    }
}

/// A campaign to create.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub window: Window,
    pub schedule: ScheduleSpec,
    pub sites: Vec<i64>,
    pub tags: Vec<String>,
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub schedule: String,
    /// How the sites were chosen, e.g. `site 3`, `tag expo`.
    pub selectors: Vec<String>,
    pub paused: bool,
    pub created_at: Timestamp,
    pub sites: Vec<i64>,
}

/// One run of one site, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: i64,
    pub site_id: i64,
    pub campaign_id: Option<i64>,
    pub sweep_campaign: String,
    pub slot: Timestamp,
    pub due_since: Timestamp,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// running, succeeded, failed, cancelled, interrupted
    pub outcome: String,
    pub sweep_id: Option<String>,
    pub pages: u64,
    pub maps: u64,
    pub violations: u64,
    pub new_violations: u64,
    pub fixed: u64,
    pub maps_new: u64,
    pub maps_changed: u64,
    pub maps_gone: u64,
    pub error: Option<String>,
}

/// What a finished run writes.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub outcome: String,
    pub sweep_id: Option<String>,
    pub pages: u64,
    pub maps: u64,
    pub violations: u64,
    pub error: Option<String>,
    pub seen: Option<SweepMaps>,
}

/// One stored change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRow {
    pub id: i64,
    pub site_id: i64,
    pub run_id: i64,
    pub previous_run_id: Option<i64>,
    pub detected_at: Timestamp,
    /// `map` or `problem`.
    pub category: String,
    /// map: new, changed, gone, reencoded; problem: introduced, fixed.
    pub kind: String,
    pub page_url: String,
    pub artifact_url: Option<String>,
    pub finding_id: Option<String>,
    pub previous_finding_id: Option<String>,
    pub distance: Option<u32>,
    pub known_elsewhere: bool,
}

/// The schedule tables over the shared pool.
#[derive(Debug, Clone)]
pub struct ScheduleDb {
    pool: Db,
    name: String,
}

fn ts_text(t: Timestamp) -> String {
    t.to_string()
}

macro_rules! site_cols {
    () => {
        "site_id, url, host, name, schedule, depth, render, paused, removed_at, created_at, job_state"
    };
}
macro_rules! run_cols {
    () => {
        "run_id, site_id, campaign_id, sweep_campaign, slot, due_since, started_at, ended_at, outcome, \
         sweep_id, pages, maps, violations, new_violations, fixed, maps_new, maps_changed, maps_gone, error"
    };
}

impl ScheduleDb {
    /// The tables in `pool`; `name` (the redacted database URL or path) names it in errors.
    pub fn new(pool: Db, name: impl Into<String>) -> Self {
        Self {
            pool,
            name: name.into(),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &Db {
        &self.pool
    }

    fn err<'a>(&'a self, what: &'a str) -> impl Fn(sqlx::Error) -> ScheduleDbError + 'a {
        move |cause| {
            let text = cause.to_string();
            if text.contains("database is locked") || text.contains("database is busy") {
                ScheduleDbError::Locked {
                    db: self.name.clone(),
                    what: what.to_string(),
                }
            } else {
                ScheduleDbError::Db {
                    db: self.name.clone(),
                    what: what.to_string(),
                    cause,
                }
            }
        }
    }

    fn corrupt(&self, what: &str, reason: impl ToString) -> ScheduleDbError {
        ScheduleDbError::Corrupt {
            db: self.name.clone(),
            what: what.to_string(),
            reason: reason.to_string(),
        }
    }

    fn parse_ts(&self, what: &str, s: &str) -> Result<Timestamp, ScheduleDbError> {
        s.parse().map_err(|e: jiff::Error| self.corrupt(what, e))
    }

    fn parse_state(&self, what: &str, s: &str) -> Result<JobState, ScheduleDbError> {
        serde_json::from_str(s).map_err(|e| self.corrupt(what, e))
    }

    // ---------------------------------------------------------------- sites

    /// Adds a site. A URL already watched (after normalisation) is refused naming the site;
    /// a removed site with the same URL is brought back with the new settings.
    pub async fn add_site(
        &self,
        new: &NewSite,
        now: Timestamp,
    ) -> Result<SiteRow, ScheduleDbError> {
        let url = normalize_site_url(&new.url)?;
        let norm = url.to_string();
        if let Some(existing) = self.site_by_url(&norm).await? {
            if existing.removed_at.is_none() {
                return Err(ScheduleDbError::DuplicateSite {
                    url: new.url.clone(),
                    normalized: norm,
                    id: existing.id,
                });
            }
            let mut tx = crate::store::begin_write(&self.pool)
                .await
                .map_err(self.err("add a site"))?;
            sqlx::query(
                "UPDATE watched_sites SET name = $1, schedule = $2, depth = $3, render = $4, \
                 paused = 0, removed_at = NULL WHERE site_id = $5",
            )
            .bind(new.name.clone())
            .bind(new.schedule.as_ref().map(|s| s.to_string()))
            .bind(new.depth.map(i64::from))
            .bind(new.render.map(|r| r.to_string()))
            .bind(existing.id)
            .execute(&mut *tx)
            .await
            .map_err(self.err("add a site"))?;
            sqlx::query("DELETE FROM site_tags WHERE site_id = $1")
                .bind(existing.id)
                .execute(&mut *tx)
                .await
                .map_err(self.err("add a site"))?;
            for tag in tag_set(&new.tags) {
                sqlx::query("INSERT INTO site_tags (site_id, tag) VALUES ($1, $2)")
                    .bind(existing.id)
                    .bind(tag)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.err("add a site"))?;
            }
            tx.commit().await.map_err(self.err("add a site"))?;
            return self.site(existing.id).await;
        }
        let state = serde_json::to_string(&JobState::default())
            .map_err(|e| self.corrupt("job state", e))?;
        let mut tx = crate::store::begin_write(&self.pool)
            .await
            .map_err(self.err("add a site"))?;
        let row = sqlx::query(
            "INSERT INTO watched_sites (url, host, name, schedule, depth, render, paused, removed_at, created_at, job_state) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, NULL, $7, $8) RETURNING site_id",
        )
        .bind(norm.clone())
        .bind(host_of(&url))
        .bind(new.name.clone())
        .bind(new.schedule.as_ref().map(|s| s.to_string()))
        .bind(new.depth.map(i64::from))
        .bind(new.render.map(|r| r.to_string()))
        .bind(ts_text(now))
        .bind(state)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if e.to_string().to_ascii_lowercase().contains("unique") {
                ScheduleDbError::DuplicateSite {
                    url: new.url.clone(),
                    normalized: norm.clone(),
                    id: -1,
                }
            } else {
                self.err("add a site")(e)
            }
        })?;
        let id: i64 = row.try_get(0).map_err(self.err("add a site"))?;
        for tag in tag_set(&new.tags) {
            sqlx::query("INSERT INTO site_tags (site_id, tag) VALUES ($1, $2)")
                .bind(id)
                .bind(tag)
                .execute(&mut *tx)
                .await
                .map_err(self.err("add a site"))?;
        }
        tx.commit().await.map_err(self.err("add a site"))?;
        self.site(id).await
    }

    async fn site_by_url(&self, url: &str) -> Result<Option<SiteRow>, ScheduleDbError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            site_cols!(),
            " FROM watched_sites WHERE url = $1"
        ))
        .bind(url)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.err("look up a site"))?;
        match row {
            Some(r) => Ok(Some(self.row_to_site(&r).await?)),
            None => Ok(None),
        }
    }

    async fn row_to_site(&self, r: &sqlx::any::AnyRow) -> Result<SiteRow, ScheduleDbError> {
        let e = self.err("read a site");
        let id: i64 = r.try_get(0).map_err(&e)?;
        let render: Option<String> = r.try_get(6).map_err(&e)?;
        let render = match render.as_deref() {
            None => None,
            Some("auto") => Some(RenderMode::Auto),
            Some("always") => Some(RenderMode::Always),
            Some("never") => Some(RenderMode::Never),
            Some(other) => return Err(self.corrupt("render mode", other)),
        };
        let removed: Option<String> = r.try_get(8).map_err(&e)?;
        let created: String = r.try_get(9).map_err(&e)?;
        let state: String = r.try_get(10).map_err(&e)?;
        let depth: Option<i64> = r.try_get(5).map_err(&e)?;
        let paused: i64 = r.try_get(7).map_err(&e)?;
        let tags = sqlx::query("SELECT tag FROM site_tags WHERE site_id = $1 ORDER BY tag")
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(&e)?
            .iter()
            .map(|t| t.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(&e)?;
        Ok(SiteRow {
            id,
            url: r.try_get(1).map_err(&e)?,
            host: r.try_get(2).map_err(&e)?,
            name: r.try_get(3).map_err(&e)?,
            tags,
            schedule: r.try_get(4).map_err(&e)?,
            depth: depth.map(|d| d.clamp(0, u32::MAX as i64) as u32),
            render,
            paused: paused != 0,
            removed_at: match removed {
                Some(s) => Some(self.parse_ts("removed_at", &s)?),
                None => None,
            },
            created_at: self.parse_ts("created_at", &created)?,
            state: self.parse_state("site job state", &state)?,
        })
    }

    /// One site (removed ones too).
    pub async fn site(&self, id: i64) -> Result<SiteRow, ScheduleDbError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            site_cols!(),
            " FROM watched_sites WHERE site_id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.err("read a site"))?
        .ok_or(ScheduleDbError::UnknownSite(id))?;
        self.row_to_site(&row).await
    }

    /// All sites by id; removed ones only when asked.
    pub async fn sites(&self, include_removed: bool) -> Result<Vec<SiteRow>, ScheduleDbError> {
        let sql = if include_removed {
            concat!(
                "SELECT ",
                site_cols!(),
                " FROM watched_sites ORDER BY site_id"
            )
        } else {
            concat!(
                "SELECT ",
                site_cols!(),
                " FROM watched_sites WHERE removed_at IS NULL ORDER BY site_id"
            )
        };
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("list sites"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.row_to_site(r).await?);
        }
        Ok(out)
    }

    /// Pauses or resumes a site (a removed site cannot be resumed).
    pub async fn set_paused(&self, id: i64, paused: bool) -> Result<SiteRow, ScheduleDbError> {
        let site = self.site(id).await?;
        if site.removed_at.is_some() {
            return Err(ScheduleDbError::SiteRemoved(id));
        }
        sqlx::query("UPDATE watched_sites SET paused = $1 WHERE site_id = $2")
            .bind(i64::from(paused))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(self.err("pause or resume a site"))?;
        self.site(id).await
    }

    /// Removes a site from the schedule; its runs, changes and evidence stay.
    pub async fn remove_site(&self, id: i64, now: Timestamp) -> Result<SiteRow, ScheduleDbError> {
        let site = self.site(id).await?;
        if site.removed_at.is_some() {
            return Err(ScheduleDbError::SiteRemoved(id));
        }
        sqlx::query("UPDATE watched_sites SET removed_at = $1 WHERE site_id = $2")
            .bind(ts_text(now))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(self.err("remove a site"))?;
        self.site(id).await
    }

    // ------------------------------------------------------------ campaigns

    /// Creates a campaign; its sites are the given ids plus every (not removed) site with
    /// one of the tags.
    pub async fn create_campaign(
        &self,
        new: &NewCampaign,
        now: Timestamp,
    ) -> Result<CampaignRow, ScheduleDbError> {
        let name = new.name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ScheduleDbError::BadCampaignName(new.name.clone()));
        }
        if self.campaign_by_name(name).await?.is_some() {
            return Err(ScheduleDbError::DuplicateCampaign(name.to_string()));
        }
        let mut ids = BTreeSet::new();
        let mut selectors = Vec::new();
        for id in &new.sites {
            let site = self.site(*id).await?;
            if site.removed_at.is_some() {
                return Err(ScheduleDbError::SiteRemoved(*id));
            }
            ids.insert(*id);
            selectors.push(format!("site {id}"));
        }
        for tag in &new.tags {
            let rows = sqlx::query(
                "SELECT t.site_id FROM site_tags t JOIN watched_sites s ON s.site_id = t.site_id \
                 WHERE t.tag = $1 AND s.removed_at IS NULL",
            )
            .bind(tag.clone())
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("resolve a tag"))?;
            if rows.is_empty() {
                return Err(ScheduleDbError::UnknownTag(tag.clone()));
            }
            for r in rows {
                ids.insert(r.try_get::<i64, _>(0).map_err(self.err("resolve a tag"))?);
            }
            selectors.push(format!("tag {tag}"));
        }
        if ids.is_empty() {
            return Err(ScheduleDbError::NoSites(name.to_string()));
        }
        let state = serde_json::to_string(&JobState::default())
            .map_err(|e| self.corrupt("job state", e))?;
        let sel = serde_json::to_string(&selectors).map_err(|e| self.corrupt("selectors", e))?;
        let mut tx = crate::store::begin_write(&self.pool)
            .await
            .map_err(self.err("create a campaign"))?;
        let row = sqlx::query(
            "INSERT INTO campaigns (name, window_from, window_to, schedule, selectors, paused, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING campaign_id",
        )
        .bind(name.to_string())
        .bind(ts_text(new.window.from))
        .bind(ts_text(new.window.to))
        .bind(new.schedule.to_string())
        .bind(sel)
        .bind(ts_text(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(self.err("create a campaign"))?;
        let cid: i64 = row.try_get(0).map_err(self.err("create a campaign"))?;
        for id in &ids {
            sqlx::query(
                "INSERT INTO campaign_sites (campaign_id, site_id, job_state) VALUES ($1, $2, $3)",
            )
            .bind(cid)
            .bind(*id)
            .bind(state.clone())
            .execute(&mut *tx)
            .await
            .map_err(self.err("create a campaign"))?;
        }
        tx.commit().await.map_err(self.err("create a campaign"))?;
        self.campaign(name).await
    }

    async fn campaign_by_name(&self, name: &str) -> Result<Option<CampaignRow>, ScheduleDbError> {
        let row = sqlx::query(
            "SELECT campaign_id, name, window_from, window_to, schedule, selectors, paused, created_at \
             FROM campaigns WHERE name = $1",
        )
        .bind(name.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(self.err("read a campaign"))?;
        match row {
            Some(r) => Ok(Some(self.row_to_campaign(&r).await?)),
            None => Ok(None),
        }
    }

    async fn row_to_campaign(&self, r: &sqlx::any::AnyRow) -> Result<CampaignRow, ScheduleDbError> {
        let e = self.err("read a campaign");
        let id: i64 = r.try_get(0).map_err(&e)?;
        let from: String = r.try_get(2).map_err(&e)?;
        let to: String = r.try_get(3).map_err(&e)?;
        let sel: String = r.try_get(5).map_err(&e)?;
        let paused: i64 = r.try_get(6).map_err(&e)?;
        let created: String = r.try_get(7).map_err(&e)?;
        let sites = sqlx::query(
            "SELECT site_id FROM campaign_sites WHERE campaign_id = $1 ORDER BY site_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(&e)?
        .iter()
        .map(|x| x.try_get::<i64, _>(0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(&e)?;
        Ok(CampaignRow {
            id,
            name: r.try_get(1).map_err(&e)?,
            from: self.parse_ts("window_from", &from)?,
            to: self.parse_ts("window_to", &to)?,
            schedule: r.try_get(4).map_err(&e)?,
            selectors: serde_json::from_str(&sel).map_err(|x| self.corrupt("selectors", x))?,
            paused: paused != 0,
            created_at: self.parse_ts("created_at", &created)?,
            sites,
        })
    }

    /// One campaign by name.
    pub async fn campaign(&self, name: &str) -> Result<CampaignRow, ScheduleDbError> {
        self.campaign_by_name(name)
            .await?
            .ok_or_else(|| ScheduleDbError::UnknownCampaign(name.to_string()))
    }

    /// All campaigns, oldest window first.
    pub async fn campaigns(&self) -> Result<Vec<CampaignRow>, ScheduleDbError> {
        let rows = sqlx::query(
            "SELECT campaign_id, name, window_from, window_to, schedule, selectors, paused, created_at \
             FROM campaigns ORDER BY window_from, campaign_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("list campaigns"))?;
        let mut out = Vec::new();
        for r in &rows {
            out.push(self.row_to_campaign(r).await?);
        }
        Ok(out)
    }

    /// Campaign names by id.
    pub async fn campaign_names(
        &self,
    ) -> Result<std::collections::BTreeMap<i64, String>, ScheduleDbError> {
        let rows = sqlx::query("SELECT campaign_id, name FROM campaigns")
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("list campaigns"))?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(self.err("list campaigns"))
    }

    // ------------------------------------------------------------- snapshot

    /// The scheduler's view: sites not removed, campaigns with their (not removed) sites,
    /// each job with its stored state.
    pub async fn snapshot(&self) -> Result<Snapshot, ScheduleDbError> {
        let mut snap = Snapshot::default();
        let rows = sqlx::query(
            "SELECT site_id, url, host, schedule, paused, created_at, job_state FROM watched_sites \
             WHERE removed_at IS NULL ORDER BY site_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("load the schedule"))?;
        let e = self.err("load the schedule");
        for r in &rows {
            let schedule: Option<String> = r.try_get(3).map_err(&e)?;
            let schedule = match schedule {
                Some(s) => Some(
                    s.parse::<ScheduleSpec>()
                        .map_err(|x| self.corrupt("schedule", x))?,
                ),
                None => None,
            };
            let paused: i64 = r.try_get(4).map_err(&e)?;
            let created: String = r.try_get(5).map_err(&e)?;
            let state: String = r.try_get(6).map_err(&e)?;
            snap.sites.push(WatchedSite {
                id: SiteId(r.try_get(0).map_err(&e)?),
                url: r.try_get(1).map_err(&e)?,
                host: r.try_get(2).map_err(&e)?,
                schedule,
                paused: paused != 0,
                created_at: self.parse_ts("created_at", &created)?,
                state: self.parse_state("site job state", &state)?,
            });
        }
        let rows = sqlx::query(
            "SELECT campaign_id, name, window_from, window_to, schedule, paused FROM campaigns ORDER BY campaign_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(&e)?;
        let members = sqlx::query(
            "SELECT cs.campaign_id, cs.site_id, cs.job_state FROM campaign_sites cs \
             JOIN watched_sites s ON s.site_id = cs.site_id WHERE s.removed_at IS NULL \
             ORDER BY cs.campaign_id, cs.site_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(&e)?;
        for r in &rows {
            let id: i64 = r.try_get(0).map_err(&e)?;
            let from: String = r.try_get(2).map_err(&e)?;
            let to: String = r.try_get(3).map_err(&e)?;
            let schedule: String = r.try_get(4).map_err(&e)?;
            let paused: i64 = r.try_get(5).map_err(&e)?;
            let window = Window::new(
                self.parse_ts("window_from", &from)?,
                self.parse_ts("window_to", &to)?,
            )
            .map_err(|x| self.corrupt("campaign window", x))?;
            let mut sites = Vec::new();
            for m in &members {
                let cid: i64 = m.try_get(0).map_err(&e)?;
                if cid != id {
                    continue;
                }
                let state: String = m.try_get(2).map_err(&e)?;
                sites.push(CampaignSite {
                    site: SiteId(m.try_get(1).map_err(&e)?),
                    state: self.parse_state("campaign job state", &state)?,
                });
            }
            snap.campaigns.push(Campaign {
                id: CampaignId(id),
                name: r.try_get(1).map_err(&e)?,
                window,
                schedule: schedule
                    .parse()
                    .map_err(|x| self.corrupt("campaign schedule", x))?,
                paused: paused != 0,
                sites,
            });
        }
        Ok(snap)
    }

    /// Writes job states after a scheduler transition, in one transaction.
    pub async fn save_changes(&self, changes: &[JobStateChange]) -> Result<(), ScheduleDbError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = crate::store::begin_write(&self.pool)
            .await
            .map_err(self.err("save job state"))?;
        for c in changes {
            let state =
                serde_json::to_string(&c.state).map_err(|e| self.corrupt("job state", e))?;
            let q = match c.job {
                JobKey::Site(s) => sqlx::query("UPDATE watched_sites SET job_state = $1 WHERE site_id = $2")
                    .bind(state)
                    .bind(s.0),
                JobKey::Campaign(cid, s) => sqlx::query(
                    "UPDATE campaign_sites SET job_state = $1 WHERE campaign_id = $2 AND site_id = $3",
                )
                .bind(state)
                .bind(cid.0)
                .bind(s.0),
            };
            q.execute(&mut *tx)
                .await
                .map_err(self.err("save job state"))?;
        }
        tx.commit().await.map_err(self.err("save job state"))?;
        Ok(())
    }

    // ----------------------------------------------------------------- runs

    /// Records a run as started; returns its row id.
    pub async fn start_run(
        &self,
        req: &RunRequest,
        sweep_campaign: &str,
    ) -> Result<i64, ScheduleDbError> {
        let slot = req
            .jobs
            .iter()
            .map(|(_, s)| *s)
            .max()
            .unwrap_or(req.started_at);
        let mut tx = crate::store::begin_write(&self.pool)
            .await
            .map_err(self.err("record a run"))?;
        let row = sqlx::query(
            "INSERT INTO schedule_runs (site_id, campaign_id, sweep_campaign, slot, due_since, started_at, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, 'running') RETURNING run_id",
        )
        .bind(req.site.0)
        .bind(req.campaigns.first().map(|c| c.0))
        .bind(sweep_campaign.to_string())
        .bind(ts_text(slot))
        .bind(ts_text(req.due_since))
        .bind(ts_text(req.started_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(self.err("record a run"))?;
        let id: i64 = row.try_get(0).map_err(self.err("record a run"))?;
        for (job, slot) in &req.jobs {
            sqlx::query(
                "INSERT INTO schedule_run_jobs (run_id, campaign_id, slot) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(job.campaign().map(|c| c.0))
            .bind(ts_text(*slot))
            .execute(&mut *tx)
            .await
            .map_err(self.err("record a run"))?;
        }
        tx.commit().await.map_err(self.err("record a run"))?;
        Ok(id)
    }

    /// Records a run's end, and the changes found against the previous run (one transaction).
    pub async fn finish_run(
        &self,
        run_id: i64,
        site_id: i64,
        result: &RunResult,
        changes: Option<(Option<i64>, &ChangeReport)>,
        now: Timestamp,
    ) -> Result<(), ScheduleDbError> {
        let counts = changes.map(|(_, c)| c.counts).unwrap_or_default();
        let seen = match &result.seen {
            Some(s) => Some(serde_json::to_string(s).map_err(|e| self.corrupt("sweep maps", e))?),
            None => None,
        };
        let mut tx = crate::store::begin_write(&self.pool)
            .await
            .map_err(self.err("finish a run"))?;
        sqlx::query(
            "UPDATE schedule_runs SET ended_at = $1, outcome = $2, sweep_id = $3, pages = $4, maps = $5, \
             violations = $6, new_violations = $7, fixed = $8, maps_new = $9, maps_changed = $10, \
             maps_gone = $11, error = $12, maps_json = $13 WHERE run_id = $14",
        )
        .bind(ts_text(now))
        .bind(result.outcome.clone())
        .bind(result.sweep_id.clone())
        .bind(result.pages as i64)
        .bind(result.maps as i64)
        .bind(result.violations as i64)
        .bind(counts.introduced as i64)
        .bind(counts.fixed as i64)
        .bind(counts.new as i64)
        .bind(counts.changed as i64)
        .bind(counts.gone as i64)
        .bind(result.error.clone())
        .bind(seen)
        .bind(run_id)
        .execute(&mut *tx)
        .await
        .map_err(self.err("finish a run"))?;
        if let Some((previous, report)) = changes {
            let insert = "INSERT INTO site_changes (site_id, run_id, previous_run_id, detected_at, category, kind, \
                 page_url, artifact_url, finding_id, previous_finding_id, distance, known_elsewhere) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
            // (category, kind, page, the change's map record now and before, distance, known elsewhere)
            let mut rows = Vec::new();
            for m in &report.maps {
                let kind = match m.kind {
                    MapChangeKind::New => "new",
                    MapChangeKind::Changed => "changed",
                    MapChangeKind::Gone => "gone",
                    MapChangeKind::Reencoded => "reencoded",
                    MapChangeKind::Unchanged => continue,
                };
                let distance = m.distance.map(i64::from);
                rows.push((
                    "map",
                    kind,
                    &m.page_url,
                    &m.current,
                    &m.previous,
                    distance,
                    0_i64,
                ));
            }
            for p in &report.problems {
                let kind = match p.kind {
                    ProblemChangeKind::Introduced => "introduced",
                    ProblemChangeKind::Fixed => "fixed",
                    ProblemChangeKind::StillPresent => continue,
                };
                let known = i64::from(p.known_elsewhere);
                rows.push((
                    "problem",
                    kind,
                    &p.page_url,
                    &p.current,
                    &p.previous,
                    None,
                    known,
                ));
            }
            for (category, kind, page_url, current, previous_map, distance, known) in rows {
                let art = current
                    .as_ref()
                    .or(previous_map.as_ref())
                    .map(|r| r.artifact_url.clone());
                sqlx::query(insert)
                    .bind(site_id)
                    .bind(run_id)
                    .bind(previous)
                    .bind(ts_text(now))
                    .bind(category)
                    .bind(kind)
                    .bind(page_url.clone())
                    .bind(art)
                    .bind(current.as_ref().and_then(|r| r.finding_id.clone()))
                    .bind(previous_map.as_ref().and_then(|r| r.finding_id.clone()))
                    .bind(distance)
                    .bind(known)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.err("record changes"))?;
            }
        }
        tx.commit().await.map_err(self.err("finish a run"))?;
        Ok(())
    }

    /// What the site's latest succeeded run saw (for change detection), with its run id.
    pub async fn last_seen(
        &self,
        site_id: i64,
    ) -> Result<Option<(i64, SweepMaps)>, ScheduleDbError> {
        let row = sqlx::query(
            "SELECT run_id, maps_json FROM schedule_runs WHERE site_id = $1 AND outcome = 'succeeded' \
             AND maps_json IS NOT NULL ORDER BY run_id DESC LIMIT 1",
        )
        .bind(site_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.err("read the previous run"))?;
        let Some(r) = row else { return Ok(None) };
        let id: i64 = r.try_get(0).map_err(self.err("read the previous run"))?;
        let json: String = r.try_get(1).map_err(self.err("read the previous run"))?;
        let maps = serde_json::from_str(&json).map_err(|e| self.corrupt("sweep maps", e))?;
        Ok(Some((id, maps)))
    }

    /// Runs left `running` by a daemon that died are marked `interrupted`; returns how many.
    pub async fn mark_interrupted(&self, now: Timestamp) -> Result<u64, ScheduleDbError> {
        let r = sqlx::query(
            "UPDATE schedule_runs SET outcome = 'interrupted', ended_at = $1 WHERE outcome = 'running'",
        )
        .bind(ts_text(now))
        .execute(&self.pool)
        .await
        .map_err(self.err("mark interrupted runs"))?;
        Ok(r.rows_affected())
    }

    fn row_to_run(&self, r: &sqlx::any::AnyRow) -> Result<RunRow, ScheduleDbError> {
        let e = self.err("read a run");
        let t = |i: usize, what: &str| -> Result<Timestamp, ScheduleDbError> {
            let s: String = r.try_get(i).map_err(&e)?;
            self.parse_ts(what, &s)
        };
        let ended: Option<String> = r.try_get(7).map_err(&e)?;
        let n = |i: usize| -> Result<u64, ScheduleDbError> {
            let v: i64 = r.try_get(i).map_err(&e)?;
            Ok(v.max(0) as u64)
        };
        Ok(RunRow {
            id: r.try_get(0).map_err(&e)?,
            site_id: r.try_get(1).map_err(&e)?,
            campaign_id: r.try_get(2).map_err(&e)?,
            sweep_campaign: r.try_get(3).map_err(&e)?,
            slot: t(4, "slot")?,
            due_since: t(5, "due_since")?,
            started_at: t(6, "started_at")?,
            ended_at: match ended {
                Some(s) => Some(self.parse_ts("ended_at", &s)?),
                None => None,
            },
            outcome: r.try_get(8).map_err(&e)?,
            sweep_id: r.try_get(9).map_err(&e)?,
            pages: n(10)?,
            maps: n(11)?,
            violations: n(12)?,
            new_violations: n(13)?,
            fixed: n(14)?,
            maps_new: n(15)?,
            maps_changed: n(16)?,
            maps_gone: n(17)?,
            error: r.try_get(18).map_err(&e)?,
        })
    }

    /// Runs of a site, newest first.
    pub async fn site_runs(
        &self,
        site_id: i64,
        limit: i64,
    ) -> Result<Vec<RunRow>, ScheduleDbError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            run_cols!(),
            " FROM schedule_runs WHERE site_id = $1 ORDER BY run_id DESC LIMIT $2"
        ))
        .bind(site_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("list runs"))?;
        rows.iter().map(|r| self.row_to_run(r)).collect()
    }

    /// Runs that served a campaign, oldest first.
    pub async fn campaign_runs(&self, campaign_id: i64) -> Result<Vec<RunRow>, ScheduleDbError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            run_cols!(),
            " FROM schedule_runs WHERE run_id IN \
             (SELECT run_id FROM schedule_run_jobs WHERE campaign_id = $1) ORDER BY run_id"
        ))
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("list campaign runs"))?;
        rows.iter().map(|r| self.row_to_run(r)).collect()
    }

    /// Runs still marked running.
    pub async fn running_runs(&self) -> Result<Vec<RunRow>, ScheduleDbError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            run_cols!(),
            " FROM schedule_runs WHERE outcome = 'running' ORDER BY run_id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("list running runs"))?;
        rows.iter().map(|r| self.row_to_run(r)).collect()
    }

    /// Changes detected for a site at or after `since`, oldest first.
    pub async fn changes(
        &self,
        site_id: i64,
        since: Option<Timestamp>,
    ) -> Result<Vec<ChangeRow>, ScheduleDbError> {
        let since = since.map(ts_text).unwrap_or_default();
        let rows = sqlx::query(
            "SELECT change_id, site_id, run_id, previous_run_id, detected_at, category, kind, page_url, \
             artifact_url, finding_id, previous_finding_id, distance, known_elsewhere FROM site_changes \
             WHERE site_id = $1 AND detected_at >= $2 ORDER BY change_id",
        )
        .bind(site_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("list changes"))?;
        let e = self.err("read a change");
        rows.iter()
            .map(|r| {
                let detected: String = r.try_get(4).map_err(&e)?;
                let distance: Option<i64> = r.try_get(11).map_err(&e)?;
                let known: i64 = r.try_get(12).map_err(&e)?;
                Ok(ChangeRow {
                    id: r.try_get(0).map_err(&e)?,
                    site_id: r.try_get(1).map_err(&e)?,
                    run_id: r.try_get(2).map_err(&e)?,
                    previous_run_id: r.try_get(3).map_err(&e)?,
                    detected_at: self.parse_ts("detected_at", &detected)?,
                    category: r.try_get(5).map_err(&e)?,
                    kind: r.try_get(6).map_err(&e)?,
                    page_url: r.try_get(7).map_err(&e)?,
                    artifact_url: r.try_get(8).map_err(&e)?,
                    finding_id: r.try_get(9).map_err(&e)?,
                    previous_finding_id: r.try_get(10).map_err(&e)?,
                    distance: distance.map(|d| d.clamp(0, u32::MAX as i64) as u32),
                    known_elsewhere: known != 0,
                })
            })
            .collect()
    }
}

/// Tags trimmed, deduplicated, empty ones dropped.
fn tag_set(tags: &[String]) -> BTreeSet<String> {
    tags.iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The stored outcome word of a run outcome.
pub fn outcome_word(outcome: &RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Succeeded { .. } => "succeeded",
        RunOutcome::Failed { .. } => "failed",
        RunOutcome::Cancelled => "cancelled",
    }
}

/// The word for a job's last outcome.
pub fn outcome_kind_word(kind: OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::Succeeded => "succeeded",
        OutcomeKind::Failed => "failed",
        OutcomeKind::Interrupted => "interrupted",
    }
}

impl StateStore for ScheduleDb {
    async fn save(&self, changes: Vec<JobStateChange>) -> Result<(), StoreError> {
        self.save_changes(&changes)
            .await
            .map_err(|e| Box::new(e) as StoreError)
    }

    async fn load(&self) -> Result<Snapshot, StoreError> {
        self.snapshot().await.map_err(|e| Box::new(e) as StoreError)
    }
}
