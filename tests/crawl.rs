//! Crawler tests against a misbehaving site served on 127.0.0.1 by a hand-rolled server.

use mapsweep::capture::RenderPlan;
use mapsweep::crawl::{
    CandidateSource, CandidateStatus, CrawlOptions, CrawlSettings, Crawler, ErrorKind, PageResult,
    RenderOutcome, SinkFlow,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// A tiny HTTP/1.1 server whose routes can hang, reset or answer in sequence.
pub mod server {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[derive(Clone, Debug)]
    pub enum Reply {
        Ok {
            status: u16,
            headers: Vec<(String, String)>,
            body: Vec<u8>,
        },
        /// Accept, read the request, never answer.
        Hang,
        /// Accept and reset the connection.
        Reset,
        /// The n-th request gets the n-th reply (the last one repeats).
        Seq(Vec<Reply>),
    }

    impl Reply {
        pub fn html(body: impl Into<String>) -> Self {
            Self::typed("text/html; charset=utf-8", body.into().into_bytes())
        }
        pub fn typed(ct: &str, body: Vec<u8>) -> Self {
            Reply::Ok {
                status: 200,
                headers: vec![("Content-Type".into(), ct.into())],
                body,
            }
        }
        pub fn status(status: u16, headers: &[(&str, &str)]) -> Self {
            Reply::Ok {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body: b"<html><body>status page</body></html>".to_vec(),
            }
        }
    }

    pub type Hits = Arc<Mutex<HashMap<String, usize>>>;

    /// Serves `routes` (path with query -> reply); unknown paths get 404.
    pub async fn serve(routes: HashMap<String, Reply>) -> (SocketAddr, Hits) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let routes = Arc::new(routes);
        let hits: Hits = Arc::default();
        let h = hits.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    continue;
                };
                let routes = routes.clone();
                let hits = h.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let n = {
                        let mut m = hits.lock().unwrap();
                        let e = m.entry(path.clone()).or_default();
                        *e += 1;
                        *e
                    };
                    let mut reply = routes.get(&path).cloned().unwrap_or(Reply::Ok {
                        status: 404,
                        headers: vec![("Content-Type".into(), "text/html".into())],
                        body: b"<html>not found</html>".to_vec(),
                    });
                    if let Reply::Seq(v) = reply {
                        reply = v[(n - 1).min(v.len() - 1)].clone();
                    }
                    match reply {
                        Reply::Hang => {
                            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                        }
                        Reply::Reset => {
                            // SO_LINGER 0 makes the close an RST: the point of this reply.
                            #[allow(deprecated)]
                            let _ = sock.set_linger(Some(std::time::Duration::ZERO));
                            drop(sock);
                        }
                        Reply::Ok {
                            status,
                            headers,
                            body,
                        } => {
                            let mut out = format!("HTTP/1.1 {status} X\r\n");
                            for (k, v) in headers {
                                out.push_str(&format!("{k}: {v}\r\n"));
                            }
                            out.push_str(&format!(
                                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                                body.len()
                            ));
                            let _ = sock.write_all(out.as_bytes()).await;
                            let _ = sock.write_all(&body).await;
                            let _ = sock.shutdown().await;
                        }
                        Reply::Seq(_) => {}
                    }
                });
            }
        });
        (addr, hits)
    }
}

use server::Reply;

/// A PNG of `w`x`h` whose pixels depend on `seed` (so different seeds hash differently).
pub fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x as u8).wrapping_add(seed),
            (y as u8).wrapping_mul(3),
            seed,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG header claiming 100000x100000 pixels: a decompression bomb's calling card.
fn bomb_png() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

fn svg(w: u32, h: u32, fill: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><path d="M10 10 L{} 20 L50 {} Z" fill="{fill}"/></svg>"#,
        w - 10,
        h - 10
    )
}

