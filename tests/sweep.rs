//! End-to-end sweeps of a small site served on 127.0.0.1: every problem map page is found and
//! flagged, no page without one is flagged, every error is recorded, the evidence verifies, and
//! `--resume` adds nothing. Maps are rendered from the reference data in the test.

use mapsweep::reference::Reference;
use mapsweep::reference::project::Projection;
use mapsweep::reference::render::{RenderSpec, Style, render_png, render_svg};
use mapsweep::site::{Route, Site, SiteServer};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SOUTH_ASIA: [f64; 4] = [66.0, 6.0, 100.0, 37.0];

fn south_asia(style: Style, violations: bool) -> RenderSpec {
    let mut s = RenderSpec::new(Projection::PlateCarree, SOUTH_ASIA, 900, 820, style);
    s.aksai_chin_as_india = violations;
    s.zangnan_as_india = violations;
    s
}

fn world_without_dash_line() -> RenderSpec {
    let mut s = RenderSpec::new(
        Projection::PlateCarree,
        [-180.0, -58.0, 180.0, 83.7],
        1200,
        620,
        Style::uniform(),
    );
    s.dashes = false;
    s
}

fn page(title: &str, body: &str) -> Route {
    Route::html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    ))
}

/// Where the chart libraries of the JavaScript pages are (installed by `.ci/run` with npm ci).
fn js_lib(rel: &str) -> Option<Vec<u8>> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/js/node_modules")
        .join(rel);
    std::fs::read(p).ok()
}

