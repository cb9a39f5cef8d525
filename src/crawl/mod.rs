//! The crawler: breadth-first from seed URLs, within the seeds' sites, politely, yielding one
//! [`PageResult`] per page (with its map candidates fetched) to a [`CrawlSink`].
//!
//! Rules kept:
//! - Scope: a URL is crawled when its host is a seed's host or a subdomain of it (a leading
//!   `www.` of the seed is dropped first), or under an `--allow-domain`; IP-address seeds match
//!   the exact host and port. Only http/https; other schemes are counted, never fetched.
//! - Map candidates (images, SVG, stylesheets) are fetched wherever they are hosted (a CDN image
//!   is part of the page that shows it); only pages are kept within scope.
//! - Breadth first to `depth` (seeds are depth 0) and at most `max_pages` pages (pages already
//!   done in a resumed crawl count). Each URL (fragment dropped) is fetched at most once.
//! - Politeness, robots, redirects, retries and the body cap live in [`fetch`].
//! - Every failure becomes a [`CrawlError`] entry with its URL inside a result; the crawl goes on.
//! - The sink is called from one task, one page at a time, in completion order; a page counts as
//!   done (for [`CrawlState`]) once the sink has returned for it, so a stop never loses a page:
//!   in-flight pages go back to the queue in the state snapshot.
//! - This module knows nothing of evidence sealing or map checks: it produces plain values.
//!
//! How the sweep uses it (sketch):
//!
//! ```ignore
//! let settings = CrawlOptions::merge(&cli.crawl, &config.crawl);
//! let plan = RenderPlan::decide(&settings)?;            // MissingChromium { note }: log once
//! let renderer = match &plan {                           // and record the note per capture
//!     RenderPlan::Chromium { path, .. } => Some(Renderer::launch(RenderOptions::new(path.clone())).await?),
//!     _ => None,
//! };
//! let crawler = Crawler::new(settings, plan, renderer)?;
//! let handle = crawler.handle();                         // Ctrl-C: handle.stop(); persist handle.snapshot()
//! let summary = crawler.run(&seeds, resumed_state, &sealing_sink).await?;
//! // sealing_sink.on_page(page): seal page.body + page.fetch (headers, redirects, remote_addr,
//! // robots, timestamps), each candidate with bytes (status Fetched, or Failed with bytes), each
//! // stylesheet in page.resources, and for RenderOutcome::Rendered: dom_html, screenshot_png,
//! // elements[].png, network[].body, browser info and notes; then check the candidates.
//! ```

pub mod candidates;
pub mod fetch;
pub mod links;
pub mod options;
pub mod robots;

pub use candidates::{Candidate, CandidateStatus};
pub use fetch::{CrawlError, ErrorKind, FetchRecord, Fetched, Fetcher, RedirectHop};
pub use links::CandidateSource;
pub use options::{CrawlOptions, CrawlSettings, RenderMode};

use crate::capture::{RenderPlan, RenderResult, Renderer};
use candidates::Dedupe;
use links::{CandidateTarget, RawCandidate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinSet;
use url::Url;

/// Errors that stop a crawl before it starts.
#[derive(Debug, thiserror::Error)]
pub enum CrawlSetupError {
    #[error(transparent)]
    Fetcher(#[from] fetch::FetchSetupError),
    #[error("seed {url} is not a crawlable http(s) URL: {reason}")]
    BadSeed { url: String, reason: String },
    #[error("no seed URLs given")]
    NoSeeds,
}

/// Which hosts belong to the crawl.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    /// Domain suffixes (`example.com` matches `example.com` and `a.example.com`).
    pub domains: Vec<String>,
    /// Exact `host:port` for IP-address seeds.
    pub exact: Vec<String>,
}

impl Scope {
    /// Builds the scope from the seeds and the allowed domains.
    pub fn new(seeds: &[Url], allow_domains: &[String]) -> Self {
        let mut domains = Vec::new();
        let mut exact = Vec::new();
        for s in seeds {
            let Some(host) = s.host_str() else { continue };
            if fetch::is_ip_host(s) {
                exact.push(fetch::host_key(s));
            } else {
                let h = host.to_ascii_lowercase();
                domains.push(h.strip_prefix("www.").unwrap_or(&h).to_string());
            }
        }
        for d in allow_domains {
            let d = d
                .trim()
                .trim_start_matches("*.")
                .trim_matches('.')
                .to_ascii_lowercase();
            if !d.is_empty() {
                domains.push(d);
            }
        }
        domains.sort();
        domains.dedup();
        exact.sort();
        exact.dedup();
        Self { domains, exact }
    }

    /// Whether `url` is inside the crawl.
    pub fn contains(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        if fetch::is_ip_host(url) {
            return self.exact.contains(&fetch::host_key(url))
                || self.domains.iter().any(|d| d == host);
        }
        let host = host.to_ascii_lowercase();
        self.domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
    }
}

/// A queued page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedUrl {
    pub url: Url,
    pub depth: u32,
    pub referrer: Option<Url>,
}

