//! Link and map-candidate extraction from static HTML and CSS.
//!
//! Rules kept: relative URLs resolve against `<base href>` (when valid) or the page URL; only
//! http/https URLs come out, every other scheme is counted by name (`mailto`, `javascript`, ...);
//! URLs with userinfo or longer than the cap are refused as `invalid-url` (hostile input);
//! fragments are dropped. Extraction never fails: malformed HTML is parsed the way browsers do
//! (html5ever), and what cannot be understood is skipped.

use scraper::{ElementRef, Html, Selector};
use serde::Serialize;
use std::collections::BTreeMap;
use url::Url;

/// Where on the page a map candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CandidateSource {
    ImgSrc,
    ImgSrcset,
    ImgDataSrc,
    ImgDataOriginal,
    PictureSource,
    CssInlineStyle,
    CssStyleBlock,
    CssStylesheet,
    InlineSvg,
    ObjectData,
    EmbedSrc,
    IframeSrc,
    AHref,
}

/// What a candidate points at.
#[derive(Debug, Clone, PartialEq)]
pub enum CandidateTarget {
    /// A URL to fetch.
    Url(Url),
    /// An inline `<svg>` element: its outer HTML is the candidate.
    InlineSvg(String),
    /// A `data:` URL already decoded.
    Data { media_type: String, bytes: Vec<u8> },
}

/// A candidate found in markup, not fetched yet.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCandidate {
    pub source: CandidateSource,
    /// A short description of the element (`img#map`, `div.hero style`, ...).
    pub element: String,
    pub target: CandidateTarget,
    /// Width and height declared in markup, when both are known (inline SVG only).
    pub declared_size: Option<(f64, f64)>,
}

/// A URL that was refused, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefusedUrl {
    pub raw: String,
    pub reason: String,
}

/// Everything found on one HTML page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    /// Pages to crawl (deduplicated, in document order).
    pub links: Vec<Url>,
    pub candidates: Vec<RawCandidate>,
    /// Linked stylesheets (`<link rel=stylesheet>`), to fetch for `url(...)` candidates.
    pub stylesheets: Vec<Url>,
    /// Whether the page runs scripts (a reason to render it).
    pub has_scripts: bool,
    /// Links skipped for their scheme, counted by scheme.
    pub skipped_schemes: BTreeMap<String, u64>,
    /// Links and sources refused as invalid or hostile.
    pub refused: Vec<RefusedUrl>,
}

/// Outcome of resolving one attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Ok(Url),
    /// Empty or fragment-only: nothing to do.
    Ignore,
    /// Another scheme (`mailto`, `javascript`, `data`, ...).
    Scheme(String),
    Invalid(String),
}

