//! The evidence layer: every capture is sealed here, and nothing else writes to `blobs/` or the
//! log tables.
//!
//! Model (see `evidence/README.md` for the data-dir layout):
//! - artifacts are content-addressed blobs ([`blob`]): BLAKE3 names them, SHA-256 is recorded;
//! - a capture becomes a **record**: a versioned manifest ([`record::CaptureManifest`],
//!   `"format": "mapsweep.capture/1"`) serialised canonically ([`canonical`]);
//! - records form an append-only **log**: each holds its sequence number and the SHA-256 of
//!   the previous record (a hash chain), and the log is an RFC 9162 Merkle tree ([`merkle`])
//!   whose leaves are the canonical record bytes;
//! - a **checkpoint** is a signed tree head ([`sth`], Ed25519 key from [`keys`]) with an
//!   RFC 3161 token ([`tsa`]) when a TSA is configured;
//! - [`verify`] re-checks all of it and lists every problem.
//!
//! Rules: sealing is atomic (one database transaction after the blobs are durably on disk; a
//! process killed mid-seal leaves no record, only unreferenced blobs); writers are serialised by
//! an in-process mutex plus an exclusive lock on `<data-dir>/write.lock` (other processes wait up
//! to [`StoreOptions::lock_timeout`], then get [`EvidenceError::Locked`]); with PostgreSQL the
//! `seq` primary key makes a racing writer fail instead of forking the chain.
//!
//! Durability (why a crash leaves no half-written evidence, and a sealed record's blobs are on
//! disk), in the order the steps happen:
//! 1. `add_artifact` writes a new blob straight under its final name in `blobs/` ([`blob`]);
//!    nothing is synced yet, neither the data nor the name. If a file of that name already
//!    exists it is not trusted blindly (**dedupe rule**): it is re-checked (size and a BLAKE3
//!    re-hash) and replaced via temp file + rename when it does not hold the content its name
//!    promises; only a blob this process itself wrote or checked earlier is taken without a
//!    re-read (a crash, the one way to leave a name partial, also forgets that).
//! 2. `seal` queues the record. The next writer to take the lock takes *every* queued record
//!    (group commit), and makes all their blobs durable, data and names, with one barrier
//!    started before it touches the database ([`blob::BlobStore::sync`]: `syncfs(2)` of the
//!    blob store's filesystem on Linux, which writes back dirty file data as well as directory
//!    entries and reports writeback errors since Linux 5.8; an fsync of each blob file and
//!    fan-out directory elsewhere). A blob that this record merely reuses (written by another
//!    capture, maybe not yet synced) is covered too, since the barrier is over the filesystem,
//!    not over who wrote the blobs.
//! 3. While the barrier runs on a blocking thread, the records are inserted, in queue order
//!    (seq, `prev_record_hash` and the Merkle leaves exactly as if sealed one by one), in
//!    **one** transaction; the transaction commits only after the barrier has returned `Ok`
//!    (if it fails, every seal of the group fails and nothing commits), committed with
//!    SQLite `synchronous=FULL` (the WAL is fsynced before the commit returns) or PostgreSQL's
//!    default `fsync`/`synchronous_commit=on`. A record is therefore never durable before its
//!    blobs, and `seal` returns only after its record is durable.
//!
//! What a crash (power loss, kernel panic; a SIGKILL loses nothing the kernel already has)
//! leaves behind, by when it happens:
//! - before the group's `syncfs`: blob names may exist with partial or no data (the rename
//!   reached the disk, the data did not). No record references them (none of the group
//!   committed); `verify` lists such a file as `blob-hash-mismatch`, and the next write of the
//!   same content repairs it by the dedupe rule of step 1 (it never becomes part of a record
//!   as it is, because a seal that reuses the name re-checks it first);
//! - after the `syncfs`, before the commit: complete blobs that no record references, which is
//!   harmless (`verify` notes them as unreferenced; a later seal of the same content reuses
//!   them after the check);
//! - after the commit: the records and all their blobs are durable.
//!
//! If that transaction fails, each record of the group is retried alone, so one bad record
//! fails only its own seal. Cost: two barriers per *group* (one `syncfs`, one WAL commit)
//! instead of three per blob and record, plus a BLAKE3 re-read of an existing blob on each
//! dedupe hit; `benches/seal.rs` has the figures.

pub mod blob;
pub mod canonical;
pub mod der;
pub mod fetch;
pub mod keys;
pub mod merkle;
pub mod record;
pub mod sth;
pub mod tsa;
pub mod verify;

pub use blob::BlobInfo;
pub use record::{
    ArtifactRef, ArtifactRole, CAPTURE_FORMAT, CaptureId, CaptureManifest, CaptureMeta,
    CaptureMethod, Environment, Header, RecordBody, RedirectHop, SealedRecord,
};
pub use sth::{SignedTreeHead, TreeHead, verify_tree_head_signature};
pub use tsa::verify_tsa_token;
pub use verify::{Problem, VerifyReport, verify_data_dir};

use crate::store::{self, Db, StoreError};
use blob::{BlobError, BlobStore};
use ed25519_dalek::{SigningKey, VerifyingKey};
use keys::KeyError;
use record::{GENESIS_HASH, KNOWN_RECORD_FORMATS, TREE_HEAD_FORMAT, rfc3339_ms};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Test hook: when this environment variable names a file, `seal` creates that file inside
/// its database transaction (before commit) and then waits forever, so a test can SIGKILL the
/// process in the middle of sealing. Never set it in production.
pub const TEST_PAUSE_IN_SEAL_ENV: &str = "MAPSWEEP_TEST_PAUSE_IN_SEAL";

