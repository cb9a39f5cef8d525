//! Rendered capture: a page loaded in headless Chromium (crate `headless_chrome`), with the DOM
//! after load, a full-page screenshot, a screenshot of each map-like element and the network
//! responses (bodies of images and JSON/GeoJSON/TopoJSON kept).
//!
//! Rules kept: Chromium is found on this machine (never downloaded) and launched with the flags
//! for a machine without internet and a fresh temporary profile; the blocking CDP calls run on
//! `spawn_blocking` threads, at most `tabs` pages at a time, each in a fresh tab closed after;
//! nothing on the page is changed except one documented script that keeps WebGL drawing buffers
//! readable, and when a page used WebGL that alteration is written in the result's `notes`;
//! chart animations are not disabled, a fixed settle time is waited instead and recorded.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::{Network, Page};
use headless_chrome::{Browser, LaunchOptions, Tab};

/// Errors launching the browser or rendering one page.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
pub enum CaptureError {
    #[error("Chromium not found (tried {tried}); give --chrome PATH or set CHROME")]
    ChromiumNotFound { tried: String },
    #[error("cannot launch Chromium at {path}: {message}")]
    Launch { path: PathBuf, message: String },
    #[error("rendering {url} failed: {message}")]
    Render { url: String, message: String },
    #[error("the render task for {url} stopped: {message}")]
    Task { url: String, message: String },
}

/// Where Chromium was looked for, in order.
pub const CHROMIUM_CANDIDATES: &[&str] = &[
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
    "chromium-browser",
    "chromium",
    "google-chrome",
    "google-chrome-stable",
];

/// Finds Chromium: `explicit`, else env `CHROME`, else [`CHROMIUM_CANDIDATES`] (names on PATH).
pub fn find_chromium(explicit: Option<&Path>) -> Result<PathBuf, CaptureError> {
    if let Some(p) = explicit {
        return if p.exists() {
            Ok(p.to_path_buf())
        } else {
            Err(CaptureError::ChromiumNotFound {
                tried: p.display().to_string(),
            })
        };
    }
    if let Some(p) = std::env::var_os("CHROME").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(p)
        } else {
            Err(CaptureError::ChromiumNotFound {
                tried: format!("CHROME={}", p.display()),
            })
        };
    }
    for c in CHROMIUM_CANDIDATES {
        let p = Path::new(c);
        if p.is_absolute() {
            if p.exists() {
                return Ok(p.to_path_buf());
            }
        } else if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let full = dir.join(c);
                if full.exists() {
                    return Ok(full);
                }
            }
        }
    }
    Err(CaptureError::ChromiumNotFound {
        tried: CHROMIUM_CANDIDATES.join(", "),
    })
}

/// Renderer options.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub chrome: PathBuf,
    /// Pages rendered at the same time (one tab each).
    pub tabs: usize,
    /// Wait after load and network quiet, for chart animations.
    pub settle: Duration,
    /// Longest wait for navigation and for the network to go quiet.
    pub page_timeout: Duration,
    /// Body cap for kept network responses.
    pub max_body_bytes: usize,
    /// Window size (CSS pixels) of the viewport.
    pub window: (u32, u32),
    /// Keep WebGL drawing buffers readable (alters the page; recorded when it mattered).
    pub preserve_webgl: bool,
    /// Longest full-page screenshot height; taller pages are cut (recorded in notes).
    pub max_screenshot_height: u32,
}

impl RenderOptions {
    pub fn new(chrome: PathBuf) -> Self {
        Self {
            chrome,
            tabs: 1,
            settle: Duration::from_millis(1500),
            page_timeout: Duration::from_secs(30),
            max_body_bytes: 20 * 1024 * 1024,
            window: (1366, 900),
            preserve_webgl: true,
            max_screenshot_height: 16_384,
        }
    }
}

/// The browser used, for the capture record.
#[derive(Debug, Clone, Serialize)]
pub struct BrowserInfo {
    pub executable: String,
    pub product: String,
    pub revision: String,
    pub user_agent: String,
    pub js_version: String,
    pub protocol_version: String,
    pub launch_flags: Vec<String>,
}

