//! The sweep: crawl sites, seal every page and map candidate as evidence, check each map, and
//! record a finding for each checked map.
//!
//! Rules kept here:
//! - Nothing reaches the findings table without the capture it rests on: a page's
//!   body, its rendered DOM and screenshots, its map candidates, each map's check report and
//!   overlay are artifacts of ONE capture record, sealed together; findings index that record.
//! - Map checks run on blocking threads in parallel; sealing is serialised by the evidence store,
//!   which commits the seals queued meanwhile as one group. A page's findings are written in
//!   the transaction that seals it ([`findings::index_hook`]): no commit of their own. Pages
//!   waiting to be sealed are bounded by their bytes (96 MiB, at most 384 pages), not by a
//!   small count, so groups grow with the crawl's pace.
//! - A page's artifacts (its body and resources, then its map images with their reports and
//!   overlays) reach the blob store in one batch, written on one blocking thread once the
//!   checks are done.
//! - An image the crawler fetched once for several pages (duplicate by URL or content) is
//!   sealed and flagged on every page that shows it: the page that fetched it publishes it
//!   (digests and check result) once stored and checked, and the others wait for that and list
//!   it by digest, without reading it back. A page publishes its own images before it waits,
//!   and gives back its in-flight slot while waiting, so no page waits forever; what no page
//!   will publish (its page was never handed over or failed to seal, or an earlier run of a
//!   resumed sweep took it) resolves to nothing.
//! - Seals run concurrently with the sweep's other writes (state saves): the seal's transaction
//!   takes SQLite's write lock first (`store::begin_write`), so it waits instead of failing
//!   with "database is locked" when another write lands between its read and its insert.
//! - A stop (Ctrl-C, SIGTERM) lets pages in flight finish and seal, then saves the crawl state,
//!   so `--resume` continues without capturing a done page twice. The saved state counts as
//!   taken only the candidates sealed pages took, so a page requeued unsealed fetches its
//!   images again.
//! - The sweep reports progress through a callback; it never prints.
//! - A [`CheckCache`] given with [`Sweep::with_check_cache`] carries check results from one
//!   sweep to the next (the scheduled runner): a map image is known by its BLAKE3 and the
//!   checker is deterministic, so an unchanged map is checked once, and each capture still
//!   seals its own copy of the report and overlay.

use crate::capture::{RenderPlan, Renderer};
use crate::check::{CheckReport, Checker, Verdict};
use crate::crawl::{
    CandidateStatus, CrawlSettings, CrawlSink, CrawlState, CrawlSummary, Crawler, PageResult,
    RenderOutcome, SinkFlow,
};
use crate::evidence::{
    ArtifactContent, ArtifactRef, ArtifactRole, BlobInfo, CaptureBuilder, CaptureMeta,
    CaptureMethod, EvidenceError, EvidenceStore, Header, NewArtifact, RedirectHop, SignedTreeHead,
};
use crate::findings::{self, NewFinding, RuleResult};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Mutex, Semaphore};
use url::Url;

/// Errors that stop a sweep from starting or finishing (page-level problems are results).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("sweep setup: {0}")]
    Crawl(#[from] crate::crawl::CrawlSetupError),
    #[error("browser: {0}")]
    Browser(#[from] crate::capture::CaptureError),
    #[error("map checker: {0}")]
    Check(#[from] crate::check::CheckError),
    #[error("evidence: {0}")]
    Evidence(#[from] EvidenceError),
    #[error("findings: {0}")]
    Findings(#[from] crate::findings::FindingsError),
    #[error("saving the state of sweep {sweep_id}: {source}")]
    StateJson {
        sweep_id: String,
        source: serde_json::Error,
    },
    #[error("sweep state of campaign {campaign}: {source}")]
    State {
        campaign: String,
        source: sqlx::Error,
    },
    #[error("no sweep to resume for campaign {campaign}")]
    NothingToResume { campaign: String },
    #[error("sealing page {url}: {source}")]
    Seal { url: String, source: EvidenceError },
}

/// Progress, reported after each sealed page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub pages_done: u64,
    pub pages_queued: u64,
    pub candidates: u64,
    pub maps: u64,
    pub flagged: u64,
    pub last_url: String,
}

/// One flagged map, for the end-of-sweep table.
#[derive(Debug, Clone, Serialize)]
pub struct Flagged {
    pub finding_id: String,
    pub page_url: String,
    pub artifact_url: String,
    pub rules: Vec<(String, String)>,
    pub overlay_blake3: Option<String>,
}

/// What a sweep did.
#[derive(Debug, Clone, Serialize)]
pub struct SweepSummary {
    pub sweep_id: String,
    pub campaign: String,
    pub crawl: CrawlSummary,
    pub pages_sealed: u64,
    pub seal_errors: Vec<String>,
    pub maps_checked: u64,
    pub maps: u64,
    pub violations: u64,
    pub check_errors: u64,
    pub flagged: Vec<Flagged>,
    pub render_note: Option<String>,
    pub tree_head: Option<SignedTreeHead>,
    pub elapsed_ms: u64,
    pub stopped: bool,
}

/// How to run one sweep.
pub struct SweepRequest {
    pub campaign: String,
    pub seeds: Vec<Url>,
    pub settings: CrawlSettings,
    pub resume: bool,
}

type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Runs a sweep to the end (or until `stop` is triggered on the returned handle).
pub struct Sweep {
    store: EvidenceStore,
    checker: Arc<Checker>,
    progress: Option<ProgressFn>,
    cache: Option<CheckCache>,
}

/// Check results kept across sweeps that use the same [`Checker`], by the map image's BLAKE3,
/// bounded by the bytes of the reports and overlays it holds (oldest entries go first).
#[derive(Clone)]
pub struct CheckCache {
    inner: Arc<std::sync::Mutex<CacheInner>>,
}

struct CacheInner {
    max_bytes: usize,
    bytes: usize,
    map: std::collections::HashMap<String, KnownMap>,
    order: std::collections::VecDeque<String>,
}

impl CheckCache {
    /// An empty cache holding at most about `max_bytes` of reports and overlays.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            inner: Arc::new(std::sync::Mutex::new(CacheInner {
                max_bytes,
                bytes: 0,
                map: Default::default(),
                order: Default::default(),
            })),
        }
    }

    /// Number of map images held.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|c| c.map.len()).unwrap_or(0)
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get(&self, blake3: &str) -> Option<KnownMap> {
        self.inner.lock().ok()?.map.get(blake3).cloned()
    }

    fn put(&self, blake3: &str, k: &KnownMap) {
        let Ok(mut c) = self.inner.lock() else { return };
        if c.map.contains_key(blake3) {
            return;
        }
        let size = k.size();
        if size > c.max_bytes {
            return;
        }
        while c.bytes + size > c.max_bytes {
            let Some(old) = c.order.pop_front() else {
                break;
            };
            if let Some(o) = c.map.remove(&old) {
                c.bytes -= o.size();
            }
        }
        c.bytes += size;
        c.order.push_back(blake3.to_string());
        c.map.insert(blake3.to_string(), k.clone());
    }
}

