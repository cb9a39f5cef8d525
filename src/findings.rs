//! Findings: one row per checked map, an index over sealed evidence.
//!
//! Rules kept here:
//! - a finding is only stored for a sealed capture (a sweep writes it in the very transaction
//!   that seals the capture, [`index_hook`]), and only when the artifact it judges (and its
//!   overlay and check report, when given) is listed in that capture's manifest: the row is an
//!   index over sealed data, never the only copy of anything;
//! - rows are never edited or deleted; reviews (see [`crate::case::review`]) are sealed records
//!   of their own, and the latest one is what `review` shows;
//! - ids are readable, `F-<n>` with `n` counting up from 1 per data dir; inserting the same
//!   (capture, artifact) twice returns the existing finding (a resumed sweep adds nothing);
//! - `page_url` is the URL the page was requested at, `captured_at` the capture's start time
//!   (RFC 3339 UTC), both read from the sealed capture record.

use crate::case::review::{self, Decision, Review};
use crate::evidence::{EvidenceError, EvidenceStore, IndexHook, SealedRecord};
use crate::store::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// The verdict string of a map that breaks at least one rule.
pub const VIOLATION: &str = "violation";

/// Errors of the findings index; each names the finding, capture or artifact concerned.
#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    #[error("unknown finding {id:?} (see `mapsweep findings --status all`)")]
    UnknownFinding { id: String },
    #[error(
        "capture {capture_id} does not list artifact {blake3} ({what}); a finding must rest on sealed artifacts"
    )]
    ArtifactNotInCapture {
        capture_id: Uuid,
        blake3: String,
        what: String,
    },
    #[error("record {capture_id} is not a capture")]
    NotACapture { capture_id: Uuid },
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("findings database: {what}: {cause}")]
    Db { what: String, cause: sqlx::Error },
    #[error("finding {id}: stored {what} is not valid JSON: {cause}")]
    Json {
        id: String,
        what: String,
        cause: serde_json::Error,
    },
    #[error(transparent)]
    Review(#[from] review::ReviewError),
}

fn db_err(what: &str) -> impl Fn(sqlx::Error) -> FindingsError + '_ {
    move |source| FindingsError::Db {
        what: what.to_string(),
        cause: source,
    }
}

/// One rule's outcome, as the map checker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    /// Rule id, e.g. `taiwan`, `south_china_sea`.
    pub rule: String,
    /// e.g. `violation`, `pass`, `not-applicable`, `uncertain`.
    pub status: String,
    pub confidence: f64,
    pub message: String,
}

impl RuleResult {
    /// True when this rule is broken.
    pub fn is_violated(&self) -> bool {
        matches!(
            self.status.as_str(),
            "violation" | "violated" | "fail" | "failed"
        )
    }
}

/// What the sweep knows when it records a checked map.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFinding {
    /// The sealed capture the map came from.
    pub capture_id: Uuid,
    /// BLAKE3 of the artifact that was checked (the map image or element screenshot).
    pub artifact_blake3: String,
    /// The image or element URL the map came from (None for inline SVG or canvas).
    pub artifact_url: Option<String>,
    /// The artifact's role in the capture (e.g. `map-candidate`, `element-screenshot`).
    pub artifact_role: String,
    /// `violation`, `compliant`, `uncertain`, ...
    pub verdict: String,
    /// The checker's map description `{region, projection, fit}`.
    pub map: Value,
    pub rules: Vec<RuleResult>,
    /// BLAKE3 of the overlay image artifact, when the checker drew one.
    pub overlay: Option<String>,
    /// BLAKE3 of the sealed check-report JSON artifact, when there is one.
    pub check_report: Option<String>,
}

