//! `export CASE --out FILE.zip`: writes the case bundle described in [`super::bundle`].
//!
//! Order of work, and why:
//! 1. refuse early: an existing output (unless `force`), an unknown case, a case whose findings
//!    are all dismissed (unless `include_dismissed`), a data dir that fails `verify` (the
//!    problems are listed; a bundle must never be built from evidence that does not hold);
//! 2. take a fresh checkpoint (signed tree head, plus an RFC 3161 token when a TSA is
//!    configured; a TSA failure falls back to the signed head and is reported as a warning);
//! 3. stage every file in a scratch directory beside the output: records exactly as sealed,
//!    their inclusion proofs computed from the log against that head, every artifact of every
//!    capture the findings rest on (BLAKE3 re-checked while copying), the head, signature and
//!    key, VERIFY.md, and the report HTML;
//! 4. print the PDF from the staged HTML (`file://`, so the images resolve). When Chromium is
//!    missing or fails, the staged files (with report.html) are kept at `<out stem>.unpacked/`,
//!    no ZIP is written, and the error says how to install Chromium;
//! 5. write manifest.json and SHA256SUMS, then the ZIP to a temporary name renamed into place
//!    (a crash never leaves a half-written bundle under the requested name).

use super::bundle::{
    self, ArtifactEntry, BundleManifest, Digests, FileEntry, ProofFile, RecordEntry,
};
use super::report::{self, ReportData, ReportError};
use super::review::{self, Decision};
use super::{CaseError, shanghai};
use crate::evidence::record::{CaptureManifest, rfc3339_ms};
use crate::evidence::{ArtifactRole, EvidenceError, EvidenceStore, SignedTreeHead, merkle};
use crate::findings::{self, Finding, FindingsError};
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `export` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub out: PathBuf,
    /// Replace an existing output file.
    pub force: bool,
    /// Include dismissed findings (by default they are left out).
    pub include_dismissed: bool,
    /// Chromium to print the PDF with (else `$CHROME`, then the usual places).
    pub chrome: Option<PathBuf>,
    /// Database URL of the data dir (for the pre-export `verify`), when not the default.
    pub database_url: Option<String>,
    /// Leave report.pdf out (a machine without Chromium); the ZIP still holds report.html.
    pub no_pdf: bool,
}

/// What `export` did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub out: PathBuf,
    pub case_id: String,
    pub findings: usize,
    /// Findings left out because they were dismissed.
    pub dismissed_left_out: Vec<String>,
    pub files: usize,
    pub records: usize,
    pub artifacts: usize,
    pub bytes: u64,
    pub tree_size: u64,
    pub root_hash: String,
    pub key_fingerprint: String,
    pub tsa_time: Option<String>,
    pub elapsed_ms: u64,
    pub warnings: Vec<String>,
}

/// Why an export was refused or failed; each names the case, file or problem.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path} already exists; pass --force to replace it")]
    OutExists { path: PathBuf },
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Findings(#[from] FindingsError),
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error(transparent)]
    Review(#[from] review::ReviewError),
    #[error("refusing to export {case_id}: the evidence in {data_dir} fails verification ({n} problem(s)):\n{list}", n = problems.len(), list = problems.join("\n"))]
    EvidenceInvalid {
        case_id: String,
        data_dir: PathBuf,
        problems: Vec<String>,
    },
    #[error("refusing to export {case_id}: all its findings ({ids}) are dismissed; pass --include-dismissed to export them anyway", ids = ids.join(", "))]
    DismissedOnly { case_id: String, ids: Vec<String> },
    #[error("case {case_id} has no findings to export")]
    NoFindings { case_id: String },
    #[error("capture {capture_id} lists artifact {blake3} but its blob {path} is {what}")]
    BadBlob {
        capture_id: String,
        blake3: String,
        path: PathBuf,
        what: String,
    },
    #[error("cannot write {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write the ZIP {path}: {message}")]
    Zip { path: PathBuf, message: String },
    #[error("the log does not match its tree head: {0}")]
    Log(String),
    #[error(transparent)]
    Report(ReportError),
    #[error(
        "report.pdf could not be made: {cause}\nThe HTML report and every other file are in {kept} (no ZIP was written)."
    )]
    Pdf { cause: ReportError, kept: PathBuf },
    #[error("an export task failed: {0}")]
    Join(String),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        cause: source,
    }
}

/// A scratch directory removed on drop unless kept.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The staged bundle: files written so far with their digests.
struct Staging {
    root: PathBuf,
    files: BTreeMap<String, Digests>,
}