/// A handle that stops a running sweep cleanly (pages in flight finish and seal).
#[derive(Clone)]
pub struct StopSignal(tokio::sync::watch::Sender<bool>);

impl StopSignal {
    pub fn new() -> Self {
        Self(tokio::sync::watch::channel(false).0)
    }
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
    fn subscribe(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.subscribe()
    }
}

impl Default for StopSignal {
    fn default() -> Self {
        Self::new()
    }
}

/// What the sweep knows about a map image it already checked (by content hash).
#[derive(Clone)]
struct KnownMap {
    report: Arc<CheckReport>,
    report_json: Arc<Vec<u8>>,
    overlay: Option<Arc<Vec<u8>>>,
    media_type: String,
}

impl KnownMap {
    /// Bytes held (report JSON + overlay), for the cache bound.
    fn size(&self) -> usize {
        self.report_json.len() + self.overlay.as_ref().map_or(0, |o| o.len()) + 256
    }
}

struct Shared {
    store: EvidenceStore,
    checker: Arc<Checker>,
    campaign: String,
    sweep_id: String,
    check_slots: Semaphore,
    /// blake3 of map images already checked in this sweep (content dedupe across pages).
    known: Mutex<std::collections::HashMap<String, Option<KnownMap>>>,
    /// Images shown on more than one page, for the pages that did not fetch them.
    images: SharedImages,
    sealed: Mutex<std::collections::HashSet<Url>>,
    failed: Mutex<Vec<Url>>,
    counters: Counters,
    flagged: Mutex<Vec<Flagged>>,
    seal_errors: Mutex<Vec<String>>,
    render_note: Option<String>,
    user_agent: String,
    /// Candidate URLs and hashes taken by sealed pages: the only ones the saved crawl state
    /// keeps, so a page requeued unsealed fetches its images again on resume.
    claims: std::sync::Mutex<Claims>,
    /// Pages handed to the sink (requested URL -> its queue entry), for requeueing on resume.
    handed: std::sync::Mutex<std::collections::HashMap<Url, crate::crawl::QueuedUrl>>,
    progress: Option<ProgressFn>,
    tasks: Mutex<tokio::task::JoinSet<()>>,
    page_slots: Arc<Semaphore>,
    cache: Option<CheckCache>,
}

#[derive(Default)]
struct Counters {
    pages: AtomicU64,
    candidates: AtomicU64,
    maps_checked: AtomicU64,
    maps: AtomicU64,
    violations: AtomicU64,
    check_errors: AtomicU64,
}

struct Sink {
    shared: Arc<Shared>,
}

/// KiB of memory the pages waiting to be checked and sealed may hold together.
const PAGES_IN_FLIGHT_KIB: u32 = 96 * 1024;
/// The least a page counts for (its buffers, check results and record), so at most 384 pages
/// are in flight however small they are.
const PAGE_MIN_KIB: u32 = 256;

/// What a page holds while it waits to be sealed, in KiB of [`PAGES_IN_FLIGHT_KIB`] (a page
/// larger than the whole budget takes all of it, so it proceeds alone).
fn page_cost_kib(p: &PageResult) -> u32 {
    let mut bytes = p.body.len() + p.text.as_ref().map_or(0, String::len);
    bytes += p.resources.iter().map(|r| r.body.len()).sum::<usize>();
    bytes += p
        .candidates
        .iter()
        .map(|c| c.bytes.as_ref().map_or(0, Vec::len))
        .sum::<usize>();
    if let RenderOutcome::Rendered(r) = &p.render {
        bytes += r.dom_html.len() + r.screenshot_png.len();
        bytes += r.elements.iter().map(|e| e.png.len()).sum::<usize>();
        bytes += r
            .network
            .iter()
            .map(|n| n.body.as_ref().map_or(0, Vec::len))
            .sum::<usize>();
    }
    let kib = u32::try_from(bytes / 1024).unwrap_or(u32::MAX);
    kib.clamp(PAGE_MIN_KIB, PAGES_IN_FLIGHT_KIB)
}

impl CrawlSink for Sink {
    async fn on_page(&self, page: PageResult) -> SinkFlow {
        // Bound the bytes of pages waiting to be checked and sealed; the crawl waits when they
        // pile up. Many small pages in flight is what lets seals share group commits.
        let Ok(permit) = self
            .shared
            .page_slots
            .clone()
            .acquire_many_owned(page_cost_kib(&page))
            .await
        else {
            return SinkFlow::Stop;
        };
        if let Ok(mut h) = self.shared.handed.lock() {
            h.insert(
                page.url.clone(),
                crate::crawl::QueuedUrl {
                    url: page.url.clone(),
                    depth: page.depth,
                    referrer: page.referrer.clone(),
                },
            );
        }
        self.shared.images.register(&page);
        let shared = self.shared.clone();
        self.shared.tasks.lock().await.spawn(async move {
            let url = page.url.clone();
            let mut permit = Some(permit);
            let claimed = Claims::of(&page.candidates);
            match seal_page(&shared, page, &mut permit).await {
                Ok(()) => {
                    if let Ok(mut c) = shared.claims.lock() {
                        c.add(claimed);
                    }
                    shared.sealed.lock().await.insert(url.clone());
                }
                Err(e) => {
                    tracing::error!(url = %url, error = %e, "page not sealed");
                    shared.seal_errors.lock().await.push(e.to_string());
                    shared.failed.lock().await.push(url.clone());
                }
            }
            let n = shared.counters.pages.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(p) = &shared.progress {
                p(&Progress {
                    pages_done: n,
                    pages_queued: 0,
                    candidates: shared.counters.candidates.load(Ordering::SeqCst),
                    maps: shared.counters.maps.load(Ordering::SeqCst),
                    flagged: shared.counters.violations.load(Ordering::SeqCst),
                    last_url: url.to_string(),
                });
            }
            drop(permit);
        });
        SinkFlow::Continue
    }
}

