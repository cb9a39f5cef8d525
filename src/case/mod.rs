//! Cases: findings grouped into an administrative case, reviewed, and exported as a bundle that
//! verifies offline.
//!
//! - [`review`]: an officer's decision on a finding (sealed `mapsweep.review/1` records);
//! - this module: cases, whose every change is a sealed `mapsweep.case-event/1` record
//!   (`open` with title, subject, officer and the first findings; `add` with more findings).
//!   A case's state is the fold of its events, read back from the log; the `cases` table only
//!   allocates readable ids `MS-<year>-<4 digits>` (year of the Asia/Shanghai date, numbers
//!   counting up per year);
//! - [`export`]: writes the case bundle (ZIP) with the report ([`report`]), and
//!   [`bundle`] verifies a bundle with nothing but the ZIP.
//!
//! Rules: nothing here edits or deletes a sealed record; a finding appears once in a case
//! (adding it again is a no-op); unknown finding or case ids are errors naming the id.

pub mod bundle;
pub mod export;
pub mod report;
pub mod review;

use crate::evidence::{EvidenceError, EvidenceStore};
use crate::findings::{self, FindingsError};
use crate::store::Db;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Format string of case-event records.
pub const CASE_EVENT_FORMAT: &str = crate::evidence::record::CASE_EVENT_FORMAT;

/// Errors of case handling; each names the case or finding concerned.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("unknown case {id:?} (see `mapsweep case list`)")]
    UnknownCase { id: String },
    #[error("a case needs a title (--title TEXT)")]
    NoTitle,
    #[error("a case needs at least one finding id")]
    NoFindings,
    #[error(transparent)]
    Findings(#[from] FindingsError),
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("cases: {what}: {cause}")]
    Db { what: String, cause: sqlx::Error },
    #[error("case event record seq {seq} does not parse as {CASE_EVENT_FORMAT}: {cause}")]
    Corrupt { seq: u64, cause: serde_json::Error },
}

fn db_err(what: &str) -> impl Fn(sqlx::Error) -> CaseError + '_ {
    move |source| CaseError::Db {
        what: what.to_string(),
        cause: source,
    }
}

/// A finding as a case event names it: local id plus the sealed data it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingRef {
    pub finding_id: String,
    pub capture_id: Uuid,
    pub artifact_blake3: String,
}

/// `mapsweep.case-event/1` as sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseEventRecord {
    pub format: String,
    pub id: Uuid,
    pub seq: u64,
    pub prev_record_hash: String,
    pub sealed_at: String,
    pub case_id: String,
    /// `open` or `add`.
    pub event: String,
    pub title: Option<String>,
    pub subject: Option<String>,
    pub officer: Option<String>,
    pub findings: Vec<FindingRef>,
}

/// A case, folded from its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    pub case_id: String,
    pub title: String,
    pub subject: Option<String>,
    pub officer: Option<String>,
    /// RFC 3339 UTC.
    pub opened_at: String,
    /// Finding ids in the order they were added.
    pub findings: Vec<String>,
    /// Log positions of the case's events, oldest first.
    pub event_seqs: Vec<u64>,
}

/// What `case open` is given.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    pub title: String,
    pub subject: Option<String>,
    pub officer: Option<String>,
    pub findings: Vec<String>,
}

/// The Asia/Shanghai civil time of a timestamp (fixed UTC+8 when no tz database is present;
/// China has kept UTC+8 without DST since 1991).
pub fn shanghai(ts: jiff::Timestamp) -> jiff::ZonedDateTime {
    match jiff::tz::TimeZone::get("Asia/Shanghai") {
        Ok(tz) => ts.to_zoned_datetime(tz),
        Err(_) => ts.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))),
    }
}

/// `MS-2026-0001` from year and number.
pub fn format_case_id(year: i16, number: i64) -> String {
    format!("MS-{year}-{number:04}")
}

