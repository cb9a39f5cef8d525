//! Rendered capture tests with real Chromium on a page served on 127.0.0.1 (skipped with a
//! printed reason when Chromium is missing; failed when CI=true).

use crate::crawl::server::{self, Reply};
use mapsweep::capture::{RenderOptions, RenderPlan, Renderer, find_chromium};
use mapsweep::crawl::{CrawlOptions, Crawler, PageResult, RenderMode, RenderOutcome, SinkFlow};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use url::Url;

fn chromium_or_skip(test: &str) -> Option<std::path::PathBuf> {
    match find_chromium(None) {
        Ok(p) => Some(p),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: Chromium is required in CI: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

/// A page that draws a map-like shape on a canvas with plain JS, has an inline SVG map, and
/// fetches GeoJSON to insert an element.
fn js_site() -> HashMap<String, Reply> {
    let mut r = HashMap::new();
    r.insert(
        "/map.html".to_string(),
        Reply::html(
            r##"<!doctype html><html><head><title>JS map</title>
<style>body{margin:0;background:#fff} #chart{width:400px;height:300px}</style></head><body>
<h1>Regional sales</h1>
<canvas id="chart" width="400" height="300"></canvas>
<svg id="vector" xmlns="http://www.w3.org/2000/svg" width="320" height="240" viewBox="0 0 320 240">
  <path d="M20 40 L180 20 L300 90 L260 200 L90 220 Z" fill="#d33" stroke="#000"/>
</svg>
<script>
  const ctx = document.getElementById('chart').getContext('2d');
  ctx.fillStyle = '#e8f0ff'; ctx.fillRect(0, 0, 400, 300);
  ctx.fillStyle = '#2a6'; ctx.beginPath();
  ctx.moveTo(50, 60); ctx.lineTo(300, 40); ctx.lineTo(360, 200); ctx.lineTo(120, 260); ctx.closePath(); ctx.fill();
  fetch('/geo.json').then(r => r.json()).then(g => {
    const d = document.createElement('div');
    d.id = 'inserted-by-script';
    d.textContent = 'features: ' + g.features.length;
    document.body.appendChild(d);
  });
</script></body></html>"##,
        ),
    );
    r.insert(
        "/geo.json".to_string(),
        Reply::typed(
            "application/geo+json",
            br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},"geometry":{"type":"Point","coordinates":[121.4,31.2]}}]}"#.to_vec(),
        ),
    );
    r.insert(
        "/webgl.html".to_string(),
        Reply::html(
            r#"<html><body><canvas id="gl" width="300" height="200"></canvas><script>
const gl = document.getElementById('gl').getContext('webgl');
gl.clearColor(0.2, 0.6, 0.3, 1); gl.clear(gl.COLOR_BUFFER_BIT);
gl.enable(gl.SCISSOR_TEST); gl.scissor(0, 0, 100, 100);
gl.clearColor(1, 0, 0, 1); gl.clear(gl.COLOR_BUFFER_BIT);
</script></body></html>"#,
        ),
    );
    r.insert(
        "/static.html".to_string(),
        Reply::html("<html><body><p>no scripts here</p></body></html>"),
    );
    r.insert(
        "/index.html".to_string(),
        Reply::html(r#"<html><body><a href="/map.html">map</a> <a href="/static.html">static</a></body></html>"#),
    );
    r
}

#[tokio::test]
async fn render_captures_dom_screenshots_and_network() {
    let Some(chrome) = chromium_or_skip("render_captures_dom_screenshots_and_network") else {
        return;
    };
    let (addr, _) = server::serve(js_site()).await;
    let mut opts = RenderOptions::new(chrome);
    opts.settle = Duration::from_millis(300);
    let renderer = Renderer::launch(opts).await.expect("launch Chromium");
    assert!(
        renderer.info().product.contains("Chrome"),
        "{:?}",
        renderer.info()
    );
    assert!(!renderer.info().user_agent.is_empty());

    let url = format!("http://{addr}/map.html");
    let r = renderer.render(&url).await.expect("render");
    assert!(
        r.dom_html.contains("inserted-by-script"),
        "DOM after load has the script's element"
    );
    let shot = image::load_from_memory(&r.screenshot_png).expect("full-page PNG");
    assert!(
        shot.width() >= 400 && shot.height() >= 300,
        "{}x{}",
        shot.width(),
        shot.height()
    );

    let canvas = r
        .elements
        .iter()
        .find(|e| e.kind == "canvas")
        .expect("canvas element shot");
    let img = image::load_from_memory(&canvas.png).expect("canvas PNG");
    assert!(
        (398..=402).contains(&img.width()) && (298..=302).contains(&img.height()),
        "{}x{}",
        img.width(),
        img.height()
    );
    assert!(!canvas.blank, "the canvas screenshot shows the drawing");
    assert_eq!(canvas.selector, "#chart");
    let svg = r
        .elements
        .iter()
        .find(|e| e.kind == "svg")
        .expect("svg element shot");
    let img = image::load_from_memory(&svg.png).expect("svg PNG");
    assert!((318..=322).contains(&img.width()) && (238..=242).contains(&img.height()));
    assert!(!svg.blank);

    let geo = r
        .network
        .iter()
        .find(|n| n.url.ends_with("/geo.json"))
        .expect("geo.json response");
    assert_eq!(geo.status, 200);
    let body = String::from_utf8(geo.body.clone().expect("geo.json body kept")).unwrap();
    assert!(body.contains("FeatureCollection"));
    assert!(r.network.iter().any(|n| n.url == url && n.status == 200));
    assert!(
        r.notes.is_empty(),
        "no WebGL, nothing altered: {:?}",
        r.notes
    );
}