/// An image the crawler fetched once for the page that first showed it, as the other pages
/// showing it seal it: its digests (the blob is in the store) and its check result.
#[derive(Clone)]
struct SharedImage {
    info: BlobInfo,
    known: KnownMap,
}

/// Where a page that shows an image fetched for another page (a duplicate by URL or by
/// content) gets it from: the page that fetched it publishes it under `url:<url>` and
/// `b3:<digest>` once it is stored and checked, and the others wait for that. Each key
/// resolves once: to the image, or to nothing (it was not an image, its check failed, the
/// page that had it was not sealed, or it was taken in an earlier run of a resumed sweep).
#[derive(Default)]
struct SharedImages {
    slots: std::sync::Mutex<std::collections::HashMap<String, Arc<ImageSlot>>>,
}

struct ImageSlot {
    /// `None` while pending; `Some(None)` when there is nothing to seal.
    tx: tokio::sync::watch::Sender<Option<Option<SharedImage>>>,
    /// A page that will publish this key was handed to the sink.
    owned: std::sync::atomic::AtomicBool,
}

impl ImageSlot {
    /// Resolves the slot, unless it is resolved already (a slot resolves once).
    fn settle(&self, image: Option<SharedImage>) {
        self.tx.send_if_modified(|v| {
            if v.is_some() {
                return false;
            }
            *v = Some(image);
            true
        });
    }
}

/// The keys a page publishes a candidate under: an image it fetched by its URL and digest, a
/// duplicate by content by its URL (the digest is the first page's to publish).
fn publish_keys(c: &crate::crawl::Candidate) -> Vec<String> {
    match (&c.status, &c.bytes) {
        (CandidateStatus::Fetched, Some(_)) => c
            .url
            .iter()
            .map(url_key)
            .chain(c.blake3.as_deref().map(hash_key))
            .collect(),
        (CandidateStatus::DuplicateContent { .. }, _) => c.url.iter().map(url_key).collect(),
        _ => Vec::new(),
    }
}

fn url_key(u: &Url) -> String {
    format!("url:{u}")
}

fn hash_key(h: &str) -> String {
    format!("b3:{h}")
}

impl SharedImages {
    fn slot(&self, key: &str) -> Arc<ImageSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots
            .entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(ImageSlot {
                    tx: tokio::sync::watch::channel(None).0,
                    owned: std::sync::atomic::AtomicBool::new(false),
                })
            })
            .clone()
    }

    /// Marks a key as one a page in the sink will publish.
    fn own(&self, key: &str) {
        self.slot(key).owned.store(true, Ordering::SeqCst);
    }

    /// Publishes a key; a key resolves once, later calls change nothing.
    fn resolve(&self, key: &str, image: Option<SharedImage>) {
        self.slot(key).settle(image);
    }

    /// Resolves to nothing every pending key no page in the sink will publish (called when
    /// the crawl has handed over its last page).
    fn release_unowned(&self) {
        let slots: Vec<Arc<ImageSlot>> = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for s in slots {
            if !s.owned.load(Ordering::SeqCst) {
                s.settle(None);
            }
        }
    }

    /// The key's resolution when it is published, without waiting (`None` while pending).
    fn ready(&self, key: &str) -> Option<Option<SharedImage>> {
        self.slot(key).tx.borrow().clone()
    }

    /// Waits until the key is published.
    async fn wait(&self, key: &str) -> Option<SharedImage> {
        let mut rx = self.slot(key).tx.subscribe();
        let v = rx.wait_for(Option::is_some).await;
        v.ok().and_then(|v| v.clone()).flatten()
    }

    /// Registers what a page handed to the sink will publish: each image it fetched (by URL
    /// and digest) and each duplicate by content it shows (by URL). A URL it took that is not
    /// an image resolves to nothing now.
    fn register(&self, page: &PageResult) {
        for c in &page.candidates {
            let keys = publish_keys(c);
            for k in &keys {
                self.own(k);
            }
            if let (true, false, Some(u)) = (
                keys.is_empty(),
                c.status == CandidateStatus::DuplicateUrl,
                &c.url,
            ) {
                self.resolve(&url_key(u), None);
            }
        }
    }
}

/// Resolves to nothing, when dropped, the keys a page was to publish and did not (its seal
/// failed on the way), so no page waits for them.
struct Publishes<'a> {
    images: &'a SharedImages,
    keys: Vec<String>,
}

impl Drop for Publishes<'_> {
    fn drop(&mut self) {
        for k in &self.keys {
            self.images.resolve(k, None);
        }
    }
}

/// An image of a page that another page fetched: `key` is what to wait for, `publish` the
/// keys this page publishes it under in turn ([`publish_keys`]).
struct Duplicate {
    source: String,
    key: String,
    publish: Vec<String>,
}

impl Duplicate {
    /// The map input for this duplicate once its key resolved; on nothing, the key this page
    /// was to publish it under resolves to nothing too.
    fn resolved(self, img: Option<SharedImage>, images: &SharedImages) -> Option<MapInput> {
        let Some(img) = img else {
            for k in &self.publish {
                images.resolve(k, None);
            }
            return None;
        };
        Some(MapInput {
            role: ArtifactRole::MapCandidate,
            source: self.source,
            media_type: img.known.media_type.clone(),
            blake3: img.info.blake3.clone(),
            content: ArtifactContent::Stored(img.info),
            checked: Some(img.known),
            publish: self.publish,
        })
    }
}