/// Resolves `raw` against `base` under the crawl's URL rules.
pub fn resolve(base: &Url, raw: &str, max_len: usize) -> Resolved {
    let raw = raw.trim();
    if raw.is_empty() || raw.starts_with('#') {
        return Resolved::Ignore;
    }
    if raw.len() > max_len {
        return Resolved::Invalid(format!("URL longer than {max_len} characters"));
    }
    let mut url = match base.join(raw) {
        Ok(u) => u,
        Err(e) => return Resolved::Invalid(format!("cannot parse URL: {e}")),
    };
    match url.scheme() {
        "http" | "https" => {}
        other => return Resolved::Scheme(other.to_string()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Resolved::Invalid("URL carries userinfo (user:password@)".to_string());
    }
    if url.host().is_none() {
        return Resolved::Invalid("URL has no host".to_string());
    }
    if url.as_str().len() > max_len {
        return Resolved::Invalid(format!("URL longer than {max_len} characters"));
    }
    url.set_fragment(None);
    Resolved::Ok(url)
}

/// Whether a URL's path names an image file by its extension.
pub fn looks_like_image(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    [
        ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".svg", ".svgz",
    ]
    .iter()
    .any(|ext| path.ends_with(ext))
}

fn looks_like_font_or_css(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    [".woff", ".woff2", ".ttf", ".otf", ".eot", ".css", ".js"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

/// Decodes a `data:image/...` URL (base64 or percent-encoded).
pub fn decode_data_url(raw: &str) -> Option<(String, Vec<u8>)> {
    let rest = raw.trim().strip_prefix("data:").or_else(|| {
        raw.trim()
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("data:"))
            .map(|_| &raw.trim()[5..])
    })?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !media_type.starts_with("image/") {
        return None;
    }
    let bytes = if meta.to_ascii_lowercase().ends_with(";base64") {
        base64_decode(data)?
    } else {
        percent_decode(data)
    };
    Some((media_type, bytes))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The `url(...)` references in CSS text, raw (unresolved), in order.
pub fn css_urls(css: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = css.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("url(") {
        let start = from + i + 4;
        let Some(end_rel) = css[start..].find(')') else {
            break;
        };
        let inner = css[start..start + end_rel].trim();
        let inner = inner
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
            .unwrap_or(inner);
        if !inner.is_empty() {
            out.push(inner.to_string());
        }
        from = start + end_rel + 1;
    }
    out
}

/// Makes inline SVG markup a standalone SVG document: HTML parsing puts SVG elements in the SVG
/// namespace without writing `xmlns`, which XML parsers (usvg, the map checker) need.
pub fn standalone_svg(mut svg: String) -> String {
    let tag_end = svg.find('>').unwrap_or(svg.len());
    let start_tag = svg[..tag_end].to_string();
    if svg.starts_with("<svg") {
        if !start_tag.contains("xmlns=") {
            svg.insert_str(4, " xmlns=\"http://www.w3.org/2000/svg\"");
        }
        if svg.contains("xlink:") && !start_tag.contains("xmlns:xlink") {
            svg.insert_str(4, " xmlns:xlink=\"http://www.w3.org/1999/xlink\"");
        }
    }
    svg
}

fn describe(el: &ElementRef<'_>) -> String {
    let v = el.value();
    let mut s = v.name().to_string();
    if let Some(id) = v.attr("id") {
        s.push('#');
        s.push_str(&id.chars().take(60).collect::<String>());
    } else if let Some(class) = v.attr("class")
        && let Some(first) = class.split_whitespace().next()
    {
        s.push('.');
        s.push_str(&first.chars().take(60).collect::<String>());
    }
    s
}

fn parse_len(v: Option<&str>) -> Option<f64> {
    let v = v?.trim().trim_end_matches("px").trim();
    v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0)
}

fn svg_declared_size(el: &ElementRef<'_>) -> Option<(f64, f64)> {
    let v = el.value();
    if let (Some(w), Some(h)) = (parse_len(v.attr("width")), parse_len(v.attr("height"))) {
        return Some((w, h));
    }
    let vb: Vec<f64> = v
        .attr("viewBox")
        .or_else(|| v.attr("viewbox"))?
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    (vb.len() == 4).then(|| (vb[2], vb[3]))
}

struct Collector<'a> {
    base: &'a Url,
    max_len: usize,
    out: Extracted,
    seen_links: std::collections::HashSet<Url>,
}

impl Collector<'_> {
    fn resolve(&mut self, raw: &str) -> Option<Url> {
        match resolve(self.base, raw, self.max_len) {
            Resolved::Ok(u) => Some(u),
            Resolved::Ignore => None,
            Resolved::Scheme(s) => {
                *self.out.skipped_schemes.entry(s).or_default() += 1;
                None
            }
            Resolved::Invalid(reason) => {
                self.out.refused.push(RefusedUrl {
                    raw: raw.chars().take(300).collect(),
                    reason,
                });
                None
            }
        }
    }

    fn link(&mut self, raw: &str) {
        if let Some(u) = self.resolve(raw) {
            if looks_like_image(&u) {
                self.candidate_url(CandidateSource::AHref, "a".into(), u);
            } else if self.seen_links.insert(u.clone()) {
                self.out.links.push(u);
            }
        }
    }

    fn candidate(&mut self, source: CandidateSource, element: String, raw: &str) {
        let t = raw.trim();
        if t.len() >= 5 && t[..5].eq_ignore_ascii_case("data:") {
            if let Some((media_type, bytes)) = decode_data_url(t) {
                self.out.candidates.push(RawCandidate {
                    source,
                    element,
                    target: CandidateTarget::Data { media_type, bytes },
                    declared_size: None,
                });
            } else {
                *self.out.skipped_schemes.entry("data".into()).or_default() += 1;
            }
            return;
        }
        if let Some(u) = self.resolve(raw) {
            self.candidate_url(source, element, u);
        }
    }

    fn candidate_url(&mut self, source: CandidateSource, element: String, url: Url) {
        let dup = self
            .out
            .candidates
            .iter()
            .any(|c| matches!(&c.target, CandidateTarget::Url(u) if *u == url));
        if !dup {
            self.out.candidates.push(RawCandidate {
                source,
                element,
                target: CandidateTarget::Url(url),
                declared_size: None,
            });
        }
    }

    fn srcset(&mut self, source: CandidateSource, element: &str, srcset: &str) {
        for part in srcset.split(',') {
            if let Some(u) = part.split_whitespace().next() {
                self.candidate(source, element.to_string(), u);
            }
        }
    }

    fn css(&mut self, source: CandidateSource, element: &str, css: &str) {
        for raw in css_urls(css) {
            let t = raw.trim();
            if t.len() >= 5 && t[..5].eq_ignore_ascii_case("data:") {
                self.candidate(source, element.to_string(), t);
                continue;
            }
            if let Some(u) = self.resolve(t)
                && !looks_like_font_or_css(&u)
            {
                self.candidate_url(source, element.to_string(), u);
            }
        }
    }
}