/// The test site. Returns the site and the paths of the pages that carry problem maps.
fn test_site(with_js: bool) -> (Site, BTreeSet<String>) {
    let r = Reference::get().expect("reference data");
    let mut site = Site::new();
    let mut problems = BTreeSet::new();
    let bad_asia = render_png(r, &south_asia(Style::highlight(), true));
    let bad_asia_css = render_png(r, &south_asia(Style::choropleth(), true));
    let bad_world = render_png(r, &world_without_dash_line());
    let ok_asia = render_png(r, &south_asia(Style::highlight(), false));
    let bad_svg = render_svg(r, &south_asia(Style::choropleth(), true));
    site.route("/img/asia-bad.png", Route::bytes("image/png", bad_asia));
    site.route("/img/asia-css.png", Route::bytes("image/png", bad_asia_css));
    site.route("/img/world-bad.png", Route::bytes("image/png", bad_world));
    site.route("/img/asia-ok.png", Route::bytes("image/png", ok_asia));
    site.route(
        "/img/corrupt.png",
        Route::bytes(
            "image/png",
            b"\x89PNG\r\n\x1a\nnot really a png at all".to_vec(),
        ),
    );
    site.route(
        "/files/brochure.pdf",
        Route::bytes("application/pdf", b"%PDF-1.4\n%%EOF\n".to_vec()),
    );

    let mut links = vec![
        "/img-page.html",
        "/css-page.html",
        "/deep/1.html",
        "/svg-page.html",
        "/ok-page.html",
        "/plain.html",
        "/missing.html",
        "/moved",
        "/loop-a",
        "/broken-image.html",
        "/slow.html",
        "/files/brochure.pdf",
    ];
    site.route(
        "/img-page.html",
        page(
            "World partners",
            r#"<img src="/img/world-bad.png" alt="world">"#,
        ),
    );
    problems.insert("/img-page.html".to_string());
    site.route(
        "/css-page.html",
        page(
            "Regional office",
            r#"<div style="width:900px;height:820px;background-image:url('/img/asia-css.png')"></div>"#,
        ),
    );
    problems.insert("/css-page.html".to_string());
    site.route(
        "/deep/1.html",
        page("Deeper", r#"<a href="/deep/2.html">more</a>"#),
    );
    site.route(
        "/deep/2.html",
        page(
            "Deepest",
            r#"<img class="lazy" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/asia-bad.png" alt="lazy map">"#,
        ),
    );
    problems.insert("/deep/2.html".to_string());
    site.route("/svg-page.html", page("Inline SVG", &bad_svg));
    problems.insert("/svg-page.html".to_string());
    site.route(
        "/ok-page.html",
        page(
            "A compliant map",
            r#"<img src="/img/asia-ok.png" alt="ok">"#,
        ),
    );
    site.route("/plain.html", page("No maps here", "<p>Just text.</p>"));
    site.route("/moved", Route::redirect("/plain2.html"));
    site.route("/plain2.html", page("Moved here", "<p>Still no map.</p>"));
    site.route("/loop-a", Route::redirect("/loop-b"));
    site.route("/loop-b", Route::redirect("/loop-a"));
    site.route(
        "/broken-image.html",
        page(
            "Broken",
            r#"<img src="/img/corrupt.png" width="400" height="300">"#,
        ),
    );
    site.route(
        "/slow.html",
        Route::Slow {
            delay: Duration::from_millis(1500),
            inner: Box::new(page("Slow", "<p>Slow but fine.</p>")),
        },
    );

    if with_js {
        let d3_array = js_lib("d3-array/dist/d3-array.min.js").expect("d3-array");
        let d3_geo = js_lib("d3-geo/dist/d3-geo.min.js").expect("d3-geo");
        let topo = js_lib("topojson-client/dist/topojson-client.min.js").expect("topojson");
        let world = js_lib("world-atlas/countries-50m.json").expect("world-atlas");
        site.route("/js/d3-array.js", Route::bytes("text/javascript", d3_array));
        site.route("/js/d3-geo.js", Route::bytes("text/javascript", d3_geo));
        site.route("/js/topojson.js", Route::bytes("text/javascript", topo));
        site.route(
            "/data/countries-50m.json",
            Route::bytes("application/json", world),
        );
        // A D3 South Asia map on a canvas, from Natural Earth's default view (Zangnan as India).
        site.route(
            "/js-canvas.html",
            page(
                "Live map",
                r#"<canvas id="map" width="900" height="820"></canvas>
<script src="/js/d3-array.js"></script><script src="/js/d3-geo.js"></script><script src="/js/topojson.js"></script>
<script>
fetch('/data/countries-50m.json').then(r => r.json()).then(topo => {
  const land = topojson.feature(topo, topo.objects.countries);
  const proj = d3.geoEquirectangular().fitExtent([[0, 0], [900, 820]],
    {type: 'Feature', geometry: {type: 'Polygon', coordinates: [[[66, 6], [100, 6], [100, 37], [66, 37], [66, 6]]]}});
  const ctx = document.getElementById('map').getContext('2d');
  const path = d3.geoPath(proj, ctx);
  ctx.fillStyle = '#ffffff'; ctx.fillRect(0, 0, 900, 820);
  for (const f of land.features) {
    ctx.beginPath(); path(f);
    ctx.fillStyle = f.id === '156' ? '#d63031' : (f.id === '356' ? '#f39c12' : '#d0d6dc');
    ctx.fill(); ctx.strokeStyle = '#ffffff'; ctx.lineWidth = 1; ctx.stroke();
  }
  document.body.setAttribute('data-drawn', '1');
});
</script>"#,
            ),
        );
        problems.insert("/js-canvas.html".to_string());
        links.push("/js-canvas.html");
    }

    let index = links
        .iter()
        .map(|l| format!("<li><a href=\"{l}\">{l}</a></li>"))
        .collect::<String>();
    site.route(
        "/",
        page(
            "Example exhibitor",
            &format!("<ul>{index}<li><a href=\"mailto:x@example.invalid\">mail</a></li><li><a href=\"javascript:void(0)\">js</a></li></ul>"),
        ),
    );
    (site, problems)
}

fn mapsweep(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mapsweep"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("MAPSWEEP_CONFIG")
        .output()
        .expect("run mapsweep")
}

/// Runs mapsweep off the async runtime (the site server keeps serving meanwhile).
async fn run(data: &Path, args: &[&str]) -> std::process::Output {
    let data = data.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        mapsweep(&data, &args)
    })
    .await
    .expect("join")
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn chromium_available(test: &str) -> bool {
    match mapsweep::capture::find_chromium(None) {
        Ok(_) => true,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: Chromium is required in CI: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED (JavaScript part of) {test}: {e}");
            false
        }
    }
}