/// One map image of a page to check and seal.
struct MapInput {
    role: ArtifactRole,
    source: String,
    media_type: String,
    content: ArtifactContent,
    blake3: String,
    /// The check result, when another page's check of the same image gave it.
    checked: Option<KnownMap>,
    /// Keys of [`SharedImages`] to publish this image under once it is stored and checked.
    publish: Vec<String>,
}

/// A map image stored with the page, checked, with its report (and overlay) stored too.
struct Pending {
    artifact: ArtifactRef,
    overlay: Option<ArtifactRef>,
    report: ArtifactRef,
    known: KnownMap,
}

/// Checks the map images (in parallel on blocking threads, unless a result is at hand), then
/// stores the page's artifacts `own`, each image, its report and overlay in one batch, and
/// publishes each image under its [`MapInput::publish`] keys.
async fn check_and_store(
    shared: &Arc<Shared>,
    cap: &mut CaptureBuilder,
    own: Vec<NewArtifact>,
    mut maps: Vec<MapInput>,
) -> Result<Vec<Pending>, SweepError> {
    let mut checks = tokio::task::JoinSet::new();
    for (i, m) in maps.iter().enumerate() {
        let mut cached = match &m.checked {
            Some(k) => Some(Some(k.clone())),
            None => shared.known.lock().await.get(&m.blake3).cloned(),
        };
        if cached.is_none()
            && let Some(mut k) = shared.cache.as_ref().and_then(|c| c.get(&m.blake3))
        {
            k.media_type = m.media_type.clone();
            cached = Some(Some(k));
        }
        if let Some(k) = cached {
            checks.spawn(async move { (i, Ok(k)) });
            continue;
        }
        // a stored (duplicate) image comes with its result; nothing to check without bytes
        let ArtifactContent::Bytes(bytes) = &m.content else {
            continue;
        };
        let checker = shared.checker.clone();
        let bytes = bytes.clone();
        let name = m.source.clone();
        let media_type = m.media_type.clone();
        let shared2 = shared.clone();
        checks.spawn(async move {
            let _slot = shared2.check_slots.acquire().await;
            let r =
                tokio::task::spawn_blocking(move || checker.check_bytes_opts(&bytes, &name, true))
                    .await;
            let r = match r {
                Ok(Ok(rep)) => {
                    let overlay = rep.overlay_png.clone().map(Arc::new);
                    let report_json = serde_json::to_vec_pretty(&rep).unwrap_or_default();
                    Ok(Some(KnownMap {
                        report: Arc::new(rep),
                        report_json: Arc::new(report_json),
                        overlay,
                        media_type,
                    }))
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("check panicked: {e}")),
            };
            (i, r)
        });
    }
    let mut results: Vec<Option<Result<Option<KnownMap>, String>>> = vec![None; maps.len()];
    while let Some(j) = checks.join_next().await {
        if let Ok((i, r)) = j {
            results[i] = Some(r);
        }
    }

    // The page's own artifacts, then each map image with its report and overlay, written in
    // one batch.
    let mut batch: Vec<NewArtifact> = own;
    let mut layout: Vec<(usize, Option<KnownMap>, bool)> = Vec::new();
    for (m, r) in maps.iter_mut().zip(results) {
        let at = batch.len();
        batch.push(NewArtifact {
            role: m.role.clone(),
            source_url: Some(m.source.clone()),
            media_type: m.media_type.clone(),
            content: std::mem::replace(&mut m.content, ArtifactContent::Bytes(vec![])),
        });
        match r {
            Some(Ok(Some(k))) => {
                batch.push(NewArtifact {
                    role: ArtifactRole::Other("check-report".into()),
                    source_url: Some(m.source.clone()),
                    media_type: "application/json".into(),
                    content: ArtifactContent::Bytes(k.report_json.to_vec()),
                });
                let overlay = match &k.overlay {
                    Some(png) if k.report.verdict != Verdict::NotApplicable => {
                        batch.push(NewArtifact {
                            role: ArtifactRole::Overlay,
                            source_url: Some(m.source.clone()),
                            media_type: "image/png".into(),
                            content: ArtifactContent::Bytes(png.to_vec()),
                        });
                        true
                    }
                    _ => false,
                };
                layout.push((at, Some(k), overlay));
            }
            Some(Ok(None)) | None => layout.push((at, None, false)),
            Some(Err(e)) => {
                shared.counters.check_errors.fetch_add(1, Ordering::SeqCst);
                shared.known.lock().await.insert(m.blake3.clone(), None);
                tracing::warn!(source = %m.source, error = %e, "map check failed");
                cap.add_note(&format!("check failed for {}: {e}", m.source));
                layout.push((at, None, false));
            }
        }
    }
    let refs = cap.add_artifacts(batch).await?;
    let mut pending = Vec::new();
    for (m, (at, known, has_overlay)) in maps.iter().zip(layout) {
        let artifact = refs[at].clone();
        let image = known.as_ref().map(|k| SharedImage {
            info: BlobInfo {
                blake3: artifact.blake3.clone(),
                sha256: artifact.sha256.clone(),
                size: artifact.size,
            },
            known: k.clone(),
        });
        for key in &m.publish {
            shared.images.resolve(key, image.clone());
        }
        let Some(k) = known else { continue };
        shared
            .known
            .lock()
            .await
            .insert(m.blake3.clone(), Some(k.clone()));
        if let Some(c) = &shared.cache {
            c.put(&m.blake3, &k);
        }
        shared.counters.maps_checked.fetch_add(1, Ordering::SeqCst);
        pending.push(Pending {
            artifact,
            report: refs[at + 1].clone(),
            overlay: has_overlay.then(|| refs[at + 2].clone()),
            known: k,
        });
    }

    Ok(pending)
}