/// A CSS-pixel rectangle in page coordinates.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A screenshot of one map-like element.
#[derive(Debug, Clone, Serialize)]
pub struct ElementShot {
    /// `canvas`, `svg`, `d3-svg`, `echarts`, `highcharts`, `leaflet`, `amcharts`.
    pub kind: String,
    /// A CSS selector that finds the element in the rendered DOM.
    pub selector: String,
    /// A short human description (tag, id, classes, size).
    pub description: String,
    pub rect: Rect,
    /// All pixels the same colour (e.g. a WebGL canvas without a kept buffer).
    pub blank: bool,
    #[serde(skip)]
    pub png: Vec<u8>,
}

/// One network response seen while rendering.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkResponse {
    pub url: String,
    pub status: u32,
    pub mime_type: String,
    pub resource_type: String,
    pub remote_addr: Option<String>,
    /// Why the body was not kept, when it was wanted but missing.
    pub body_error: Option<String>,
    pub body_truncated: bool,
    #[serde(skip)]
    pub body: Option<Vec<u8>>,
}

/// Everything one rendered capture produced.
#[derive(Debug, Clone, Serialize)]
pub struct RenderResult {
    pub requested_url: String,
    pub final_url: String,
    pub started_at: jiff::Timestamp,
    pub finished_at: jiff::Timestamp,
    pub browser: BrowserInfo,
    pub settle_ms: u64,
    /// The full-page screenshot's size in pixels.
    pub screenshot_size: (u32, u32),
    pub elements: Vec<ElementShot>,
    pub network: Vec<NetworkResponse>,
    /// What was done to the page or what went partly wrong (altered page, cut screenshot, ...).
    pub notes: Vec<String>,
    #[serde(skip)]
    pub dom_html: String,
    #[serde(skip)]
    pub screenshot_png: Vec<u8>,
}

/// One launched Chromium rendering pages in up to `tabs` tabs at a time.
pub struct Renderer {
    browser: Mutex<Browser>,
    info: BrowserInfo,
    opts: RenderOptions,
    slots: Arc<tokio::sync::Semaphore>,
}

/// Launch flags for a machine without internet (besides headless_chrome's defaults).
pub const LAUNCH_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
];

/// Script run in every document before the page's own: keeps WebGL drawing buffers so that
/// screenshots of WebGL canvases are not blank, and notes that WebGL was used.
const PRESERVE_WEBGL_JS: &str = r#"(() => {
  const orig = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function(type, attrs) {
    if (typeof type === 'string' && type.indexOf('webgl') === 0) {
      window.__mapsweepWebgl = (window.__mapsweepWebgl || 0) + 1;
      attrs = Object.assign({}, attrs || {}, { preserveDrawingBuffer: true });
    }
    return orig.call(this, type, attrs);
  };
})();"#;

/// Finds map-like elements; returns JSON `[{kind, selector, description, rect}]`.
const FIND_MAPS_JS: &str = r#"(() => {
  const MINW = 100, MINH = 80;
  const libs = [
    ['echarts', '[_echarts_instance_]'],
    ['highcharts', '.highcharts-container'],
    ['leaflet', '.leaflet-container'],
    ['amcharts', '.amcharts-main-div'],
    ['amcharts', '[class*="amcharts"]'],
  ];
  const out = [], taken = new Set();
  const path = (el) => {
    if (el.id && document.querySelectorAll('#' + CSS.escape(el.id)).length === 1) return '#' + CSS.escape(el.id);
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && e !== document.documentElement; e = e.parentElement) {
      if (e.id && document.querySelectorAll('#' + CSS.escape(e.id)).length === 1) { parts.unshift('#' + CSS.escape(e.id)); break; }
      let i = 1; for (let s = e.previousElementSibling; s; s = s.previousElementSibling) if (s.tagName === e.tagName) i++;
      parts.unshift(e.tagName.toLowerCase() + ':nth-of-type(' + i + ')');
    }
    return parts.join(' > ');
  };
  const add = (kind, el) => {
    if (taken.has(el)) return;
    const r = el.getBoundingClientRect();
    if (r.width < MINW || r.height < MINH) return;
    taken.add(el);
    const cls = (typeof el.className === 'string' ? el.className : (el.className && el.className.baseVal) || '').trim().split(/\s+/).filter(Boolean).slice(0, 3);
    out.push({ kind, selector: path(el),
      description: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls.map(c => '.' + c).join('') + ' ' + Math.round(r.width) + 'x' + Math.round(r.height),
      rect: { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height } });
  };
  for (const [kind, sel] of libs) for (const el of document.querySelectorAll(sel)) {
    if ([...taken].some(t => t.contains(el))) continue;
    el.__mapsweepLib = true; add(kind, el);
  }
  const inLib = (el) => [...taken].some(t => t.__mapsweepLib && t.contains(el));
  for (const el of document.querySelectorAll('canvas')) if (!inLib(el)) add('canvas', el);
  for (const el of document.querySelectorAll('svg')) {
    if (el.parentElement && el.parentElement.closest('svg')) continue;
    if (inLib(el)) continue;
    const d3 = [...el.querySelectorAll('*')].slice(0, 200).some(n => n.__data__ !== undefined);
    add(d3 ? 'd3-svg' : 'svg', el);
  }
  return JSON.stringify(out);
})()"#;