async fn finding_refs(db: &Db, ids: &[String]) -> Result<Vec<FindingRef>, CaseError> {
    let mut out: Vec<FindingRef> = Vec::new();
    for id in ids {
        let f = findings::get(db, id).await?;
        if out.iter().any(|r| r.finding_id == f.finding_id) {
            continue;
        }
        out.push(FindingRef {
            finding_id: f.finding_id,
            capture_id: f.capture_id,
            artifact_blake3: f.artifact_blake3,
        });
    }
    Ok(out)
}

fn event_fields(
    case_id: &str,
    event: &str,
    title: Option<&str>,
    subject: Option<&str>,
    officer: Option<&str>,
    refs: &[FindingRef],
) -> Map<String, Value> {
    let s = |v: Option<&str>| v.map(|s| Value::from(s.to_string())).unwrap_or(Value::Null);
    let mut m = Map::new();
    m.insert("case_id".into(), Value::from(case_id));
    m.insert("event".into(), Value::from(event));
    m.insert("title".into(), s(title));
    m.insert("subject".into(), s(subject));
    m.insert("officer".into(), s(officer));
    m.insert(
        "findings".into(),
        serde_json::to_value(refs).unwrap_or(Value::Array(Vec::new())),
    );
    m
}

/// Opens a case over existing findings; seals the `open` event and returns the case.
pub async fn open_case(store: &EvidenceStore, new: &NewCase) -> Result<Case, CaseError> {
    let title = new.title.trim();
    if title.is_empty() {
        return Err(CaseError::NoTitle);
    }
    if new.findings.is_empty() {
        return Err(CaseError::NoFindings);
    }
    let db = store.pool();
    let refs = finding_refs(db, &new.findings).await?;
    let year = shanghai(jiff::Timestamp::now()).year();
    let mut claimed = None;
    for _ in 0..20 {
        let next: i64 =
            sqlx::query("SELECT COALESCE(MAX(number), 0) + 1 FROM cases WHERE year = $1")
                .bind(year as i32)
                .fetch_one(db)
                .await
                .and_then(|r| r.try_get(0))
                .map_err(db_err("allocate a case id"))?;
        let id = format_case_id(year, next);
        let res = sqlx::query("INSERT INTO cases (case_id, year, number) VALUES ($1, $2, $3)")
            .bind(id.clone())
            .bind(year as i32)
            .bind(next)
            .execute(db)
            .await;
        match res {
            Ok(_) => {
                claimed = Some(id);
                break;
            }
            Err(e) if crate::store::is_unique_violation(&e) => continue,
            Err(e) => return Err(db_err("allocate a case id")(e)),
        }
    }
    let Some(case_id) = claimed else {
        return Err(CaseError::Db {
            what: "allocate a case id (too many concurrent writers)".into(),
            cause: sqlx::Error::PoolTimedOut,
        });
    };
    let fields = event_fields(
        &case_id,
        "open",
        Some(title),
        new.subject.as_deref(),
        new.officer.as_deref(),
        &refs,
    );
    if let Err(e) = store
        .seal_record(CASE_EVENT_FORMAT, Uuid::now_v7(), fields, &[])
        .await
    {
        // Nothing was sealed: release the id so the numbering has no hole.
        let _ = sqlx::query("DELETE FROM cases WHERE case_id = $1")
            .bind(case_id.clone())
            .execute(db)
            .await;
        return Err(e.into());
    }
    tracing::info!(case = %case_id, findings = refs.len(), "case opened");
    get_case(db, &case_id).await
}

