//! Probing each zone in the registered frame: fill colours against local references (mainland
//! China and the neighbour next to the zone), boundary support along the claim line versus the
//! McMahon line (or India's claim east of Aksai Chin), presence of Taiwan, of the dash segments
//! (by edges, then by a colour of their own, then by faint tints) and of a 南海诸岛 inset box,
//! whose inside is registered on its own coasts and read for the dash line as the main map is.
//! On a map of India drawn alone, Zangnan and Aksai Chin are read by whether India's outline
//! encloses them (the background reached from the picture's sides does not).
//!
//! Rules kept here: every line reading is compared with a control (the same line moved where
//! nothing is drawn); a line is "drawn" only when met along most of its length; strokes, dashes
//! and antialiased blends are never read as a fill; and evidence that the image cannot separate
//! at its scale or compression gives `uncertain` or `not_shown`, never a violation.
use super::gate;
use super::register::{
    self, FittedOn, Outline, Prepared, Registered, cdist, densify, ink_mask, long_runs,
    median_colour_of, refine_all, score,
};
use super::{CheckReport, Checker, Finding, InsetFrame, MapInfo, Status, Verdict};
use crate::reference::build::point_in;
use crate::reference::project::{Frame, projected_bbox};
use crate::reference::raster::{Mask, fill_px, project_rings};
use crate::reference::{Reference, Ring};

/// Least share of the sampled mainland pixels in one colour bin for a China map to count as
/// filled in one colour (provinces not coloured apart), so that Taiwan must share that fill.
const CHINA_UNIFORM_SHARE: f64 = 0.85;
/// Levels from a fill within which a pixel counts as that fill for `CHINA_UNIFORM_SHARE`: above
/// JPEG noise away from edges, below the step between a choropleth's classes.
const UNIFORM_NEAR: i32 = 8;
/// Share of Hainan's pixels in a thin Taiwan's colour from which that colour is taken for what
/// the map makes of China's small islands (see `probe_island`).
const HAINAN_SAME: f64 = 0.3;
/// Width (px) of the dash line's strokes in a JPEG that draws it, with the ringing around them.
const RUNG_DASH_PX: f64 = 6.0;

/// Widest band of neighbouring columns (rows) read as one frame line of a 南海诸岛 inset box.
const INSET_LINE_MAX: usize = 4;
/// The same in a lossy image: JPEG ringing spreads a 2 px line over 5 or 6 rows off a
/// coloured sea by more than `INSET_LOSSY_TOL`.
const INSET_LINE_MAX_LOSSY: usize = 6;
/// Tolerance (levels) of the background beside an inset frame line in a lossy image.
const INSET_LOSSY_TOL: i32 = 10;
/// Farthest a faint inset frame's colour lies from the background (a near-white stroke on
/// white); a steady colour farther off is a fill, such as land, not a faint line.
const FAINT_MAX: i32 = 16;

/// In a JPEG, how far (largest channel difference) an island's fill may lie from the
/// mainland's and still be the same fill smeared by compression: chroma is stored at half
/// resolution, so a small island's colour mixes with the sea and its boundary stroke around
/// it. China-view maps came out 34 and 43 off; separately coloured Taiwans 56 and more.
const LOSSY_FILL_NEAR: i32 = 48;
/// Share of a small island's pixels that must have one exact colour for it to count as a fill
/// of its own rather than blends of the mainland's fill with the boundary stroke.
const OWN_FILL_SHARE: f64 = 0.3;
/// Distance (levels) within which a pixel counts as a blend of such a fill with the stroke or
/// the sea.
const OWN_BLEND: f64 = 6.0;
/// Distance (levels) within which one of a thin island's pixels shows the mainland's own fill.
const MAINLAND_PX: i32 = 16;
/// A thin island's pixels in the mainland's own fill (see `MAINLAND_PX`) that show it drawn in
/// that fill, its other pixels antialiased against the sea.
const SOLID_PX_MIN: usize = 2;
/// Share of a thin island's pixels that, read as blends of the mainland's fill with the stroke
/// and the sea, leave its fill untold (see `probe_island`).
const BLENDS_ONLY: f64 = 0.8;
/// Lightness (levels) of JPEG noise around the mainland fill's lightness, and the least
/// lightness gap between that fill and each of the sea, the stroke and the neighbours' fill
/// for lightness alone to tell them apart.
const LUMA_NEAR: f64 = 30.0;
const LUMA_APART: f64 = 60.0;

/// Lightness of a colour (ITU-R BT.601 luma, the Y that JPEG stores at full resolution).
fn luma(c: [u8; 3]) -> f64 {
    0.299 * c[0] as f64 + 0.587 * c[1] as f64 + 0.114 * c[2] as f64
}

/// Countries whose fill shows whether a China map draws its neighbours.
const NEIGHBOURS: [&str; 11] = [
    "India",
    "Nepal",
    "Myanmar",
    "Laos",
    "Vietnam",
    "Mongolia",
    "Kazakhstan",
    "North Korea",
    "South Korea",
    "Japan",
    "Philippines",
];

/// Precomputed lon/lat sample sets used by the probes.
pub struct ProbeData {
    mcmahon: Vec<(f64, f64)>,
    claim: Vec<(f64, f64)>,
    aksai_west: Vec<(f64, f64)>,
    /// Boundary points around Aksai Chin (Kashmir, Nepal, Tibet), the zone itself left out: how
    /// closely the local frame fits there.
    aksai_surround: Vec<(f64, f64)>,
    nepal: Vec<(f64, f64)>,
    china_main: Vec<Ring>,
    india: Vec<Ring>,
    /// China's neighbours on land and across the seas east of it: on a China map that draws
    /// them, their fill is what a country other than China looks like.
    neighbours: Vec<Ring>,
    /// Land borders between two countries other than China, over a degree from China, across
    /// Asia: edges there mean the map draws countries besides China.
    others_borders: Vec<(f64, f64)>,
    /// The South China Sea's island groups (see `Reference::scs_islands`).
    scs_islands: Vec<Ring>,
    /// Coasts in `INSET_WINDOW` (land larger than an island speck): what a 南海诸岛 inset box
    /// is registered on.
    inset_coasts: Vec<(f64, f64)>,
}

fn min_dist(p: (f64, f64), set: &[(f64, f64)]) -> f64 {
    set.iter()
        .map(|q| ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt())
        .fold(f64::MAX, f64::min)
}

impl ProbeData {
    /// `world` holds the lon/lat points of the world outline that registration fits.
    pub fn new(r: &Reference, world: &[(f64, f64)]) -> ProbeData {
        let in_box = |p: &(f64, f64)| p.0 > 91.3 && p.0 < 97.6 && p.1 > 26.4 && p.1 < 29.7;
        let india: Vec<Ring> = r
            .country("India")
            .map(|c| c.rings.clone())
            .unwrap_or_default();
        let india_pts: Vec<(f64, f64)> = densify(india.iter(), 0.05)
            .into_iter()
            .filter(in_box)
            .collect();
        let china_pts: Vec<(f64, f64)> = densify(r.china.iter(), 0.05)
            .into_iter()
            .filter(in_box)
            .collect();
        let mcmahon = india_pts
            .iter()
            .copied()
            .filter(|p| point_in(&r.china, p.0, p.1) && min_dist(*p, &china_pts) > 0.25)
            .collect();
        let claim = china_pts
            .iter()
            .copied()
            .filter(|p| point_in(&india, p.0, p.1) && min_dist(*p, &india_pts) > 0.25)
            .collect();
        ProbeData {
            mcmahon,
            claim,
            aksai_west: densify(r.china.iter(), 0.05)
                .into_iter()
                .filter(|p| p.0 > 77.8 && p.0 < 79.6 && p.1 > 32.8 && p.1 < 35.4)
                .collect(),
            aksai_surround: world
                .iter()
                .copied()
                .filter(|&(lo, la)| lo > 70.0 && lo < 90.0 && la > 28.0 && la < 40.0)
                .filter(|&(lo, la)| !(lo > 77.0 && lo < 81.0 && la > 32.0 && la < 37.0))
                .collect(),
            nepal: densify(r.china.iter(), 0.05)
                .into_iter()
                .filter(|p| p.0 > 81.5 && p.0 < 88.0 && p.1 > 27.8 && p.1 < 30.5)
                .collect(),
            china_main: r.china_mainland().into_iter().cloned().collect(),
            scs_islands: r.scs_islands().into_iter().cloned().collect(),
            inset_coasts: inset_coasts(r),
            neighbours: NEIGHBOURS
                .iter()
                .filter_map(|n| r.country(n))
                .flat_map(|c| c.rings.iter().cloned())
                .collect(),
            others_borders: others_borders(r),
            india,
        }
    }
}

/// Vertices shared by two countries other than China (world-atlas rings share their border
/// vertices exactly), in Asia and over a degree from China's outline.
fn others_borders(r: &Reference) -> Vec<(f64, f64)> {
    let key = |p: &[f64; 2]| ((p[0] * 100.0).round() as i64, (p[1] * 100.0).round() as i64);
    let in_asia = |p: &[f64; 2]| p[0] > 60.0 && p[0] < 150.0 && p[1] > 0.0 && p[1] < 56.0;
    let mut owners = std::collections::HashMap::<(i64, i64), usize>::new();
    let mut shared = std::collections::HashSet::<(i64, i64)>::new();
    for (k, c) in r.countries.iter().enumerate() {
        if c.name == "China" || c.name == "Taiwan" {
            continue;
        }
        for p in c.rings.iter().flatten().filter(|p| in_asia(p)) {
            match owners.get(&key(p)) {
                Some(&o) if o != k => {
                    shared.insert(key(p));
                }
                Some(_) => {}
                None => {
                    owners.insert(key(p), k);
                }
            }
        }
    }
    let china: Vec<(f64, f64)> = densify(r.china.iter(), 0.1);
    let mut out: Vec<(f64, f64)> = shared
        .into_iter()
        .map(|(x, y)| (x as f64 / 100.0, y as f64 / 100.0))
        .filter(|&q| min_dist(q, &china) > 1.0)
        .collect();
    out.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    out
}

fn mask_of(frame: &Frame, rings: &[Ring], w: usize, h: usize) -> Mask {
    let refs: Vec<&Ring> = rings.iter().collect();
    let px = project_rings(frame, &refs);
    let mut m = Mask::new(w, h);
    fill_px(&mut m, &px, 1);
    m
}

/// The dash segments stroked `width` px wide in the frame: where a dash, not a fill, shows.
fn dash_mask(ck: &Checker, f: &Frame, w: usize, h: usize, width: f64) -> Mask {
    let mut m = Mask::new(w, h);
    let dashes: Vec<Vec<(f64, f64)>> = ck
        .reference
        .dashes
        .iter()
        .map(|d| d.iter().map(|q| f.to_px(q[0], q[1])).collect())
        .collect();
    crate::reference::raster::stroke_each(&mut m, &dashes, false, width, 1);
    m
}

/// Dominant colour of a set of pixels (mode of 4-bit bins, then median inside the bin).
fn dominant(p: &Prepared, idx: &[usize]) -> Option<([u8; 3], f64)> {
    if idx.is_empty() {
        return None;
    }
    // The gate's colour bins, and the same shifted by half a bin: a fill on a bin's boundary
    // (176 levels in some channel, say) is split between two bins by JPEG noise of a level
    // or two, and its mode would lose to a lesser colour held in one; it lies mid-bin in the
    // other grid. The grid whose mode holds more pixels wins, the gate's on a tie. In each,
    // index order is the bins' lexicographic order, so the mode's ties go to the greatest bin.
    let half = |c: [u8; 3]| gate::colour_bin(c.map(|v| v.saturating_add(8)));
    // both grids' histograms in one pass
    let mut hist = vec![0u32; 2 * gate::COLOUR_BINS];
    let (gate_hist, half_hist) = hist.split_at_mut(gate::COLOUR_BINS);
    register::for_runs(idx.iter().map(|&i| p.rgb[i]), |c, run| {
        gate_hist[gate::colour_bin(c)] += run;
        half_hist[half(c)] += run;
    });
    let mode = |hist: &[u32]| {
        hist.iter()
            .enumerate()
            .max_by_key(|&(k, &n)| (n, k))
            .map(|(k, &n)| (k, n as usize))
    };
    let (k, n) = mode(gate_hist)?;
    let (kh, nh) = mode(half_hist)?;
    let (bin, k): (&dyn Fn([u8; 3]) -> usize, usize) = if nh > n {
        (&half, kh)
    } else {
        (&gate::colour_bin, k)
    };
    let sel = idx.iter().map(|&i| p.rgb[i]).filter(|&c| bin(c) == k);
    Some((median_colour_of(sel)?, n.max(nh) as f64 / idx.len() as f64))
}

/// Pixels of `mask` (every pixel when `None`) within a lon/lat box, away from image edges by at
/// least `clear` px, and outside `exclude`.
fn pixels_in(
    p: &Prepared,
    frame: &Frame,
    mask: Option<&Mask>,
    lonlat: [f64; 4],
    clear: f32,
    exclude: Option<&Mask>,
) -> Vec<usize> {
    let corners = [
        frame.to_px(lonlat[0], lonlat[1]),
        frame.to_px(lonlat[2], lonlat[1]),
        frame.to_px(lonlat[0], lonlat[3]),
        frame.to_px(lonlat[2], lonlat[3]),
        frame.to_px((lonlat[0] + lonlat[2]) / 2.0, lonlat[3]),
        frame.to_px((lonlat[0] + lonlat[2]) / 2.0, lonlat[1]),
    ];
    let x0 = corners
        .iter()
        .map(|c| c.0)
        .fold(f64::MAX, f64::min)
        .max(0.0) as usize;
    let x1 = (corners
        .iter()
        .map(|c| c.0)
        .fold(f64::MIN, f64::max)
        .ceil()
        .max(0.0) as usize)
        .min(p.w);
    let y0 = corners
        .iter()
        .map(|c| c.1)
        .fold(f64::MAX, f64::min)
        .max(0.0) as usize;
    let y1 = (corners
        .iter()
        .map(|c| c.1)
        .fold(f64::MIN, f64::max)
        .ceil()
        .max(0.0) as usize)
        .min(p.h);
    let mut out = Vec::new();
    for y in y0..y1 {
        // a row the mask does not reach holds none of its pixels
        let m = match mask.map(|m| m.row(y)) {
            Some(None) => continue,
            m => m.flatten(),
        };
        let e = exclude.and_then(|e| e.row(y));
        let dt = &p.dt[y * p.w..(y + 1) * p.w];
        for x in x0..x1 {
            if m.is_none_or(|m| m[x] != 0) && dt[x] >= clear && e.is_none_or(|e| e[x] == 0) {
                out.push(y * p.w + x);
            }
        }
    }
    out
}

/// Pixels covered by a zone's cells, and the share of cells inside the image.
fn zone_mask(r: &Reference, rule: &str, frame: &Frame, w: usize, h: usize) -> (Mask, f64, usize) {
    let mut m = Mask::new(w, h);
    let Some(z) = r.zone(rule) else {
        return (m, 0.0, 0);
    };
    let cell_px = frame.px_per_deg() * crate::reference::ZONE_STEP;
    let rad = (cell_px / 2.0).ceil() as i64;
    let (mut inside, mut total) = (0usize, 0usize);
    // each cell's square, clipped to the image, and the rows they span: the mask holds those
    let mut squares: Vec<[usize; 4]> = Vec::new();
    let (mut by0, mut by1) = (h, 0);
    for (lon, lat) in z.cells() {
        total += 1;
        let (x, y) = frame.to_px(lon, lat);
        if x < 0.0 || y < 0.0 || x >= w as f64 || y >= h as f64 {
            continue;
        }
        inside += 1;
        let (xi, yi) = (x as i64, y as i64);
        // the square from -rad + 1 to rad.max(1) - 1 around the cell, clipped to the image
        let clip = |c: i64, n: usize| {
            (
                (c - rad + 1).max(0) as usize,
                (c + rad.max(1)).clamp(0, n as i64) as usize,
            )
        };
        let ((x0, x1), (y0, y1)) = (clip(xi, w), clip(yi, h));
        if x0 >= x1 || y0 >= y1 {
            continue;
        }
        squares.push([x0, x1, y0, y1]);
        (by0, by1) = (by0.min(y0), by1.max(y1));
    }
    m.cover(by0, by1);
    for [x0, x1, y0, y1] in squares {
        for y in y0..y1 {
            m.fill_row(y, x0, x1 - 1, 1);
        }
    }
    let n = m.count();
    (
        m,
        if total == 0 {
            0.0
        } else {
            inside as f64 / total as f64
        },
        n,
    )
}

/// Refines the translation locally (±3 px) on reference points inside a window.
fn local_frame(ck: &Checker, p: &Prepared, f: &Frame, win: [f64; 4], skip: &[[f64; 4]]) -> Frame {
    // (the world outline's points, projected once when the checker was made, where its
    // template holds this projection)
    let projected = ck.world.points(f.projection);
    let pts: Vec<(f64, f64)> = ck
        .world
        .lonlat
        .iter()
        .enumerate()
        .filter(|(_, (lo, la))| *lo > win[0] && *lo < win[2] && *la > win[1] && *la < win[3])
        .filter(|(_, (lo, la))| {
            !skip
                .iter()
                .any(|b| *lo > b[0] && *lo < b[2] && *la > b[1] && *la < b[3])
        })
        .map(|(i, &(lo, la))| match projected.get(i) {
            Some(q) => q,
            None => f.projection.forward(lo, la),
        })
        .collect();
    if pts.len() < 20 {
        return *f;
    }
    // The shifts tried move a point 3 px at most. A point more than 3.5 px outside the image
    // is outside under every one, and never counted: it is left out. The points more than
    // 3.5 px inside are inside under every one, and come first, so that their runs are read
    // as wholly inside (four at a time); those near the edge, tested one by one, come last.
    // A score's sum and count do not depend on the points' order.
    let (w, h) = (p.w as f64, p.h as f64);
    let within = |q: &(f64, f64), m: f64| {
        let (x, y) = (f.sx * q.0 + f.tx, f.ty - f.sy * q.1);
        x >= m && y >= m && x < w - m && y < h - m
    };
    let (inner, edge): (Vec<_>, Vec<_>) = pts
        .into_iter()
        .filter(|q| within(q, -3.5))
        .partition(|q| within(q, 3.5));
    let pts = Outline::new(inner.into_iter().chain(edge).collect());
    let mut best = (score(p, &pts, f, 3.0, 1).0, *f);
    let mut dy = -3.0;
    while dy <= 3.0 {
        let mut dx = -3.0;
        while dx <= 3.0 {
            let mut g = *f;
            g.tx += dx;
            g.ty += dy;
            let s = score(p, &pts, &g, 3.0, 1).0;
            if s > best.0 + 1e-9 {
                best = (s, g);
            }
            dx += 0.5;
        }
        dy += 0.5;
    }
    best.1
}

