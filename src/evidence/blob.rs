//! Content-addressed blob store under `<data-dir>/blobs/`.
//!
//! A blob lives at `blobs/<b0b1>/<b2b3>/<blake3 hex>` (two fan-out levels). Each write goes to
//! `<data-dir>/tmp/`, then is renamed into place. BLAKE3 names the blob; SHA-256 is computed in
//! the same pass for reviewers. Leftover temp files (from a killed process) are removed by
//! [`BlobStore::clean_tmp`].
//!
//! Durability rule: a put makes **nothing** durable by itself, neither the data nor the name
//! (no `fdatasync` per blob). Both are made durable by [`BlobStore::sync`], which the evidence
//! store calls once per group of records, after all their blobs are in place and before the
//! records commit (on Linux one `syncfs(2)`, which writes back file data as well as
//! directory entries). So until that barrier, a crash can leave a blob *name* whose *data* is
//! partial or missing (a rename can reach the disk before the data it names). No sealed record
//! references such a file, but a later put of the same content would find it by name; hence
//! the **dedupe rule**: an existing file is never trusted blindly. On a dedupe hit the file is
//! checked (size, then a BLAKE3 re-hash; cheap next to a disk barrier, and only on hits) and,
//! when it does not hold the content its name promises, replaced via temp file + rename. A
//! blob that matches is never rewritten (same name = same content).

use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Errors of the blob store; each names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("cannot write blob file {path}: {cause}")]
    Write { path: PathBuf, cause: io::Error },
    #[error("cannot read blob file {path}: {cause}")]
    Read { path: PathBuf, cause: io::Error },
    #[error("not a BLAKE3 hex digest: {0:?}")]
    BadName(String),
    #[error("blob store task failed: {0}")]
    Join(String),
}

/// Digests and size of a stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub blake3: String,
    pub sha256: String,
    pub size: u64,
}

/// The blob store of one data dir.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    tmp: PathBuf,
}

/// Both digests in one pass.
pub struct Hasher {
    b3: blake3::Hasher,
    sha: Sha256,
    size: u64,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    pub fn new() -> Self {
        Self {
            b3: blake3::Hasher::new(),
            sha: Sha256::new(),
            size: 0,
        }
    }
    pub fn update(&mut self, data: &[u8]) {
        // Large inputs: hash the two digests on two threads.
        if data.len() >= 1 << 20 {
            let (b3, sha) = (&mut self.b3, &mut self.sha);
            std::thread::scope(|s| {
                s.spawn(|| {
                    b3.update(data);
                });
                sha.update(data);
            });
        } else {
            self.b3.update(data);
            self.sha.update(data);
        }
        self.size += data.len() as u64;
    }
    pub fn finish(self) -> BlobInfo {
        BlobInfo {
            blake3: self.b3.finalize().to_hex().to_string(),
            sha256: hex::encode(self.sha.finalize()),
            size: self.size,
        }
    }
}

/// Hashes a byte slice.
pub fn hash_bytes(bytes: &[u8]) -> BlobInfo {
    let mut h = Hasher::new();
    h.update(bytes);
    h.finish()
}