/// Errors of the evidence layer; each names the path, record or URL concerned.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("data dir {path} is not usable: {cause}")]
    DataDir {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("data dir {path} is not initialised (no key at keys/signing.key); run `mapsweep init`")]
    NotInitialized { path: PathBuf },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("database {db}: {what}: {cause}")]
    Db {
        db: String,
        what: String,
        cause: sqlx::Error,
    },
    #[error("another process holds the write lock {path} (waited {waited_ms} ms); try again later")]
    Locked { path: PathBuf, waited_ms: u64 },
    #[error("cannot take the write lock {path}: {cause}")]
    Lock {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("record seq {seq} has format {format:?}, which this mapsweep ({tool}) cannot read; upgrade mapsweep", tool = crate::TOOL_VERSION)]
    UnknownFormat { seq: u64, format: String },
    #[error("record seq {seq} is corrupt: {message}")]
    CorruptRecord { seq: u64, message: String },
    #[error("cannot seal a record of unknown format {format:?}")]
    UnknownSealFormat { format: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("artifact blob {blake3} is missing at {path} at seal time")]
    MissingBlob { blake3: String, path: PathBuf },
    #[error(transparent)]
    Canonical(#[from] canonical::CanonicalError),
    #[error(
        "tree head {stem} was signed and stored, but without a time-stamp token from {url}: {cause}"
    )]
    Tsa {
        stem: String,
        url: String,
        cause: tsa::TsaError,
    },
    #[error(transparent)]
    Proof(#[from] merkle::ProofError),
    #[error("a storage task failed: {0}")]
    Join(String),
    /// A failure of the group commit this seal was queued in (lock or durability barrier),
    /// reported to every seal of the group; the message is that failure's.
    #[error("{message}")]
    Group { message: String },
    /// An [`IndexHook`] failed; the record was not appended (its transaction rolled back).
    #[error("record {id}: writing its index rows failed, so it was not sealed: {cause}")]
    Index { id: uuid::Uuid, cause: IndexError },
}

impl EvidenceError {
    /// The same failure, for another seal of a failed group (most errors are not `Clone`).
    fn for_group_member(&self) -> EvidenceError {
        match self {
            EvidenceError::Locked { path, waited_ms } => EvidenceError::Locked {
                path: path.clone(),
                waited_ms: *waited_ms,
            },
            EvidenceError::Lock { path, cause } => EvidenceError::Lock {
                path: path.clone(),
                cause: std::io::Error::new(cause.kind(), cause.to_string()),
            },
            EvidenceError::Blob(BlobError::Write { path, cause }) => {
                EvidenceError::Blob(BlobError::Write {
                    path: path.clone(),
                    cause: std::io::Error::new(cause.kind(), cause.to_string()),
                })
            }
            other => EvidenceError::Group {
                message: other.to_string(),
            },
        }
    }
}

/// Options for [`EvidenceStore::open`] (from the config and the command line).
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Operator name recorded in every capture's environment.
    pub operator: Option<String>,
    /// RFC 3161 TSA URL; checkpoints get a token when set.
    pub tsa_url: Option<String>,
    /// Default campaign for captures.
    pub campaign: Option<String>,
    /// How long a writer waits for another process's write lock.
    pub lock_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            operator: None,
            tsa_url: None,
            campaign: None,
            lock_timeout: Duration::from_secs(60),
        }
    }
}

/// What `init` did.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub data_dir: PathBuf,
    /// Database URL (password redacted).
    pub database: String,
    /// False when a key already existed (it was kept, not replaced).
    pub key_created: bool,
    pub fingerprint: String,
    pub private_key_path: PathBuf,
    pub public_key_path: PathBuf,
}

/// An inclusion proof of one record in a tree of `tree_size` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InclusionProof {
    pub seq: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub root_hash: String,
    pub path: Vec<String>,
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    pub old_root: String,
    pub new_root: String,
    pub path: Vec<String>,
}

struct Inner {
    data_dir: PathBuf,
    db: Db,
    db_name: String,
    key: SigningKey,
    public: VerifyingKey,
    opts: StoreOptions,
    blobs: BlobStore,
    write_mutex: tokio::sync::Mutex<()>,
    /// Seals waiting for the next group commit, in call order.
    queue: std::sync::Mutex<Vec<SealRequest>>,
    /// The log's Merkle frontier as of the last checkpoint of this process, so the next one
    /// hashes only the records sealed since (a daemon checkpoints after every run).
    frontier: tokio::sync::Mutex<merkle::Frontier>,
    http: reqwest::Client,
}

/// One record waiting in the group-commit queue.
struct SealRequest {
    format: String,
    id: uuid::Uuid,
    fields: Map<String, Value>,
    artifacts: Vec<ArtifactRef>,
    hook: Option<IndexHook>,
    done: tokio::sync::oneshot::Sender<Result<SealedRecord, EvidenceError>>,
}

/// Artifact rows per `INSERT` statement (8 parameters each; SQLite and PostgreSQL both take
/// far more than 8 x 200).
const ARTIFACT_ROWS_PER_INSERT: usize = 200;

/// The error an [`IndexHook`] reports (its own module's typed error, boxed).
pub type IndexError = Box<dyn std::error::Error + Send + Sync>;
/// The future an [`IndexHook`] returns.
pub type IndexFuture<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), IndexError>> + Send + 'c>>;
/// Rows another module derives from a record (findings, say), written on the connection of the
/// transaction that appends the record, so they exist exactly when the record does and cost no
/// commit of their own. It runs with the log's write lock held, after the record's insert; it
/// may run more than once (a failed group is retried record by record), so it must not keep
/// state between calls. An error rolls the record back and fails its seal.
pub type IndexHook = Arc<
    dyn for<'c> Fn(&'c mut sqlx::AnyConnection, &'c SealedRecord) -> IndexFuture<'c> + Send + Sync,
>;

/// The evidence store of one data dir. Cheap to clone; share it between tasks.
#[derive(Clone)]
pub struct EvidenceStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EvidenceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceStore")
            .field("data_dir", &self.inner.data_dir)
            .field("db", &self.inner.db_name)
            .finish_non_exhaustive()
    }
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn ensure_dir(path: &Path) -> Result<(), EvidenceError> {
    std::fs::create_dir_all(path).map_err(|cause| EvidenceError::DataDir {
        path: path.to_path_buf(),
        cause,
    })
}

/// Checks that a directory accepts new files (a probe file is created and removed).
fn probe_writable(dir: &Path) -> Result<(), EvidenceError> {
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"probe")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|cause| EvidenceError::DataDir {
            path: dir.to_path_buf(),
            cause,
        })
}