/// Seals one page with its map images. `permit` (the page's share of the in-flight bound) is
/// given back early when the page waits for an image another page is storing.
async fn seal_page(
    shared: &Arc<Shared>,
    mut page: PageResult,
    permit: &mut Option<tokio::sync::OwnedSemaphorePermit>,
) -> Result<(), SweepError> {
    let fetch = &page.fetch;
    let rendered = match &page.render {
        RenderOutcome::Rendered(r) => Some(r.as_ref()),
        _ => None,
    };
    let method = match rendered {
        Some(r) => CaptureMethod {
            kind: "rendered".into(),
            browser_name: Some(r.browser.product.clone()),
            browser_version: Some(r.browser.revision.clone()),
            user_agent: Some(r.browser.user_agent.clone()),
        },
        None => CaptureMethod::static_fetch(&shared.user_agent),
    };
    let mut meta = CaptureMeta::new(page.url.as_str(), method);
    meta.started_at = fetch.started_at;
    meta.final_url = Some(fetch.final_url.to_string());
    meta.redirect_chain = fetch
        .redirects
        .iter()
        .map(|h| RedirectHop {
            url: h.url.clone(),
            status: h.status,
            location: Some(h.location.clone()),
        })
        .collect();
    meta.status = fetch.status;
    meta.headers = fetch
        .headers
        .iter()
        .map(|(n, v)| Header {
            name: n.clone(),
            value: v.clone(),
            lossy: false,
        })
        .collect();
    meta.remote_addr = fetch.remote_addr.clone();
    meta.campaign = Some(shared.campaign.clone());
    meta.robots = Some(fetch.robots.clone());
    meta.notes
        .push(format!("sweep {} depth {}", shared.sweep_id, page.depth));
    if let Some(r) = &page.referrer {
        meta.notes.push(format!("linked from {r}"));
    }
    for e in page.errors() {
        meta.notes.push(format!("error: {e}"));
    }
    if fetch.truncated {
        meta.notes
            .push(format!("body truncated at {} bytes", fetch.body_len));
    }
    if page.decode_errors {
        meta.notes.push(format!(
            "invalid bytes for charset {}",
            page.charset_used.as_deref().unwrap_or("?")
        ));
    }
    match &page.render {
        RenderOutcome::Missed { note } => meta.notes.push(note.clone()),
        RenderOutcome::Rendered(r) => meta.notes.extend(r.notes.iter().cloned()),
        _ => {}
    }
    if let Some(n) = &shared.render_note
        && !matches!(page.render, RenderOutcome::Missed { .. })
        && page.has_scripts
    {
        meta.notes.push(n.clone());
    }

    let mut cap = shared.store.begin_capture(meta);
    cap.set_ended_at(fetch.finished_at);
    let page_url = page.url.to_string();
    // The page's own artifacts, written with its map images once they are checked.
    let mut own: Vec<NewArtifact> = Vec::new();
    let new = |role, url: &str, mt: &str, bytes: Vec<u8>| NewArtifact {
        role,
        source_url: Some(url.to_string()),
        media_type: mt.to_string(),
        content: ArtifactContent::Bytes(bytes),
    };
    if !page.body.is_empty() {
        let role = if page.is_html {
            ArtifactRole::Html
        } else {
            ArtifactRole::Resource
        };
        let mt = fetch
            .media_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        own.push(new(role, &page_url, &mt, std::mem::take(&mut page.body)));
    }
    for r in &mut page.resources {
        if !r.body.is_empty() {
            let mt = r
                .fetch
                .media_type
                .clone()
                .unwrap_or_else(|| "text/css".into());
            own.push(new(
                ArtifactRole::Resource,
                r.fetch.requested_url.as_str(),
                &mt,
                std::mem::take(&mut r.body),
            ));
        }
    }

    // What this page publishes for the pages that show its images again; whatever is not
    // published by the end (an error on the way) resolves to nothing.
    let mut publishes = Publishes {
        images: &shared.images,
        keys: Vec::new(),
    };
    let mut maps: Vec<MapInput> = Vec::new();
    let mut dups: Vec<Duplicate> = Vec::new();
    for c in &page.candidates {
        let source = c
            .url
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_else(|| format!("inline:{}", c.element));
        match (&c.status, &c.bytes) {
            (CandidateStatus::Fetched, Some(bytes)) => {
                shared.counters.candidates.fetch_add(1, Ordering::SeqCst);
                let hash = c
                    .blake3
                    .clone()
                    .unwrap_or_else(|| blake3::hash(bytes).to_hex().to_string());
                let publish = publish_keys(c);
                publishes.keys.extend(publish.iter().cloned());
                maps.push(MapInput {
                    role: ArtifactRole::MapCandidate,
                    source,
                    media_type: c
                        .media_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into()),
                    content: ArtifactContent::Bytes(bytes.clone()),
                    blake3: hash,
                    checked: None,
                    publish,
                });
            }
            (CandidateStatus::DuplicateUrl | CandidateStatus::DuplicateContent { .. }, _) => {
                // The same image was taken for another page: once that page has stored and
                // checked it, this page seals it too (the blob is shared), with the same result.
                let publish = publish_keys(c);
                publishes.keys.extend(publish.iter().cloned());
                let key = match (&c.status, &c.blake3, &c.url) {
                    (CandidateStatus::DuplicateContent { .. }, Some(h), _) => hash_key(h),
                    (CandidateStatus::DuplicateUrl, _, Some(u)) => url_key(u),
                    _ => continue,
                };
                let d = Duplicate {
                    source,
                    key,
                    publish,
                };
                match shared.images.ready(&d.key) {
                    // published already (the usual case): stored with the page's own images
                    Some(img) => maps.extend(d.resolved(img, &shared.images)),
                    None => dups.push(d),
                }
            }
            _ => {}
        }
    }
    if let Some(r) = rendered {
        own.push(new(
            ArtifactRole::Dom,
            &r.final_url,
            "text/html",
            r.dom_html.as_bytes().to_vec(),
        ));
        if !r.screenshot_png.is_empty() {
            own.push(new(
                ArtifactRole::Screenshot,
                &r.final_url,
                "image/png",
                r.screenshot_png.clone(),
            ));
        }
        let log = serde_json::to_vec(&r.network).unwrap_or_default();
        own.push(new(
            ArtifactRole::NetworkLog,
            &r.final_url,
            "application/json",
            log,
        ));
        for n in &r.network {
            if let Some(body) = &n.body {
                own.push(new(
                    ArtifactRole::Resource,
                    &n.url,
                    &n.mime_type,
                    body.clone(),
                ));
            }
        }
        for e in &r.elements {
            if e.blank || e.png.is_empty() {
                continue;
            }
            let hash = blake3::hash(&e.png).to_hex().to_string();
            maps.push(MapInput {
                role: ArtifactRole::ElementScreenshot,
                source: format!("{}#css={}", r.final_url, e.selector),
                media_type: "image/png".into(),
                content: ArtifactContent::Bytes(e.png.clone()),
                blake3: hash,
                checked: None,
                publish: Vec::new(),
            });
        }
    }

    let mut pending = check_and_store(shared, &mut cap, own, maps).await?;
    // Then the images other pages fetched and have not published yet: by now this page has
    // published its own, so no two pages can wait for each other. The page's slot is given
    // back while it waits, so the page it waits for can be handed over however many wait.
    if !dups.is_empty() {
        drop(permit.take());
        let mut again = Vec::new();
        for d in dups {
            let img = shared.images.wait(&d.key).await;
            again.extend(d.resolved(img, &shared.images));
        }
        pending.extend(check_and_store(shared, &mut cap, Vec::new(), again).await?);
    }
    // One finding per image per page, as the index hook writes them: an image the page shows
    // twice, under one URL or two, is listed twice and counted and flagged once.
    let mut found = std::collections::HashSet::new();
    pending.retain(|p| found.insert(p.artifact.blake3.clone()));

    // The findings are written in the transaction that seals the page: no commit of their own.
    let capture_id = cap.id();
    let new_findings: Vec<NewFinding> = pending
        .iter()
        .map(|p| {
            let rep = &p.known.report;
            NewFinding {
                capture_id,
                artifact_blake3: p.artifact.blake3.clone(),
                artifact_url: p.artifact.source_url.clone(),
                artifact_role: p.artifact.role.as_str().to_string(),
                verdict: verdict_str(rep.verdict).to_string(),
                map: serde_json::to_value(&rep.map).unwrap_or_default(),
                rules: rep
                    .findings
                    .iter()
                    .map(|x| RuleResult {
                        rule: x.rule.clone(),
                        status: serde_json::to_value(x.status)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        confidence: x.confidence,
                        message: x.message.clone(),
                    })
                    .collect(),
                overlay: p.overlay.as_ref().map(|o| o.blake3.clone()),
                check_report: Some(p.report.blake3.clone()),
            }
        })
        .collect();
    let hook = (!new_findings.is_empty()).then(|| findings::index_hook(new_findings.clone()));
    cap.seal_with(hook)
        .await
        .map_err(|source| SweepError::Seal {
            url: page_url.clone(),
            source,
        })?;

    for (p, nf) in pending.iter().zip(&new_findings) {
        let rep = &p.known.report;
        if rep.verdict != Verdict::NotApplicable {
            shared.counters.maps.fetch_add(1, Ordering::SeqCst);
        }
        if rep.verdict == Verdict::Violation {
            shared.counters.violations.fetch_add(1, Ordering::SeqCst);
            let f = findings::find(shared.store.pool(), &capture_id, &nf.artifact_blake3)
                .await?
                .ok_or_else(|| SweepError::Seal {
                    url: page_url.clone(),
                    source: crate::evidence::EvidenceError::NotFound(format!(
                        "finding on {} in capture {capture_id}",
                        nf.artifact_blake3
                    )),
                })?;
            shared.flagged.lock().await.push(Flagged {
                finding_id: f.finding_id.clone(),
                page_url: page_url.clone(),
                artifact_url: nf.artifact_url.clone().unwrap_or_default(),
                rules: rep
                    .findings
                    .iter()
                    .filter(|x| x.status == crate::check::Status::Violation)
                    .map(|x| (x.rule.clone(), x.message.clone()))
                    .collect(),
                overlay_blake3: nf.overlay.clone(),
            });
        }
    }
    Ok(())
}