/// Share of points (lon/lat) lying on an image edge (within `tol` px); None if too few in frame.
fn support(
    p: &Prepared,
    f: &Frame,
    pts: &[(f64, f64)],
    tol: f32,
    shift: (f64, f64),
) -> Option<f64> {
    let (mut n, mut hit) = (0usize, 0usize);
    for &(lo, la) in pts {
        let (x, y) = f.to_px(lo, la);
        if let Some(d) = p.dt_at(x + shift.0, y + shift.1) {
            n += 1;
            if d <= tol {
                hit += 1;
            }
        }
    }
    if n < 5 {
        None
    } else {
        Some(hit as f64 / n as f64)
    }
}

/// Two fills this far apart (levels in some channel) are told apart, even when a pixel's
/// tolerance around each (24-28 levels, for JPEG noise) reaches the other: a pixel then counts
/// for the nearer one.
const PALE_APART: i32 = 12;
/// A pixel matches a fill within this many levels in every channel.
const FILL_MATCH: i32 = 28;
/// Fills this far apart are each matched on their own, without the `nearer` comparison.
const CLEARLY_APART: i32 = 30;

/// Whether China's and India's fills can be told apart: over `PALE_APART` levels in some
/// channel. Pale fills (a province in a light choropleth beside the white where India is not
/// drawn) lie within the 28 levels a pixel may stray from its fill: each pixel is then read
/// as the nearer of the two (`nearer`).
fn fills_apart(c: [u8; 3], i: [u8; 3]) -> bool {
    cdist(c, i) > PALE_APART
}

/// A pixel matches fill `c` (within `FILL_MATCH`), and, unless the two fills are
/// `CLEARLY_APART`, lies nearer `c` than the `other` fill.
fn nearer(px: [u8; 3], c: [u8; 3], other: [u8; 3]) -> bool {
    let d = cdist(px, c);
    d <= FILL_MATCH && (cdist(c, other) > CLEARLY_APART || d < cdist(px, other))
}

/// Share of the pixels `idx` that match fill `c` rather than `other` (see `nearer`).
fn share_nearer(p: &Prepared, idx: &[usize], c: [u8; 3], other: [u8; 3]) -> f64 {
    if idx.is_empty() {
        return 0.0;
    }
    idx.iter().filter(|&&i| nearer(p.rgb[i], c, other)).count() as f64 / idx.len() as f64
}

/// Share of the pixels `idx` filled like India (`i`) rather than mainland China (`c`). Where
/// India is not drawn (its "fill" is the map's background: a map of China alone), a pixel
/// counts only when it is open background too (see `open_background_of`): a zone left out of
/// China lies outside China's outline, while a pale province inside it is no background.
fn share_india_like(
    p: &Prepared,
    idx: &[usize],
    i: [u8; 3],
    c: [u8; 3],
    sea: Option<[u8; 3]>,
) -> f64 {
    if idx.is_empty() {
        return 0.0;
    }
    idx.iter().filter(|&&k| india_like(p, k, i, c, sea)).count() as f64 / idx.len() as f64
}

/// Pixel `k` is filled like India (see `share_india_like`).
fn india_like(p: &Prepared, k: usize, i: [u8; 3], c: [u8; 3], sea: Option<[u8; 3]>) -> bool {
    nearer(p.rgb[k], i, c) && (india_drawn(p, i, sea) || p.open_background()[k])
}

/// Whether India, read as fill `i`, is drawn as land: its fill differs from the page colour
/// (the commonest on the image border), or from the open sea when the sea shows. A map drawn
/// edge to edge puts the neighbours' land on the border, and the page colour is then their
/// fill: a China view in grey land on a white sea read India as not drawn, and Aksai Chin in
/// India's grey, walled off from the border by boundary strokes, as filled by neither.
fn india_drawn(p: &Prepared, i: [u8; 3], sea: Option<[u8; 3]>) -> bool {
    cdist(i, p.bg) > INDIA_AS_BG || sea.is_some_and(|s| cdist(i, s) > SEA_APART)
}

/// What the land-zone probes (Zangnan, Aksai Chin) read against: where mainland China and
/// India lie in the registered frame, and the open sea's colour (see `open_sea`).
struct Land {
    china: Mask,
    india: Mask,
    sea: Option<[u8; 3]>,
}

/// India's fill this close to the background colour: India is not drawn.
const INDIA_AS_BG: i32 = 12;
/// Land this far from the open sea's colour is drawn as land.
const SEA_APART: i32 = 24;
/// Sea windows (lon/lat boxes of open water) read for the sea's colour, in order: the Bay of
/// Bengal, the South China Sea, the East China Sea, the Arabian Sea.
const SEA_WINDOWS: [[f64; 4]; 4] = [
    [86.0, 14.0, 91.0, 19.0],
    [113.0, 12.0, 118.0, 17.0],
    [122.5, 28.0, 126.0, 32.0],
    [62.0, 12.0, 68.0, 20.0],
];
/// Least pixels, clear of edges, for a sea window to be read, and least share of them in
/// its commonest colour for that colour to be the sea's (an inset, a legend or labels over
/// the window leave less).
const SEA_MIN_PX: usize = 50;
const SEA_SHARE: f64 = 0.6;

/// The open sea's colour: the commonest colour, clear of edges, of the first window of
/// `SEA_WINDOWS` in the frame that shows one colour over most of it; None when none does.
fn open_sea(p: &Prepared, f: &Frame) -> Option<[u8; 3]> {
    SEA_WINDOWS.iter().find_map(|&win| {
        let px = pixels_in(p, f, None, win, 1.5, None);
        if px.len() < SEA_MIN_PX {
            return None;
        }
        dominant(p, &px).filter(|d| d.1 >= SEA_SHARE).map(|d| d.0)
    })
}

/// The fill decision shared by the land zones: a clear majority of the zone's pixels filled like
/// India (`si`) or like mainland China (`sc`) decides the rule; otherwise `None`.
fn fill_finding(rule: &str, name: &str, sc: f64, si: f64, suffix: &str) -> Option<Finding> {
    if si >= 0.35 && si >= 2.0 * sc {
        return Some(finding(
            rule,
            Status::Violation,
            0.6 + 0.4 * (si - sc),
            format!(
                "{name} drawn outside China: {:.0}% of the zone filled like India{suffix}",
                si * 100.0
            ),
        ));
    }
    if sc >= 0.35 && sc >= 2.0 * si {
        return Some(finding(
            rule,
            Status::Ok,
            0.6 + 0.4 * (sc - si),
            format!(
                "{name} inside China: {:.0}% of the zone filled like mainland China{suffix}",
                sc * 100.0
            ),
        ));
    }
    None
}

fn finding(rule: &str, status: Status, confidence: f64, message: String) -> Finding {
    Finding {
        rule: rule.to_string(),
        status,
        confidence: (confidence.clamp(0.0, 1.0) * 100.0).round() / 100.0,
        message,
    }
}

/// Runs every probe and assembles the report.
pub fn probe_all(ck: &Checker, p: &Prepared, reg: Option<&Registered>) -> CheckReport {
    let Some(reg) = reg else {
        return CheckReport::not_a_map();
    };
    let f = reg.frame;
    let r = ck.reference;
    let ppd = f.px_per_deg();
    let _ = ppd;
    // 170 degrees either side of the map's middle: a world map spans most of the image
    let lon0 = f.projection.world_middle();
    let (wx0, _) = f.to_px(lon0 - 170.0, 0.0);
    let (wx1, _) = f.to_px(lon0 + 170.0, 0.0);
    let region =
        if wx0 >= -0.1 * p.w as f64 && wx1 <= 1.1 * p.w as f64 && (wx1 - wx0) > 0.5 * p.w as f64 {
            "world"
        } else if reg.on == FittedOn::China {
            "china"
        } else if reg.on == FittedOn::Asia {
            "asia"
        } else if reg.on == FittedOn::India {
            "india"
        } else {
            let (a, _) = f.to_px(75.0, 35.0);
            let (b, _) = f.to_px(134.0, 35.0);
            if a >= -5.0 && b <= p.w as f64 + 5.0 {
                "china"
            } else {
                "asia"
            }
        };
    let mut findings = Vec::new();
    let mut map = MapInfo {
        region: Some(region.to_string()),
        projection: Some(f.projection.name()),
        fit: (reg.fit * 1000.0).round() / 1000.0,
        frame: Some(f),
        px_per_deg: ppd,
        inset: None,
    };
    let too_small = region == "world" && ppd < 1.5;
    let land = Land {
        china: mask_of(&f, &ck.probes.china_main, p.w, p.h),
        india: mask_of(&f, &ck.probes.india, p.w, p.h),
        sea: open_sea(p, &f),
    };
    let mut scene: Option<IslandScene> = None;

    for rule in super::RULES {
        let (zm, inside, npx) = zone_mask(r, rule, &f, p.w, p.h);
        let min_px = if rule == "south_china_sea" { 30 } else { 4 };
        // The rule asks a map of the *whole* of China for the islands, wherever the frame
        // stops: a view that cuts off much of the mainland is judged by the zone alone.
        let scs_on_china = rule == "south_china_sea" && region == "china" && {
            let whole = china_shown(&f, &ck.probes.china_main, &land.china);
            tracing::debug!(whole, "share of mainland China in the image");
            whole >= CHINA_WHOLE
        };
        if !scs_on_china && (inside < 0.7 || npx < min_px) {
            findings.push(finding(
                rule,
                Status::NotShown,
                0.8,
                format!("{rule}: zone outside the frame or too small at this scale"),
            ));
            continue;
        }
        if too_small {
            findings.push(finding(
                rule,
                Status::Uncertain,
                0.3,
                format!("{rule}: world map at {ppd:.1} px per degree, too small to judge"),
            ));
            continue;
        }
        let fd = match rule {
            "zangnan" | "aksai_chin" if region == "india" => probe_india_zone(p, rule, &zm),
            "zangnan" => probe_zangnan(ck, p, &f, &zm, &land),
            "aksai_chin" => probe_aksai(ck, p, &f, &zm, &land, region),
            "taiwan" | "hainan" | "diaoyu" => {
                let scene = scene.get_or_insert_with(|| IslandScene::read(ck, p, &f, &land.china));
                probe_island(ck, p, scene, rule, region, &land.china)
            }
            _ => probe_scs(ck, p, &f, region, &mut map.inset),
        };
        findings.push(fd);
    }
    let any = |s: Status| findings.iter().any(|x| x.status == s);
    let verdict = if any(Status::Violation) {
        Verdict::Violation
    } else if any(Status::Uncertain) {
        Verdict::Uncertain
    } else if any(Status::Ok) {
        Verdict::Compliant
    } else {
        Verdict::NotApplicable
    };
    CheckReport {
        verdict,
        map,
        findings,
        overlay_png: None,
    }
}

/// Share of mainland China's projected area inside the image at or above which a map shows
/// the whole of China: a tight crop may shave a tip (Heilongjiang's north, the Pamirs); a
/// regional view east of 90E or south of 45N leaves out a third or more.
const CHINA_WHOLE: f64 = 0.85;

/// Share of mainland China's projected area (`ring_area` over its rings, in px) that the image
/// holds, `mask` being those rings filled in the image.
fn china_shown(f: &Frame, rings: &[Ring], mask: &Mask) -> f64 {
    let total: f64 = rings
        .iter()
        .map(|r| {
            let px: Ring = r
                .iter()
                .map(|q| {
                    let (x, y) = f.to_px(q[0], q[1]);
                    [x, y]
                })
                .collect();
            crate::reference::ring_area(&px).abs()
        })
        .sum();
    if total <= 0.0 {
        return 0.0;
    }
    (mask.count() as f64 / total).min(1.0)
}

/// Largest colour step (levels in some channel) from the background of a pixel that still
/// counts as open background (see `open_background_of`): clean and lossy images.
const OPEN_TOL: i32 = 12;
const OPEN_TOL_LOSSY: i32 = 16;
/// Least distance (px) from an image edge of a zone pixel read on a map of India drawn alone:
/// strokes and their antialiasing are neither inside nor outside.
const INDIA_ZONE_CLEAR: f32 = 2.0;
/// Shares of such zone pixels in open background at or below which the zone lies inside
/// India's outline, and at or above which it lies outside. The Aksai Chin zone (China in
/// 78-80.5E 34-36N) reaches past India's claim line in its north-east: amCharts' map of India
/// leaves 31-35% of it outside; Zangnan lies wholly inside.
const INDIA_ZONE_INSIDE: f64 = 0.5;
const INDIA_ZONE_OUTSIDE: f64 = 0.8;

/// The background reachable from the image's sides without crossing a drawn line or a fill:
/// everything a map of India drawn alone leaves outside the country. A zone India's outline
/// encloses is not reached, whether its inside is filled or left blank.
/// (Read it through `Prepared::open_background`, which keeps it.)
pub(super) fn open_background_of(p: &Prepared) -> Vec<bool> {
    let tol = if p.pale {
        super::register::PALE_STEP
    } else if p.lossy {
        OPEN_TOL_LOSSY
    } else {
        OPEN_TOL
    };
    let (w, h) = (p.w, p.h);
    let bgish = |i: usize| cdist(p.rgb[i], p.bg) <= tol;
    let mut open = vec![false; w * h];
    let mut stack: Vec<usize> = Vec::new();
    for x in 0..w {
        stack.push(x);
        stack.push((h - 1) * w + x);
    }
    for y in 0..h {
        stack.push(y * w);
        stack.push(y * w + w - 1);
    }
    while let Some(i) = stack.pop() {
        if open[i] || !bgish(i) {
            continue;
        }
        open[i] = true;
        let (x, y) = (i % w, i / w);
        if x > 0 {
            stack.push(i - 1);
        }
        if x + 1 < w {
            stack.push(i + 1);
        }
        if y > 0 {
            stack.push(i - w);
        }
        if y + 1 < h {
            stack.push(i + w);
        }
    }
    open
}

/// The pixels of a mask at least `INDIA_ZONE_CLEAR` from an image edge (strokes and their
/// antialiasing are neither inside nor outside), and the share of them in open background.
fn open_share(p: &Prepared, pick: impl Fn(usize) -> bool) -> (usize, f64) {
    let open = p.open_background();
    let (mut n, mut out) = (0usize, 0usize);
    for i in (0..p.w * p.h).filter(|&i| pick(i) && p.dt[i] >= INDIA_ZONE_CLEAR) {
        n += 1;
        out += usize::from(open[i]);
    }
    (n, if n == 0 { 0.0 } else { out as f64 / n as f64 })
}

/// Share of China's pixels (in China's view, its disputed zones with India left out) in the
/// frame that lie in open background (see `open_background_of`); None when too few are in the
/// image. A map of India drawn alone leaves Tibet blank.
pub(super) fn china_left_open(ck: &Checker, p: &Prepared, f: &Frame) -> Option<f64> {
    let china = mask_of(f, &ck.probes.china_main, p.w, p.h);
    let zones: Vec<Mask> = ["zangnan", "aksai_chin"]
        .iter()
        .map(|z| zone_mask(ck.reference, z, f, p.w, p.h).0)
        .collect();
    let (n, share) = open_share(p, |i| {
        china.at(i) != 0 && zones.iter().all(|z| z.at(i) == 0)
    });
    (n >= 50).then_some(share)
}

/// A disputed zone on a map of India drawn alone: inside India's outline (filled, or blank and
/// enclosed, as India's own maps draw it) breaks the rule; left in the open background outside
/// India, as China's view draws India, keeps it.
fn probe_india_zone(p: &Prepared, rule: &str, zm: &Mask) -> Finding {
    let name = if rule == "zangnan" {
        "Zangnan"
    } else {
        "Aksai Chin"
    };
    let (n, out) = open_share(p, |i| zm.at(i) != 0);
    if n < 4 {
        return finding(
            rule,
            Status::Uncertain,
            0.3,
            format!("{name}: map of India drawn alone, the zone too small to read at this scale"),
        );
    }
    let pct = (out * 100.0).round();
    if out <= INDIA_ZONE_INSIDE {
        finding(
            rule,
            Status::Violation,
            (0.7 + (INDIA_ZONE_INSIDE - out) / 2.0).min(0.95),
            format!(
                "{name} drawn as India: on a map of India drawn alone, {:.0}% of the zone lies inside India's outline",
                100.0 - pct
            ),
        )
    } else if out >= INDIA_ZONE_OUTSIDE {
        finding(
            rule,
            Status::Ok,
            (0.7 + (out - INDIA_ZONE_OUTSIDE)).min(0.95),
            format!(
                "{name} left outside India: on a map of India drawn alone, {pct:.0}% of the zone is open background"
            ),
        )
    } else {
        finding(
            rule,
            Status::Uncertain,
            0.4,
            format!(
                "{name}: on a map of India drawn alone, {pct:.0}% of the zone is open background, part inside India's outline"
            ),
        )
    }
}

