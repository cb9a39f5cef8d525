//! `mapsweep demo` end to end: it runs in a temp dir, flags the world and China problem maps
//! with the expected rules, leaves the compliant map alone, and its case file verifies.

use std::process::Command;

#[test]
fn demo_flags_the_problem_maps_and_writes_a_verifying_case_file() {
    let chromium = mapsweep::capture::find_chromium(None).is_ok();
    if !chromium && std::env::var("CI").as_deref() == Ok("true") {
        panic!("demo test: Chromium is required in CI (the export prints the PDF with it)");
    }
    let t = tempfile::tempdir().expect("tempdir");
    let data = t.path().join("evidence");
    let out_dir = t.path().join("out");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_mapsweep"))
            .arg("--data-dir")
            .arg(&data)
            .arg("demo")
            .arg("--out")
            .arg(&out_dir)
            .env_remove("DATABASE_URL")
            .env_remove("MAPSWEEP_CONFIG")
            .output()
            .expect("run demo")
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "demo exit 0\n{stdout}\n{stderr}"
    );
    let flagged_rule = |page: &str, rule: &str| {
        stdout
            .lines()
            .any(|l| l.contains(page) && l.split_whitespace().nth(2) == Some(rule))
    };
    assert!(
        flagged_rule("/global-network.html", "south_china_sea"),
        "world map flagged:\n{stdout}"
    );
    assert!(
        flagged_rule("/china-offices.html", "south_china_sea"),
        "China map flagged:\n{stdout}"
    );
    assert!(
        flagged_rule("/china-offices.html", "zangnan"),
        "China map Zangnan flagged:\n{stdout}"
    );
    assert!(
        !stdout.contains("/china-sales.html"),
        "compliant map not flagged:\n{stdout}"
    );
    let zip = out_dir.join("demo-case.zip");
    assert!(zip.exists(), "case file written");
    assert!(
        out_dir.join("report.html").exists(),
        "HTML report beside it"
    );
    let verify = Command::new(env!("CARGO_BIN_EXE_mapsweep"))
        .arg("verify")
        .arg(&zip)
        .output()
        .expect("verify");
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // Running it twice works: the demo dir is replaced.
    let again = run();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}