#[derive(serde::Deserialize)]
struct FoundElement {
    kind: String,
    selector: String,
    description: String,
    rect: Rect,
}

#[derive(Debug, Clone)]
struct SeenResponse {
    request_id: String,
    url: String,
    status: u32,
    mime_type: String,
    resource_type: String,
    remote_addr: Option<String>,
}

fn wants_body(mime: &str, url: &str) -> bool {
    let m = mime.to_ascii_lowercase();
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    m.starts_with("image/")
        || m.contains("json")
        || path.ends_with(".json")
        || path.ends_with(".geojson")
        || path.ends_with(".topojson")
}

fn b64decode(s: &str) -> Option<Vec<u8>> {
    crate::crawl::links::decode_data_url(&format!("data:image/x;base64,{s}")).map(|(_, b)| b)
}

/// Whether every pixel of a PNG has the same colour.
pub fn png_is_blank(png: &[u8]) -> bool {
    let Ok(img) = image::load_from_memory_with_format(png, image::ImageFormat::Png) else {
        return false;
    };
    let rgba = img.to_rgba8();
    let mut px = rgba.pixels();
    let Some(first) = px.next() else { return true };
    px.all(|p| p == first)
}

impl Renderer {
    /// Launches Chromium (blocking work moved off the async threads).
    /// Launches Chromium when the plan says so, with the crawl's tab, settle, timeout and body
    /// settings; `None` for plans that do not render.
    pub async fn launch_for_plan(
        plan: &RenderPlan,
        crawl: &crate::crawl::CrawlSettings,
    ) -> Result<Option<Arc<Self>>, CaptureError> {
        let RenderPlan::Chromium { path, .. } = plan else {
            return Ok(None);
        };
        let mut o = RenderOptions::new(path.clone());
        o.tabs = crawl.tabs;
        o.settle = crawl.render_settle;
        o.page_timeout = crawl.timeout;
        o.max_body_bytes = crawl.max_body_bytes as usize;
        Ok(Some(Self::launch(o).await?))
    }

    pub async fn launch(opts: RenderOptions) -> Result<Arc<Self>, CaptureError> {
        tokio::task::spawn_blocking(move || Self::launch_blocking(opts))
            .await
            .map_err(|e| CaptureError::Task {
                url: String::new(),
                message: e.to_string(),
            })?
            .map(Arc::new)
    }

    fn start_browser(opts: &RenderOptions) -> Result<(Browser, BrowserInfo), CaptureError> {
        let path = opts.chrome.clone();
        let fail = |message: String| CaptureError::Launch {
            path: path.clone(),
            message,
        };
        let args: Vec<&std::ffi::OsStr> = LAUNCH_FLAGS.iter().map(std::ffi::OsStr::new).collect();
        let launch = LaunchOptions::default_builder()
            .path(Some(opts.chrome.clone()))
            .headless(true)
            .sandbox(false)
            .window_size(Some(opts.window))
            .idle_browser_timeout(Duration::from_secs(3600))
            .ignore_certificate_errors(false)
            .args(args)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let browser = Browser::new(launch).map_err(|e| fail(format!("{e:#}")))?;
        let v = browser
            .get_version()
            .map_err(|e| fail(format!("getVersion: {e:#}")))?;
        let info = BrowserInfo {
            executable: opts.chrome.display().to_string(),
            product: v.product,
            revision: v.revision,
            user_agent: v.user_agent,
            js_version: v.js_version,
            protocol_version: v.protocol_version,
            launch_flags: LAUNCH_FLAGS.iter().map(|s| s.to_string()).collect(),
        };
        Ok((browser, info))
    }