fn site(port_hint: &str) -> HashMap<String, Reply> {
    let mut r: HashMap<String, Reply> = HashMap::new();
    let long = "x".repeat(3000);
    r.insert(
        "/robots.txt".into(),
        Reply::typed(
            "text/plain",
            b"User-agent: *\nDisallow: /private/\n".to_vec(),
        ),
    );
    r.insert(
        "/".into(),
        Reply::html(format!(
            r#"<!doctype html><html><head><title>Index</title>
            <style>.block {{ background-image: url("/img/block.png"); }}</style>
            <link rel="stylesheet" href="/s.css"></head><body>
            <a href="/a.html">a</a> <a href="/private/secret.html">secret</a>
            <a href="/404.html">gone</a> <a href="/redirect">moved</a> <a href="/loop1">loop</a>
            <a href="/hang">slow</a> <a href="/reset">reset</a> <a href="/gbk.html">gbk</a>
            <a href="/huge.html">huge</a> <a href="/doc.pdf">pdf</a> <a href="/flaky">flaky</a>
            <a href="/bad.html">bad</a>
            <a href="mailto:officer@example.org">mail</a> <a href="javascript:void(0)">js</a>
            <a href="tel:+86-21-0000">tel</a>
            <a href="http://other.invalid/page">elsewhere</a>
            <a href="http://user:secret@{port_hint}/a.html">userinfo</a>
            <a href="/{long}">long</a>
            <a href="https://{port_hint}/tls">tls</a>
            <img src="/img/map.png" alt="map"> <img src="/img/icon.png" alt="icon">
            <img srcset="/img/map2.png 2x"> <img class="lazy" data-src="/img/lazy.png">
            <picture><source srcset="/img/pic.png"><img src="/img/map.png"></picture>
            <div class="hero" style="background-image: url('/img/bg.png')"></div>
            {big_svg}
            {icon_svg}
            <object data="/img/obj.svg" type="image/svg+xml"></object>
            <a href="/img/linked.png">download map</a>
            <img src="/img/copy.png"> <img src="/img/corrupt.png"> <img src="/img/bomb.png">
            <img src="/img/missing.png">
            </body></html>"#,
            // Inline SVG in HTML is usually written without xmlns.
            big_svg = svg(400, 300, "#c00").replace(r#" xmlns="http://www.w3.org/2000/svg""#, ""),
            icon_svg = svg(16, 16, "#000").replace(r#" xmlns="http://www.w3.org/2000/svg""#, ""),
        )),
    );
    r.insert(
        "/a.html".into(),
        Reply::html(r#"<html><body><a href="/b.html">b</a><img src="/img/map.png"></body></html>"#),
    );
    r.insert(
        "/b.html".into(),
        Reply::html(r#"<html><body><a href="/c.html">c</a></body></html>"#),
    );
    r.insert(
        "/c.html".into(),
        Reply::html("<html><body>too deep</body></html>"),
    );
    r.insert(
        "/a2.html".into(),
        Reply::html("<html><body>moved here</body></html>"),
    );
    r.insert(
        "/private/secret.html".into(),
        Reply::html("<html>secret</html>"),
    );
    r.insert(
        "/redirect".into(),
        Reply::status(302, &[("Location", "/a2.html")]),
    );
    r.insert(
        "/loop1".into(),
        Reply::status(302, &[("Location", "/loop2")]),
    );
    r.insert(
        "/loop2".into(),
        Reply::status(301, &[("Location", "/loop1")]),
    );
    r.insert("/hang".into(), Reply::Hang);
    r.insert("/reset".into(), Reply::Reset);
    r.insert(
        "/flaky".into(),
        Reply::Seq(vec![
            Reply::status(503, &[("Retry-After", "0")]),
            Reply::html("<html><body>recovered</body></html>"),
        ]),
    );
    let (gbk, _, _) = encoding_rs::GBK.encode("<html><body><p>中国地图 审图号</p></body></html>");
    r.insert(
        "/gbk.html".into(),
        Reply::typed("text/html; charset=GBK", gbk.into_owned()),
    );
    let mut huge = b"<html><body>".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 300_000));
    r.insert("/huge.html".into(), Reply::typed("text/html", huge));
    r.insert(
        "/doc.pdf".into(),
        Reply::typed("application/pdf", b"%PDF-1.4 not really".to_vec()),
    );
    r.insert(
        "/bad.html".into(),
        Reply::html(
            "<html><body><div <<< ><p></p></p><td>x<a href='%zz%'>odd</a><a href='http://[::1'>broken</a>\
             <img src=\"/img/map.png\"<img src=><table><svg><g><svg></body>",
        ),
    );
    r.insert(
        "/s.css".into(),
        Reply::typed(
            "text/css",
            b".x { background: url(/img/sheet.png) no-repeat; } @font-face { src: url(/f.woff2); }"
                .to_vec(),
        ),
    );
    let png_route = |r: &mut HashMap<String, Reply>, path: &str, bytes: Vec<u8>| {
        r.insert(path.to_string(), Reply::typed("image/png", bytes));
    };
    png_route(&mut r, "/img/map.png", png(400, 300, 1));
    png_route(&mut r, "/img/copy.png", png(400, 300, 1));
    png_route(&mut r, "/img/icon.png", png(16, 16, 2));
    png_route(&mut r, "/img/map2.png", png(400, 300, 3));
    png_route(&mut r, "/img/lazy.png", png(400, 300, 4));
    png_route(&mut r, "/img/pic.png", png(400, 300, 5));
    png_route(&mut r, "/img/bg.png", png(400, 300, 6));
    png_route(&mut r, "/img/block.png", png(400, 300, 7));
    png_route(&mut r, "/img/sheet.png", png(400, 300, 8));
    png_route(&mut r, "/img/linked.png", png(400, 300, 9));
    png_route(
        &mut r,
        "/img/corrupt.png",
        b"\x89PNG\r\n\x1a\ngarbage-not-a-png".to_vec(),
    );
    png_route(&mut r, "/img/bomb.png", bomb_png());
    r.insert(
        "/img/obj.svg".into(),
        Reply::typed("image/svg+xml", svg(500, 400, "#0a0").into_bytes()),
    );
    r
}

fn test_settings() -> CrawlSettings {
    let mut s = CrawlOptions::merge(&CrawlOptions::default(), &CrawlOptions::default());
    s.per_host_delay = Duration::ZERO;
    s.timeout = Duration::from_secs(2);
    s.retries = 1;
    s.max_body_bytes = 100_000;
    s.render = mapsweep::crawl::RenderMode::Never;
    s
}

/// Collects pages in a Vec.
#[derive(Default)]
struct Collect(Mutex<Vec<PageResult>>, Option<usize>);

impl mapsweep::crawl::CrawlSink for Collect {
    async fn on_page(&self, page: PageResult) -> SinkFlow {
        let mut v = self.0.lock().unwrap();
        v.push(page);
        if self.1.is_some_and(|n| v.len() >= n) {
            SinkFlow::Stop
        } else {
            SinkFlow::Continue
        }
    }
}

async fn crawl_site() -> (
    Vec<PageResult>,
    mapsweep::crawl::CrawlSummary,
    server::Hits,
    String,
) {
    // Links that need the server's own host:port use a placeholder: they are refused
    // (userinfo) or out of scope (another port) either way.
    let (addr, hits) = server::serve(site("127.0.0.1:1")).await;
    let base = format!("http://{addr}");
    let crawler = Crawler::new(test_settings(), RenderPlan::Never, None).unwrap();
    let sink = Collect::default();
    let summary = crawler
        .run(&[Url::parse(&format!("{base}/")).unwrap()], None, &sink)
        .await
        .unwrap();
    let pages = sink.0.into_inner().unwrap();
    (pages, summary, hits, base)
}

fn page<'a>(pages: &'a [PageResult], base: &str, path: &str) -> &'a PageResult {
    let want = format!("{base}{path}");
    pages
        .iter()
        .find(|p| p.url.as_str() == want)
        .unwrap_or_else(|| {
            panic!(
                "no page {want}; have {:?}",
                pages.iter().map(|p| p.url.as_str()).collect::<Vec<_>>()
            )
        })
}