/// A stored finding, as `mapsweep findings --format json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub finding_id: String,
    pub capture_id: Uuid,
    pub capture_seq: u64,
    pub campaign: Option<String>,
    pub page_url: String,
    pub artifact_url: Option<String>,
    pub artifact_role: String,
    pub artifact_blake3: String,
    pub verdict: String,
    pub map: Value,
    pub rules: Vec<RuleResult>,
    pub captured_at: String,
    /// BLAKE3 of the overlay image.
    pub overlay: Option<String>,
    /// BLAKE3 of the sealed check report.
    pub check_report: Option<String>,
    /// When the finding was indexed (RFC 3339 UTC).
    pub created_at: String,
    /// The latest review, or null while pending.
    pub review: Option<Review>,
}

impl Finding {
    pub fn is_violation(&self) -> bool {
        self.verdict == VIOLATION
    }
    /// `pending`, `confirmed` or `dismissed`.
    pub fn review_state(&self) -> ReviewState {
        match self.review.as_ref().map(|r| r.decision) {
            None => ReviewState::Pending,
            Some(Decision::Confirmed) => ReviewState::Confirmed,
            Some(Decision::Dismissed) => ReviewState::Dismissed,
        }
    }
}

/// Review state of a finding (its latest review).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewState {
    Pending,
    Confirmed,
    Dismissed,
}

/// Which findings `list` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    pub campaign: Option<String>,
    /// Only violations (the default) or every checked map.
    pub all_statuses: bool,
    pub review: Option<ReviewState>,
}

/// Parses `F-12` or `12` to the number.
fn parse_id(id: &str) -> Option<i64> {
    let n = id.trim();
    let n = n
        .strip_prefix("F-")
        .or_else(|| n.strip_prefix("f-"))
        .unwrap_or(n);
    n.parse::<i64>().ok().filter(|n| *n > 0)
}

fn format_id(n: i64) -> String {
    format!("F-{n}")
}

fn row_to_finding(r: &sqlx::any::AnyRow) -> Result<Finding, FindingsError> {
    let e = db_err("read a finding");
    let num: i64 = r.try_get(0).map_err(&e)?;
    let id = format_id(num);
    let capture_id: String = r.try_get(1).map_err(&e)?;
    let capture_seq: i64 = r.try_get(2).map_err(&e)?;
    let map_json: String = r.try_get(9).map_err(&e)?;
    let rules_json: String = r.try_get(10).map_err(&e)?;
    let json_err = |what: &str| {
        let id = id.clone();
        let what = what.to_string();
        move |source| FindingsError::Json {
            id,
            what,
            cause: source,
        }
    };
    Ok(Finding {
        finding_id: id.clone(),
        capture_id: capture_id.parse().map_err(|_| FindingsError::Json {
            id: id.clone(),
            what: format!("capture id {capture_id:?}"),
            cause: serde::de::Error::custom("not a UUID"),
        })?,
        capture_seq: capture_seq as u64,
        campaign: r.try_get(3).map_err(&e)?,
        page_url: r.try_get(4).map_err(&e)?,
        artifact_url: r.try_get(5).map_err(&e)?,
        artifact_role: r.try_get(6).map_err(&e)?,
        artifact_blake3: r.try_get(7).map_err(&e)?,
        verdict: r.try_get(8).map_err(&e)?,
        map: serde_json::from_str(&map_json).map_err(json_err("map"))?,
        rules: serde_json::from_str(&rules_json).map_err(json_err("rules"))?,
        captured_at: r.try_get(11).map_err(&e)?,
        overlay: r.try_get(12).map_err(&e)?,
        check_report: r.try_get(13).map_err(&e)?,
        created_at: r.try_get(14).map_err(&e)?,
        review: None,
    })
}