/// Hashes a file from disk (used by verify).
pub fn hash_file(path: &Path) -> io::Result<BlobInfo> {
    let mut f = File::open(path)?;
    let mut h = Hasher::new();
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// True for a 64-character lowercase hex string.
pub fn is_hex_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(not(target_os = "linux"))]
fn sync_path(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// True when the file at `path` holds exactly the blob `info` describes: same size, same
/// BLAKE3. A file that cannot be read counts as not matching (it will be replaced).
fn file_matches(path: &Path, info: &BlobInfo) -> bool {
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    match f.metadata() {
        Ok(m) if m.is_file() && m.len() == info.size => {}
        _ => return false,
    }
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    h.finalize().to_hex().as_str() == info.blake3
}

/// `syncfs(2)` on the filesystem holding `dir`: every pending metadata change and cached data
/// of that filesystem is written and flushed; since Linux 5.8 writeback errors are reported.
#[cfg(target_os = "linux")]
fn syncfs(dir: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let f = File::open(dir)?;
    // SAFETY: `f` is an open file descriptor for the duration of the call.
    let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl BlobStore {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("blobs"),
            tmp: data_dir.join("tmp"),
        }
    }

    /// The blobs directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a blob with this BLAKE3 hex digest lives (whether or not it exists).
    pub fn path(&self, blake3_hex: &str) -> PathBuf {
        let h = blake3_hex;
        if h.len() < 4 {
            return self.root.join(h);
        }
        self.root.join(&h[0..2]).join(&h[2..4]).join(h)
    }

    /// Removes temp files left by a killed process.
    pub fn clean_tmp(&self) {
        if let Ok(entries) = fs::read_dir(&self.tmp) {
            for e in entries.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
    }

    fn tmp_file(&self) -> Result<(PathBuf, File), BlobError> {
        let path = self.tmp.join(format!("blob-{}.part", uuid::Uuid::now_v7()));
        let w = |cause| BlobError::Write {
            path: path.clone(),
            cause,
        };
        fs::create_dir_all(&self.tmp).map_err(w)?;
        let f = File::create(&path).map_err(w)?;
        Ok((path, f))
    }

    /// Makes these blobs durable, data **and** names (directory entries): the only durability
    /// barrier blobs get. On Linux one `syncfs(2)` on the blob store's filesystem writes back
    /// every dirty file and every rename and fan-out directory at once (one barrier for a whole
    /// group of seals, whoever wrote the blobs); elsewhere each blob file, then each distinct
    /// fan-out directory and the store root, are fsynced.
    pub fn sync<'a>(&self, blake3s: impl IntoIterator<Item = &'a str>) -> Result<(), BlobError> {
        let mut dirs = std::collections::BTreeSet::new();
        #[cfg(not(target_os = "linux"))]
        let mut files = Vec::new();
        for h in blake3s {
            let p = self.path(h);
            #[cfg(not(target_os = "linux"))]
            files.push(p.clone());
            let mut d = p.parent();
            while let Some(dir) = d {
                if !dir.starts_with(&self.root) {
                    break;
                }
                dirs.insert(dir.to_path_buf());
                d = dir.parent();
            }
        }
        if dirs.is_empty() {
            return Ok(());
        }
        let w = |path: &Path| {
            let path = path.to_path_buf();
            move |cause| BlobError::Write { path, cause }
        };
        #[cfg(target_os = "linux")]
        {
            syncfs(&self.root).map_err(w(&self.root))
        }
        #[cfg(not(target_os = "linux"))]
        {
            for f in &files {
                sync_path(f).map_err(w(f))?;
            }
            // deepest first, so a new fan-out directory is durable before its parent names it
            for d in dirs.iter().rev() {
                sync_path(d).map_err(w(d))?;
            }
            Ok(())
        }
    }

    /// The dedupe check: true when the blob's final name exists **and** holds its content
    /// (size and BLAKE3 re-hash). A name without its content (possible after a crash before
    /// [`Self::sync`]) is logged and reported as absent, so the caller writes it again.
    pub fn holds(&self, info: &BlobInfo) -> bool {
        let dest = self.path(&info.blake3);
        if !dest.exists() {
            return false;
        }
        if file_matches(&dest, info) {
            return true;
        }
        tracing::warn!(
            path = %dest.display(),
            "blob file does not hold the content its name promises (interrupted write?); replacing it"
        );
        false
    }

    /// Moves a fully written temp file into place, replacing a file of that name that does not
    /// hold the blob's content, or drops the temp file when the blob is already there. Neither
    /// the data nor the rename is durable until [`Self::sync`].
    fn install(&self, tmp: &Path, info: &BlobInfo) -> Result<(), BlobError> {
        let dest = self.path(&info.blake3);
        if self.holds(info) {
            let _ = fs::remove_file(tmp);
            return Ok(());
        }
        let w = |cause| BlobError::Write {
            path: dest.clone(),
            cause,
        };
        let Some(dir) = dest.parent() else {
            return Err(w(io::Error::other("blob path has no parent")));
        };
        fs::create_dir_all(dir).map_err(w)?;
        fs::rename(tmp, &dest).map_err(w)?;
        Ok(())
    }

    /// Stores bytes (blocking).
    pub fn put_bytes_blocking(&self, bytes: &[u8]) -> Result<BlobInfo, BlobError> {
        let info = hash_bytes(bytes);
        if self.holds(&info) {
            return Ok(info);
        }
        let (tmp, mut f) = self.tmp_file()?;
        let res = f.write_all(bytes).map_err(|cause| BlobError::Write {
            path: tmp.clone(),
            cause,
        });
        drop(f);
        if let Err(e) = res {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        self.install(&tmp, &info).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })?;
        Ok(info)
    }

    /// Stores bytes.
    pub async fn put_bytes(&self, bytes: Vec<u8>) -> Result<BlobInfo, BlobError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.put_bytes_blocking(&bytes))
            .await
            .map_err(|e| BlobError::Join(e.to_string()))?
    }

    /// Stores everything read from `reader`, hashing as it streams.
    pub async fn put_stream<R: AsyncRead + Unpin>(
        &self,
        mut reader: R,
    ) -> Result<BlobInfo, BlobError> {
        let (tmp, f) = self.tmp_file()?;
        let mut f = tokio::fs::File::from_std(f);
        let mut h = Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let result: Result<(), io::Error> = async {
            loop {
                let n = reader.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                tokio::io::AsyncWriteExt::write_all(&mut f, &buf[..n]).await?;
            }
            // hand the buffered writes to the kernel; durability comes from `sync`
            tokio::io::AsyncWriteExt::flush(&mut f).await
        }
        .await;
        drop(f);
        if let Err(cause) = result {
            let _ = fs::remove_file(&tmp);
            return Err(BlobError::Write { path: tmp, cause });
        }
        let info = h.finish();
        let me = self.clone();
        let tmp2 = tmp.clone();
        let info2 = info.clone();
        tokio::task::spawn_blocking(move || me.install(&tmp2, &info2))
            .await
            .map_err(|e| BlobError::Join(e.to_string()))?
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })?;
        Ok(info)
    }

    /// Reads a blob back.
    pub async fn read(&self, blake3_hex: &str) -> Result<Vec<u8>, BlobError> {
        if !is_hex_digest(blake3_hex) {
            return Err(BlobError::BadName(blake3_hex.to_string()));
        }
        let path = self.path(blake3_hex);
        tokio::fs::read(&path)
            .await
            .map_err(|cause| BlobError::Read { path, cause })
    }

    /// Every blob file under `blobs/` (path, name).
    pub fn list(&self) -> io::Result<Vec<(PathBuf, String)>> {
        let mut out = Vec::new();
        if !self.root.exists() {
            return Ok(out);
        }
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(&dir)? {
                let e = e?;
                let p = e.path();
                if e.file_type()?.is_dir() {
                    stack.push(p);
                } else {
                    let name = e.file_name().to_string_lossy().into_owned();
                    out.push((p, name));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