/// Held while writing: the process-local mutex guard plus the exclusive file lock.
struct WriteGuard<'a> {
    _mutex: tokio::sync::MutexGuard<'a, ()>,
    _file: std::fs::File,
}

/// Why a group's transaction did not commit: its blobs' durability barrier failed (every
/// seal of the group fails with it), or the insert did (the records are retried alone).
enum GroupFailure {
    Barrier(EvidenceError),
    Insert(EvidenceError),
}

impl From<EvidenceError> for GroupFailure {
    fn from(e: EvidenceError) -> Self {
        GroupFailure::Insert(e)
    }
}

/// Waits for a group's blob barrier ([`BlobStore::sync`] on a blocking thread).
async fn wait_barrier(
    handle: tokio::task::JoinHandle<Result<(), BlobError>>,
) -> Result<(), EvidenceError> {
    handle
        .await
        .map_err(|e| EvidenceError::Join(e.to_string()))?
        .map_err(EvidenceError::from)
}

impl EvidenceStore {
    /// Creates the data dir, the database and the signing key. Idempotent: an existing key is
    /// kept (never overwritten) and reported with `key_created: false`.
    pub async fn init(data_dir: &Path, db_url: Option<&str>) -> Result<InitReport, EvidenceError> {
        ensure_dir(data_dir)?;
        for sub in ["blobs", "keys", "tmp", "checkpoints"] {
            ensure_dir(&data_dir.join(sub))?;
        }
        probe_writable(data_dir)?;
        let url = store::resolve_url(data_dir, db_url);
        let db = store::open(&url, true).await?;
        db.close().await;
        let priv_path = keys::private_key_path(data_dir);
        let (vk, created) = if priv_path.exists() {
            let key = keys::load_signing(data_dir)?;
            let vk = key.verifying_key();
            if !keys::public_key_path(data_dir).exists() {
                keys::write_public(data_dir, &vk)?;
            }
            (vk, false)
        } else {
            (keys::create(data_dir)?, true)
        };
        Ok(InitReport {
            data_dir: data_dir.to_path_buf(),
            database: store::redact(&url),
            key_created: created,
            fingerprint: keys::fingerprint(&vk),
            private_key_path: priv_path,
            public_key_path: keys::public_key_path(data_dir),
        })
    }

    /// Opens an initialised data dir (migrations run; leftover temp files are removed).
    pub async fn open(
        data_dir: &Path,
        db_url: Option<&str>,
        opts: StoreOptions,
    ) -> Result<Self, EvidenceError> {
        if !keys::private_key_path(data_dir).exists() {
            return Err(EvidenceError::NotInitialized {
                path: data_dir.to_path_buf(),
            });
        }
        let key = keys::load_signing(data_dir)?;
        let url = store::resolve_url(data_dir, db_url);
        let db = store::open(&url, false).await?;
        let blobs = BlobStore::new(data_dir);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(format!("mapsweep/{}", crate::TOOL_VERSION))
            .build()
            .map_err(|e| EvidenceError::Join(format!("HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                db,
                db_name: store::redact(&url),
                public: key.verifying_key(),
                key,
                opts,
                blobs,
                write_mutex: tokio::sync::Mutex::new(()),
                queue: std::sync::Mutex::new(Vec::new()),
                frontier: tokio::sync::Mutex::new(merkle::Frontier::new()),
                http,
            }),
        })
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The shared database pool (other modules add their own tables through migrations).
    pub fn pool(&self) -> &Db {
        &self.inner.db
    }