#[tokio::test]
async fn crawl_records_every_misbehaviour_and_goes_on() {
    let (pages, summary, hits, base) = crawl_site().await;
    let err = |path: &str| {
        page(&pages, &base, path)
            .fetch
            .error
            .as_ref()
            .map(|e| e.kind)
    };

    // Depth: seeds 0, a 1, b 2, c (3) not fetched.
    assert_eq!(page(&pages, &base, "/b.html").depth, 2);
    assert!(
        pages.iter().all(|p| !p.url.path().ends_with("/c.html")),
        "c.html is too deep"
    );
    assert!(summary.skipped_too_deep >= 1);

    // robots.txt honoured: denied, recorded, never requested.
    assert_eq!(err("/private/secret.html"), Some(ErrorKind::RobotsDenied));
    assert!(!hits.lock().unwrap().contains_key("/private/secret.html"));
    assert_eq!(
        page(&pages, &base, "/").fetch.robots,
        "robots: honoured (allowed)"
    );

    assert_eq!(err("/404.html"), Some(ErrorKind::HttpStatus));
    assert_eq!(page(&pages, &base, "/404.html").fetch.status, Some(404));

    let redirect = page(&pages, &base, "/redirect");
    assert_eq!(redirect.fetch.error, None);
    assert_eq!(redirect.fetch.redirects.len(), 1);
    assert_eq!(redirect.fetch.redirects[0].status, 302);
    assert_eq!(redirect.fetch.redirects[0].location, "/a2.html");
    assert_eq!(redirect.fetch.final_url.path(), "/a2.html");
    assert_eq!(redirect.fetch.status, Some(200));

    assert_eq!(err("/loop1"), Some(ErrorKind::RedirectLoop));
    assert_eq!(page(&pages, &base, "/loop1").fetch.redirects.len(), 2);
    assert_eq!(err("/hang"), Some(ErrorKind::Timeout));
    assert_eq!(err("/reset"), Some(ErrorKind::ConnectionReset));

    let flaky = page(&pages, &base, "/flaky");
    assert_eq!((flaky.fetch.status, flaky.fetch.attempts), (Some(200), 2));

    let gbk = page(&pages, &base, "/gbk.html");
    assert_eq!(gbk.charset_used.as_deref(), Some("gbk"));
    assert!(gbk.text.as_deref().unwrap().contains("中国地图 审图号"));

    let huge = page(&pages, &base, "/huge.html");
    assert!(huge.fetch.truncated);
    assert_eq!(huge.body.len(), 100_000);

    let pdf = page(&pages, &base, "/doc.pdf");
    assert!(!pdf.is_html && pdf.fetch.error.is_none());

    let bad = page(&pages, &base, "/bad.html");
    assert!(bad.fetch.error.is_none(), "malformed HTML is still a page");
    assert!(
        bad.problems
            .iter()
            .any(|e| e.kind == ErrorKind::InvalidUrl && e.url.contains("[::1"))
    );

    // Remote address, headers, timestamps recorded.
    let index = page(&pages, &base, "/");
    assert_eq!(
        index.fetch.remote_addr.as_deref(),
        Some(base.trim_start_matches("http://"))
    );
    assert!(
        index
            .fetch
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("text/html"))
    );
    assert!(index.fetch.finished_at >= index.fetch.started_at);

    // Hostile links on the index page are refused with their URL.
    let refused: Vec<&str> = index.problems.iter().map(|e| e.message.as_str()).collect();
    assert!(
        refused.iter().any(|m| m.contains("userinfo")),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|m| m.contains("longer than")),
        "{refused:?}"
    );

    // Summary counters.
    assert_eq!(summary.skipped_schemes.get("mailto"), Some(&1));
    assert_eq!(summary.skipped_schemes.get("javascript"), Some(&1));
    assert_eq!(summary.skipped_schemes.get("tel"), Some(&1));
    assert!(
        summary.skipped_out_of_scope >= 1,
        "other.invalid is out of scope"
    );
    for kind in [
        "robots-denied",
        "http-status",
        "redirect-loop",
        "timeout",
        "connection-reset",
    ] {
        assert!(
            summary.errors_by_kind.contains_key(kind),
            "no {kind} in {:?}",
            summary.errors_by_kind
        );
    }
    // The TLS error: the plain-HTTP port spoken to with https is out of scope (other port), so it
    // is not fetched; a direct fetch is tested below.
}