impl Sweep {
    /// A sweep writing into `store`, checking with `checker`.
    pub fn new(store: EvidenceStore, checker: Arc<Checker>) -> Self {
        Self {
            store,
            checker,
            progress: None,
            cache: None,
        }
    }

    /// Reuse check results from earlier sweeps (and keep this sweep's) in `cache`.
    pub fn with_check_cache(mut self, cache: CheckCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Called after each sealed page.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Runs the sweep until the crawl is done or `stop` fires; then seals a tree head.
    pub async fn run(
        &self,
        req: SweepRequest,
        stop: &StopSignal,
    ) -> Result<SweepSummary, SweepError> {
        let t0 = std::time::Instant::now();
        let db = self.store.pool();
        let (sweep_id, seeds, settings, resume_state) = if req.resume {
            let prev = state::latest(db, &req.campaign).await?.ok_or_else(|| {
                SweepError::NothingToResume {
                    campaign: req.campaign.clone(),
                }
            })?;
            (
                prev.sweep_id,
                prev.seeds,
                req.settings.clone(),
                Some(prev.state),
            )
        } else {
            let id = uuid::Uuid::now_v7().to_string();
            state::create(db, &id, &req.campaign, &req.seeds, &req.settings).await?;
            (id, req.seeds.clone(), req.settings.clone(), None)
        };

        let plan = RenderPlan::decide(&settings)?;
        let renderer = Renderer::launch_for_plan(&plan, &settings).await?;
        let render_note = match &plan {
            RenderPlan::MissingChromium { note } => Some(note.clone()),
            _ => None,
        };
        let crawler = Crawler::new(settings.clone(), plan, renderer)?;
        let handle = crawler.handle();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let shared = Arc::new(Shared {
            store: self.store.clone(),
            checker: self.checker.clone(),
            campaign: req.campaign.clone(),
            sweep_id: sweep_id.clone(),
            check_slots: Semaphore::new(threads),
            known: Mutex::default(),
            images: SharedImages::default(),
            sealed: Mutex::default(),
            failed: Mutex::default(),
            counters: Counters::default(),
            flagged: Mutex::default(),
            seal_errors: Mutex::default(),
            render_note: render_note.clone(),
            user_agent: settings.user_agent.clone(),
            claims: std::sync::Mutex::default(),
            handed: std::sync::Mutex::default(),
            progress: self.progress.clone(),
            tasks: Mutex::default(),
            page_slots: Arc::new(Semaphore::new(PAGES_IN_FLIGHT_KIB as usize)),
            cache: self.cache.clone(),
        });
        let sink = Sink {
            shared: shared.clone(),
        };

        // Stop on request; save the crawl state now and then so a crash loses little.
        let mut stop_rx = stop.subscribe();
        let stopper = {
            let handle = handle.clone();
            tokio::spawn(async move {
                while stop_rx.changed().await.is_ok() {
                    if *stop_rx.borrow() {
                        handle.stop();
                        break;
                    }
                }
            })
        };
        let saver = {
            let handle = handle.clone();
            let shared = shared.clone();
            let db = db.clone();
            let id = sweep_id.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let st = settled_state(&handle, &shared).await;
                    if let Err(e) = state::save(&db, &id, &st, "running").await {
                        tracing::warn!(error = %e, "cannot save sweep state");
                    }
                }
            })
        };

        let t_setup = t0.elapsed();
        // Images taken in an earlier run of a resumed sweep are not fetched again: a page
        // showing one now has nothing to wait for, and they stay claimed by that run's pages.
        if let Some(st) = &resume_state {
            for u in &st.candidate_urls {
                shared.images.resolve(&url_key(u), None);
            }
            for h in &st.candidate_hashes {
                shared.images.resolve(&hash_key(h), None);
            }
            if let Ok(mut c) = shared.claims.lock() {
                c.add(Claims {
                    urls: st.candidate_urls.iter().cloned().collect(),
                    hashes: st.candidate_hashes.iter().cloned().collect(),
                });
            }
        }
        let crawl = crawler.run(&seeds, resume_state, &sink).await;
        let t_crawl = t0.elapsed();
        // Every page is handed over: an image no page in the sink will publish never comes.
        shared.images.release_unowned();
        saver.abort();
        stopper.abort();
        // Pages handed to the sink finish sealing before the state is saved.
        let mut tasks = std::mem::take(&mut *shared.tasks.lock().await);
        while tasks.join_next().await.is_some() {}
        let crawl = crawl?;
        let st = settled_state(&handle, &shared).await;
        let status = if crawl.stopped { "stopped" } else { "finished" };
        state::save(db, &sweep_id, &st, status).await?;
        let t_saved = t0.elapsed();
        let tree_head = Some(self.store.checkpoint().await?);
        tracing::debug!(
            sweep = %sweep_id,
            setup_ms = t_setup.as_millis() as u64,
            crawl_ms = (t_crawl - t_setup).as_millis() as u64,
            seal_and_state_ms = (t_saved - t_crawl).as_millis() as u64,
            checkpoint_ms = (t0.elapsed() - t_saved).as_millis() as u64,
            "sweep timings"
        );

        let c = &shared.counters;
        Ok(SweepSummary {
            sweep_id,
            campaign: req.campaign,
            stopped: crawl.stopped,
            crawl,
            pages_sealed: shared.sealed.lock().await.len() as u64,
            seal_errors: shared.seal_errors.lock().await.clone(),
            maps_checked: c.maps_checked.load(Ordering::SeqCst),
            maps: c.maps.load(Ordering::SeqCst),
            violations: c.violations.load(Ordering::SeqCst),
            check_errors: c.check_errors.load(Ordering::SeqCst),
            flagged: shared.flagged.lock().await.clone(),
            render_note,
            tree_head,
            elapsed_ms: t0.elapsed().as_millis() as u64,
        })
    }
}