fn sel(s: &str) -> Selector {
    // The selectors below are constants; a parse failure is a bug caught by the unit tests.
    Selector::parse(s).unwrap_or_else(|_| panic!("bad built-in selector {s}"))
}

/// Extracts links, map candidates and stylesheets from an HTML document at `page`.
pub fn extract_html(html: &str, page: &Url, max_url_len: usize) -> Extracted {
    let doc = Html::parse_document(html);
    let base = doc
        .select(&sel("base[href]"))
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| match resolve(page, h, max_url_len) {
            Resolved::Ok(u) => Some(u),
            _ => None,
        })
        .unwrap_or_else(|| page.clone());
    let mut c = Collector {
        base: &base,
        max_len: max_url_len,
        out: Extracted::default(),
        seen_links: Default::default(),
    };
    let all = sel("*");
    for el in doc.select(&all) {
        let v = el.value();
        let name = v.name();
        match name {
            "a" | "area" => {
                if let Some(h) = v.attr("href") {
                    c.link(h);
                }
            }
            "frame" => {
                if let Some(h) = v.attr("src") {
                    c.link(h);
                }
            }
            "link" => {
                let rel = v.attr("rel").unwrap_or("").to_ascii_lowercase();
                if rel.split_whitespace().any(|r| r == "stylesheet")
                    && let Some(h) = v.attr("href")
                    && let Some(u) = c.resolve(h)
                    && !c.out.stylesheets.contains(&u)
                {
                    c.out.stylesheets.push(u);
                }
            }
            "meta" => {
                if v.attr("http-equiv")
                    .is_some_and(|h| h.eq_ignore_ascii_case("refresh"))
                    && let Some(content) = v.attr("content")
                    && let Some(i) = content.to_ascii_lowercase().find("url=")
                {
                    let target = content[i + 4..].trim().trim_matches(['"', '\'']);
                    c.link(target);
                }
            }
            "img" => {
                let d = describe(&el);
                if let Some(s) = v.attr("src") {
                    c.candidate(CandidateSource::ImgSrc, d.clone(), s);
                }
                if let Some(s) = v.attr("srcset") {
                    c.srcset(CandidateSource::ImgSrcset, &d, s);
                }
                if let Some(s) = v.attr("data-src") {
                    c.candidate(CandidateSource::ImgDataSrc, d.clone(), s);
                }
                if let Some(s) = v.attr("data-srcset") {
                    c.srcset(CandidateSource::ImgDataSrc, &d, s);
                }
                if let Some(s) = v.attr("data-original") {
                    c.candidate(CandidateSource::ImgDataOriginal, d.clone(), s);
                }
            }
            "source" => {
                let in_picture = el
                    .parent()
                    .and_then(ElementRef::wrap)
                    .is_some_and(|p| p.value().name() == "picture");
                if in_picture && let Some(s) = v.attr("srcset") {
                    c.srcset(CandidateSource::PictureSource, &describe(&el), s);
                }
            }
            "object" | "embed" | "iframe" => {
                let (attr, source) = match name {
                    "object" => ("data", CandidateSource::ObjectData),
                    "embed" => ("src", CandidateSource::EmbedSrc),
                    _ => ("src", CandidateSource::IframeSrc),
                };
                if let Some(raw) = v.attr(attr) {
                    let typed_image = v
                        .attr("type")
                        .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("image/"));
                    if let Some(u) = c.resolve(raw) {
                        if typed_image || looks_like_image(&u) {
                            c.candidate_url(source, describe(&el), u);
                        } else if name != "embed" && c.seen_links.insert(u.clone()) {
                            c.out.links.push(u);
                        }
                    }
                }
            }
            "style" => {
                let text: String = el.text().collect();
                c.css(CandidateSource::CssStyleBlock, "style", &text);
            }
            "script" => {
                let t = v.attr("type").unwrap_or("").trim().to_ascii_lowercase();
                if t.is_empty() || t.contains("javascript") || t == "module" {
                    c.out.has_scripts = true;
                }
            }
            "svg" => {
                let nested = el
                    .ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|a| a.value().name() == "svg");
                if !nested {
                    c.out.candidates.push(RawCandidate {
                        source: CandidateSource::InlineSvg,
                        element: describe(&el),
                        target: CandidateTarget::InlineSvg(standalone_svg(el.html())),
                        declared_size: svg_declared_size(&el),
                    });
                }
            }
            _ => {}
        }
        if let Some(style) = v.attr("style")
            && style.to_ascii_lowercase().contains("url(")
        {
            let d = format!("{} style", describe(&el));
            c.css(CandidateSource::CssInlineStyle, &d, style);
        }
    }
    c.out
}

