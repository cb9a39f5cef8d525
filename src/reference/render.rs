//! Draws map images from the reference geometry: any projection, box, size and style, with
//! switches that reproduce each violation. Used by the tests (fixtures) and the demo.
use super::project::{Frame, Projection, projected_bbox, relative_lon};
use super::raster::{Mask, fill_px, stroke_px};
use super::{Reference, Ring};
use std::fmt::Write as _;

/// Colours of a rendered map.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub background: [u8; 3],
    pub land: [u8; 3],
    pub china: [u8; 3],
    pub india: [u8; 3],
    /// Fill of Taiwan when drawn as a separate country.
    pub separate: [u8; 3],
    pub boundary: [u8; 3],
    pub dash: [u8; 3],
}

impl Style {
    /// China highlighted in red, other countries grey, white background.
    pub fn highlight() -> Style {
        Style {
            background: [255, 255, 255],
            land: [208, 214, 220],
            china: [214, 48, 49],
            india: [208, 214, 220],
            separate: [208, 214, 220],
            boundary: [255, 255, 255],
            dash: [90, 90, 90],
        }
    }
    /// Every country the same fill (boundaries only).
    pub fn uniform() -> Style {
        Style {
            background: [255, 255, 255],
            land: [204, 204, 204],
            china: [204, 204, 204],
            india: [204, 204, 204],
            separate: [204, 204, 204],
            boundary: [255, 255, 255],
            dash: [120, 120, 120],
        }
    }
    /// Outlines only.
    pub fn outline() -> Style {
        Style {
            background: [255, 255, 255],
            land: [255, 255, 255],
            china: [255, 255, 255],
            india: [255, 255, 255],
            separate: [255, 255, 255],
            boundary: [60, 60, 60],
            dash: [60, 60, 60],
        }
    }
    /// Dark theme, one fill, light boundaries.
    pub fn dark() -> Style {
        Style {
            background: [40, 40, 44],
            land: [30, 60, 100],
            china: [30, 60, 100],
            india: [30, 60, 100],
            separate: [30, 60, 100],
            boundary: [140, 170, 200],
            dash: [140, 170, 200],
        }
    }
    /// Each country its own colour.
    pub fn choropleth() -> Style {
        Style {
            background: [220, 235, 250],
            land: [161, 217, 155],
            china: [49, 130, 189],
            india: [253, 174, 107],
            separate: [188, 128, 189],
            boundary: [255, 255, 255],
            dash: [50, 50, 50],
        }
    }
    /// Every style with the name `render_map`, the comparison set and the tests give it.
    pub fn named() -> [(&'static str, Style); 5] {
        [
            ("highlight", Style::highlight()),
            ("uniform", Style::uniform()),
            ("outline", Style::outline()),
            ("dark", Style::dark()),
            ("choropleth", Style::choropleth()),
        ]
    }
}

/// A named view of the map: an extent and a size, as `render_map`, the comparison set and the
/// bench name them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// lon_min, lat_min, lon_max, lat_max.
    pub bbox: [f64; 4],
    pub width: u32,
    /// 0: at the projection's own aspect (`RenderSpec::at_aspect`).
    pub height: u32,
}

impl View {
    /// The inhabited world, without Antarctica.
    pub const WORLD: [f64; 4] = [-180.0, -58.0, 180.0, 83.7];
    /// China without the South China Sea below Hainan.
    pub const CHINA: [f64; 4] = [73.0, 17.5, 136.0, 54.0];
    /// China with the South China Sea and its dash segments.
    pub const CHINA_SCS: [f64; 4] = [73.0, 3.0, 136.0, 54.0];
    /// India, Nepal, Bhutan and the disputed zones on China's south-west.
    pub const SOUTH_ASIA: [f64; 4] = [66.0, 6.0, 100.0, 37.0];
    /// Asia as Highcharts draws it.
    pub const ASIA: [f64; 4] = [45.0, -11.0, 150.0, 70.0];