impl Staging {
    fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<Digests, ExportError> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        std::fs::write(&path, bytes).map_err(io_err(&path))?;
        let d = Digests::of(bytes);
        self.files.insert(rel.to_string(), d.clone());
        Ok(d)
    }
}

/// File extension for a media type.
fn ext_for(media_type: &str) -> &'static str {
    let mt = media_type.split(';').next().unwrap_or("").trim();
    match mt {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/svg+xml" => "svg",
        "text/html" | "application/xhtml+xml" => "html",
        "application/json" => "json",
        "text/css" => "css",
        "application/javascript" | "text/javascript" => "js",
        "text/plain" => "txt",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

/// `2026-11-30 01:02:03 UTC` and `2026-11-30 09:02:03 (UTC+08:00)` from an RFC 3339 time.
fn times(rfc3339: &str) -> (String, String) {
    match rfc3339.parse::<jiff::Timestamp>() {
        Ok(t) => (
            t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
            shanghai(t)
                .strftime("%Y-%m-%d %H:%M:%S (UTC%:z)")
                .to_string(),
        ),
        Err(_) => (rfc3339.to_string(), rfc3339.to_string()),
    }
}

struct RecordOut {
    seq: u64,
    id: String,
    format: String,
    kind: &'static str,
    canonical: String,
}

impl RecordOut {
    fn path(&self) -> String {
        format!("records/{:010}-{}.json", self.seq, self.kind)
    }
    fn proof_path(&self) -> String {
        format!("proofs/{:010}.json", self.seq)
    }
}

/// Exports a case as a bundle. See the module docs for the order of work and refusals.
pub async fn export_case(
    store: &EvidenceStore,
    case_id: &str,
    opts: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    let start = Instant::now();
    let mut warnings = Vec::new();
    if opts.out.exists() && !opts.force {
        return Err(ExportError::OutExists {
            path: opts.out.clone(),
        });
    }
    let db = store.pool();
    let case = super::get_case(db, case_id).await?;
    let mut chosen: Vec<Finding> = Vec::new();
    let mut dismissed = Vec::new();
    for id in &case.findings {
        let f = findings::get(db, id).await?;
        if f.review.as_ref().map(|r| r.decision) == Some(Decision::Dismissed)
            && !opts.include_dismissed
        {
            dismissed.push(f.finding_id.clone());
            continue;
        }
        chosen.push(f);
    }
    if chosen.is_empty() {
        if !dismissed.is_empty() {
            return Err(ExportError::DismissedOnly {
                case_id: case.case_id.clone(),
                ids: dismissed,
            });
        }
        return Err(ExportError::NoFindings {
            case_id: case.case_id.clone(),
        });
    }

    // The evidence must hold before anything is built on it.
    let vr =
        crate::evidence::verify_data_dir(store.data_dir(), opts.database_url.as_deref()).await?;
    if !vr.is_clean() {
        return Err(ExportError::EvidenceInvalid {
            case_id: case.case_id.clone(),
            data_dir: store.data_dir().to_path_buf(),
            problems: vr.problems.iter().map(|p| p.to_string()).collect(),
        });
    }

    // A fresh signed tree head covering everything exported.
    let sth: SignedTreeHead = match store.checkpoint().await {
        Ok(s) => s,
        Err(EvidenceError::Tsa { stem, url, cause }) => {
            warnings.push(format!(
                "no RFC 3161 token for this export: time-stamp authority {url} failed ({cause}); the tree head {stem} is signed but not time-stamped"
            ));
            let heads = store.tree_heads().await?;
            heads
                .into_iter()
                .rfind(|h| h.file_stem() == stem)
                .ok_or_else(|| ExportError::Log(format!("tree head {stem} was not stored")))?
        }
        Err(e) => return Err(e.into()),
    };
    let tree_size = sth.tree_head.tree_size;
    let root_hex = sth.tree_head.root_hash.clone();

    // Leaves of the log up to the head, to prove each record's inclusion.
    let rows = sqlx::query("SELECT seq, body FROM log_records WHERE seq < $1 ORDER BY seq")
        .bind(tree_size as i64)
        .fetch_all(db)
        .await
        .map_err(|e| ExportError::Log(format!("read the log: {e}")))?;
    let mut leaves = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let seq: i64 = r.try_get(0).map_err(|e| ExportError::Log(e.to_string()))?;
        let body: String = r.try_get(1).map_err(|e| ExportError::Log(e.to_string()))?;
        if seq as usize != i {
            return Err(ExportError::Log(format!("seq {i} is missing from the log")));
        }
        leaves.push(merkle::leaf_hash(body.as_bytes()));
    }
    if leaves.len() as u64 != tree_size || hex::encode(merkle::root(&leaves)) != root_hex {
        return Err(ExportError::Log(format!(
            "recomputed root of {} records differs from the tree head's {root_hex}",
            leaves.len()
        )));
    }

    // Records: captures, reviews of the exported findings, the case's events.
    let mut records: BTreeMap<u64, RecordOut> = BTreeMap::new();
    let mut captures: BTreeMap<String, CaptureManifest> = BTreeMap::new();
    for f in &chosen {
        let key = f.capture_id.to_string();
        if captures.contains_key(&key) {
            continue;
        }
        let rec = store.record(&f.capture_id).await?;
        let Some(cap) = rec.capture() else {
            return Err(ExportError::Log(format!("record {key} is not a capture")));
        };
        captures.insert(key.clone(), cap.clone());
        records.insert(
            rec.seq,
            RecordOut {
                seq: rec.seq,
                id: key,
                format: rec.format.clone(),
                kind: "capture",
                canonical: rec.canonical.clone(),
            },
        );
    }
    let chosen_ids: BTreeSet<&str> = chosen.iter().map(|f| f.finding_id.as_str()).collect();
    let mut review_history: BTreeMap<String, Vec<review::ReviewRecord>> = BTreeMap::new();
    for (r, body) in review::all_review_records(db).await? {
        if !chosen_ids.contains(r.finding_id.as_str()) {
            continue;
        }
        records.insert(
            r.seq,
            RecordOut {
                seq: r.seq,
                id: r.id.to_string(),
                format: r.format.clone(),
                kind: "review",
                canonical: body,
            },
        );
        review_history
            .entry(r.finding_id.clone())
            .or_default()
            .push(r);
    }
    for (e, body) in super::case_events(db, &case.case_id).await? {
        records.insert(
            e.seq,
            RecordOut {
                seq: e.seq,
                id: e.id.to_string(),
                format: e.format.clone(),
                kind: "case-event",
                canonical: body,
            },
        );
    }

    // Stage beside the output so the final rename stays on one file system.
    let parent = opts
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let file_name = opts
        .out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "case.zip".into());
    let mut scratch = Scratch {
        path: parent.join(format!(".{file_name}.staging-{}", uuid::Uuid::now_v7())),
        keep: false,
    };
    std::fs::create_dir_all(&scratch.path).map_err(io_err(&scratch.path))?;
    let mut st = Staging {
        root: scratch.path.clone(),
        files: BTreeMap::new(),
    };

    let mut record_entries = Vec::new();
    for r in records.values() {
        if r.seq >= tree_size {
            return Err(ExportError::Log(format!(
                "record seq {} is beyond the tree head",
                r.seq
            )));
        }
        let bytes = r.canonical.as_bytes();
        let leaf = merkle::leaf_hash(bytes);
        if leaf != leaves[r.seq as usize] {
            return Err(ExportError::Log(format!(
                "record seq {} differs from the log",
                r.seq
            )));
        }
        st.write(&r.path(), bytes)?;
        let path =
            merkle::inclusion_proof(r.seq, &leaves).map_err(|e| ExportError::Log(e.to_string()))?;
        let proof = ProofFile {
            format: bundle::PROOF_FORMAT.into(),
            seq: r.seq,
            record_id: r.id.clone(),
            record_path: r.path(),
            tree_size,
            leaf_hash: hex::encode(leaf),
            root_hash: root_hex.clone(),
            path: path.iter().map(hex::encode).collect(),
        };
        st.write(&r.proof_path(), &pretty(&proof))?;
        record_entries.push(RecordEntry {
            seq: r.seq,
            id: r.id.clone(),
            format: r.format.clone(),
            path: r.path(),
            proof: r.proof_path(),
            record_hash: hex::encode(Sha256::digest(bytes)),
            leaf_hash: hex::encode(leaf),
        });
    }

    // Artifacts of every capture, re-checked against the sealed BLAKE3 while copying.
    let mut artifacts: BTreeMap<String, ArtifactEntry> = BTreeMap::new();
    for cap in captures.values() {
        for a in &cap.artifacts {
            let role = a.role.as_str().to_string();
            if let Some(e) = artifacts.get_mut(&a.blake3) {
                if !e.roles.contains(&role) {
                    e.roles.push(role);
                }
                continue;
            }
            let src = store.blob_path(&a.blake3);
            let bytes = std::fs::read(&src).map_err(|e| ExportError::BadBlob {
                capture_id: cap.id.to_string(),
                blake3: a.blake3.clone(),
                path: src.clone(),
                what: format!("unreadable: {e}"),
            })?;
            let rel = format!("artifacts/{}.{}", a.blake3, ext_for(&a.media_type));
            let d = st.write(&rel, &bytes)?;
            if d.blake3 != a.blake3 || d.sha256 != a.sha256 {
                return Err(ExportError::BadBlob {
                    capture_id: cap.id.to_string(),
                    blake3: a.blake3.clone(),
                    path: src,
                    what: format!("changed (BLAKE3 now {})", d.blake3),
                });
            }
            artifacts.insert(
                a.blake3.clone(),
                ArtifactEntry {
                    path: rel,
                    blake3: a.blake3.clone(),
                    sha256: a.sha256.clone(),
                    media_type: a.media_type.clone(),
                    roles: vec![role],
                },
            );
        }
    }

    // Tree head, signature, key, token.
    st.write(bundle::TREE_HEAD, &pretty(&sth))?;
    st.write(bundle::TREE_HEAD_SIGNED, &sth.tree_head.signed_bytes())?;
    let sig = hex::decode(&sth.signature)
        .map_err(|e| ExportError::Log(format!("tree head signature is not hex: {e}")))?;
    st.write(bundle::TREE_HEAD_SIG, &sig)?;
    let pem = store
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| ExportError::Log(format!("cannot encode the public key: {e}")))?;
    st.write(bundle::PUBLIC_KEY, pem.as_bytes())?;
    let mut tsa_time = None;
    if let Some(tok) = sth.tsa_token.as_deref() {
        let der =
            hex::decode(tok).map_err(|e| ExportError::Log(format!("tsa token is not hex: {e}")))?;
        match crate::evidence::verify_tsa_token(&der, &sth.tree_head.imprint()) {
            Ok(info) => tsa_time = Some(info.gen_time),
            Err(e) => warnings.push(format!("the time-stamp token does not verify: {e}")),
        }
        st.write(bundle::TREE_HEAD_TSR, &der)?;
    }
    let has_tsr = sth.tsa_token.is_some();
    st.write(
        "VERIFY.md",
        verify_md(&case.case_id, has_tsr, &store.fingerprint()).as_bytes(),
    )?;

    // Report.
    let now = jiff::Timestamp::now();
    let data = build_report_data(
        &case,
        &chosen,
        &captures,
        &artifacts,
        &records,
        &review_history,
        &sth,
        tsa_time.as_deref(),
        &store.fingerprint(),
        &st.files,
        now,
    );
    let html = report::render_html(&data).map_err(ExportError::Report)?;
    st.write("report.html", html.as_bytes())?;
    let chrome = if opts.no_pdf {
        Err(ReportError::Skipped)
    } else {
        report::find_chromium(opts.chrome.as_deref())
    };
    let pdf = match chrome {
        Ok(chrome) => {
            let html_path = st.root.join("report.html");
            tokio::task::spawn_blocking(move || report::print_pdf_blocking(&html_path, &chrome))
                .await
                .map_err(|e| ExportError::Join(e.to_string()))?
        }
        Err(e) => Err(e),
    };
    let pdf = match pdf {
        Ok(p) => Some(p),
        Err(ReportError::Skipped) => {
            warnings.push("report.pdf left out (--no-pdf); report.html is in the bundle".into());
            None
        }
        Err(source) => {
            let stem = opts
                .out
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "case".into());
            let kept = parent.join(format!("{stem}.unpacked"));
            let kept = if !kept.exists() && std::fs::rename(&scratch.path, &kept).is_ok() {
                kept
            } else {
                scratch.path.clone()
            };
            scratch.keep = true;
            return Err(ExportError::Pdf {
                cause: source,
                kept,
            });
        }
    };
    if let Some(pdf) = &pdf {
        st.write("report.pdf", pdf)?;
    }

    // Manifest and SHA256SUMS.
    let manifest = BundleManifest {
        format: bundle::BUNDLE_FORMAT.into(),
        case_id: case.case_id.clone(),
        title: case.title.clone(),
        created_at: rfc3339_ms(now),
        tool_version: crate::TOOL_VERSION.into(),
        key_fingerprint: store.fingerprint(),
        tree_size,
        root_hash: root_hex.clone(),
        finding_ids: chosen.iter().map(|f| f.finding_id.clone()).collect(),
        records: record_entries,
        artifacts: artifacts.values().cloned().collect(),
        files: st
            .files
            .iter()
            .map(|(p, d)| FileEntry {
                path: p.clone(),
                size: d.size,
                sha256: d.sha256.clone(),
                sm3: d.sm3.clone(),
                blake3: d.blake3.clone(),
            })
            .collect(),
    };
    st.write(bundle::MANIFEST, &pretty(&manifest))?;
    let sums: BTreeMap<String, String> = st
        .files
        .iter()
        .map(|(p, d)| (p.clone(), d.sha256.clone()))
        .collect();
    st.write(bundle::SUMS, bundle::sha256sums_text(&sums).as_bytes())?;

    // The ZIP, written under a temporary name and renamed into place.
    let tmp = parent.join(format!(".{file_name}.tmp-{}", uuid::Uuid::now_v7()));
    let names: Vec<String> = st.files.keys().cloned().collect();
    let root = st.root.clone();
    let tmp2 = tmp.clone();
    let written = tokio::task::spawn_blocking(move || write_zip(&tmp2, &root, &names))
        .await
        .map_err(|e| ExportError::Join(e.to_string()))?;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &opts.out).map_err(io_err(&opts.out))?;
    let bytes = std::fs::metadata(&opts.out).map(|m| m.len()).unwrap_or(0);
    tracing::info!(case = %case.case_id, out = %opts.out.display(), bytes, "case exported");
    Ok(ExportReport {
        out: opts.out.clone(),
        case_id: case.case_id.clone(),
        findings: chosen.len(),
        dismissed_left_out: dismissed,
        files: st.files.len(),
        records: records.len(),
        artifacts: artifacts.len(),
        bytes,
        tree_size,
        root_hash: root_hex,
        key_fingerprint: store.fingerprint(),
        tsa_time,
        elapsed_ms: start.elapsed().as_millis() as u64,
        warnings,
    })
}