/// Least share of a zone's pixels (off any edge) in the background's colour for the zone to be
/// left out of China (see `zangnan_left_blank`).
const BLANK_SHARE: f64 = 0.6;
/// Least number of such pixels read.
const BLANK_MIN_PX: usize = 12;

/// Zangnan left blank: China's data without the zone, drawn over nothing (Highcharts' `cn-all`,
/// amCharts' `chinaLow`), leaves a hole in the shape of the zone (its pixels off any edge:
/// `zpix`), in the background's colour, while China around it is filled (`c`, apart from the
/// background) and the McMahon line, which China's outline then follows, is drawn (`support`,
/// at least `LINE_DRAWN`). None when the zone is not such a hole.
fn zangnan_left_blank(
    p: &Prepared,
    f: &Frame,
    zpix: &[usize],
    c: [u8; 3],
    support: Option<f64>,
    bmsg: &str,
) -> Option<Finding> {
    let tol = if p.lossy { OPEN_TOL_LOSSY } else { OPEN_TOL };
    if zpix.len() < BLANK_MIN_PX || support.is_none_or(|m| m < LINE_DRAWN) {
        return None;
    }
    // Blank is the page's colour, or the sea's where an ocean fill lies under the land: the
    // open water of the Bay of Bengal, or of the South China Sea when the map stops short of
    // the Bay, holding one colour over most of its pixels.
    let sea_in = |win: [f64; 4]| {
        dominant(p, &pixels_in(p, f, None, win, 0.0, None)).filter(|&(_, share)| share >= 0.5)
    };
    let sea = sea_in([86.5, 17.5, 91.0, 20.5]).or_else(|| sea_in([113.0, 12.0, 118.0, 17.0]));
    let blanks: Vec<[u8; 3]> = std::iter::once(p.bg)
        .chain(sea.map(|s| s.0))
        .filter(|&b| cdist(c, b) > FILL_MATCH)
        .collect();
    if blanks.is_empty() {
        return None;
    }
    let blank = zpix
        .iter()
        .filter(|&&k| blanks.iter().any(|&b| cdist(p.rgb[k], b) <= tol))
        .count() as f64
        / zpix.len() as f64;
    tracing::debug!(blank, n = zpix.len(), ?blanks, zone = ?dominant(p, zpix), "zangnan left blank");
    (blank >= BLANK_SHARE).then(|| {
        finding(
            "zangnan",
            Status::Violation,
            (0.5 + blank / 2.0).min(0.9),
            format!(
                "Zangnan left out of China: {:.0}% of the zone is blank (the page's or the sea's colour), China's boundary drawn along the McMahon line; {bmsg}",
                blank * 100.0
            ),
        )
    })
}

/// Share of China's land beside Aksai Chin in India's fill from which the zone's fill tells
/// nothing (see `probe_aksai`).
const INDIA_FILL_IN_CHINA: f64 = 0.3;

/// Least support for a boundary line to count as drawn (see `probe_zangnan`).
const LINE_DRAWN: f64 = 0.8;
/// Least share of the boundaries around a zone within a pixel of an image edge, in the locally
/// refined frame, for lines a few pixels apart to be told apart (see `probe_aksai`).
const LOCAL_FIT_FINE: f64 = 0.95;
/// The same where the lines lie a degree or more apart (`WIDE_APART_PPD`): a frame a couple
/// of pixels off, as a source's own generalised outline leaves it, still tells them apart (a
/// South Asia map in a conic of its own fitted 0.91 around the zone).
const LOCAL_FIT_WIDE: f64 = 0.85;
/// Least support along India's claim line east of Aksai Chin for a missing line of actual
/// control to count as Aksai Chin drawn as India (on the maps that draw it so, 0.45 or more).
const CLAIM_LINE_SEEN: f64 = 0.3;

/// Separation (px) between India's claim line east of Aksai Chin and China's line at or above
/// which a clean image draws the two apart (a stroke and its antialiasing span about two).
const CLAIM_SEP_CLEAR: f64 = 8.0;

/// Which of two nearby lines a clean image's ink centres on, row by row: for each point of
/// the `east` line, the `west` line's point in the same row (nearest in x) gives the pair
/// (pixels); the centroid of the colour gradient along the row between them (a pixel and a
/// half beyond each) votes for the nearer line. Returns the share of votes for the east line
/// and the median separation of the pairs (px; infinite when no pair was read).
fn ink_side(p: &Prepared, east_px: &[(f64, f64)], west_px: &[(f64, f64)]) -> (f64, f64) {
    let (mut votes, mut n) = (0usize, 0usize);
    let mut seps = Vec::new();
    for &(xe, ye) in east_px {
        // the west line where it crosses this row: its point in the row nearest in x
        let Some(xl) = west_px
            .iter()
            .filter(|q| (q.1 - ye).abs() <= 0.5)
            .map(|q| q.0)
            .min_by(|a, b| (a - xe).abs().total_cmp(&(b - xe).abs()))
        else {
            continue;
        };
        let sep = (xe - xl).abs();
        seps.push(sep);
        if sep < 0.75 {
            continue;
        }
        let (a, b) = (xe.min(xl) - 1.5, xe.max(xl) + 1.5);
        let y = ye.floor() as i64;
        let (mut sw, mut sx) = (0.0, 0.0);
        for x in (a.floor() as i64)..=(b.floor() as i64) {
            let cx = x as f64 + 0.5;
            if cx < a || cx > b {
                continue;
            }
            if let (Some(l), Some(r)) = (p.px(x - 1, y), p.px(x + 1, y)) {
                let g = cdist(l, r) as f64;
                sw += g;
                sx += g * cx;
            }
        }
        // a row with no line between the two says nothing
        if sw < INK_ROW_MIN {
            continue;
        }
        n += 1;
        let c = sx / sw;
        if (c - xe).abs() < (c - xl).abs() {
            votes += 1;
        }
    }
    seps.sort_by(f64::total_cmp);
    let sep = seps.get(seps.len() / 2).copied().unwrap_or(f64::INFINITY);
    (if n == 0 { 0.0 } else { votes as f64 / n as f64 }, sep)
}

/// Least summed colour step (levels) along a row between two lines for it to hold a line.
const INK_ROW_MIN: f64 = 24.0;

fn probe_zangnan(ck: &Checker, p: &Prepared, f0: &Frame, zm: &Mask, land: &Land) -> Finding {
    let (china_m, india_m, sea) = (&land.china, &land.india, land.sea);
    let f = local_frame(
        ck,
        p,
        f0,
        [84.0, 20.0, 102.0, 33.0],
        &[[90.0, 26.0, 98.5, 30.0]],
    );
    // The zone's pixels off any edge decide first. A strip only a few pixels tall (a world map)
    // has almost none, so when they decide nothing every pixel of the zone is read, counting
    // only the pixels that match one of the two fills (the boundary strokes and their blends
    // in it match neither).
    let zpix = pixels_in(p, &f, Some(zm), [90.0, 26.0, 98.5, 30.0], 1.0, None);
    let cpx = pixels_in(
        p,
        &f,
        Some(china_m),
        [84.0, 28.5, 99.0, 33.5],
        1.5,
        Some(zm),
    );
    // India has one fill: read it over the whole country, not only the thin north-eastern
    // strip beside the zone, where at world scale the boundary strokes (and in a JPEG their
    // ringing) outnumber the fill's clear pixels
    let ipx = pixels_in(p, &f, Some(india_m), [68.0, 8.0, 97.0, 27.5], 1.5, Some(zm));
    let (cd, id) = (dominant(p, &cpx), dominant(p, &ipx));
    tracing::debug!(z = zpix.len(), c = ?cd, i = ?id, "zangnan fill references");
    let fill = match (cd, id) {
        (Some((c, _)), Some((i, _))) if fills_apart(c, i) => {
            let interior = (zpix.len() >= 3)
                .then(|| {
                    (
                        share_nearer(p, &zpix, c, i),
                        share_india_like(p, &zpix, i, c, sea),
                        "",
                    )
                })
                .filter(|&(sc, si, _)| fill_finding("zangnan", "", sc, si, "").is_some());
            interior.or_else(|| {
                let all = pixels_in(p, &f, Some(zm), [90.0, 26.0, 98.5, 30.0], 0.0, None);
                let nc = all.iter().filter(|&&k| nearer(p.rgb[k], c, i)).count();
                let ni = all.iter().filter(|&&k| india_like(p, k, i, c, sea)).count();
                let n = nc + ni;
                tracing::debug!(all = all.len(), nc, ni, "zangnan fill, every zone pixel");
                (n >= 3 && n as f64 >= 0.3 * all.len() as f64).then(|| {
                    (
                        nc as f64 / n as f64,
                        ni as f64 / n as f64,
                        " (of its pixels matching either fill; the strip is thin here)",
                    )
                })
            })
        }
        _ => None,
    };
    let m = support(p, &f, &ck.probes.mcmahon, 1.0, (0.0, 0.0));
    let cl = support(p, &f, &ck.probes.claim, 1.0, (0.0, 0.0));
    let bmsg = match (m, cl) {
        (Some(m), Some(c)) => format!(
            "boundary support: McMahon line {:.0}%, claim line {:.0}%",
            m * 100.0,
            c * 100.0
        ),
        _ => "boundary support not measurable".into(),
    };
    if let Some((sc, si, how)) = fill
        && let Some(f) = fill_finding("zangnan", "Zangnan", sc, si, &format!("{how}; {bmsg}"))
    {
        return f;
    }
    if let Some((c, _)) = cd
        && let Some(f) = zangnan_left_blank(p, &f, &zpix, c, m, &bmsg)
    {
        return f;
    }
    let ctl = (f.px_per_deg() >= WIDE_APART_PPD)
        .then(|| support(p, &f, &ck.probes.nepal, 1.0, (0.0, 0.0)))
        .flatten();
    tracing::debug!(?m, ?cl, ?ctl, "zangnan lines");
    let wide_drawn = |l: f64| l >= 0.5 && ctl.is_some_and(|k| l >= 0.75 * k);
    // A line drawn where the registered frame puts it is met along nearly all its length
    // (every line decision on the dev maps had 80% or more); a line met at half its points is a
    // neighbouring line or a frame a pixel or two off, which at world scale is the whole gap
    // between the two lines.
    match (m, cl) {
        (Some(m), Some(c)) if m >= LINE_DRAWN && m - c >= 0.2 => finding(
            "zangnan",
            Status::Violation,
            0.5 + (m - c) / 2.0,
            format!("Zangnan drawn outside China: boundary follows the McMahon line; {bmsg}"),
        ),
        (Some(m), Some(c)) if c >= LINE_DRAWN && c - m >= 0.2 => finding(
            "zangnan",
            Status::Ok,
            0.5 + (c - m) / 2.0,
            format!("Zangnan inside China: boundary follows China's line; {bmsg}"),
        ),
        // At South Asia scale the two lines lie a degree or more apart, many pixels: a frame a
        // pixel or two off cannot move one's support onto the other. A line met at half its
        // points or more (a coarser source's boundary, or a projection registered a little
        // off, bends away from ours here and there) while the other line is not met at all
        // is the boundary, provided the China-Nepal boundary is met no better.
        (Some(m), Some(c)) if wide_drawn(m) && c <= 0.1 => finding(
            "zangnan",
            Status::Violation,
            (0.5 + (m - c) / 2.0).min(0.75),
            format!(
                "Zangnan drawn outside China: boundary follows the McMahon line, none along China's line; {bmsg}"
            ),
        ),
        (Some(m), Some(c)) if wide_drawn(c) && m <= 0.1 => finding(
            "zangnan",
            Status::Ok,
            (0.5 + (c - m) / 2.0).min(0.75),
            format!(
                "Zangnan inside China: boundary follows China's line, none along the McMahon line; {bmsg}"
            ),
        ),
        // Both lines drawn, where they lie well apart: the zone is a region of its own, bounded
        // along the McMahon line as well as along China's line (a hole in China's outline, or
        // a disputed area), so China's boundary does not enclose it. Neither view draws a
        // boundary along both; the China-Nepal boundary drawn as clearly says lines are drawn
        // where the frame puts them here.
        (Some(m), Some(c))
            if m >= LINE_DRAWN && c >= LINE_DRAWN && ctl.is_some_and(|k| k >= LINE_DRAWN) =>
        {
            finding(
                "zangnan",
                Status::Violation,
                0.6,
                format!(
                    "Zangnan drawn apart from China: boundaries along both the McMahon line and China's line; {bmsg}"
                ),
            )
        }
        _ => finding(
            "zangnan",
            Status::Uncertain,
            0.3,
            format!("Zangnan: no clear fill or boundary evidence; {bmsg}"),
        ),
    }
}

/// Scale (px per degree) from which the McMahon line and China's line in Zangnan lie far enough
/// apart (a degree or more: 8 px and up) that partial support on one cannot come from the other.
const WIDE_APART_PPD: f64 = 8.0;

fn probe_aksai(
    ck: &Checker,
    p: &Prepared,
    f0: &Frame,
    zm: &Mask,
    land: &Land,
    region: &str,
) -> Finding {
    let (china_m, india_m, sea) = (&land.china, &land.india, land.sea);
    let f = local_frame(
        ck,
        p,
        f0,
        [70.0, 28.0, 90.0, 40.0],
        &[[77.0, 32.0, 81.0, 37.0]],
    );
    let zpix = pixels_in(p, &f, Some(zm), [78.3, 34.2, 80.3, 35.8], 1.0, None);
    let cpx = pixels_in(
        p,
        &f,
        Some(china_m),
        [81.0, 31.0, 90.0, 37.0],
        1.5,
        Some(zm),
    );
    let ipx = pixels_in(
        p,
        &f,
        Some(india_m),
        [74.0, 28.5, 78.5, 33.5],
        1.5,
        Some(zm),
    );
    // China's land right beside the zone (Xinjiang and Tibet north and east of it): on a
    // choropleth of provinces one of them may take a class colour that India's fill shares, and
    // a zone in that colour is then no more India's than China's.
    let beside = pixels_in(
        p,
        &f,
        Some(china_m),
        [80.5, 34.0, 84.0, 38.0],
        1.5,
        Some(zm),
    );
    if let (Some((c, _)), Some((i, _))) = (dominant(p, &cpx), dominant(p, &ipx))
        && fills_apart(c, i)
        && zpix.len() >= 3
        && share_india_like(p, &beside, i, c, sea) < INDIA_FILL_IN_CHINA
    {
        let sc = share_nearer(p, &zpix, c, i);
        let si = share_india_like(p, &zpix, i, c, sea);
        if let Some(f) = fill_finding("aksai_chin", "Aksai Chin", sc, si, "") {
            return f;
        }
    }
    // Boundary evidence: China's boundary west of Aksai Chin (the line of actual control) is
    // drawn on every map that leaves Aksai Chin in China; a map drawing it as India has no
    // boundary there. Compared with China's boundary with Nepal as a control.
    let lac = support(p, &f, &ck.probes.aksai_west, 1.0, (0.0, 0.0));
    let ctl = support(p, &f, &ck.probes.nepal, 1.0, (0.0, 0.0));
    // Control on the other side: points just inside the zone's eastern edge, where India's
    // claim line runs. At small scales (under 4 px per degree, the zone is a few pixels wide)
    // both lines fall within a pixel or two of each other, or lines crowd the whole area;
    // support on both sides then says nothing. At larger scales a line there is real (on a
    // China map, a provincial boundary) and the line-of-control evidence stands.
    // Where that line runs differs between sources by a few tenths of a degree (80.3E on the
    // maps we have seen; 80.5E on our zone's edge), a few pixels at South Asia scale: the
    // best-supported of the parallels from 80.2E to 80.55E stands for it. At world scale
    // (under 8 px per degree) that range is a pixel or so and would reach China's own stroke
    // (our 960 px China-view renders then read lines on both sides): 80.3E alone there.
    let lons: &[f64] = if f.px_per_deg() >= 8.0 {
        &[80.2, 80.25, 80.3, 80.35, 80.4, 80.45, 80.5, 80.55]
    } else {
        &[80.3]
    };
    let (east, east_sup) = lons
        .iter()
        .map(|&lon| {
            let e: Vec<(f64, f64)> = (0..22).map(|j| (lon, 34.4 + 0.05 * j as f64)).collect();
            let sup = support(p, &f, &e, 1.0, (0.0, 0.0));
            (e, sup)
        })
        .max_by(|a, b| a.1.unwrap_or(-1.0).total_cmp(&b.1.unwrap_or(-1.0)))
        .expect("at least one parallel");
    // On a map of countries (no provinces: a world or South Asia map) a line along India's
    // claim east of the zone is a boundary cutting Aksai Chin off from China, whatever is also
    // drawn west of it. The control: the same line moved 2 and 3 degrees further inside China,
    // where such a map draws nothing (text and clutter put lines there too). At world scale the
    // claim line lies 2-4 px from China's line, so it is read only when the locally refined
    // frame puts the boundaries around the zone within a pixel of an image edge nearly
    // everywhere: every dev map fits 97% or more, while our renders whose frame was a pixel
    // off (90% or so) met China's own stroke on the claim line.
    let local_fit = support(p, &f, &ck.probes.aksai_surround, 1.0, (0.0, 0.0));
    let fine_enough = if f.px_per_deg() >= WIDE_APART_PPD {
        LOCAL_FIT_WIDE
    } else {
        LOCAL_FIT_FINE
    };
    if region != "china"
        && local_fit.is_some_and(|l| l >= fine_enough)
        && let Some(e) = east_sup
    {
        let inner = [2.0, 3.0]
            .iter()
            .filter_map(|dl| {
                let pts: Vec<(f64, f64)> = east.iter().map(|&(lo, la)| (lo + dl, la)).collect();
                support(p, &f, &pts, 1.0, (0.0, 0.0))
            })
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
        // In a noisy image (JPEG) ringing widens every line, and lines a few pixels apart
        // merge: there the zone itself must show between the claim line and China's line,
        // clear of both, or a hit on one says nothing (our JPEG renders of China's view read
        // 86-100% on the claim line). A clean image draws each line where it is.
        let lac_px: Vec<(f64, f64)> = ck
            .probes
            .aksai_west
            .iter()
            .map(|&(lo, la)| f.to_px(lo, la))
            .collect();
        let mids: Vec<f32> = east
            .iter()
            .filter_map(|&(lo, la)| {
                let q = f.to_px(lo, la);
                let l = lac_px.iter().min_by(|a, b| {
                    let da = (a.0 - q.0).powi(2) + (a.1 - q.1).powi(2);
                    let db = (b.0 - q.0).powi(2) + (b.1 - q.1).powi(2);
                    da.total_cmp(&db)
                })?;
                p.dt_at((l.0 + q.0) / 2.0, (l.1 + q.1) / 2.0)
            })
            .collect();
        let merged = if mids.is_empty() {
            1.0
        } else {
            mids.iter().filter(|&&d| d <= 1.0).count() as f64 / mids.len() as f64
        };
        // Where the lines lie within a few pixels of each other, a clean image's line is
        // read by which of the two its ink centres on: a downscaled China-view world map
        // blurs China's own stroke onto India's claim line, a pixel or two away.
        let east_px: Vec<(f64, f64)> = east.iter().map(|&(lo, la)| f.to_px(lo, la)).collect();
        let (east_side, sep) = ink_side(p, &east_px, &lac_px);
        tracing::debug!(
            e,
            ?inner,
            ?lac,
            merged,
            east_side,
            sep,
            clean = p.clean,
            "aksai chin: India's claim line"
        );
        if let Some(c) = inner
            && e >= LINE_DRAWN
            && c <= 0.3
            && ((p.clean && !p.lossy && (sep >= CLAIM_SEP_CLEAR || east_side >= 0.5))
                || merged <= 0.3)
        {
            return finding(
                "aksai_chin",
                Status::Violation,
                (0.5 + (e - c) / 2.0).min(0.9),
                format!(
                    "Aksai Chin drawn outside China: a boundary runs along India's claim line east of the zone ({:.0}% of it drawn, {:.0}% on parallel lines inside China)",
                    e * 100.0,
                    c * 100.0
                ),
            );
        }
    }
    if let (Some(l), Some(e)) = (lac, east_sup)
        && f.px_per_deg() < 4.0
        && l >= 0.5
        && e >= 0.5
    {
        return finding(
            "aksai_chin",
            Status::Uncertain,
            0.3,
            format!(
                "Aksai Chin: lines drawn both along China's line ({:.0}%) and along India's claim east of the zone ({:.0}%); cannot tell which is the boundary at this scale",
                l * 100.0,
                e * 100.0
            ),
        );
    }
    tracing::debug!(
        ?lac,
        ?ctl,
        ?east_sup,
        ?local_fit,
        "aksai chin: boundary evidence"
    );
    // A map that leaves China's line out draws the boundary along India's claim instead; with
    // neither line there (a coarse or shifted boundary at small scale), the missing line
    // alone proves nothing.
    let claim_drawn = east_sup.is_none_or(|e| e >= CLAIM_LINE_SEEN);
    match (lac, ctl) {
        (Some(l), Some(c)) if c >= 0.6 && l <= 0.35 && !claim_drawn => finding(
            "aksai_chin",
            Status::Uncertain,
            0.3,
            format!(
                "Aksai Chin: no boundary along China's line ({:.0}% support, {:.0}% on the Nepal boundary) nor along India's claim east of the zone ({:.0}%); cannot tell",
                l * 100.0,
                c * 100.0,
                east_sup.unwrap_or(0.0) * 100.0
            ),
        ),
        (Some(l), Some(c)) if c >= 0.6 && l <= 0.35 => finding(
            "aksai_chin",
            Status::Violation,
            0.5 + (c - l) / 2.0,
            format!(
                "Aksai Chin drawn outside China: no boundary along the line of actual control ({:.0}% support, {:.0}% on the Nepal boundary)",
                l * 100.0,
                c * 100.0
            ),
        ),
        (Some(l), Some(c)) if l >= 0.5 => finding(
            "aksai_chin",
            Status::Ok,
            0.5 + l / 2.0,
            format!(
                "Aksai Chin inside China: boundary along China's line ({:.0}% support, {:.0}% on the Nepal boundary)",
                l * 100.0,
                c * 100.0
            ),
        ),
        _ => finding(
            "aksai_chin",
            Status::Uncertain,
            0.3,
            "Aksai Chin: no clear fill or boundary evidence".into(),
        ),
    }
}

