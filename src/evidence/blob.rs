//! Content-addressed blob store under `<data-dir>/blobs/`.
//!
//! A blob lives at `blobs/<b0b1>/<blake3 hex>` (one fan-out level; data dirs created before
//! 2026-12-04 keep their two levels, `blobs/<b0b1>/<b2b3>/<blake3 hex>`). BLAKE3 names the
//! blob; SHA-256 is computed in the same pass for reviewers. Bytes in memory are hashed first
//! and written straight to a new file under their final name; a stream is written to
//! `<data-dir>/tmp/` and renamed into place once its digest is known, as is a replacement for a
//! name that does not hold its content. Leftover temp files (from a killed process) are removed
//! by [`BlobStore::clean_tmp`].
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
//! when it does not hold the content its name promises, replaced via temp file + rename; a
//! blob this process wrote in full or already checked is remembered (a bounded in-memory set)
//! and not re-read, since only a crash, which forgets the set, can leave its name partial. A
//! blob that matches is never rewritten (same name = same content). Writing a new blob under
//! its final name adds no case to this: a crash mid-write leaves exactly such a partial name,
//! which no record references (`verify` notes it as unreferenced) and the next put replaces.

use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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
    /// `blobs/ab/cd/<digest>` (data dirs from before 2026-12-04) instead of `blobs/ab/<digest>`.
    two_levels: bool,
    /// Blobs this process wrote in full or checked (size and BLAKE3) under their final name:
    /// a dedupe hit on one of these needs no re-read (see [`Self::holds`]). Shared by clones.
    seen: Arc<Mutex<HashSet<blake3::Hash>>>,
}

