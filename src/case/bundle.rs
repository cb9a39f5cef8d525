//! The case bundle format (`mapsweep.case-bundle/1`) and its offline verifier.
//!
//! A bundle is one ZIP file laid out as:
//!
//! ```text
//! manifest.json              this format: case, tree head summary, records, artifacts, and every
//!                            other file with size, SHA-256, SM3 and BLAKE3
//! SHA256SUMS                 `sha256sum -c` list of every file but itself (manifest.json included)
//! VERIFY.md                  how to check it (Chinese and English)
//! report.html, report.pdf    the case report (the PDF is printed from the HTML)
//! public-key.pem             Ed25519 key that signed the tree head (SubjectPublicKeyInfo PEM)
//! tree-head.json             the signed tree head (`mapsweep.tree-head/1` + signature + token)
//! tree-head.signed.json      the exact bytes that were signed and time-stamped
//! tree-head.sig              the raw 64-byte Ed25519 signature over tree-head.signed.json
//! tree-head.tsr              the RFC 3161 time-stamp token (DER), when the log has a TSA
//! records/<seq>-<kind>.json  each record (capture, review, case event) exactly as sealed
//! proofs/<seq>.json          its RFC 9162 inclusion proof against the tree head
//! artifacts/<blake3>.<ext>   every artifact of every capture the findings rest on
//! ```
//!
//! [`verify_bundle`] needs nothing but the ZIP: it checks every digest in the manifest and in
//! SHA256SUMS, that no file is missing or unlisted, each record's canonical form, hashes and
//! inclusion proof against the tree head, the tree head's Ed25519 signature with the bundled key,
//! the time-stamp token (see [`crate::evidence::tsa`] for what that check covers), and that every
//! artifact a capture record lists is in the bundle with the sealed BLAKE3 and SHA-256. Every
//! failure names the file and, where it applies, the expected and found values.
//!
//! What it cannot check alone: that the public key is the officer's (compare the fingerprint it
//! prints with the one the bureau publishes), and that the TSA certificate chains to a trusted
//! root (`openssl ts -verify`, see VERIFY.md).

use crate::evidence::merkle;
use crate::evidence::record::{CAPTURE_FORMAT, CaptureManifest, TREE_HEAD_FORMAT};
use crate::evidence::{SignedTreeHead, canonical, tsa};
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Format string of the bundle manifest.
pub const BUNDLE_FORMAT: &str = "mapsweep.case-bundle/1";
/// Format string of an inclusion proof file.
pub const PROOF_FORMAT: &str = "mapsweep.inclusion-proof/1";

pub const MANIFEST: &str = "manifest.json";
pub const SUMS: &str = "SHA256SUMS";
pub const PUBLIC_KEY: &str = "public-key.pem";
pub const TREE_HEAD: &str = "tree-head.json";
pub const TREE_HEAD_SIGNED: &str = "tree-head.signed.json";
pub const TREE_HEAD_SIG: &str = "tree-head.sig";
pub const TREE_HEAD_TSR: &str = "tree-head.tsr";

/// Errors that stop verification before it starts (the ZIP cannot be read at all).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot open bundle {path}: {cause}")]
    Open {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is not a readable ZIP file: {message}")]
    NotZip { path: PathBuf, message: String },
}

/// SHA-256, SM3 and BLAKE3 of some bytes, hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    pub size: u64,
    pub sha256: String,
    pub sm3: String,
    pub blake3: String,
}

impl Digests {
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
            sm3: hex::encode(sm3::Sm3::digest(bytes)),
            blake3: blake3::hash(bytes).to_hex().to_string(),
        }
    }
}

/// One file of the bundle, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub sm3: String,
    pub blake3: String,
}

/// One sealed record in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordEntry {
    pub seq: u64,
    pub id: String,
    pub format: String,
    pub path: String,
    pub proof: String,
    /// SHA-256 of the record bytes (the hash chain value).
    pub record_hash: String,
    /// RFC 9162 leaf hash of the record bytes.
    pub leaf_hash: String,
}