/// Levels (in some channel) by which a flat colour in a lossless image stands apart from the
/// sea and the page as a fill of its own.
const FLAT_APART: i32 = 4;

/// In a lossless image, the one exact colour shared by at least `OWN_FILL_SHARE` of the pixels
/// `idx` (and by at least 4 of them): a flat fill, where blends would vary pixel by pixel.
fn own_fill(p: &Prepared, idx: &[usize]) -> Option<[u8; 3]> {
    if !p.clean || p.lossy {
        return None;
    }
    let mut hist = std::collections::HashMap::<[u8; 3], usize>::new();
    for &i in idx {
        *hist.entry(p.rgb[i]).or_default() += 1;
    }
    let (c, n) = hist.into_iter().max_by_key(|&(c, n)| (n, c))?;
    (n >= 4 && n as f64 >= OWN_FILL_SHARE * idx.len() as f64).then_some(c)
}

/// Where colour `c` falls on the line from `a` to `b` (0 at `a`, 1 at `b`, unclamped; 0 when
/// the two are one colour).
fn along(c: [u8; 3], a: [u8; 3], b: [u8; 3]) -> f64 {
    let d = |i: usize| b[i] as f64 - a[i] as f64;
    let l2: f64 = (0..3).map(|i| d(i) * d(i)).sum();
    if l2 == 0.0 {
        return 0.0;
    }
    (0..3)
        .map(|i| (c[i] as f64 - a[i] as f64) * d(i))
        .sum::<f64>()
        / l2
}

/// Distance (levels in the farthest channel) from colour `c` to the point at `t` on the line
/// from `a` to `b`.
fn off_line(c: [u8; 3], a: [u8; 3], b: [u8; 3], t: f64) -> f64 {
    (0..3)
        .map(|i| (c[i] as f64 - a[i] as f64 - t * (b[i] as f64 - a[i] as f64)).abs())
        .fold(0.0, f64::max)
}

fn seg_dist(c: [u8; 3], a: [u8; 3], b: [u8; 3]) -> f64 {
    off_line(c, a, b, along(c, a, b).clamp(0.0, 1.0))
}

/// Distance (levels in the farthest channel) from colour `c` to the nearest blend of `a`, `b`
/// and `d` in any proportions, sampled in steps of a twentieth.
fn tri_dist(c: [u8; 3], a: [u8; 3], b: [u8; 3], d: [u8; 3]) -> f64 {
    let mut best = f64::MAX;
    for i in 0..=20 {
        for j in 0..=(20 - i) {
            let (wa, wb) = (i as f64 / 20.0, j as f64 / 20.0);
            let wd = 1.0 - wa - wb;
            let dist = (0..3)
                .map(|k| {
                    let m = wa * a[k] as f64 + wb * b[k] as f64 + wd * d[k] as f64;
                    (c[k] as f64 - m).abs()
                })
                .fold(0.0, f64::max);
            best = best.min(dist);
        }
    }
    best
}

/// How far (levels) a pixel may lie from every blend of three colours and still count as one.
const BLEND3_TOL: f64 = 24.0;

/// A thin island's pixels needed before its most solid pixel says anything about its fill.
const SOLID_MIN_PIXELS: usize = 8;
/// Below this share of the mainland's colour in its most solid pixel, a thin island is not
/// filled like the mainland. On the library-rendered maps we labelled, islands filled like the
/// mainland reached 0.78 or more; islands in a paler class of their own 0.29 to 0.50.
const SOLID_SHARE: f64 = 0.6;

/// How much of colour `c` is `a` when `c` is read as a blend of `a` with `b` (0 to 1; the
/// projection of `c` on the segment from `b` to `a`).
fn blend_share(c: [u8; 3], a: [u8; 3], b: [u8; 3]) -> f64 {
    along(c, b, a).clamp(0.0, 1.0)
}

/// Farthest past the mainland's colour (as a share of its distance from the sea) that a
/// resampled image's pixel may overshoot it: Lanczos and bicubic filters darken a small dark
/// shape's core by up to about a tenth beyond its fill.
const OVERSHOOT: f64 = 0.15;

/// Whether pixel `c` shows the mainland's fill `cc` itself: within `MAINLAND_PX` of it, or
/// that fill overshot away from the sea by a downscaling filter's negative lobes (on the line
/// from the sea through `cc`, at most `OVERSHOOT` beyond it). A darker class of a palette lies
/// off that line by far more than `MAINLAND_PX`, or farther along it.
fn mainland_px(c: [u8; 3], cc: [u8; 3], sea: [u8; 3]) -> bool {
    if cdist(c, cc) <= MAINLAND_PX {
        return true;
    }
    let t = along(c, sea, cc);
    (1.0..=1.0 + OVERSHOOT).contains(&t) && off_line(c, sea, cc, t) <= MAINLAND_PX as f64
}

/// What the three island probes (Taiwan, Hainan, Diaoyu Dao) read alike from one image: the
/// frame fitted locally around the East and South China Seas, the colours of the sea, the
/// neighbours' land and the mainland's fill, and where the dash line runs. Read once per check
/// (the island probes used to read it for each island in turn); the page colour and the
/// boundary stroke, which depend on the island's rule, are read by `probe_island`.
struct IslandScene {
    f: Frame,
    sea: [u8; 3],
    /// the neighbours' clear pixels (60-150E, 0-56N) and their dominant colour
    npx: Vec<usize>,
    nfill: Option<[u8; 3]>,
    /// the mainland's clear pixels (104-120E, 22.5-30N) and their dominant colour
    cpx: Vec<usize>,
    cdom: Option<([u8; 3], f64)>,
    /// pixels with the dash segments stroked 4 px wide: where a dash, not a fill, shows
    on_dash: Mask,
    /// the same `RUNG_DASH_PX` wide, made on first use (JPEGs that draw the dash line)
    rung_dash: std::cell::OnceCell<Mask>,
}

impl IslandScene {
    fn read(ck: &Checker, p: &Prepared, f0: &Frame, china_m: &Mask) -> IslandScene {
        let f = local_frame(
            ck,
            p,
            f0,
            [104.0, 10.0, 132.0, 36.0],
            &[[119.0, 21.5, 125.5, 26.5]],
        );
        // the sea: open water in the South China Sea, or in the East China Sea when a China
        // map stops short of the south
        let sea_in =
            |win: [f64; 4]| dominant(p, &pixels_in(p, &f, None, win, 0.0, None)).map(|d| d.0);
        let sea = sea_in([113.0, 12.0, 118.0, 17.0])
            .or_else(|| sea_in([122.5, 28.0, 126.0, 35.0]))
            .unwrap_or(p.bg);
        let nm = mask_of(&f, &ck.probes.neighbours, p.w, p.h);
        let npx = pixels_in(p, &f, Some(&nm), [60.0, 0.0, 150.0, 56.0], 1.5, None);
        let nfill = dominant(p, &npx).map(|d| d.0);
        let cpx = pixels_in(p, &f, Some(china_m), [104.0, 22.5, 120.0, 30.0], 1.5, None);
        let cdom = dominant(p, &cpx);
        let on_dash = dash_mask(ck, &f, p.w, p.h, 4.0);
        IslandScene {
            f,
            sea,
            npx,
            nfill,
            cpx,
            cdom,
            on_dash,
            rung_dash: std::cell::OnceCell::new(),
        }
    }
}