/// The crawl's progress, serialisable for `--resume`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrawlState {
    pub format: String,
    /// Pages whose results the sink has accepted.
    pub done: Vec<Url>,
    /// Pages still to fetch, in order (in-flight pages are put back here).
    pub queued: Vec<QueuedUrl>,
    /// Candidate URLs already taken.
    pub candidate_urls: Vec<Url>,
    /// Candidate content hashes (BLAKE3 hex) already taken.
    pub candidate_hashes: Vec<String>,
}

/// The format string of [`CrawlState`].
pub const CRAWL_STATE_FORMAT: &str = "mapsweep.crawl-state/1";

/// A stylesheet (or other sub-resource) fetched to read the page.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub kind: String,
    pub fetch: FetchRecord,
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// What happened about rendering this page.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum RenderOutcome {
    /// Not rendered: `--render never`, not HTML, no scripts in auto mode, or the fetch failed.
    NotRendered {
        reason: String,
    },
    /// Would have been rendered, but Chromium is missing: JavaScript maps are missed.
    Missed {
        note: String,
    },
    Rendered(Box<RenderResult>),
    Failed {
        error: CrawlError,
    },
}

/// Everything about one crawled page.
#[derive(Debug, Clone, Serialize)]
pub struct PageResult {
    /// The URL as requested (as queued).
    pub url: Url,
    pub depth: u32,
    pub referrer: Option<Url>,
    pub fetch: FetchRecord,
    #[serde(skip)]
    pub body: Vec<u8>,
    pub is_html: bool,
    /// The charset used to decode the HTML (declared in the header, else in a meta tag, else
    /// UTF-8), and whether decoding met invalid bytes.
    pub charset_used: Option<String>,
    pub decode_errors: bool,
    #[serde(skip)]
    pub text: Option<String>,
    pub has_scripts: bool,
    /// Links found on the page (all, in and out of scope).
    pub links: Vec<Url>,
    pub candidates: Vec<Candidate>,
    pub resources: Vec<Resource>,
    /// Refused links and sources (invalid or hostile URLs), each with its URL.
    pub problems: Vec<CrawlError>,
    pub skipped_schemes: BTreeMap<String, u64>,
    pub render: RenderOutcome,
}

impl PageResult {
    /// All error entries of this page: the fetch, refused links, candidates, render.
    pub fn errors(&self) -> Vec<&CrawlError> {
        let mut v: Vec<&CrawlError> = self.fetch.error.iter().collect();
        v.extend(self.problems.iter());
        v.extend(self.candidates.iter().filter_map(|c| c.error.as_ref()));
        v.extend(self.resources.iter().filter_map(|r| r.fetch.error.as_ref()));
        if let RenderOutcome::Failed { error } = &self.render {
            v.push(error);
        }
        v
    }
}

/// Whether the crawl should go on after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkFlow {
    Continue,
    Stop,
}

/// Receives page results as they complete (called from one task, one page at a time).
pub trait CrawlSink: Send + Sync {
    fn on_page(&self, page: PageResult) -> impl Future<Output = SinkFlow> + Send;
}

