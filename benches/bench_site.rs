//! A generated loopback site for the crawl benchmark (see `benches/crawl_vs_wget.sh`).
//!
//! Serves, from memory, with HTTP/1.1 keep-alive:
//! - `/` and `/p/<i>.html` for i in 0..N (default 2000): a tree with ten children per page
//!   (every page reachable in 4 hops), each page with one unique 200x150 PNG (`/img/<i>.png`),
//!   one shared banner PNG and one shared 16x16 icon;
//! - `/js/index.html` linking `/js/<i>.html` for i in 0..J (default 20): pages that draw a map
//!   shape on a canvas with plain JS and fetch `/js/geo.json`, for the rendered-capture figure.
//!
//! Usage: `cargo run --example bench_site -- [PAGES] [JS_PAGES] [DELAY_MS]`; prints
//! `listening <addr>`. `DELAY_MS` (default 0) holds every response back that long before it is
//! written, like a server that takes time to produce a page (the clients' CPU is not used).

use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x.wrapping_add(seed)) as u8,
            (y.wrapping_mul(3)) as u8,
            (seed >> 3) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    if let Err(e) = image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png)
    {
        eprintln!("cannot encode a PNG: {e}");
        std::process::exit(2);
    }
    out.into_inner()
}

fn build(pages: u32, js_pages: u32) -> HashMap<String, (&'static str, Vec<u8>)> {
    let mut m = HashMap::new();
    let page = |i: Option<u32>| {
        let me = i.map(|i| i + 1).unwrap_or(0);
        let mut links = String::new();
        for c in 1..=10u32 {
            let child = me * 10 + c - 1;
            if child < pages {
                links.push_str(&format!(
                    "<li><a href=\"/p/{child}.html\">page {child}</a></li>\n"
                ));
            }
        }
        let img = i
            .map(|i| format!("<img src=\"/img/{i}.png\" alt=\"map {i}\">"))
            .unwrap_or_default();
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Page {me}</title></head><body>\n\
             <header><img src=\"/img/banner.png\"><img src=\"/img/icon.png\"> <a href=\"/\">home</a></header>\n\
             <h1>Page {me}</h1><p>{}</p>{img}<ul>\n{links}</ul></body></html>\n",
            "Lorem ipsum dolor sit amet. ".repeat(40)
        )
        .into_bytes()
    };
    m.insert("/".to_string(), ("text/html; charset=utf-8", page(None)));
    for i in 0..pages {
        m.insert(
            format!("/p/{i}.html"),
            ("text/html; charset=utf-8", page(Some(i))),
        );
        m.insert(format!("/img/{i}.png"), ("image/png", png(200, 150, i)));
    }
    m.insert(
        "/img/banner.png".to_string(),
        ("image/png", png(600, 100, 99_999)),
    );
    m.insert("/img/icon.png".to_string(), ("image/png", png(16, 16, 7)));
    let mut index = String::from("<html><body>");
    for i in 0..js_pages {
        index.push_str(&format!("<a href=\"/js/{i}.html\">js {i}</a>\n"));
        let html = format!(
            r##"<!doctype html><html><body><h1>JS map {i}</h1><canvas id="c" width="400" height="300"></canvas>
<svg width="300" height="200"><path d="M10 10 L290 40 L200 190 Z" fill="#{:06x}"/></svg>
<script>const x=document.getElementById('c').getContext('2d');x.fillStyle='#2a6';x.beginPath();
x.moveTo(50,60);x.lineTo(300,{});x.lineTo(360,200);x.lineTo(120,260);x.closePath();x.fill();
fetch('/js/geo.json').then(r=>r.json()).then(g=>{{const d=document.createElement('div');d.textContent=g.type;document.body.appendChild(d);}});</script>
</body></html>"##,
            (i * 2_654_435) & 0xffffff,
            40 + i % 50
        );
        m.insert(
            format!("/js/{i}.html"),
            ("text/html; charset=utf-8", html.into_bytes()),
        );
    }
    index.push_str("</body></html>");
    m.insert(
        "/js/index.html".to_string(),
        ("text/html; charset=utf-8", index.into_bytes()),
    );
    m.insert(
        "/js/geo.json".to_string(),
        (
            "application/json",
            br#"{"type":"FeatureCollection","features":[]}"#.to_vec(),
        ),
    );
    m
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let pages: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let js_pages: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let delay_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let delay = std::time::Duration::from_millis(delay_ms);
    let site = Arc::new(build(pages, js_pages));
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot bind 127.0.0.1: {e}");
            std::process::exit(2);
        }
    };
    match listener.local_addr() {
        Ok(a) => println!("listening {a}"),
        Err(e) => {
            eprintln!("no local address: {e}");
            std::process::exit(2);
        }
    }
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let _ = sock.set_nodelay(true);
        let site = site.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                // Read one request head (bodies are not expected: GET only).
                let end = loop {
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                buf.drain(..end);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let close = head.to_ascii_lowercase().contains("connection: close");
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let (status, ct, body) = match site.get(&path) {
                    Some((ct, body)) => ("200 OK", *ct, body.as_slice()),
                    None => ("404 Not Found", "text/html", &b"<html>not found</html>"[..]),
                };
                // Head and body in one write, Nagle off: no delayed-ACK stalls for a
                // sequential keep-alive client (wget), which would make the comparison unfair.
                let mut out = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                out.extend_from_slice(body);
                if sock.write_all(&out).await.is_err() {
                    return;
                }
                if close {
                    return;
                }
            }
        });
    }
}