fn probe_island(
    ck: &Checker,
    p: &Prepared,
    scene: &IslandScene,
    rule: &str,
    region: &str,
    china_m: &Mask,
) -> Finding {
    let name = match rule {
        "taiwan" => "Taiwan",
        "hainan" => "Hainan",
        _ => "Diaoyu Dao",
    };
    let f = scene.f;
    let (zm, _, _) = zone_mask(ck.reference, rule, &f, p.w, p.h);
    let sea = scene.sea;
    // the neighbours' clear pixels and fill, read once in the scene: Taiwan needs them (are
    // the neighbours drawn as land, in what fill); Hainan and Diaoyu Dao use them only when
    // the sea differs from the border colour (for the page colour below), and otherwise
    // leave them out of their pale-land and dash-colour tests, as they were tuned
    let (npx, nfill): (&[usize], _) = if rule == "taiwan" || cdist(sea, p.bg) > 24 {
        (&scene.npx, scene.nfill)
    } else {
        (&[], None)
    };
    // The page colour is the commonest colour on the image border, unless a map drawn edge to
    // edge puts the neighbours' land there (that colour is then the neighbours' fill, and the
    // sea differs from it): the page then shows nowhere, and the sea stands in for it.
    let bg = if nfill.is_some_and(|n| cdist(n, p.bg) <= 24) && cdist(sea, p.bg) > 24 {
        sea
    } else {
        p.bg
    };
    let cpx = &scene.cpx;
    let cdom = scene.cdom;
    let cc = cdom.map(|d| d.0);
    // boundary stroke colour: colours on China's projected outline, away from the fill
    let mut on_line = Vec::new();
    for ring in &ck.probes.china_main {
        for q in ring.iter().filter(|q| q[0] > 100.0 && q[1] < 35.0) {
            let (x, y) = f.to_px(q[0], q[1]);
            if let Some(c) = p.px(x as i64, y as i64)
                && cc.is_none_or(|cc| cdist(c, cc) > 28)
            {
                on_line.push((y as usize) * p.w + x as usize);
            }
        }
    }
    let (sc, sc_share) = dominant(p, &on_line).unwrap_or((bg, 0.0));
    let all = pixels_in(p, &f, Some(&zm), [108.0, 17.5, 125.5, 26.5], 0.0, None);
    // When the sea has its own colour (ocean style), the page background cannot show inside
    // the zone, so a pale "no data" fill close to the page colour still counts as land.
    let bg_t = if cdist(sea, bg) > 24 { 6 } else { 24 };
    // Pale fills lie closer together than JPEG noise allows for (light grey land on a light
    // blue sea differ by 23 levels): a pixel near the sea's colour is still land when it is
    // nearer the neighbours' or the mainland's fill, and that fill is clearly not the sea's.
    let mut pale_land: Vec<[u8; 3]> = [nfill, cc]
        .into_iter()
        .flatten()
        .filter(|&l| cdist(l, sea) > PALE_APART && cdist(l, bg) > PALE_APART)
        .collect();
    // In a lossless image a flat colour of the zone's own, however near the page colour (the
    // lowest class of a light choropleth), is a fill: the island is drawn.
    if let Some(of) = own_fill(p, &all)
        && cdist(of, sea) >= FLAT_APART
        && cdist(of, bg) >= FLAT_APART
    {
        pale_land.push(of);
    }
    let is_land = |c: [u8; 3], bg_t: i32| {
        let (ds, db) = (cdist(c, sea), cdist(c, bg));
        (ds > 24 && db > bg_t) || pale_land.iter().any(|&l| cdist(c, l) < ds.min(db))
    };
    // the dash line passes close to Taiwan: its strokes are no island's fill
    let on_dash = &scene.on_dash;
    // never the mainland coast across the strait (registration slack), nor the islands off it
    let off_mainland = |i: usize| {
        let (x, y) = ((i % p.w) as i64, (i / p.w) as i64);
        [(0, 0), (-2, 0), (2, 0), (0, -2), (0, 2), (-2, -2), (-2, 2)]
            .iter()
            .all(|(dx, dy)| china_m.get(x + dx, y + dy) == 0)
    };
    let land: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| is_land(p.rgb[i], bg_t))
        .filter(|&i| on_dash.at(i) == 0)
        .filter(|&i| off_mainland(i))
        .collect();
    if all.is_empty() {
        return finding(
            rule,
            Status::NotShown,
            0.5,
            format!("{name}: outside the frame"),
        );
    }
    // (nor are the dash line's strokes an island's outline, nor, across the strait, the
    // mainland's coast and the islands off it: Hainan lies under a pixel off the mainland on a
    // world map, so only its edges on the mainland itself are left out)
    let outlined = all
        .iter()
        .filter(|&&i| p.edges[i] != 0 && on_dash.at(i) == 0)
        .filter(|&&i| {
            if rule == "hainan" {
                china_m.at(i) == 0
            } else {
                off_mainland(i)
            }
        })
        .count();
    tracing::debug!(
        rule,
        land = land.len(),
        all = all.len(),
        outlined,
        "island: land and outline in the zone"
    );
    if ((land.len() as f64) < 0.15 * all.len() as f64 || land.len() < 2) && outlined < 3 {
        let big = f.px_per_deg() >= 5.0 && rule != "diaoyu";
        return if big && region == "china" {
            finding(
                rule,
                Status::Violation,
                0.6,
                format!("{name} missing: the zone shows only sea or background"),
            )
        } else {
            finding(
                rule,
                Status::NotShown,
                0.4,
                format!("{name} not visible at this scale"),
            )
        };
    }
    if rule != "taiwan" {
        return finding(rule, Status::Ok, 0.7, format!("{name} drawn"));
    }
    // On a China map the provinces often each have their own colour, one of them may be
    // highlighted, and China is often drawn alone: Taiwan's own colour then says nothing.
    // Taiwan must share the mainland's fill only when the mainland is filled in one colour
    // (most sampled pixels in one colour bin) and the neighbours are drawn as land, so that a
    // country other than China has a look of its own.
    if region == "china" {
        // (the share of pixels within `UNIFORM_NEAR` of the commonest colour too: a JPEG's
        // ringing beside the provinces' borders scatters a uniform fill over several bins)
        let cn_share = cdom.map_or(0.0, |(c, share)| {
            let near = cpx
                .iter()
                .filter(|&&i| cdist(p.rgb[i], c) <= UNIFORM_NEAR)
                .count();
            share.max(near as f64 / cpx.len() as f64)
        });
        let neighbours_drawn = cn_share >= CHINA_UNIFORM_SHARE && {
            let land_n = npx.iter().filter(|&&i| is_land(p.rgb[i], 24)).count();
            // borders between the other countries, drawn however pale their fills
            let others = support(p, &f, &ck.probes.others_borders, 1.5, (0.0, 0.0));
            tracing::debug!(
                cn_share,
                n = npx.len(),
                land_n,
                ?others,
                ?nfill,
                ?sea,
                ?bg,
                "taiwan on a China map"
            );
            (land_n >= 30 && land_n as f64 >= 0.5 * npx.len() as f64)
                || others.is_some_and(|s| s >= 0.5)
        };
        if !neighbours_drawn {
            return finding(
                rule,
                Status::Ok,
                0.6,
                format!(
                    "{name} drawn (a China map drawn alone or with provinces coloured apart: its own colour carries no country distinction)"
                ),
            );
        }
    }
    if land.len() < 2 {
        // edges but no land: on a map whose mainland has a fill, the strokes have covered the
        // island and its fill cannot be told; on an outline map the outline is all there is
        let filled = cc.is_some_and(|cc| cdist(cc, sea) > 24 && cdist(cc, bg) > 24);
        return if filled {
            finding(
                rule,
                Status::NotShown,
                0.5,
                format!(
                    "{name} drawn, but at this scale only its outline shows: its fill cannot be read"
                ),
            )
        } else {
            finding(rule, Status::Ok, 0.5, format!("{name} drawn (outline)"))
        };
    }
    let Some(cc) = cc else {
        return finding(
            rule,
            Status::Uncertain,
            0.3,
            format!("{name}: mainland fill not measurable"),
        );
    };
    if cdist(cc, sea) <= 24 || cdist(cc, bg) <= 24 {
        return finding(
            rule,
            Status::Ok,
            0.5,
            format!("{name} drawn; outline map, fills carry no country distinction"),
        );
    }
    // The boundary stroke is a colour of its own when the neighbours' fill differs from it.
    // At small scales a stroke covers an island whole and its middle is then as far from an
    // edge as a fill would be: such pixels show the stroke, not the island's fill.
    // a stroke is one colour along most of the outline (JPEG blends scatter over many)
    // (a thin line in a JPEG is smeared into what it crosses: its colour there lies nearer
    // the sea's than the line's own)
    let apart = if p.lossy { 16 } else { 24 };
    // (in a JPEG a stroke a pixel wide is smeared into the fill and sea either side of it, so
    // its own colour holds on fewer of the outline's pixels: there it counts from a fifth of
    // them, when that colour is no blend of the sea and the mainland's fill)
    let share_min = if p.lossy && seg_dist(sc, sea, cc) > apart as f64 {
        0.2
    } else {
        0.4
    };
    let own_stroke = sc_share >= share_min
        && cdist(sc, cc) > 28
        && cdist(sc, sea) > apart
        && cdist(sc, bg) > apart
        && nfill.is_some_and(|n| cdist(sc, n) > 24);
    tracing::debug!(
        ?sc,
        sc_share,
        ?cc,
        ?nfill,
        ?sea,
        own_stroke,
        land = land.len(),
        "island colours"
    );
    // (the stroke's colour read in a JPEG is itself off by its noise)
    let stroke_t = if p.lossy { 32 } else { 24 };
    // the dash line's colour, read on the dashes far from Taiwan: near each dash point, the
    // pixels of a colour that is neither sea, boundary stroke nor the neighbours' fill
    let dash_c = {
        let (mut px, mut points) = (Vec::new(), 0usize);
        for d in ck
            .reference
            .dashes
            .iter()
            .filter(|d| d.iter().all(|q| q[1] < 20.0))
        {
            for q in d {
                let (x, y) = f.to_px(q[0], q[1]);
                points += 1;
                for (dx, dy) in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)] {
                    let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                    if let Some(c) = p.px(xx, yy)
                        && cdist(c, sea) > 24
                        && cdist(c, sc) > stroke_t
                        && nfill.is_none_or(|n| cdist(c, n) > 24)
                    {
                        px.push(yy as usize * p.w + xx as usize);
                    }
                }
            }
        }
        // (a JPEG scatters the dashes' colour over neighbouring bins: count the pixels near it)
        let held = |d: &([u8; 3], f64)| {
            if p.lossy {
                px.iter().filter(|&&i| cdist(p.rgb[i], d.0) <= 24).count() as f64
            } else {
                d.1 * px.len() as f64
            }
        };
        let dom = dominant(p, &px);
        tracing::debug!(n = px.len(), points, ?dom, held = ?dom.map(|d| held(&d)), "dash colour");
        dom.filter(|d| held(d) >= 0.5 * points as f64).map(|d| d.0)
    };
    let dash_line = dash_c.filter(|&d| {
        cdist(d, cc) > 28 && cdist(d, sea) > 24 && nfill.is_none_or(|n| cdist(d, n) > 24)
    });
    tracing::debug!(?dash_c, ?dash_line, "island line colours");
    // (a JPEG rings a dash line wider than `on_dash`: where the map draws one, its blends
    // with the sea lie a pixel or two further out)
    let rung_dash = (p.lossy && dash_line.is_some()).then(|| {
        scene
            .rung_dash
            .get_or_init(|| dash_mask(ck, &f, p.w, p.h, RUNG_DASH_PX))
    });
    let stroke_like = |i: usize| {
        (own_stroke && cdist(p.rgb[i], sc) <= stroke_t)
            || dash_line.is_some_and(|d| cdist(p.rgb[i], d) <= 24)
            || rung_dash.is_some_and(|m| m.at(i) != 0)
    };
    // what shows the island's fill: its pixels without the stroke's own colour
    let fill: Vec<usize> = land.iter().copied().filter(|&i| !stroke_like(i)).collect();
    if fill.len() < 2 {
        return finding(
            rule,
            Status::NotShown,
            0.5,
            format!(
                "{name} drawn, but at this scale only its boundary stroke shows: its fill cannot be read"
            ),
        );
    }
    let zc = dominant(p, &fill).map(|d| d.0).unwrap_or(cc);
    let interior: Vec<usize> = fill.iter().copied().filter(|&i| p.dt[i] >= 1.5).collect();
    // Hainan is the control: an island of China of about Taiwan's size, drawn by the same map.
    // When a thin Taiwan's colour is one that Hainan's pixels show too, that colour is what
    // this map makes of a small island of China at this scale (a stroke covering it, JPEG
    // smearing it), not a fill of Taiwan's own. (A colour that is itself a blend of the
    // mainland's fill with the sea or the stroke is one Hainan's edges show anyway: no control.)
    let t = if p.lossy { 24 } else { 8 };
    if interior.len() < 3
        && cdist(zc, cc) > 32
        && seg_dist(zc, cc, sea) > t as f64
        && seg_dist(zc, cc, sc) > t as f64
        && let Some((same, n)) = {
            let (hm, _, _) = zone_mask(ck.reference, "hainan", &f, p.w, p.h);
            let hainan: Vec<usize> =
                pixels_in(p, &f, Some(&hm), [107.5, 17.5, 111.5, 20.5], 0.0, None)
                    .into_iter()
                    .filter(|&i| is_land(p.rgb[i], bg_t) && china_m.at(i) == 0)
                    .collect();
            let same = hainan.iter().filter(|&&i| cdist(p.rgb[i], zc) <= t).count();
            tracing::debug!(n = hainan.len(), same, ?zc, "taiwan's colour on hainan");
            (hainan.len() >= SOLID_MIN_PIXELS).then_some((same, hainan.len()))
        }
        && same as f64 >= HAINAN_SAME * n as f64
    {
        return finding(
            rule,
            Status::NotShown,
            0.5,
            format!(
                "{name} drawn, but its colour #{:02x}{:02x}{:02x} is one Hainan shows on this map ({same} of its {n} pixels): at this scale the map's small islands show its strokes, not their fill",
                zc[0], zc[1], zc[2]
            ),
        );
    }
    // An island too thin for interior pixels, drawn in the mainland's fill, still has pixels
    // it covers (nearly) whole: among enough pixels, one is mostly the mainland's colour. When
    // even the most solid pixel is mostly sea or stroke, the island has a paler fill of its own
    // (the lowest class of a choropleth), which blends with the sea like the mainland's would.
    if interior.len() < 3 && fill.len() >= SOLID_MIN_PIXELS {
        let solid = fill
            .iter()
            .map(|&i| blend_share(p.rgb[i], cc, sea).max(blend_share(p.rgb[i], cc, sc)))
            .fold(0.0, f64::max);
        tracing::debug!(solid, n = fill.len(), "thin island's most solid pixel");
        if solid < SOLID_SHARE {
            return finding(
                rule,
                Status::Violation,
                0.6,
                format!(
                    "{name} drawn as a separate country: fill #{:02x}{:02x}{:02x} differs from mainland China's #{:02x}{:02x}{:02x} (no pixel of the island is more than {:.0}% the mainland's colour)",
                    zc[0],
                    zc[1],
                    zc[2],
                    cc[0],
                    cc[1],
                    cc[2],
                    solid * 100.0
                ),
            );
        }
    }
    let ok_share = if interior.len() >= 3 {
        interior
            .iter()
            .filter(|&&i| cdist(p.rgb[i], cc) <= 32)
            .count() as f64
            / interior.len() as f64
    } else {
        // Only boundary pixels: accept blends of China's fill with the boundary stroke. In a
        // lossless image, though, a colour that many of the island's pixels share exactly is
        // a fill of its own, not a blend (antialiasing blends each pixel by its own coverage),
        // and the blends of that fill with the stroke or the sea are its edge pixels.
        // A sliver of even width, though, covers its pixels alike, so one blend of the
        // mainland's fill with the stroke repeats exactly; a pixel of the island in the
        // mainland's own colour tells that case apart from an island of a pale fill of its own.
        let own = own_fill(p, &fill)
            .filter(|&c| cdist(c, cc) > 32)
            .filter(|&c| {
                !(seg_dist(c, cc, sc) <= OWN_BLEND
                    && fill.iter().any(|&i| cdist(p.rgb[i], cc) <= MAINLAND_PX))
            });
        // Pixels in the mainland's own colour show the island drawn in it, so its edge
        // pixels are that fill antialiased against the sea too (a white stroke on a white
        // sea): a pale fill of the island's own would leave no pixel at the mainland's colour.
        let solid = fill
            .iter()
            .filter(|&&i| mainland_px(p.rgb[i], cc, sea))
            .count();
        let sea_blends = own.is_none() && solid >= SOLID_PX_MIN;
        tracing::trace!(
            ?own,
            solid,
            colours = ?fill.iter().map(|&i| p.rgb[i]).collect::<Vec<_>>(),
            "thin island pixels"
        );
        fill.iter()
            .filter(|&&i| {
                let c = p.rgb[i];
                cdist(c, cc) <= 32
                    || (sea_blends && seg_dist(c, cc, sea) <= 24.0)
                    || (seg_dist(c, cc, sc) <= 24.0
                        && own.is_none_or(|o| {
                            seg_dist(c, o, sc) > OWN_BLEND && seg_dist(c, o, sea) > OWN_BLEND
                        }))
            })
            .count() as f64
            / fill.len() as f64
    };
    if ok_share < 0.5 && p.lossy && cdist(zc, cc) <= LOSSY_FILL_NEAR {
        return finding(
            rule,
            Status::Uncertain,
            0.4,
            format!(
                "{name}: fill #{:02x}{:02x}{:02x} close to mainland China's #{:02x}{:02x}{:02x}, within what JPEG compression does to the colours of an island this size",
                zc[0], zc[1], zc[2], cc[0], cc[1], cc[2]
            ),
        );
    }
    // A thin island in a JPEG, some of whose pixels keep the mainland's colour (within what
    // JPEG does to it): chroma subsampling and ringing mix its fill, its boundary stroke and
    // the sea in nearly every other pixel, three ways. When most of its pixels are such blends
    // of the mainland's fill, the fill cannot be told at this scale: an island of a colour of
    // its own shows pixels off those blends.
    if ok_share < 0.5 && p.lossy && interior.len() < 3 && fill.len() >= SOLID_MIN_PIXELS {
        let near = fill
            .iter()
            .filter(|&&i| cdist(p.rgb[i], cc) <= LOSSY_FILL_NEAR)
            .count();
        let blends = fill
            .iter()
            .filter(|&&i| {
                let c = p.rgb[i];
                cdist(c, cc) <= 32 || tri_dist(c, cc, sc, sea) <= BLEND3_TOL
            })
            .count();
        tracing::debug!(n = fill.len(), near, blends, "thin island in a JPEG");
        if near >= 2 && blends * 2 >= fill.len() {
            return finding(
                rule,
                Status::Uncertain,
                0.4,
                format!(
                    "{name}: {:.0}% of its pixels are blends of mainland China's fill #{:02x}{:02x}{:02x} with the boundary and the sea, as JPEG mixes them on an island this thin: its own fill cannot be told",
                    blends as f64 * 100.0 / fill.len() as f64,
                    cc[0],
                    cc[1],
                    cc[2]
                ),
            );
        }
    }
    // An island without interior pixels whose pixels are nearly all blends of the mainland's
    // fill with the stroke and the sea (or, in a JPEG, carry the mainland's lightness, which
    // JPEG keeps at full resolution while it halves and smears the colour) shows no fill of its
    // own: a world map downscaled or compressed to a few pixels of Taiwan mixes the mainland's
    // colour away from every pixel. A fill of its own shows pixels off those blends, or nearer
    // the neighbours' fill (a pale grey lies close to blends of a stroke with a white sea).
    if ok_share < 0.5 && interior.len() < 3 {
        // The lightness of a pixel that carries the mainland's fill: the fill's own, within
        // JPEG's noise, when the fill is darker (or lighter) than the sea, the stroke and the
        // neighbours all by a wide margin. (Counting every pixel darker than all of those
        // also took another class of a choropleth for the mainland's.)
        let others: Vec<f64> = [sea, sc]
            .iter()
            .chain(nfill.iter())
            .map(|&o| luma(o))
            .collect();
        let (lo, hi) = others
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &l| (lo.min(l), hi.max(l)));
        let yc = luma(cc);
        let mainland_light = (lo - yc >= LUMA_APART || yc - hi >= LUMA_APART)
            .then_some((yc - LUMA_NEAR, yc + LUMA_NEAR));
        let explained = fill
            .iter()
            .filter(|&&i| {
                let c = p.rgb[i];
                // nearer the neighbours' fill than every blend: that fill, not a blend
                let blend = tri_dist(c, cc, sc, sea);
                cdist(c, cc) <= 32
                    || (blend <= BLEND3_TOL && nfill.is_none_or(|n| blend < cdist(c, n) as f64))
                    || (p.lossy && mainland_light.is_some_and(|(a, b)| (a..=b).contains(&luma(c))))
            })
            .count();
        tracing::debug!(
            n = fill.len(),
            explained,
            ?mainland_light,
            "thin island: blends of the mainland's fill"
        );
        if explained as f64 >= BLENDS_ONLY * fill.len() as f64 {
            return finding(
                rule,
                Status::Uncertain,
                0.4,
                format!(
                    "{name}: {explained} of its {} pixels are blends of mainland China's fill #{:02x}{:02x}{:02x} with the boundary and the sea: at this scale its own fill cannot be told",
                    fill.len(),
                    cc[0],
                    cc[1],
                    cc[2]
                ),
            );
        }
    }
    if ok_share >= 0.5 {
        finding(
            rule,
            Status::Ok,
            0.5 + ok_share / 2.0,
            format!(
                "{name} filled like mainland China ({:.0}% of its pixels)",
                ok_share * 100.0
            ),
        )
    } else {
        finding(
            rule,
            Status::Violation,
            0.5 + (1.0 - ok_share) / 2.0,
            format!(
                "{name} drawn as a separate country: fill #{:02x}{:02x}{:02x} differs from mainland China's #{:02x}{:02x}{:02x}",
                zc[0], zc[1], zc[2], cc[0], cc[1], cc[2]
            ),
        )
    }
}