impl CrawlSink for tokio::sync::mpsc::Sender<PageResult> {
    async fn on_page(&self, page: PageResult) -> SinkFlow {
        match self.send(page).await {
            Ok(()) => SinkFlow::Continue,
            Err(_) => SinkFlow::Stop,
        }
    }
}

/// Counters for the end-of-crawl summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CrawlSummary {
    pub pages: u64,
    pub pages_ok: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub skipped_schemes: BTreeMap<String, u64>,
    pub skipped_out_of_scope: u64,
    pub skipped_too_deep: u64,
    pub tiny_images_skipped: u64,
    pub not_images: u64,
    /// Unique candidates taken (bytes delivered).
    pub candidates: u64,
    pub duplicates_by_url: u64,
    pub duplicates_by_content: u64,
    pub rendered: u64,
    /// The crawl stopped at `max_pages` with pages still queued.
    pub max_pages_reached: bool,
    /// The crawl was stopped (sink or handle) before the queue was empty.
    pub stopped: bool,
    pub started_at: Option<jiff::Timestamp>,
    pub finished_at: Option<jiff::Timestamp>,
}

impl CrawlSummary {
    fn add_page(&mut self, p: &PageResult) {
        self.pages += 1;
        if p.fetch.error.is_none() {
            self.pages_ok += 1;
        }
        for e in p.errors() {
            *self.errors_by_kind.entry(e.kind.to_string()).or_default() += 1;
        }
        for (k, n) in &p.skipped_schemes {
            *self.skipped_schemes.entry(k.clone()).or_default() += n;
        }
        for c in &p.candidates {
            match &c.status {
                CandidateStatus::Fetched => self.candidates += 1,
                CandidateStatus::DuplicateUrl => self.duplicates_by_url += 1,
                CandidateStatus::DuplicateContent { .. } => self.duplicates_by_content += 1,
                CandidateStatus::TooSmall { .. } => self.tiny_images_skipped += 1,
                CandidateStatus::NotImage { .. } => self.not_images += 1,
                CandidateStatus::Failed => {}
            }
        }
        if matches!(p.render, RenderOutcome::Rendered(_)) {
            self.rendered += 1;
        }
    }
}

#[derive(Default)]
struct Frontier {
    queue: VecDeque<QueuedUrl>,
    seen: HashSet<Url>,
    out_of_scope_seen: HashSet<Url>,
    too_deep_seen: HashSet<Url>,
    done: Vec<Url>,
    in_flight: Vec<QueuedUrl>,
}

/// A handle to a running crawl: stop it, or snapshot its state.
#[derive(Clone)]
pub struct CrawlHandle {
    frontier: Arc<Mutex<Frontier>>,
    dedupe: Arc<Dedupe>,
    stop: Arc<AtomicBool>,
}

impl CrawlHandle {
    /// Asks the crawl to stop: no new pages start; pages in flight finish and reach the sink.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// The crawl's state now (in-flight pages counted as queued, first).
    pub fn snapshot(&self) -> CrawlState {
        let f = self.frontier.lock().unwrap_or_else(|p| p.into_inner());
        let (candidate_urls, candidate_hashes) = self.dedupe.snapshot();
        let mut queued = f.in_flight.clone();
        queued.extend(f.queue.iter().cloned());
        CrawlState {
            format: CRAWL_STATE_FORMAT.to_string(),
            done: f.done.clone(),
            queued,
            candidate_urls,
            candidate_hashes,
        }
    }
}

struct Ctx {
    settings: Arc<CrawlSettings>,
    fetcher: Fetcher,
    dedupe: Arc<Dedupe>,
    renderer: Option<Arc<Renderer>>,
    plan: RenderPlan,
    sheets: Mutex<HashSet<Url>>,
}

/// The crawler. Build with [`Crawler::new`], optionally attach a renderer, then [`Crawler::run`].
pub struct Crawler {
    ctx: Arc<Ctx>,
    handle: CrawlHandle,
}