    /// The view a name stands for:
    /// - `world` (1200x620), `world_small` (640x330), `world_900` (900x360);
    /// - `china`, `china_scs` (900x700), `south_asia` (900x820), `asia` (900 wide);
    /// - `world_aspect_W`: the world W px wide; `globe_aspect_W`: the whole sphere, Antarctica
    ///   included (d3's fitSize of the sphere);
    /// - `bbox_LON0_LAT0_LON1_LAT1_W`: that extent, W px wide.
    ///
    /// Views with a width alone keep the projection's own aspect, as chart libraries draw.
    pub fn named(name: &str) -> Option<View> {
        let fixed = |bbox, width, height| {
            Some(View {
                bbox,
                width,
                height,
            })
        };
        let width = |w: &str| w.parse::<u32>().ok().filter(|&w| w > 0);
        match name {
            "world" => fixed(View::WORLD, 1200, 620),
            "world_small" => fixed(View::WORLD, 640, 330),
            "world_900" => fixed(View::WORLD, 900, 360),
            "china" => fixed(View::CHINA, 900, 700),
            "china_scs" => fixed(View::CHINA_SCS, 900, 700),
            "south_asia" => fixed(View::SOUTH_ASIA, 900, 820),
            "asia" => fixed(View::ASIA, 900, 0),
            _ => {
                if let Some(w) = name.strip_prefix("world_aspect_") {
                    return fixed(View::WORLD, width(w)?, 0);
                }
                if let Some(w) = name.strip_prefix("globe_aspect_") {
                    return fixed([-180.0, -90.0, 180.0, 90.0], width(w)?, 0);
                }
                let v: Vec<f64> = name
                    .strip_prefix("bbox_")?
                    .split('_')
                    .map(|x| x.parse().ok())
                    .collect::<Option<_>>()?;
                let [lon0, lat0, lon1, lat1, w] = v[..] else {
                    return None;
                };
                let ok = lon0 < lon1 && lat0 < lat1 && w >= 1.0 && w.fract() == 0.0;
                ok.then_some(View {
                    bbox: [lon0, lat0, lon1, lat1],
                    width: w as u32,
                    height: 0,
                })
            }
        }
    }

    /// The spec that draws this view in `projection` and `style`, with no switch set.
    pub fn spec(self, projection: Projection, style: Style) -> RenderSpec {
        if self.height == 0 {
            RenderSpec::at_aspect(projection, self.bbox, self.width, style)
        } else {
            RenderSpec::new(projection, self.bbox, self.width, self.height, style)
        }
    }
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct RenderSpec {
    pub projection: Projection,
    /// lon_min, lat_min, lon_max, lat_max of the view.
    pub bbox: [f64; 4],
    pub width: u32,
    pub height: u32,
    pub style: Style,
    /// Draw Zangnan as India (boundary along the McMahon line); with `china_alone`, leave it
    /// out of China.
    pub zangnan_as_india: bool,
    /// Draw Aksai Chin as India.
    pub aksai_chin_as_india: bool,
    /// Draw Taiwan in the separate-country colour.
    pub taiwan_separate: bool,
    /// Leave Taiwan out of the map.
    pub taiwan_missing: bool,
    /// Draw the ten dash segments in place.
    pub dashes: bool,
    /// Draw a 南海诸岛 inset box at the lower right.
    pub inset: bool,
    /// Draw the ten dash segments in the inset (a map whose inset holds the islands alone
    /// when false).
    pub inset_dashes: bool,
    /// Draw China alone (as most China maps do), without the neighbouring countries.
    pub china_alone: bool,
    /// Draw only these countries (reference names) besides China, e.g. `ASIA_COUNTRIES` for a
    /// map of Asia alone; `None` draws every country.
    pub countries_only: Option<&'static [&'static str]>,
    pub boundary_px: f64,
}