#[tokio::test]
async fn candidates_are_found_fetched_once_and_sized() {
    let (pages, summary, hits, base) = crawl_site().await;
    let index = page(&pages, &base, "/");
    let by_path = |path: &str| {
        let want = format!("{base}{path}");
        pages
            .iter()
            .flat_map(|p| p.candidates.iter())
            .find(|c| c.url.as_ref().map(|u| u.as_str()) == Some(want.as_str()))
            .unwrap_or_else(|| panic!("no candidate {path}"))
    };
    let taken = |path: &str| {
        let c = by_path(path);
        assert_eq!(
            c.status,
            CandidateStatus::Fetched,
            "{path}: {:?} {:?}",
            c.status,
            c.error
        );
        assert!(c.bytes.as_ref().is_some_and(|b| !b.is_empty()));
        c
    };
    let map = taken("/img/map.png");
    assert_eq!((map.width, map.height), (Some(400), Some(300)));
    assert_eq!(map.source, CandidateSource::ImgSrc);
    assert_eq!(map.found_on.as_str(), format!("{base}/"));
    assert_eq!(taken("/img/map2.png").source, CandidateSource::ImgSrcset);
    assert_eq!(taken("/img/lazy.png").source, CandidateSource::ImgDataSrc);
    assert_eq!(taken("/img/pic.png").source, CandidateSource::PictureSource);
    assert_eq!(taken("/img/bg.png").source, CandidateSource::CssInlineStyle);
    assert_eq!(
        taken("/img/block.png").source,
        CandidateSource::CssStyleBlock
    );
    assert_eq!(
        taken("/img/sheet.png").source,
        CandidateSource::CssStylesheet
    );
    assert_eq!(taken("/img/obj.svg").source, CandidateSource::ObjectData);
    assert_eq!(
        taken("/img/obj.svg").media_type.as_deref(),
        Some("image/svg+xml")
    );
    assert_eq!(taken("/img/linked.png").source, CandidateSource::AHref);

    assert!(matches!(
        by_path("/img/icon.png").status,
        CandidateStatus::TooSmall {
            width: 16,
            height: 16
        }
    ));
    assert!(
        matches!(&by_path("/img/copy.png").status, CandidateStatus::DuplicateContent { first } if first.ends_with("/img/map.png"))
    );
    assert_eq!(
        by_path("/img/corrupt.png").error.as_ref().map(|e| e.kind),
        Some(ErrorKind::ImageDecode)
    );
    assert_eq!(
        by_path("/img/bomb.png").error.as_ref().map(|e| e.kind),
        Some(ErrorKind::ImageTooLarge)
    );
    assert_eq!(
        by_path("/img/missing.png").error.as_ref().map(|e| e.kind),
        Some(ErrorKind::HttpStatus)
    );

    // Inline SVG: the big one is a candidate with its text, the icon is skipped.
    let svgs: Vec<_> = index
        .candidates
        .iter()
        .filter(|c| c.source == CandidateSource::InlineSvg)
        .collect();
    assert_eq!(svgs.len(), 2);
    let big = svgs
        .iter()
        .find(|c| c.status == CandidateStatus::Fetched)
        .expect("big inline svg taken");
    let text = String::from_utf8_lossy(big.bytes.as_ref().unwrap()).to_string();
    assert!(
        text.contains("#c00") && text.contains("xmlns=\"http://www.w3.org/2000/svg\""),
        "{text}"
    );
    assert_eq!((big.width, big.height), (Some(400), Some(300)));
    assert!(
        svgs.iter()
            .any(|c| matches!(c.status, CandidateStatus::TooSmall { .. }))
    );

    // Fetched once, across pages: map.png is on three pages, requested once.
    assert_eq!(hits.lock().unwrap().get("/img/map.png"), Some(&1));
    assert!(
        page(&pages, &base, "/a.html")
            .candidates
            .iter()
            .any(|c| c.status == CandidateStatus::DuplicateUrl)
    );
    assert_eq!(hits.lock().unwrap().get("/s.css"), Some(&1));
    assert_eq!(
        hits.lock().unwrap().get("/f.woff2"),
        None,
        "fonts are not map candidates"
    );

    // Ten on the index page, plus the (empty, unsized) inline <svg> of the malformed page.
    assert!(
        page(&pages, &base, "/bad.html")
            .candidates
            .iter()
            .any(|c| c.source == CandidateSource::InlineSvg)
    );
    assert_eq!(summary.candidates, 11, "{summary:?}");
    assert!(summary.tiny_images_skipped >= 2);
    assert!(summary.duplicates_by_content >= 1);
    assert!(summary.duplicates_by_url >= 2);
}