/// Decodes HTML bytes: the declared charset, else a `<meta charset>`, else a BOM, else UTF-8.
/// Returns the text, the charset used and whether invalid bytes were replaced.
pub fn decode_html(body: &[u8], declared: Option<&str>) -> (String, String, bool) {
    let from_label = |l: &str| encoding_rs::Encoding::for_label(l.trim().as_bytes());
    let enc = declared
        .and_then(from_label)
        .or_else(|| sniff_meta_charset(body).and_then(|l| from_label(&l)))
        .or_else(|| encoding_rs::Encoding::for_bom(body).map(|(e, _)| e))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, used, had_errors) = enc.decode(body);
    (
        text.into_owned(),
        used.name().to_ascii_lowercase(),
        had_errors,
    )
}

fn sniff_meta_charset(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let i = head.find("charset=")?;
    let rest = head[i + 8..].trim_start_matches(['"', '\'']);
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))?;
    Some(rest[..end].to_string()).filter(|s| !s.is_empty())
}

fn is_html(media_type: Option<&str>, body: &[u8]) -> bool {
    match media_type {
        Some(m) => m == "text/html" || m == "application/xhtml+xml",
        None => {
            let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
            head.trim_start().starts_with("<!doctype html") || head.contains("<html")
        }
    }
}

impl Crawler {
    /// Builds a crawler. `plan` says how pages get rendered; pass a launched `renderer` when the
    /// plan is [`RenderPlan::Chromium`].
    pub fn new(
        settings: CrawlSettings,
        plan: RenderPlan,
        renderer: Option<Arc<Renderer>>,
    ) -> Result<Self, CrawlSetupError> {
        let settings = Arc::new(settings);
        let fetcher = Fetcher::new(settings.clone())?;
        let dedupe = Arc::new(Dedupe::default());
        let frontier = Arc::new(Mutex::new(Frontier::default()));
        Ok(Self {
            ctx: Arc::new(Ctx {
                settings,
                fetcher,
                dedupe: dedupe.clone(),
                renderer,
                plan,
                sheets: Mutex::new(HashSet::new()),
            }),
            handle: CrawlHandle {
                frontier,
                dedupe,
                stop: Arc::new(AtomicBool::new(false)),
            },
        })
    }

    /// A handle to stop the crawl or snapshot its state (usable while [`Crawler::run`] runs).
    pub fn handle(&self) -> CrawlHandle {
        self.handle.clone()
    }