/// One artifact in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactEntry {
    pub path: String,
    pub blake3: String,
    pub sha256: String,
    pub media_type: String,
    /// Roles it has in the captures that list it (e.g. `screenshot`, `overlay`).
    pub roles: Vec<String>,
}

/// `manifest.json` (`mapsweep.case-bundle/1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub format: String,
    pub case_id: String,
    pub title: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub tool_version: String,
    /// `SHA256:<hex>` of the signing key.
    pub key_fingerprint: String,
    pub tree_size: u64,
    pub root_hash: String,
    pub finding_ids: Vec<String>,
    pub records: Vec<RecordEntry>,
    pub artifacts: Vec<ArtifactEntry>,
    /// Every file but manifest.json and SHA256SUMS, sorted by path.
    pub files: Vec<FileEntry>,
}

/// An inclusion proof file (`proofs/<seq>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofFile {
    pub format: String,
    pub seq: u64,
    pub record_id: String,
    pub record_path: String,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub root_hash: String,
    /// Audit path, hex, leaf to root (RFC 9162 §2.1.3).
    pub path: Vec<String>,
}

/// One thing in a bundle that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleProblem {
    /// Short kebab-case kind, e.g. `digest-mismatch`, `file-missing`, `signature-invalid`.
    pub kind: String,
    /// The file concerned (path inside the ZIP).
    pub file: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

impl std::fmt::Display for BundleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}: {}", self.kind, self.file, self.message)?;
        match (&self.expected, &self.found) {
            (Some(e), Some(x)) => write!(f, " (expected {e}, found {x})"),
            (Some(e), None) => write!(f, " (expected {e})"),
            (None, Some(x)) => write!(f, " (found {x})"),
            (None, None) => Ok(()),
        }
    }
}

/// The outcome of [`verify_bundle`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct BundleReport {
    pub bundle: String,
    pub case_id: Option<String>,
    pub files: u64,
    pub records: u64,
    pub artifacts: u64,
    pub tree_size: Option<u64>,
    pub root_hash: Option<String>,
    /// Fingerprint of the bundled public key: compare it with the one the bureau publishes.
    pub key_fingerprint: Option<String>,
    /// The TSA's time, when the bundle has a token that verified.
    pub tsa_time: Option<String>,
    pub elapsed_ms: u64,
    pub problems: Vec<BundleProblem>,
}

impl BundleReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
    fn problem(
        &mut self,
        kind: &str,
        file: &str,
        message: impl Into<String>,
        expected: Option<String>,
        found: Option<String>,
    ) {
        self.problems.push(BundleProblem {
            kind: kind.into(),
            file: file.into(),
            message: message.into(),
            expected,
            found,
        });
    }
}

/// The text of SHA256SUMS for these files (sorted by path, two spaces, LF), as `sha256sum`
/// writes it.
pub fn sha256sums_text(files: &BTreeMap<String, String>) -> String {
    let mut s = String::new();
    for (path, sha) in files {
        s.push_str(sha);
        s.push_str("  ");
        s.push_str(path);
        s.push('\n');
    }
    s
}

/// Reads every entry of a ZIP into memory; unsafe or duplicate names become problems.
fn read_zip(path: &Path, rep: &mut BundleReport) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let file = std::fs::File::open(path).map_err(|source| BundleError::Open {
        path: path.to_path_buf(),
        cause: source,
    })?;
    let not_zip = |e: zip::result::ZipError| BundleError::NotZip {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(not_zip)?;
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(not_zip)?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        if entry.is_dir() {
            continue;
        }
        if entry.enclosed_name().is_none() || name.starts_with('/') || name.contains('\\') {
            rep.problem(
                "unsafe-path",
                &name,
                "entry name leaves the bundle directory",
                None,
                None,
            );
            continue;
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        if let Err(e) = entry.read_to_end(&mut bytes) {
            rep.problem(
                "entry-unreadable",
                &name,
                format!("cannot decompress: {e}"),
                None,
                None,
            );
            continue;
        }
        if out.insert(name.clone(), bytes).is_some() {
            rep.problem(
                "duplicate-entry",
                &name,
                "the ZIP holds this name twice",
                None,
                None,
            );
        }
    }
    Ok(out)
}