#[tokio::test]
async fn tls_errors_and_dead_ports_are_error_entries() {
    // A plain-HTTP server that answers whatever arrives (a TLS ClientHello included) at once.
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = plain.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut sock, _)) = plain.accept().await {
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf).await;
            let _ = sock
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let settings = test_settings();
    let fetcher = mapsweep::crawl::Fetcher::new(Arc::new(settings)).unwrap();
    let tls = fetcher
        .fetch(&Url::parse(&format!("https://{addr}/")).unwrap())
        .await;
    assert_eq!(
        tls.record.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Tls),
        "{:?}",
        tls.record.error
    );
    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap();
    drop(l);
    let conn = fetcher
        .fetch(&Url::parse(&format!("http://{dead}/")).unwrap())
        .await;
    assert_eq!(
        conn.record.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Connect),
        "{:?}",
        conn.record.error
    );
    assert_eq!(
        conn.record.error.as_ref().unwrap().url,
        format!("http://{dead}/")
    );
}

#[tokio::test]
async fn stop_and_resume_do_not_refetch_done_pages() {
    let (addr, hits) = server::serve(site("127.0.0.1:1")).await;
    let seed = Url::parse(&format!("http://{addr}/")).unwrap();
    let mut s = test_settings();
    s.concurrency = 1;
    let first = Crawler::new(s.clone(), RenderPlan::Never, None).unwrap();
    let handle = first.handle();
    let sink = Collect(Mutex::default(), Some(3));
    let summary = first
        .run(std::slice::from_ref(&seed), None, &sink)
        .await
        .unwrap();
    assert!(summary.stopped);
    let state = handle.snapshot();
    assert_eq!(state.done.len(), 3);
    assert!(!state.queued.is_empty());
    let json = serde_json::to_string(&state).unwrap();
    let state: mapsweep::crawl::CrawlState = serde_json::from_str(&json).unwrap();
    let index_hits = hits.lock().unwrap().get("/").copied();
    let map_hits = hits.lock().unwrap().get("/img/map.png").copied();

    let second = Crawler::new(s, RenderPlan::Never, None).unwrap();
    let sink2 = Collect::default();
    second.run(&[seed], Some(state), &sink2).await.unwrap();
    let pages2 = sink2.0.into_inner().unwrap();
    assert!(
        pages2.iter().all(|p| p.url.path() != "/"),
        "the seed was done already"
    );
    assert!(pages2.iter().any(|p| p.url.path() == "/b.html"));
    assert_eq!(hits.lock().unwrap().get("/").copied(), index_hits);
    assert_eq!(hits.lock().unwrap().get("/img/map.png").copied(), map_hits);
}