    /// Crawls from `seeds` (or continues `resume`), delivering each page to `sink`.
    pub async fn run<S: CrawlSink>(
        &self,
        seeds: &[Url],
        resume: Option<CrawlState>,
        sink: &S,
    ) -> Result<CrawlSummary, CrawlSetupError> {
        if seeds.is_empty() {
            return Err(CrawlSetupError::NoSeeds);
        }
        let mut clean_seeds = Vec::new();
        for s in seeds {
            match links::resolve(s, s.as_str(), self.ctx.settings.max_url_len) {
                links::Resolved::Ok(u) => clean_seeds.push(u),
                other => {
                    return Err(CrawlSetupError::BadSeed {
                        url: s.to_string(),
                        reason: format!("{other:?}"),
                    });
                }
            }
        }
        let scope = Scope::new(&clean_seeds, &self.ctx.settings.allow_domains);
        let mut summary = CrawlSummary {
            started_at: Some(jiff::Timestamp::now()),
            ..Default::default()
        };
        {
            let mut f = self
                .handle
                .frontier
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(state) = resume {
                for u in state.done {
                    f.seen.insert(u.clone());
                    f.done.push(u);
                }
                for q in state.queued {
                    if f.seen.insert(q.url.clone()) {
                        f.queue.push_back(q);
                    }
                }
                for u in state.candidate_urls {
                    self.ctx.dedupe.claim_url(&u);
                }
                for h in state.candidate_hashes {
                    self.ctx.dedupe.claim_hash(&h, "an earlier run");
                }
            }
            for s in clean_seeds {
                if f.seen.insert(s.clone()) {
                    f.queue.push_back(QueuedUrl {
                        url: s,
                        depth: 0,
                        referrer: None,
                    });
                }
            }
        }
        let settings = &self.ctx.settings;
        let mut tasks: JoinSet<PageResult> = JoinSet::new();
        loop {
            // Start pages up to the concurrency limit.
            loop {
                if self.handle.stop.load(Ordering::SeqCst) || tasks.len() >= settings.concurrency {
                    break;
                }
                let mut f = self
                    .handle
                    .frontier
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if f.done.len() + f.in_flight.len() >= settings.max_pages {
                    if !f.queue.is_empty() {
                        summary.max_pages_reached = true;
                    }
                    break;
                }
                let Some(q) = f.queue.pop_front() else { break };
                f.in_flight.push(q.clone());
                drop(f);
                let ctx = self.ctx.clone();
                tasks.spawn(async move { process_page(ctx, q).await });
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let page = match joined {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "a page task failed");
                    *summary
                        .errors_by_kind
                        .entry("task-panic".into())
                        .or_default() += 1;
                    continue;
                }
            };
            {
                let mut f = self
                    .handle
                    .frontier
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if page.depth < settings.depth {
                    for l in &page.links {
                        if !scope.contains(l) {
                            if f.out_of_scope_seen.insert(l.clone()) {
                                summary.skipped_out_of_scope += 1;
                            }
                            continue;
                        }
                        if f.seen.insert(l.clone()) {
                            f.queue.push_back(QueuedUrl {
                                url: l.clone(),
                                depth: page.depth + 1,
                                referrer: Some(page.url.clone()),
                            });
                        }
                    }
                } else {
                    for l in &page.links {
                        if scope.contains(l)
                            && !f.seen.contains(l)
                            && f.too_deep_seen.insert(l.clone())
                        {
                            summary.skipped_too_deep += 1;
                        }
                    }
                }
            }
            summary.add_page(&page);
            let url = page.url.clone();
            let flow = sink.on_page(page).await;
            {
                let mut f = self
                    .handle
                    .frontier
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                f.in_flight.retain(|q| q.url != url);
                f.done.push(url);
            }
            if flow == SinkFlow::Stop {
                self.handle.stop();
            }
        }
        {
            let f = self
                .handle
                .frontier
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            summary.stopped = self.handle.stop.load(Ordering::SeqCst) && !f.queue.is_empty();
        }
        summary.finished_at = Some(jiff::Timestamp::now());
        Ok(summary)
    }
}