/// The crawl state with only sealed pages counted done: pages handed over but not sealed (still
/// sealing, or failed) go back to the front of the queue.
async fn settled_state(handle: &crate::crawl::CrawlHandle, shared: &Shared) -> CrawlState {
    let mut st = handle.snapshot();
    let sealed = shared.sealed.lock().await;
    let (done, undone): (Vec<Url>, Vec<Url>) = st.done.drain(..).partition(|u| sealed.contains(u));
    st.done = done;
    let handed = shared.handed.lock().map(|h| h.clone()).unwrap_or_default();
    let mut requeue: Vec<crate::crawl::QueuedUrl> = undone
        .into_iter()
        .map(|url| {
            handed
                .get(&url)
                .cloned()
                .unwrap_or(crate::crawl::QueuedUrl {
                    url,
                    depth: 0,
                    referrer: None,
                })
        })
        .collect();
    requeue.append(&mut st.queued);
    st.queued = requeue;
    if let Ok(c) = shared.claims.lock() {
        c.keep_in(&mut st);
    }
    st
}

/// The candidate URLs and content hashes pages took (fetched, or found too small, broken or
/// not an image) rather than found taken by another page.
#[derive(Debug, Default)]
struct Claims {
    urls: std::collections::HashSet<Url>,
    hashes: std::collections::HashSet<String>,
}

impl Claims {
    fn of(candidates: &[crate::crawl::Candidate]) -> Claims {
        let mut c = Claims::default();
        for cand in candidates {
            let (url_taken, hash_taken) = match cand.status {
                CandidateStatus::DuplicateUrl => (false, false),
                CandidateStatus::DuplicateContent { .. } => (true, false),
                _ => (true, true),
            };
            if let (true, Some(u)) = (url_taken, &cand.url) {
                c.urls.insert(u.clone());
            }
            if let (true, Some(h)) = (hash_taken, &cand.blake3) {
                c.hashes.insert(h.clone());
            }
        }
        c
    }

    fn add(&mut self, other: Claims) {
        self.urls.extend(other.urls);
        self.hashes.extend(other.hashes);
    }

    /// Drops from a crawl state the candidates no sealed page took: those of pages requeued
    /// unsealed (or still in the crawler), which must fetch them again when resumed.
    fn keep_in(&self, st: &mut CrawlState) {
        st.candidate_urls.retain(|u| self.urls.contains(u));
        st.candidate_hashes.retain(|h| self.hashes.contains(h));
    }
}