/// Records a checked map. The capture must be sealed and list the artifact (and the overlay and
/// check report when given). Idempotent per (capture, artifact): returns the existing finding.
/// A sweep writes its findings with the capture instead ([`index_hook`]).
pub async fn insert(store: &EvidenceStore, new: &NewFinding) -> Result<Finding, FindingsError> {
    let db = store.pool();
    if let Some(f) = find(db, &new.capture_id, &new.artifact_blake3).await? {
        return Ok(f);
    }
    let rec = store.record(&new.capture_id).await?;
    let row = FindingRow::new(&rec, new)?;
    for _attempt in 0..20 {
        let mut conn = db
            .acquire()
            .await
            .map_err(db_err("allocate a finding id"))?;
        match row.insert(&mut conn).await {
            Ok(num) => return get(db, &format_id(num)).await,
            Err(FindingsError::Db { cause, .. }) if crate::store::is_unique_violation(&cause) => {
                // Either another writer took this number, or it recorded the same artifact.
                if let Some(f) = find(db, &new.capture_id, &new.artifact_blake3).await? {
                    return Ok(f);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(FindingsError::Db {
        what: "allocate a finding id (too many concurrent writers)".into(),
        cause: sqlx::Error::PoolTimedOut,
    })
}

/// The hook that writes these findings in the transaction sealing their capture (see
/// [`crate::evidence::IndexHook`]): a page's capture and its findings commit together, with no
/// commit of their own. Each `NewFinding` names the capture's id (known before sealing); the
/// same artifact twice on one page is recorded once.
pub fn index_hook(new: Vec<NewFinding>) -> IndexHook {
    let mut seen = std::collections::HashSet::new();
    let new: Arc<Vec<NewFinding>> = Arc::new(
        new.into_iter()
            .filter(|n| seen.insert((n.capture_id, n.artifact_blake3.clone())))
            .collect(),
    );
    Arc::new(move |conn, rec| {
        let new = new.clone();
        Box::pin(async move {
            for n in new.iter() {
                FindingRow::new(rec, n)?.insert(conn).await?;
            }
            Ok(())
        })
    })
}

/// A finding row checked against its sealed capture, ready to insert.
struct FindingRow<'a> {
    new: &'a NewFinding,
    capture_seq: i64,
    campaign: Option<String>,
    page_url: String,
    captured_at: String,
    map_json: String,
    rules_json: String,
}

impl<'a> FindingRow<'a> {
    /// Checks that `rec` is the finding's capture and lists every artifact the finding names.
    fn new(rec: &SealedRecord, new: &'a NewFinding) -> Result<Self, FindingsError> {
        let Some(cap) = rec.capture().filter(|_| rec.id == new.capture_id) else {
            return Err(FindingsError::NotACapture {
                capture_id: new.capture_id,
            });
        };
        let listed = |b: &str| cap.artifacts.iter().any(|a| a.blake3 == b);
        let mut wanted = vec![("checked artifact", new.artifact_blake3.as_str())];
        if let Some(o) = &new.overlay {
            wanted.push(("overlay", o.as_str()));
        }
        if let Some(c) = &new.check_report {
            wanted.push(("check report", c.as_str()));
        }
        for (what, b) in wanted {
            if !listed(b) {
                return Err(FindingsError::ArtifactNotInCapture {
                    capture_id: new.capture_id,
                    blake3: b.to_string(),
                    what: what.to_string(),
                });
            }
        }
        Ok(Self {
            new,
            capture_seq: rec.seq as i64,
            campaign: cap.campaign.clone(),
            page_url: cap.requested_url.clone(),
            captured_at: cap.started_at.clone(),
            map_json: serde_json::to_string(&new.map).unwrap_or_else(|_| "null".into()),
            rules_json: serde_json::to_string(&new.rules).unwrap_or_else(|_| "[]".into()),
        })
    }

    /// Inserts the row under the next number; returns the number. Safe against other writers
    /// only inside a write transaction (the seal's) or with a retry on a unique violation.
    async fn insert(&self, conn: &mut sqlx::AnyConnection) -> Result<i64, FindingsError> {
        let next: i64 = sqlx::query("SELECT COALESCE(MAX(num), 0) + 1 FROM findings")
            .fetch_one(&mut *conn)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(db_err("allocate a finding id"))?;
        let n = self.new;
        sqlx::query(
            "INSERT INTO findings (num, finding_id, capture_id, capture_seq, campaign, page_url, artifact_url, \
             artifact_role, artifact_blake3, verdict, map_json, rules_json, captured_at, overlay_blake3, \
             report_blake3, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(next)
        .bind(format_id(next))
        .bind(n.capture_id.to_string())
        .bind(self.capture_seq)
        .bind(self.campaign.clone())
        .bind(self.page_url.clone())
        .bind(n.artifact_url.clone())
        .bind(n.artifact_role.clone())
        .bind(n.artifact_blake3.clone())
        .bind(n.verdict.clone())
        .bind(self.map_json.clone())
        .bind(self.rules_json.clone())
        .bind(self.captured_at.clone())
        .bind(n.overlay.clone())
        .bind(n.check_report.clone())
        .bind(crate::evidence::record::rfc3339_ms(jiff::Timestamp::now()))
        .execute(&mut *conn)
        .await
        .map_err(db_err("insert a finding"))?;
        tracing::info!(finding = %format_id(next), capture = %n.capture_id, "finding recorded");
        Ok(next)
    }
}

/// The finding on this artifact of this capture, if one was recorded.
pub async fn find(
    db: &Db,
    capture_id: &Uuid,
    blake3: &str,
) -> Result<Option<Finding>, FindingsError> {
    let row =
        sqlx::query("SELECT num FROM findings WHERE capture_id = $1 AND artifact_blake3 = $2")
            .bind(capture_id.to_string())
            .bind(blake3.to_string())
            .fetch_optional(db)
            .await
            .map_err(db_err("look up a finding"))?;
    match row {
        Some(r) => {
            let n: i64 = r.try_get(0).map_err(db_err("look up a finding"))?;
            Ok(Some(get(db, &format_id(n)).await?))
        }
        None => Ok(None),
    }
}

/// One finding with its latest review.
pub async fn get(db: &Db, id: &str) -> Result<Finding, FindingsError> {
    let unknown = || FindingsError::UnknownFinding { id: id.to_string() };
    let num = parse_id(id).ok_or_else(unknown)?;
    let row = sqlx::query(SELECT_BY_NUM)
        .bind(num)
        .fetch_optional(db)
        .await
        .map_err(db_err("read a finding"))?
        .ok_or_else(unknown)?;
    let mut f = row_to_finding(&row)?;
    f.review = review::reviews_of(db, &f.finding_id).await?.pop();
    Ok(f)
}

const SELECT_BY_NUM: &str = "SELECT num, capture_id, capture_seq, campaign, page_url, artifact_url, artifact_role, \
     artifact_blake3, verdict, map_json, rules_json, captured_at, overlay_blake3, report_blake3, created_at \
     FROM findings WHERE num = $1";

/// Findings matching the filter, oldest first, each with its latest review.
pub async fn list(db: &Db, filter: &FindingFilter) -> Result<Vec<Finding>, FindingsError> {
    let rows = sqlx::query(SELECT_ORDERED)
        .fetch_all(db)
        .await
        .map_err(db_err("list findings"))?;
    let latest: BTreeMap<String, Review> = review::latest_reviews(db).await?;
    let mut out = Vec::new();
    for r in &rows {
        let mut f = row_to_finding(r)?;
        if let Some(c) = &filter.campaign
            && f.campaign.as_deref() != Some(c.as_str())
        {
            continue;
        }
        if !filter.all_statuses && !f.is_violation() {
            continue;
        }
        f.review = latest.get(&f.finding_id).cloned();
        if let Some(want) = filter.review
            && f.review_state() != want
        {
            continue;
        }
        out.push(f);
    }
    Ok(out)
}

/// Column order shared with [`SELECT_BY_NUM`] and `row_to_finding`.
const SELECT_ORDERED: &str = "SELECT num, capture_id, capture_seq, campaign, page_url, artifact_url, artifact_role, \
     artifact_blake3, verdict, map_json, rules_json, captured_at, overlay_blake3, report_blake3, created_at \
     FROM findings ORDER BY num";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_with_or_without_prefix() {
        assert_eq!(parse_id("F-12"), Some(12));
        assert_eq!(parse_id("12"), Some(12));
        assert_eq!(parse_id("F-0"), None);
        assert_eq!(parse_id("x"), None);
        assert_eq!(format_id(7), "F-7");
    }
}