#[derive(Default)]
struct Collect(Mutex<Vec<PageResult>>);

impl mapsweep::crawl::CrawlSink for Collect {
    async fn on_page(&self, page: PageResult) -> SinkFlow {
        self.0.lock().unwrap().push(page);
        SinkFlow::Continue
    }
}

#[tokio::test]
async fn auto_render_renders_only_pages_with_scripts() {
    let Some(chrome) = chromium_or_skip("auto_render_renders_only_pages_with_scripts") else {
        return;
    };
    let (addr, _) = server::serve(js_site()).await;
    let mut s = CrawlOptions::merge(&CrawlOptions::default(), &CrawlOptions::default());
    s.per_host_delay = Duration::ZERO;
    s.render = RenderMode::Auto;
    s.chrome = Some(chrome.clone());
    s.tabs = 2;
    s.render_settle = Duration::from_millis(200);
    let plan = RenderPlan::decide(&s).unwrap();
    assert!(matches!(plan, RenderPlan::Chromium { always: false, .. }));
    let mut o = RenderOptions::new(chrome);
    o.tabs = 2;
    o.settle = s.render_settle;
    let renderer = Renderer::launch(o).await.unwrap();
    let crawler = Crawler::new(s, plan, Some(renderer)).unwrap();
    let sink = Collect::default();
    crawler
        .run(
            &[Url::parse(&format!("http://{addr}/index.html")).unwrap()],
            None,
            &sink,
        )
        .await
        .unwrap();
    let pages = sink.0.into_inner().unwrap();
    let get = |p: &str| pages.iter().find(|x| x.url.path() == p).unwrap();
    assert!(matches!(
        get("/map.html").render,
        RenderOutcome::Rendered(_)
    ));
    assert!(matches!(
        get("/static.html").render,
        RenderOutcome::NotRendered { .. }
    ));
}

#[test]
fn auto_without_chromium_reports_missed_javascript_maps() {
    let mut s = CrawlOptions::merge(&CrawlOptions::default(), &CrawlOptions::default());
    s.chrome = Some("/nonexistent/chromium".into());
    match RenderPlan::decide(&s).unwrap() {
        RenderPlan::MissingChromium { note } => {
            assert!(note.contains("JavaScript maps will be missed"))
        }
        other => panic!("{other:?}"),
    }
    s.render = RenderMode::Always;
    assert!(RenderPlan::decide(&s).is_err());
}

#[tokio::test]
async fn a_crashed_browser_is_restarted_and_the_restart_recorded() {
    let Some(chrome) = chromium_or_skip("a_crashed_browser_is_restarted_and_the_restart_recorded")
    else {
        return;
    };
    let (addr, _) = server::serve(js_site()).await;
    let mut opts = RenderOptions::new(chrome);
    opts.settle = Duration::from_millis(100);
    let renderer = Renderer::launch(opts).await.expect("launch Chromium");
    let pid = renderer.browser_pid().expect("Chromium pid");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let r = renderer
        .render(&format!("http://{addr}/static.html"))
        .await
        .expect("render after a restart");
    assert!(
        r.notes.iter().any(|n| n.contains("restarted")),
        "{:?}",
        r.notes
    );
    assert!(r.dom_html.contains("no scripts here"));
}

#[tokio::test]
async fn webgl_canvases_are_captured_and_the_alteration_recorded() {
    let Some(chrome) = chromium_or_skip("webgl_canvases_are_captured_and_the_alteration_recorded")
    else {
        return;
    };
    let (addr, _) = server::serve(js_site()).await;
    let mut opts = RenderOptions::new(chrome);
    opts.settle = Duration::from_millis(100);
    let renderer = Renderer::launch(opts).await.expect("launch Chromium");
    let r = renderer
        .render(&format!("http://{addr}/webgl.html"))
        .await
        .expect("render");
    let canvas = r
        .elements
        .iter()
        .find(|e| e.kind == "canvas")
        .unwrap_or_else(|| panic!("canvas shot: {:?} {:?} {}", r.elements, r.notes, r.dom_html));
    assert!(!canvas.blank, "the WebGL drawing is in the screenshot");
    assert!(
        r.notes.iter().any(|n| n.contains("preserveDrawingBuffer")),
        "{:?}",
        r.notes
    );
}
