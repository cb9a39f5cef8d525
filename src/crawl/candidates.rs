//! Map candidates: sniffing, sizing and deduplication of the images and SVGs found on pages.
//!
//! Rules kept: raster sizes come from the image header only (`into_dimensions`, no decode) under
//! [`image::Limits`]; a header claiming more than [`MAX_SIDE`] pixels a side or [`MAX_PIXELS`] in
//! all is refused as `image-too-large` (a decompression bomb never gets decoded); SVG sizes come
//! from usvg with external resources off; images under the configured minimum (icons) are
//! skipped and counted; each candidate URL is fetched once per crawl and each content hash is
//! kept once per crawl, later copies are reported as duplicates without bytes.

use super::fetch::{CrawlError, ErrorKind, FetchRecord};
use super::links::CandidateSource;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::sync::Mutex;
use url::Url;

/// Largest image side accepted.
pub const MAX_SIDE: u32 = 20_000;
/// Largest pixel count accepted.
pub const MAX_PIXELS: u64 = 100_000_000;

/// What happened to a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum CandidateStatus {
    /// Fetched (or inline), an image of useful size: `bytes` hold it.
    Fetched,
    /// The URL was already taken earlier in this crawl.
    DuplicateUrl,
    /// The same bytes were already taken from `first_url` (or inline on `first_page`).
    DuplicateContent { first: String },
    /// Smaller than the minimum: an icon.
    TooSmall { width: u32, height: u32 },
    /// The response was not an image (e.g. an HTML error page).
    NotImage { media_type: Option<String> },
    /// Fetch or image error: see `error`. `bytes` hold what was served, when anything was.
    Failed,
}

/// A map candidate with its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub source: CandidateSource,
    /// The element it came from (`img#map`, `div.hero style`, a stylesheet URL, ...).
    pub element: String,
    /// The candidate's URL; `None` for inline SVG and `data:` URLs.
    pub url: Option<Url>,
    /// The page it was found on (as requested).
    pub found_on: Url,
    #[serde(flatten)]
    pub status: CandidateStatus,
    pub media_type: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// BLAKE3 of the bytes (hex).
    pub blake3: Option<String>,
    /// The fetch that produced it (URL candidates only).
    pub fetch: Option<FetchRecord>,
    pub error: Option<CrawlError>,
    #[serde(skip)]
    pub bytes: Option<Vec<u8>>,
}

/// Crawl-wide deduplication of candidates by URL and content hash.
#[derive(Debug, Default)]
pub struct Dedupe {
    urls: Mutex<HashSet<Url>>,
    hashes: Mutex<HashMap<String, String>>,
}

impl Dedupe {
    /// Starts from URLs and hashes already taken (resume).
    pub fn with_seen(
        urls: impl IntoIterator<Item = Url>,
        hashes: impl IntoIterator<Item = String>,
    ) -> Self {
        Self {
            urls: Mutex::new(urls.into_iter().collect()),
            hashes: Mutex::new(
                hashes
                    .into_iter()
                    .map(|h| (h, "an earlier run".to_string()))
                    .collect(),
            ),
        }
    }

    /// True when the URL is new (and marks it taken).
    pub fn claim_url(&self, url: &Url) -> bool {
        self.urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.clone())
    }

    /// `None` when the hash is new (and marks it taken by `origin`), else where it was first seen.
    pub fn claim_hash(&self, hash: &str, origin: &str) -> Option<String> {
        let mut map = self.hashes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(first) = map.get(hash) {
            return Some(first.clone());
        }
        map.insert(hash.to_string(), origin.to_string());
        None
    }

    /// URLs and hashes taken so far (for persisting crawl state).
    pub fn snapshot(&self) -> (Vec<Url>, Vec<String>) {
        let urls = self
            .urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        let hashes = self
            .hashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        (urls, hashes)
    }
}

/// Sniffs an SVG document (optionally after a BOM, XML prolog or comments).
pub fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(2048)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    text.contains("<svg")
}

/// The media type of candidate bytes: a declared `image/*` type, else a sniffed one.
pub fn sniff_media_type(declared: Option<&str>, bytes: &[u8]) -> Option<String> {
    if let Ok(fmt) = image::guess_format(bytes) {
        return Some(fmt.to_mime_type().to_string());
    }
    if bytes.starts_with(&[0x1f, 0x8b]) && declared.is_some_and(|d| d.contains("svg")) {
        return Some("image/svg+xml".to_string());
    }
    if looks_like_svg(bytes) {
        return Some("image/svg+xml".to_string());
    }
    declared
        .filter(|d| d.starts_with("image/"))
        .map(str::to_string)
}

/// Width and height of an image from its header or SVG root, refusing bombs.
pub fn dimensions(media_type: &str, bytes: &[u8], url: &str) -> Result<(u32, u32), CrawlError> {
    if media_type.contains("svg") {
        let opts = resvg::usvg::Options::default();
        let tree = resvg::usvg::Tree::from_data(bytes, &opts)
            .map_err(|e| CrawlError::new(ErrorKind::ImageDecode, url, format!("SVG: {e}")))?;
        let size = tree.size();
        return Ok((size.width().round() as u32, size.height().round() as u32));
    }
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| CrawlError::new(ErrorKind::ImageDecode, url, e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let (w, h) = reader.into_dimensions().map_err(|e| match e {
        image::ImageError::Limits(l) => {
            CrawlError::new(ErrorKind::ImageTooLarge, url, l.to_string())
        }
        other => CrawlError::new(ErrorKind::ImageDecode, url, other.to_string()),
    })?;
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(CrawlError::new(
            ErrorKind::ImageTooLarge,
            url,
            format!("image header claims {w}x{h} pixels (possible decompression bomb)"),
        ));
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_size_and_sniffing() {
        let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><rect width="10" height="10"/></svg>"#;
        assert_eq!(
            sniff_media_type(None, svg).as_deref(),
            Some("image/svg+xml")
        );
        assert_eq!(dimensions("image/svg+xml", svg, "x").unwrap(), (400, 300));
    }

    #[test]
    fn dedupe_by_url_and_hash() {
        let d = Dedupe::default();
        let u = Url::parse("http://a/x.png").unwrap();
        assert!(d.claim_url(&u));
        assert!(!d.claim_url(&u));
        assert_eq!(d.claim_hash("h", "first"), None);
        assert_eq!(d.claim_hash("h", "second").as_deref(), Some("first"));
    }
}