#[tokio::test]
async fn max_pages_and_scope_are_kept() {
    let (addr, _) = server::serve(site("127.0.0.1:1")).await;
    let mut s = test_settings();
    s.max_pages = 4;
    let c = Crawler::new(s, RenderPlan::Never, None).unwrap();
    let sink = Collect::default();
    let summary = c
        .run(
            &[Url::parse(&format!("http://{addr}/")).unwrap()],
            None,
            &sink,
        )
        .await
        .unwrap();
    assert_eq!(summary.pages, 4);
    assert!(summary.max_pages_reached);
    let pages = sink.0.into_inner().unwrap();
    assert!(pages.iter().all(|p| p.url.port() == Some(addr.port())));
    assert!(
        pages
            .iter()
            .all(|p| matches!(p.render, RenderOutcome::NotRendered { .. }))
    );
}

#[test]
fn scope_rules() {
    let seeds = [
        Url::parse("https://www.example.com/").unwrap(),
        Url::parse("http://127.0.0.1:8080/").unwrap(),
    ];
    let scope = mapsweep::crawl::Scope::new(&seeds, &["partner.cn".to_string()]);
    let ok = |u: &str| scope.contains(&Url::parse(u).unwrap());
    assert!(ok("http://example.com/x"));
    assert!(ok("https://maps.example.com/x"));
    assert!(!ok("https://example.com.evil.net/"));
    assert!(!ok("https://notexample.com/"));
    assert!(ok("https://www.partner.cn/"));
    assert!(ok("http://127.0.0.1:8080/a"));
    assert!(!ok("http://127.0.0.1:8081/a"));
}