impl RenderSpec {
    /// A map `width` px wide whose height keeps the projected box's own aspect, as chart
    /// libraries draw it (`new` stretches the box to any size).
    pub fn at_aspect(projection: Projection, bbox: [f64; 4], width: u32, style: Style) -> Self {
        let pb = super::project::projected_bbox(projection, bbox);
        let height = (width as f64 * (pb[3] - pb[1]) / (pb[2] - pb[0])).round() as u32;
        Self::new(projection, bbox, width, height.max(1), style)
    }

    pub fn new(
        projection: Projection,
        bbox: [f64; 4],
        width: u32,
        height: u32,
        style: Style,
    ) -> Self {
        RenderSpec {
            projection,
            bbox,
            width,
            height,
            style,
            zangnan_as_india: false,
            aksai_chin_as_india: false,
            taiwan_separate: false,
            taiwan_missing: false,
            dashes: true,
            inset: false,
            inset_dashes: true,
            china_alone: false,
            countries_only: None,
            boundary_px: 1.0,
        }
    }
    /// The switches `switch_on` knows.
    pub const SWITCHES: [&'static str; 8] = [
        "zangnan",
        "aksai_chin",
        "taiwan",
        "no_dashes",
        "inset",
        "inset_no_dashes",
        "alone",
        "asia_only",
    ];

    /// Sets a switch by name: `zangnan`, `aksai_chin` (drawn as India), `taiwan` (as a
    /// separate country), `no_dashes`, `inset`, `inset_no_dashes` (an inset with the islands
    /// alone), `alone` (China without its neighbours), `asia_only` (the countries of Asia
    /// alone). False for a name it does not know.
    pub fn switch_on(&mut self, name: &str) -> bool {
        match name {
            "zangnan" => self.zangnan_as_india = true,
            "aksai_chin" => self.aksai_chin_as_india = true,
            "taiwan" => self.taiwan_separate = true,
            "no_dashes" => self.dashes = false,
            "inset" => self.inset = true,
            "inset_no_dashes" => {
                self.inset = true;
                self.inset_dashes = false;
            }
            "alone" => self.china_alone = true,
            "asia_only" => self.countries_only = Some(&super::ASIA_COUNTRIES),
            _ => return false,
        }
        true
    }

    /// The frame that maps `bbox` onto the image.
    pub fn frame(&self) -> Frame {
        let pb = projected_bbox(self.projection, self.bbox);
        Frame::fit(
            self.projection,
            pb,
            [0.0, 0.0, self.width as f64, self.height as f64],
        )
    }
}

const BACKGROUND: u8 = 0;
const LAND: u8 = 1;
const CHINA: u8 = 2;
const INDIA: u8 = 3;
const SEP: u8 = 4;
const LINE: u8 = 5;
const DASH: u8 = 6;

fn colour(st: &Style, i: u8) -> [u8; 3] {
    match i {
        LAND => st.land,
        CHINA => st.china,
        INDIA => st.india,
        SEP => st.separate,
        LINE => st.boundary,
        DASH => st.dash,
        _ => st.background,
    }
}

fn in_box(r: &Ring, b: [f64; 4]) -> bool {
    r.iter()
        .all(|p| p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3])
}

