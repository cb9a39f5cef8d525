//! Evidence layer: sealing, the log, tree heads, trusted time, verify, and bad input.
//!
//! Network tests use HTTP servers started on 127.0.0.1 in the test; the TSA is OpenSSL's
//! `openssl ts -reply` behind such a server, with a throwaway CA and TSA certificate made by
//! the test.

use mapsweep::evidence::{
    self, ArtifactRole, CaptureMeta, CaptureMethod, EvidenceError, EvidenceStore, SealedRecord,
    StoreOptions, merkle, verify_data_dir,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_mapsweep");

// ---------- helpers ----------

type Handler =
    Arc<dyn Fn(&str, &str, &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync>;

/// A tiny HTTP/1.1 server on 127.0.0.1 (one request per connection).
async fn serve(handler: Handler) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                break;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 8192];
                let header_end = loop {
                    let Ok(n) = sock.read(&mut tmp).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
                let mut lines = head.lines();
                let first = lines.next().unwrap_or("");
                let mut parts = first.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let len: usize = lines
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse().ok())
                    .unwrap_or(0);
                let mut body = buf[header_end..].to_vec();
                while body.len() < len {
                    let Ok(n) = sock.read(&mut tmp).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    body.extend_from_slice(&tmp[..n]);
                }
                let h = handler.clone();
                let (status, headers, out) =
                    tokio::task::spawn_blocking(move || h(&method, &path, &body))
                        .await
                        .unwrap();
                let mut resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    out.len()
                );
                for (k, v) in headers {
                    resp.push_str(&format!("{k}: {v}\r\n"));
                }
                resp.push_str("\r\n");
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.write_all(&out).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    addr
}

const PAGE: &str = "<!doctype html><html><body><h1>World map</h1><div id=map></div></body></html>";

/// Serves `/page` (HTML), `/redirect` (302 to /hop, 301 to /page) and `/big` (4 MiB).
async fn site() -> SocketAddr {
    serve(Arc::new(|_m, path, _b| match path {
        "/page" => (
            200,
            vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                ("x-test".into(), "yes".into()),
            ],
            PAGE.as_bytes().to_vec(),
        ),
        "/redirect" => (302, vec![("location".into(), "/hop".into())], Vec::new()),
        "/hop" => (301, vec![("location".into(), "/page".into())], Vec::new()),
        "/big" => (
            200,
            vec![("content-type".into(), "application/octet-stream".into())],
            (0..4u32 << 20).map(|i| (i % 251) as u8).collect(),
        ),
        _ => (404, vec![], b"not found".to_vec()),
    }))
    .await
}

/// Runs the binary with a data dir (and optional config), from a scratch working directory.
async fn run(data_dir: &Path, config: Option<&Path>, args: &[&str]) -> Output {
    run_env(data_dir, config, args, &[]).await
}