/// The South China Sea rule in frame `f0`; `inset_read` is set to the 南海诸岛 inset box the
/// sea was read in, if it was.
fn probe_scs(
    ck: &Checker,
    p: &Prepared,
    f0: &Frame,
    region: &str,
    inset_read: &mut Option<InsetFrame>,
) -> Finding {
    use crate::reference::raster::stroke_each;
    let f = local_frame(ck, p, f0, [98.0, 0.0, 126.0, 24.0], &[]);
    let ppd = f.px_per_deg();
    // A map of China that stops north of the Nansha islands shows at most the line's
    // northern dashes: it is not a map of the whole of China unless a 南海诸岛 inset holds
    // the rest. (Read before the dash line is, which such a map cannot settle.)
    if region == "china"
        && let Some(lat) = stops_north_of_nansha(p, &f)
    {
        let inset = inset_present(p, &f);
        tracing::debug!(lat, ?inset, "south china sea: map of china cut off");
        return match inset {
            Inset::Whole => scs_in_inset(ck, p, &f, inset_read),
            // the inset search reads frame lines against the background around them; a box
            // drawn over land and sea alike (D3's, on a dark map) shows only as edges
            _ if box_corner_lower_right(p, &f) => read_inset(ck, p, &f, inset_read, || {
                finding(
                    "south_china_sea",
                    Status::Ok,
                    0.5,
                    format!(
                        "South China Sea: the map of China stops at about {lat:.0}N; a box drawn at the lower right is taken for a 南海诸岛 inset"
                    ),
                )
            }),
            _ => finding(
                "south_china_sea",
                Status::Violation,
                0.7,
                format!(
                    "South China Sea cut off: the map of China stops at about {lat:.0}N, without the Nansha islands and the dash line around them, and there is no 南海诸岛 inset"
                ),
            ),
        };
    }
    // edges explained by coastlines: every outline near the South China Sea, widened
    let r = (0.35 * ppd).max(1.5);
    let mut explained = Mask::new(p.w, p.h);
    let near = |ring: &Ring| {
        ring.iter()
            .any(|q| q[0] > 98.0 && q[0] < 127.0 && q[1] > -2.0 && q[1] < 26.0)
    };
    let lines: Vec<Vec<(f64, f64)>> = ck
        .reference
        .countries
        .iter()
        .flat_map(|c| c.rings.iter().filter(|r| near(r)))
        .chain(
            ck.reference
                .china
                .iter()
                .filter(|r| near(r) && crate::reference::ring_area(r).abs() > 0.02),
        )
        .map(|ring| ring.iter().map(|q| f.to_px(q[0], q[1])).collect())
        .collect();
    stroke_each(&mut explained, &lines, true, 2.0 * r, 1);
    // the sea colour: the commonest colour over open water (pixels not near any coastline)
    let sea = {
        let mut hist = std::collections::HashMap::<[u8; 3], usize>::new();
        let (ax, ay) = f.to_px(108.0, 20.0);
        let (bx, by) = f.to_px(120.0, 4.0);
        let (x0, x1) = (
            ax.min(bx).max(0.0) as usize,
            ax.max(bx).min(p.w as f64) as usize,
        );
        let (y0, y1) = (
            ay.min(by).max(0.0) as usize,
            ay.max(by).min(p.h as f64) as usize,
        );
        for y in y0..y1 {
            for x in x0..x1 {
                let i = y * p.w + x;
                if explained.at(i) == 0 {
                    *hist.entry(p.rgb[i]).or_default() += 1;
                }
            }
        }
        // (ties to the larger colour: a hash map's order differs from run to run)
        hist.into_iter()
            .max_by_key(|&(c, n)| (n, c))
            .map(|(c, _)| c)
    };
    // Lettering: a name written across the sea (a country's or an island's, as ECharts and d3
    // maps print them) crosses a pixel row many times within a few pixels, where a dash, a
    // coast or an island crosses it once or twice (an outlined island twice, with both sides of
    // its stroke). A mark in lettering marks no dash.
    let lettering = |x: i64, y: i64| -> bool {
        let Some(sea) = sea else { return false };
        (-LETTER_HALF_HEIGHT..=LETTER_HALF_HEIGHT).any(|dy| {
            let (mut runs, mut inside) = (0, false);
            for dx in -LETTER_HALF_WIDTH..=LETTER_HALF_WIDTH {
                let ink = p
                    .px(x + dx, y + dy)
                    .is_some_and(|c| cdist(c, sea) > LETTER_INK);
                runs += usize::from(ink && !inside);
                inside = ink;
            }
            runs >= LETTER_RUNS
        })
    };
    // an edge no coastline explains, within a pixel; `letters`: not in lettering either
    let edge_mark = |x: i64, y: i64, letters: bool| -> bool {
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (xx, yy) = (x + dx, y + dy);
                if let Some(i) = p.index(xx, yy)
                    && p.edges[i] != 0
                    && explained.at(i) == 0
                    && !(letters && lettering(xx, yy))
                {
                    return true;
                }
            }
        }
        false
    };
    let sea_edge = |x: i64, y: i64| edge_mark(x, y, true);
    // a faint mark: any pixel off the sea colour, away from coastlines (dashes drawn in a
    // stroke close to the sea colour, or thinner than a pixel, only tint the sea)
    let faint_t = if p.clean { 3 } else { 12 };
    let faint_mark = |x: i64, y: i64| -> bool {
        let Some(sea) = sea else { return false };
        for (dx, dy) in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)] {
            let (xx, yy) = (x + dx, y + dy);
            if xx >= 0 && yy >= 0 && (xx as usize) < p.w && (yy as usize) < p.h {
                let i = yy as usize * p.w + xx as usize;
                if explained.at(i) == 0 && cdist(p.rgb[i], sea) >= faint_t {
                    return true;
                }
            }
        }
        false
    };
    let hits_with = |shift: (f64, f64), mark: &dyn Fn(i64, i64) -> bool| -> (usize, usize) {
        let (mut n_in, mut hit) = (0, 0);
        for d in &ck.reference.dashes {
            let pts: Vec<(f64, f64)> = d
                .iter()
                .map(|q| f.to_px(q[0] + shift.0, q[1] + shift.1))
                .collect();
            if !pts
                .iter()
                .all(|q| q.0 >= 0.0 && q.1 >= 0.0 && q.0 < p.w as f64 && q.1 < p.h as f64)
            {
                continue;
            }
            n_in += 1;
            // sample along the dash
            let mut found = false;
            'outer: for w in pts.windows(2) {
                let len = ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt();
                let steps = (len.ceil() as usize).max(1);
                for k in 0..=steps {
                    let t = k as f64 / steps as f64;
                    let x = w[0].0 + (w[1].0 - w[0].0) * t;
                    let y = w[0].1 + (w[1].1 - w[0].1) * t;
                    if mark(x as i64, y as i64) {
                        found = true;
                        break 'outer;
                    }
                }
            }
            if found {
                hit += 1;
            }
        }
        (n_in, hit)
    };
    // A reading of one kind of mark: dash segments in frame, those hit in place, and those hit
    // on average with the dash line moved 1.8 degrees each way (the control).
    let shifts = [(1.8, 0.0), (-1.8, 0.0), (0.0, 1.8), (0.0, -1.8)];
    let read = |mark: &dyn Fn(i64, i64) -> bool| -> (usize, usize, f64) {
        let (n_in, hit) = hits_with((0.0, 0.0), mark);
        let ctrl = shifts
            .iter()
            .map(|s| hits_with(*s, mark).1 as f64)
            .sum::<f64>()
            / 4.0;
        (n_in, hit, ctrl)
    };
    let (n_in, hit, ctrl) = read(&sea_edge);
    // dash segments to find, of those in frame, for the line to count as drawn
    let need = (3usize).max(n_in.div_ceil(2));
    // a mark found on enough dash segments, clearly more than by chance
    let found = |hit: usize, ctrl: f64| n_in >= 3 && hit >= need && hit as f64 >= ctrl + 2.5;
    if found(hit, ctrl) {
        return finding(
            "south_china_sea",
            Status::Ok,
            (0.5 + (hit as f64 - ctrl) / (2.0 * n_in as f64)).min(0.95),
            format!(
                "South China Sea dash line drawn in place ({hit} of {n_in} dash segments found, {ctrl:.1} by chance)"
            ),
        );
    }
    // Found only with the lettering counted: a dash beside an archipelago can look like
    // lettering, so this is no evidence that the line is missing either.
    let (_, hit_all, ctrl_all) = read(&|x: i64, y: i64| edge_mark(x, y, false));
    if found(hit_all, ctrl_all) {
        return finding(
            "south_china_sea",
            Status::Uncertain,
            0.4,
            format!(
                "South China Sea: marks along the dash line ({hit_all} of {n_in} dash segments, {ctrl_all:.1} by chance) lie in lettering written across the sea ({hit} without it); cannot tell whether the line is drawn"
            ),
        );
    }
    // (an inset's own reading looks for no inset in it)
    let inset = if region != "world" && region != INSET {
        inset_present(p, &f)
    } else {
        Inset::None
    };
    match inset {
        Inset::Whole => return scs_in_inset(ck, p, &f, inset_read),
        Inset::CutOff => {
            return finding(
                "south_china_sea",
                Status::Violation,
                0.6,
                "South China Sea not fully shown: the 南海诸岛 inset box runs off the image edge, its far side and part of the dash line cut away".into(),
            );
        }
        Inset::None => {}
    }
    // Colour pass. At world scale the dashes lie within a pixel or two of the coasts, inside
    // the widened coastlines that the edge pass sets aside. A dash drawn in a colour of its own
    // (neither sea, land fill, coast stroke, nor a blend of them) still shows there.
    if n_in >= 3
        && let Some(sea) = sea
    {
        // the fills of the countries around the sea (each its own on a choropleth), China's too
        // (a small country's few pixels show its stroke or the dashes beside it, not its fill)
        let window = [98.0, -2.0, 127.0, 26.0];
        let on_dash = dash_mask(ck, &f, p.w, p.h, 5.0);
        let fill_of = |rings: &[Ring]| {
            let m = mask_of(&f, rings, p.w, p.h);
            let px: Vec<usize> = pixels_in(p, &f, Some(&m), window, 1.0, Some(&on_dash))
                .into_iter()
                .filter(|&i| cdist(p.rgb[i], sea) > 24)
                .collect();
            dominant(p, &px)
                .filter(|d| d.1 >= 0.3 && px.len() >= 20)
                .map(|d| d.0)
        };
        let mut fills: Vec<[u8; 3]> = ck
            .reference
            .countries
            .iter()
            .filter(|c| c.rings.iter().any(&near))
            .filter_map(|c| fill_of(&c.rings))
            .collect();
        fills.extend(fill_of(&ck.probes.china_main));
        // the coast stroke, read where no dash is: the Gulf of Thailand and the Malay coasts
        let stroke = {
            let px: Vec<usize> = pixels_in(p, &f, None, [98.0, -2.0, 106.0, 14.0], 0.0, None)
                .into_iter()
                .filter(|&i| {
                    explained.at(i) != 0
                        && cdist(p.rgb[i], sea) > 24
                        && fills.iter().all(|&l| cdist(p.rgb[i], l) > 24)
                })
                .collect();
            dominant(p, &px).filter(|d| d.1 >= 0.3).map(|d| d.0)
        };
        // the colours a map without dashes shows near the coasts, and their blends
        let mut known = fills.clone();
        known.push(sea);
        known.extend(stroke);
        let own_colour = |c: [u8; 3]| -> bool {
            !fills.is_empty()
                && known.iter().enumerate().all(|(k, &a)| {
                    cdist(c, a) > 24 && known[k + 1..].iter().all(|&b| seg_dist(c, a, b) > 24.0)
                })
        };
        let dash_coloured = |x: i64, y: i64| -> bool {
            for dy in -1..=1 {
                for dx in -1..=1 {
                    if let Some(c) = p.px(x + dx, y + dy)
                        && own_colour(c)
                    {
                        return true;
                    }
                }
            }
            false
        };
        let (_, chit, cctrl) = read(&dash_coloured);
        tracing::debug!(
            ?fills,
            ?stroke,
            chit,
            cctrl,
            n_in,
            "south china sea colour pass"
        );
        if found(chit, cctrl) {
            return finding(
                "south_china_sea",
                Status::Ok,
                (0.5 + (chit as f64 - cctrl) / (2.0 * n_in as f64)).min(0.9),
                format!(
                    "South China Sea dash line drawn in place, in a colour of its own close to the coasts ({chit} of {n_in} dash segments found, {cctrl:.1} by chance)"
                ),
            );
        }
    }
    let _ = region;
    if n_in >= 3 {
        let (_, fhit, fctrl) = read(&faint_mark);
        tracing::debug!(?sea, fhit, fctrl, n_in, "south china sea faint-mark pass");
        // a sea whose control positions are often tinted (JPEG noise, texture) cannot be read.
        // Tints on two dash segments in five, where chance tints almost none, already say a
        // line may be drawn there: too much to call it missing (sub-pixel dashes drawn in
        // China's fill tint some segments and vanish on others).
        let need_faint = 3usize.max((2 * n_in).div_ceil(5));
        if fctrl <= 0.2 * n_in as f64 && fhit >= need_faint && fhit as f64 >= fctrl + 2.5 {
            return finding(
                "south_china_sea",
                Status::Uncertain,
                0.5,
                format!(
                    "South China Sea: no clear dash line, but faint marks lie along it ({fhit} of {n_in} dash segments tinted, {fctrl:.1} by chance); too faint to confirm at this scale"
                ),
            );
        }
    }
    // Island pass. China-view data draws the island groups (Dongsha, Xisha, Nansha) as specks
    // of land; a dash line in the same data may be drawn as polygons thinner than a pixel,
    // which a border stroke in the sea colour, or a JPEG, wipes out. Specks on most island
    // positions, where chance puts almost none, say the map is drawn from such data: its
    // dash line unseen is then no evidence that it is missing, up to `ISLANDS_ALONE_MAX_PPD`:
    // at larger scales any dash line a map draws shows (polygons a fiftieth of a degree wide
    // tint a third of a pixel and more), and islands without it are a map without the line.
    if let Some(sea) = sea
        && ppd < ISLANDS_ALONE_MAX_PPD
    {
        let (ni, ihit, ictrl) = island_marks(ck, p, &f, sea, faint_t);
        tracing::debug!(ni, ihit, ictrl, "south china sea island pass");
        if ni >= ISLAND_MIN && ihit >= 3 && ihit as f64 >= ictrl + 2.5 && ictrl <= 1.0 {
            return finding(
                "south_china_sea",
                Status::Uncertain,
                0.4,
                format!(
                    "South China Sea: islands drawn ({ihit} of {ni} island positions marked, {ictrl:.1} by chance) but no dash line visible at {ppd:.1} px per degree; the line may be drawn thinner than a pixel"
                ),
            );
        }
    }
    // Borders drawn in the sea colour (a white stroke on a white sea) wash small features out
    // to faint tints. Where such tints lie all about the sea, beside the dash line as much as
    // on it, a dash line drawn the same way (a line, or a polygon narrower than the stroke)
    // would be one more tint among them: its absence is no evidence.
    if p.clean
        && n_in >= 3
        && ppd < SEA_STROKE_MAX_PPD
        && let Some(sea) = sea
        && let Some(share) = borders_toward(ck, p, f0, sea)
        && share >= 0.5
    {
        // a pixel just off the sea colour with no solid pixel beside it, within 2 px
        let washed = |x: i64, y: i64| -> bool {
            let solid = |x: i64, y: i64| p.px(x, y).is_some_and(|q| cdist(q, sea) > 24);
            (-2..=2i64).any(|oy| {
                (-2..=2i64).any(|ox| {
                    let (x, y) = (x + ox, y + oy);
                    p.px(x, y)
                        .is_some_and(|c| (1..=24).contains(&cdist(c, sea)))
                        && !(-1..=1i64).any(|a| (-1..=1i64).any(|b| solid(x + a, y + b)))
                })
            })
        };
        let (_, whit, wctrl) = read(&washed);
        tracing::debug!(
            share,
            whit,
            wctrl,
            "south china sea: borders in the sea colour"
        );
        if wctrl >= 0.4 * n_in as f64 {
            return finding(
                "south_china_sea",
                Status::Uncertain,
                0.4,
                format!(
                    "South China Sea: no dash line seen, but this map draws its borders in the sea colour ({:.0}% of China's land border) and small features near the sea show only as faint tints ({wctrl:.1} of {n_in} positions beside the line tinted, {whit} on it): a dash line would not show at {ppd:.1} px per degree",
                    share * 100.0
                ),
            );
        }
    }
    // Lines along most dash positions, but nearly as many beside them: the sea there is
    // crowded with coasts and islands at this scale. On our renders at 640-960 px such readings
    // came as often from maps with the dashes as from maps without: no decision either way.
    // So too when chance alone marks a good share of the positions beside the line, however
    // few lie on it: a loosely registered frame over a busy sea.
    if n_in >= 3 && (hit >= need || ctrl >= CROWDED_CTRL * n_in as f64) {
        return finding(
            "south_china_sea",
            Status::Uncertain,
            0.4,
            format!(
                "South China Sea: lines lie along the dash line ({hit} of {n_in} dash segments) but nearly as many beside it ({ctrl:.1} by chance); cannot tell at this scale"
            ),
        );
    }
    finding(
        "south_china_sea",
        Status::Violation,
        if n_in >= 3 {
            0.6 + 0.3 * (1.0 - hit as f64 / n_in as f64)
        } else {
            0.6
        },
        format!(
            "South China Sea dash line missing ({hit} of {n_in} dash segments found, {ctrl:.1} by chance){}",
            if region == INSET {
                ""
            } else {
                " and no 南海诸岛 inset"
            }
        ),
    )
}

/// Share of the dash positions marked by chance (beside the line) from which the sea is too
/// crowded to call the dash line missing (see `probe_scs`).
const CROWDED_CTRL: f64 = 0.3;

/// `probe_scs`'s test for lettering: a pixel row within `LETTER_HALF_HEIGHT` of a mark that
/// enters ink (more than `LETTER_INK` levels off the sea colour) `LETTER_RUNS` times or more
/// within `LETTER_HALF_WIDTH` of it either side.
const LETTER_HALF_HEIGHT: i64 = 3;
const LETTER_HALF_WIDTH: i64 = 7;
const LETTER_INK: i32 = 40;
const LETTER_RUNS: usize = 4;

/// Scale (px per degree) up to which islands drawn without a visible dash line leave the rule
/// uncertain (see `probe_scs`).
const ISLANDS_ALONE_MAX_PPD: f64 = 6.0;
/// Scale below which a dash polygon is narrower than a border stroke (a dash is about 0.2 degrees
/// wide): under it, borders in the sea colour hide the dash line.
const SEA_STROKE_MAX_PPD: f64 = 3.0;

/// Least number of island positions in frame for the island pass to speak.
const ISLAND_MIN: usize = 5;