struct Layers<'a> {
    fills: Vec<(u8, Vec<&'a Ring>)>,
    /// Rings to stroke; `true` marks China's rings (in China's view).
    strokes: Vec<(&'a Ring, bool)>,
}

fn layers<'a>(r: &'a Reference, spec: &RenderSpec) -> Layers<'a> {
    let tw_box = [119.0, 21.5, 122.6, 25.6];
    let mut fills: Vec<(u8, Vec<&Ring>)> = Vec::new();
    let mut strokes: Vec<(&Ring, bool)> = Vec::new();
    for c in &r.countries {
        if c.name == "China"
            || c.name == "Taiwan"
            || spec.china_alone
            || spec
                .countries_only
                .is_some_and(|only| !only.contains(&c.name.as_str()))
        {
            continue;
        }
        fills.push((
            if c.name == "India" { INDIA } else { LAND },
            c.rings.iter().collect(),
        ));
        strokes.extend(c.rings.iter().map(|r| (r, false)));
    }
    // China's view: every ring of China except the small dash polygons (drawn as lines).
    let china: Vec<&Ring> = r
        .china
        .iter()
        .filter(|ring| {
            super::ring_area(ring).abs() > 0.02 || !in_box(ring, [105.0, 3.0, 123.5, 21.5])
        })
        .filter(|ring| !(spec.taiwan_missing || spec.taiwan_separate) || !in_box(ring, tw_box))
        .collect();
    strokes.extend(china.iter().map(|r| (*r, true)));
    fills.push((CHINA, china));
    // Zangnan drawn as India's: painted with India, or on a map of China alone, left out
    // (India's rings overlap China's only in the disputed zones)
    if spec.zangnan_as_india
        && let Some(india) = r.country("India")
    {
        let fill = if spec.china_alone { BACKGROUND } else { INDIA };
        fills.push((fill, india.rings.iter().collect()));
    }
    if spec.taiwan_separate
        && let Some(t) = r.country("Taiwan")
    {
        fills.push((SEP, t.rings.iter().collect()));
        strokes.extend(t.rings.iter().map(|r| (r, false)));
    }
    Layers { fills, strokes }
}

/// Renders the map as an RGB8 buffer (row-major, width * height * 3).
pub fn render_rgb(r: &Reference, spec: &RenderSpec) -> Vec<u8> {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let frame = spec.frame();
    let mut canvas = Mask::new(w, h);
    // (every row: the canvas is the whole picture)
    canvas.cover(0, h);
    draw_into(r, spec, &frame, &mut canvas);
    if spec.inset {
        // 南海诸岛 inset: lower right, 1/5 of the width, South China Sea 105-123E 3-24N.
        let iw = (w as f64 * 0.16).max(12.0);
        let ih = iw * 1.35;
        let (x1, y1) = (w as f64 - 4.0, h as f64 - 4.0);
        let (x0, y0) = (x1 - iw, y1 - ih);
        let mut sub = spec.clone();
        sub.bbox = [106.0, 3.0, 123.0, 24.0];
        sub.inset = false;
        sub.dashes = spec.inset_dashes;
        // at the main map's aspect (as a library draws an inset), the view centred in the box
        let pb = projected_bbox(sub.projection, sub.bbox);
        let f = Frame::centred_in(sub.projection, pb, [x0, y0, x1, y1], frame.sy / frame.sx);
        let mut box_mask = Mask::new(w, h);
        fill_px(
            &mut box_mask,
            &[vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)]],
            1,
        );
        let mut inner = Mask::new(w, h);
        draw_into(r, &sub, &f, &mut inner);
        for i in box_mask.set_pixels() {
            canvas.set(i, inner.at(i));
        }
        stroke_px(
            &mut canvas,
            &[(x0, y0), (x1, y0), (x1, y1), (x0, y1)],
            true,
            1.0,
            DASH,
        );
    }
    let mut out = Vec::with_capacity(w * h * 3);
    for i in canvas.to_vec() {
        out.extend_from_slice(&colour(&spec.style, i));
    }
    out
}