fn pretty<T: Serialize>(v: &T) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

fn write_zip(out: &Path, root: &Path, names: &[String]) -> Result<(), ExportError> {
    use zip::write::SimpleFileOptions;
    let zerr = |message: String| ExportError::Zip {
        path: out.to_path_buf(),
        message,
    };
    let file = std::fs::File::create(out).map_err(io_err(out))?;
    let mut zw = zip::ZipWriter::new(std::io::BufWriter::new(file));
    for name in names {
        let stored = [".png", ".jpg", ".gif", ".webp", ".pdf"]
            .iter()
            .any(|e| name.ends_with(e));
        let method = if stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let opts = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(true)
            .unix_permissions(0o644);
        zw.start_file(name.as_str(), opts)
            .map_err(|e| zerr(format!("{name}: {e}")))?;
        let path = root.join(name);
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        zw.write_all(&bytes)
            .map_err(|e| zerr(format!("{name}: {e}")))?;
    }
    let mut w = zw.finish().map_err(|e| zerr(e.to_string()))?;
    w.flush().map_err(io_err(out))?;
    let f = w.into_inner().map_err(|e| zerr(e.to_string()))?;
    f.sync_all().map_err(io_err(out))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn build_report_data(
    case: &super::Case,
    chosen: &[Finding],
    captures: &BTreeMap<String, CaptureManifest>,
    artifacts: &BTreeMap<String, ArtifactEntry>,
    records: &BTreeMap<u64, RecordOut>,
    review_history: &BTreeMap<String, Vec<review::ReviewRecord>>,
    sth: &SignedTreeHead,
    tsa_time: Option<&str>,
    fingerprint: &str,
    staged: &BTreeMap<String, Digests>,
    now: jiff::Timestamp,
) -> ReportData {
    use report::*;
    let path_of = |b3: &str| artifacts.get(b3).map(|a| a.path.clone());
    let (opened_utc, opened_cst) = times(&case.opened_at);
    let now_s = rfc3339_ms(now);
    let (generated_utc, generated_cst) = times(&now_s);
    let uniq = |v: Vec<String>| {
        let mut seen = BTreeSet::new();
        v.into_iter()
            .filter(|s| !s.is_empty() && seen.insert(s.clone()))
            .collect::<Vec<_>>()
            .join("；")
    };
    let caps: Vec<&CaptureManifest> = captures.values().collect();
    let browser_of = |c: &CaptureManifest| match (&c.method.browser_name, &c.method.browser_version)
    {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n.clone(),
        _ => format!(
            "无（静态 HTTP 抓取 static fetch{}）",
            c.method
                .user_agent
                .as_deref()
                .map(|u| format!(", User-Agent: {u}"))
                .unwrap_or_default()
        ),
    };
    let mut starts: Vec<&str> = caps.iter().map(|c| c.started_at.as_str()).collect();
    starts.sort();
    let period = match (starts.first(), starts.last()) {
        (Some(a), Some(b)) => format!("{} — {}", times(a).1, times(b).1),
        _ => "—".into(),
    };
    let env_summary = EnvSummary {
        operators: uniq(
            caps.iter()
                .map(|c| {
                    c.environment
                        .operator
                        .clone()
                        .unwrap_or_else(|| "（未记录 not recorded）".into())
                })
                .collect(),
        ),
        hosts: uniq(
            caps.iter()
                .map(|c| c.environment.host_name.clone())
                .collect(),
        ),
        os: uniq(
            caps.iter()
                .map(|c| format!("{} ({})", c.environment.os, c.environment.arch))
                .collect(),
        ),
        methods: uniq(
            caps.iter()
                .map(|c| format!("{}: {}", c.method.kind, browser_of(c)))
                .collect(),
        ),
        period: period.clone(),
    };
    let mut views = Vec::new();
    for (i, f) in chosen.iter().enumerate() {
        let cap = captures.get(&f.capture_id.to_string());
        let (captured_utc, captured_cst) = times(&f.captured_at);
        let screenshot = cap.and_then(|c| {
            c.artifacts
                .iter()
                .find(|a| a.role == ArtifactRole::Screenshot)
                .and_then(|a| path_of(&a.blake3))
        });
        let history = review_history
            .get(&f.finding_id)
            .cloned()
            .unwrap_or_default();
        let latest = history.last().map(|r| ReviewView {
            decision: r.decision.as_str().into(),
            decision_zh: r.decision.label_zh().into(),
            reviewer: r.reviewer.clone(),
            at_cst: times(&r.sealed_at).1,
            note: r.note.clone(),
        });
        let superseded = history
            .iter()
            .rev()
            .skip(1)
            .map(|r| {
                format!(
                    "{} {} ({})",
                    r.decision.label_zh(),
                    r.reviewer,
                    times(&r.sealed_at).1
                )
            })
            .collect::<Vec<_>>()
            .join("；");
        let rules = f
            .rules
            .iter()
            .map(|r| RuleView {
                rule: r.rule.clone(),
                rule_zh: rule_zh(&r.rule),
                status: r.status.clone(),
                status_zh: status_zh(&r.status).into(),
                confidence: format!("{:.0}%", (r.confidence * 100.0).clamp(0.0, 100.0)),
                message: r.message.clone(),
                violated: r.is_violated(),
                clause: clause(&r.rule),
            })
            .collect();
        let map_desc = match &f.map {
            serde_json::Value::Object(m) => m
                .iter()
                .filter(|(k, _)| ["region", "projection"].contains(&k.as_str()))
                .map(|(k, v)| {
                    format!(
                        "{k}: {}",
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    )
                })
                .collect::<Vec<_>>()
                .join(" · "),
            _ => String::new(),
        };
        let env = cap
            .map(|c| EnvView {
                tool_version: c.environment.tool_version.clone(),
                browser: browser_of(c),
                os: format!("{} ({})", c.environment.os, c.environment.arch),
                host: c.environment.host_name.clone(),
                operator: c.environment.operator.clone(),
                remote_addr: c.remote_addr.clone(),
                robots: c.robots.clone(),
                status: c.status.map(|s| s.to_string()),
                notes: c.notes.join("；"),
            })
            .unwrap_or_default();
        let record_path = records
            .values()
            .find(|r| r.id == f.capture_id.to_string())
            .map(|r| r.path())
            .unwrap_or_default();
        views.push(FindingView {
            index: i + 1,
            finding_id: f.finding_id.clone(),
            page_url: f.page_url.clone(),
            final_url: cap.and_then(|c| c.final_url.clone()),
            artifact_url: f.artifact_url.clone(),
            artifact_role: f.artifact_role.clone(),
            captured_utc,
            captured_cst,
            verdict: f.verdict.clone(),
            verdict_zh: verdict_zh(&f.verdict).into(),
            map_desc,
            review: latest,
            superseded,
            capture_id: f.capture_id.to_string(),
            capture_seq: f.capture_seq,
            record_path,
            screenshot,
            map_image: path_of(&f.artifact_blake3).unwrap_or_default(),
            overlay: f.overlay.as_deref().and_then(path_of),
            rules,
            env,
        });
    }
    // Items of the extraction record: evidence files (artifacts, records, head, key, token).
    let mut items = Vec::new();
    for (path, d) in staged {
        let description = if let Some(a) = artifacts.values().find(|a| &a.path == path) {
            format!(
                "采集文件 artifact ({}, {})",
                a.roles.join(", "),
                a.media_type
            )
        } else if let Some(r) = records.values().find(|r| &r.path() == path) {
            let k = match r.kind {
                "capture" => "采集记录 capture record",
                "review" => "审核记录 review record",
                _ => "案件记录 case event record",
            };
            format!("{k}, seq {}", r.seq)
        } else if path == bundle::TREE_HEAD {
            "签名树头 signed tree head".into()
        } else if path == bundle::PUBLIC_KEY {
            "签名公钥 public key".into()
        } else if path == bundle::TREE_HEAD_TSR {
            "RFC 3161 时间戳 time-stamp token".into()
        } else {
            continue;
        };
        items.push(ItemView {
            path: path.clone(),
            description,
            size: d.size,
            sha256: d.sha256.clone(),
            sm3: d.sm3.clone(),
            blake3: d.blake3.clone(),
        });
    }
    let collector = format!(
        "采集人 operator: {}；导出人 exported by: {}",
        env_summary.operators,
        case.officer
            .clone()
            .unwrap_or_else(|| "（未填写 not given）".into())
    );
    let extraction = ExtractionView {
        collector,
        when: format!("采集 captured: {period}；导出 exported: {generated_cst}"),
        where_: format!("采集主机 host: {}；网络地址 remote addresses: {}", env_summary.hosts, uniq(caps.iter().filter_map(|c| c.remote_addr.clone()).collect())),
        tools: format!(
            "mapsweep {}（网页采集、地图检查、证据封存 capture, map check, sealing）；{}；哈希 SHA-256 / SM3 / BLAKE3；Ed25519 签名；RFC 9162 Merkle 日志{}",
            crate::TOOL_VERSION,
            env_summary.methods,
            if tsa_time.is_some() { "；RFC 3161 可信时间戳" } else { "" }
        ),
        method: "访问网页并保存页面、DOM、截图及地图图像；采集完成时计算各文件哈希值并写入只追加的签名证据日志；检查地图内容并生成叠加对比图；导出时重新校验全部证据并生成包含证明。Pages were fetched and saved with their DOM, screenshots and map images; each file was hashed at capture time and sealed into the append-only signed log; maps were checked and overlays drawn; the whole log was re-verified at export and inclusion proofs generated.".into(),
        verification: format!(
            "sha256sum -c SHA256SUMS；mapsweep verify {}.zip；openssl（见 VERIFY.md）。公钥指纹 key fingerprint: {fingerprint}",
            case.case_id
        ),
    };
    let _ = records;
    ReportData {
        case: CaseView {
            case_id: case.case_id.clone(),
            title: case.title.clone(),
            subject: case.subject.clone(),
            officer: case.officer.clone(),
            opened_utc,
            opened_cst,
        },
        generated_utc,
        generated_cst,
        tool_version: crate::TOOL_VERSION.into(),
        tree: TreeView {
            size: sth.tree_head.tree_size,
            root: sth.tree_head.root_hash.clone(),
            timestamp: sth.tree_head.timestamp.clone(),
            key: fingerprint.into(),
            tsa: tsa_time.map(|t| format!("{} · {t}", sth.tsa_url.clone().unwrap_or_default())),
        },
        env_summary,
        findings: views,
        extraction,
        items,
    }
}

/// VERIFY.md: how to check the bundle with standard tools and with mapsweep.
pub fn verify_md(case_id: &str, has_tsr: bool, fingerprint: &str) -> String {
    let tsa = if has_tsr {
        "tree-head.tsr 是 RFC 3161 时间戳令牌，其消息摘要为 tree-head.signed.json 的 SHA-256。\n\
         用时间戳服务机构公布的 CA 证书（tsa-ca.pem，需向该机构获取）校验：\n\n\
         ```sh\nopenssl ts -verify -data tree-head.signed.json -in tree-head.tsr -token_in -CAfile tsa-ca.pem\n```\n\n\
         查看令牌内容（时间、序列号）：`openssl ts -reply -in tree-head.tsr -token_in -text`\n\n\
         *English:* `tree-head.tsr` is the RFC 3161 time-stamp token over the SHA-256 of\n\
         `tree-head.signed.json`. Check it with the CA certificate the time-stamp authority\n\
         publishes (`tsa-ca.pem`, obtain it from the TSA) using the command above; it proves the\n\
         tree head (and so every record in it) existed unchanged at the token's time.\n"
    } else {
        "本证据包没有 RFC 3161 时间戳令牌（导出时未配置时间戳服务，或服务不可用）。\n\n\
         *English:* this bundle has no RFC 3161 token (no time-stamp authority was configured or\n\
         reachable at export). When a bundle has `tree-head.tsr`, check it with\n\
         `openssl ts -verify -data tree-head.signed.json -in tree-head.tsr -token_in -CAfile tsa-ca.pem`.\n"
    };
    format!(
        "# 证据包校验说明 / How to verify this bundle ({case_id})\n\n\
本 ZIP 包含案件 {case_id} 的全部证据文件、封存记录、包含证明和签名树头。以下每一步都可以在\n\
没有 mapsweep 数据目录的电脑上完成。先解压：`unzip {case_id}.zip -d bundle && cd bundle`。\n\n\
This ZIP holds every evidence file of case {case_id}, the sealed records, their inclusion\n\
proofs and the signed tree head. Each step below works on a machine without any mapsweep data\n\
dir. Unpack first: `unzip {case_id}.zip -d bundle && cd bundle`.\n\n\
## 1. 文件完整性 / File integrity (coreutils)\n\n\
```sh\nsha256sum -c SHA256SUMS\n```\n\n\
每个文件都应显示 `OK`。manifest.json 另列出每个文件的大小及 SHA-256、SM3、BLAKE3 值\n\
（SM3 可用 `gmssl sm3` 或 `openssl dgst -sm3` 计算，BLAKE3 可用 `b3sum`）。\n\n\
*English:* every line must say `OK`. `manifest.json` also lists each file's size, SHA-256,\n\
SM3 (`openssl dgst -sm3 FILE` or `gmssl sm3`) and BLAKE3 (`b3sum FILE`).\n\n\
## 2. 树头签名 / Tree-head signature (OpenSSL 3)\n\n\
`tree-head.signed.json` 是被签名的原始字节，`tree-head.sig` 是 Ed25519 签名，`public-key.pem` 是公钥。\n\n\
```sh\nopenssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in tree-head.signed.json -sigfile tree-head.sig\n```\n\n\
应输出 `Signature Verified Successfully`。公钥指纹（原始公钥 32 字节的 SHA-256）应为：\n\
`{fingerprint}`，请与执法机构公布的指纹核对：\n\n\
```sh\nopenssl pkey -pubin -in public-key.pem -outform DER | tail -c 32 | sha256sum\n```\n\n\
*English:* the command must print `Signature Verified Successfully`. Compare the key\n\
fingerprint (SHA-256 of the 32 raw key bytes, command above) with the one the bureau publishes:\n\
a bundle signed by another key proves nothing about this log.\n\n\
## 3. 可信时间戳 / Trusted timestamp (OpenSSL)\n\n{tsa}\n\
## 4. 记录与包含证明 / Records and inclusion proofs\n\n\
`records/` 中每个文件是封存时的规范 JSON 原文（capture 采集记录、review 审核记录、case-event 案件记录）。\n\
其 SHA-256 即记录哈希；`proofs/<seq>.json` 给出 RFC 9162 Merkle 包含证明：叶哈希为\n\
SHA-256(0x00 || 记录字节)，节点哈希为 SHA-256(0x01 || 左 || 右)，逐级计算应得到\n\
tree-head.json 中的 root_hash。采集记录中列出的每个文件（artifacts）都在 `artifacts/` 中，\n\
文件名即其 BLAKE3 值，记录中同时给出其 SHA-256。\n\n\
*English:* each file in `records/` is a record's canonical JSON exactly as sealed; its SHA-256\n\
is the record hash. `proofs/<seq>.json` is its RFC 9162 inclusion proof: leaf hash\n\
SHA-256(0x00 || record bytes), node hash SHA-256(0x01 || left || right); folding the audit path\n\
must give `root_hash` of `tree-head.json`. Every artifact a capture record lists is in\n\
`artifacts/`, named by its BLAKE3, with its SHA-256 in the record: `b3sum artifacts/*`.\n\n\
## 5. 用 mapsweep 一次校验全部 / Everything at once with mapsweep\n\n\
```sh\nmapsweep verify {case_id}.zip\n```\n\n\
不需要数据目录：校验全部摘要、每条记录的包含证明、树头签名和时间戳令牌，并逐项列出失败原因。\n\n\
*English:* needs no data dir; checks every digest, each record's inclusion proof, the\n\
tree-head signature and the time-stamp token, and names each failure.\n\n\
## 6. 报告 / Report\n\n\
`report.pdf`（由 `report.html` 经 Chromium 打印）为中文报告：封面 1 页，每项证据 1 页，\n\
其后为电子数据提取笔录（含各文件哈希值及提取人、见证人签名栏）。\n\n\
*English:* `report.pdf` (printed from `report.html` by Chromium): one cover page, one page per\n\
finding, then the extraction record with every item's hashes and the signature lines.\n"
    )
}