/// Island positions in frame, those marked in place (a pixel off the sea colour by `t` within
/// a pixel of the island, away from every other coast), and those marked on average with the
/// islands moved 1.8 degrees each way (the control).
fn island_marks(
    ck: &Checker,
    p: &Prepared,
    f: &Frame,
    sea: [u8; 3],
    t: i32,
) -> (usize, usize, f64) {
    use crate::reference::raster::stroke_each;
    let ppd = f.px_per_deg();
    let r = (0.35 * ppd).max(1.5);
    // every coast but the islands', widened
    let mut coasts = Mask::new(p.w, p.h);
    let near = |ring: &Ring| {
        ring.iter()
            .any(|q| q[0] > 100.0 && q[0] < 125.0 && q[1] > 0.0 && q[1] < 26.0)
    };
    let big_china = ck
        .reference
        .china
        .iter()
        .filter(|r| crate::reference::ring_area(r).abs() > 1.0);
    let lines: Vec<Vec<(f64, f64)>> = ck
        .reference
        .countries
        .iter()
        .flat_map(|c| c.rings.iter())
        .chain(big_china)
        .filter(|r| near(r))
        .map(|ring| ring.iter().map(|q| f.to_px(q[0], q[1])).collect())
        .collect();
    stroke_each(&mut coasts, &lines, true, 2.0 * r, 1);
    let islands = &ck.probes.scs_islands;
    let marked = |ring: &Ring, shift: (f64, f64)| -> Option<bool> {
        let pts: Vec<(f64, f64)> = ring
            .iter()
            .map(|q| f.to_px(q[0] + shift.0, q[1] + shift.1))
            .collect();
        let x0 = pts.iter().map(|q| q.0).fold(f64::MAX, f64::min).floor() as i64 - 1;
        let x1 = pts.iter().map(|q| q.0).fold(f64::MIN, f64::max).ceil() as i64 + 1;
        let y0 = pts.iter().map(|q| q.1).fold(f64::MAX, f64::min).floor() as i64 - 1;
        let y1 = pts.iter().map(|q| q.1).fold(f64::MIN, f64::max).ceil() as i64 + 1;
        if x0 < 0 || y0 < 0 || x1 >= p.w as i64 || y1 >= p.h as i64 {
            return None;
        }
        Some((y0..=y1).any(|y| {
            (x0..=x1).any(|x| {
                let i = y as usize * p.w + x as usize;
                coasts.at(i) == 0 && cdist(p.rgb[i], sea) >= t
            })
        }))
    };
    let (mut n, mut hit) = (0, 0);
    for ring in islands {
        if let Some(m) = marked(ring, (0.0, 0.0)) {
            n += 1;
            hit += usize::from(m);
        }
    }
    let shifts = [(1.8, 0.0), (-1.8, 0.0), (0.0, 1.8), (0.0, -1.8)];
    let ctrl = shifts
        .iter()
        .map(|&s| {
            islands
                .iter()
                .filter(|ring| marked(ring, s) == Some(true))
                .count() as f64
        })
        .sum::<f64>()
        / 4.0;
    (n, hit, ctrl)
}

/// Share of the sampled points on China's land border (land on both sides in the image) where
/// the border line runs at least halfway from the fills on either side toward the sea colour:
/// borders stroked in the sea colour. `None` when too few points can be read.
fn borders_toward(ck: &Checker, p: &Prepared, f: &Frame, sea: [u8; 3]) -> Option<f64> {
    let (mut valid, mut toward) = (0usize, 0usize);
    for ring in &ck.probes.china_main {
        let pts: Vec<(f64, f64)> = ring.iter().map(|q| f.to_px(q[0], q[1])).collect();
        let mut since = f64::INFINITY;
        for w in pts.windows(2) {
            let (dx, dy) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
            let len = (dx * dx + dy * dy).sqrt();
            since += len;
            // one sample every 2 px along the border, on segments long enough to give a normal
            if since < 2.0 || len < 0.5 {
                continue;
            }
            since = 0.0;
            let (nx, ny) = (-dy / len, dx / len);
            let at = |t: f64| {
                p.px(
                    (w[0].0 + nx * t).round() as i64,
                    (w[0].1 + ny * t).round() as i64,
                )
            };
            let (Some(a), Some(b)) = (at(3.0), at(-3.0)) else {
                continue;
            };
            let (da, db) = (cdist(a, sea), cdist(b, sea));
            if da <= 24 || db <= 24 {
                continue;
            }
            valid += 1;
            // the pixel nearest the sea colour across the border (registration within 2 px)
            let c = (-2..=2)
                .filter_map(|t| at(t as f64))
                .map(|c| cdist(c, sea))
                .min()
                .unwrap_or(i32::MAX);
            if 2 * c <= da.min(db) {
                toward += 1;
            }
        }
    }
    tracing::debug!(valid, toward, "china's land border against the sea colour");
    (valid >= 20).then(|| toward as f64 / valid as f64)
}

/// What the inset search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inset {
    None,
    /// A box wholly inside the image.
    Whole,
    /// A box whose frame runs off the image edge with its far side missing: part of the
    /// inset (and of the islands and dash line in it) is cut away.
    CutOff,
}

/// The region `probe_scs` is given to read the inside of a 南海诸岛 inset box.
const INSET: &str = "inset";

/// The South China Sea in a whole 南海诸岛 inset box (found by `inset_present` on the main
/// map in frame `f`). The box's inside is registered on its own, in the main map's projection
/// (`register_inset`), and the dash line is read there as `probe_scs` reads it on a map that
/// reaches the sea. A box whose coasts do not fit, or that cannot be told from the lines
/// around it, is taken as showing the sea: ECharts' box holds the islands and dashes alone,
/// with no coast to register on.
fn scs_in_inset(
    ck: &Checker,
    p: &Prepared,
    f: &Frame,
    inset_read: &mut Option<InsetFrame>,
) -> Finding {
    read_inset(ck, p, f, inset_read, || {
        finding(
            "south_china_sea",
            Status::Ok,
            0.7,
            "South China Sea shown in a 南海诸岛 inset box".into(),
        )
    })
}

/// `scs_in_inset`'s reading, with `shown` for a box that cannot be read: also for a box seen
/// only as a corner of straight edge lines (`box_corner_lower_right`).
fn read_inset(
    ck: &Checker,
    p: &Prepared,
    f: &Frame,
    inset_read: &mut Option<InsetFrame>,
    shown: impl Fn() -> Finding,
) -> Finding {
    let Some(b) = inset_box(p, f) else {
        return shown();
    };
    let Some((q, fi, fit)) = register_inset(ck, p, f, b) else {
        return shown();
    };
    let r = probe_scs(ck, &q, &fi, INSET, &mut None);
    tracing::debug!(?b, fit, status = ?r.status, "south china sea read in the inset");
    match r.status {
        Status::NotShown => shown(),
        status => {
            // (the crop's frame carried back to the whole image)
            *inset_read = Some(InsetFrame {
                inside: b,
                frame: Frame {
                    tx: fi.tx + b[0].floor(),
                    ty: fi.ty + b[1].floor(),
                    ..fi
                },
            });
            finding(
                "south_china_sea",
                status,
                r.confidence,
                format!(
                    "In the 南海诸岛 inset box (its coasts fitted at {fit:.2}): {}",
                    r.message
                ),
            )
        }
    }
}

/// The lon/lat window whose coasts a 南海诸岛 inset box is registered on: the South China Sea
/// and the land around it.
const INSET_WINDOW: [f64; 4] = [99.0, -6.0, 128.0, 27.0];

/// Views a 南海诸岛 inset box is started at, each fitted (at the main map's aspect) inside the
/// box and centred: the dash line's extent (106-123E, 3-24N) with margins from none to a few
/// degrees, and shifted a little either way.
const INSET_VIEWS: [[f64; 4]; 6] = [
    [106.0, 3.0, 123.0, 24.0],
    [105.0, 2.0, 125.0, 25.0],
    [103.0, 0.0, 127.0, 26.0],
    [107.0, 4.0, 122.0, 23.0],
    [104.0, 3.0, 122.0, 24.0],
    [108.0, 1.0, 125.0, 23.0],
];

/// Least share of an inset's coast points on an image edge for its frame to be read.
const INSET_MIN_FIT: f64 = 0.6;
/// Least scale (px per degree) of an inset's frame for it to be read. ECharts' small box, a
/// few dozen pixels for twenty degrees, holds the dashes and islands alone: at its scale they
/// fit the outline of the coasts around them loosely, and the dash line cannot be read there
/// anyway (dashes a pixel or two long).
const INSET_MIN_PPD: f64 = 4.0;
/// Most dash segments an inset frame may leave outside the box (one cut by the box's edge).
const INSET_DASHES_OUT: usize = 1;
/// Least number of coast points inside the box for an inset frame to be scored.
const INSET_MIN_POINTS: usize = 60;
/// Least side of a 南海诸岛 inset box, as a share of the image's smaller side.
const INSET_BOX_MIN: f64 = 0.1;

/// Coast points for `register_inset`: the rings in `INSET_WINDOW` larger than an island speck,
/// every quarter degree. The dash segments and island groups are left out: they are what
/// the inset is read for.
fn inset_coasts(r: &Reference) -> Vec<(f64, f64)> {
    let w = INSET_WINDOW;
    let inside = |q: &(f64, f64)| q.0 > w[0] && q.0 < w[2] && q.1 > w[1] && q.1 < w[3];
    densify(
        r.countries
            .iter()
            .flat_map(|c| c.rings.iter())
            .filter(|ring| crate::reference::ring_area(ring).abs() > 0.05)
            .filter(|ring| ring.iter().any(|q| inside(&(q[0], q[1])))),
        0.25,
    )
    .into_iter()
    .filter(inside)
    .collect()
}

/// The inside of the 南海诸岛 inset box: the largest rectangle of edge lines east of 116E and
/// south of 33N in the main map's frame, each side at least `INSET_BOX_MIN` of the image's
/// smaller side. Coasts drawn up to the box's frame break its lines into pieces (where a line
/// meets a stroke of its own colour there is no edge), so a side counts as drawn when edges
/// lie along `INSET_SIDE_COVER` of it; the image's right and bottom edges stand in for a side
/// that a line runs to. A corner of lines that go on beyond it (a graticule, the frame of the
/// whole plot) is no box's corner.
fn inset_box(p: &Prepared, f: &Frame) -> Option<[f64; 4]> {
    let x0 = f.to_px(116.0, 25.0).0.clamp(0.0, p.w as f64) as usize;
    let y0 = f.to_px(116.0, 33.0).1.clamp(0.0, p.h as f64) as usize;
    let min = ((p.w.min(p.h) as f64 * INSET_BOX_MIN) as usize).max(24);
    if p.w < x0 + min || p.h < y0 + min {
        return None;
    }
    let edge = |x: usize, y: usize| p.edges[y * p.w + x] != 0;
    // share of a row's (column's) stretch with an edge within a pixel of the line
    let row_cover = |y: usize, a: usize, b: usize| {
        let on = (a..=b)
            .filter(|&x| (y.saturating_sub(1)..=(y + 1).min(p.h - 1)).any(|yy| edge(x, yy)))
            .count();
        on as f64 / (b + 1 - a) as f64
    };
    let col_cover = |x: usize, a: usize, b: usize| {
        let on = (a..=b)
            .filter(|&y| (x.saturating_sub(1)..=(x + 1).min(p.w - 1)).any(|xx| edge(xx, y)))
            .count();
        on as f64 / (b + 1 - a) as f64
    };
    // lines: rows (columns) holding a run of edges at least `min` long, neighbours merged
    let lines = |runs: Vec<super::register::Run>, origin: usize| -> Vec<usize> {
        let mut at: Vec<usize> = runs.iter().map(|r| r.at + origin).collect();
        at.dedup_by(|b, a| *b <= *a + 2);
        at
    };
    let (w, h) = (p.w - x0, p.h - y0);
    let rows = lines(long_runs(h, w, min, &|y, x| edge(x0 + x, y0 + y)), y0);
    let cols = lines(long_runs(w, h, min, &|x, y| edge(x0 + x, y0 + y)), x0);
    if rows.is_empty() || cols.is_empty() {
        return None;
    }
    let bottoms: Vec<usize> = rows.iter().copied().chain([p.h - 1]).collect();
    let rights: Vec<usize> = cols.iter().copied().chain([p.w - 1]).collect();
    // the best-drawn box (the least-covered side counts), the larger of two drawn as well:
    // a box widened to a line beyond it (the frame of the whole plot) has a side partly
    // undrawn
    let mut best: Option<([usize; 4], f64, usize)> = None;
    for &top in &rows {
        for &left in &cols {
            // the corner: neither line goes on beyond it
            let beyond = INSET_SIDE_COVER / 2.0;
            if (left >= 8 && row_cover(top, left - 8, left - 3) > beyond)
                || (top >= 8 && col_cover(left, top - 8, top - 3) > beyond)
            {
                continue;
            }
            for &bottom in bottoms.iter().filter(|&&b| b >= top + min) {
                let left_cover = col_cover(left, top, bottom);
                for &right in rights.iter().filter(|&&r| r >= left + min) {
                    let area = (right - left) * (bottom - top);
                    let sides = [
                        row_cover(top, left, right),
                        left_cover,
                        if bottom == p.h - 1 {
                            1.0
                        } else {
                            row_cover(bottom, left, right)
                        },
                        if right == p.w - 1 {
                            1.0
                        } else {
                            col_cover(right, top, bottom)
                        },
                    ];
                    let cover = sides.iter().copied().fold(1.0, f64::min);
                    let better = best
                        .is_none_or(|(_, c, a)| cover > c + 0.02 || (cover > c - 0.02 && area > a));
                    if cover >= INSET_SIDE_COVER && better {
                        best = Some(([left, top, right, bottom], cover, area));
                    }
                }
            }
        }
    }
    let ([l, t, r, b], _, _) = best?;
    tracing::debug!(l, t, r, b, "inset box");
    // inside the lines (a line flags the pixel before it and itself; a pixel more for
    // antialiasing)
    let m = 3.0;
    Some([
        l as f64 + m,
        t as f64 + m,
        r as f64 + 1.0 - m,
        b as f64 + 1.0 - m,
    ])
}

/// Share of a side of a 南海诸岛 inset box along which edges must lie (see `inset_box`).
const INSET_SIDE_COVER: f64 = 0.9;

/// Registers the inside `b` of an inset box on `inset_coasts`, in the main map's projection
/// and aspect (frame `f`): the box's inside as an image of its own, its frame and fit, when
/// the fit reaches `INSET_MIN_FIT` at `INSET_MIN_PPD` or more.
fn register_inset(
    ck: &Checker,
    p: &Prepared,
    f: &Frame,
    b: [f64; 4],
) -> Option<(Prepared, Frame, f64)> {
    let q = p.cropped(b);
    let proj = f.projection;
    let pts = Outline::new(
        ck.probes
            .inset_coasts
            .iter()
            .map(|&(lo, la)| proj.forward(lo, la))
            .collect(),
    );
    let (w, h) = (q.w as f64, q.h as f64);
    let starts: Vec<(&Outline, Frame)> = INSET_VIEWS
        .iter()
        .map(|&v| {
            let pb = projected_bbox(proj, v);
            (
                &pts,
                Frame::centred_in(proj, pb, [0.0, 0.0, w, h], f.sy / f.sx),
            )
        })
        .collect();
    let fit_on = |look: &Prepared| {
        refine_all(
            look,
            &starts,
            INSET_MIN_POINTS,
            false,
            super::FIT_SCHEDULE,
            super::MERGE_PX,
            None,
        )
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
    };
    let (mut fi, mut fit) = fit_on(&q)?;
    // Neighbours drawn a few levels off a white sea (matplotlib's pale grey) show their coasts
    // in faint edges only, as on the main map: a second look with those, the dash line still
    // read on the first.
    if fit < INSET_MIN_FIT
        && let Some(faint) = q.faint(1.0)
        && let Some((g, t)) = fit_on(&faint)
        && t > fit
    {
        (fi, fit) = (g, t);
    }
    tracing::debug!(fit, ppd = fi.px_per_deg(), ?fi, ?b, "inset registration");
    // A 南海诸岛 inset is drawn to hold the whole dash line: a frame that puts part of it
    // outside the box has fitted some other stretch of coast (China's alone, with no
    // neighbours to pin the frame, fits zoomed in on Guangdong).
    let dashes_in = ck
        .reference
        .dashes
        .iter()
        .filter(|d| {
            d.iter().all(|c| {
                let (x, y) = fi.to_px(c[0], c[1]);
                x >= 0.0 && y >= 0.0 && x < w && y < h
            })
        })
        .count();
    tracing::debug!(dashes_in, "inset frame holds the dash line");
    (fit >= INSET_MIN_FIT
        && fi.px_per_deg() >= INSET_MIN_PPD
        && dashes_in + INSET_DASHES_OUT >= ck.reference.dashes.len())
    .then_some((q, fi, fit))
}

