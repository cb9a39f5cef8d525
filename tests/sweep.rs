//! End-to-end sweeps of a small site served on 127.0.0.1: every problem map page is found and
//! flagged, no page without one is flagged, every error is recorded, the evidence verifies, and
//! `--resume` adds nothing. Maps are rendered from the reference data in the test.

use mapsweep::reference::Reference;
use mapsweep::reference::project::Projection;
use mapsweep::reference::render::{RenderSpec, Style, View, render_png, render_svg};
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
        View::WORLD,
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

/// GeoJSON of the countries around South Asia from the reference data. `china_view`: China is
/// drawn in China's view (Zangnan, Aksai Chin, Taiwan, islands), on top of its neighbours;
/// otherwise the default view (Natural Earth: Zangnan as India).
fn geojson(r: &Reference, china_view: bool) -> Vec<u8> {
    let near = |ring: &Vec<[f64; 2]>| {
        ring.iter()
            .any(|p| p[0] > 55.0 && p[0] < 110.0 && p[1] > -5.0 && p[1] < 48.0)
    };
    let feature = |name: &str, rings: Vec<&Vec<[f64; 2]>>| {
        serde_json::json!({
            "type": "Feature",
            "properties": {"name": name},
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": rings.iter().map(|ring| vec![ring.to_vec()]).collect::<Vec<_>>(),
            }
        })
    };
    let mut features = Vec::new();
    for c in &r.countries {
        if china_view && (c.name == "China" || c.name == "Taiwan") {
            continue;
        }
        let rings: Vec<&Vec<[f64; 2]>> = c.rings.iter().filter(|r| near(r)).collect();
        if !rings.is_empty() {
            features.push(feature(&c.name, rings));
        }
    }
    if china_view {
        features.push(feature(
            "China",
            r.china.iter().filter(|r| near(r)).collect(),
        ));
    }
    serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection", "features": features}))
        .expect("GeoJSON")
}

