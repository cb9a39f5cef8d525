//! `verify`: re-checks a whole data dir and lists every problem precisely.
//!
//! Checked: every blob file (its BLAKE3 must equal its name; its place in the fan-out), every
//! record (canonical bytes, record hash and leaf hash against the stored index, `seq` and `id`
//! against the row, the chain link to the previous record, the format, every artifact's blob:
//! present, size, BLAKE3, SHA-256), every signed tree head (signature and key id against
//! `keys/signing.pub`, the public key against the private key when present, tree size, Merkle
//! root recomputed from the records, inclusion of its last record, consistency with the
//! previous head, the RFC 3161 token: see [`super::tsa`] for what is checked), and the exported
//! `checkpoints/` files against the database. Blobs no record references (left by a capture
//! that was never sealed) are listed as notes, not problems.

use super::blob::{self, BlobInfo, BlobStore};
use super::record::{CAPTURE_FORMAT, CaptureManifest, GENESIS_HASH, KNOWN_RECORD_FORMATS};
use super::{EvidenceError, SignedTreeHead, canonical, keys, merkle, sth, tsa};
use crate::store;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

/// One thing that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Short kebab-case kind, e.g. `blob-hash-mismatch`, `record-missing`.
    pub kind: String,
    /// What it concerns: `blob <blake3>`, `record seq N`, `tree head sth-...`, a file path.
    pub subject: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {}", self.kind, self.subject, self.message)?;
        if let Some(e) = &self.expected {
            write!(f, " (expected {e}")?;
            if let Some(x) = &self.found {
                write!(f, ", found {x}")?;
            }
            write!(f, ")")?;
        } else if let Some(x) = &self.found {
            write!(f, " (found {x})")?;
        }
        Ok(())
    }
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub data_dir: String,
    pub database: String,
    pub key_fingerprint: Option<String>,
    pub records: u64,
    pub blobs: u64,
    pub blob_bytes: u64,
    pub tree_heads: u64,
    pub tsa_tokens: u64,
    pub elapsed_ms: u64,
    pub problems: Vec<Problem>,
    pub notes: Vec<String>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
    fn problem(
        &mut self,
        kind: &str,
        subject: impl Into<String>,
        message: impl Into<String>,
        expected: Option<String>,
        found: Option<String>,
    ) {
        self.problems.push(Problem {
            kind: kind.into(),
            subject: subject.into(),
            message: message.into(),
            expected,
            found,
        });
    }
}

struct DbRow {
    seq: i64,
    id: String,
    format: String,
    body: String,
    record_hash: String,
    leaf_hash: String,
}