fn hash32(hex_str: &str) -> Option<merkle::Hash> {
    hex::decode(hex_str).ok()?.try_into().ok()
}

/// Verifies a case bundle with nothing but the ZIP. `Err` only when the file cannot be read as
/// a ZIP; everything found wrong is a [`BundleProblem`] in the report.
pub fn verify_bundle(path: &Path) -> Result<BundleReport, BundleError> {
    let start = Instant::now();
    let mut rep = BundleReport {
        bundle: path.display().to_string(),
        ..Default::default()
    };
    let files = read_zip(path, &mut rep)?;
    rep.files = files.len() as u64;

    // Manifest.
    let manifest: Option<BundleManifest> = match files.get(MANIFEST) {
        None => {
            rep.problem(
                "file-missing",
                MANIFEST,
                "the bundle has no manifest",
                None,
                None,
            );
            None
        }
        Some(b) => match serde_json::from_slice::<BundleManifest>(b) {
            Ok(m) if m.format == BUNDLE_FORMAT => Some(m),
            Ok(m) => {
                rep.problem(
                    "manifest-format",
                    MANIFEST,
                    "unknown bundle format (a newer mapsweep may read it)",
                    Some(BUNDLE_FORMAT.into()),
                    Some(m.format),
                );
                None
            }
            Err(e) => {
                rep.problem(
                    "manifest-invalid",
                    MANIFEST,
                    format!("does not parse: {e}"),
                    None,
                    None,
                );
                None
            }
        },
    };

    // Every file against the manifest, in both directions.
    if let Some(m) = &manifest {
        rep.case_id = Some(m.case_id.clone());
        let mut listed = BTreeSet::new();
        for fe in &m.files {
            listed.insert(fe.path.as_str());
            let Some(bytes) = files.get(&fe.path) else {
                rep.problem(
                    "file-missing",
                    &fe.path,
                    "listed in manifest.json but not in the bundle",
                    None,
                    None,
                );
                continue;
            };
            let d = Digests::of(bytes);
            for (what, exp, got) in [
                ("size", fe.size.to_string(), d.size.to_string()),
                ("SHA-256", fe.sha256.clone(), d.sha256.clone()),
                ("SM3", fe.sm3.clone(), d.sm3.clone()),
                ("BLAKE3", fe.blake3.clone(), d.blake3.clone()),
            ] {
                if exp != got {
                    rep.problem(
                        "digest-mismatch",
                        &fe.path,
                        format!("{what} differs from manifest.json (file changed?)"),
                        Some(exp),
                        Some(got),
                    );
                }
            }
        }
        for name in files.keys() {
            if name != MANIFEST && name != SUMS && !listed.contains(name.as_str()) {
                rep.problem(
                    "file-unlisted",
                    name,
                    "in the bundle but not listed in manifest.json (added?)",
                    None,
                    None,
                );
            }
        }
    }

    // SHA256SUMS.
    match files.get(SUMS) {
        None => rep.problem(
            "file-missing",
            SUMS,
            "the bundle has no SHA256SUMS",
            None,
            None,
        ),
        Some(b) => {
            let text = String::from_utf8_lossy(b);
            let mut seen = BTreeSet::new();
            let mut line_problems = false;
            for (i, line) in text.lines().enumerate() {
                let Some((sha, name)) = line.split_once("  ") else {
                    rep.problem(
                        "sums-malformed",
                        SUMS,
                        format!("line {} is not `<sha256>  <path>`", i + 1),
                        None,
                        Some(line.to_string()),
                    );
                    line_problems = true;
                    continue;
                };
                seen.insert(name.to_string());
                match files.get(name) {
                    None => {
                        rep.problem(
                            "file-missing",
                            name,
                            format!("listed in {SUMS} line {} but not in the bundle", i + 1),
                            None,
                            None,
                        );
                        line_problems = true;
                    }
                    Some(bytes) => {
                        let got = hex::encode(Sha256::digest(bytes));
                        if got != sha {
                            rep.problem(
                                "digest-mismatch",
                                name,
                                format!("SHA-256 differs from {SUMS} line {}", i + 1),
                                Some(sha.to_string()),
                                Some(got),
                            );
                            line_problems = true;
                        }
                    }
                }
            }
            for name in files.keys() {
                if name != SUMS && !seen.contains(name) {
                    rep.problem(
                        "sums-missing-entry",
                        SUMS,
                        format!("{name} is in the bundle but not in {SUMS}"),
                        None,
                        None,
                    );
                    line_problems = true;
                }
            }
            if !line_problems {
                let expected: BTreeMap<String, String> = files
                    .iter()
                    .filter(|(n, _)| n.as_str() != SUMS)
                    .map(|(n, b)| (n.clone(), hex::encode(Sha256::digest(b))))
                    .collect();
                let want = sha256sums_text(&expected);
                if want.as_bytes() != b.as_slice() {
                    rep.problem(
                        "sums-not-canonical",
                        SUMS,
                        "the file differs from what mapsweep writes for these files (edited?)",
                        Some(Digests::of(want.as_bytes()).sha256),
                        Some(Digests::of(b).sha256),
                    );
                }
            }
        }
    }

    // Public key and tree head.
    let key: Option<VerifyingKey> = match files.get(PUBLIC_KEY) {
        None => {
            rep.problem(
                "file-missing",
                PUBLIC_KEY,
                "the bundle has no public key",
                None,
                None,
            );
            None
        }
        Some(b) => match std::str::from_utf8(b)
            .ok()
            .and_then(|t| VerifyingKey::from_public_key_pem(t).ok())
        {
            Some(k) => {
                rep.key_fingerprint = Some(crate::evidence::keys::fingerprint(&k));
                Some(k)
            }
            None => {
                rep.problem(
                    "key-invalid",
                    PUBLIC_KEY,
                    "not an Ed25519 public key in PEM form",
                    None,
                    None,
                );
                None
            }
        },
    };
    let sth: Option<SignedTreeHead> = match files.get(TREE_HEAD) {
        None => {
            rep.problem(
                "file-missing",
                TREE_HEAD,
                "the bundle has no signed tree head",
                None,
                None,
            );
            None
        }
        Some(b) => match serde_json::from_slice::<SignedTreeHead>(b) {
            Ok(s) => Some(s),
            Err(e) => {
                rep.problem(
                    "tree-head-invalid",
                    TREE_HEAD,
                    format!("does not parse: {e}"),
                    None,
                    None,
                );
                None
            }
        },
    };
    let mut root: Option<merkle::Hash> = None;
    if let Some(sth) = &sth {
        let th = &sth.tree_head;
        rep.tree_size = Some(th.tree_size);
        rep.root_hash = Some(th.root_hash.clone());
        if th.format != TREE_HEAD_FORMAT {
            rep.problem(
                "tree-head-format",
                TREE_HEAD,
                "unknown tree head format",
                Some(TREE_HEAD_FORMAT.into()),
                Some(th.format.clone()),
            );
        }
        root = th.root();
        if root.is_none() {
            rep.problem(
                "tree-head-invalid",
                TREE_HEAD,
                "root_hash is not 32 hex bytes",
                None,
                Some(th.root_hash.clone()),
            );
        }
        if let Some(k) = &key
            && let Err(e) = crate::evidence::verify_tree_head_signature(sth, k)
        {
            rep.problem(
                "signature-invalid",
                PUBLIC_KEY,
                format!("the tree head in {TREE_HEAD} does not verify with this key: {e}"),
                Some(th.key_id.clone()),
                rep.key_fingerprint.clone(),
            );
        }
        let signed = th.signed_bytes();
        match files.get(TREE_HEAD_SIGNED) {
            Some(b) if *b == signed => {}
            Some(_) => rep.problem(
                "tree-head-mismatch",
                TREE_HEAD_SIGNED,
                format!("differs from the canonical bytes of the tree head in {TREE_HEAD}"),
                None,
                None,
            ),
            None => rep.problem(
                "file-missing",
                TREE_HEAD_SIGNED,
                "the bundle has no signed tree-head bytes",
                None,
                None,
            ),
        }
        match files.get(TREE_HEAD_SIG) {
            Some(b) if hex::encode(b) == sth.signature => {}
            Some(b) => rep.problem(
                "tree-head-mismatch",
                TREE_HEAD_SIG,
                format!("differs from the signature in {TREE_HEAD}"),
                Some(sth.signature.clone()),
                Some(hex::encode(b)),
            ),
            None => rep.problem(
                "file-missing",
                TREE_HEAD_SIG,
                "the bundle has no raw signature file",
                None,
                None,
            ),
        }
        // Time-stamp token.
        let json_token = sth.tsa_token.as_deref().map(hex::decode);
        match (json_token, files.get(TREE_HEAD_TSR)) {
            (None, None) => {}
            (None, Some(_)) => rep.problem(
                "tsa-unexpected",
                TREE_HEAD_TSR,
                format!("a token file is present but {TREE_HEAD} has no token"),
                None,
                None,
            ),
            (Some(_), None) => rep.problem(
                "file-missing",
                TREE_HEAD_TSR,
                format!("{TREE_HEAD} has a time-stamp token but the .tsr file is missing"),
                None,
                None,
            ),
            (Some(Err(_)), Some(_)) => {
                rep.problem("tsa-invalid", TREE_HEAD, "tsa_token is not hex", None, None)
            }
            (Some(Ok(tok)), Some(file)) => {
                if tok != *file {
                    rep.problem(
                        "tsa-mismatch",
                        TREE_HEAD_TSR,
                        format!("differs from the token in {TREE_HEAD}"),
                        None,
                        None,
                    );
                }
                match tsa::verify_tsa_token(file, &th.imprint()) {
                    Ok(info) => rep.tsa_time = Some(info.gen_time),
                    Err(e) => rep.problem(
                        "tsa-invalid",
                        TREE_HEAD_TSR,
                        format!("time-stamp token does not verify: {e}"),
                        None,
                        None,
                    ),
                }
            }
        }
        if let Some(m) = &manifest {
            if m.tree_size != th.tree_size || m.root_hash != th.root_hash {
                rep.problem(
                    "tree-head-mismatch",
                    MANIFEST,
                    format!("tree size/root differ from {TREE_HEAD}"),
                    Some(format!("{} {}", th.tree_size, th.root_hash)),
                    Some(format!("{} {}", m.tree_size, m.root_hash)),
                );
            }
            if let Some(fp) = &rep.key_fingerprint
                && *fp != m.key_fingerprint
            {
                rep.problem(
                    "key-mismatch",
                    PUBLIC_KEY,
                    "the bundled key is not the one manifest.json names",
                    Some(m.key_fingerprint.clone()),
                    Some(fp.clone()),
                );
            }
        }
    }

    // Records and their inclusion proofs.
    let mut artifacts_by_blake3: BTreeMap<&str, &ArtifactEntry> = BTreeMap::new();
    if let Some(m) = &manifest {
        for a in &m.artifacts {
            artifacts_by_blake3.insert(a.blake3.as_str(), a);
        }
        if m.records.is_empty() {
            rep.problem(
                "no-records",
                MANIFEST,
                "the bundle lists no sealed records",
                None,
                None,
            );
        }
        for r in &m.records {
            rep.records += 1;
            let Some(bytes) = files.get(&r.path) else {
                if !m.files.iter().any(|f| f.path == r.path) {
                    rep.problem(
                        "file-missing",
                        &r.path,
                        "record listed in manifest.json is not in the bundle",
                        None,
                        None,
                    );
                }
                continue;
            };
            let record_hash = hex::encode(Sha256::digest(bytes));
            let leaf = merkle::leaf_hash(bytes);
            if record_hash != r.record_hash {
                rep.problem(
                    "record-hash-mismatch",
                    &r.path,
                    "record bytes do not hash to the sealed record hash",
                    Some(r.record_hash.clone()),
                    Some(record_hash),
                );
            }
            if hex::encode(leaf) != r.leaf_hash {
                rep.problem(
                    "leaf-hash-mismatch",
                    &r.path,
                    "record bytes do not hash to the sealed leaf hash",
                    Some(r.leaf_hash.clone()),
                    Some(hex::encode(leaf)),
                );
            }
            if !canonical::is_canonical(bytes) {
                rep.problem(
                    "record-not-canonical",
                    &r.path,
                    "the record is not in canonical JSON form (edited?)",
                    None,
                    None,
                );
            }
            let body: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
            let seq_ok = body.get("seq").and_then(|v| v.as_u64()) == Some(r.seq);
            let id_ok = body.get("id").and_then(|v| v.as_str()) == Some(r.id.as_str());
            let fmt_ok = body.get("format").and_then(|v| v.as_str()) == Some(r.format.as_str());
            if !(seq_ok && id_ok && fmt_ok) {
                rep.problem(
                    "record-mismatch",
                    &r.path,
                    "seq, id or format in the record differ from manifest.json",
                    Some(format!("seq {} id {} {}", r.seq, r.id, r.format)),
                    None,
                );
            }
            // Inclusion proof.
            match files
                .get(&r.proof)
                .map(|b| serde_json::from_slice::<ProofFile>(b))
            {
                None => {
                    if !m.files.iter().any(|f| f.path == r.proof) {
                        rep.problem(
                            "file-missing",
                            &r.proof,
                            "inclusion proof listed in manifest.json is not in the bundle",
                            None,
                            None,
                        );
                    }
                }
                Some(Err(e)) => rep.problem(
                    "proof-invalid",
                    &r.proof,
                    format!("does not parse: {e}"),
                    None,
                    None,
                ),
                Some(Ok(p)) => {
                    if let (Some(root), Some(sth)) = (root, &sth) {
                        let path: Option<Vec<merkle::Hash>> =
                            p.path.iter().map(|h| hash32(h)).collect();
                        let ok = p.format == PROOF_FORMAT
                            && p.seq == r.seq
                            && p.tree_size == sth.tree_head.tree_size
                            && path.is_some_and(|path| {
                                merkle::verify_inclusion(
                                    &leaf,
                                    r.seq,
                                    sth.tree_head.tree_size,
                                    &path,
                                    &root,
                                )
                            });
                        if !ok {
                            rep.problem(
                                "inclusion-proof-failed",
                                &r.proof,
                                format!("{} (seq {}) is not proven to be in the log of size {} with root {}", r.path, r.seq, sth.tree_head.tree_size, sth.tree_head.root_hash),
                                None,
                                None,
                            );
                        }
                    }
                }
            }
            // A capture's artifacts must all be in the bundle, as sealed.
            if r.format == CAPTURE_FORMAT
                && let Ok(cap) = serde_json::from_slice::<CaptureManifest>(bytes)
            {
                for a in &cap.artifacts {
                    let Some(entry) = artifacts_by_blake3.get(a.blake3.as_str()) else {
                        rep.problem(
                            "artifact-missing",
                            &r.path,
                            format!(
                                "artifact {} ({}) of this capture is not in the bundle",
                                a.blake3, a.role
                            ),
                            None,
                            None,
                        );
                        continue;
                    };
                    let Some(bytes) = files.get(&entry.path) else {
                        continue; // already reported as a missing file
                    };
                    rep.artifacts += 1;
                    let got_b3 = blake3::hash(bytes).to_hex().to_string();
                    let got_sha = hex::encode(Sha256::digest(bytes));
                    if got_b3 != a.blake3 || got_sha != a.sha256 {
                        rep.problem(
                            "artifact-mismatch",
                            &entry.path,
                            format!("content differs from what capture {} sealed", cap.id),
                            Some(a.blake3.clone()),
                            Some(got_b3),
                        );
                    }
                }
            }
        }
    }
    rep.elapsed_ms = start.elapsed().as_millis() as u64;
    Ok(rep)
}
