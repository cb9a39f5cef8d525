//! Findings, reviews, cases and the case bundle (issue 5, plus `findings` of issue 4).
//!
//! Captures are sealed here directly with `EvidenceStore` (PNG "map", "overlay" and
//! "screenshot" artifacts drawn with the `image` crate, a hand-built rules list), so these
//! tests need neither the crawler nor the map checker. Tests that print the PDF need Chromium:
//! they fail when CI=true and it is missing, else they are skipped with a printed reason.

use mapsweep::case::bundle::{self, verify_bundle};
use mapsweep::case::export::{ExportOptions, export_case};
use mapsweep::case::review::{Decision, review};
use mapsweep::case::{self, NewCase};
use mapsweep::evidence::{ArtifactRole, CaptureMeta, CaptureMethod, EvidenceStore, StoreOptions};
use mapsweep::findings::{self, FindingFilter, NewFinding, ReviewState, RuleResult};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mapsweep");

/// A distinctive colour drawn in every test map, to find it again in rendered PDF pages.
const MAP_RED: [u8; 3] = [220, 20, 60];

fn png(w: u32, h: u32, seed: u32, accent: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let stripe = (x / 16 + y / 16 + seed).is_multiple_of(5);
        let centre = x > w / 3 && x < w * 2 / 3 && y > h / 3 && y < h * 2 / 3;
        if stripe || centre {
            image::Rgb(accent)
        } else {
            image::Rgb([235, 240, 250])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn new_store(dir: &Path) -> EvidenceStore {
    EvidenceStore::init(dir, None).await.expect("init");
    EvidenceStore::open(
        dir,
        None,
        StoreOptions {
            operator: Some("张三 Zhang San".into()),
            campaign: Some("ciie-2026".into()),
            ..StoreOptions::default()
        },
    )
    .await
    .expect("open")
}

/// Seals one capture of a page with a map (and optionally a full-page screenshot) and records
/// the checked map as a finding. Returns the finding id.
async fn seal_finding(store: &EvidenceStore, n: u32, violation: bool, screenshot: bool) -> String {
    let url = format!("http://127.0.0.1:9/site/page-{n}.html");
    let mut meta = CaptureMeta::new(&url, CaptureMethod::static_fetch("mapsweep-test/1"));
    meta.robots = Some("obeyed".into());
    let mut b = store.begin_capture(meta);
    b.set_status(200);
    b.set_remote_addr(Some("127.0.0.1:9".into()));
    let body = format!("<html><body><h1>Page {n}</h1><img src=\"map-{n}.png\"></body></html>");
    b.add_artifact(ArtifactRole::Html, Some(&url), "text/html", body.as_bytes())
        .await
        .expect("html");
    if screenshot {
        b.add_artifact(
            ArtifactRole::Screenshot,
            None,
            "image/png",
            &png(400, 900, n, [90, 90, 200]),
        )
        .await
        .expect("screenshot");
    }
    let map_url = format!("http://127.0.0.1:9/site/map-{n}.png");
    let map = b
        .add_artifact(
            ArtifactRole::MapCandidate,
            Some(&map_url),
            "image/png",
            &png(320, 240, n, MAP_RED),
        )
        .await
        .expect("map");
    let overlay = b
        .add_artifact(
            ArtifactRole::Overlay,
            None,
            "image/png",
            &png(320, 240, n + 1, [255, 160, 0]),
        )
        .await
        .expect("overlay");
    let rules = vec![
        RuleResult {
            rule: "taiwan".into(),
            status: if violation {
                "violation".into()
            } else {
                "pass".into()
            },
            confidence: 0.93,
            message: "Taiwan is filled in a different colour from the mainland".into(),
        },
        RuleResult {
            rule: "south_china_sea".into(),
            status: if violation {
                "violation".into()
            } else {
                "pass".into()
            },
            confidence: 0.81,
            message: "no South China Sea islands inset and no dashed line".into(),
        },
        RuleResult {
            rule: "zangnan".into(),
            status: "pass".into(),
            confidence: 0.9,
            message: "Zangnan inside China".into(),
        },
    ];
    let verdict = if violation { "violation" } else { "compliant" };
    let report = serde_json::json!({"verdict": verdict, "rules": rules});
    let report_ref = b
        .add_artifact(
            ArtifactRole::Other("check-report".into()),
            None,
            "application/json",
            report.to_string().as_bytes(),
        )
        .await
        .expect("report");
    let rec = b.seal().await.expect("seal");
    let f = findings::insert(
        store,
        &NewFinding {
            capture_id: rec.id,
            artifact_blake3: map.blake3,
            artifact_url: Some(map_url),
            artifact_role: "map-candidate".into(),
            verdict: verdict.into(),
            map: serde_json::json!({"region": "world", "projection": "equirectangular", "fit": 0.97}),
            rules,
            overlay: Some(overlay.blake3),
            check_report: Some(report_ref.blake3),
        },
    )
    .await
    .expect("insert finding");
    f.finding_id
}

fn run(data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run mapsweep");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Chromium for the PDF tests: `None` means skip (a reason was printed); panics under CI.
fn chromium() -> Option<PathBuf> {
    match mapsweep::case::report::find_chromium(None) {
        Ok(p) => Some(p),
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and Chromium is missing: {e}");
            }
            eprintln!("skipped: {e}");
            None
        }
    }
}

fn unzip(zip_path: &Path) -> BTreeMap<String, Vec<u8>> {
    let f = std::fs::File::open(zip_path).expect("open zip");
    let mut z = zip::ZipArchive::new(f).expect("read zip");
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).expect("entry");
        let name = e.name().expect("name").to_string();
        let mut b = Vec::new();
        e.read_to_end(&mut b).expect("read entry");
        out.insert(name, b);
    }
    out
}