fn draw_into(r: &Reference, spec: &RenderSpec, frame: &Frame, canvas: &mut Mask) {
    let l = layers(r, spec);
    for (val, rings) in &l.fills {
        let px = unwrap_antimeridian(frame, rings);
        let mut m = Mask::new(canvas.w, canvas.h);
        fill_px(&mut m, &px, 1);
        for i in m.set_pixels() {
            canvas.set(i, *val);
        }
    }
    if spec.aksai_chin_as_india
        && let Some(z) = r.zone("aksai_chin")
    {
        // each cell's four corners projected: in a projection whose x depends on latitude
        // (Robinson, the conics) cells drawn as boxes from two corners left gaps between them,
        // a hatching of China's fill through the zone rather than India's fill
        let half = super::ZONE_STEP / 2.0;
        for (lon, lat) in z.cells() {
            let cell = [(-half, -half), (half, -half), (half, half), (-half, half)]
                .map(|(dx, dy)| frame.to_px(lon + dx, lat + dy))
                .to_vec();
            fill_px(canvas, &[cell], INDIA);
        }
        // India's claim line along the zone's east and north edges.
        let [x0, y0, x1, y1] = super::build::AKSAI_CHIN_BOX;
        let edge = [(x1, y0), (x1, y1), (x0, y1)];
        let pts: Vec<(f64, f64)> = edge.iter().map(|p| frame.to_px(p.0, p.1)).collect();
        stroke_px(canvas, &pts, false, spec.boundary_px, LINE);
    }
    // Inside Zangnan one of the two lines through it is no boundary: drawn as India, China's
    // claim line (China's ring where it runs inside India); in China's view, India's
    // default-view ring along the McMahon line (where it runs inside China)
    let india: &[Ring] = r
        .country("India")
        .map(|c| c.rings.as_slice())
        .unwrap_or(&[]);
    let no_boundary = |p: &[f64; 2], is_china: bool| {
        // Aksai Chin drawn as India: China's line through the zone's box (China's and India's
        // rings in China's view) is no boundary; India's claim line is drawn above
        let [x0, y0, x1, y1] = super::build::AKSAI_CHIN_BOX;
        if spec.aksai_chin_as_india && p[0] > x0 && p[0] < x1 && p[1] > y0 && p[1] < y1 {
            return true;
        }
        let other: &[Ring] = match (spec.zangnan_as_india, is_china) {
            (true, true) => india,
            (false, false) => &r.china,
            _ => return false,
        };
        p[0] > 91.5
            && p[0] < 97.5
            && p[1] > 26.5
            && p[1] < 29.5
            && super::build::point_in(other, p[0], p[1])
    };
    for &(ring, is_china) in &l.strokes {
        // split at antimeridian jumps so no line crosses the whole map
        let mut part: Vec<(f64, f64)> = Vec::new();
        let mut cut = false;
        for (i, p) in ring.iter().enumerate() {
            if no_boundary(p, is_china) {
                stroke_px(canvas, &part, false, spec.boundary_px, LINE);
                part.clear();
                cut = true;
                continue;
            }
            if i > 0 && crosses_seam(frame, p[0], ring[i - 1][0]) {
                stroke_px(canvas, &part, false, spec.boundary_px, LINE);
                part.clear();
            }
            part.push(frame.to_px(p[0], p[1]));
        }
        if cut {
            stroke_px(canvas, &part, false, spec.boundary_px, LINE);
            continue;
        }
        if let (Some(a), Some(b)) = (ring.first(), ring.last())
            && !crosses_seam(frame, a[0], b[0])
            && let Some(first) = part.first().copied()
            && part.len() == ring.len()
        {
            part.push(first);
        }
        stroke_px(canvas, &part, false, spec.boundary_px, LINE);
    }
    if spec.dashes {
        for d in &r.dashes {
            let pts: Vec<(f64, f64)> = d.iter().map(|p| frame.to_px(p[0], p[1])).collect();
            stroke_px(canvas, &pts, false, (spec.boundary_px * 1.5).max(1.5), DASH);
        }
    }
}

/// Whether a step between longitudes `a` and `b` jumps across the map's seam (the meridian
/// opposite `Projection::world_middle`).
fn crosses_seam(frame: &Frame, a: f64, b: f64) -> bool {
    let lon0 = frame.projection.world_middle();
    (relative_lon(a, lon0) - relative_lon(b, lon0)).abs() > 180.0
}