/// A page drawing a GeoJSON map of South Asia with ECharts on a canvas (China red, India orange).
fn echarts_page(geojson_path: &str) -> String {
    format!(
        r#"<div id="chart" style="width:900px;height:820px"></div>
<script src="/js/echarts.js"></script>
<script>
fetch('{geojson_path}').then(r => r.json()).then(geo => {{
  echarts.registerMap('region', geo);
  const chart = echarts.init(document.getElementById('chart'), null, {{renderer: 'canvas'}});
  chart.setOption({{
    animation: false, backgroundColor: '#ffffff',
    geo: {{
      map: 'region', roam: false, silent: true, aspectScale: 1,
      boundingCoords: [[66, 37], [100, 6]], top: 0, bottom: 0,
      label: {{show: false}},
      itemStyle: {{areaColor: '#d0d6dc', borderColor: '#ffffff', borderWidth: 1}},
      regions: [
        {{name: 'China', itemStyle: {{areaColor: '#d63031'}}}},
        {{name: 'India', itemStyle: {{areaColor: '#f39c12'}}}}
      ]
    }}
  }});
  document.body.setAttribute('data-drawn', '1');
}});
</script>"#
    )
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

        // The same default view drawn by D3 as SVG paths (not on a canvas).
        site.route(
            "/js-svg.html",
            page(
                "Live map (SVG)",
                r#"<svg id="map" width="900" height="820" xmlns="http://www.w3.org/2000/svg"></svg>
<script src="/js/d3-array.js"></script><script src="/js/d3-geo.js"></script><script src="/js/topojson.js"></script>
<script>
fetch('/data/countries-50m.json').then(r => r.json()).then(topo => {
  const land = topojson.feature(topo, topo.objects.countries);
  const proj = d3.geoEquirectangular().fitExtent([[0, 0], [900, 820]],
    {type: 'Feature', geometry: {type: 'Polygon', coordinates: [[[66, 6], [100, 6], [100, 37], [66, 37], [66, 6]]]}});
  const path = d3.geoPath(proj);
  const svg = document.getElementById('map');
  const NS = 'http://www.w3.org/2000/svg';
  const bg = document.createElementNS(NS, 'rect');
  bg.setAttribute('width', '900'); bg.setAttribute('height', '820'); bg.setAttribute('fill', '#ffffff');
  svg.appendChild(bg);
  for (const f of land.features) {
    const d = path(f);
    if (!d) continue;
    const el = document.createElementNS(NS, 'path');
    el.setAttribute('d', d);
    el.setAttribute('fill', f.id === '156' ? '#d63031' : (f.id === '356' ? '#f39c12' : '#d0d6dc'));
    el.setAttribute('stroke', '#ffffff'); el.setAttribute('stroke-width', '1');
    svg.appendChild(el);
  }
  document.body.setAttribute('data-drawn', '1');
});
</script>"#,
            ),
        );
        problems.insert("/js-svg.html".to_string());
        links.push("/js-svg.html");

        // ECharts maps on a canvas, from GeoJSON made of the reference data: the default view
        // (Zangnan as India) is a problem map; China's view of the same region is compliant.
        let echarts = js_lib("echarts/dist/echarts.min.js").expect("echarts");
        site.route("/js/echarts.js", Route::bytes("text/javascript", echarts));
        site.route(
            "/data/asia-default.json",
            Route::bytes("application/json", geojson(r, false)),
        );
        site.route(
            "/data/asia-china-view.json",
            Route::bytes("application/json", geojson(r, true)),
        );
        site.route(
            "/js-echarts.html",
            page("Regional sales", &echarts_page("/data/asia-default.json")),
        );
        problems.insert("/js-echarts.html".to_string());
        links.push("/js-echarts.html");
        site.route(
            "/js-echarts-ok.html",
            page(
                "Regional sales (ok)",
                &echarts_page("/data/asia-china-view.json"),
            ),
        );
        links.push("/js-echarts-ok.html");
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
    if with_js {
        // The JavaScript maps are judged from the element screenshots of the canvas, the SVG
        // and the ECharts container; the compliant ECharts map is checked and not flagged.
        for p in [
            "/js-canvas.html",
            "/js-svg.html",
            "/js-echarts.html",
            "/js-echarts-ok.html",
        ] {
            let shots: Vec<&Value> = rows
                .iter()
                .filter(|r| {
                    r["page_url"].as_str().unwrap_or("").ends_with(p)
                        && r["artifact_role"] == "element-screenshot"
                })
                .collect();
            assert!(
                !shots.is_empty(),
                "{p}: an element screenshot was checked: {rows:?}"
            );
            let flagged = shots.iter().any(|r| r["verdict"] == "violation");
            assert_eq!(flagged, p != "/js-echarts-ok.html", "{p}: {shots:?}");
        }
    }
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

/// How many capture records each requested URL has in the data dir.
async fn captures_per_url(data: &Path) -> std::collections::BTreeMap<String, usize> {
    let store = mapsweep::evidence::EvidenceStore::open(data, None, Default::default())
        .await
        .expect("open store");
    let mut out = std::collections::BTreeMap::new();
    for rec in store.records(0, u64::MAX).await.expect("records") {
        if let Some(c) = rec.capture() {
            *out.entry(c.requested_url.clone()).or_insert(0) += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_stopped_by_ctrl_c_seals_what_it_took_and_resume_captures_the_rest_once() {
    const PAGES: usize = 24;
    let mut site = Site::new();
    let mut index = String::new();
    for i in 0..PAGES {
        let path = format!("/slow/{i}.html");
        index.push_str(&format!("<li><a href=\"{path}\">{i}</a></li>"));
        site.route(
            &path,
            Route::Slow {
                delay: Duration::from_millis(300),
                inner: Box::new(page(&format!("Slow {i}"), "<p>No map.</p>")),
            },
        );
    }
    site.route("/", page("Slow site", &format!("<ul>{index}</ul>")));
    let server = SiteServer::start(site).await.expect("site");
    let (_t, data) = data_dir();
    let seed = server.url("/");

    // Start the sweep, wait until it has sealed a few pages, then send SIGINT (Ctrl-C).
    let data2 = data.clone();
    let (code, stdout) = tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, BufReader, Read};
        let mut child = Command::new(env!("CARGO_BIN_EXE_mapsweep"))
            .arg("--data-dir")
            .arg(&data2)
            .args([
                "sweep",
                "--campaign",
                "ctrlc",
                "--render",
                "never",
                "--per-host-delay",
                "0",
                "--per-host-concurrency",
                "2",
                "--concurrency",
                "2",
                &seed,
            ])
            .env_remove("DATABASE_URL")
            .env_remove("MAPSWEEP_CONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start mapsweep sweep");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        // progress lines come at most once a second: wait for one saying 4 pages or more
        let done = |l: &str| {
            l.strip_prefix("mapsweep: pages ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n >= 4)
        };
        for line in lines.by_ref() {
            let line = line.expect("stderr line");
            seen.push(line.clone());
            if done(&line) {
                break;
            }
        }
        assert!(
            seen.iter().any(|l| done(l)),
            "progress lines before the stop:\n{}",
            seen.join("\n")
        );
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(kill.success());
        // Drain stderr so the child never blocks on a full pipe.
        let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut stdout)
            .expect("read stdout");
        let status = child.wait().expect("wait");
        let rest = drain.join().expect("stderr thread");
        (
            status.code(),
            format!("{stdout}\n--- stderr\n{}", rest.join("\n")),
        )
    })
    .await
    .expect("join");
    assert_eq!(code, Some(0), "clean exit after Ctrl-C:\n{stdout}");
    assert!(
        stdout.contains("stopped early; continue with --resume"),
        "the summary says it stopped:\n{stdout}"
    );

    // No half-written capture: the data dir verifies, and each page was captured once.
    let verify = run(&data, &["verify"]).await;
    assert_eq!(
        verify.status.code(),
        Some(0),
        "verify after Ctrl-C:\n{}\n{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let first = captures_per_url(&data).await;
    assert!(
        first.values().all(|&n| n == 1),
        "one capture per URL: {first:?}"
    );
    assert!(
        first.len() < PAGES + 1,
        "stopped before the end: {} of {} pages captured",
        first.len(),
        PAGES + 1
    );

    // The saved crawl state lets --resume finish the rest without capturing a page twice.
    let resumed = run(
        &data,
        &[
            "sweep",
            "--resume",
            "ctrlc",
            "--render",
            "never",
            "--per-host-delay",
            "0",
        ],
    )
    .await;
    let rs = String::from_utf8_lossy(&resumed.stdout);
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "resume:\n{rs}\n{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(!rs.contains("stopped early"), "resume finished:\n{rs}");
    let all = captures_per_url(&data).await;
    assert_eq!(all.len(), PAGES + 1, "every page captured: {all:?}");
    assert!(
        all.values().all(|&n| n == 1),
        "no page captured twice: {all:?}"
    );
    for (url, n) in &first {
        assert_eq!(all.get(url), Some(n), "{url} kept its one capture");
    }
    let verify = run(&data, &["verify"]).await;
    assert_eq!(verify.status.code(), Some(0), "verify after resume");
    server.stop().await;
}

/// The capture manifests of a data dir, in log order.
async fn manifests(data: &Path) -> Vec<mapsweep::evidence::record::CaptureManifest> {
    let store = mapsweep::evidence::EvidenceStore::open(data, None, Default::default())
        .await
        .expect("open store");
    store
        .records(0, u64::MAX)
        .await
        .expect("records")
        .iter()
        .filter_map(|r| r.capture().cloned())
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sweep")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A finished static sweep (no browser) of a test site.
struct StaticSweep {
    code: Option<i32>,
    out: String,
    server: SiteServer,
    _tmp: tempfile::TempDir,
    data: PathBuf,
}

/// Sweeps `site` from `/` without a browser.
async fn static_sweep(site: Site, campaign: &str) -> StaticSweep {
    let server = SiteServer::start(site).await.expect("site");
    let (tmp, data) = data_dir();
    let seed = server.url("/");
    let out = run(
        &data,
        &[
            "sweep",
            "--campaign",
            campaign,
            "--render",
            "never",
            "--per-host-delay",
            "0",
            "--timeout",
            "10",
            &seed,
        ],
    )
    .await;
    let text = format!(
        "{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    StaticSweep {
        code: out.status.code(),
        out: text,
        server,
        _tmp: tmp,
        data,
    }
}

async fn flagged_pages(data: &Path, campaign: &str, base: &str) -> BTreeSet<String> {
    let out = run(
        data,
        &["findings", "--campaign", campaign, "--format", "json"],
    )
    .await;
    json_lines(&out.stdout)
        .iter()
        .filter(|r| r["verdict"] == "violation")
        .map(|r| r["page_url"].as_str().unwrap_or("").replace(base, ""))
        .collect()
}

async fn assert_verifies(data: &Path) {
    let v = run(data, &["verify"]).await;
    assert_eq!(
        v.status.code(),
        Some(0),
        "verify:\n{}\n{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_refuses_decompression_bomb_images_and_goes_on() {
    let r = Reference::get().expect("reference data");
    let mut site = Site::new();
    site.route(
        "/img/bomb-header.png",
        Route::bytes("image/png", fixture("bomb-header-100000x100000.png")),
    );
    site.route(
        "/img/bomb-real.png",
        Route::bytes("image/png", fixture("bomb-15000x6000.png")),
    );
    site.route(
        "/img/asia-bad.png",
        Route::bytes(
            "image/png",
            render_png(r, &south_asia(Style::highlight(), true)),
        ),
    );
    site.route(
        "/img/world-bad.png",
        Route::bytes("image/png", render_png(r, &world_without_dash_line())),
    );
    site.route(
        "/bombs.html",
        page(
            "Bombs",
            r#"<img src="/img/bomb-header.png"><img src="/img/bomb-real.png"><img src="/img/asia-bad.png">"#,
        ),
    );
    site.route(
        "/after.html",
        page("After", r#"<img src="/img/world-bad.png">"#),
    );
    site.route(
        "/",
        page(
            "Index",
            r#"<a href="/bombs.html">bombs</a> <a href="/after.html">after</a>"#,
        ),
    );
    let StaticSweep {
        code,
        out,
        server,
        _tmp,
        data,
    } = static_sweep(site, "bombs").await;
    let base = server.url("");
    assert_eq!(code, Some(1), "violations found, no crash:\n{out}");
    assert!(
        out.contains("image-too-large"),
        "summary counts the bomb:\n{out}"
    );

    let caps = manifests(&data).await;
    let bombs = caps
        .iter()
        .find(|c| c.requested_url.ends_with("/bombs.html"))
        .expect("the page with the bombs is sealed");
    let notes = bombs.notes.join("\n");
    let header_bomb = format!("{base}/img/bomb-header.png");
    let real_bomb = format!("{base}/img/bomb-real.png");
    assert!(
        notes.contains(&format!("image-too-large at {header_bomb}")),
        "header bomb is an error entry with its URL:\n{notes}"
    );
    assert!(
        notes.contains(&format!("check failed for {real_bomb}"))
            && notes.contains("decoding limits"),
        "real bomb refused by the checker's decoding limits, with its URL:\n{notes}"
    );
    // The bytes of the real bomb are still sealed as evidence (87 KB, never decoded in full).
    assert!(
        bombs
            .artifacts
            .iter()
            .any(|a| a.source_url.as_deref() == Some(real_bomb.as_str())),
        "bomb bytes kept: {:?}",
        bombs.artifacts
    );
    // The map beside the bombs and the page after them are still checked and flagged.
    let flagged = flagged_pages(&data, "bombs", &base).await;
    let want: BTreeSet<String> = ["/bombs.html", "/after.html"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(flagged, want, "{out}");
    assert_verifies(&data).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_reads_a_non_utf8_page_in_its_declared_charset_and_seals_the_raw_bytes() {
    let r = Reference::get().expect("reference data");
    let mut site = Site::new();
    // Declared only in the document (<meta charset>), not in Content-Type; the link path is
    // Chinese, so it resolves only when the page is decoded as GBK.
    let html = "<!doctype html><html><head><meta charset=\"gbk\"><title>中国地图</title></head>\
                <body><h1>审图号</h1><a href=\"/地图.html\">地图</a></body></html>";
    let (gbk, _, bad) = encoding_rs::GBK.encode(html);
    assert!(!bad);
    let gbk = gbk.into_owned();
    site.route("/gbk.html", Route::bytes("text/html", gbk.clone()));
    site.route(
        "/%E5%9C%B0%E5%9B%BE.html",
        page("Map", r#"<img src="/img/world-bad.png">"#),
    );
    site.route(
        "/img/world-bad.png",
        Route::bytes("image/png", render_png(r, &world_without_dash_line())),
    );
    site.route("/", page("Index", r#"<a href="/gbk.html">gbk</a>"#));
    let StaticSweep {
        code,
        out,
        server,
        _tmp,
        data,
    } = static_sweep(site, "gbk").await;
    let base = server.url("");
    assert_eq!(code, Some(1), "{out}");

    let caps = manifests(&data).await;
    let page = caps
        .iter()
        .find(|c| c.requested_url.ends_with("/gbk.html"))
        .expect("GBK page sealed");
    let raw = blake3::hash(&gbk).to_hex().to_string();
    assert!(
        page.artifacts.iter().any(|a| a.blake3 == raw),
        "the raw GBK bytes are sealed unchanged: {:?}",
        page.artifacts
    );
    assert!(
        !page.notes.iter().any(|n| n.contains("invalid bytes")),
        "decoded without errors: {:?}",
        page.notes
    );
    // The Chinese link was read in GBK, so the map page behind it was found and flagged.
    let flagged = flagged_pages(&data, "gbk", &base).await;
    assert_eq!(
        flagged,
        BTreeSet::from(["/%E5%9C%B0%E5%9B%BE.html".to_string()]),
        "{out}"
    );
    assert_verifies(&data).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_records_hostile_urls_as_errors_with_the_url_and_goes_on() {
    let r = Reference::get().expect("reference data");
    let mut site = Site::new();
    let long = "x".repeat(5000);
    site.route(
        "/img/world-bad.png",
        Route::bytes("image/png", render_png(r, &world_without_dash_line())),
    );
    site.route(
        "/after.html",
        page("After", r#"<img src="/img/world-bad.png">"#),
    );
    site.route("/tab.html", page("Tab", "<p>tab stripped</p>"));
    let links = format!(
        r#"<a href="http://user:secret@127.0.0.1:1/after.html">userinfo</a>
<a href="/{long}">very long</a>
<a href="/%zz%">bad escape</a>
<a href="http://[::1">broken host</a>
<a href="http://exa mple.invalid/">space in host</a>
<a href="/t	ab.html">tab</a>
<a href="//elsewhere.invalid/x">protocol-relative elsewhere</a>
<a href="http://例え.テスト/">IDN elsewhere</a>
<a href="data:text/html,<script>alert(1)</script>">data</a>
<a href="file:///etc/passwd">file</a>
<a href="/after.html">after</a>"#
    );
    site.route("/", page("Hostile links", &links));
    let StaticSweep {
        code,
        out,
        server,
        _tmp,
        data,
    } = static_sweep(site, "hostile").await;
    let base = server.url("");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("invalid-url"),
        "summary counts invalid URLs:\n{out}"
    );

    let caps = manifests(&data).await;
    let index = caps
        .iter()
        .find(|c| c.requested_url == format!("{base}/"))
        .expect("index sealed");
    let notes = index.notes.join("\n");
    assert!(notes.contains("[::1"), "broken host named:\n{notes}");
    assert!(
        notes.contains("invalid-url at http://user:secret@127.0.0.1:1/after.html"),
        "userinfo URL named:\n{notes}"
    );
    assert!(
        notes.contains("longer than"),
        "very long URL refused:\n{notes}"
    );
    // The sweep went on: the page after the hostile links was sealed and flagged.
    let flagged = flagged_pages(&data, "hostile", &base).await;
    assert!(flagged.contains("/after.html"), "{flagged:?}\n{out}");
    assert!(
        caps.iter().all(|c| !c.requested_url.contains("elsewhere")
            && !c.requested_url.starts_with("file:")
            && !c.requested_url.starts_with("data:")),
        "nothing out of scope or non-http fetched: {:?}",
        caps.iter().map(|c| &c.requested_url).collect::<Vec<_>>()
    );
    assert_verifies(&data).await;
    server.stop().await;
}

/// Guards the sweep's listing of an image it already stored (by URL or by content) without
/// reading it back: every page that shows the problem map gets its own finding and lists the
/// same blob, and the evidence verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_problem_map_shown_on_several_pages_is_sealed_and_flagged_on_each() {
    let r = Reference::get().expect("reference data");
    let bad = render_png(r, &south_asia(Style::highlight(), true));
    let mut site = Site::new();
    site.route("/img/bad.png", Route::bytes("image/png", bad.clone()));
    site.route("/img/bad-copy.png", Route::bytes("image/png", bad.clone()));
    site.route("/a.html", page("a", "<img src=\"/img/bad.png\">"));
    site.route("/b.html", page("b", "<img src=\"/img/bad-copy.png\">"));
    // two pages showing the same two maps in opposite orders: each may fetch one and wait
    // for the other's, which must not leave them waiting for each other
    let x = render_png(r, &world_without_dash_line());
    let y = render_png(r, &south_asia(Style::uniform(), true));
    site.route("/img/x.png", Route::bytes("image/png", x.clone()));
    site.route("/img/y.png", Route::bytes("image/png", y.clone()));
    site.route(
        "/c.html",
        page("c", "<img src=\"/img/x.png\"><img src=\"/img/y.png\">"),
    );
    site.route(
        "/d.html",
        page("d", "<img src=\"/img/y.png\"><img src=\"/img/x.png\">"),
    );
    // a page showing its own new map twice under one URL and once under another
    let z = render_png(r, &south_asia(Style::outline(), true));
    site.route("/img/z.png", Route::bytes("image/png", z.clone()));
    site.route("/img/z-copy.png", Route::bytes("image/png", z.clone()));
    site.route(
        "/e.html",
        page(
            "e",
            "<img src=\"/img/z.png\"><img src=\"/img/z.png\"><img src=\"/img/z-copy.png\">",
        ),
    );
    site.route(
        "/",
        page(
            "home",
            "<img src=\"/img/bad.png\"><a href=\"/a.html\">a</a> <a href=\"/b.html\">b</a> \
             <a href=\"/c.html\">c</a> <a href=\"/d.html\">d</a> <a href=\"/e.html\">e</a>",
        ),
    );
    let s = static_sweep(site, "repeat").await;
    assert_eq!(s.code, Some(1), "{}", s.out);
    let base = s.server.url("");
    let flagged = flagged_pages(&s.data, "repeat", &base).await;
    let want: BTreeSet<String> = ["/", "/a.html", "/b.html", "/c.html", "/d.html", "/e.html"]
        .map(String::from)
        .into();
    assert!(s.out.contains("6 fetched, 6 sealed"), "{}", s.out);
    // one per image per page: c and d show two maps, e one map three times
    assert!(s.out.contains("violations: 8 "), "{}", s.out);
    assert_eq!(flagged, want, "{}", s.out);
    let digest = |b: &[u8]| mapsweep::evidence::blob::hash_bytes(b).blake3;
    let (one, two, own) = (
        BTreeSet::from([digest(&bad)]),
        BTreeSet::from([digest(&x), digest(&y)]),
        BTreeSet::from([digest(&z)]),
    );
    for m in manifests(&s.data).await {
        let maps: Vec<String> = m
            .artifacts
            .iter()
            .filter(|a| a.role.as_str() == "map-candidate")
            .map(|a| a.blake3.clone())
            .collect();
        let want = if m.requested_url.ends_with("/c.html") || m.requested_url.ends_with("/d.html") {
            &two
        } else if m.requested_url.ends_with("/e.html") {
            &own
        } else {
            &one
        };
        if want != &own {
            assert_eq!(maps.len(), want.len(), "{}: {maps:?}", m.requested_url);
        }
        assert_eq!(
            &maps.into_iter().collect::<BTreeSet<_>>(),
            want,
            "{}",
            m.requested_url
        );
    }
    assert_verifies(&s.data).await;
}