/// Adds findings to a case (those already in it are skipped). Returns the case and the ids
/// actually added; seals an `add` event only when something was added.
pub async fn add_to_case(
    store: &EvidenceStore,
    case_id: &str,
    finding_ids: &[String],
) -> Result<(Case, Vec<String>), CaseError> {
    if finding_ids.is_empty() {
        return Err(CaseError::NoFindings);
    }
    let db = store.pool();
    let case = get_case(db, case_id).await?;
    let refs: Vec<FindingRef> = finding_refs(db, finding_ids)
        .await?
        .into_iter()
        .filter(|r| !case.findings.contains(&r.finding_id))
        .collect();
    if refs.is_empty() {
        return Ok((case, Vec::new()));
    }
    let fields = event_fields(&case.case_id, "add", None, None, None, &refs);
    store
        .seal_record(CASE_EVENT_FORMAT, Uuid::now_v7(), fields, &[])
        .await?;
    let added = refs.into_iter().map(|r| r.finding_id).collect();
    Ok((get_case(db, &case.case_id).await?, added))
}

/// Every case-event record, oldest first, with its canonical bytes.
pub async fn all_case_events(db: &Db) -> Result<Vec<(CaseEventRecord, String)>, CaseError> {
    let rows = sqlx::query("SELECT seq, body FROM log_records WHERE format = $1 ORDER BY seq")
        .bind(CASE_EVENT_FORMAT)
        .fetch_all(db)
        .await
        .map_err(db_err("read case events"))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let seq: i64 = r.try_get(0).map_err(db_err("read case events"))?;
        let body: String = r.try_get(1).map_err(db_err("read case events"))?;
        let rec: CaseEventRecord =
            serde_json::from_str(&body).map_err(|source| CaseError::Corrupt {
                seq: seq as u64,
                cause: source,
            })?;
        out.push((rec, body));
    }
    Ok(out)
}

fn fold(events: &[(CaseEventRecord, String)]) -> BTreeMap<String, Case> {
    let mut cases: BTreeMap<String, Case> = BTreeMap::new();
    for (e, _) in events {
        if e.event == "open" && !cases.contains_key(&e.case_id) {
            cases.insert(
                e.case_id.clone(),
                Case {
                    case_id: e.case_id.clone(),
                    title: e.title.clone().unwrap_or_default(),
                    subject: e.subject.clone(),
                    officer: e.officer.clone(),
                    opened_at: e.sealed_at.clone(),
                    findings: Vec::new(),
                    event_seqs: Vec::new(),
                },
            );
        }
        let Some(c) = cases.get_mut(&e.case_id) else {
            continue;
        };
        c.event_seqs.push(e.seq);
        for f in &e.findings {
            if !c.findings.contains(&f.finding_id) {
                c.findings.push(f.finding_id.clone());
            }
        }
    }
    cases
}

/// All cases, oldest first.
pub async fn list_cases(db: &Db) -> Result<Vec<Case>, CaseError> {
    let mut v: Vec<Case> = fold(&all_case_events(db).await?).into_values().collect();
    v.sort_by_key(|c| c.event_seqs.first().copied().unwrap_or(0));
    Ok(v)
}

/// One case (ids are matched case-insensitively: `ms-2026-0001` works).
pub async fn get_case(db: &Db, id: &str) -> Result<Case, CaseError> {
    let want = id.trim().to_ascii_uppercase();
    fold(&all_case_events(db).await?)
        .remove(&want)
        .ok_or_else(|| CaseError::UnknownCase { id: id.to_string() })
}

/// The case's event records with their canonical bytes, oldest first.
pub async fn case_events(
    db: &Db,
    case_id: &str,
) -> Result<Vec<(CaseEventRecord, String)>, CaseError> {
    Ok(all_case_events(db)
        .await?
        .into_iter()
        .filter(|(e, _)| e.case_id == case_id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_are_readable_and_padded() {
        assert_eq!(format_case_id(2026, 1), "MS-2026-0001");
        assert_eq!(format_case_id(2026, 12345), "MS-2026-12345");
    }

    #[test]
    fn shanghai_is_utc_plus_eight() {
        let t: jiff::Timestamp = "2026-12-31T16:30:00Z".parse().unwrap();
        let z = shanghai(t);
        assert_eq!(z.year(), 2027);
        assert_eq!(z.hour(), 0);
    }
}