    fn launch_blocking(opts: RenderOptions) -> Result<Self, CaptureError> {
        let (browser, info) = Self::start_browser(&opts)?;
        Ok(Self {
            browser: Mutex::new(browser),
            info,
            slots: Arc::new(tokio::sync::Semaphore::new(opts.tabs.max(1))),
            opts,
        })
    }

    /// A new tab; when the browser is gone (crashed, connection lost) it is launched again once,
    /// and the restart is returned as a note for the capture record.
    fn open_tab(&self, url: &str) -> Result<(Arc<Tab>, Option<String>), CaptureError> {
        let browser = self
            .browser
            .lock()
            .map(|b| b.clone())
            .map_err(|e| CaptureError::Task {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        match browser.new_tab() {
            Ok(tab) => Ok((tab, None)),
            Err(first) => {
                tracing::warn!(url, error = %first, "the browser did not open a tab; restarting it");
                let (fresh, _) = Self::start_browser(&self.opts)?;
                let tab = fresh.new_tab().map_err(|e| CaptureError::Render {
                    url: url.to_string(),
                    message: format!("new tab after a browser restart: {e:#}"),
                })?;
                if let Ok(mut b) = self.browser.lock() {
                    *b = fresh;
                }
                Ok((
                    tab,
                    Some(format!(
                        "the browser was restarted before this capture ({first})"
                    )),
                ))
            }
        }
    }

    /// The Chromium process id (for diagnosis and tests).
    pub fn browser_pid(&self) -> Option<u32> {
        self.browser.lock().ok().and_then(|b| b.get_process_id())
    }

    /// The browser's name, version and user agent.
    pub fn info(&self) -> &BrowserInfo {
        &self.info
    }

    /// Renders one page in a fresh tab; at most `tabs` at a time.
    pub async fn render(self: &Arc<Self>, url: &str) -> Result<RenderResult, CaptureError> {
        let _slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| CaptureError::Task {
                url: url.to_string(),
                message: e.to_string(),
            })?;
        let this = Arc::clone(self);
        let u = url.to_string();
        tokio::task::spawn_blocking(move || this.render_blocking(&u))
            .await
            .map_err(|e| CaptureError::Task {
                url: url.to_string(),
                message: e.to_string(),
            })?
    }

    fn render_blocking(&self, url: &str) -> Result<RenderResult, CaptureError> {
        let t = Instant::now();
        let (tab, restarted) = self.open_tab(url)?;
        tracing::debug!(url, ms = t.elapsed().as_millis() as u64, "render: new tab");
        let result = self.render_in_tab(&tab, url).map(|mut r| {
            r.notes.extend(restarted);
            r
        });
        let t = Instant::now();
        if let Err(e) = tab.close(false) {
            tracing::debug!(url, error = %e, "closing a render tab failed");
        }
        tracing::debug!(
            url,
            ms = t.elapsed().as_millis() as u64,
            "render: tab closed"
        );
        result
    }

    fn render_in_tab(&self, tab: &Arc<Tab>, url: &str) -> Result<RenderResult, CaptureError> {
        let fail = |what: &str, e: &dyn std::fmt::Display| CaptureError::Render {
            url: url.to_string(),
            message: format!("{what}: {e}"),
        };
        let started_at = jiff::Timestamp::now();
        let mut notes = Vec::new();
        tab.set_default_timeout(self.opts.page_timeout);
        let seen: Arc<Mutex<Vec<SeenResponse>>> = Arc::default();
        let sink = Arc::clone(&seen);
        tab.register_response_handling(
            "mapsweep",
            Box::new(
                move |ev: Network::events::ResponseReceivedEventParams, _body| {
                    let r = &ev.response;
                    let remote_addr = r
                        .remote_ip_address
                        .as_ref()
                        .map(|ip| format!("{ip}:{}", r.remote_port.unwrap_or(0)));
                    if let Ok(mut v) = sink.lock() {
                        v.push(SeenResponse {
                            request_id: ev.request_id.clone(),
                            url: r.url.clone(),
                            status: r.status,
                            mime_type: r.mime_type.clone(),
                            resource_type: format!("{:?}", ev.Type),
                            remote_addr,
                        });
                    }
                },
            ),
        )
        .map_err(|e| fail("enable network events", &e))?;
        if self.opts.preserve_webgl {
            tab.call_method(Page::AddScriptToEvaluateOnNewDocument {
                source: PRESERVE_WEBGL_JS.to_string(),
                world_name: None,
                include_command_line_api: None,
                run_immediately: None,
            })
            .map_err(|e| fail("inject WebGL buffer script", &e))?;
        }
        let t0 = Instant::now();
        tab.navigate_to(url).map_err(|e| fail("navigate", &e))?;
        if let Err(e) = tab.wait_until_navigated() {
            notes.push(format!(
                "the page did not finish loading in time ({e}); captured as it was"
            ));
        }
        tracing::debug!(url, ms = t0.elapsed().as_millis() as u64, "render: loaded");
        // Network quiet: no new response for 500 ms, bounded by the page timeout.
        let deadline = Instant::now() + self.opts.page_timeout;
        let mut last = usize::MAX;
        let mut stable_since = Instant::now();
        while Instant::now() < deadline {
            let n = seen.lock().map(|v| v.len()).unwrap_or(0);
            if n != last {
                last = n;
                stable_since = Instant::now();
            } else if stable_since.elapsed() >= Duration::from_millis(500) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if Instant::now() >= deadline {
            notes.push("network did not go quiet before the page timeout".to_string());
        }
        tracing::debug!(
            url,
            ms = t0.elapsed().as_millis() as u64,
            "render: network quiet"
        );
        std::thread::sleep(self.opts.settle);
        let _ = tab.deregister_response_handling("mapsweep");

        if self.opts.preserve_webgl
            && let Ok(obj) = tab.evaluate("window.__mapsweepWebgl || 0", false)
            && obj.value.as_ref().and_then(|v| v.as_u64()).unwrap_or(0) > 0
        {
            notes.push(
                "page altered: WebGL contexts were created with preserveDrawingBuffer=true \
                 so that their canvases could be screenshotted"
                    .to_string(),
            );
        }

        let dom_html = tab.get_content().map_err(|e| fail("read DOM", &e))?;
        let final_url = tab.get_url();

        let metrics = tab
            .call_method(Page::GetLayoutMetrics(None))
            .map_err(|e| fail("layout metrics", &e))?;
        let cw = metrics.css_content_size.width.max(1.0).ceil();
        let mut ch = metrics.css_content_size.height.max(1.0).ceil();
        if ch > f64::from(self.opts.max_screenshot_height) {
            notes.push(format!(
                "full-page screenshot cut at {} px of {} px",
                self.opts.max_screenshot_height, ch
            ));
            ch = f64::from(self.opts.max_screenshot_height);
        }
        let screenshot_png = self
            .shot(
                tab,
                Rect {
                    x: 0.0,
                    y: 0.0,
                    width: cw,
                    height: ch,
                },
            )
            .map_err(|e| fail("full-page screenshot", &e))?;

        tracing::debug!(
            url,
            ms = t0.elapsed().as_millis() as u64,
            "render: page screenshot"
        );
        let found: Vec<FoundElement> = match tab.evaluate(FIND_MAPS_JS, false) {
            Ok(obj) => obj
                .value
                .as_ref()
                .and_then(|v| v.as_str())
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default(),
            Err(e) => {
                notes.push(format!("finding map elements failed: {e}"));
                Vec::new()
            }
        };
        let mut elements = Vec::new();
        for f in found {
            match self.shot(tab, f.rect) {
                Ok(png) => elements.push(ElementShot {
                    blank: png_is_blank(&png),
                    kind: f.kind,
                    selector: f.selector,
                    description: f.description,
                    rect: f.rect,
                    png,
                }),
                Err(e) => notes.push(format!("screenshot of {} failed: {e}", f.selector)),
            }
        }

        tracing::debug!(
            url,
            ms = t0.elapsed().as_millis() as u64,
            "render: element screenshots"
        );
        let responses = seen.lock().map(|v| v.clone()).unwrap_or_default();
        let mut network = Vec::with_capacity(responses.len());
        for r in responses {
            let mut entry = NetworkResponse {
                url: r.url.clone(),
                status: r.status,
                mime_type: r.mime_type.clone(),
                resource_type: r.resource_type.clone(),
                remote_addr: r.remote_addr.clone(),
                body_error: None,
                body_truncated: false,
                body: None,
            };
            if wants_body(&r.mime_type, &r.url) && !r.url.starts_with("data:") {
                match tab.call_method(Network::GetResponseBody {
                    request_id: r.request_id.clone(),
                }) {
                    Ok(b) => {
                        let bytes = if b.base_64_encoded {
                            b64decode(&b.body)
                        } else {
                            Some(b.body.into_bytes())
                        };
                        match bytes {
                            Some(mut bytes) => {
                                if bytes.len() > self.opts.max_body_bytes {
                                    bytes.truncate(self.opts.max_body_bytes);
                                    entry.body_truncated = true;
                                }
                                entry.body = Some(bytes);
                            }
                            None => entry.body_error = Some("body was not valid base64".into()),
                        }
                    }
                    Err(e) => entry.body_error = Some(e.to_string()),
                }
            }
            network.push(entry);
        }

        tracing::debug!(url, ms = t0.elapsed().as_millis() as u64, "render: done");
        Ok(RenderResult {
            requested_url: url.to_string(),
            final_url,
            started_at,
            finished_at: jiff::Timestamp::now(),
            browser: self.info.clone(),
            settle_ms: self.opts.settle.as_millis() as u64,
            screenshot_size: (cw as u32, ch as u32),
            elements,
            network,
            notes,
            dom_html,
            screenshot_png,
        })
    }

    fn shot(&self, tab: &Arc<Tab>, r: Rect) -> Result<Vec<u8>, String> {
        let shot = tab
            .call_method(Page::CaptureScreenshot {
                format: Some(Page::CaptureScreenshotFormatOption::Png),
                quality: None,
                clip: Some(Page::Viewport {
                    x: r.x.max(0.0),
                    y: r.y.max(0.0),
                    width: r.width.max(1.0),
                    height: r.height.max(1.0),
                    scale: 1.0,
                }),
                from_surface: Some(true),
                capture_beyond_viewport: Some(true),
                optimize_for_speed: None,
            })
            .map_err(|e| e.to_string())?;
        b64decode(&shot.data).ok_or_else(|| "screenshot was not valid base64".to_string())
    }
}

/// What the crawl will do about rendering, decided once at start.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "render", rename_all = "kebab-case")]
pub enum RenderPlan {
    /// `--render never`.
    Never,
    /// Chromium found: render (always, or pages with scripts in auto mode).
    Chromium { path: PathBuf, always: bool },
    /// `auto` without Chromium: JavaScript maps will be missed. Log once, record in each capture.
    MissingChromium { note: String },
}

impl RenderPlan {
    /// Decides from the settings. `always` without Chromium is an error.
    pub fn decide(settings: &crate::crawl::CrawlSettings) -> Result<Self, CaptureError> {
        use crate::crawl::RenderMode;
        match settings.render {
            RenderMode::Never => Ok(RenderPlan::Never),
            RenderMode::Always => Ok(RenderPlan::Chromium {
                path: find_chromium(settings.chrome.as_deref())?,
                always: true,
            }),
            RenderMode::Auto => match find_chromium(settings.chrome.as_deref()) {
                Ok(path) => Ok(RenderPlan::Chromium {
                    path,
                    always: false,
                }),
                Err(e) => Ok(RenderPlan::MissingChromium {
                    note: format!("JavaScript maps will be missed: {e}"),
                }),
            },
        }
    }
}