/// Candidates from a fetched stylesheet (`url(...)` resolved against the sheet's URL).
pub fn extract_css(css: &str, sheet: &Url, max_url_len: usize) -> Extracted {
    let mut c = Collector {
        base: sheet,
        max_len: max_url_len,
        out: Extracted::default(),
        seen_links: Default::default(),
    };
    c.css(CandidateSource::CssStylesheet, sheet.as_str(), css);
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("http://127.0.0.1:8080/dir/page.html").unwrap()
    }

    #[test]
    fn finds_every_kind_of_candidate() {
        let html = r#"<html><head><style>.h{background-image:url('/bg.png')}</style>
            <link rel="stylesheet" href="s.css"><script src="x.js"></script></head><body>
            <img id="m" src="map.png" srcset="a.png 1x, b.png 2x" data-src="lazy.png" data-original="orig.jpg">
            <picture><source srcset="p.webp"><img src="p.jpg"></picture>
            <div style="background: url(&quot;div.jpg&quot;)"></div>
            <svg width="400" height="300"><svg><rect/></svg></svg>
            <object data="o.svg"></object><embed src="e.png"><iframe src="frame.html"></iframe>
            <a href="big.PNG">x</a><a href="next.html#top">n</a><a href="mailto:a@b">m</a>
            <a href="javascript:void(0)">j</a><a href="http://u:p@evil.example/">u</a>
            <img src="data:image/png;base64,iVBORw0KGgo=">
            </body></html>"#;
        let e = extract_html(html, &page(), 2048);
        let srcs: Vec<_> = e.candidates.iter().map(|c| c.source).collect();
        for s in [
            CandidateSource::ImgSrc,
            CandidateSource::ImgSrcset,
            CandidateSource::ImgDataSrc,
            CandidateSource::ImgDataOriginal,
            CandidateSource::PictureSource,
            CandidateSource::CssInlineStyle,
            CandidateSource::CssStyleBlock,
            CandidateSource::InlineSvg,
            CandidateSource::ObjectData,
            CandidateSource::EmbedSrc,
            CandidateSource::AHref,
        ] {
            assert!(srcs.contains(&s), "missing {s:?} in {srcs:?}");
        }
        assert_eq!(
            srcs.iter()
                .filter(|s| **s == CandidateSource::InlineSvg)
                .count(),
            1,
            "nested svg is part of its parent"
        );
        assert!(e.has_scripts);
        assert_eq!(
            e.stylesheets,
            vec![Url::parse("http://127.0.0.1:8080/dir/s.css").unwrap()]
        );
        let links: Vec<_> = e.links.iter().map(|u| u.as_str()).collect();
        assert!(links.contains(&"http://127.0.0.1:8080/dir/next.html"));
        assert!(links.contains(&"http://127.0.0.1:8080/dir/frame.html"));
        assert_eq!(e.skipped_schemes.get("mailto"), Some(&1));
        assert_eq!(e.skipped_schemes.get("javascript"), Some(&1));
        assert_eq!(e.refused.len(), 1);
        assert!(e.candidates.iter().any(|c| matches!(&c.target,
            CandidateTarget::Data { media_type, bytes } if media_type == "image/png" && bytes.starts_with(b"\x89PNG"))));
    }

    #[test]
    fn css_urls_handle_quotes_and_case() {
        assert_eq!(
            css_urls("a{background:URL( \"x.png\" )} b{background-image:url(y.jpg)}"),
            vec!["x.png".to_string(), "y.jpg".to_string()]
        );
    }

    #[test]
    fn hostile_urls_are_refused() {
        let long = format!("/{}", "a".repeat(5000));
        assert!(matches!(
            resolve(&page(), &long, 2048),
            Resolved::Invalid(_)
        ));
        assert!(matches!(
            resolve(&page(), "http://[::1", 2048),
            Resolved::Invalid(_)
        ));
        assert!(matches!(resolve(&page(), "ftp://x/", 2048), Resolved::Scheme(s) if s == "ftp"));
        assert!(matches!(
            resolve(&page(), "  %E4%B8%AD.html ", 2048),
            Resolved::Ok(_)
        ));
    }
}