fn write_zip(path: &Path, files: &BTreeMap<String, Vec<u8>>) {
    let f = std::fs::File::create(path).expect("create zip");
    let mut z = zip::ZipWriter::new(f);
    for (name, bytes) in files {
        z.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .expect("start");
        z.write_all(bytes).expect("write");
    }
    z.finish().expect("finish");
}

fn unpack(files: &BTreeMap<String, Vec<u8>>, dir: &Path) {
    for (name, bytes) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }
}

#[test]
fn findings_index_sealed_captures_filter_and_stay_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ev");
    rt().block_on(async {
        let store = new_store(&data).await;
        let a = seal_finding(&store, 1, true, true).await;
        let b = seal_finding(&store, 2, false, false).await;
        assert_eq!(a, "F-1");
        assert_eq!(b, "F-2");
        let db = store.pool();
        let v = findings::list(db, &FindingFilter::default()).await.unwrap();
        assert_eq!(v.len(), 1, "default lists violations only");
        let all = findings::list(
            db,
            &FindingFilter {
                all_statuses: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(all.len(), 2);
        let other = findings::list(
            db,
            &FindingFilter {
                campaign: Some("other".into()),
                all_statuses: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(other.is_empty());
        // The same capture + artifact again adds nothing (a resumed sweep).
        let f = findings::get(db, &a).await.unwrap();
        let again = findings::insert(
            &store,
            &NewFinding {
                capture_id: f.capture_id,
                artifact_blake3: f.artifact_blake3.clone(),
                artifact_url: f.artifact_url.clone(),
                artifact_role: f.artifact_role.clone(),
                verdict: f.verdict.clone(),
                map: f.map.clone(),
                rules: f.rules.clone(),
                overlay: f.overlay.clone(),
                check_report: f.check_report.clone(),
            },
        )
        .await
        .unwrap();
        assert_eq!(again.finding_id, a);
        // A finding must rest on sealed artifacts of its capture.
        let err = findings::insert(
            &store,
            &NewFinding {
                capture_id: f.capture_id,
                artifact_blake3: "00".repeat(32),
                artifact_url: None,
                artifact_role: "map-candidate".into(),
                verdict: "violation".into(),
                map: serde_json::Value::Null,
                rules: vec![],
                overlay: None,
                check_report: None,
            },
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains(&"00".repeat(32)), "{err}");
        assert!(
            findings::get(db, "F-99")
                .await
                .unwrap_err()
                .to_string()
                .contains("F-99")
        );
    });
}

#[test]
fn reviews_are_sealed_records_and_a_later_one_supersedes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ev");
    rt().block_on(async {
        let store = new_store(&data).await;
        let a = seal_finding(&store, 1, true, true).await;
        let before = store.log_size().await.unwrap();
        review(
            &store,
            &a,
            Decision::Confirmed,
            "李四",
            Some("taiwan fill differs"),
        )
        .await
        .unwrap();
        review(&store, &a, Decision::Dismissed, "王五", None)
            .await
            .unwrap();
        assert_eq!(
            store.log_size().await.unwrap(),
            before + 2,
            "each review is a record"
        );
        let all = mapsweep::case::review::reviews_of(store.pool(), &a)
            .await
            .unwrap();
        assert_eq!(all.len(), 2, "both reviews stay visible");
        let f = findings::get(store.pool(), &a).await.unwrap();
        assert_eq!(f.review_state(), ReviewState::Dismissed);
        assert_eq!(f.review.as_ref().unwrap().reviewer, "王五");
        let dismissed = findings::list(
            store.pool(),
            &FindingFilter {
                review: Some(ReviewState::Dismissed),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(dismissed.len(), 1);
        let pending = findings::list(
            store.pool(),
            &FindingFilter {
                review: Some(ReviewState::Pending),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(pending.is_empty());
        // The data dir still verifies with review records in the log.
        let rep = mapsweep::evidence::verify_data_dir(&data, None)
            .await
            .unwrap();
        assert!(rep.is_clean(), "{:?}", rep.problems);
        assert!(
            review(&store, "F-42", Decision::Confirmed, "x", None)
                .await
                .unwrap_err()
                .to_string()
                .contains("F-42")
        );
        assert!(
            review(&store, &a, Decision::Confirmed, "  ", None)
                .await
                .is_err()
        );
    });
}

#[test]
fn cli_findings_review_and_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ev");
    rt().block_on(async {
        let store = new_store(&data).await;
        seal_finding(&store, 1, true, true).await;
        seal_finding(&store, 2, true, false).await;
        seal_finding(&store, 3, false, false).await;
    });
    let (code, out, err) = run(&data, &["findings", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for key in [
        "finding_id",
        "capture_id",
        "campaign",
        "page_url",
        "artifact_url",
        "artifact_role",
        "verdict",
        "rules",
        "captured_at",
        "overlay",
        "artifact_blake3",
        "map",
        "review",
    ] {
        assert!(lines[0].get(key).is_some(), "missing {key} in {}", lines[0]);
    }
    assert_eq!(lines[0]["page_url"], "http://127.0.0.1:9/site/page-1.html");
    assert_eq!(lines[0]["rules"][0]["rule"], "taiwan");
    assert!(lines[0]["review"].is_null());

    let (code, out, err) = run(
        &data,
        &[
            "review",
            "F-1",
            "--confirm",
            "--reviewer",
            "李四",
            "--note",
            "clear",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("F-1 confirmed"), "{out}");
    let (code, _, err) = run(&data, &["review", "F-77", "--dismiss", "--reviewer", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("F-77"), "{err}");
    let (_, out, _) = run(
        &data,
        &["findings", "--review", "confirmed", "--format", "json"],
    );
    assert_eq!(out.lines().count(), 1);
    let (_, out, _) = run(
        &data,
        &["findings", "--review", "pending", "--format", "json"],
    );
    assert_eq!(out.lines().count(), 1);
    let (_, out, _) = run(&data, &["findings", "--status", "all", "--format", "json"]);
    assert_eq!(out.lines().count(), 3);

    let (code, out, err) = run(
        &data,
        &[
            "case",
            "open",
            "--title",
            "某公司网站问题地图",
            "--subject",
            "example.com",
            "--officer",
            "赵六",
            "F-1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let id = out.trim().to_string();
    let year = mapsweep::case::shanghai(jiff::Timestamp::now()).year();
    assert_eq!(id, format!("MS-{year}-0001"));
    let (code, out, _) = run(&data, &["case", "open", "--title", "second", "F-2"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("MS-{year}-0002"));
    let (code, out, err) = run(&data, &["case", "add", &id, "F-2", "F-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("added F-2"), "{out}");
    let (code, _, err) = run(&data, &["case", "add", &id, "F-404"]);
    assert_eq!(code, 2);
    assert!(err.contains("F-404"), "{err}");
    let (code, _, err) = run(&data, &["case", "show", "MS-1999-0001"]);
    assert_eq!(code, 2);
    assert!(err.contains("MS-1999-0001"), "{err}");
    let (code, _, err) = run(&data, &["case", "open", "--title", "bad", "F-999"]);
    assert_eq!(code, 2);
    assert!(err.contains("F-999"), "{err}");
    let (code, out, _) = run(&data, &["case", "list", "--format", "json"]);
    assert_eq!(code, 0);
    let cases: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0]["case_id"], id.as_str());
    assert_eq!(cases[0]["title"], "某公司网站问题地图");
    assert_eq!(cases[0]["findings"], serde_json::json!(["F-1", "F-2"]));
    assert!(cases[0]["opened_at"].as_str().unwrap().ends_with('Z'));
    let (code, out, _) = run(&data, &["case", "show", &id]);
    assert_eq!(code, 0);
    assert!(out.contains("page-2.html"), "{out}");
    // Case events and reviews are records; the log still verifies.
    let (code, out, err) = run(&data, &["verify"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn export_refuses_bad_input_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ev");
    let case_id = rt().block_on(async {
        let store = new_store(&data).await;
        let a = seal_finding(&store, 1, true, true).await;
        let c = case::open_case(
            &store,
            &NewCase {
                title: "t".into(),
                findings: vec![a.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        review(
            &store,
            &a,
            Decision::Dismissed,
            "李四",
            Some("false positive"),
        )
        .await
        .unwrap();
        c.case_id
    });
    let out = tmp.path().join("case.zip");
    let outs = out.to_str().unwrap();
    // Unknown case.
    let (code, _, err) = run(&data, &["export", "MS-1999-0042", "--out", outs]);
    assert_eq!(code, 2);
    assert!(err.contains("MS-1999-0042"), "{err}");
    // Dismissed-only.
    let (code, _, err) = run(&data, &["export", &case_id, "--out", outs]);
    assert_eq!(code, 2);
    assert!(
        err.contains("dismissed") && err.contains("--include-dismissed"),
        "{err}"
    );
    assert!(!out.exists());
    // Existing output.
    std::fs::write(&out, b"precious").unwrap();
    let (code, _, err) = run(
        &data,
        &["export", &case_id, "--out", outs, "--include-dismissed"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--force") && err.contains("case.zip"), "{err}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"precious",
        "nothing overwritten"
    );
    std::fs::remove_file(&out).unwrap();
    // Chromium missing: HTML still written, the PDF step says how to install it.
    let (code, _, err) = run(
        &data,
        &[
            "export",
            &case_id,
            "--out",
            outs,
            "--include-dismissed",
            "--chrome",
            "/nonexistent/chromium",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("apt-get install chromium fonts-noto-cjk"),
        "{err}"
    );
    assert!(!out.exists(), "no ZIP without the PDF");
    let kept = tmp.path().join("case.unpacked");
    let html = std::fs::read_to_string(kept.join("report.html")).expect("report.html kept");
    assert!(html.contains("电子数据提取笔录"));
    assert!(err.contains("case.unpacked"), "{err}");
    // A data dir whose evidence fails verification: refuse and say what is wrong.
    let blobs = data.join("blobs");
    let victim = walk(&blobs).into_iter().next().expect("a blob");
    let mut b = std::fs::read(&victim).unwrap();
    b[0] ^= 1;
    std::fs::write(&victim, b).unwrap();
    let (code, _, err) = run(
        &data,
        &["export", &case_id, "--out", outs, "--include-dismissed"],
    );
    assert_eq!(code, 2);
    let name = victim.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        err.contains("fails verification") && err.contains(&name),
        "{err}"
    );
    assert!(!out.exists());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn pdf_pages(pdf: &Path) -> usize {
    let out = Command::new("pdfinfo").arg(pdf).output().expect("pdfinfo");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in {text}"))
}

fn pdf_text(pdf: &Path, page: Option<usize>) -> String {
    let mut c = Command::new("pdftotext");
    if let Some(p) = page {
        c.args(["-f", &p.to_string(), "-l", &p.to_string()]);
    }
    let out = c.arg(pdf).arg("-").output().expect("pdftotext");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn exported_case_bundle_verifies_offline_and_every_tamper_is_named() {
    let Some(_chrome) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ev");
    let (case_id, ids) = rt().block_on(async {
        let store = new_store(&data).await;
        let a = seal_finding(&store, 1, true, true).await;
        let b = seal_finding(&store, 2, true, false).await;
        let c = seal_finding(&store, 3, true, true).await;
        let d = seal_finding(&store, 4, true, true).await;
        review(&store, &a, Decision::Dismissed, "李四", None)
            .await
            .unwrap();
        review(
            &store,
            &a,
            Decision::Confirmed,
            "王五",
            Some("复核后确认 confirmed on second look"),
        )
        .await
        .unwrap();
        review(
            &store,
            &d,
            Decision::Dismissed,
            "李四",
            Some("not a map of China"),
        )
        .await
        .unwrap();
        let case = case::open_case(
            &store,
            &NewCase {
                title: "某展商网站问题地图案".into(),
                subject: Some("Example Exhibitor Ltd".into()),
                officer: Some("赵六".into()),
                findings: vec![a.clone(), b.clone()],
            },
        )
        .await
        .unwrap();
        case::add_to_case(&store, &case.case_id, &[c.clone(), d.clone()])
            .await
            .unwrap();
        (case.case_id, vec![a, b, c])
    });
    let zip_path = tmp.path().join("case.zip");
    let (code, out, err) = run(
        &data,
        &["export", &case_id, "--out", zip_path.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("left out (dismissed): F-4"), "{out}");
    if let Some(keep) = std::env::var_os("MAPSWEEP_TEST_KEEP_BUNDLE") {
        // For looking at the report by hand: `MAPSWEEP_TEST_KEEP_BUNDLE=/tmp/case.zip`.
        std::fs::copy(&zip_path, keep).unwrap();
    }

    // The bundle verifies alone, by library and by CLI.
    let rep = verify_bundle(&zip_path).unwrap();
    assert!(rep.is_clean(), "{:#?}", rep.problems);
    assert_eq!(rep.case_id.as_deref(), Some(case_id.as_str()));
    let (code, out, err) = run(
        &tmp.path().join("no-data-dir"),
        &["verify", zip_path.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("OK"), "{out}");
    assert!(
        !tmp.path().join("no-data-dir").exists(),
        "verify needs no data dir"
    );

    // sha256sum -c works with coreutils alone inside the unpacked bundle.
    let files = unzip(&zip_path);
    let dir = tmp.path().join("unpacked");
    unpack(&files, &dir);
    let st = Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    // The tree-head signature checks with openssl too, as VERIFY.md says.
    let o = Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "public-key.pem",
            "-rawin",
            "-in",
            "tree-head.signed.json",
            "-sigfile",
            "tree-head.sig",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Content: records exactly as sealed, every artifact, the report.
    let manifest: bundle::BundleManifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest.finding_ids, ids);
    let formats: Vec<&str> = manifest.records.iter().map(|r| r.format.as_str()).collect();
    assert_eq!(
        formats
            .iter()
            .filter(|f| **f == "mapsweep.capture/1")
            .count(),
        3
    );
    assert_eq!(
        formats
            .iter()
            .filter(|f| **f == "mapsweep.review/1")
            .count(),
        2,
        "both reviews of F-1, none of F-4"
    );
    assert_eq!(
        formats
            .iter()
            .filter(|f| **f == "mapsweep.case-event/1")
            .count(),
        2
    );
    for name in [
        "report.html",
        "report.pdf",
        "VERIFY.md",
        "SHA256SUMS",
        "public-key.pem",
        "tree-head.json",
    ] {
        assert!(files.contains_key(name), "{name} missing");
    }
    let verify_md = String::from_utf8_lossy(&files["VERIFY.md"]).to_string();
    assert!(
        verify_md.contains("sha256sum -c SHA256SUMS")
            && verify_md.contains("openssl ts -verify")
            && verify_md.contains("mapsweep verify")
    );
    let html = String::from_utf8_lossy(&files["report.html"]).to_string();
    assert!(html.contains("src=\"artifacts"), "images by relative path");

    // The PDF: Chinese headings, URLs, hashes; one page per finding after the cover.
    let pdf = dir.join("report.pdf");
    let text = pdf_text(&pdf, None);
    for s in [
        "案件电子证据报告",
        "电子数据提取笔录",
        "http://127.0.0.1:9/site/page-1.html",
        "公开地图内容表示规范",
        "GB/T 35764-2017",
        "见证人",
    ] {
        assert!(text.contains(s), "PDF text lacks {s}");
    }
    let some_artifact = manifest
        .artifacts
        .iter()
        .find(|a| a.roles.contains(&"map-candidate".to_string()))
        .unwrap();
    let compact: String = text.split_whitespace().collect();
    assert!(
        compact.contains(&some_artifact.sha256),
        "PDF text lacks the SHA-256 of a map"
    );
    let pages = pdf_pages(&pdf);
    let n = ids.len();
    assert!(pages > n + 1, "{pages} pages for {n} findings");
    assert!(pdf_text(&pdf, Some(1)).contains("案件电子证据报告"));
    for k in 1..=n {
        let t = pdf_text(&pdf, Some(k + 1));
        assert!(
            t.contains(&format!("证据 {k}/{n}")),
            "page {} should hold finding {k}: {t}",
            k + 1
        );
        assert!(t.contains(&ids[k - 1]));
    }
    assert!(pdf_text(&pdf, Some(n + 2)).contains("电子数据提取笔录"));
    assert!(pdf_text(&pdf, Some(pages)).contains("见证人签名"));
    for p in (n + 2)..=pages {
        assert!(
            !pdf_text(&pdf, Some(p)).contains("Finding "),
            "page {p} is past the findings"
        );
    }
    // pdftoppm renders the pages, and a finding page shows the map image.
    let st = Command::new("pdftoppm")
        .args(["-r", "40", "-png"])
        .arg(&pdf)
        .arg(dir.join("page"))
        .status()
        .unwrap();
    assert!(st.success());
    let rendered: Vec<PathBuf> = walk(&dir)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("page"))
        .collect();
    assert_eq!(rendered.len(), pages);
    let page2 = image::open(&rendered[1]).unwrap().to_rgb8();
    let reds = page2
        .pixels()
        .filter(|p| p.0[0] > 180 && p.0[1] < 80 && p.0[2] < 110)
        .count();
    assert!(
        reds > 50,
        "the map image is not visible on the finding page ({reds} red pixels)"
    );

    // Tampering: one byte of any file, a removed file, a swapped public key: each is named.
    let bad = tmp.path().join("bad.zip");
    for name in files.keys() {
        let mut t = files.clone();
        let b = t.get_mut(name).unwrap();
        let i = b.len() / 2;
        b[i] ^= 0x01;
        write_zip(&bad, &t);
        let rep = verify_bundle(&bad).unwrap();
        assert!(!rep.is_clean(), "changing {name} went unnoticed");
        assert!(
            rep.problems
                .iter()
                .any(|p| p.file == *name || p.message.contains(name.as_str())),
            "changing {name}: {:?}",
            rep.problems
        );

        let mut t = files.clone();
        t.remove(name);
        write_zip(&bad, &t);
        let rep = verify_bundle(&bad).unwrap();
        assert!(
            rep.problems
                .iter()
                .any(|p| p.file == *name || p.message.contains(name.as_str())),
            "removing {name}: {:?}",
            rep.problems
        );
    }
    let other_key = {
        let d = tmp.path().join("other");
        rt().block_on(EvidenceStore::init(&d, None)).unwrap();
        std::fs::read(d.join("keys/signing.pub")).unwrap()
    };
    let mut t = files.clone();
    t.insert("public-key.pem".into(), other_key);
    write_zip(&bad, &t);
    let (code, out, _) = run(
        &tmp.path().join("no-data-dir"),
        &["verify-bundle", bad.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("signature-invalid") && out.contains("public-key.pem"),
        "{out}"
    );

    // --force replaces, and a second export still verifies.
    let (code, _, err) = run(
        &data,
        &[
            "export",
            &case_id,
            "--out",
            zip_path.to_str().unwrap(),
            "--force",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(verify_bundle(&zip_path).unwrap().is_clean());
}

/// Figures for the report: export and verify of a 50-finding case. Run with
/// `cargo test --test main bench_export_50_findings -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_export_50_findings() {
    let Some(_chrome) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ev");
    let r = rt();
    let store = r.block_on(new_store(&data));
    let ids: Vec<String> = r.block_on(async {
        let mut v = Vec::new();
        for n in 0..50 {
            v.push(seal_finding(&store, n, true, true).await);
        }
        v
    });
    let case = r
        .block_on(case::open_case(
            &store,
            &NewCase {
                title: "fifty".into(),
                findings: ids,
                ..Default::default()
            },
        ))
        .unwrap();
    let out = tmp.path().join("fifty.zip");
    let t = std::time::Instant::now();
    let rep = r
        .block_on(export_case(
            &store,
            &case.case_id,
            &ExportOptions {
                out: out.clone(),
                ..Default::default()
            },
        ))
        .unwrap();
    let export_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let v = verify_bundle(&out).unwrap();
    let verify_s = t.elapsed().as_secs_f64();
    assert!(v.is_clean(), "{:?}", v.problems);
    let files = unzip(&out);
    let pdf = tmp.path().join("fifty.pdf");
    std::fs::write(&pdf, &files["report.pdf"]).unwrap();
    let pages = pdf_pages(&pdf);
    for k in 1..=50 {
        assert!(
            pdf_text(&pdf, Some(k + 1)).contains(&format!("证据 {k}/50")),
            "page {}",
            k + 1
        );
    }
    println!(
        "50 findings: report.pdf has {pages} pages (1 cover + 50 findings + extraction record)"
    );
    println!(
        "50 findings: export {export_s:.2} s, bundle {} bytes ({:.1} MiB, {} files), verify {verify_s:.2} s",
        rep.bytes,
        rep.bytes as f64 / 1048576.0,
        rep.files
    );
}

fn sh(cmd: &str, dir: &Path) {
    let o = Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A throwaway CA + TSA certificate and `openssl ts -reply` behind a loopback HTTP endpoint.
/// Returns the TSA URL and the CA certificate path.
async fn start_tsa(d: &Path) -> (String, PathBuf) {
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3 -subj '/CN=mapsweep test CA' \
        -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null",
        d,
    );
    std::fs::write(d.join("ext.cnf"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n").unwrap();
    sh(
        "openssl req -newkey rsa:2048 -nodes -keyout tsa.key -out tsa.csr -subj '/CN=mapsweep test TSA' 2>/dev/null && \
        openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tsa.pem -days 3 -extfile ext.cnf 2>/dev/null",
        d,
    );
    std::fs::write(d.join("tsaserial"), "01\n").unwrap();
    std::fs::write(
        d.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = {dir}\nserial = $dir/tsaserial\ncrypto_device = builtin\n\
             signer_cert = $dir/tsa.pem\ncerts = $dir/ca.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\n\
             default_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\n\
             accuracy = secs:1\nordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            dir = d.display()
        ),
    )
    .unwrap();
    let dd = d.to_path_buf();
    let app = axum::Router::new().route(
        "/tsa",
        axum::routing::post(move |body: axum::body::Bytes| {
            let dd = dd.clone();
            async move {
                let n = uuid::Uuid::now_v7();
                let q = dd.join(format!("{n}.tsq"));
                let r = dd.join(format!("{n}.tsr"));
                std::fs::write(&q, &body).unwrap();
                let ok = Command::new("openssl")
                    .args(["ts", "-reply", "-config"])
                    .arg(dd.join("tsa.cnf"))
                    .arg("-queryfile")
                    .arg(&q)
                    .arg("-out")
                    .arg(&r)
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false);
                if !ok {
                    return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Vec::new());
                }
                (axum::http::StatusCode::OK, std::fs::read(&r).unwrap())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/tsa"), d.join("ca.pem"))
}

#[test]
fn bundle_time_stamp_token_verifies_with_mapsweep_and_openssl() {
    let Some(_chrome) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("ev");
    let tsa_dir = tmp.path().join("tsa");
    std::fs::create_dir_all(&tsa_dir).unwrap();
    let zip_path = tmp.path().join("tsa-case.zip");
    let ca = rt().block_on(async {
        let (url, ca) = start_tsa(&tsa_dir).await;
        EvidenceStore::init(&data, None).await.unwrap();
        let store = EvidenceStore::open(
            &data,
            None,
            StoreOptions {
                tsa_url: Some(url),
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap();
        let a = seal_finding(&store, 1, true, true).await;
        let c = case::open_case(
            &store,
            &NewCase {
                title: "tsa".into(),
                findings: vec![a],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let rep = export_case(
            &store,
            &c.case_id,
            &ExportOptions {
                out: zip_path.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(rep.tsa_time.is_some(), "{:?}", rep.warnings);
        ca
    });
    let rep = verify_bundle(&zip_path).unwrap();
    assert!(rep.is_clean(), "{:?}", rep.problems);
    assert!(rep.tsa_time.is_some());
    let files = unzip(&zip_path);
    assert!(files.contains_key("tree-head.tsr"));
    let dir = tmp.path().join("unpacked");
    unpack(&files, &dir);
    // Exactly the command VERIFY.md gives.
    let o = Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-data",
            "tree-head.signed.json",
            "-in",
            "tree-head.tsr",
            "-token_in",
            "-CAfile",
        ])
        .arg(&ca)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "openssl ts -verify: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A token for other data is named.
    let mut t = files.clone();
    let tok = t.get_mut("tree-head.tsr").unwrap();
    let i = tok.len() - 10;
    tok[i] ^= 0x01;
    let bad = tmp.path().join("bad.zip");
    write_zip(&bad, &t);
    let rep = verify_bundle(&bad).unwrap();
    assert!(
        rep.problems.iter().any(|p| p.file == "tree-head.tsr"),
        "{:?}",
        rep.problems
    );
}