/// The `sweeps` table: one row per sweep, with the crawl state for `--resume`.
mod state {
    use super::*;
    use crate::store::Db;
    use sqlx::Row;

    pub struct Saved {
        pub sweep_id: String,
        pub seeds: Vec<Url>,
        pub state: CrawlState,
    }

    fn err(campaign: &str) -> impl Fn(sqlx::Error) -> SweepError + '_ {
        move |source| SweepError::State {
            campaign: campaign.to_string(),
            source,
        }
    }

    fn json_err(sweep_id: &str) -> impl Fn(serde_json::Error) -> SweepError + '_ {
        move |source| SweepError::StateJson {
            sweep_id: sweep_id.to_string(),
            source,
        }
    }

    pub async fn create(
        db: &Db,
        sweep_id: &str,
        campaign: &str,
        seeds: &[Url],
        settings: &CrawlSettings,
    ) -> Result<(), SweepError> {
        let now = jiff::Timestamp::now().to_string();
        let seeds = serde_json::to_string(seeds).map_err(json_err(sweep_id))?;
        let settings = serde_json::to_string(settings).map_err(json_err(sweep_id))?;
        sqlx::query(
            "INSERT INTO sweeps (sweep_id, campaign, seeds, settings, state, status, started_at, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, 'running', $5, $5)",
        )
        .bind(sweep_id)
        .bind(campaign)
        .bind(seeds)
        .bind(settings)
        .bind(now)
        .execute(db)
        .await
        .map_err(err(campaign))?;
        Ok(())
    }

    pub async fn save(
        db: &Db,
        sweep_id: &str,
        st: &CrawlState,
        status: &str,
    ) -> Result<(), SweepError> {
        let json = serde_json::to_string(st).map_err(json_err(sweep_id))?;
        sqlx::query(
            "UPDATE sweeps SET state = $1, status = $2, updated_at = $3 WHERE sweep_id = $4",
        )
        .bind(json)
        .bind(status)
        .bind(jiff::Timestamp::now().to_string())
        .bind(sweep_id)
        .execute(db)
        .await
        .map_err(err(sweep_id))?;
        Ok(())
    }

    /// The latest sweep of a campaign.
    pub async fn latest(db: &Db, campaign: &str) -> Result<Option<Saved>, SweepError> {
        let row = sqlx::query(
            "SELECT sweep_id, seeds, state FROM sweeps WHERE campaign = $1 \
             ORDER BY started_at DESC, sweep_id DESC LIMIT 1",
        )
        .bind(campaign)
        .fetch_optional(db)
        .await
        .map_err(err(campaign))?;
        let Some(row) = row else { return Ok(None) };
        let sweep_id: String = row.try_get("sweep_id").map_err(err(campaign))?;
        let seeds: String = row.try_get("seeds").map_err(err(campaign))?;
        let state: Option<String> = row.try_get("state").map_err(err(campaign))?;
        let seeds: Vec<Url> = serde_json::from_str(&seeds).map_err(json_err(&sweep_id))?;
        let state = match state {
            Some(s) => serde_json::from_str(&s).map_err(json_err(&sweep_id))?,
            None => CrawlState::default(),
        };
        Ok(Some(Saved {
            sweep_id,
            seeds,
            state,
        }))
    }
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Violation => "violation",
        Verdict::Compliant => "compliant",
        Verdict::NotApplicable => "not_applicable",
        Verdict::Uncertain => "uncertain",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(overlay_len: usize) -> KnownMap {
        KnownMap {
            report: Arc::new(CheckReport::not_a_map()),
            report_json: Arc::new(vec![b'x'; 100]),
            overlay: Some(Arc::new(vec![0; overlay_len])),
            media_type: "image/png".into(),
        }
    }

    /// Guards resume after a stop: an image taken by a page that was requeued unsealed is
    /// not kept as taken, so the page fetches (and seals and checks) it again when resumed.
    #[test]
    fn saved_state_keeps_only_the_candidates_sealed_pages_took() {
        let u = |p: &str| Url::parse(&format!("http://site.test/{p}")).expect("url");
        let cand =
            |url: &str, status: CandidateStatus, hash: Option<&str>| crate::crawl::Candidate {
                source: crate::crawl::CandidateSource::ImgSrc,
                element: "img".into(),
                url: Some(u(url)),
                found_on: u(""),
                status,
                media_type: None,
                width: None,
                height: None,
                blake3: hash.map(str::to_string),
                fetch: None,
                error: None,
                bytes: None,
            };
        let mut sealed = Claims::default();
        sealed.add(Claims::of(&[
            cand("a.png", CandidateStatus::Fetched, Some("aa")),
            cand("b.png", CandidateStatus::DuplicateUrl, None),
            cand(
                "c.png",
                CandidateStatus::DuplicateContent { first: "x".into() },
                Some("bb"),
            ),
        ]));
        let mut st = CrawlState {
            format: crate::crawl::CRAWL_STATE_FORMAT.into(),
            done: vec![],
            queued: vec![],
            // b.png and the hash bb were taken by a page that did not get sealed
            candidate_urls: vec![u("a.png"), u("b.png"), u("c.png")],
            candidate_hashes: vec!["aa".into(), "bb".into()],
        };
        sealed.keep_in(&mut st);
        assert_eq!(st.candidate_urls, vec![u("a.png"), u("c.png")]);
        assert_eq!(st.candidate_hashes, vec!["aa".to_string()]);
    }

    #[test]
    fn check_cache_drops_the_oldest_maps_past_its_byte_bound() {
        let one = known(1000).size();
        let cache = CheckCache::new(one * 2);
        cache.put("a", &known(1000));
        cache.put("b", &known(1000));
        assert!(cache.get("a").is_some() && cache.get("b").is_some());
        cache.put("c", &known(1000));
        assert!(cache.get("a").is_none(), "the oldest entry goes first");
        assert!(cache.get("b").is_some() && cache.get("c").is_some());
        cache.put("huge", &known(one * 3));
        assert!(
            cache.get("huge").is_none(),
            "an entry over the bound is not kept"
        );
        assert_eq!(cache.len(), 2);
    }
}