fn js_libs_available(test: &str) -> bool {
    if js_lib("d3-geo/dist/d3-geo.min.js").is_some() {
        return true;
    }
    let msg = "chart libraries missing: run `npm ci --prefix tests/js`";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {msg}");
    }
    eprintln!("SKIPPED (JavaScript part of) {test}: {msg}");
    false
}

fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path().join("evidence");
    (t, d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_flags_every_problem_map_page_and_nothing_else() {
    let test = "sweep_flags_every_problem_map_page_and_nothing_else";
    let with_js = chromium_available(test) && js_libs_available(test);
    let (site, problems) = test_site(with_js);
    let server = SiteServer::start(site).await.expect("site");
    let (_t, data) = data_dir();
    let seed = server.url("/");
    let render = if with_js { "auto" } else { "never" };
    let out = run(
        &data,
        &[
            "sweep",
            "--campaign",
            "e2e",
            "--render",
            render,
            "--per-host-delay",
            "0",
            "--timeout",
            "10",
            &seed,
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "violations found: exit 1\n{stdout}\n{stderr}"
    );

    // Every error the site throws is recorded in the summary.
    for kind in ["http-status", "redirect-loop", "image-decode"] {
        assert!(stdout.contains(kind), "summary names {kind}:\n{stdout}");
    }

    let findings = run(
        &data,
        &[
            "findings",
            "--campaign",
            "e2e",
            "--status",
            "all",
            "--format",
            "json",
        ],
    )
    .await;
    assert_eq!(
        findings.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&findings.stderr)
    );
    let rows = json_lines(&findings.stdout);
    let base = server.url("");
    let flagged: BTreeSet<String> = rows
        .iter()
        .filter(|r| r["verdict"] == "violation")
        .map(|r| r["page_url"].as_str().unwrap_or("").replace(&base, ""))
        .collect();
    assert_eq!(flagged, problems, "flagged pages\n{stdout}");
    // The compliant map was checked and not flagged.
    assert!(
        rows.iter().any(|r| r["page_url"]
            .as_str()
            .unwrap_or("")
            .ends_with("/ok-page.html")
            && r["verdict"] == "compliant"),
        "compliant map checked: {rows:?}"
    );
    for r in rows.iter().filter(|r| r["verdict"] == "violation") {
        assert!(r["overlay"].is_string(), "violation has an overlay: {r}");
        assert!(r["capture_id"].is_string());
    }

    // The evidence verifies.
    let verify = run(&data, &["verify"]).await;
    assert_eq!(
        verify.status.code(),
        Some(0),
        "verify clean:\n{}\n{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    // Resuming a finished sweep captures nothing new.
    let resumed = run(&data, &["sweep", "--resume", "e2e", "--render", "never"]).await;
    let rs = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        rs.contains("pages: 0 fetched, 0 sealed"),
        "resume adds nothing:\n{rs}\n{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let again = run(
        &data,
        &[
            "findings",
            "--campaign",
            "e2e",
            "--status",
            "all",
            "--format",
            "json",
        ],
    )
    .await;
    assert_eq!(
        json_lines(&again.stdout).len(),
        rows.len(),
        "no new findings after resume"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_with_an_unknown_resume_campaign_is_a_clear_error() {
    let (_t, data) = data_dir();
    let out = run(&data, &["sweep", "--resume", "no-such-campaign"]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-campaign"),
        "error names the campaign: {err}"
    );
}