async fn process_page(ctx: Arc<Ctx>, q: QueuedUrl) -> PageResult {
    let fetched = ctx.fetcher.fetch(&q.url).await;
    let Fetched { record, body } = fetched;
    let mut page = PageResult {
        url: q.url.clone(),
        depth: q.depth,
        referrer: q.referrer.clone(),
        is_html: false,
        charset_used: None,
        decode_errors: false,
        text: None,
        has_scripts: false,
        links: Vec::new(),
        candidates: Vec::new(),
        resources: Vec::new(),
        problems: Vec::new(),
        skipped_schemes: BTreeMap::new(),
        render: RenderOutcome::NotRendered {
            reason: "not fetched".into(),
        },
        fetch: record,
        body,
    };
    if page.body.is_empty() && page.fetch.error.is_some() {
        return page;
    }
    page.is_html = is_html(page.fetch.media_type.as_deref(), &page.body);
    if !page.is_html {
        page.render = RenderOutcome::NotRendered {
            reason: "not HTML".into(),
        };
        // A page link that turned out to be an image is still a map candidate.
        let media = candidates::sniff_media_type(page.fetch.media_type.as_deref(), &page.body);
        if page.fetch.error.is_none() && media.is_some() {
            let raw = RawCandidate {
                source: CandidateSource::AHref,
                element: "page".into(),
                target: CandidateTarget::Data {
                    media_type: media.unwrap_or_default(),
                    bytes: page.body.clone(),
                },
                declared_size: None,
            };
            let mut c = take_inline(&ctx, &page.url, raw);
            c.url = Some(page.fetch.final_url.clone());
            page.candidates.push(c);
        }
        return page;
    }
    let (text, used, had_errors) = decode_html(&page.body, page.fetch.declared_charset.as_deref());
    page.charset_used = Some(used);
    page.decode_errors = had_errors;
    if page.fetch.error.is_some() {
        // An error page (404, cut-off body, ...) is kept as it came, but not crawled further.
        page.text = Some(text);
        page.render = RenderOutcome::NotRendered {
            reason: "the fetch failed".into(),
        };
        return page;
    }
    let base = page.fetch.final_url.clone();
    let max_len = ctx.settings.max_url_len;
    let parse_text = text.clone();
    let extracted =
        match tokio::task::spawn_blocking(move || links::extract_html(&parse_text, &base, max_len))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                page.problems.push(CrawlError::new(
                    ErrorKind::Other,
                    page.url.as_str(),
                    format!("HTML parse task failed: {e}"),
                ));
                links::Extracted::default()
            }
        };
    page.text = Some(text);
    page.has_scripts = extracted.has_scripts;
    page.links = extracted.links;
    page.skipped_schemes = extracted.skipped_schemes;
    for r in extracted.refused {
        page.problems
            .push(CrawlError::new(ErrorKind::InvalidUrl, r.raw, r.reason));
    }
    let mut raw_candidates = extracted.candidates;
    // Linked stylesheets: each fetched once per crawl, its url(...) references become candidates.
    for sheet in extracted.stylesheets {
        let first = ctx
            .sheets
            .lock()
            .map(|mut s| s.insert(sheet.clone()))
            .unwrap_or(false);
        if !first {
            continue;
        }
        let f = ctx.fetcher.fetch(&sheet).await;
        if f.record.error.is_none() {
            let (css, _, _) = decode_html(&f.body, f.record.declared_charset.as_deref());
            let from_sheet = links::extract_css(&css, &f.record.final_url, max_len);
            raw_candidates.extend(from_sheet.candidates);
        }
        page.resources.push(Resource {
            kind: "stylesheet".into(),
            fetch: f.record,
            body: f.body,
        });
    }
    // Candidates, fetched concurrently (the fetcher enforces the limits).
    let mut set = JoinSet::new();
    for (i, raw) in raw_candidates.into_iter().enumerate() {
        let ctx = ctx.clone();
        let found_on = page.url.clone();
        set.spawn(async move { (i, take_candidate(&ctx, &found_on, raw).await) });
    }
    let mut got: Vec<(usize, Candidate)> = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(x) = r {
            got.push(x);
        }
    }
    got.sort_by_key(|(i, _)| *i);
    page.candidates.extend(got.into_iter().map(|(_, c)| c));

    page.render = render_page(&ctx, &page).await;
    if let RenderOutcome::Rendered(r) = &page.render {
        // Links only the rendered DOM has (script-inserted) are crawled too.
        let extra = links::extract_html(&r.dom_html, &page.fetch.final_url, max_len);
        for l in extra.links {
            if !page.links.contains(&l) {
                page.links.push(l);
            }
        }
    }
    page
}

async fn render_page(ctx: &Ctx, page: &PageResult) -> RenderOutcome {
    let always = match &ctx.plan {
        RenderPlan::Never => {
            return RenderOutcome::NotRendered {
                reason: "render: never".into(),
            };
        }
        RenderPlan::MissingChromium { note } => {
            return if page.has_scripts {
                RenderOutcome::Missed { note: note.clone() }
            } else {
                RenderOutcome::NotRendered {
                    reason: "render: auto, page has no scripts".into(),
                }
            };
        }
        RenderPlan::Chromium { always, .. } => *always,
    };
    if page.fetch.error.is_some() {
        return RenderOutcome::NotRendered {
            reason: "the fetch failed".into(),
        };
    }
    if !always && !page.has_scripts {
        return RenderOutcome::NotRendered {
            reason: "render: auto, page has no scripts".into(),
        };
    }
    let Some(renderer) = &ctx.renderer else {
        return RenderOutcome::Missed {
            note: "no renderer was started".into(),
        };
    };
    match renderer.render(page.fetch.final_url.as_str()).await {
        Ok(r) => RenderOutcome::Rendered(Box::new(r)),
        Err(e) => RenderOutcome::Failed {
            error: CrawlError::new(
                ErrorKind::Render,
                page.fetch.final_url.as_str(),
                e.to_string(),
            ),
        },
    }
}