/// Projects rings for filling; a ring that jumps across the seam (the antimeridian, or the
/// meridian opposite a centred projection's middle: Russia and Fiji, or Greenland for a map
/// centred on the Pacific) is unwrapped to continuous longitudes and cut there, its eastern
/// part drawn one turn west (whole in a conic, which wraps longitudes itself; Antarctica is
/// left out there, its ring round the pole would cover the sea).
fn unwrap_antimeridian(frame: &Frame, rings: &[&Ring]) -> Vec<Vec<(f64, f64)>> {
    let conic = frame.projection.is_conic();
    let lon0 = frame.projection.world_middle();
    let rel = |lon: f64| relative_lon(lon, lon0);
    let mut out = Vec::new();
    for r in rings {
        if conic && r.iter().any(|p| p[1] < -60.0) {
            continue;
        }
        let jumps = r.windows(2).any(|w| crosses_seam(frame, w[0][0], w[1][0]));
        if !jumps {
            out.push(r.iter().map(|p| frame.to_px(p[0], p[1])).collect());
            continue;
        }
        // longitudes east of the central meridian, unwrapped to 0..360
        let east: Vec<[f64; 2]> = r
            .iter()
            .map(|p| {
                let x = rel(p[0]);
                [if x < 0.0 { x + 360.0 } else { x }, p[1]]
            })
            .collect();
        if conic {
            out.push(east.iter().map(|p| frame.to_px(p[0], p[1])).collect());
            continue;
        }
        // the part west of the seam, and the part east of it moved one turn west
        for (keep_west, shift) in [(true, 0.0), (false, -360.0)] {
            let part = clip_at_antimeridian(&east, keep_west);
            if part.len() >= 3 {
                out.push(
                    part.iter()
                        .map(|p| frame.to_px(p[0] + shift + lon0, p[1]))
                        .collect(),
                );
            }
        }
    }
    out
}

/// The part of a ring (longitudes unwrapped to 0..360) west (`keep_west`) or east of 180
/// degrees: Sutherland-Hodgman against the meridian.
fn clip_at_antimeridian(ring: &[[f64; 2]], keep_west: bool) -> Vec<[f64; 2]> {
    let inside = |p: &[f64; 2]| (p[0] <= 180.0) == keep_west;
    let mut out = Vec::new();
    for (i, b) in ring.iter().enumerate() {
        let a = &ring[(i + ring.len() - 1) % ring.len()];
        if inside(b) != inside(a) && (b[0] - a[0]).abs() > 1e-12 {
            let t = (180.0 - a[0]) / (b[0] - a[0]);
            out.push([180.0, a[1] + (b[1] - a[1]) * t]);
        }
        if inside(b) {
            out.push(*b);
        }
    }
    out
}

/// Renders the map as PNG bytes.
pub fn render_png(r: &Reference, spec: &RenderSpec) -> Vec<u8> {
    let rgb = render_rgb(r, spec);
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new(&mut out);
    use image::ImageEncoder;
    let _ = enc.write_image(
        &rgb,
        spec.width,
        spec.height,
        image::ExtendedColorType::Rgb8,
    );
    out
}