    /// The public key that signs tree heads.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.inner.public
    }

    /// `SHA256:<hex>` fingerprint of the signing key.
    pub fn fingerprint(&self) -> String {
        keys::fingerprint(&self.inner.public)
    }

    /// Where a blob lives on disk.
    pub fn blob_path(&self, blake3_hex: &str) -> PathBuf {
        self.inner.blobs.path(blake3_hex)
    }

    /// Reads a blob back.
    pub async fn read_blob(&self, blake3_hex: &str) -> Result<Vec<u8>, EvidenceError> {
        Ok(self.inner.blobs.read(blake3_hex).await?)
    }

    /// Starts a capture; add artifacts to the builder, then seal it.
    pub fn begin_capture(&self, meta: CaptureMeta) -> CaptureBuilder {
        CaptureBuilder {
            store: self.clone(),
            id: uuid::Uuid::now_v7(),
            meta,
            ended_at: None,
            artifacts: Vec::new(),
        }
    }

    fn db_err(&self, what: &str) -> impl Fn(sqlx::Error) -> EvidenceError + '_ {
        let what = what.to_string();
        move |cause| EvidenceError::Db {
            db: self.inner.db_name.clone(),
            what: what.clone(),
            cause,
        }
    }

    async fn lock(&self) -> Result<WriteGuard<'_>, EvidenceError> {
        let mutex = self.inner.write_mutex.lock().await;
        let file = self.file_lock().await?;
        Ok(WriteGuard {
            _mutex: mutex,
            _file: file,
        })
    }

    /// The exclusive lock on `<data-dir>/write.lock` (waits up to `lock_timeout`).
    async fn file_lock(&self) -> Result<std::fs::File, EvidenceError> {
        let path = self.inner.data_dir.join("write.lock");
        let timeout = self.inner.opts.lock_timeout;
        let p = path.clone();
        tokio::task::spawn_blocking(move || -> Result<std::fs::File, EvidenceError> {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&p)
                .map_err(|cause| EvidenceError::Lock {
                    path: p.clone(),
                    cause,
                })?;
            let start = std::time::Instant::now();
            loop {
                match f.try_lock() {
                    Ok(()) => return Ok(f),
                    Err(std::fs::TryLockError::WouldBlock) => {
                        if start.elapsed() >= timeout {
                            return Err(EvidenceError::Locked {
                                path: p.clone(),
                                waited_ms: start.elapsed().as_millis() as u64,
                            });
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(std::fs::TryLockError::Error(cause)) => {
                        return Err(EvidenceError::Lock {
                            path: p.clone(),
                            cause,
                        });
                    }
                }
            }
        })
        .await
        .map_err(|e| EvidenceError::Join(e.to_string()))?
    }

    /// Seals a record of a known format. `fields` is the format-specific body; `format`, `id`,
    /// `seq`, `prev_record_hash` and `sealed_at` are set here. `artifacts` are indexed in
    /// `log_artifacts`. Atomic: either the record is in the log or nothing is.
    ///
    /// Group commit: the request joins a queue; whichever seal takes the writer next commits
    /// everything queued (in queue order, so sequence numbers follow the order of the calls)
    /// behind one durability barrier for the blob names and one database transaction. When
    /// that transaction fails, each record of the group is retried alone, so an error is only
    /// ever reported to the seal it belongs to. The commit runs in its own task: dropping this
    /// future does not cancel a group that other seals are waiting for.
    pub async fn seal_record(
        &self,
        format: &str,
        id: uuid::Uuid,
        fields: Map<String, Value>,
        artifacts: &[ArtifactRef],
    ) -> Result<SealedRecord, EvidenceError> {
        self.seal_record_with(format, id, fields, artifacts, None)
            .await
    }

    /// [`Self::seal_record`], with rows derived from the record written in its transaction
    /// (see [`IndexHook`]).
    pub async fn seal_record_with(
        &self,
        format: &str,
        id: uuid::Uuid,
        fields: Map<String, Value>,
        artifacts: &[ArtifactRef],
        hook: Option<IndexHook>,
    ) -> Result<SealedRecord, EvidenceError> {
        if !KNOWN_RECORD_FORMATS.contains(&format) {
            return Err(EvidenceError::UnknownSealFormat {
                format: format.to_string(),
            });
        }
        for a in artifacts {
            if !self.inner.blobs.has_name(&a.blake3) {
                return Err(EvidenceError::MissingBlob {
                    blake3: a.blake3.clone(),
                    path: self.blob_path(&a.blake3),
                });
            }
        }
        let (done, result) = tokio::sync::oneshot::channel();
        self.inner
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(SealRequest {
                format: format.to_string(),
                id,
                fields,
                artifacts: artifacts.to_vec(),
                hook,
                done,
            });
        // Every queued seal spawns a would-be leader, so each request is taken by some group;
        // the leader is detached: dropping this future cannot abandon other seals' group.
        let store = self.clone();
        tokio::spawn(async move {
            let _writer = store.inner.write_mutex.lock().await;
            let group = std::mem::take(
                &mut *store
                    .inner
                    .queue
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            // empty: an earlier leader already committed this seal with its group
            if !group.is_empty() {
                store.commit_group(group).await;
            }
        });
        // A leader that panics drops its group's senders; their receivers report it here.
        result.await.map_err(|_| {
            EvidenceError::Join(format!(
                "the group commit of record {id} stopped before it answered; check the log"
            ))
        })?
    }

    /// Commits one group of queued seals and answers each of them. Caller holds `write_mutex`.
    async fn commit_group(&self, group: Vec<SealRequest>) {
        let fail_all = |group: Vec<SealRequest>, e: EvidenceError| {
            for r in group {
                let _ = r.done.send(Err(e.for_group_member()));
            }
        };
        // Every blob of the group is in place under its final name but nothing of it is
        // durable yet; one barrier makes their data and names durable. It runs while the
        // group's rows are written, and the transaction commits only after it has returned
        // (`insert_group` waits for it), so no record is ever durable before its blobs.
        let names: Vec<String> = group
            .iter()
            .flat_map(|r| r.artifacts.iter().map(|a| a.blake3.clone()))
            .collect();
        let mut barrier = (!names.is_empty()).then(|| {
            let blobs = self.inner.blobs.clone();
            tokio::task::spawn_blocking(move || blobs.sync(names.iter().map(String::as_str)))
        });
        let _file = match self.file_lock().await {
            Ok(f) => f,
            Err(e) => return fail_all(group, e),
        };
        match self.insert_group(&group, &mut barrier).await {
            Ok(records) => {
                for (r, rec) in group.into_iter().zip(records) {
                    let _ = r.done.send(rec);
                }
            }
            Err(GroupFailure::Barrier(e)) => fail_all(group, e),
            Err(GroupFailure::Insert(e)) if group.len() == 1 => {
                // the failure is this seal's own: report it as it is
                if let Some(r) = group.into_iter().next() {
                    let _ = r.done.send(Err(e));
                }
            }
            Err(GroupFailure::Insert(e)) => {
                tracing::warn!(
                    size = group.len(),
                    error = %e,
                    "group commit failed; sealing its records one by one"
                );
                for r in group {
                    // the barrier has returned: the group's transaction waited for it
                    let res = match self.insert_group(std::slice::from_ref(&r), &mut None).await {
                        Ok(mut v) => v.pop().unwrap_or_else(|| {
                            Err(EvidenceError::Join("empty group result".into()))
                        }),
                        Err(GroupFailure::Barrier(e) | GroupFailure::Insert(e)) => Err(e),
                    };
                    let _ = r.done.send(res);
                }
            }
        }
    }

    /// Appends the group's records to the log in one transaction (chained in queue order),
    /// committing only once `barrier` (the blobs' durability barrier, if any) has returned
    /// `Ok`. `Err` means nothing was committed; after a commit each record is parsed back.
    async fn insert_group(
        &self,
        group: &[SealRequest],
        barrier: &mut Option<tokio::task::JoinHandle<Result<(), BlobError>>>,
    ) -> Result<Vec<Result<SealedRecord, EvidenceError>>, GroupFailure> {
        let result = self.insert_group_rows(group, barrier).await;
        // An insert that failed before the barrier was awaited: wait for it here, so the caller
        // may retry records alone (with no barrier of their own) only once it has held.
        if let Some(handle) = barrier.take() {
            wait_barrier(handle).await.map_err(GroupFailure::Barrier)?;
        }
        result
    }

    async fn insert_group_rows(
        &self,
        group: &[SealRequest],
        barrier: &mut Option<tokio::task::JoinHandle<Result<(), BlobError>>>,
    ) -> Result<Vec<Result<SealedRecord, EvidenceError>>, GroupFailure> {
        let mut tx = crate::store::begin_write(&self.inner.db)
            .await
            .map_err(self.db_err("begin seal transaction"))?;
        let last =
            sqlx::query("SELECT seq, record_hash FROM log_records ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(self.db_err("read the log head"))?;
        let (mut seq, mut prev) = match last {
            Some(row) => {
                let s: i64 = row.try_get(0).map_err(self.db_err("read the log head"))?;
                let h: String = row.try_get(1).map_err(self.db_err("read the log head"))?;
                (s as u64 + 1, h)
            }
            None => (0, GENESIS_HASH.to_string()),
        };
        let mut sealed = Vec::with_capacity(group.len());
        for req in group {
            let SealRequest {
                format,
                id,
                fields,
                artifacts,
                ..
            } = req;
            let mut fields = fields.clone();
            let sealed_at = rfc3339_ms(jiff::Timestamp::now());
            fields.insert("format".into(), Value::from(format.as_str()));
            fields.insert("id".into(), Value::from(id.to_string()));
            fields.insert("seq".into(), Value::from(seq));
            fields.insert("prev_record_hash".into(), Value::from(prev.clone()));
            fields.insert("sealed_at".into(), Value::from(sealed_at.clone()));
            let canonical =
                canonical::value_to_vec(&Value::Object(fields)).map_err(EvidenceError::from)?;
            let record_hash = sha256_hex(&canonical);
            let leaf = hex::encode(merkle::leaf_hash(&canonical));
            let canonical =
                String::from_utf8(canonical).map_err(|e| EvidenceError::CorruptRecord {
                    seq,
                    message: e.to_string(),
                })?;
            sqlx::query(
                "INSERT INTO log_records (seq, id, format, body, record_hash, leaf_hash, prev_record_hash, sealed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(seq as i64)
            .bind(id.to_string())
            .bind(format.clone())
            .bind(canonical.clone())
            .bind(record_hash.clone())
            .bind(leaf.clone())
            .bind(prev.clone())
            .bind(sealed_at)
            .execute(&mut *tx)
            .await
            .map_err(self.db_err("insert the record"))?;
            // One statement per chunk of artifacts (a round trip to the database each).
            for (c, chunk) in artifacts.chunks(ARTIFACT_ROWS_PER_INSERT).enumerate() {
                let mut sql = String::from(
                    "INSERT INTO log_artifacts (seq, idx, role, source_url, media_type, size, blake3, sha256) VALUES ",
                );
                for j in 0..chunk.len() {
                    let b = j * 8;
                    if j > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7,
                        b + 8
                    ));
                }
                // only placeholders are formatted in; every value is bound
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (j, a) in chunk.iter().enumerate() {
                    q = q
                        .bind(seq as i64)
                        .bind((c * ARTIFACT_ROWS_PER_INSERT + j) as i32)
                        .bind(a.role.as_str().to_string())
                        .bind(a.source_url.clone())
                        .bind(a.media_type.clone())
                        .bind(a.size as i64)
                        .bind(a.blake3.clone())
                        .bind(a.sha256.clone());
                }
                q.execute(&mut *tx)
                    .await
                    .map_err(self.db_err("index the artifacts"))?;
            }
            // Parsed before the commit so index rows can be derived from the record; our own
            // canonical form failing to parse would be a bug, reported to this seal alone.
            let rec = parse_record(
                seq,
                &id.to_string(),
                format.as_str(),
                canonical,
                record_hash.clone(),
                leaf,
                prev,
            );
            if let (Ok(rec), Some(hook)) = (&rec, &req.hook) {
                hook(&mut tx, rec)
                    .await
                    .map_err(|cause| EvidenceError::Index { id: *id, cause })?;
            }
            sealed.push(rec);
            prev = record_hash;
            seq += 1;
        }
        if let Ok(flag) = std::env::var(TEST_PAUSE_IN_SEAL_ENV) {
            let last = seq.saturating_sub(1);
            tracing::warn!("test hook: pausing inside seal of seq {last}");
            let _ = std::fs::write(&flag, last.to_string());
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if let Some(handle) = barrier.take() {
            wait_barrier(handle).await.map_err(GroupFailure::Barrier)?;
        }
        tx.commit()
            .await
            .map_err(self.db_err("commit the record"))?;
        for r in sealed.iter().flatten() {
            tracing::info!(seq = r.seq, id = %r.id, record_hash = %r.record_hash, "sealed record");
        }
        Ok(sealed)
    }

    /// The record with this id.
    pub async fn record(&self, id: &CaptureId) -> Result<SealedRecord, EvidenceError> {
        let row = sqlx::query(
            "SELECT seq, id, format, body, record_hash, leaf_hash, prev_record_hash FROM log_records WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.inner.db)
        .await
        .map_err(self.db_err("read a record"))?
        .ok_or_else(|| EvidenceError::NotFound(format!("record {id}")))?;
        self.row_to_record(&row)
    }

    /// Records with `from <= seq < to`, in order.
    pub async fn records(&self, from: u64, to: u64) -> Result<Vec<SealedRecord>, EvidenceError> {
        let rows = sqlx::query(
            "SELECT seq, id, format, body, record_hash, leaf_hash, prev_record_hash FROM log_records \
             WHERE seq >= $1 AND seq < $2 ORDER BY seq",
        )
        .bind(from as i64)
        .bind(to.min(i64::MAX as u64) as i64)
        .fetch_all(&self.inner.db)
        .await
        .map_err(self.db_err("read records"))?;
        rows.iter().map(|r| self.row_to_record(r)).collect()
    }

    /// Number of records in the log.
    pub async fn log_size(&self) -> Result<u64, EvidenceError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM log_records")
            .fetch_one(&self.inner.db)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.db_err("count records"))?;
        Ok(n as u64)
    }

    fn row_to_record(&self, row: &sqlx::any::AnyRow) -> Result<SealedRecord, EvidenceError> {
        let e = self.db_err("read a record");
        let seq: i64 = row.try_get(0).map_err(&e)?;
        let id: String = row.try_get(1).map_err(&e)?;
        let format: String = row.try_get(2).map_err(&e)?;
        let body: String = row.try_get(3).map_err(&e)?;
        let rh: String = row.try_get(4).map_err(&e)?;
        let lh: String = row.try_get(5).map_err(&e)?;
        let prev: String = row.try_get(6).map_err(&e)?;
        parse_record(seq as u64, &id, &format, body, rh, lh, prev)
    }

    /// Leaf hashes of the first `n` records, recomputed from the stored canonical bodies.
    async fn leaves(&self, n: u64) -> Result<Vec<merkle::Hash>, EvidenceError> {
        self.leaf_hashes(0, n).await
    }

    /// Leaf hashes of records `from..to`, each hashed from its stored body; a gap or a log
    /// shorter than `to` is an error.
    async fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<merkle::Hash>, EvidenceError> {
        let rows = sqlx::query(
            "SELECT seq, body FROM log_records WHERE seq >= $1 AND seq < $2 ORDER BY seq",
        )
        .bind(from.min(i64::MAX as u64) as i64)
        .bind(to.min(i64::MAX as u64) as i64)
        .fetch_all(&self.inner.db)
        .await
        .map_err(self.db_err("read the log"))?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let want = from + i as u64;
            let seq: i64 = r.try_get(0).map_err(self.db_err("read the log"))?;
            if seq as u64 != want {
                return Err(EvidenceError::CorruptRecord {
                    seq: want,
                    message: format!("the log has a gap: seq {want} missing (found {seq})"),
                });
            }
            let body: String = r.try_get(1).map_err(self.db_err("read the log"))?;
            out.push(merkle::leaf_hash(body.as_bytes()));
        }
        if from + (out.len() as u64) < to {
            return Err(EvidenceError::NotFound(format!(
                "tree size {to}: the log has only {} records",
                from + out.len() as u64
            )));
        }
        Ok(out)
    }

    /// Inclusion proof of record `seq` in the tree of the first `tree_size` records.
    pub async fn inclusion_proof(
        &self,
        seq: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, EvidenceError> {
        let leaves = self.leaves(tree_size).await?;
        let path = merkle::inclusion_proof(seq, &leaves)?;
        Ok(InclusionProof {
            seq,
            tree_size,
            leaf_hash: hex::encode(leaves[seq as usize]),
            root_hash: hex::encode(merkle::root(&leaves)),
            path: path.iter().map(hex::encode).collect(),
        })
    }

    /// Consistency proof between tree sizes `old` and `new`.
    pub async fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<ConsistencyProof, EvidenceError> {
        let leaves = self.leaves(new).await?;
        let path = merkle::consistency_proof(old, &leaves)?;
        Ok(ConsistencyProof {
            old_size: old,
            new_size: new,
            old_root: hex::encode(merkle::root(&leaves[..old as usize])),
            new_root: hex::encode(merkle::root(&leaves)),
            path: path.iter().map(hex::encode).collect(),
        })
    }

    /// The Merkle root of the first `size` records: the cached frontier extended by the
    /// records sealed since (all of them on the first call of a process). `verify` recomputes
    /// every root from the record bodies, so this cache cannot hide a changed record.
    async fn root_at(&self, size: u64) -> Result<merkle::Hash, EvidenceError> {
        let mut cached = self.inner.frontier.lock().await;
        let mut f = if cached.size() <= size {
            cached.clone()
        } else {
            merkle::Frontier::new()
        };
        for leaf in self.leaf_hashes(f.size(), size).await? {
            f.push(leaf);
        }
        let root = f.root();
        *cached = f;
        Ok(root)
    }

    /// Writes a signed tree head over the whole log (plus an RFC 3161 token when `tsa_url` is
    /// configured). When the TSA fails, the signed head is still stored and the error says so.
    pub async fn checkpoint(&self) -> Result<SignedTreeHead, EvidenceError> {
        let _guard = self.lock().await?;
        let size = self.log_size().await?;
        let root = self.root_at(size).await?;
        let now = jiff::Timestamp::now();
        let head = TreeHead {
            format: TREE_HEAD_FORMAT.to_string(),
            tree_size: size,
            root_hash: hex::encode(root),
            timestamp: rfc3339_ms(now),
            timestamp_ms: now.as_millisecond(),
            key_id: self.fingerprint(),
        };
        let mut sth = SignedTreeHead::sign(head, &self.inner.key);
        let mut tsa_failure = None;
        if let Some(url) = &self.inner.opts.tsa_url {
            match tsa::request_token(&self.inner.http, url, &sth.tree_head.imprint()).await {
                Ok(token) => {
                    sth.tsa_url = Some(url.clone());
                    sth.tsa_token = Some(hex::encode(token));
                }
                Err(e) => tsa_failure = Some((url.clone(), e)),
            }
        }
        let body = String::from_utf8(sth.tree_head.signed_bytes()).unwrap_or_default();
        let inserted = sqlx::query(
            "INSERT INTO tree_heads (tree_size, timestamp_ms, root_hash, body, signature, key_id, tsa_url, tsa_token) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(sth.tree_head.tree_size as i64)
        .bind(sth.tree_head.timestamp_ms)
        .bind(sth.tree_head.root_hash.clone())
        .bind(body)
        .bind(sth.signature.clone())
        .bind(sth.tree_head.key_id.clone())
        .bind(sth.tsa_url.clone())
        .bind(sth.tsa_token.clone())
        .execute(&self.inner.db)
        .await;
        if let Err(e) = inserted {
            // A head of this size was already signed in this very millisecond (two runs of a
            // daemon ending together, nothing sealed in between): that head says the same.
            let same = |h: &SignedTreeHead| {
                h.tree_head.tree_size == sth.tree_head.tree_size
                    && h.tree_head.timestamp_ms == sth.tree_head.timestamp_ms
            };
            let existing = if store::is_unique_violation(&e) {
                self.tree_heads().await?.into_iter().find(same)
            } else {
                None
            };
            return existing.ok_or_else(|| self.db_err("store the tree head")(e));
        }
        self.export_tree_head(&sth)?;
        if let Some((url, cause)) = tsa_failure {
            return Err(EvidenceError::Tsa {
                stem: sth.file_stem(),
                url,
                cause,
            });
        }
        Ok(sth)
    }

    /// Writes `checkpoints/<stem>.json` (and `.tsr`, the raw token) for people and openssl.
    fn export_tree_head(&self, sth: &SignedTreeHead) -> Result<(), EvidenceError> {
        let dir = self.inner.data_dir.join("checkpoints");
        ensure_dir(&dir)?;
        let json = dir.join(format!("{}.json", sth.file_stem()));
        let w = |path: PathBuf| move |cause| EvidenceError::DataDir { path, cause };
        let text = serde_json::to_vec_pretty(sth).map_err(canonical::CanonicalError::from)?;
        std::fs::write(&json, text).map_err(w(json.clone()))?;
        if let Some(tok) = sth.tsa_token.as_deref().and_then(|t| hex::decode(t).ok()) {
            let tsr = dir.join(format!("{}.tsr", sth.file_stem()));
            std::fs::write(&tsr, tok).map_err(w(tsr.clone()))?;
        }
        Ok(())
    }

    /// All signed tree heads, oldest first.
    pub async fn tree_heads(&self) -> Result<Vec<SignedTreeHead>, EvidenceError> {
        load_tree_heads(&self.inner.db, &self.inner.db_name).await
    }
}

/// Reads all tree heads from the database.
pub(crate) async fn load_tree_heads(
    db: &Db,
    db_name: &str,
) -> Result<Vec<SignedTreeHead>, EvidenceError> {
    let e = |cause| EvidenceError::Db {
        db: db_name.to_string(),
        what: "read tree heads".into(),
        cause,
    };
    let rows = sqlx::query(
        "SELECT tree_size, timestamp_ms, body, signature, tsa_url, tsa_token FROM tree_heads ORDER BY tree_size, timestamp_ms",
    )
    .fetch_all(db)
    .await
    .map_err(e)?;
    let mut out = Vec::new();
    for r in rows {
        let size: i64 = r.try_get(0).map_err(e)?;
        let body: String = r.try_get(2).map_err(e)?;
        let head: TreeHead =
            serde_json::from_str(&body).map_err(|err| EvidenceError::CorruptRecord {
                seq: size as u64,
                message: format!("tree head of size {size} does not parse: {err}"),
            })?;
        out.push(SignedTreeHead {
            tree_head: head,
            signature: r.try_get(3).map_err(e)?,
            tsa_url: r.try_get(4).map_err(e)?,
            tsa_token: r.try_get(5).map_err(e)?,
        });
    }
    Ok(out)
}

/// Parses a stored record, refusing formats this build does not know.
pub fn parse_record(
    seq: u64,
    id: &str,
    format: &str,
    canonical: String,
    record_hash: String,
    leaf_hash: String,
    prev_record_hash: String,
) -> Result<SealedRecord, EvidenceError> {
    let corrupt = |message: String| EvidenceError::CorruptRecord { seq, message };
    let body_format = serde_json::from_str::<Value>(&canonical)
        .map_err(|e| corrupt(format!("body is not JSON: {e}")))?
        .get("format")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_default();
    if body_format != format {
        return Err(corrupt(format!(
            "body format {body_format:?} differs from the indexed format {format:?}"
        )));
    }
    let body = match format {
        CAPTURE_FORMAT => RecordBody::Capture(Box::new(
            serde_json::from_str(&canonical)
                .map_err(|e| corrupt(format!("not a valid {CAPTURE_FORMAT}: {e}")))?,
        )),
        record::REVIEW_FORMAT | record::CASE_EVENT_FORMAT => RecordBody::Other(Box::new(
            serde_json::from_str(&canonical).map_err(|e| corrupt(format!("not JSON: {e}")))?,
        )),
        other => {
            return Err(EvidenceError::UnknownFormat {
                seq,
                format: other.to_string(),
            });
        }
    };
    Ok(SealedRecord {
        seq,
        id: id
            .parse()
            .map_err(|e| corrupt(format!("bad id {id:?}: {e}")))?,
        format: format.to_string(),
        record_hash,
        leaf_hash,
        prev_record_hash,
        canonical,
        body,
    })
}

/// An artifact with what the manifest says about it, for [`CaptureBuilder::add_artifacts`].
#[derive(Debug, Clone)]
pub struct NewArtifact {
    pub role: ArtifactRole,
    pub source_url: Option<String>,
    pub media_type: String,
    pub content: ArtifactContent,
}

/// What an artifact holds: bytes to store, or a blob the store already holds (the same image
/// sealed with an earlier capture), listed without reading it back.
#[derive(Debug, Clone)]
pub enum ArtifactContent {
    Bytes(Vec<u8>),
    Stored(BlobInfo),
}

/// Collects a capture's artifacts, then seals it.
pub struct CaptureBuilder {
    store: EvidenceStore,
    id: uuid::Uuid,
    meta: CaptureMeta,
    ended_at: Option<jiff::Timestamp>,
    artifacts: Vec<ArtifactRef>,
}

impl CaptureBuilder {
    /// The id the record will have.
    pub fn id(&self) -> uuid::Uuid {
        self.id
    }

    /// Stores an artifact's bytes (blob store) and lists it in the capture; they become
    /// durable with the seal's group barrier, before the record commits.
    pub async fn add_artifact(
        &mut self,
        role: ArtifactRole,
        source_url: Option<&str>,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<ArtifactRef, EvidenceError> {
        let info = self.store_bytes(bytes).await?;
        Ok(self.push(role, source_url, media_type, info))
    }

    /// Puts bytes in the blob store. A large body is hashed and written in place rather than
    /// copied for a blocking thread (a 50 MB copy costs as much as its SHA-256);
    /// `block_in_place` needs the multi-thread runtime.
    async fn store_bytes(&self, bytes: &[u8]) -> Result<BlobInfo, EvidenceError> {
        let blobs = &self.store.inner.blobs;
        let in_place = bytes.len() >= blob::OVERLAP_MIN
            && tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::MultiThread;
        Ok(if in_place {
            tokio::task::block_in_place(|| blobs.put_bytes_blocking(bytes))?
        } else {
            blobs.put_bytes(bytes.to_vec()).await?
        })
    }

    /// [`Self::add_artifact`] for several artifacts at once: new small ones are hashed and
    /// written, and stored ones checked, on one blocking thread (one hand-off instead of one
    /// per artifact); large ones are written as [`Self::add_artifact`] writes them. A stored
    /// artifact the store does not hold fails with [`EvidenceError::MissingBlob`]. References
    /// come back in input order.
    pub async fn add_artifacts(
        &mut self,
        mut items: Vec<NewArtifact>,
    ) -> Result<Vec<ArtifactRef>, EvidenceError> {
        let large = |c: &ArtifactContent| matches!(c, ArtifactContent::Bytes(b) if b.len() >= blob::OVERLAP_MIN);
        let mut infos: Vec<Option<BlobInfo>> = vec![None; items.len()];
        let quick: Vec<usize> = (0..items.len())
            .filter(|&i| !large(&items[i].content))
            .collect();
        if !quick.is_empty() {
            // moved to the blocking thread and back: no copy of the bytes
            let contents: Vec<ArtifactContent> = quick
                .iter()
                .map(|&i| std::mem::replace(&mut items[i].content, ArtifactContent::Bytes(vec![])))
                .collect();
            let blobs = self.store.inner.blobs.clone();
            let (contents, done) = tokio::task::spawn_blocking(move || {
                let done: Result<Vec<BlobInfo>, EvidenceError> = contents
                    .iter()
                    .map(|c| match c {
                        ArtifactContent::Bytes(b) => Ok(blobs.put_bytes_blocking(b)?),
                        ArtifactContent::Stored(info) if blobs.holds(info) => Ok(info.clone()),
                        ArtifactContent::Stored(info) => Err(EvidenceError::MissingBlob {
                            blake3: info.blake3.clone(),
                            path: blobs.path(&info.blake3),
                        }),
                    })
                    .collect();
                (contents, done)
            })
            .await
            .map_err(|e| BlobError::Join(e.to_string()))?;
            for ((&i, c), info) in quick.iter().zip(contents).zip(done?) {
                items[i].content = c;
                infos[i] = Some(info);
            }
        }
        for (a, info) in items.iter().zip(infos.iter_mut()) {
            if let (None, ArtifactContent::Bytes(b)) = (&info, &a.content) {
                *info = Some(self.store_bytes(b).await?);
            }
        }
        let mut refs = Vec::with_capacity(items.len());
        for (a, info) in items.into_iter().zip(infos) {
            // every item was written above, the quick ones or the large ones
            let info = info.ok_or_else(|| {
                EvidenceError::Join(format!("artifact from {:?} was not written", a.source_url))
            })?;
            refs.push(self.push(a.role, a.source_url.as_deref(), &a.media_type, info));
        }
        Ok(refs)
    }

    /// Like [`Self::add_artifact`], streaming from a reader (for large bodies).
    pub async fn add_artifact_stream<R: tokio::io::AsyncRead + Unpin>(
        &mut self,
        role: ArtifactRole,
        source_url: Option<&str>,
        media_type: &str,
        reader: R,
    ) -> Result<ArtifactRef, EvidenceError> {
        let info = self.store.inner.blobs.put_stream(reader).await?;
        Ok(self.push(role, source_url, media_type, info))
    }

    fn push(
        &mut self,
        role: ArtifactRole,
        source_url: Option<&str>,
        media_type: &str,
        info: BlobInfo,
    ) -> ArtifactRef {
        let a = ArtifactRef {
            role,
            source_url: source_url.map(str::to_string),
            media_type: media_type.to_string(),
            size: info.size,
            blake3: info.blake3,
            sha256: info.sha256,
        };
        self.artifacts.push(a.clone());
        a
    }

    pub fn set_final_url(&mut self, url: &str) {
        self.meta.final_url = Some(url.to_string());
    }
    pub fn set_status(&mut self, status: u16) {
        self.meta.status = Some(status);
    }
    pub fn set_headers(&mut self, headers: Vec<Header>) {
        self.meta.headers = headers;
    }
    pub fn set_redirect_chain(&mut self, chain: Vec<RedirectHop>) {
        self.meta.redirect_chain = chain;
    }
    pub fn set_remote_addr(&mut self, addr: Option<String>) {
        self.meta.remote_addr = addr;
    }
    pub fn set_robots(&mut self, robots: &str) {
        self.meta.robots = Some(robots.to_string());
    }
    pub fn add_note(&mut self, note: &str) {
        self.meta.notes.push(note.to_string());
    }
    pub fn set_ended_at(&mut self, t: jiff::Timestamp) {
        self.ended_at = Some(t);
    }

    /// Seals the capture: assigns seq and chain hash and commits it atomically.
    pub async fn seal(self) -> Result<SealedRecord, EvidenceError> {
        self.seal_with(None).await
    }

    /// [`Self::seal`], writing the hook's rows (e.g. findings on this capture's maps) in the
    /// same transaction as the record.
    pub async fn seal_with(self, hook: Option<IndexHook>) -> Result<SealedRecord, EvidenceError> {
        let inner = &self.store.inner;
        let m = self.meta;
        let manifest = CaptureManifest {
            format: CAPTURE_FORMAT.into(),
            id: self.id,
            seq: 0,
            prev_record_hash: String::new(),
            sealed_at: String::new(),
            requested_url: m.requested_url,
            final_url: m.final_url,
            redirect_chain: m.redirect_chain,
            status: m.status,
            headers: m.headers,
            remote_addr: m.remote_addr,
            started_at: rfc3339_ms(m.started_at),
            ended_at: rfc3339_ms(self.ended_at.unwrap_or_else(jiff::Timestamp::now)),
            method: m.method,
            environment: Environment::current(inner.opts.operator.clone()),
            campaign: m.campaign.or_else(|| inner.opts.campaign.clone()),
            robots: m.robots,
            notes: m.notes,
            artifacts: self.artifacts.clone(),
        };
        let Value::Object(fields) =
            serde_json::to_value(&manifest).map_err(canonical::CanonicalError::from)?
        else {
            return Err(EvidenceError::Join("manifest is not an object".into()));
        };
        self.store
            .seal_record_with(CAPTURE_FORMAT, self.id, fields, &self.artifacts, hook)
            .await
    }
}