#[test]
fn options_merge_cli_over_file_over_defaults() {
    let file: mapsweep::config::Config = toml::from_str(
        "[crawl]\ndepth = 5\nper_host_delay_ms = 50\nallow_domains = [\"a.cn\"]\nrender = \"never\"\n",
    )
    .unwrap();
    let cli = CrawlOptions {
        depth: Some(1),
        allow_domain: Some(vec!["b.cn".into()]),
        ..Default::default()
    };
    let s = CrawlOptions::merge(&cli, &file.crawl);
    assert_eq!(s.depth, 1);
    assert_eq!(s.per_host_delay, Duration::from_millis(50));
    assert_eq!(
        s.allow_domains,
        vec!["a.cn".to_string(), "b.cn".to_string()]
    );
    assert_eq!(s.render, mapsweep::crawl::RenderMode::Never);
    assert_eq!(s.max_pages, 500);
    assert!(s.user_agent.starts_with("mapsweep/"));
    let bad = toml::from_str::<mapsweep::config::Config>("[crawl]\ndepht = 1\n");
    assert!(bad.unwrap_err().to_string().contains("depht"));
}

#[tokio::test]
async fn crawl_command_prints_json_lines_and_a_summary() {
    let (addr, _) = server::serve(site("127.0.0.1:1")).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mapsweep"))
        .args([
            "-q",
            "crawl",
            "--render",
            "never",
            "--depth",
            "1",
            "--per-host-delay",
            "0",
            "--timeout",
            "2",
            "--retries",
            "0",
        ])
        .arg(format!("http://{addr}/"))
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = &lines.last().unwrap()["summary"];
    assert!(summary["pages"].as_u64().unwrap() >= 10);
    assert_eq!(lines[0]["url"], format!("http://{addr}/"));
    assert!(
        lines[0]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == "fetched")
    );
}

#[tokio::test]
async fn ignore_robots_429_retry_after_and_long_redirect_chains() {
    let mut routes = site("127.0.0.1:1");
    for i in 0..12 {
        let loc = format!("/r/{}", i + 1);
        routes.insert(
            format!("/r/{i}"),
            Reply::status(302, &[("Location", loc.as_str())]),
        );
    }
    routes.insert(
        "/busy".into(),
        Reply::Seq(vec![
            Reply::status(429, &[("Retry-After", "1")]),
            Reply::html("<html><body>served</body></html>"),
        ]),
    );
    let (addr, hits) = server::serve(routes).await;
    let mut s = test_settings();
    s.ignore_robots = true;
    let fetcher = mapsweep::crawl::Fetcher::new(Arc::new(s)).unwrap();
    let url = |p: &str| Url::parse(&format!("http://{addr}{p}")).unwrap();

    let secret = fetcher.fetch(&url("/private/secret.html")).await;
    assert_eq!(secret.record.robots, "robots: ignored");
    assert_eq!(secret.record.status, Some(200));
    assert!(
        !hits.lock().unwrap().contains_key("/robots.txt"),
        "robots.txt not even fetched"
    );

    let busy = fetcher.fetch(&url("/busy")).await;
    assert_eq!((busy.record.status, busy.record.attempts), (Some(200), 2));

    let chain = fetcher.fetch(&url("/r/0")).await;
    let e = chain.record.error.expect("too many redirects");
    assert_eq!(e.kind, ErrorKind::TooManyRedirects);
    // Ten redirects are followed; the eleventh is recorded and refused.
    assert_eq!(
        chain.record.redirects.len(),
        mapsweep::crawl::fetch::MAX_REDIRECTS + 1
    );
    assert_eq!(chain.record.redirects[0].location, "/r/1");
}