fn blank_candidate(found_on: &Url, raw: &RawCandidate) -> Candidate {
    Candidate {
        source: raw.source,
        element: raw.element.clone(),
        url: match &raw.target {
            CandidateTarget::Url(u) => Some(u.clone()),
            _ => None,
        },
        found_on: found_on.clone(),
        status: CandidateStatus::Failed,
        media_type: None,
        width: None,
        height: None,
        blake3: None,
        fetch: None,
        error: None,
        bytes: None,
    }
}

/// Sizes, dedupes and fills a candidate whose bytes are in hand.
fn finish_candidate(
    ctx: &Ctx,
    mut c: Candidate,
    declared: Option<&str>,
    bytes: Vec<u8>,
) -> Candidate {
    let label = c
        .url
        .as_ref()
        .map(|u| u.to_string())
        .unwrap_or_else(|| format!("{} on {}", c.element, c.found_on));
    let Some(media) = candidates::sniff_media_type(declared, &bytes) else {
        c.status = CandidateStatus::NotImage {
            media_type: declared.map(str::to_string),
        };
        return c;
    };
    c.media_type = Some(media.clone());
    let hash = blake3::hash(&bytes).to_hex().to_string();
    c.blake3 = Some(hash.clone());
    if let Some(first) = ctx.dedupe.claim_hash(&hash, &label) {
        c.status = CandidateStatus::DuplicateContent { first };
        return c;
    }
    match candidates::dimensions(&media, &bytes, &label) {
        Ok((w, h)) => {
            c.width = Some(w);
            c.height = Some(h);
            if w < ctx.settings.min_image_width || h < ctx.settings.min_image_height {
                c.status = CandidateStatus::TooSmall {
                    width: w,
                    height: h,
                };
            } else {
                c.status = CandidateStatus::Fetched;
                c.bytes = Some(bytes);
            }
        }
        Err(e) => {
            c.status = CandidateStatus::Failed;
            c.error = Some(e);
            c.bytes = Some(bytes);
        }
    }
    c
}

fn take_inline(ctx: &Ctx, found_on: &Url, raw: RawCandidate) -> Candidate {
    let mut c = blank_candidate(found_on, &raw);
    match raw.target {
        CandidateTarget::InlineSvg(text) => {
            if let Some((w, h)) = raw.declared_size
                && (w < f64::from(ctx.settings.min_image_width)
                    || h < f64::from(ctx.settings.min_image_height))
            {
                c.media_type = Some("image/svg+xml".into());
                c.status = CandidateStatus::TooSmall {
                    width: w as u32,
                    height: h as u32,
                };
                return c;
            }
            let mut c = finish_candidate(ctx, c, Some("image/svg+xml"), text.into_bytes());
            // Inline SVG without a declared size sizes by CSS; keep it even when usvg defaults it.
            if raw.declared_size.is_none() && matches!(c.status, CandidateStatus::TooSmall { .. }) {
                c.status = CandidateStatus::Fetched;
            }
            c
        }
        CandidateTarget::Data { media_type, bytes } => {
            finish_candidate(ctx, c, Some(&media_type), bytes)
        }
        CandidateTarget::Url(_) => c,
    }
}

async fn take_candidate(ctx: &Ctx, found_on: &Url, raw: RawCandidate) -> Candidate {
    let CandidateTarget::Url(url) = &raw.target else {
        return take_inline(ctx, found_on, raw);
    };
    let mut c = blank_candidate(found_on, &raw);
    if !ctx.dedupe.claim_url(url) {
        c.status = CandidateStatus::DuplicateUrl;
        return c;
    }
    let Fetched { record, body } = ctx.fetcher.fetch(url).await;
    let declared = record.media_type.clone();
    let truncated = record.truncated;
    let error = record.error.clone();
    c.fetch = Some(record);
    if let Some(e) = error {
        c.error = Some(e);
        return c;
    }
    if truncated {
        c.error = Some(CrawlError::new(
            ErrorKind::BodyTooLarge,
            url.as_str(),
            format!(
                "image larger than the {} byte cap",
                ctx.settings.max_body_bytes
            ),
        ));
        return c;
    }
    finish_candidate(ctx, c, declared.as_deref(), body)
}
