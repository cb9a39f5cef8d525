//! Reviews: an officer's decision on a finding, sealed as a record in the evidence log.
//!
//! Format `mapsweep.review/1` (canonical JSON, hashed into the log like a capture):
//! `{format, id, seq, prev_record_hash, sealed_at, finding_id, capture_id, artifact_blake3,
//! decision: "confirmed"|"dismissed", reviewer, note}`. The capture id and artifact hash tie the
//! review to sealed data even outside this data dir (finding ids are local). Reviews are never
//! edited or deleted: a later review of the same finding supersedes an earlier one, and all of
//! them stay in the log, the index ([`reviews_of`]) and exported case bundles.

use crate::evidence::{EvidenceError, EvidenceStore};
use crate::findings::{self, FindingsError};
use crate::store::Db;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Format string of review records.
pub const REVIEW_FORMAT: &str = crate::evidence::record::REVIEW_FORMAT;

/// Errors recording or reading reviews.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("a review needs a reviewer name (--reviewer NAME)")]
    NoReviewer,
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("reviews: {what}: {cause}")]
    Db { what: String, cause: sqlx::Error },
    #[error("review record seq {seq} does not parse as {REVIEW_FORMAT}: {cause}")]
    Corrupt { seq: u64, cause: serde_json::Error },
}

/// The officer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Confirmed,
    Dismissed,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Dismissed => "dismissed",
        }
    }
    /// The decision in the report's language.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Confirmed => "确认违规",
            Self::Dismissed => "排除（不构成违规）",
        }
    }
}

/// `mapsweep.review/1` as sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRecord {
    pub format: String,
    pub id: Uuid,
    pub seq: u64,
    pub prev_record_hash: String,
    pub sealed_at: String,
    pub finding_id: String,
    pub capture_id: Uuid,
    pub artifact_blake3: String,
    pub decision: Decision,
    pub reviewer: String,
    pub note: Option<String>,
}

/// A review as shown with a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub review_id: Uuid,
    /// Position of the review record in the evidence log.
    pub seq: u64,
    pub finding_id: String,
    pub decision: Decision,
    pub reviewer: String,
    pub note: Option<String>,
    /// When it was sealed (RFC 3339 UTC).
    pub reviewed_at: String,
}

impl From<ReviewRecord> for Review {
    fn from(r: ReviewRecord) -> Self {
        Self {
            review_id: r.id,
            seq: r.seq,
            finding_id: r.finding_id,
            decision: r.decision,
            reviewer: r.reviewer,
            note: r.note,
            reviewed_at: r.sealed_at,
        }
    }
}

/// Seals a review of a finding and returns it. Fails on an unknown finding or an empty name.
pub async fn review(
    store: &EvidenceStore,
    finding_id: &str,
    decision: Decision,
    reviewer: &str,
    note: Option<&str>,
) -> Result<Review, FindingsError> {
    let reviewer = reviewer.trim();
    if reviewer.is_empty() {
        return Err(ReviewError::NoReviewer.into());
    }
    let f = findings::get(store.pool(), finding_id).await?;
    let mut fields = Map::new();
    fields.insert("finding_id".into(), Value::from(f.finding_id.clone()));
    fields.insert("capture_id".into(), Value::from(f.capture_id.to_string()));
    fields.insert(
        "artifact_blake3".into(),
        Value::from(f.artifact_blake3.clone()),
    );
    fields.insert("decision".into(), Value::from(decision.as_str()));
    fields.insert("reviewer".into(), Value::from(reviewer));
    fields.insert(
        "note".into(),
        note.map(|n| Value::from(n.to_string()))
            .unwrap_or(Value::Null),
    );
    let rec = store
        .seal_record(REVIEW_FORMAT, Uuid::now_v7(), fields, &[])
        .await
        .map_err(ReviewError::from)?;
    let parsed: ReviewRecord =
        serde_json::from_str(&rec.canonical).map_err(|source| ReviewError::Corrupt {
            seq: rec.seq,
            cause: source,
        })?;
    tracing::info!(finding = %f.finding_id, seq = rec.seq, decision = decision.as_str(), "review sealed");
    Ok(parsed.into())
}

/// Every review record in the log, oldest first (with their canonical bytes and seq).
pub async fn all_review_records(db: &Db) -> Result<Vec<(ReviewRecord, String)>, ReviewError> {
    let rows = sqlx::query("SELECT seq, body FROM log_records WHERE format = $1 ORDER BY seq")
        .bind(REVIEW_FORMAT)
        .fetch_all(db)
        .await
        .map_err(|source| ReviewError::Db {
            what: "read review records".into(),
            cause: source,
        })?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let e = |source| ReviewError::Db {
            what: "read review records".into(),
            cause: source,
        };
        let seq: i64 = r.try_get(0).map_err(e)?;
        let body: String = r.try_get(1).map_err(e)?;
        let rec: ReviewRecord =
            serde_json::from_str(&body).map_err(|source| ReviewError::Corrupt {
                seq: seq as u64,
                cause: source,
            })?;
        out.push((rec, body));
    }
    Ok(out)
}

/// All reviews of one finding, oldest first (the last one is in force).
pub async fn reviews_of(db: &Db, finding_id: &str) -> Result<Vec<Review>, ReviewError> {
    Ok(all_review_records(db)
        .await?
        .into_iter()
        .filter(|(r, _)| r.finding_id == finding_id)
        .map(|(r, _)| r.into())
        .collect())
}

/// The review in force for each reviewed finding.
pub async fn latest_reviews(db: &Db) -> Result<BTreeMap<String, Review>, ReviewError> {
    let mut out = BTreeMap::new();
    for (r, _) in all_review_records(db).await? {
        out.insert(r.finding_id.clone(), r.into());
    }
    Ok(out)
}