/// At most this many names are remembered in [`BlobStore`]'s seen set (about 5 MB); past it
/// the set starts over, and a dedupe hit costs a re-read again.
const SEEN_MAX: usize = 100_000;

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
        if data.len() >= OVERLAP_MIN {
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

/// Inputs from this size on are worth a second thread (below it, the thread costs more than
/// it saves): [`Hasher::update`] runs the two digests side by side, a put writes the blob
/// while its SHA-256 is computed, and `add_artifact` hashes and writes in place rather than
/// copying the body for a blocking thread.
pub const OVERLAP_MIN: usize = 1 << 20;

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
    s.len() == 64 && is_hex(s)
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
    // sized to the file: dedupe hits are mostly small (a check report seen on every page)
    let mut buf = vec![0u8; (info.size as usize).clamp(1, 1 << 20)];
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

/// True when the store under `root` uses the two-level fan-out of data dirs created before
/// 2026-12-04 (`ab/cd/<digest>`): the first fan-out directory with anything in it holds
/// directories rather than blob files. An empty or new store uses one level (`ab/<digest>`):
/// at a few blobs per directory the second level cost a directory (a 4 KiB block and an
/// inode) per blob, a third of a small store's size and of its sealing time.
fn has_two_levels(root: &Path) -> bool {
    let Ok(top) = fs::read_dir(root) else {
        return false;
    };
    let fanout = |name: &str| name.len() == 2 && is_hex(name);
    for e in top.flatten() {
        let name = e.file_name();
        if !e.file_type().is_ok_and(|t| t.is_dir()) || !fanout(&name.to_string_lossy()) {
            continue;
        }
        let Ok(sub) = fs::read_dir(e.path()) else {
            continue;
        };
        if let Some(first) = sub.flatten().next() {
            return first.file_type().is_ok_and(|t| t.is_dir());
        }
    }
    false
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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
        let root = data_dir.join("blobs");
        Self {
            two_levels: has_two_levels(&root),
            root,
            tmp: data_dir.join("tmp"),
            seen: Arc::default(),
        }
    }

    /// True when this process already wrote or checked this blob under its final name.
    fn seen(&self, blake3_hex: &str) -> bool {
        blake3::Hash::from_hex(blake3_hex)
            .is_ok_and(|h| self.seen.lock().is_ok_and(|s| s.contains(&h)))
    }

    /// True when a file of this name is in the store (taken from the seen set when this
    /// process wrote or checked the blob; a directory lookup otherwise).
    pub fn has_name(&self, blake3_hex: &str) -> bool {
        self.seen(blake3_hex) || self.path(blake3_hex).exists()
    }

    /// Remembers that the blob's final name holds its content (written in full or checked).
    fn mark_seen(&self, info: &BlobInfo) {
        let Ok(h) = blake3::Hash::from_hex(&info.blake3) else {
            return;
        };
        if let Ok(mut s) = self.seen.lock() {
            if s.len() >= SEEN_MAX {
                s.clear();
            }
            s.insert(h);
        }
    }

    /// The blobs directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a blob with this BLAKE3 hex digest lives (whether or not it exists):
    /// `blobs/<b0>/<digest>`, or `blobs/<b0>/<b1>/<digest>` in a data dir that has that layout.
    pub fn path(&self, blake3_hex: &str) -> PathBuf {
        let h = blake3_hex;
        if h.len() < 4 || !h.is_char_boundary(2) || !h.is_char_boundary(4) {
            return self.root.join(h);
        }
        if self.two_levels {
            self.root.join(&h[0..2]).join(&h[2..4]).join(h)
        } else {
            self.root.join(&h[0..2]).join(h)
        }
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
    /// A blob this process wrote or checked before is taken as held without a re-read: its
    /// name was complete when this process last looked, and only a crash (which forgets the
    /// set) can leave a name partial.
    pub fn holds(&self, info: &BlobInfo) -> bool {
        if self.seen(&info.blake3) {
            return true;
        }
        let dest = self.path(&info.blake3);
        if !dest.exists() {
            return false;
        }
        if file_matches(&dest, info) {
            self.mark_seen(info);
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
        self.mark_seen(info);
        Ok(())
    }

    /// Stores bytes (blocking). BLAKE3 (the name) is computed first; a new blob is then
    /// written straight under its final name (a new file created exclusively: no temp file, no
    /// rename) while SHA-256 is computed on a second thread for inputs of
    /// [`OVERLAP_MIN`] bytes or more, so the slower digest overlaps the write. A name that
    /// exists without the right content is replaced atomically through a temp file, so a file
    /// another put is still writing is never truncated under it.
    pub fn put_bytes_blocking(&self, bytes: &[u8]) -> Result<BlobInfo, BlobError> {
        if bytes.len() < OVERLAP_MIN {
            let info = hash_bytes(bytes);
            return self.write_new(bytes, &info).map(|()| info);
        }
        let b3 = blake3::hash(bytes).to_hex().to_string();
        let info_with = |sha256| BlobInfo {
            blake3: b3.clone(),
            sha256,
            size: bytes.len() as u64,
        };
        let written = std::thread::scope(|s| {
            let digest = s.spawn(|| hex::encode(Sha256::digest(bytes)));
            // the name and size are all `write_new` reads; the SHA-256 comes in after
            let partial = info_with(String::new());
            let w = self.write_new(bytes, &partial);
            (w, digest.join())
        });
        match written {
            (Ok(()), Ok(sha256)) => Ok(info_with(sha256)),
            (Err(e), _) => Err(e),
            (Ok(()), Err(_)) => Err(BlobError::Write {
                path: self.path(&b3),
                cause: io::Error::other("the SHA-256 thread panicked"),
            }),
        }
    }

    /// Writes `bytes` under `info`'s name unless the store already holds them (dedupe rule);
    /// reads only `info.blake3` and `info.size`.
    fn write_new(&self, bytes: &[u8], info: &BlobInfo) -> Result<(), BlobError> {
        if self.seen(&info.blake3) {
            return Ok(());
        }
        let dest = self.path(&info.blake3);
        let w = |cause| BlobError::Write {
            path: dest.clone(),
            cause,
        };
        let Some(dir) = dest.parent() else {
            return Err(w(io::Error::other("blob path has no parent")));
        };
        let created = match File::create_new(&dest) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(w)?;
                File::create_new(&dest)
            }
            other => other,
        };
        match created {
            Ok(mut f) => {
                if let Err(cause) = f.write_all(bytes) {
                    drop(f);
                    let _ = fs::remove_file(&dest);
                    return Err(w(cause));
                }
                self.mark_seen(info);
                return Ok(());
            }
            // the blob from an earlier put (the usual dedupe hit), a partial file from a
            // crash, or another put of the same content right now
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if self.holds(info) {
                    return Ok(());
                }
            }
            Err(cause) => return Err(w(cause)),
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
        self.install(&tmp, info).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8)
            .collect()
    }

    /// Guards the overlapped path (SHA-256 on a second thread while the file is written): the
    /// digests and the file must be those of one-pass hashing, on both sides of the threshold.
    #[test]
    fn put_bytes_gives_both_digests_and_the_file_on_either_side_of_the_overlap_threshold() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::new(dir.path());
        for len in [0, 1000, OVERLAP_MIN - 1, OVERLAP_MIN, 3 * OVERLAP_MIN + 7] {
            let bytes = bytes_of(len);
            let info = store.put_bytes_blocking(&bytes).expect("put");
            assert_eq!(info, hash_bytes(&bytes), "digests of {len} bytes");
            let on_disk = fs::read(store.path(&info.blake3)).expect("read blob");
            assert!(on_disk == bytes, "file of {len} bytes differs");
            // a second put of the same content dedupes to the same blob
            assert_eq!(store.put_bytes_blocking(&bytes).expect("put again"), info);
        }
    }

    /// Guards data dirs created before the one-level fan-out: a store whose blobs sit at
    /// `ab/cd/<digest>` keeps finding and writing them there; a new store uses `ab/<digest>`.
    #[test]
    fn a_store_with_two_fan_out_levels_keeps_them_and_a_new_store_uses_one() {
        let bytes = bytes_of(5000);
        let info = hash_bytes(&bytes);
        let h = &info.blake3;

        let new = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::new(new.path());
        store.put_bytes_blocking(&bytes).expect("put");
        let one = new.path().join("blobs").join(&h[0..2]).join(h);
        assert_eq!(store.path(h), one);
        assert!(fs::read(&one).expect("one-level blob") == bytes);
        // reopened, it is still one level
        assert_eq!(BlobStore::new(new.path()).path(h), one);

        let old = tempfile::tempdir().expect("tempdir");
        let other = hash_bytes(b"an earlier blob");
        let legacy = |d: &str| {
            old.path()
                .join("blobs")
                .join(&d[0..2])
                .join(&d[2..4])
                .join(d)
        };
        fs::create_dir_all(legacy(&other.blake3).parent().expect("parent")).expect("mkdir");
        fs::write(legacy(&other.blake3), b"an earlier blob").expect("write");
        let store = BlobStore::new(old.path());
        assert!(store.holds(&other), "the earlier blob is found where it is");
        store.put_bytes_blocking(&bytes).expect("put");
        assert!(fs::read(legacy(h)).expect("two-level blob") == bytes);
        assert_eq!(store.list().expect("list").len(), 2);
    }

    /// A name that exists without its content (a crash before the barrier) is replaced.
    #[test]
    fn put_bytes_repairs_a_large_blob_file_left_partial() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::new(dir.path());
        let bytes = bytes_of(2 * OVERLAP_MIN);
        let info = hash_bytes(&bytes);
        let dest = store.path(&info.blake3);
        fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        fs::write(&dest, &bytes[..100]).expect("partial");
        assert_eq!(store.put_bytes_blocking(&bytes).expect("put"), info);
        assert!(fs::read(&dest).expect("read") == bytes);
    }
}
