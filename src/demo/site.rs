//! The bundled demo site (used by `mapsweep demo`): a few pages of a made-up company, with maps that mapsweep draws itself
//! from its reference data (no third-party map files are shipped).
//!
//! Rules: every map here is rendered at start from `reference-maps/` with the violation switches
//! of [`crate::reference::render`], so what the demo flags is known by construction: the world
//! map and the China map on the company's pages are problem maps, the sales map is compliant.

use crate::reference::Reference;
use crate::reference::project::Projection;
use crate::reference::render::{RenderSpec, Style, View, render_png, render_svg};
use crate::site::{Route, Site};

/// The demo pages that carry problem maps, and the rules each breaks (for the demo's own check).
pub const EXPECTED_PROBLEM_PAGES: &[(&str, &[&str])] = &[
    ("/global-network.html", &["south_china_sea"]),
    ("/china-offices.html", &["zangnan", "south_china_sea"]),
];
/// The demo page with a compliant China map (with the 南海诸岛 inset).
pub const COMPLIANT_PAGE: &str = "/china-sales.html";
/// The page whose map is drawn by a script on a canvas (seen only when Chromium renders it).
pub const SCRIPT_PAGE: &str = "/live-map.html";

const COMPANY: &str = "Donghai Example Trading Co., Ltd. (a made-up company)";

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | {COMPANY}</title>
<style>body{{font-family:sans-serif;max-width:1040px;margin:1em auto;color:#222}}
nav a{{margin-right:1em}} .hero{{padding:1em;background:#f4f6f8}}</style></head>
<body><header><img src="/img/logo.png" width="48" height="48" alt="logo"> <b>{COMPANY}</b>
<nav><a href="/">Home</a><a href="/global-network.html">Global network</a>
<a href="/china-offices.html">China offices</a><a href="/china-sales.html">China sales</a>
<a href="/live-map.html">Live map</a><a href="/news.html">News</a><a href="mailto:info@example.invalid">Mail us</a></nav></header>
<main>{body}</main><footer><p>Demo site served by mapsweep on 127.0.0.1 only.</p></footer></body></html>"#
    )
}

/// Builds the demo site. `reference` is the embedded reference data.
pub fn demo_site(reference: &Reference) -> Site {
    let mut site = Site::new();

    // A world map as the Natural Earth default view draws it: Taiwan as a separate country,
    // Zangnan as India, no dashed line.
    let mut world = RenderSpec::new(
        Projection::PlateCarree,
        View::WORLD,
        1200,
        620,
        Style::highlight(),
    );
    world.taiwan_separate = true;
    world.zangnan_as_india = true;
    world.dashes = false;
    site.route(
        "/img/global-network.png",
        Route::bytes("image/png", render_png(reference, &world)),
    );

    // A China map without the South China Sea islands, dashed line or inset, and with Zangnan
    // left out (as some chart libraries' China outlines draw it). Inline SVG on the page.
    let mut cn_bad = RenderSpec::new(
        Projection::PlateCarree,
        View::CHINA,
        900,
        700,
        Style::highlight(),
    );
    cn_bad.dashes = false;
    cn_bad.zangnan_as_india = true;
    let cn_bad_svg = render_svg(reference, &cn_bad);

    // A compliant China map with the 南海诸岛 inset.
    let mut cn_ok = RenderSpec::new(
        Projection::PlateCarree,
        View::CHINA,
        900,
        700,
        Style::highlight(),
    );
    cn_ok.inset = true;
    site.route(
        "/img/china-sales.png",
        Route::bytes("image/png", render_png(reference, &cn_ok)),
    );

    // South Asia with Aksai Chin and Zangnan as India, drawn on a canvas by a script.
    let mut asia = RenderSpec::new(
        Projection::PlateCarree,
        [66.0, 6.0, 100.0, 37.0],
        900,
        820,
        Style::highlight(),
    );
    asia.aksai_chin_as_india = true;
    asia.zangnan_as_india = true;
    site.route(
        "/data/south-asia.png",
        Route::bytes("image/png", render_png(reference, &asia)),
    );

    site.route("/img/logo.png", Route::bytes("image/png", logo_png()));

    site.route(
        "/",
        Route::html(page(
            "Home",
            r#"<div class="hero"><h1>Trading across Asia since 1998</h1>
<p>We ship bulk goods from Shanghai to forty countries. See our <a href="/global-network.html">global network</a>
and our <a href="/china-offices.html">offices in China</a>.</p></div>
<p>Latest: <a href="/news.html">we exhibit at the Import Expo</a>.</p>"#,
        )),
    );
    site.route(
        "/global-network.html",
        Route::html(page(
            "Global network",
            r#"<h1>Our global network</h1><p>Partners on every continent.</p>
<img src="/img/global-network.png" width="1200" height="620" alt="world map of our partners">"#,
        )),
    );
    site.route(
        "/china-offices.html",
        Route::html(page(
            "China offices",
            &format!("<h1>Offices in China</h1><p>Twelve offices, one map.</p>\n{cn_bad_svg}"),
        )),
    );
    site.route(
        "/china-sales.html",
        Route::html(page(
            "China sales",
            r#"<h1>Sales regions</h1><p>This map was drawn from the standard map and shows the South China Sea islands.</p>
<img src="/img/china-sales.png" width="900" height="700" alt="China sales regions">"#,
        )),
    );
    site.route(
        SCRIPT_PAGE,
        Route::html(page(
            "Live map",
            r#"<h1>Live shipments in South Asia</h1><canvas id="live" width="900" height="820"></canvas>
<script>
fetch('/data/south-asia.png').then(r => r.blob()).then(createImageBitmap).then(img => {
  const c = document.getElementById('live').getContext('2d');
  c.drawImage(img, 0, 0);
  document.body.setAttribute('data-drawn', '1');
});
</script>"#,
        )),
    );
    site.route(
        "/news.html",
        Route::html(page(
            "News",
            r#"<h1>News</h1><p>We will exhibit at the China International Import Expo in November.</p>
<p>Read our <a href="/files/brochure.pdf">brochure</a>.</p>"#,
        )),
    );
    site.route(
        "/files/brochure.pdf",
        Route::bytes("application/pdf", b"%PDF-1.4\n%%EOF\n".to_vec()),
    );
    site
}

/// A 48x48 logo: an icon the crawl skips as too small to be a map.
fn logo_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(48, 48, |x, y| {
        if (x as i32 - 24).pow(2) + (y as i32 - 24).pow(2) < 400 {
            image::Rgb([200, 30, 40])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}