async fn run_env(
    data_dir: &Path,
    config: Option<&Path>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .env("MAPSWEEP_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("MAPSWEEP_CONFIG")
        .current_dir(
            data_dir
                .ancestors()
                .find(|a| a.is_dir())
                .unwrap_or(Path::new("/")),
        );
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// A fresh, initialised data dir inside a temp dir.
async fn fresh() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("evidence");
    EvidenceStore::init(&dir, None).await.unwrap();
    (tmp, dir)
}

async fn open(dir: &Path) -> EvidenceStore {
    EvidenceStore::open(
        dir,
        None,
        StoreOptions {
            operator: Some("Test Operator".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn seal_one(store: &EvidenceStore, i: usize) -> SealedRecord {
    let mut meta = CaptureMeta::new(
        &format!("http://example.test/{i}"),
        CaptureMethod::static_fetch("test-agent"),
    );
    meta.notes.push("made by a test".into());
    let mut b = store.begin_capture(meta);
    b.set_final_url(&format!("http://example.test/{i}"));
    b.set_status(200);
    b.add_artifact(
        ArtifactRole::Html,
        Some("http://example.test/"),
        "text/html",
        format!("<p>artifact {i}</p>").as_bytes(),
    )
    .await
    .unwrap();
    b.add_artifact(
        ArtifactRole::Screenshot,
        None,
        "image/png",
        format!("png {i}").as_bytes(),
    )
    .await
    .unwrap();
    b.seal().await.unwrap()
}

/// A data dir with `n` sealed captures and one checkpoint.
async fn populated(n: usize) -> (tempfile::TempDir, PathBuf, EvidenceStore, Vec<SealedRecord>) {
    let (tmp, dir) = fresh().await;
    let store = open(&dir).await;
    let mut recs = Vec::new();
    for i in 0..n {
        recs.push(seal_one(&store, i).await);
    }
    store.checkpoint().await.unwrap();
    (tmp, dir, store, recs)
}

async fn db(dir: &Path) -> mapsweep::store::Db {
    mapsweep::store::open(&mapsweep::store::resolve_url(dir, None), false)
        .await
        .unwrap()
}

async fn problems(dir: &Path) -> Vec<evidence::Problem> {
    let rep = verify_data_dir(dir, None).await.unwrap();
    rep.problems
}

fn assert_clean(rep: &evidence::VerifyReport) {
    assert!(
        rep.problems.is_empty(),
        "expected a clean store, got {:#?}",
        rep.problems
    );
}

fn has(problems: &[evidence::Problem], kind: &str, subject_part: &str) -> bool {
    problems
        .iter()
        .any(|p| p.kind == kind && p.subject.contains(subject_part))
}

// ---------- init and capture ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_creates_private_key_0600_and_never_overwrites_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("evidence");
    let o1 = run(&dir, None, &["init"]).await;
    assert_eq!(code(&o1), 0, "{}", text(&o1));
    let key = dir.join("keys/signing.key");
    let before = std::fs::read(&key).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(dir.join("keys/signing.pub").exists());
    assert!(dir.join("mapsweep.db").exists());
    let fp = text(&o1)
        .lines()
        .find(|l| l.starts_with("fingerprint:"))
        .unwrap()
        .to_string();
    assert!(fp.contains("SHA256:"), "{fp}");
    let o2 = run(&dir, None, &["init"]).await;
    assert_eq!(code(&o2), 0, "{}", text(&o2));
    assert!(text(&o2).contains("existing key kept"), "{}", text(&o2));
    assert!(text(&o2).contains(&fp), "same fingerprint on re-init");
    assert_eq!(std::fs::read(&key).unwrap(), before, "key unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_records_redirect_chain_headers_and_body_and_verifies_clean() {
    let addr = site().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("evidence");
    let cfg = tmp.path().join("mapsweep.toml");
    std::fs::write(&cfg, "operator = \"Li Si\"\n").unwrap();
    assert_eq!(code(&run(&dir, None, &["init"]).await), 0);
    let url = format!("http://{addr}/redirect");
    let o = run(
        &dir,
        Some(&cfg),
        &["capture", &url, "--campaign", "ciie-2026"],
    )
    .await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("sealed record seq 0"), "{}", text(&o));

    let store = open(&dir).await;
    let recs = store.records(0, 10).await.unwrap();
    assert_eq!(recs.len(), 1);
    let c = recs[0].capture().unwrap();
    assert_eq!(c.format, "mapsweep.capture/1");
    assert_eq!(c.requested_url, url);
    assert_eq!(
        c.final_url.as_deref(),
        Some(format!("http://{addr}/page").as_str())
    );
    assert_eq!(c.redirect_chain.len(), 2);
    assert_eq!(
        (
            c.redirect_chain[0].status,
            c.redirect_chain[0].location.as_deref()
        ),
        (302, Some("/hop"))
    );
    assert_eq!(
        (
            c.redirect_chain[1].status,
            c.redirect_chain[1].location.as_deref()
        ),
        (301, Some("/page"))
    );
    assert_eq!(c.status, Some(200));
    assert_eq!(c.remote_addr.as_deref(), Some(addr.to_string().as_str()));
    assert!(
        c.headers
            .iter()
            .any(|h| h.name == "x-test" && h.value == "yes")
    );
    assert_eq!(c.environment.operator.as_deref(), Some("Li Si"));
    assert_eq!(c.environment.tool_version, mapsweep::TOOL_VERSION);
    assert_eq!(c.campaign.as_deref(), Some("ciie-2026"));
    assert_eq!(c.method.kind, "static");
    assert!(
        c.started_at.ends_with('Z') && c.started_at.len() == "2026-01-01T00:00:00.000Z".len(),
        "{}",
        c.started_at
    );
    let a = &c.artifacts[0];
    assert_eq!(a.role, ArtifactRole::Html);
    assert_eq!(store.read_blob(&a.blake3).await.unwrap(), PAGE.as_bytes());
    assert_eq!(
        a.sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(PAGE.as_bytes()))
    );
    assert!(evidence::canonical::is_canonical(
        recs[0].canonical.as_bytes()
    ));
    assert_eq!(store.record(&recs[0].id).await.unwrap(), recs[0]);

    let v = run(&dir, None, &["verify"]).await;
    assert_eq!(code(&v), 0, "{}", text(&v));
    let j = run(&dir, None, &["verify", "--format", "json"]).await;
    assert_eq!(code(&j), 0, "{}", text(&j));
    let rep: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(rep["records"], 1);
    assert_eq!(rep["problems"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_of_bad_url_is_a_clear_error_naming_it() {
    let (_tmp, dir) = fresh().await;
    let o = run(&dir, None, &["capture", "ftp://example.test/x"]).await;
    assert_eq!(code(&o), 2);
    assert!(text(&o).contains("ftp://example.test/x"), "{}", text(&o));
    let o = run(&dir, None, &["capture", "http://127.0.0.1:9/unreachable"]).await;
    assert_eq!(code(&o), 2);
    assert!(text(&o).contains("127.0.0.1:9/unreachable"), "{}", text(&o));
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
}

// ---------- log, proofs ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_links_and_proofs_hold_for_every_record() {
    let (_tmp, dir, store, recs) = populated(7).await;
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
        if i > 0 {
            assert_eq!(r.prev_record_hash, recs[i - 1].record_hash);
        }
    }
    let heads = store.tree_heads().await.unwrap();
    let h = &heads[0];
    assert_eq!(h.tree_head.tree_size, 7);
    evidence::verify_tree_head_signature(h, store.public_key()).unwrap();
    let root: merkle::Hash = hex::decode(&h.tree_head.root_hash)
        .unwrap()
        .try_into()
        .unwrap();
    for r in &recs {
        let p = store.inclusion_proof(r.seq, 7).await.unwrap();
        let path: Vec<merkle::Hash> = p
            .path
            .iter()
            .map(|x| hex::decode(x).unwrap().try_into().unwrap())
            .collect();
        let leaf = merkle::leaf_hash(r.canonical.as_bytes());
        assert!(merkle::verify_inclusion(&leaf, r.seq, 7, &path, &root));
    }
    seal_one(&store, 7).await;
    seal_one(&store, 8).await;
    let h2 = store.checkpoint().await.unwrap();
    let c = store.consistency_proof(7, 9).await.unwrap();
    let path: Vec<merkle::Hash> = c
        .path
        .iter()
        .map(|x| hex::decode(x).unwrap().try_into().unwrap())
        .collect();
    let new_root: merkle::Hash = hex::decode(&h2.tree_head.root_hash)
        .unwrap()
        .try_into()
        .unwrap();
    assert!(merkle::verify_consistency(7, 9, &root, &new_root, &path));
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
    let o = run(&dir, None, &["log", "checkpoint"]).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("tree size:   9"), "{}", text(&o));
}

// ---------- tampering: verify names the culprit ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_blob_with_one_flipped_byte() {
    let (_tmp, dir, store, recs) = populated(3).await;
    let a = &recs[1].capture().unwrap().artifacts[0];
    let path = store.blob_path(&a.blake3);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let p = problems(&dir).await;
    assert!(has(&p, "blob-hash-mismatch", &a.blake3), "{p:#?}");
    assert!(
        has(&p, "artifact-blake3-mismatch", "record seq 1"),
        "{p:#?}"
    );
    let o = run(&dir, None, &["verify"]).await;
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains(&a.blake3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_record_with_an_edited_field() {
    let (_tmp, dir, _store, recs) = populated(3).await;
    let edited = recs[1]
        .canonical
        .replace("http://example.test/1", "http://example.test/X");
    assert_ne!(edited, recs[1].canonical);
    sqlx::query("UPDATE log_records SET body = $1 WHERE seq = 1")
        .bind(edited)
        .execute(&db(&dir).await)
        .await
        .unwrap();
    let p = problems(&dir).await;
    assert!(has(&p, "record-hash-mismatch", "record seq 1"), "{p:#?}");
    assert!(has(&p, "chain-broken", "record seq 2"), "{p:#?}");
    assert!(has(&p, "tree-head-root-mismatch", "size 3"), "{p:#?}");
    let e = p.iter().find(|x| x.kind == "record-hash-mismatch").unwrap();
    assert_eq!(e.expected.as_deref(), Some(recs[1].record_hash.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_deleted_record() {
    let (_tmp, dir, _store, _recs) = populated(4).await;
    let pool = db(&dir).await;
    sqlx::query("DELETE FROM log_artifacts WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM log_records WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap();
    let p = problems(&dir).await;
    assert!(has(&p, "record-missing", "record seq 2"), "{p:#?}");
    assert!(has(&p, "chain-broken", "record seq 3"), "{p:#?}");
    assert!(has(&p, "tree-head-beyond-log", "size 4"), "{p:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_two_swapped_records() {
    let (_tmp, dir, _store, recs) = populated(4).await;
    let pool = db(&dir).await;
    let cols = "id = $1, body = $2, record_hash = $3, leaf_hash = $4, prev_record_hash = $5";
    sqlx::query("UPDATE log_records SET id = 'swap' WHERE seq = 1")
        .execute(&pool)
        .await
        .unwrap();
    for (seq, r) in [(2i64, &recs[1]), (1i64, &recs[2])] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE log_records SET {cols} WHERE seq = $6"
        )))
        .bind(r.id.to_string())
        .bind(r.canonical.clone())
        .bind(r.record_hash.clone())
        .bind(r.leaf_hash.clone())
        .bind(r.prev_record_hash.clone())
        .bind(seq)
        .execute(&pool)
        .await
        .unwrap();
    }
    let p = problems(&dir).await;
    assert!(has(&p, "record-seq-mismatch", "record seq 1"), "{p:#?}");
    assert!(has(&p, "record-seq-mismatch", "record seq 2"), "{p:#?}");
    assert!(has(&p, "chain-broken", "record seq 1"), "{p:#?}");
    assert!(has(&p, "tree-head-root-mismatch", "size 4"), "{p:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_deleted_blob_and_its_record() {
    let (_tmp, dir, store, recs) = populated(3).await;
    let a = &recs[2].capture().unwrap().artifacts[1];
    std::fs::remove_file(store.blob_path(&a.blake3)).unwrap();
    let p = problems(&dir).await;
    assert!(has(&p, "blob-missing", "record seq 2"), "{p:#?}");
    assert!(
        p.iter()
            .any(|x| x.kind == "blob-missing" && x.subject.contains(&a.blake3)),
        "{p:#?}"
    );
    assert_eq!(p.len(), 1, "{p:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_tree_head_signed_by_another_key() {
    let (_tmp, dir, store, _recs) = populated(2).await;
    let heads = store.tree_heads().await.unwrap();
    let other = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
    let forged = evidence::SignedTreeHead::sign(heads[0].tree_head.clone(), &other);
    sqlx::query("UPDATE tree_heads SET signature = $1")
        .bind(forged.signature.clone())
        .execute(&db(&dir).await)
        .await
        .unwrap();
    let p = problems(&dir).await;
    let stem = heads[0].file_stem();
    assert!(has(&p, "tree-head-bad-signature", &stem), "{p:#?}");
    assert!(evidence::verify_tree_head_signature(&forged, store.public_key()).is_err());
    assert!(
        evidence::verify_tree_head_signature(&forged, &other.verifying_key()).is_err(),
        "key id names the real key"
    );
}

// ---------- trusted time ----------

struct Tsa {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    url: String,
}

fn sh(cmd: &str, dir: &Path) {
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{cmd}: {}", text(&o));
}

/// A throwaway CA + TSA certificate and `openssl ts -reply` behind an HTTP endpoint.
async fn start_tsa() -> Tsa {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3 -subj '/CN=mapsweep test CA' \
        -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null",
        &d,
    );
    std::fs::write(d.join("ext.cnf"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n").unwrap();
    sh(
        "openssl req -newkey rsa:2048 -nodes -keyout tsa.key -out tsa.csr -subj '/CN=mapsweep test TSA' 2>/dev/null && \
        openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tsa.pem -days 3 -extfile ext.cnf 2>/dev/null",
        &d,
    );
    std::fs::write(d.join("tsaserial"), "01\n").unwrap();
    std::fs::write(
        d.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = {dir}\nserial = $dir/tsaserial\ncrypto_device = builtin\n\
             signer_cert = $dir/tsa.pem\ncerts = $dir/ca.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\n\
             default_policy = 1.2.3.4.1\nother_policies = 1.2.3.4.5\ndigests = sha256, sha384, sha512\n\
             accuracy = secs:1\nordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            dir = d.display()
        ),
    )
    .unwrap();
    let dd = d.clone();
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let addr = serve(Arc::new(move |method, _path, body| {
        if method != "POST" {
            return (405, vec![], Vec::new());
        }
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let q = dd.join(format!("q{n}.tsq"));
        let r = dd.join(format!("r{n}.tsr"));
        std::fs::write(&q, body).unwrap();
        let o = std::process::Command::new("openssl")
            .args(["ts", "-reply", "-config"])
            .arg(dd.join("tsa.cnf"))
            .arg("-queryfile")
            .arg(&q)
            .arg("-out")
            .arg(&r)
            .output()
            .unwrap();
        if !o.status.success() {
            return (500, vec![], o.stderr);
        }
        (
            200,
            vec![("content-type".into(), "application/timestamp-reply".into())],
            std::fs::read(&r).unwrap(),
        )
    }))
    .await;
    Tsa {
        ca: d.join("ca.pem"),
        url: format!("http://{addr}/tsa"),
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_gets_a_real_rfc3161_token_that_verify_and_openssl_accept() {
    let tsa = start_tsa().await;
    let (_tmp, dir) = fresh().await;
    let cfg = dir.parent().unwrap().join("tsa.toml");
    std::fs::write(&cfg, format!("[evidence]\ntsa_url = \"{}\"\n", tsa.url)).unwrap();
    let store = open(&dir).await;
    seal_one(&store, 0).await;
    let o = run(&dir, Some(&cfg), &["log", "checkpoint"]).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("RFC 3161 token"), "{}", text(&o));
    let heads = store.tree_heads().await.unwrap();
    let h = &heads[0];
    let token = hex::decode(h.tsa_token.as_ref().unwrap()).unwrap();
    let info = evidence::verify_tsa_token(&token, &h.tree_head.imprint()).unwrap();
    assert_eq!(info.policy, "1.2.3.4.1");
    assert!(info.gen_time.ends_with('Z'));
    // the same token, checked by OpenSSL against the CA (chain, EKU, ESS cert id)
    let tsr = dir
        .join("checkpoints")
        .join(format!("{}.tsr", h.file_stem()));
    assert_eq!(std::fs::read(&tsr).unwrap(), token);
    let ov = std::process::Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-in"])
        .arg(&tsr)
        .args(["-digest", &hex::encode(h.tree_head.imprint()), "-CAfile"])
        .arg(&tsa.ca)
        .output()
        .unwrap();
    assert!(ov.status.success(), "openssl ts -verify: {}", text(&ov));
    let v = run(&dir, None, &["verify"]).await;
    assert_eq!(code(&v), 0, "{}", text(&v));
    assert!(text(&v).contains("1 time-stamp tokens"), "{}", text(&v));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_tsa_token_for_other_data() {
    let tsa = start_tsa().await;
    let (_tmp, dir) = fresh().await;
    let store = EvidenceStore::open(
        &dir,
        None,
        StoreOptions {
            tsa_url: Some(tsa.url.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    seal_one(&store, 0).await;
    let first = store.checkpoint().await.unwrap();
    seal_one(&store, 1).await;
    let second = store.checkpoint().await.unwrap();
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
    // give the second tree head the first one's token (a valid token, for other data)
    sqlx::query("UPDATE tree_heads SET tsa_token = $1 WHERE tree_size = 2")
        .bind(first.tsa_token.clone())
        .execute(&db(&dir).await)
        .await
        .unwrap();
    let p = problems(&dir).await;
    let bad = p
        .iter()
        .find(|x| x.kind == "tsa-token-invalid")
        .unwrap_or_else(|| panic!("{p:#?}"));
    assert!(bad.subject.contains(&second.file_stem()), "{bad:?}");
    assert_eq!(
        bad.expected.as_deref(),
        Some(hex::encode(second.tree_head.imprint()).as_str())
    );
    assert_eq!(
        bad.found.as_deref(),
        Some(hex::encode(first.tree_head.imprint()).as_str())
    );
    assert!(matches!(
        evidence::verify_tsa_token(
            &hex::decode(first.tsa_token.unwrap()).unwrap(),
            &second.tree_head.imprint()
        ),
        Err(evidence::tsa::TsaError::ImprintMismatch { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tsa_token_with_a_tampered_signature_is_rejected() {
    let tsa = start_tsa().await;
    let (_tmp, dir) = fresh().await;
    let store = EvidenceStore::open(
        &dir,
        None,
        StoreOptions {
            tsa_url: Some(tsa.url.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let h = store.checkpoint().await.unwrap();
    let mut token = hex::decode(h.tsa_token.unwrap()).unwrap();
    let n = token.len();
    token[n - 10] ^= 0x40; // inside the signature value at the end of the SignerInfo
    assert!(evidence::verify_tsa_token(&token, &h.tree_head.imprint()).is_err());
}

// ---------- crash safety ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_the_middle_of_sealing_leaves_a_clean_store_without_the_capture() {
    let addr = site().await;
    let (_tmp, dir, store, _recs) = populated(1).await;
    drop(store);
    let flag = dir.parent().unwrap().join("paused");
    let mut child = tokio::process::Command::new(BIN)
        .args(["capture", &format!("http://{addr}/page")])
        .env("MAPSWEEP_DATA_DIR", &dir)
        .env(evidence::TEST_PAUSE_IN_SEAL_ENV, &flag)
        .env_remove("DATABASE_URL")
        .current_dir(dir.parent().unwrap())
        .spawn()
        .unwrap();
    // wait until the process is inside the seal transaction (record inserted, not committed)
    let mut waited = 0;
    while !flag.exists() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
        assert!(waited < 2400, "the capture never reached the seal");
    }
    child.kill().await.unwrap(); // SIGKILL
    let _ = child.wait().await;
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 1, "the half-done capture is absent");
    // the log continues where it was: the next capture gets seq 1
    let o = run(&dir, None, &["capture", &format!("http://{addr}/page")]).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("seq 1 "), "{}", text(&o));
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
}

/// The dedupe rule (see `src/evidence/blob.rs`): blobs get no fsync of their own, so a crash
/// before the group's `syncfs` can leave a blob's final name holding partial data. Such a file
/// must never be trusted on a dedupe hit: the next seal of the same content re-checks it and
/// replaces it, and verify is clean afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_hit_rechecks_an_existing_blob_file_and_replaces_a_corrupt_one() {
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let streamed: Vec<u8> = (0..70_000u32).map(|i| (i % 241) as u8).collect();
    let name = blake3::hash(&content).to_hex().to_string();
    let name_s = blake3::hash(&streamed).to_hex().to_string();
    // what a crash can leave: the rename reached the disk, the data only partly (or not at all)
    let planted = [
        (&name, content[..4096].to_vec()),
        (&name_s, {
            let mut v = streamed.clone();
            v[1000] ^= 0xff; // right size, wrong bytes: only the re-hash can tell
            v
        }),
    ];
    for (n, bytes) in &planted {
        let p = store.blob_path(n);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
    }
    let p = problems(&dir).await;
    assert!(has(&p, "blob-hash-mismatch", &name), "{p:#?}");
    assert!(has(&p, "blob-hash-mismatch", &name_s), "{p:#?}");

    let mut b = store.begin_capture(CaptureMeta::new(
        "http://example.test/page",
        CaptureMethod::static_fetch("test-agent"),
    ));
    let a = b
        .add_artifact(ArtifactRole::Html, None, "text/html", &content)
        .await
        .unwrap();
    let s = b
        .add_artifact_stream(ArtifactRole::Resource, None, "image/png", &streamed[..])
        .await
        .unwrap();
    assert_eq!(
        (a.blake3.as_str(), s.blake3.as_str()),
        (name.as_str(), name_s.as_str())
    );
    let rec = b.seal().await.unwrap();
    assert!(
        std::fs::read(store.blob_path(&name)).unwrap() == content,
        "the truncated blob file {name} was kept instead of replaced"
    );
    assert!(
        std::fs::read(store.blob_path(&name_s)).unwrap() == streamed,
        "the blob file {name_s} with a flipped byte was kept instead of replaced"
    );
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 1);
    assert_eq!(rec.capture().unwrap().artifacts.len(), 2);
    // a matching blob is a plain dedupe hit: same file, not rewritten
    let ino = |n: &str| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(store.blob_path(n)).unwrap().ino()
    };
    let before = ino(&name);
    let mut b = store.begin_capture(CaptureMeta::new(
        "http://example.test/again",
        CaptureMethod::static_fetch("test-agent"),
    ));
    b.add_artifact(ArtifactRole::Html, None, "text/html", &content)
        .await
        .unwrap();
    b.seal().await.unwrap();
    assert_eq!(ino(&name), before, "a blob that matches is never rewritten");
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
    assert_eq!(
        std::fs::read_dir(dir.join("tmp")).unwrap().count(),
        0,
        "no temp file left"
    );
}

// ---------- bad input ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_data_dir_is_a_clear_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let dir = file.join("evidence");
    let o = run(&dir, None, &["init"]).await;
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains(&dir.display().to_string()),
        "{}",
        text(&o)
    );

    // a read-only data dir (permission bits do not bind root, so only as a normal user)
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(true);
    if is_root {
        eprintln!(
            "skipping the read-only-permission half: running as root, which ignores mode bits"
        );
        return;
    }
    let addr = site().await;
    let (_t2, dir) = fresh().await;
    use std::os::unix::fs::PermissionsExt;
    for sub in ["blobs", "tmp"] {
        std::fs::set_permissions(dir.join(sub), std::fs::Permissions::from_mode(0o500)).unwrap();
    }
    let o = run(&dir, None, &["capture", &format!("http://{addr}/page")]).await;
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains(&dir.display().to_string()),
        "{}",
        text(&o)
    );
    for sub in ["blobs", "tmp"] {
        std::fs::set_permissions(dir.join(sub), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_fails_the_capture_clearly_and_keeps_what_was_sealed() {
    let addr = site().await;
    let (_tmp, dir, store, _recs) = populated(2).await;
    drop(store);
    // RLIMIT_FSIZE of 1 MiB: writing the 4 MiB body fails with EFBIG (SIGXFSZ ignored)
    let cmd = format!("trap '' XFSZ; ulimit -f 1024; exec {BIN} capture http://{addr}/big");
    let o = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&cmd)
        .env("MAPSWEEP_DATA_DIR", &dir)
        .env_remove("DATABASE_URL")
        .current_dir(dir.parent().unwrap())
        .output()
        .await
        .unwrap();
    assert_eq!(code(&o), 2, "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("cannot write blob file") && t.contains(&dir.display().to_string()),
        "{t}"
    );
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 2);
    assert_eq!(
        std::fs::read_dir(dir.join("tmp")).unwrap().count(),
        0,
        "no temp file left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_database_is_a_clear_error_and_blobs_survive() {
    let addr = site().await;
    let (_tmp, dir, store, recs) = populated(2).await;
    store.pool().close().await;
    drop(store);
    let dbf = dir.join("mapsweep.db");
    let _ = std::fs::remove_file(dir.join("mapsweep.db-wal"));
    let _ = std::fs::remove_file(dir.join("mapsweep.db-shm"));
    let mut bytes = std::fs::read(&dbf).unwrap();
    for b in bytes.iter_mut().take(100) {
        *b = b'#';
    }
    std::fs::write(&dbf, bytes).unwrap();
    for args in [
        vec!["capture".to_string(), format!("http://{addr}/page")],
        vec!["verify".to_string()],
        vec!["log".to_string(), "checkpoint".to_string()],
    ] {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&dir, None, &a).await;
        assert_eq!(code(&o), 2, "{a:?}: {}", text(&o));
        assert!(text(&o).contains("mapsweep.db"), "{a:?}: {}", text(&o));
    }
    for r in &recs {
        for a in &r.capture().unwrap().artifacts {
            let path = dir.join("blobs").join(&a.blake3[0..2]).join(&a.blake3);
            assert_eq!(evidence::blob::hash_file(&path).unwrap().blake3, a.blake3);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_serialised_never_interleaved() {
    let addr = site().await;
    let (_tmp, dir) = fresh().await;
    let url = format!("http://{addr}/page");
    let mut children = Vec::new();
    for _ in 0..4 {
        let (dir, url) = (dir.clone(), url.clone());
        children.push(async move { run(&dir, None, &["capture", &url]).await });
    }
    let outs = futures_join(children).await;
    for o in &outs {
        assert_eq!(code(o), 0, "{}", text(o));
    }
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 4);
    let store = open(&dir).await;
    let seqs: Vec<u64> = store
        .records(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
}

async fn futures_join(
    futs: Vec<impl std::future::Future<Output = Output> + Send + 'static>,
) -> Vec<Output> {
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_cannot_get_the_lock_refuses_clearly() {
    let addr = site().await;
    let (_tmp, dir, store, _recs) = populated(1).await;
    drop(store);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("write.lock"))
        .unwrap();
    lock.lock().unwrap();
    let cfg = dir.parent().unwrap().join("lock.toml");
    std::fs::write(&cfg, "[evidence]\nlock_timeout_secs = 0\n").unwrap();
    let o = run(
        &dir,
        Some(&cfg),
        &["capture", &format!("http://{addr}/page")],
    )
    .await;
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("write.lock"), "{}", text(&o));
    lock.unlock().unwrap();
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_manifest_format_is_named_and_earlier_records_still_verify() {
    let (_tmp, dir, store, recs) = populated(2).await;
    // a record from a future mapsweep: well chained, but format capture/9
    let mut v: serde_json::Value = serde_json::from_str(&recs[1].canonical).unwrap();
    let id = uuid::Uuid::now_v7();
    v["format"] = "mapsweep.capture/9".into();
    v["seq"] = 2.into();
    v["id"] = id.to_string().into();
    v["prev_record_hash"] = recs[1].record_hash.clone().into();
    let body = String::from_utf8(evidence::canonical::value_to_vec(&v).unwrap()).unwrap();
    let rh = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
    let lh = hex::encode(merkle::leaf_hash(body.as_bytes()));
    sqlx::query("INSERT INTO log_records (seq, id, format, body, record_hash, leaf_hash, prev_record_hash, sealed_at) VALUES (2, $1, 'mapsweep.capture/9', $2, $3, $4, $5, 'x')")
        .bind(id.to_string())
        .bind(body)
        .bind(rh)
        .bind(lh)
        .bind(recs[1].record_hash.clone())
        .execute(&db(&dir).await)
        .await
        .unwrap();
    let p = problems(&dir).await;
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(has(&p, "record-unknown-format", "record seq 2"), "{p:#?}");
    assert!(p[0].message.contains("mapsweep.capture/9"));
    let err = store.record(&id).await.unwrap_err();
    assert!(
        matches!(err, EvidenceError::UnknownFormat { seq: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("mapsweep.capture/9"));
    assert_eq!(store.record(&recs[0].id).await.unwrap(), recs[0]);
    let e = store
        .seal_record(
            "mapsweep.capture/9",
            uuid::Uuid::now_v7(),
            serde_json::Map::new(),
            &[],
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("mapsweep.capture/9"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_artifacts_hash_the_same_as_bytes() {
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut b = store.begin_capture(CaptureMeta::new(
        "http://example.test/s",
        CaptureMethod::static_fetch("t"),
    ));
    let a1 = b
        .add_artifact_stream(
            ArtifactRole::Resource,
            None,
            "application/octet-stream",
            &data[..],
        )
        .await
        .unwrap();
    let a2 = b
        .add_artifact(
            ArtifactRole::Other("tile".into()),
            None,
            "application/octet-stream",
            &data,
        )
        .await
        .unwrap();
    assert_eq!(
        (a1.blake3.clone(), a1.sha256.clone(), a1.size),
        (a2.blake3.clone(), a2.sha256.clone(), a2.size)
    );
    assert_eq!(a1.blake3, blake3::hash(&data).to_hex().to_string());
    let r = b.seal().await.unwrap();
    assert_eq!(r.capture().unwrap().artifacts[1].role.as_str(), "tile");
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
    let _ = HashMap::<u8, u8>::new();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_tsa_still_stores_the_signed_tree_head_and_says_so() {
    let (_tmp, dir, store, _recs) = populated(1).await;
    drop(store);
    let cfg = dir.parent().unwrap().join("down.toml");
    std::fs::write(&cfg, "[evidence]\ntsa_url = \"http://127.0.0.1:9/tsa\"\n").unwrap();
    let o = run(&dir, Some(&cfg), &["log", "checkpoint"]).await;
    assert_eq!(code(&o), 2, "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("127.0.0.1:9/tsa") && t.contains("signed and stored"),
        "{t}"
    );
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!((rep.tree_heads, rep.tsa_tokens), (2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_head_imprint_can_be_recomputed_from_the_exported_json_by_hand() {
    let (_tmp, dir, store, _recs) = populated(2).await;
    let h = &store.tree_heads().await.unwrap()[0];
    let file = dir
        .join("checkpoints")
        .join(format!("{}.json", h.file_stem()));
    // the README's recipe: sorted keys, no whitespace, SHA-256
    let script = "import json,hashlib,sys; h=json.load(open(sys.argv[1]))['tree_head']; \
                  print(hashlib.sha256(json.dumps(h,sort_keys=True,separators=(',',':'),ensure_ascii=False).encode()).hexdigest())";
    let Ok(o) = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
    else {
        eprintln!("skipping: python3 not available");
        return;
    };
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        hex::encode(h.tree_head.imprint())
    );
}

/// A tmpfs mounted for one test, unmounted on drop (needs root and mount rights).
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn try_tmpfs(dir: &Path, size: &str) -> Option<Mount> {
    std::fs::create_dir_all(dir).ok()?;
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?
        .success();
    ok.then(|| Mount(dir.to_path_buf()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_tmpfs_full_disk_fails_clearly_and_keeps_what_was_sealed() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_mount) = try_tmpfs(&tmp.path().join("mnt"), "3m") else {
        eprintln!(
            "skipping: cannot mount a tmpfs here (needs root); RLIMIT_FSIZE test covers a full disk"
        );
        return;
    };
    let addr = site().await;
    let dir = tmp.path().join("mnt").join("evidence");
    assert_eq!(code(&run(&dir, None, &["init"]).await), 0);
    let o = run(&dir, None, &["capture", &format!("http://{addr}/page")]).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&dir, None, &["capture", &format!("http://{addr}/big")]).await;
    assert_eq!(code(&o), 2, "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains(&dir.display().to_string()) && t.contains("No space left"),
        "{t}"
    );
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 1);
    assert_eq!(
        std::fs::read_dir(dir.join("tmp")).unwrap().count(),
        0,
        "no temp file left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_data_dir_is_a_clear_error_and_keeps_what_was_sealed() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    let Some(_mount) = try_tmpfs(&mnt, "16m") else {
        eprintln!("skipping: cannot mount a tmpfs here (needs root)");
        return;
    };
    let addr = site().await;
    let dir = mnt.join("evidence");
    assert_eq!(code(&run(&dir, None, &["init"]).await), 0);
    let o = run(&dir, None, &["capture", &format!("http://{addr}/page")]).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    let remount = |mode: &str| {
        std::process::Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&mnt)
            .status()
            .unwrap()
            .success()
    };
    assert!(remount("ro"));
    let o = run(&dir, None, &["capture", &format!("http://{addr}/page")]).await;
    assert!(remount("rw"));
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains(&dir.display().to_string()),
        "{}",
        text(&o)
    );
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 1);
}

// ---------- group commit ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_seals_in_one_process_get_contiguous_seqs_and_a_clean_chain() {
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    // 24 captures in flight at once: seals queue up and commit in groups
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { seal_one(&store, i).await }));
    }
    let mut sealed = Vec::new();
    for t in tasks {
        sealed.push(t.await.unwrap());
    }
    let mut seqs: Vec<u64> = sealed.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..24).collect::<Vec<u64>>(), "one seq each, no gap");
    // what each seal returned is exactly what the log holds at that seq
    let log = store.records(0, 100).await.unwrap();
    for r in &sealed {
        assert_eq!(&log[r.seq as usize], r);
    }
    // the chain follows the seq order
    for w in log.windows(2) {
        assert_eq!(w[1].prev_record_hash, w[0].record_hash);
    }
    store.checkpoint().await.unwrap();
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seals_interleaved_with_other_writes_of_the_process_never_hit_database_is_locked() {
    // A sweep seals pages while it also records findings and saves its state through the same
    // pool. A seal's transaction reads the log head, then inserts: begun deferred, SQLite
    // refuses it at once ("database is locked") when another connection commits in between.
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    sqlx::query("CREATE TABLE other_writes (n INTEGER NOT NULL)")
        .execute(store.pool())
        .await
        .unwrap();
    let writer = {
        let pool = store.pool().clone();
        tokio::spawn(async move {
            for n in 0..400i64 {
                sqlx::query("INSERT INTO other_writes (n) VALUES ($1)")
                    .bind(n)
                    .execute(&pool)
                    .await
                    .expect("other write");
            }
        })
    };
    let mut tasks = Vec::new();
    for i in 0..60 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            tokio::task::yield_now().await;
            seal_one(&store, i).await
        }));
    }
    for t in tasks {
        t.await
            .expect("every seal succeeds while other writes go on");
    }
    writer.await.unwrap();
    store.checkpoint().await.unwrap();
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_record_in_a_group_commit_fails_alone() {
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    // 12 seals at once, two of them with the same record id (the second must fail on the
    // id's UNIQUE constraint); whether or not they share a group, only that one fails
    let dup = uuid::Uuid::now_v7();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = store.clone();
        let id = if i == 3 || i == 8 {
            dup
        } else {
            uuid::Uuid::now_v7()
        };
        tasks.push(tokio::spawn(async move {
            let mut fields = serde_json::Map::new();
            fields.insert("note".into(), format!("case event {i}").into());
            store
                .seal_record("mapsweep.case-event/1", id, fields, &[])
                .await
        }));
    }
    let mut ok = 0;
    let mut failed = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => failed.push(e.to_string()),
        }
    }
    assert_eq!(ok, 11, "{failed:?}");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("insert the record"), "{failed:?}");
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 11);
    let seqs: Vec<u64> = store
        .records(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, (0..11).collect::<Vec<u64>>());
}

// ---------- PostgreSQL ----------

/// A throwaway PostgreSQL cluster on 127.0.0.1 (initdb + pg_ctl in a temp dir), stopped on drop.
struct Pg {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    as_user: Option<&'static str>,
    url: String,
}

/// A PostgreSQL tool, run as the `postgres` user when we are root (initdb refuses root).
fn pg_cmd(bin: &Path, as_user: Option<&str>, tool: &str) -> std::process::Command {
    let exe = bin.join(tool);
    match as_user {
        Some(u) => {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", u, "--"]).arg(exe);
            c
        }
        None => std::process::Command::new(exe),
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = pg_cmd(&self.bin, self.as_user, "pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The directory holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/*/bin.
fn pg_bindir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path().join("bin")).collect();
        v.sort();
        v.reverse();
        dirs.extend(v);
    }
    dirs.into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

fn id_of(args: &[&str]) -> Option<u32> {
    let o = std::process::Command::new("id").args(args).output().ok()?;
    if !o.status.success() {
        return None;
    }
    String::from_utf8_lossy(&o.stdout).trim().parse().ok()
}

/// Starts a cluster, or says why it cannot.
fn start_pg() -> Result<Pg, String> {
    let bin = pg_bindir().ok_or("no initdb/pg_ctl on PATH or under /usr/lib/postgresql")?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let as_user = if id_of(&["-u"]) == Some(0) {
        let (Some(uid), Some(gid)) = (id_of(&["-u", "postgres"]), id_of(&["-g", "postgres"]))
        else {
            return Err("running as root and there is no postgres user to run the server".into());
        };
        std::os::unix::fs::chown(tmp.path(), Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        Some("postgres")
    } else {
        None
    };
    let data = tmp.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let init = pg_cmd(&bin, as_user, "initdb")
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !init.status.success() {
        return Err(format!("initdb failed: {}", text(&init)));
    }
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1",
        tmp.path().display()
    );
    let start = pg_cmd(&bin, as_user, "pg_ctl")
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(tmp.path().join("server.log"))
        .args(["-w", "-t", "60", "-o", &opts, "start"])
        .output()
        .map_err(|e| format!("pg_ctl: {e}"))?;
    let pg = Pg {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        _tmp: tmp,
        data,
        bin,
        as_user,
    };
    if !start.status.success() {
        return Err(format!("pg_ctl start failed: {}", text(&start)));
    }
    Ok(pg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_init_capture_checkpoint_and_verify_against_a_throwaway_cluster() {
    let pg = match tokio::task::spawn_blocking(start_pg).await.unwrap() {
        Ok(pg) => pg,
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL is needed under CI=true (.ci/run installs it): {why}"
            );
            eprintln!("skipping the PostgreSQL test: {why}");
            return;
        }
    };
    let addr = site().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("evidence");
    let env = [("DATABASE_URL", pg.url.as_str())];
    let o = run_env(&dir, None, &["init"], &env).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    for _ in 0..2 {
        let o = run_env(
            &dir,
            None,
            &["capture", &format!("http://{addr}/page")],
            &env,
        )
        .await;
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let o = run_env(&dir, None, &["log", "checkpoint"], &env).await;
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run_env(&dir, None, &["verify"], &env).await;
    assert_eq!(code(&o), 0, "{}", text(&o));

    // group commit on PostgreSQL: 8 seals in flight in one process continue the same chain
    let store = EvidenceStore::open(&dir, Some(&pg.url), StoreOptions::default())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { seal_one(&store, i).await }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (2..10).collect::<Vec<u64>>());
    store.checkpoint().await.unwrap();
    let rep = verify_data_dir(&dir, Some(&pg.url)).await.unwrap();
    assert_clean(&rep);
    assert_eq!(rep.records, 10);
    // the records really are in PostgreSQL
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM log_records")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(n, 10);
    store.pool().close().await;
}

// ---------- index rows written with the record ----------

/// A capture with one map artifact, and a finding on it, sealed in one transaction.
async fn seal_with_finding(
    store: &EvidenceStore,
    i: usize,
    tamper: bool,
) -> Result<SealedRecord, EvidenceError> {
    use mapsweep::findings::{NewFinding, index_hook};
    let mut b = store.begin_capture(CaptureMeta::new(
        &format!("http://example.test/map/{i}"),
        CaptureMethod::static_fetch("test-agent"),
    ));
    let map = b
        .add_artifact(
            ArtifactRole::MapCandidate,
            Some("http://example.test/map.png"),
            "image/png",
            format!("map {i}").as_bytes(),
        )
        .await
        .unwrap();
    let nf = NewFinding {
        capture_id: b.id(),
        // a finding on an artifact the capture does not list must not be recorded
        artifact_blake3: if tamper {
            "00".repeat(32)
        } else {
            map.blake3.clone()
        },
        artifact_url: map.source_url.clone(),
        artifact_role: "map-candidate".into(),
        verdict: "violation".into(),
        map: serde_json::json!({"region": "world"}),
        rules: vec![],
        overlay: None,
        check_report: None,
    };
    // the same artifact twice on one page is one finding
    b.seal_with(Some(index_hook(vec![nf.clone(), nf]))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_commit_in_the_seal_transaction_and_a_failing_hook_seals_nothing() {
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    let ok = seal_with_finding(&store, 0, false).await.unwrap();
    let found = mapsweep::findings::list(store.pool(), &Default::default())
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].capture_id, ok.id);
    assert_eq!(found[0].page_url, "http://example.test/map/0");

    let err = seal_with_finding(&store, 1, true).await.unwrap_err();
    assert!(
        matches!(&err, EvidenceError::Index { .. }) && err.to_string().contains("does not list"),
        "{err}"
    );
    // neither the record nor a finding of the failed seal exists, and the log still verifies
    assert_eq!(store.log_size().await.unwrap(), 1);
    let found = mapsweep::findings::list(store.pool(), &Default::default())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    // concurrent seals with findings share group commits and each gets its own finding
    let mut set = tokio::task::JoinSet::new();
    for i in 2..12 {
        let s = store.clone();
        set.spawn(async move { seal_with_finding(&s, i, false).await.unwrap() });
    }
    while set.join_next().await.is_some() {}
    let found = mapsweep::findings::list(store.pool(), &Default::default())
        .await
        .unwrap();
    assert_eq!(found.len(), 11);
    store.checkpoint().await.unwrap();
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
}

/// The artifact index rows are inserted in chunks; a capture with more artifacts than one
/// chunk holds must index each of them once, in manifest order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_with_hundreds_of_artifacts_indexes_every_one_in_order() {
    use sqlx::Row;
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    let mut b = store.begin_capture(CaptureMeta::new(
        "http://example.test/many",
        CaptureMethod::static_fetch("test-agent"),
    ));
    let mut names = Vec::new();
    for i in 0..450 {
        let a = b
            .add_artifact(
                ArtifactRole::Resource,
                Some(&format!("http://example.test/r/{i}")),
                "text/plain",
                format!("resource {i}").as_bytes(),
            )
            .await
            .unwrap();
        names.push(a.blake3);
    }
    let rec = b.seal().await.unwrap();
    let rows = sqlx::query("SELECT idx, blake3 FROM log_artifacts WHERE seq = $1 ORDER BY idx")
        .bind(rec.seq as i64)
        .fetch_all(store.pool())
        .await
        .unwrap();
    let got: Vec<(i32, String)> = rows
        .iter()
        .map(|r| (r.get::<i32, _>(0), r.get::<String, _>(1)))
        .collect();
    let want: Vec<(i32, String)> = names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (i as i32, n))
        .collect();
    assert_eq!(got, want);
    store.checkpoint().await.unwrap();
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
}

/// A checkpoint hashes only the records sealed since the previous one of the same process
/// (a daemon checkpoints after every run); its root must equal the one computed from scratch
/// by another process, and verify must accept every tree head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_checkpoints_sign_the_same_roots_as_a_full_recomputation() {
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    let mut heads = Vec::new();
    let mut i = 0;
    for batch in [1usize, 2, 5, 0, 9, 16] {
        for _ in 0..batch {
            seal_one(&store, i).await;
            i += 1;
        }
        heads.push(store.checkpoint().await.unwrap());
    }
    // another process (fresh cache) computes the whole tree
    let other = open(&dir).await;
    let full = other.checkpoint().await.unwrap();
    let last = heads.last().unwrap();
    assert_eq!(full.tree_head.tree_size, last.tree_head.tree_size);
    assert_eq!(full.tree_head.root_hash, last.tree_head.root_hash);
    // and the first store goes on from its cache after the other sealed more
    seal_one(&other, 1000).await;
    let next = store.checkpoint().await.unwrap();
    assert_eq!(next.tree_head.tree_size, full.tree_head.tree_size + 1);
    let rep = verify_data_dir(&dir, None).await.unwrap();
    assert_clean(&rep);
    // checkpoints of one size in one millisecond share a stored head
    let stored: std::collections::BTreeSet<(u64, i64)> = heads
        .iter()
        .chain([&full, &next])
        .map(|h| (h.tree_head.tree_size, h.tree_head.timestamp_ms))
        .collect();
    assert_eq!(rep.tree_heads, stored.len() as u64);
}

/// Two checkpoints of an unchanged log in the same millisecond (a daemon's runs ending
/// together) once failed on the tree heads' unique (size, time) key; the second returns the
/// head the first stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_of_an_unchanged_log_in_the_same_millisecond_both_succeed() {
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    seal_one(&store, 0).await;
    let mut heads = Vec::new();
    for _ in 0..200 {
        heads.push(store.checkpoint().await.unwrap());
    }
    assert!(heads.iter().all(|h| h.tree_head.tree_size == 1));
    let same_ms = heads
        .windows(2)
        .filter(|w| w[0].tree_head.timestamp_ms == w[1].tree_head.timestamp_ms)
        .count();
    // not asserted: a slow machine may never land two in one millisecond
    eprintln!("{same_ms} of 199 consecutive checkpoints shared a millisecond");
    assert_clean(&verify_data_dir(&dir, None).await.unwrap());
}

/// Guards the batched artifact write the sweep uses: new bytes (small and large) and a blob
/// stored by an earlier capture come back in input order with the digests of one-by-one
/// writes; a stored blob the store does not hold is refused by name; verify passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_artifacts_writes_a_batch_in_order_and_lists_stored_blobs_without_their_bytes() {
    use mapsweep::evidence::{ArtifactContent, NewArtifact};
    let (_tmp, dir) = fresh().await;
    let store = open(&dir).await;
    let first = seal_one(&store, 0).await;
    let earlier = first.capture().unwrap().artifacts[0].clone();
    let large: Vec<u8> = (0..(3 << 20) as u32).map(|i| (i * 7 % 251) as u8).collect();
    let item = |role, content| NewArtifact {
        role,
        source_url: Some("http://example.test/batch".into()),
        media_type: "application/octet-stream".into(),
        content,
    };
    let stored = evidence::BlobInfo {
        blake3: earlier.blake3.clone(),
        sha256: earlier.sha256.clone(),
        size: earlier.size,
    };
    let mut b = store.begin_capture(CaptureMeta::new(
        "http://example.test/batch",
        CaptureMethod::static_fetch("test-agent"),
    ));
    let refs = b
        .add_artifacts(vec![
            item(
                ArtifactRole::Html,
                ArtifactContent::Bytes(b"<p>one</p>".to_vec()),
            ),
            item(
                ArtifactRole::Resource,
                ArtifactContent::Bytes(large.clone()),
            ),
            item(ArtifactRole::MapCandidate, ArtifactContent::Stored(stored)),
            item(
                ArtifactRole::Screenshot,
                ArtifactContent::Bytes(b"two".to_vec()),
            ),
        ])
        .await
        .unwrap();
    let roles: Vec<&str> = refs.iter().map(|r| r.role.as_str()).collect();
    assert_eq!(roles, ["html", "resource", "map-candidate", "screenshot"]);
    for (r, bytes) in refs.iter().zip([&b"<p>one</p>"[..], &large, b"", b"two"]) {
        if r.role.as_str() == "map-candidate" {
            assert_eq!(r.blake3, earlier.blake3);
            continue;
        }
        let want = evidence::blob::hash_bytes(bytes);
        assert_eq!(
            (&r.blake3, &r.sha256, r.size),
            (&want.blake3, &want.sha256, want.size)
        );
    }
    let rec = b.seal().await.unwrap();
    assert_eq!(rec.capture().unwrap().artifacts.len(), 4);

    let missing = evidence::blob::hash_bytes(b"never stored");
    let mut b = store.begin_capture(CaptureMeta::new(
        "http://example.test/missing",
        CaptureMethod::static_fetch("test-agent"),
    ));
    let err = b
        .add_artifacts(vec![item(
            ArtifactRole::MapCandidate,
            ArtifactContent::Stored(missing.clone()),
        )])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EvidenceError::MissingBlob { blake3, .. } if *blake3 == missing.blake3),
        "{err}"
    );
    assert!(
        problems(&dir).await.is_empty(),
        "{:?}",
        problems(&dir).await
    );
}