/// Verifies a whole data dir. Returns `Err` only when it cannot look at all (no database);
/// everything found wrong is a [`Problem`] in the report.
pub async fn verify_data_dir(
    data_dir: &Path,
    db_url: Option<&str>,
) -> Result<VerifyReport, EvidenceError> {
    let start = Instant::now();
    let url = store::resolve_url(data_dir, db_url);
    if db_url.is_none() && !store::default_sqlite_path(data_dir).exists() {
        return Err(EvidenceError::NotInitialized {
            path: data_dir.to_path_buf(),
        });
    }
    let db = store::open(&url, false).await?;
    let db_name = store::redact(&url);
    let mut rep = VerifyReport {
        data_dir: data_dir.display().to_string(),
        database: db_name.clone(),
        ..Default::default()
    };

    // Key.
    let pub_path = keys::public_key_path(data_dir);
    let public = match keys::load_public(&pub_path) {
        Ok(k) => Some(k),
        Err(e) => {
            rep.problem(
                "key-unreadable",
                pub_path.display().to_string(),
                e.to_string(),
                None,
                None,
            );
            None
        }
    };
    if let Some(pk) = &public {
        rep.key_fingerprint = Some(keys::fingerprint(pk));
        if keys::private_key_path(data_dir).exists() {
            match keys::load_signing(data_dir) {
                Ok(sk) if sk.verifying_key() != *pk => rep.problem(
                    "key-mismatch",
                    pub_path.display().to_string(),
                    "public key file does not belong to keys/signing.key",
                    Some(keys::fingerprint(&sk.verifying_key())),
                    Some(keys::fingerprint(pk)),
                ),
                Ok(_) => {}
                Err(e) => rep.problem(
                    "key-unreadable",
                    keys::private_key_path(data_dir).display().to_string(),
                    e.to_string(),
                    None,
                    None,
                ),
            }
        }
    }

    // Blobs.
    let blobs = BlobStore::new(data_dir);
    let listing = tokio::task::spawn_blocking({
        let blobs = blobs.clone();
        move || -> Result<Vec<(String, String, std::io::Result<BlobInfo>)>, std::io::Error> {
            let mut out = Vec::new();
            for (path, name) in blobs.list()? {
                let placed = blobs.path(&name) == path;
                let info = blob::hash_file(&path);
                out.push((
                    path.display().to_string(),
                    if placed { name } else { format!("!{name}") },
                    info,
                ));
            }
            Ok(out)
        }
    })
    .await
    .map_err(|e| EvidenceError::Join(e.to_string()))?
    .map_err(|cause| EvidenceError::DataDir {
        path: blobs.root().to_path_buf(),
        cause,
    })?;
    let mut content: BTreeMap<String, BlobInfo> = BTreeMap::new();
    for (path, name, info) in listing {
        rep.blobs += 1;
        let (misplaced, name) = match name.strip_prefix('!') {
            Some(n) => (true, n.to_string()),
            None => (false, name),
        };
        let subject = format!("blob {name}");
        if !blob::is_hex_digest(&name) {
            rep.problem(
                "blob-stray-file",
                path,
                "file in blobs/ is not named by a BLAKE3 digest",
                None,
                None,
            );
            continue;
        }
        if misplaced {
            rep.problem(
                "blob-misplaced",
                subject.clone(),
                format!("file {path} is not in its fan-out directory"),
                None,
                None,
            );
        }
        match info {
            Ok(info) => {
                rep.blob_bytes += info.size;
                if info.blake3 != name {
                    rep.problem(
                        "blob-hash-mismatch",
                        subject,
                        format!("content of {path} does not match its name"),
                        Some(name.clone()),
                        Some(info.blake3.clone()),
                    );
                }
                content.insert(name, info);
            }
            Err(e) => rep.problem(
                "blob-unreadable",
                subject,
                format!("{path}: {e}"),
                None,
                None,
            ),
        }
    }

    // Records.
    let rows = sqlx::query(
        "SELECT seq, id, format, body, record_hash, leaf_hash FROM log_records ORDER BY seq",
    )
    .fetch_all(&db)
    .await
    .map_err(|cause| EvidenceError::Db {
        db: db_name.clone(),
        what: "read the log".into(),
        cause,
    })?;
    let mut parsed = Vec::with_capacity(rows.len());
    for r in &rows {
        let get = || -> Result<DbRow, sqlx::Error> {
            Ok(DbRow {
                seq: r.try_get(0)?,
                id: r.try_get(1)?,
                format: r.try_get(2)?,
                body: r.try_get(3)?,
                record_hash: r.try_get(4)?,
                leaf_hash: r.try_get(5)?,
            })
        };
        parsed.push(get().map_err(|cause| EvidenceError::Db {
            db: db_name.clone(),
            what: "read the log".into(),
            cause,
        })?);
    }
    let mut leaves: Vec<merkle::Hash> = Vec::with_capacity(parsed.len());
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    let mut prev_hash = GENESIS_HASH.to_string();
    let mut expected_seq: i64 = 0;
    for row in &parsed {
        rep.records += 1;
        let subject = format!("record seq {} (id {})", row.seq, row.id);
        if row.seq != expected_seq {
            if row.seq > expected_seq {
                let missing = if row.seq - expected_seq == 1 {
                    format!("seq {expected_seq}")
                } else {
                    format!("seq {expected_seq}..={}", row.seq - 1)
                };
                rep.problem(
                    "record-missing",
                    format!("record {missing}"),
                    format!(
                        "the log has no record {missing} (deleted?); the next present is seq {}",
                        row.seq
                    ),
                    Some(format!("seq {expected_seq}")),
                    Some(format!("seq {}", row.seq)),
                );
            }
            expected_seq = row.seq;
        }
        expected_seq += 1;
        let bytes = row.body.as_bytes();
        let record_hash = hex::encode(Sha256::digest(bytes));
        let leaf = merkle::leaf_hash(bytes);
        leaves.push(leaf);
        if record_hash != row.record_hash {
            rep.problem(
                "record-hash-mismatch",
                subject.clone(),
                "the record body does not hash to its stored record hash (edited?)",
                Some(row.record_hash.clone()),
                Some(record_hash.clone()),
            );
        }
        if hex::encode(leaf) != row.leaf_hash {
            rep.problem(
                "leaf-hash-mismatch",
                subject.clone(),
                "the record body does not hash to its stored leaf hash",
                Some(row.leaf_hash.clone()),
                Some(hex::encode(leaf)),
            );
        }
        if !canonical::is_canonical(bytes) {
            rep.problem(
                "record-not-canonical",
                subject.clone(),
                "the record body is not canonical JSON",
                None,
                None,
            );
        }
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                rep.problem(
                    "record-unparsable",
                    subject.clone(),
                    format!("body is not JSON: {e}"),
                    None,
                    None,
                );
                prev_hash = record_hash;
                continue;
            }
        };
        let body_seq = value.get("seq").and_then(Value::as_i64);
        if body_seq != Some(row.seq) {
            rep.problem(
                "record-seq-mismatch",
                subject.clone(),
                "the record sits at a position its body does not name (moved or swapped?)",
                Some(format!("seq {}", row.seq)),
                Some(
                    body_seq
                        .map(|s| format!("seq {s}"))
                        .unwrap_or_else(|| "none".into()),
                ),
            );
        }
        let body_id = value.get("id").and_then(Value::as_str).unwrap_or("");
        if body_id != row.id {
            rep.problem(
                "record-id-mismatch",
                subject.clone(),
                "body id differs from the indexed id",
                Some(row.id.clone()),
                Some(body_id.to_string()),
            );
        }
        let body_prev = value
            .get("prev_record_hash")
            .and_then(Value::as_str)
            .unwrap_or("");
        if body_prev != prev_hash {
            rep.problem(
                "chain-broken",
                subject.clone(),
                "prev_record_hash does not match the hash of the record before it",
                Some(prev_hash.clone()),
                Some(body_prev.to_string()),
            );
        }
        prev_hash = record_hash;
        let body_format = value.get("format").and_then(Value::as_str).unwrap_or("");
        if body_format != row.format {
            rep.problem(
                "record-format-mismatch",
                subject.clone(),
                "body format differs from the indexed format",
                Some(row.format.clone()),
                Some(body_format.to_string()),
            );
        }
        if !KNOWN_RECORD_FORMATS.contains(&body_format) {
            rep.problem(
                "record-unknown-format",
                subject.clone(),
                format!("format {body_format:?} is unknown to mapsweep {}; its content cannot be checked", crate::TOOL_VERSION),
                None,
                None,
            );
            continue;
        }
        if body_format == CAPTURE_FORMAT {
            let manifest: CaptureManifest = match serde_json::from_value(value) {
                Ok(m) => m,
                Err(e) => {
                    rep.problem(
                        "record-invalid",
                        subject.clone(),
                        format!("not a valid {CAPTURE_FORMAT}: {e}"),
                        None,
                        None,
                    );
                    continue;
                }
            };
            for (i, a) in manifest.artifacts.iter().enumerate() {
                let asub = format!("{subject} artifact {i} ({}, blob {})", a.role, a.blake3);
                referenced.insert(a.blake3.clone());
                let Some(found) = content.get(&a.blake3) else {
                    rep.problem(
                        "blob-missing",
                        asub,
                        format!("blob file {} is missing", blobs.path(&a.blake3).display()),
                        Some(a.blake3.clone()),
                        None,
                    );
                    continue;
                };
                if found.blake3 != a.blake3 {
                    rep.problem(
                        "artifact-blake3-mismatch",
                        asub.clone(),
                        "the blob's content is not what was sealed",
                        Some(a.blake3.clone()),
                        Some(found.blake3.clone()),
                    );
                }
                if found.sha256 != a.sha256 {
                    rep.problem(
                        "artifact-sha256-mismatch",
                        asub.clone(),
                        "SHA-256 of the blob differs from the sealed one",
                        Some(a.sha256.clone()),
                        Some(found.sha256.clone()),
                    );
                }
                if found.size != a.size {
                    rep.problem(
                        "artifact-size-mismatch",
                        asub,
                        "size of the blob differs from the sealed one",
                        Some(a.size.to_string()),
                        Some(found.size.to_string()),
                    );
                }
            }
        }
    }
    let unreferenced: Vec<&String> = content
        .keys()
        .filter(|k| !referenced.contains(*k))
        .collect();
    if !unreferenced.is_empty() {
        rep.notes.push(format!(
            "{} blob(s) are not referenced by any sealed record (an unsealed or interrupted capture), e.g. {}",
            unreferenced.len(),
            unreferenced[0]
        ));
    }

    // Tree heads.
    let heads = match super::load_tree_heads(&db, &db_name).await {
        Ok(h) => h,
        Err(e) => {
            rep.problem(
                "tree-head-unparsable",
                "tree_heads table",
                e.to_string(),
                None,
                None,
            );
            Vec::new()
        }
    };
    let stored_bodies = sqlx::query("SELECT body FROM tree_heads ORDER BY tree_size, timestamp_ms")
        .fetch_all(&db)
        .await
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r.try_get::<String, _>(0).ok())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut prev_head: Option<&SignedTreeHead> = None;
    for (i, h) in heads.iter().enumerate() {
        rep.tree_heads += 1;
        let subject = format!(
            "tree head {} (size {})",
            h.file_stem(),
            h.tree_head.tree_size
        );
        if let Some(stored) = stored_bodies.get(i)
            && stored.as_bytes() != h.tree_head.signed_bytes().as_slice()
        {
            rep.problem(
                "tree-head-not-canonical",
                subject.clone(),
                "stored tree head body is not canonical",
                None,
                None,
            );
        }
        if let Some(pk) = &public
            && let Err(e) = sth::verify_tree_head_signature(h, pk)
        {
            rep.problem(
                "tree-head-bad-signature",
                subject.clone(),
                e.to_string(),
                Some(keys::fingerprint(pk)),
                Some(h.tree_head.key_id.clone()),
            );
        }
        let size = h.tree_head.tree_size;
        let mut root_ok = false;
        if size as usize > leaves.len() {
            rep.problem(
                "tree-head-beyond-log",
                subject.clone(),
                "the tree head covers more records than the log holds (records deleted?)",
                Some(format!("at least {size} records")),
                Some(format!("{} records", leaves.len())),
            );
        } else {
            let computed = hex::encode(merkle::root(&leaves[..size as usize]));
            if computed != h.tree_head.root_hash {
                rep.problem(
                    "tree-head-root-mismatch",
                    subject.clone(),
                    format!(
                        "the Merkle root of the first {size} records differs from the signed root"
                    ),
                    Some(h.tree_head.root_hash.clone()),
                    Some(computed),
                );
            } else {
                root_ok = true;
            }
        }
        if root_ok && size > 0 {
            let l = &leaves[..size as usize];
            let last = size - 1;
            let ok = merkle::inclusion_proof(last, l).is_ok_and(|p| {
                h.tree_head.root().is_some_and(|r| {
                    merkle::verify_inclusion(&l[last as usize], last, size, &p, &r)
                })
            });
            if !ok {
                rep.problem(
                    "inclusion-proof-failed",
                    subject.clone(),
                    format!("record seq {last} is not provably in the tree"),
                    None,
                    None,
                );
            }
        }
        if let Some(p) = prev_head
            && root_ok
            && p.tree_head.tree_size > 0
            && p.tree_head.tree_size <= size
        {
            let ok = merkle::consistency_proof(p.tree_head.tree_size, &leaves[..size as usize])
                .is_ok_and(|proof| match (p.tree_head.root(), h.tree_head.root()) {
                    (Some(a), Some(b)) => {
                        merkle::verify_consistency(p.tree_head.tree_size, size, &a, &b, &proof)
                    }
                    _ => false,
                });
            if !ok {
                rep.problem(
                    "consistency-proof-failed",
                    subject.clone(),
                    format!(
                        "not consistent with the earlier tree head {} (the log was rewritten?)",
                        p.file_stem()
                    ),
                    None,
                    None,
                );
            }
        }
        if root_ok {
            prev_head = Some(h);
        }
        if let Some(tok) = &h.tsa_token {
            rep.tsa_tokens += 1;
            match hex::decode(tok) {
                Ok(der) => {
                    let imprint = h.tree_head.imprint();
                    if let Err(e) = tsa::verify_tsa_token(&der, &imprint) {
                        let (exp, found) = match &e {
                            tsa::TsaError::ImprintMismatch { expected, found } => {
                                (Some(expected.clone()), Some(found.clone()))
                            }
                            _ => (None, None),
                        };
                        rep.problem(
                            "tsa-token-invalid",
                            subject.clone(),
                            e.to_string(),
                            exp,
                            found,
                        );
                    }
                }
                Err(_) => rep.problem(
                    "tsa-token-invalid",
                    subject.clone(),
                    "token is not hex",
                    None,
                    None,
                ),
            }
        }
    }

    // Exported checkpoint files must match the database.
    let dir = data_dir.join("checkpoints");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for path in names {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string();
            let db_head = heads.iter().find(|h| h.file_stem() == stem);
            let subject = path.display().to_string();
            match ext {
                "json" => {
                    let file: Option<SignedTreeHead> = std::fs::read(&path)
                        .ok()
                        .and_then(|b| serde_json::from_slice(&b).ok());
                    match (file, db_head) {
                        (None, _) => rep.problem(
                            "checkpoint-file-invalid",
                            subject,
                            "not a signed tree head",
                            None,
                            None,
                        ),
                        (Some(_), None) => rep.problem(
                            "checkpoint-file-orphan",
                            subject,
                            "no such tree head in the database (deleted?)",
                            None,
                            None,
                        ),
                        (Some(f), Some(d)) if f != *d => rep.problem(
                            "checkpoint-file-differs",
                            subject,
                            "differs from the tree head in the database",
                            None,
                            None,
                        ),
                        _ => {}
                    }
                }
                "tsr" => {
                    let bytes = std::fs::read(&path).ok();
                    let db_tok = db_head
                        .and_then(|h| h.tsa_token.as_deref())
                        .and_then(|t| hex::decode(t).ok());
                    if bytes.is_none() || bytes != db_tok {
                        rep.problem(
                            "checkpoint-token-differs",
                            subject,
                            "time-stamp token file differs from the database",
                            None,
                            None,
                        );
                    }
                }
                _ => {}
            }
        }
    }
    db.close().await;
    rep.elapsed_ms = start.elapsed().as_millis() as u64;
    Ok(rep)
}