/// Where a map of China cut off above the South China Sea stops: the latitude of the image's
/// bottom edge at 114E, when that lies north of `NANSHA_NORTH` (the Nansha islands and the
/// dash line's whole southern half below the picture). None when the map reaches further
/// south.
fn stops_north_of_nansha(p: &Prepared, f: &Frame) -> Option<f64> {
    let (_, y) = f.to_px(114.0, NANSHA_NORTH);
    if y <= p.h as f64 {
        return None;
    }
    // the bottom edge's latitude, by bisection along 114E (every projection in use keeps a
    // meridian's y monotonic in latitude)
    let (mut lo, mut hi) = (NANSHA_NORTH, 60.0);
    for _ in 0..30 {
        let mid = (lo + hi) / 2.0;
        if f.to_px(114.0, mid).1 > p.h as f64 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// Whether straight edge lines meet in a corner right of 122.6E and below 27N, where a China
/// map's inset box lies: a horizontal and a vertical run of edge pixels, each at least
/// `BOX_SIDE` of the image's smaller side, with ends within 3 px of each other.
fn box_corner_lower_right(p: &Prepared, f: &Frame) -> bool {
    use super::register::long_runs;
    let x0 = f.to_px(122.6, 20.0).0.clamp(0.0, p.w as f64) as usize;
    let y0 = f.to_px(120.0, 27.0).1.clamp(0.0, p.h as f64) as usize;
    let (w, h) = (p.w - x0, p.h - y0);
    let min = (p.w.min(p.h) as f64 * BOX_SIDE) as usize;
    if w < min || h < min {
        return false;
    }
    let edge = |x: usize, y: usize| p.edges[(y0 + y) * p.w + x0 + x] != 0;
    let rows = long_runs(h, w, min, &|y, x| edge(x, y));
    let cols = long_runs(w, h, min, &|x, y| edge(x, y));
    let near = |a: usize, b: usize| a.abs_diff(b) <= 3;
    rows.iter().any(|r| {
        cols.iter()
            .any(|c| (near(c.at, r.a) || near(c.at, r.b)) && (near(r.at, c.a) || near(r.at, c.b)))
    })
}

/// Least side of an inset box's lines for `box_corner_lower_right`, as a share of the image's
/// smaller side.
const BOX_SIDE: f64 = 0.12;

/// Latitude of the Nansha (Spratly) islands' northern edge, where a map of the whole of
/// China must reach (or hold them in an inset).
const NANSHA_NORTH: f64 = 12.0;

/// Looks for a rectangular box (an inset frame) in the lower right of the image, outside
/// China's mainland: long vertical and horizontal line runs meeting at a corner.
fn inset_present(p: &Prepared, f: &Frame) -> Inset {
    let (x0, _) = f.to_px(122.6, 20.0);
    let (_, y0) = f.to_px(120.0, 27.0);
    let x0 = x0.clamp(0.0, p.w as f64) as usize;
    let y0 = y0.clamp(0.0, p.h as f64) as usize;
    if x0 + 10 >= p.w || y0 + 10 >= p.h {
        return Inset::None;
    }
    let found = inset_on(p, x0, y0, p.bg);
    if found != Inset::None {
        return found;
    }
    // A map drawn on a plot area of its own colour inside a wider picture (a chart container
    // taller than the map, a page margin, ggplot's panel): around the inset lies the plot
    // area's colour, not the picture border's, and the frame lines are read against it.
    // The plot area's colour is read where a China map's inset usually lies, beside the
    // mainland's south-east coast (to 136E and 15N), not out in the margin.
    let tol = if p.lossy { INSET_LOSSY_TOL } else { 4 };
    let (x1, _) = f.to_px(136.0, 20.0);
    let (_, y1) = f.to_px(120.0, 15.0);
    let x1 = (x1.max(0.0) as usize).clamp(x0 + 1, p.w);
    let y1 = (y1.max(0.0) as usize).clamp(y0 + 1, p.h);
    let mut hist = std::collections::HashMap::<[u8; 3], usize>::new();
    for y in y0..y1 {
        for &c in &p.rgb[y * p.w + x0..y * p.w + x1] {
            if cdist(c, p.bg) > tol {
                *hist.entry(c).or_default() += 1;
            }
        }
    }
    let area = ((y1 - y0) * (x1 - x0)) as f64;
    match hist.into_iter().max_by_key(|&(c, n)| (n, c)) {
        Some((local, n)) if n as f64 >= LOCAL_BG_SHARE * area => {
            let share = n as f64 / area;
            tracing::debug!(?local, share, "inset search on the plot area's colour");
            inset_on(p, x0, y0, local)
        }
        _ => Inset::None,
    }
}

/// Share of the inset search area that one colour other than the picture border's must cover
/// to stand for the plot area's background there.
const LOCAL_BG_SHARE: f64 = 0.3;

/// The inset search in the area right of and below (`x0`, `y0`), on background colour `bg`.
/// An image edge counts as reached by a line only where it differs from both `bg` and the
/// picture's border colour.
fn inset_on(p: &Prepared, x0: usize, y0: usize, bg: [u8; 3]) -> Inset {
    let minlen = ((p.h.min(p.w) as f64) * 0.06).max(8.0) as usize;
    // a column (row) holding a long run: its index, and where its longest run starts and ends
    type Run = (usize, usize, usize);
    // A frame line is a few pixels thick. Neighbouring columns (rows) that all hold a long run
    // form a band; a band wider than that is a filled shape, such as the Philippines or
    // Borneo in a map whose main frame reaches the South China Sea.
    // A line also stands clear: beside the band, on both sides, the background shows along
    // most of the run (the edge of a landmass has land on one side).
    // JPEG noise strays several levels from a flat background (7 on a dark one at q65)
    let tol = if p.lossy { INSET_LOSSY_TOL } else { 4 };
    let line_max = if p.lossy {
        INSET_LINE_MAX_LOSSY
    } else {
        INSET_LINE_MAX
    };
    // the picture's border colour, where it differs from `bg`, is background too
    let page = |c: [u8; 3], t: i32| bg != p.bg && cdist(c, p.bg) <= t;
    // Whether pixel i is off both by more than `tol` (`!off`; a frame line's pixel when not
    // faint), from two masks over the rows from y0 (the search area and the rows' parts left
    // of it, which the lines read most): the pixels off `bg` by more than `tol`, and, where
    // `bg` is not the border colour, those off that by more. Pixels above y0 (a line
    // followed back up) are compared one by one.
    let base = y0 * p.w;
    let off_bg = ink_mask(&p.rgb[base..], bg, tol);
    let off_page = (bg != p.bg).then(|| ink_mask(&p.rgb[base..], p.bg, tol));
    let ink = |i: usize| match i.checked_sub(base) {
        Some(k) => off_bg[k] && off_page.as_ref().is_none_or(|m| m[k]),
        None => cdist(p.rgb[i], bg) > tol && !page(p.rgb[i], tol),
    };
    // (out of the image is off)
    let off = |x: i64, y: i64| p.index(x, y).is_none_or(|i| !ink(i));
    let thin = |lines: Vec<Run>, vertical: bool| -> Vec<Run> {
        let mut out = Vec::new();
        let mut start = 0;
        for k in 1..=lines.len() {
            if k == lines.len() || lines[k].0 != lines[k - 1].0 + 1 {
                let band = &lines[start..k];
                let (b0, b1) = (band[0].0 as i64 - 2, band[band.len() - 1].0 as i64 + 2);
                let clear = band.iter().all(|&(_, a, b)| {
                    let n = (a..=b)
                        .filter(|&t| {
                            let t = t as i64;
                            if vertical {
                                off(b0, t) && off(b1, t)
                            } else {
                                off(t, b0) && off(t, b1)
                            }
                        })
                        .count();
                    n as f64 >= 0.6 * (b + 1 - a) as f64
                });
                if band.len() <= line_max && clear {
                    out.extend_from_slice(band);
                }
                start = k;
            }
        }
        out
    };
    // a frame line is a run of pixels off the background; a faint frame (a near-white stroke
    // on white, as some libraries draw it) is a run of one steady colour just off the
    // background, which JPEG noise and anti-aliased coastlines do not make over this length
    let lines = |faint: bool| -> (Vec<Run>, Vec<Run>) {
        let on = |i: usize, prev: Option<usize>| -> bool {
            if !faint {
                return ink(i);
            }
            let d = cdist(p.rgb[i], bg);
            (2..=FAINT_MAX).contains(&d)
                && !page(p.rgb[i], 1)
                && prev.is_none_or(|j| cdist(p.rgb[i], p.rgb[j]) <= 1)
        };
        // A run that starts where the search starts and goes on beyond it, farther than its own
        // length, is part of a longer line: a frame around the whole plot (matplotlib's axes)
        // or a graticule line, whose corner with the bottom line passes for an inset box.
        let continues = |at: usize, start: usize, len: usize, vertical: bool| -> bool {
            if start != if vertical { y0 } else { x0 } {
                return false;
            }
            let idx = |t: usize| if vertical { t * p.w + at } else { at * p.w + t };
            let last = line_reaches_back(start, 0, 0, |t, last| on(idx(t), last.map(idx)));
            start - last > len
        };
        let mut vcols = Vec::new();
        for x in x0..p.w {
            let (mut run, mut best) = (0usize, (0usize, 0usize));
            for y in y0..p.h {
                let i = y * p.w + x;
                if on(i, (run > 0).then(|| i - p.w)) {
                    run += 1;
                    if run > best.0 {
                        best = (run, y);
                    }
                } else {
                    run = 0;
                }
            }
            if best.0 >= minlen && !continues(x, best.1 + 1 - best.0, best.0, true) {
                vcols.push((x, best.1 + 1 - best.0, best.1));
            }
        }
        let mut hrows = Vec::new();
        for y in y0..p.h {
            let (mut run, mut best) = (0usize, (0usize, 0usize));
            for x in x0..p.w {
                let i = y * p.w + x;
                if on(i, (run > 0).then(|| i - 1)) {
                    run += 1;
                    if run > best.0 {
                        best = (run, x);
                    }
                } else {
                    run = 0;
                }
            }
            if best.0 >= minlen && !continues(y, best.1 + 1 - best.0, best.0, false) {
                hrows.push((y, best.1 + 1 - best.0, best.1));
            }
        }
        (thin(vcols, true), thin(hrows, false))
    };
    let (vcols, hrows) = lines(false);
    // A box's sides meet at its corners: a vertical line's run and a horizontal line's run
    // both end where they meet (within 2 px). Landmasses in the corner of the map make long
    // runs too, but they cross each other in the middle of the land (Luzon at 480 px) or do
    // not meet at all (Luzon upright, Borneo across). JPEG blurs a faint line's ends over a
    // pixel more.
    let reach = if p.lossy { 3 } else { 2 };
    let found = |v: &[Run], h: &[Run]| {
        let near = |a: usize, b: usize| a.abs_diff(b) <= reach;
        v.len() < 20
            && h.len() < 20
            && v.iter().any(|&(x, ys, ye)| {
                h.iter().any(|&(y, xs, xe)| {
                    (near(y, ys) || near(y, ye)) && (near(x, xs) || near(x, xe))
                })
            })
    };
    // cut off: one side of the frame only, and the lines across it reach the image edge
    let judge = |v: &[Run], h: &[Run], t: i32| -> Inset {
        let v: Vec<usize> = v.iter().map(|r| r.0).collect();
        let h: Vec<usize> = h.iter().map(|r| r.0).collect();
        let off = |i: usize| cdist(p.rgb[i], bg) >= t && cdist(p.rgb[i], p.bg) >= t;
        let one = |v: &[usize]| v.last().zip(v.first()).is_some_and(|(b, a)| b - a <= 4);
        let to_right = h
            .iter()
            .all(|&y| off(y * p.w + p.w - 1) || off(y * p.w + p.w - 2));
        let to_bottom = v
            .iter()
            .all(|&x| off((p.h - 1) * p.w + x) || off((p.h - 2) * p.w + x));
        if (one(&v) && to_right) || (one(&h) && to_bottom) {
            Inset::CutOff
        } else {
            Inset::Whole
        }
    };
    tracing::debug!(?vcols, ?hrows, "inset frame lines");
    if found(&vcols, &hrows) {
        return judge(&vcols, &hrows, tol + 1);
    }
    if vcols.is_empty() || hrows.is_empty() {
        let (fv, fh) = lines(true);
        tracing::debug!(?fv, ?fh, "faint inset search");
        if found(&fv, &fh) {
            return judge(&fv, &fh, 2);
        }
    }
    // a box: a frame line in each direction (faint right/bottom lines may vanish when
    // downscaled), and not a filled block
    tracing::debug!(x0, y0, minlen, ?vcols, ?hrows, "inset search");
    // A frame drawn over land or a coloured sea (the runs above then cover whole filled
    // areas): thin straight lines, one steady colour that differs from the pixels two to
    // either side, meeting at a corner. A graticule crosses, it does not end at a corner;
    // a border around the whole picture is longer than half the image.
    if thin_box_corner(p, x0, y0, minlen) {
        return Inset::Whole;
    }
    Inset::None
}

/// Walking back along a line from position `start` (exclusive) down to `floor`: the last
/// position where `shows(t, last)` holds (`last`: the previous such position), across gaps of
/// at most `max_gap` positions where it does not; `start` when the line does not go on.
fn line_reaches_back(
    start: usize,
    floor: usize,
    max_gap: usize,
    shows: impl Fn(usize, Option<usize>) -> bool,
) -> usize {
    let (mut last, mut gap) = (None, 0);
    for t in (floor..start).rev() {
        if shows(t, last) {
            last = Some(t);
            gap = 0;
        } else {
            gap += 1;
            if gap > max_gap {
                break;
            }
        }
    }
    last.unwrap_or(start)
}

/// Whether a thin vertical and a thin horizontal line, each at least `minlen` long and at most
/// half the image, meet at a corner in the region right of `x0` and below `y0`.
fn thin_box_corner(p: &Prepared, x0: usize, y0: usize, minlen: usize) -> bool {
    let thin = |i: usize, a: usize, b: usize| -> bool {
        let c = p.rgb[i];
        cdist(c, p.rgb[a]) > 20 && cdist(c, p.rgb[b]) > 20
    };
    // How far a thin line goes on before a run of it starts, across gaps of up to 3 px (tick
    // marks cut an axis line): a run that is the end of a longer line reaching back beyond
    // the search's start belongs to a frame around the whole plot (matplotlib's axes), not
    // to an inset box (see `inset_present`).
    let part_of_longer = |at: usize, start: usize, len: usize, vertical: bool| -> bool {
        let idx = |t: usize| if vertical { t * p.w + at } else { at * p.w + t };
        let colour = p.rgb[idx(start)];
        let last_on = line_reaches_back(start, 2, 3, |t, _| {
            let i = idx(t);
            // a line's pixels differ from those two to either side of it
            let (a, b) = if vertical {
                (i - 2, i + 2)
            } else {
                (i - 2 * p.w, i + 2 * p.w)
            };
            thin(i, a, b) && cdist(p.rgb[i], colour) <= 8
        });
        let region_start = if vertical { y0 } else { x0 };
        start - last_on > len && last_on < region_start
    };
    let mut vruns: Vec<(usize, usize, usize)> = Vec::new();
    for x in x0.max(2)..p.w.saturating_sub(2) {
        let mut start: Option<usize> = None;
        for y in y0..=p.h {
            let on = y < p.h && {
                let i = y * p.w + x;
                thin(i, i - 2, i + 2)
                    && (start.is_none() || y == 0 || cdist(p.rgb[i], p.rgb[i - p.w]) <= 8)
            };
            match (on, start) {
                (true, None) => start = Some(y),
                (false, Some(s)) => {
                    if y - s >= minlen && y - s <= p.h / 2 && !part_of_longer(x, s, y - s, true) {
                        vruns.push((x, s, y - 1));
                    }
                    start = None;
                }
                _ => {}
            }
        }
    }
    if vruns.is_empty() {
        return false;
    }
    let mut hruns: Vec<(usize, usize, usize)> = Vec::new();
    for y in y0.max(2)..p.h.saturating_sub(2) {
        let mut start: Option<usize> = None;
        for x in x0..=p.w {
            let on = x < p.w && {
                let i = y * p.w + x;
                thin(i, i - 2 * p.w, i + 2 * p.w)
                    && (start.is_none() || x == 0 || cdist(p.rgb[i], p.rgb[i - 1]) <= 8)
            };
            match (on, start) {
                (true, None) => start = Some(x),
                (false, Some(s)) => {
                    if x - s >= minlen && x - s <= p.w / 2 && !part_of_longer(y, s, x - s, false) {
                        hruns.push((y, s, x - 1));
                    }
                    start = None;
                }
                _ => {}
            }
        }
    }
    let near = |a: usize, b: usize| a.abs_diff(b) <= 2;
    tracing::debug!(?vruns, ?hruns, "thin box runs");
    vruns.iter().any(|&(x, ya, yb)| {
        hruns
            .iter()
            .any(|&(y, xa, xb)| (near(x, xa) || near(x, xb)) && (near(y, ya) || near(y, yb)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pixels of a small Taiwan in China's fill on a world choropleth (d3, Oranges on an
    /// ocean tint) scaled to 60% with a Lanczos filter: of its two solid pixels one came out 20
    /// levels darker than the fill, so only one counted, and its blends with the sea were
    /// then read as a fill of its own. Darker or paler classes of the palette stay apart.
    #[test]
    fn fill_darkened_by_a_downscaling_filter_still_shows_the_mainland() {
        let (cc, sea) = ([166, 54, 3], [205, 230, 245]);
        assert!(mainland_px([164, 43, 1], cc, sea));
        assert!(
            mainland_px([160, 34, 0], cc, sea),
            "overshoot past the fill"
        );
        assert!(
            !mainland_px([199, 136, 107], cc, sea),
            "a blend with the sea"
        );
        for other in [[127, 39, 4], [217, 72, 1], [241, 105, 19], [253, 208, 162]] {
            assert!(!mainland_px(other, cc, sea), "another class {other:?}");
        }
        // a lighter class overshot away from a white sea is not the darker one's fill
        assert!(!mainland_px(
            [241, 105, 19],
            [253, 141, 60],
            [255, 255, 255]
        ));
    }

    /// A 南海诸岛 box on a blue sea as a JPEG shows it: each 2 px frame line with the ringing
    /// beside it makes a band of 5 rows (columns) off the sea by more than the lossy
    /// tolerance. Read as too wide for a frame line, the box went unseen (ECharts 5's China
    /// map in JPEG was flagged for a missing dash line).
    #[test]
    fn inset_frame_lines_widened_by_jpeg_ringing_are_seen_in_a_lossy_image() {
        let sea = [170, 210, 235];
        // (no column of it stands out from those two to either side by more than 20 levels,
        // so it is not a thin line of its own either)
        let band = [
            [160, 214, 248],
            [180, 200, 215],
            [175, 195, 210],
            [178, 198, 212],
            [182, 215, 225],
        ];
        let (w, h) = (600, 500);
        let mut rgb = vec![sea; w * h];
        let (x0, y0, x1, y1) = (450, 320, 560, 470);
        for (k, &c) in band.iter().enumerate() {
            for y in y0..y1 + band.len() {
                rgb[y * w + x0 + k] = c;
                rgb[y * w + x1 + k] = c;
            }
            for x in x0..x1 + band.len() {
                rgb[(y0 + k) * w + x] = c;
                rgb[(y1 + k) * w + x] = c;
            }
        }
        let mut p = Prepared::new(w, h, rgb);
        assert_eq!(p.bg, sea);
        p.lossy = true;
        assert_eq!(inset_on(&p, x0 - 40, y0 - 40, sea), Inset::Whole);
    }
}