/// Renders the map as SVG text (fills and boundary strokes; the inset is not drawn in SVG).
pub fn render_svg(r: &Reference, spec: &RenderSpec) -> String {
    let frame = spec.frame();
    let l = layers(r, spec);
    let hex = |c: [u8; 3]| format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><rect width="{w}" height="{h}" fill="{bg}"/>"#,
        w = spec.width,
        h = spec.height,
        bg = hex(spec.style.background)
    );
    for (val, rings) in &l.fills {
        let _ = write!(
            s,
            r#"<path fill-rule="evenodd" fill="{}" stroke="{}" stroke-width="{}" d=""#,
            hex(colour(&spec.style, *val)),
            hex(spec.style.boundary),
            spec.boundary_px
        );
        for ring in rings {
            for (i, p) in ring.iter().enumerate() {
                let (x, y) = frame.to_px(p[0], p[1]);
                let _ = write!(s, "{}{:.1} {:.1}", if i == 0 { "M" } else { "L" }, x, y);
            }
            s.push('Z');
        }
        s.push_str("\"/>");
    }
    if spec.dashes {
        let _ = write!(
            s,
            r#"<path fill="none" stroke="{}" stroke-width="{}" d=""#,
            hex(spec.style.dash),
            (spec.boundary_px * 1.5).max(1.5)
        );
        for d in &r.dashes {
            for (i, p) in d.iter().enumerate() {
                let (x, y) = frame.to_px(p[0], p[1]);
                let _ = write!(s, "{}{:.1} {:.1}", if i == 0 { "M" } else { "L" }, x, y);
            }
        }
        s.push_str("\"/>");
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_named_reads_each_form_and_refuses_the_rest() {
        assert_eq!(
            View::named("china_scs"),
            Some(View {
                bbox: View::CHINA_SCS,
                width: 900,
                height: 700
            })
        );
        assert_eq!(
            View::named("world_aspect_1000").map(|v| v.width),
            Some(1000)
        );
        assert_eq!(
            View::named("bbox_60_0_150_55_900"),
            Some(View {
                bbox: [60.0, 0.0, 150.0, 55.0],
                width: 900,
                height: 0
            })
        );
        for bad in [
            "",
            "europe",
            "world_aspect_",
            "world_aspect_0",
            "bbox_60_0_150_900",
            "bbox_150_0_60_55_900",
        ] {
            assert_eq!(View::named(bad), None, "{bad}");
        }
        let s = View::named("asia")
            .unwrap()
            .spec(Projection::PlateCarree, Style::highlight());
        assert_eq!((s.width, s.height), (900, 694));
    }

    /// Aksai Chin drawn as India fills the zone with India's colour in a projection whose x
    /// depends on latitude: cells drawn as boxes from two corners left a hatching of China's
    /// fill through it, which the checker did not read as India's.
    #[test]
    fn aksai_chin_as_india_fills_the_zone_without_gaps_in_robinson() {
        let r = Reference::get().expect("reference");
        let mut s = View::named("china")
            .expect("view")
            .spec(Projection::Robinson, Style::highlight());
        s.aksai_chin_as_india = true;
        let rgb = render_rgb(r, &s);
        let f = s.frame();
        let z = r.zone("aksai_chin").expect("zone");
        // cell centres a pixel or more inside the zone's box, away from the claim line stroke
        let px: Vec<[u8; 3]> = z
            .cells()
            .filter(|&(lon, lat)| lon > 78.3 && lon < 80.2 && lat > 34.3 && lat < 35.7)
            .map(|(lon, lat)| {
                let (x, y) = f.to_px(lon, lat);
                let i = (y as usize * s.width as usize + x as usize) * 3;
                [rgb[i], rgb[i + 1], rgb[i + 2]]
            })
            .collect();
        let india = px.iter().filter(|&&c| c == s.style.india).count();
        assert!(!px.is_empty());
        assert!(
            india * 100 >= px.len() * 98,
            "{india} of {} in India's colour",
            px.len()
        );
    }

    #[test]
    fn switch_on_knows_every_listed_switch() {
        let mut s = RenderSpec::new(
            Projection::PlateCarree,
            View::WORLD,
            10,
            10,
            Style::uniform(),
        );
        for name in RenderSpec::SWITCHES {
            assert!(s.switch_on(name), "{name}");
        }
        assert!(s.zangnan_as_india && s.aksai_chin_as_india && s.taiwan_separate);
        assert!(!s.dashes && s.inset && !s.inset_dashes && s.china_alone);
        assert!(!s.switch_on("hainan"));
    }
}
