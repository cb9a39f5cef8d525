//! The map checker: decide whether an image is a map showing any of China's sensitive zones,
//! register it against the reference geometry, probe each zone and report rule by rule.
//!
//! Rules kept here: a problem found in a map is a result ([`CheckReport`]), never an error;
//! [`CheckError`] is only for input that cannot be decoded; the checker never reads files or
//! the network (the caller passes bytes); a [`Checker`] is built once and shared across threads.
pub mod decode;
pub mod gate;
pub mod overlay;
pub mod probe;
pub mod register;
pub mod simd;

use crate::reference::build::point_in;
use crate::reference::project::{Frame, Projection, projected_bbox};
use crate::reference::{RefError, Reference, Ring};
use image::DynamicImage;
use register::{
    FittedOn, Outline, Prepared, Registered, Template, densify, refine, refine_all, score,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Errors of the checker (input that cannot be checked).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{input}: cannot decode image: {reason}")]
    Decode { input: String, reason: String },
    #[error("reference data: {0}")]
    Reference(#[from] RefError),
}

/// Overall verdict on one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Violation,
    Compliant,
    NotApplicable,
    Uncertain,
}

/// Status of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Violation,
    Ok,
    NotShown,
    Uncertain,
}

/// The rules, in report order.
pub const RULES: [&str; 6] = [
    "taiwan",
    "zangnan",
    "aksai_chin",
    "south_china_sea",
    "diaoyu",
    "hainan",
];

/// One rule's finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub status: Status,
    pub confidence: f64,
    pub message: String,
}

/// What kind of map was recognised.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MapInfo {
    /// "world" | "china" | "asia" | "india" (India drawn alone) | "other", or null when no map
    /// was recognised.
    pub region: Option<String>,
    pub projection: Option<String>,
    pub fit: f64,
    /// Registered frame (not part of the JSON contract).
    #[serde(skip)]
    pub frame: Option<Frame>,
    /// Estimated pixels per degree of longitude.
    #[serde(skip)]
    pub px_per_deg: f64,
    /// The 南海诸岛 inset box the South China Sea was read in, registered on its own (not part
    /// of the JSON contract).
    #[serde(skip)]
    pub inset: Option<InsetFrame>,
}

/// A 南海诸岛 inset box and the frame of the map inside it, both in the whole image's pixels.
#[derive(Debug, Clone, Copy)]
pub struct InsetFrame {
    /// x0, y0, x1, y1 of the box's inside.
    pub inside: [f64; 4],
    pub frame: Frame,
}

/// The report for one image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    pub verdict: Verdict,
    pub map: MapInfo,
    pub findings: Vec<Finding>,
    /// Overlay PNG (filled when requested).
    #[serde(skip)]
    pub overlay_png: Option<Vec<u8>>,
}

impl CheckReport {
    /// The report for an image that is not a map (or shows none of the zones).
    pub fn not_a_map() -> Self {
        CheckReport {
            verdict: Verdict::NotApplicable,
            map: MapInfo {
                region: None,
                projection: None,
                fit: 0.0,
                frame: None,
                px_per_deg: 0.0,
                inset: None,
            },
            findings: vec![],
            overlay_png: None,
        }
    }
}

/// The checker: reference geometry loaded once, templates projected once.
pub struct Checker {
    pub(crate) reference: &'static Reference,
    pub(crate) world: Template,
    pub(crate) china: Template,
    /// India's outline where both views draw it alike (see `india_template`): maps of India
    /// drawn alone are registered on it when nothing else fits (built on first use).
    india: std::sync::OnceLock<Template>,
    /// Points of the ten dash segments (lon, lat): a China map's extent with the South China
    /// Sea reaches them.
    pub(crate) dash_ends: Vec<(f64, f64)>,
    pub(crate) probes: probe::ProbeData,
    /// The world outline around Asia in the projections `world` does not hold (the conics),
    /// and the crop search's outline for each `CROP_PROJECTIONS` entry: projected on first
    /// use (only maps that need them pay), then shared by every later check.
    asia: std::sync::OnceLock<Template>,
    crop: std::sync::OnceLock<Vec<Outline>>,
    /// The world outline in `Projection::PACIFIC` and `Projection::CHINA_CENTRED`, projected
    /// on first use (registration tries those only when nothing else fits well).
    centred: std::sync::OnceLock<Template>,
    /// `bbox_of` each (projection, China alone, extent) the hypotheses asked for: the same
    /// few dozen boxes for every image and look, each a pass over a whole template.
    boxes: std::sync::Mutex<HashMap<ExtentKey, [f64; 4]>>,
}

/// A template's extent: its projection, China alone or not, and the extent's lon/lat box (bits).
type ExtentKey = (Projection, bool, [u64; 4]);

/// Working size limit: larger images are scaled down first.
const WORK_MAX: u32 = 1200;
/// Minimal chamfer fit for a map to be accepted. World maps with white strokes on a white sea
/// fit 0.55-0.65 (small islands vanish, coasts shift by half a stroke); non-maps in the dev set
/// fit under 0.3 or are turned away by the specificity margin below (text: 0.68 fit, 0.49 by
/// chance).
const MIN_FIT: f64 = 0.5;
/// Least margin of the fit over the fit of the same outline moved aside (see `register`).
const MIN_SPECIFICITY: f64 = 0.25;
/// A second look with faint edges is taken when they are at least this many times as many.
const FAINT_GAIN: f64 = 1.25;
/// A map registered below this fit (or not at all) is looked at again for pale fills (see
/// `Prepared::pale`); the pale look's frame replaces the first when it fits better by
/// `PALE_MARGIN`.
const PALE_TRY_BELOW: f64 = 0.85;
const PALE_MARGIN: f64 = 0.05;
/// Range of the registered frame's vertical to horizontal scale (ECharts' aspect scaling is
/// 1.33, Mercator-like frames are 1.0); outside it the outline has been squashed.
const MIN_ASPECT: f64 = 0.4;
const MAX_ASPECT: f64 = 2.5;
/// Hypotheses refined per registration: flat projections, and conic variants on top.
const MAX_FLAT_HYPS: usize = 4;
const MAX_CONIC_HYPS: usize = 2;
/// World maps running off the top of the picture refined besides (see `Hyp::cut_top`).
const MAX_CUT_TOP_HYPS: usize = 1;
/// Refined frames of one outline this close everywhere in the image (pixels) are merged
/// between stages (see `refine_all`).
const MERGE_PX: f64 = 1.0;
/// Whole-map hypotheses whose score after a coarse stage trails the best one's by more than
/// 0.1, when that one scores 0.8 or more, are refined no further. On the 580 comparison maps
/// (grid and bench renders, the dev set, set 8) no report changed with margins down to 0.1 and
/// the lead from 0.6; at 0.05 one did. The bench's median map reads 37% fewer outline points.
/// Applied after each level of the coarse stages as well, it changed no finding on the 311
/// comparison maps (7 registered fits moved, 4 of them by more than 0.01).
const LEFT_BEHIND: register::Behind = register::Behind {
    margin: 0.1,
    lead_from: 0.8,
};
/// Least coarse score of such a frame, as a share of the best whole-map flat one's, for it to
/// be refined (the Leaflet world maps' frames scored 0.96-1.05 of it).
const CUT_TOP_SHARE: f64 = 0.95;
/// How much better a conic frame must fit than the best flat one to be preferred.
const CONIC_MARGIN: f64 = 0.05;
/// Least fit of a China-alone conic frame to be preferred to a world frame that fits. Maps
/// of China alone in their conic fit 0.97 or more (dev set, held-out-like sets, degraded
/// copies); world maps 700 px wide with China highlighted fitted China alone in a conic at
/// 0.63-0.75 beside a world fit of 0.56-0.6, and were read as China maps.
const CHINA_ALONE_OVER_WORLD: f64 = 0.85;
/// Least fit of any frame fitted on China's outline alone. One closed outline, with no
/// neighbours to pin it, finds edges loosely in any dense picture: a choropleth of the
/// United States' states took it at 0.51 in a conic, a map of Europe at 0.66, and a couple of
/// hundred pixels wide a pie chart's slices took it at 0.70-0.74, a map of Africa at 0.73. Maps
/// of China fit it at 0.83 or more (dev set, held-out-like sets, in JPEG and downscaled to
/// 240 px).
const MIN_FIT_CHINA_ALONE: f64 = 0.78;
/// Extents (lon, lat) of a map of India drawn alone, as Indian maps draw it (Kashmir whole and
/// Aksai Chin up to 37.1N, Arunachal Pradesh to 97.4E): with the Andaman and Nicobar Islands
/// (down to 6.7N), and the mainland alone (8.0N).
const INDIA_EXTS: [[f64; 4]; 2] = [[68.1, 6.7, 97.4, 37.1], [68.1, 8.0, 97.4, 37.1]];
/// The projections maps of India drawn alone come in (amCharts' and Leaflet's Mercator, d3's
/// and ECharts' flat ones).
const INDIA_PROJECTIONS: [Projection; 4] = [
    Projection::WebMercator,
    Projection::PlateCarree,
    Projection::Miller,
    Projection::NaturalEarth1,
];
/// India-alone hypotheses refined (the best by coarse score).
const INDIA_REFINED: usize = 3;
/// Least fit of a frame fitted on India's outline alone: like China's (`MIN_FIT_CHINA_ALONE`),
/// one outline without neighbours finds edges loosely anywhere, and a map of India drawn
/// alone fits it at 0.8 or more.
const MIN_FIT_INDIA_ALONE: f64 = 0.8;
/// Least share of China's pixels in the frame (Tibet and beyond) left in open background for
/// a frame fitted on India's outline to be read as India drawn alone: a map that draws China
/// is a map of Asia, whose frame is the world outline's to find.
const INDIA_ALONE_BLANK: f64 = 0.8;
/// A map is tried as India drawn alone when it registered below this fit, or not at all.
const INDIA_TRY_BELOW: f64 = 0.8;
/// The crop search's projections, each with the span of longitude (degrees across the image
/// width) it is tried at, from-to in steps of 15%: Asia cut out of a world map in the flat
/// projections (Miller among them: Highcharts' default, whose regional views are crops;
/// Robinson and Natural Earth uncentred, as d3 fits a view of China into a world
/// projection), up to where the whole-Asia views begin (a China view 1000 px wide, with its
/// neighbours to the edges, spans 80-90 degrees at its middle latitude, which the regional
/// spans stopping at 80 never reached); China maps in a conic that draw the neighbours to
/// the image edges; South Asia in a conic of its own; and all of Asia, as chart libraries
/// draw a continent: in Highcharts' conic for it
/// (`Projection::HIGHCHARTS_ASIA`), in China's conics (d3 and Vega fitting an Asia map in the
/// projection of their China maps: 100 other-library maps and 340 comparison maps changed only
/// there, each to a fit of 0.76-0.98 from 0.5-0.73 or none), or flat (amCharts and Leaflet in
/// Mercator, Plotly's Asia scope, Vega in Natural Earth, about 80-130 degrees across).
const CROP_PROJECTIONS: [(Projection, f64, f64); 19] = [
    (Projection::PlateCarree, 12.0, 92.0),
    (Projection::WebMercator, 12.0, 92.0),
    (Projection::Miller, 12.0, 92.0),
    (Projection::NaturalEarth1, 12.0, 92.0),
    (Projection::EqualEarth, 12.0, 92.0),
    (Projection::Robinson, 12.0, 92.0),
    (Projection::ALBERS_CHINA, 35.0, 80.0),
    (Projection::LAMBERT_CHINA, 35.0, 80.0),
    (Projection::ALBERS_SOUTH_ASIA, 25.0, 60.0),
    (Projection::LAMBERT_SOUTH_ASIA, 25.0, 60.0),
    (Projection::HIGHCHARTS_ASIA, 80.0, 170.0),
    (Projection::ALBERS_CHINA, 80.0, 170.0),
    (Projection::LAMBERT_CHINA, 80.0, 170.0),
    (Projection::PlateCarree, 92.0, 170.0),
    (Projection::WebMercator, 92.0, 170.0),
    (Projection::Miller, 92.0, 170.0),
    (Projection::NaturalEarth1, 92.0, 170.0),
    (Projection::EqualEarth, 92.0, 170.0),
    (Projection::CHINA_CENTRED[1], 92.0, 170.0),
];
/// Whether a `CROP_PROJECTIONS` entry views all of Asia (spans from 80 degrees on): such a view
/// is scored on the countries of Asia alone (`reference::ASIA_COUNTRIES`).
fn whole_asia(entry: &(Projection, f64, f64)) -> bool {
    entry.1 >= 80.0
}
/// Crop hypotheses refined (each the best of its projection, scale and aspect), and the
/// least number of conic ones among them.
const CROP_REFINED: usize = 24;
/// Crop hypotheses refined besides, the best by the narrower basin of `mid_basin_score`.
const CROP_MID: usize = 6;
/// Positions of each crop key (projection, scale, aspect) ranked by the narrower basin (its
/// best ones by the wide basin).
const MID_PER_KEY: usize = 4;
const MID_TRUNC: f32 = 24.0;
const CROP_CONIC: usize = 4;
/// Crop hypotheses taken through the fine stages of `CROP_SCHEDULE` after its first
/// `CROP_COARSE_STAGES` stages (ranked by edge hits then).
const CROP_COARSE_STAGES: usize = 1;
const CROP_FINISHED: usize = 10;
/// A frame fitted in the content box below this fit is tried again in the box of the large
/// marks (see `Prepared::mass`), and replaced when that fits better by `MASS_MARGIN`.
const MASS_RETRY_BELOW: f64 = 0.8;
const MASS_MARGIN: f64 = 0.05;
/// Below this fit the `Projection::SECOND_CHANCE` projections are tried; one replaces the
/// frame when it fits (`MIN_FIT`), and better by `SECOND_CHANCE_MARGIN`.
const SECOND_CHANCE_BELOW: f64 = 0.8;
const SECOND_CHANCE_MARGIN: f64 = 0.1;
/// A centred second-chance frame fitting within this of `MIN_FIT` has its neighbouring
/// central meridians tried.
const CENTRED_REACH: f64 = 0.2;
/// Second-chance hypotheses refined (the best of distinct projections).
const SECOND_CHANCE_REFINED: usize = 3;
/// Least fit of a centred frame's best meridian for the other centred bases to be tried there
/// (see `Checker::centred_variants`).
const CENTRED_BASES_FROM: f64 = 0.6;
/// A China-alone frame fitting below this may be China inside a map of Asia, which neither
/// whole-map template matches: the crop search is tried too, and kept when it fits better.
const CROP_RETRY_BELOW: f64 = 0.85;
/// Least share of the content box's width and height the registered outline must span.
const MIN_SPAN: f64 = 0.25;
/// Refinement schedules: (truncation px, point stride, first step px).
const FIT_SCHEDULE: &[(f32, usize, f64)] = &[(24.0, 4, 12.0), (8.0, 2, 3.0), (3.0, 1, 1.0)];
const CROP_SCHEDULE: &[(f32, usize, f64)] = &[
    (48.0, 6, 32.0),
    (16.0, 3, 8.0),
    (6.0, 2, 2.0),
    (3.0, 1, 1.0),
];

/// The first `n` pixels of RGB bytes `raw`, three bytes each: the same allocation when it
/// holds exactly those (as a decoder's buffer does), a copy otherwise.
fn pixels_of(raw: Vec<u8>, n: usize) -> Vec<[u8; 3]> {
    if raw.len() != 3 * n || !raw.capacity().is_multiple_of(3) {
        // (copied whole: a pixel at a time did not vectorise)
        return raw[..3 * n].as_chunks::<3>().0.to_vec();
    }
    let mut raw = std::mem::ManuallyDrop::new(raw);
    let (ptr, cap) = (raw.as_mut_ptr(), raw.capacity());
    // SAFETY: `[u8; 3]` has `u8`'s alignment and three times its size, and the length and
    // capacity are multiples of three, so the allocation is `cap / 3` pixels, freed with the
    // same layout it was made with; `raw` is not dropped, so the buffer has one owner
    unsafe { Vec::from_raw_parts(ptr.cast::<[u8; 3]>(), n, cap / 3) }
}

/// A whole-map hypothesis: a frame and its coarse score.
struct Hyp {
    frame: Frame,
    china_only: bool,
    s: f64,
    /// fitted by width, flush with the bottom: a world map running off the top
    cut_top: bool,
}

impl Checker {
    pub fn new() -> Result<Checker, CheckError> {
        let reference = Reference::get()?;
        let flat: Vec<Projection> = Projection::ALL
            .iter()
            .copied()
            .filter(|p| !p.is_conic())
            .collect();
        let world = Template::new(
            densify(
                reference.countries.iter().flat_map(|c| c.rings.iter()),
                0.35,
            ),
            &flat,
        );
        // China alone in every projection but the second-chance ones (tried as world maps only)
        let china_projs: Vec<Projection> = flat
            .iter()
            .copied()
            .filter(|q| !Projection::SECOND_CHANCE.contains(q))
            .chain(Projection::china_conics())
            .chain(Projection::CHINA_CENTRED)
            .collect();
        let china = Template::new(
            densify(
                reference
                    .china
                    .iter()
                    .filter(|r| crate::reference::ring_area(r).abs() > 0.05),
                0.2,
            ),
            &china_projs,
        );
        // the dash line's ends: the southern and eastern extent of China's view
        let dash_ends: Vec<(f64, f64)> = reference
            .dashes
            .iter()
            .flat_map(|d| d.iter().map(|q| (q[0], q[1])))
            .collect();
        let probes = probe::ProbeData::new(reference, &world.lonlat);
        Ok(Checker {
            reference,
            world,
            china,
            india: Default::default(),
            dash_ends,
            probes,
            asia: Default::default(),
            crop: Default::default(),
            centred: Default::default(),
            boxes: Default::default(),
        })
    }

    /// Decodes and checks image bytes; `name` names the input in errors.
    pub fn check_bytes(&self, bytes: &[u8], name: &str) -> Result<CheckReport, CheckError> {
        self.check_bytes_opts(bytes, name, false)
    }

    /// Decodes and checks image bytes, optionally rendering the overlay PNG; the encoding says
    /// whether the image is lossy.
    pub fn check_bytes_opts(
        &self,
        bytes: &[u8],
        name: &str,
        with_overlay: bool,
    ) -> Result<CheckReport, CheckError> {
        let img = decode::decode(bytes, name)?;
        Ok(self.check_owned(img, with_overlay, decode::is_lossy(bytes)))
    }

    /// Checks a decoded image (taken as lossless).
    pub fn check_image(&self, img: &DynamicImage) -> CheckReport {
        self.check_image_from(img, false, false)
    }

    /// Checks a decoded image whose encoding was `lossy` (JPEG: see [`decode::is_lossy`]).
    /// Compression ringing widens lines, so lines a few pixels apart are read as separate only
    /// when the image is free of it.
    pub fn check_image_from(
        &self,
        img: &DynamicImage,
        with_overlay: bool,
        lossy: bool,
    ) -> CheckReport {
        self.check_owned(img.clone(), with_overlay, lossy)
    }

    /// `check_image_from` on an image the check may take apart: an RGB image's pixels are
    /// worked on where the decoder left them, not copied.
    fn check_owned(&self, img: DynamicImage, with_overlay: bool, lossy: bool) -> CheckReport {
        let (w0, h0) = (img.width(), img.height());
        if w0 < 32 || h0 < 32 {
            return CheckReport::not_a_map();
        }
        let rgb8 = if w0.max(h0) > WORK_MAX {
            let s = WORK_MAX as f64 / w0.max(h0) as f64;
            let (nw, nh) = (
                ((w0 as f64 * s) as u32).max(1),
                ((h0 as f64 * s) as u32).max(1),
            );
            image::imageops::resize(
                &img.to_rgb8(),
                nw,
                nh,
                image::imageops::FilterType::Triangle,
            )
        } else {
            img.into_rgb8()
        };
        let (w, h) = (rgb8.width() as usize, rgb8.height() as usize);
        let rgb = pixels_of(rgb8.into_raw(), w * h);
        // Gradients, photos and the like are turned away before registration (the costly
        // part), so they come back not applicable quickly and are never flagged.
        let looks = gate::MapLikeness::measure(&rgb, w, h);
        tracing::debug!(
            top_share = looks.top_share,
            flat_share = looks.flat_share,
            plausible = looks.plausible(),
            "map-likeness gate"
        );
        if !looks.plausible() {
            return CheckReport::not_a_map();
        }
        let mut prep = Prepared::new(w, h, rgb);
        prep.lossy = lossy;
        let mut reg = self.register(&prep);
        let mut faint_look = None;
        if reg.is_none() {
            // Light lines between light fills (a grey world with white borders), softened by
            // antialiasing, downscaling or JPEG, fall under the edge step: nothing fitted.
            // Look again with faint edges, when they show clearly more than the first look
            // (see `Prepared::faint`). The zones are still probed on the first look's edges,
            // which the probes' thresholds are made for.
            if let Some(faint) = prep.faint(FAINT_GAIN) {
                reg = self.register(&faint);
                prep.add_work(&faint);
                faint_look = Some(faint);
            }
        }
        // Pale fills (the lightest class of a sequential palette, a few levels from a white
        // background) hide a map's outer boundary from both looks: look again with every
        // colour step of a lossless image, and probe on that look when it registers, so that
        // the pale provinces are not taken for open background. Its frame also replaces a
        // loose one from the first looks when it fits clearly better (China's outline
        // without its west still fits loosely).
        let mut pale_look = None;
        if reg.as_ref().is_none_or(|r| r.fit < PALE_TRY_BELOW)
            && let Some(pale) = prep.pale()
        {
            let pale_reg = self.register(&pale);
            prep.add_work(&pale);
            if let Some(g) = pale_reg
                && reg.as_ref().is_none_or(|r| g.fit >= r.fit + PALE_MARGIN)
            {
                reg = Some(g);
                pale_look = Some(pale);
            }
        }
        // Last, India drawn alone, when nothing fits well: the crop search can fit its
        // outline loosely (neighbours left blank), and pale states beside a white background
        // show in faint edges only, however few more those are.
        if reg.as_ref().is_none_or(|r| r.fit < INDIA_TRY_BELOW) {
            let india = self.register_india(&prep).or_else(|| {
                let faint = reg
                    .is_none()
                    .then(|| faint_look.or_else(|| prep.faint(1.0)))
                    .flatten()?;
                let india = self.register_india(&faint);
                prep.add_work(&faint);
                india
            });
            if let Some(i) = india
                && reg.as_ref().is_none_or(|r| i.fit > r.fit)
            {
                reg = Some(i);
            }
        }
        tracing::debug!(
            points_read = prep.work.load(std::sync::atomic::Ordering::Relaxed),
            "registration work"
        );
        // (India drawn alone is fitted on the first look: a frame from it replaces the pale
        // look's only when it fits better, and is probed on the first look too)
        let look = match &pale_look {
            Some(pale) if reg.as_ref().is_some_and(|r| r.on != FittedOn::India) => pale,
            _ => &prep,
        };
        let mut report = probe::probe_all(self, look, reg.as_ref());
        if with_overlay {
            report.overlay_png = Some(overlay::render(self, look, reg.as_ref(), &report));
        }
        report
    }

    /// Finds the best frame, or None when nothing map-like fits.
    pub fn register(&self, p: &Prepared) -> Option<Registered> {
        let whole = [0.0, 0.0, p.w as f64, p.h as f64];
        let first = self.register_in(p, p.content, whole);
        // A title, legend, colour bar or credit line beside the map stretches the content box
        // beyond it, so nothing fits it, or only loosely: try again in the box of the large
        // marks alone, and keep that frame when it fits clearly better.
        if first.as_ref().is_some_and(|f| f.fit >= MASS_RETRY_BELOW) {
            return first;
        }
        let better = |f: Option<Registered>, g: Option<Registered>| match (f, g) {
            (Some(f), Some(g)) if g.fit < f.fit + MASS_MARGIN => Some(f),
            (f, g) => g.or(f),
        };
        let mut best = first;
        if let Some(m) = p.mass() {
            tracing::debug!(?m, "registering in the box of the large marks");
            best = better(best, self.register_in(p, m, m));
        }
        // Then inside an axes box drawn around the map (matplotlib's, with the title and
        // margins outside it): a crop is clipped at the box, so the outline beyond it must
        // not count against the frame. Registered on the box's inside alone, the frame then
        // carried back to the whole image.
        if best.as_ref().is_none_or(|f| f.fit < MASS_RETRY_BELOW)
            && let Some(b) = p.plot_box()
        {
            tracing::debug!(?b, "registering inside the axes box");
            let inside = p.cropped(b);
            let whole = [0.0, 0.0, inside.w as f64, inside.h as f64];
            let g = self
                .register_in(&inside, inside.content, whole)
                .map(|mut g| {
                    g.frame.tx += b[0];
                    g.frame.ty += b[1];
                    g
                });
            p.add_work(&inside);
            best = better(best, g);
        }
        best
    }

    /// India's outline where both views draw it alike, projected on first use.
    fn india(&self) -> &Template {
        self.india.get_or_init(|| india_template(self.reference))
    }

    /// Registration of a map of India drawn alone, on India's outline where both views draw
    /// it alike, with the map taken to fill the content box in India's own view. Tried only
    /// when nothing else fits: such a map draws no neighbour to pin a world or Asia frame.
    pub fn register_india(&self, p: &Prepared) -> Option<Registered> {
        // in the content box, then in the box of the large marks (a pale state at an edge
        // falls out of the content box; islands cut off at the bottom stretch it)
        let first = self.register_india_in(p, p.content);
        if first.is_some() {
            return first;
        }
        self.register_india_in(p, p.mass()?)
    }

    fn register_india_in(&self, p: &Prepared, c: [f64; 4]) -> Option<Registered> {
        if c[2] - c[0] < 24.0 || c[3] - c[1] < 16.0 {
            return None;
        }
        let mut hyps: Vec<(f64, Frame)> = Vec::new();
        for proj in INDIA_PROJECTIONS {
            let pts = self.india().points(proj);
            for ext in INDIA_EXTS {
                let pb = projected_bbox(proj, ext);
                let by_width = Frame::by_width(proj, pb, c, 1.0);
                let by_height = Frame::by_height(proj, pb, c, 1.0);
                for f in [Frame::fit(proj, pb, c), by_width, by_height] {
                    let (s, n) = score(p, pts, &f, 8.0, 4);
                    if n >= 100 {
                        hyps.push((s, f));
                    }
                }
            }
        }
        hyps.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut best: Option<Registered> = None;
        for (init, f0) in hyps.into_iter().take(INDIA_REFINED) {
            let pts = self.india().points(f0.projection);
            let (f, s) = refine(p, pts, f0, 150, true, FIT_SCHEDULE);
            tracing::debug!(proj = ?f.projection, init, fit = s, "India-alone hypothesis");
            if best.as_ref().is_none_or(|b| s > b.fit) {
                best = Some(Registered {
                    frame: f,
                    fit: s,
                    on: FittedOn::India,
                });
            }
        }
        let best = best.filter(|b| b.fit >= MIN_FIT_INDIA_ALONE)?;
        let best = self.specific(p, best, c)?;
        // drawn alone: China (Tibet, north of India) left blank
        let blank = probe::china_left_open(self, p, &best.frame);
        tracing::debug!(?blank, "India alone: China's share in open background");
        blank
            .is_some_and(|b| b >= INDIA_ALONE_BLANK)
            .then_some(best)
    }

    /// Registration with the map taken to fill `c` (whole-map hypotheses) or `cb` (crops).
    fn register_in(&self, p: &Prepared, c: [f64; 4], cb: [f64; 4]) -> Option<Registered> {
        tracing::debug!(?c, ?cb, w = p.w, h = p.h, bg = ?p.bg, "content box");
        if c[2] - c[0] < 24.0 || c[3] - c[1] < 16.0 {
            return None;
        }
        // every projection of the China template but the centred ones (second-chance) and
        // Plotly's conics (variants only)
        let common: Vec<Projection> = self
            .china
            .projections()
            .filter(|q| !q.is_centred() && !Projection::PLOTLY_CONICS.contains(q))
            .collect();
        let mut hyps = self.hypotheses(p, c, &common, None);
        hyps.sort_by(|a, b| b.s.total_cmp(&a.s));
        // Refine the best few flat-projection hypotheses (as many as before conics were added,
        // so no conic candidate ever pushes a flat one out), plus the best two conic ones of
        // different variants: the conic variants resemble each other and their China-alone
        // outline also fits China inside a world map's outline fairly well.
        let mut picked: Vec<&Hyp> = Vec::new();
        let (mut flat, mut conic, mut cut) = (0, 0, 0);
        let best_flat = hyps
            .iter()
            .find(|h| !h.cut_top && !h.frame.projection.is_conic())
            .map_or(0.0, |h| h.s);
        for h in &hyps {
            // The best world frame running off the top is refined on a slot of its own, so
            // that it never takes one from the whole-map candidates, when it scores nearly
            // as well as the best of them (on maps that are not cut off it scores well below).
            if h.cut_top {
                if cut < MAX_CUT_TOP_HYPS && h.s >= CUT_TOP_SHARE * best_flat {
                    cut += 1;
                    picked.push(h);
                }
                continue;
            }
            if h.frame.projection.is_conic() {
                if conic < MAX_CONIC_HYPS
                    && !picked
                        .iter()
                        .any(|q| q.frame.projection == h.frame.projection)
                {
                    conic += 1;
                    picked.push(h);
                }
            } else if flat < MAX_FLAT_HYPS
                // a China-only candidate once (fits by width and by height coincide when the
                // content box has China's aspect): the slot goes to the next one, often a close
                // second projection (Miller beside plate carree)
                && !(h.china_only
                    && picked
                        .iter()
                        .any(|q| q.china_only && same_frame(&q.frame, &h.frame)))
            {
                flat += 1;
                picked.push(h);
            }
            if flat >= MAX_FLAT_HYPS && conic >= MAX_CONIC_HYPS && cut >= MAX_CUT_TOP_HYPS {
                break;
            }
        }
        let mut best: Option<Registered> = None;
        let mut best_conic: Option<Registered> = None;
        // Candidates often coincide exactly (a world map's content box at its projection's
        // aspect is fitted alike by width, by height and flush with either side): such a frame
        // is refined once and its slot keeps the result. Others come together as they are
        // refined, and are merged after each stage (see `refine_all`).
        let mut starts: Vec<(bool, Frame)> = Vec::new();
        for h in &picked {
            if !starts.contains(&(h.china_only, h.frame)) {
                starts.push((h.china_only, h.frame));
            }
        }
        let outlines: Vec<(&Outline, Frame)> = starts
            .iter()
            .map(|&(china_only, f)| {
                let t = if china_only { &self.china } else { &self.world };
                (t.points(f.projection), f)
            })
            .collect();
        let results = refine_all(
            p,
            &outlines,
            150,
            true,
            FIT_SCHEDULE,
            MERGE_PX,
            Some(LEFT_BEHIND),
        );
        for h in picked {
            let i = starts
                .iter()
                .position(|&s| s == (h.china_only, h.frame))
                .expect("every picked frame is a start");
            let (f, s) = results[i];
            tracing::debug!(proj = ?f.projection, china_only = h.china_only, init = h.s, fit = s, sx = f.sx, sy = f.sy, tx = f.tx, ty = f.ty, "refined hypothesis");
            let slot = if f.projection.is_conic() {
                &mut best_conic
            } else {
                &mut best
            };
            if slot.as_ref().is_none_or(|b| s > b.fit) {
                *slot = Some(Registered {
                    frame: f,
                    fit: s,
                    on: FittedOn::china_if(h.china_only),
                });
            }
        }
        // A conic frame replaces the flat one only when it fits clearly better. On our own
        // renders (7 conic variants x 5 styles x 4 views; 6 flat projections x 5 styles x 4
        // views) a registered conic map's conic fit beat its best flat fit by 0.10 or more,
        // and on every registered flat map the conic fit stayed 0.29 or more below the flat one.
        tracing::debug!(
            flat = best.as_ref().map(|b| b.fit),
            conic = best_conic.as_ref().map(|b| b.fit),
            "best flat and conic fits"
        );
        // When no flat frame fits, the conic hypothesis may be a China map in a neighbouring
        // variant (other standard parallels or central meridian) that refinement cannot reach:
        // try the variants before the crop search, which costs ten times more.
        let varied = best.as_ref().is_none_or(|b| b.fit < MIN_FIT);
        let best_conic = if varied {
            best_conic.map(|c| self.conic_variants(p, c))
        } else {
            best_conic
        };
        // China alone in a conic, fitting loosely, does not displace a world frame that fits:
        // on a small world map China's outline (stroked or highlighted) is there to be found,
        // and a conic bends it close enough to fit it loosely, while the world's many small
        // coasts fit loosely in their true projection at that scale.
        let loose_china = |c: &Registered, b: &Registered| {
            c.on == FittedOn::China
                && c.fit < CHINA_ALONE_OVER_WORLD
                && b.on == FittedOn::World
                && b.fit >= MIN_FIT
        };
        if let Some(c) = best_conic
            && best
                .as_ref()
                .is_none_or(|b| c.fit >= b.fit + CONIC_MARGIN && !loose_china(&c, b))
        {
            best = Some(c);
        }
        // Projections seldom used for world maps (Winkel tripel), world maps centred on the
        // Pacific and China alone in a pseudo-cylindrical projection centred on China are tried
        // only when nothing fits well, and kept only when they fit clearly better: beside the
        // others they would take refinement slots from the right projection of maps that fit
        // loosely anyway.
        if best.as_ref().is_none_or(|b| b.fit < SECOND_CHANCE_BELOW) {
            let projs: Vec<Projection> = Projection::SECOND_CHANCE
                .into_iter()
                .chain(Projection::PACIFIC)
                .chain(Projection::CHINA_CENTRED)
                .collect();
            let mut rare = self.hypotheses(p, c, &projs, Some(cb));
            rare.sort_by(|a, b| b.s.total_cmp(&a.s));
            let mut tried: Vec<(Projection, bool)> = Vec::new();
            for h in rare {
                let key = (h.frame.projection, h.china_only);
                if tried.contains(&key) {
                    continue;
                }
                if tried.len() == SECOND_CHANCE_REFINED {
                    break;
                }
                tried.push(key);
                // the coarse stages first: the fine one only for a frame close to fitting
                let pts = self.template(key.0, key.1).points(key.0);
                let (coarse, fine) = FIT_SCHEDULE.split_at(2);
                let (f, s) = refine(p, pts, h.frame, 150, true, coarse);
                let (f, s) = if s >= SECOND_CHANCE_BELOW - 0.2 {
                    refine(p, pts, f, 150, true, fine)
                } else {
                    (f, s)
                };
                tracing::debug!(proj = ?f.projection, china_only = h.china_only, init = h.s, fit = s, "second-chance projection");
                // a centred map fitting nearly well enough: its middle may lie a few tens of
                // degrees from the meridian tried (and only when a variant gaining that much
                // would be kept: beside a world frame that fits loosely, a centred try fitting
                // far worse cost six refinements for nothing)
                let within_reach = s >= MIN_FIT - CENTRED_REACH
                    && best
                        .as_ref()
                        .is_none_or(|b| s + CENTRED_REACH >= b.fit + SECOND_CHANCE_MARGIN);
                let (f, s) = if f.projection.is_centred() && within_reach {
                    self.centred_variants(p, f, s, h.china_only)
                } else {
                    (f, s)
                };
                if s >= MIN_FIT
                    && best
                        .as_ref()
                        .is_none_or(|b| s >= b.fit + SECOND_CHANCE_MARGIN)
                {
                    best = Some(Registered {
                        frame: f,
                        fit: s,
                        on: FittedOn::china_if(h.china_only),
                    });
                }
            }
        }
        if best.as_ref().is_none_or(|b| {
            b.fit < MIN_FIT || (b.on == FittedOn::China && b.fit < CROP_RETRY_BELOW)
        }) && let Some(crop) = self.crop_search(p, cb)
            && best.as_ref().is_none_or(|b| crop.fit > b.fit)
        {
            best = Some(crop);
        }
        // (a South Asia conic comes from the crop search alone, so was never varied)
        let south_asia = best
            .as_ref()
            .is_some_and(|b| b.frame.projection.is_south_asia_conic());
        let best = if varied && !south_asia {
            best
        } else {
            best.map(|b| self.conic_variants(p, b))
        };
        let best = best.filter(|b| {
            b.fit >= MIN_FIT && (b.on != FittedOn::China || b.fit >= MIN_FIT_CHINA_ALONE)
        })?;
        self.specific(p, best, c)
    }

    /// The frame when it is shaped like a map and fits clearly better than it would by chance
    /// in `p`'s content box `c`; None otherwise.
    fn specific(&self, p: &Prepared, best: Registered, c: [f64; 4]) -> Option<Registered> {
        // Specificity: the outline must fit here and not about as well when moved by an
        // eighth of the content box. Dense clutter (text, tables, textures) is close to an
        // edge wherever the outline lands; a real map is not.
        let pts = &*self.registered_outline(&best);
        // Degenerate frames: refinement can squash the outline into a line or a dot that lies
        // on one long straight edge (a gradient's wrap line fit 1.0 that way). A map's outline
        // keeps its aspect and spans a good part of the content box.
        let aspect = best.frame.sy / best.frame.sx;
        let span = outline_span(p, pts, &best.frame);
        tracing::debug!(aspect, ?span, "registration shape");
        if !(MIN_ASPECT..=MAX_ASPECT).contains(&aspect)
            || span[0] < MIN_SPAN * (c[2] - c[0])
            || span[1] < MIN_SPAN * (c[3] - c[1])
        {
            return None;
        }
        let (dx, dy) = ((c[2] - c[0]) / 8.0, (c[3] - c[1]) / 8.0);
        let chance = [(dx, 0.0), (-dx, 0.0), (0.0, dy), (0.0, -dy)]
            .iter()
            .map(|&(sx, sy)| {
                let mut g = best.frame;
                g.tx += sx;
                g.ty += sy;
                register::hit_rate(p, pts, &g, 50)
            })
            .sum::<f64>()
            / 4.0;
        tracing::debug!(fit = best.fit, chance, "registration specificity");
        // on dev maps the margin is 0.40 or more; on text pages about 0.12. Faint edges put
        // clutter (shading, JPEG noise) near the outline wherever it lands, so there the fit
        // must also be twice what it is by chance.
        let need = if p.faint {
            MIN_SPECIFICITY.max(chance)
        } else {
            MIN_SPECIFICITY
        };
        (best.fit - chance >= need).then_some(best)
    }

    /// Whole-map hypotheses in `projs` for the content box `c`, scored coarsely; with
    /// `sphere_in`, also the whole sphere fitted to that box (d3's `fitSize` of the sphere:
    /// in Winkel tripel the land stops well short of the sides, where only sea lies).
    fn hypotheses(
        &self,
        p: &Prepared,
        c: [f64; 4],
        projs: &[Projection],
        sphere_in: Option<[f64; 4]>,
    ) -> Vec<Hyp> {
        // extents in lon/lat of what a map fitted to its container usually shows
        let world_exts: [[f64; 4]; 3] = [
            [-180.0, -90.0, 180.0, 83.7],
            [-180.0, -58.0, 180.0, 83.7],
            [-180.0, -90.0, 180.0, 90.0],
        ];
        let china_exts: [[f64; 4]; 2] = [[73.5, 18.1, 135.1, 53.6], [73.5, 3.4, 135.1, 53.6]];
        let mut hyps: Vec<Hyp> = Vec::new();
        for proj in projs.iter().copied() {
            // China-alone extents in the projections the China template holds
            let china_too = !self.china.points(proj).is_empty();
            let exts: Vec<([f64; 4], bool)> = if proj.is_conic() {
                china_exts.iter().map(|e| (*e, true)).collect()
            } else {
                world_exts
                    .iter()
                    .map(|e| (*e, false))
                    .chain(china_exts.iter().filter(|_| china_too).map(|e| (*e, true)))
                    .collect()
            };
            for (ext, china_only) in exts {
                let pb = if ext[3] >= 90.0 || ext[1] <= -90.0 && ext[3] > 84.0 {
                    projected_bbox(proj, ext)
                } else {
                    let mut bb = self.bbox_of(proj, china_only, ext);
                    if china_only && ext[1] < 10.0 && proj.is_conic() {
                        // China with the South China Sea: out to the dash line (conics only:
                        // in the flat projections the extent without it registers the China
                        // maps we render, and the extra candidates crowd out good ones)
                        for &(lo, la) in &self.dash_ends {
                            let (x, y) = proj.forward(lo, la);
                            bb = [bb[0].min(x), bb[1].min(y), bb[2].max(x), bb[3].max(y)];
                        }
                    }
                    bb
                };
                let full = Frame::fit(proj, pb, c);
                let mut cands = vec![full];
                let mut cut_top: Vec<Frame> = Vec::new();
                if let Some(b) = sphere_in
                    && ext[1] <= -90.0
                    && ext[3] >= 90.0
                {
                    cands.push(Frame::fit(proj, pb, b));
                }
                // left/right/top only, with aspect candidates
                let ks: &[f64] = if proj == Projection::PlateCarree {
                    &[1.0, 1.15, 1.33]
                } else {
                    &[1.0]
                };
                for &k in ks {
                    let by_width = Frame::by_width(proj, pb, c, k);
                    cands.push(by_width);
                    // A map running off the top of the picture (a slippy map's world view
                    // stops short of the north): by width, flush with the bottom, when the
                    // world fitted by width is taller than the content.
                    if c[1] < 1.0
                        && !china_only
                        && by_width.sy * (pb[3] - pb[1]) > c[3] - c[1] + 2.0
                    {
                        cut_top.push(Frame {
                            ty: c[3] + by_width.sy * pb[1],
                            ..by_width
                        });
                    }
                    // or fitted by height, centred horizontally
                    let by_height = Frame::by_height(proj, pb, c, k);
                    cands.push(by_height);
                    // fitted by height and flush with one side: an inset, legend or label
                    // beside the map widens the content box on the other side
                    for tx in [c[0] - by_height.sx * pb[0], c[2] - by_height.sx * pb[2]] {
                        cands.push(Frame { tx, ..by_height });
                    }
                }
                // China smaller than the content box, at the projection's true aspect: shrunk
                // about the box's centre (a view zoomed in on China with its neighbours), or
                // flush with the box's top left (a 南海诸岛 inset at the lower right widens
                // and deepens the box beyond China's outline).
                if china_only && proj.is_conic() {
                    let s0 = ((c[2] - c[0]) / (pb[2] - pb[0])).min((c[3] - c[1]) / (pb[3] - pb[1]));
                    let (cx, cy) = ((c[0] + c[2]) / 2.0, (c[1] + c[3]) / 2.0);
                    for frac in [0.9, 0.8, 0.7] {
                        let s = s0 * frac;
                        cands.push(Frame {
                            projection: proj,
                            sx: s,
                            sy: s,
                            tx: cx - s * (pb[0] + pb[2]) / 2.0,
                            ty: cy + s * (pb[1] + pb[3]) / 2.0,
                        });
                        cands.push(Frame {
                            projection: proj,
                            sx: s,
                            sy: s,
                            tx: c[0] - s * pb[0],
                            ty: c[1] + s * pb[3],
                        });
                    }
                }
                let tagged = cands.into_iter().map(|f| (f, false));
                for (f, cut_top) in tagged.chain(cut_top.into_iter().map(|f| (f, true))) {
                    let t = self.template(proj, china_only);
                    let (s, n) = score(p, t.points(proj), &f, 8.0, 4);
                    if n < 100 {
                        continue;
                    }
                    hyps.push(Hyp {
                        frame: f,
                        china_only,
                        s,
                        cut_top,
                    });
                }
            }
        }
        hyps
    }

    /// The projected box of the template's points within the extent `ext` (`bbox_of`),
    /// found once per checker.
    fn bbox_of(&self, proj: Projection, china_only: bool, ext: [f64; 4]) -> [f64; 4] {
        *self
            .boxes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((proj, china_only, ext.map(f64::to_bits)))
            .or_insert_with(|| bbox_of(self.template(proj, china_only), proj, ext))
    }

    /// A map registered in a conic projection: tries the other conic variants (standard
    /// parallels, central meridian) from the frame carried over, keeps the best fit. The
    /// variants are refined together (`refine_all`), and one trailing the best by
    /// `LEFT_BEHIND` after a level of the coarse stage is refined no further: of the 21
    /// variants of a conic China map, the 14 or so of other central meridians or parallels far
    /// off fall behind at once, and each took the fine stage (every point) before. No report
    /// changed on the dev set with `examples/comparison_set.rs`'s 180 maps (nor on 271 others),
    /// and the bench's conic maps' checks took 5-15% less.
    fn conic_variants(&self, p: &Prepared, reg: Registered) -> Registered {
        // (Highcharts' whole-Asia conic is a projection of its own, not a China variant)
        if !reg.frame.projection.is_conic() || reg.on == FittedOn::Asia {
            return reg;
        }
        let mut best = reg;
        // a map of South Asia in a conic of its own is re-fitted in those, carried over on
        // a grid over South Asia
        let china_conics: Vec<Projection> = Projection::china_conics().collect();
        let (variants, window): (&[Projection], [f64; 4]) =
            if reg.frame.projection.is_south_asia_conic() {
                (&Projection::SOUTH_ASIA_CONICS, SOUTH_ASIA_GRID)
            } else {
                (&china_conics, CHINA_GRID)
            };
        let tried: Vec<Projection> = variants
            .iter()
            .copied()
            .filter(|&q| q != reg.frame.projection)
            .collect();
        let starts: Vec<(&Outline, Frame)> = tried
            .iter()
            .map(|&q| {
                let pts = if reg.on == FittedOn::China {
                    self.china.points(q)
                } else {
                    self.world_points(q)
                };
                (pts, carry_frame(&reg.frame, q, window))
            })
            .collect();
        let results = refine_all(
            p,
            &starts,
            150,
            true,
            &FIT_SCHEDULE[1..],
            MERGE_PX,
            Some(LEFT_BEHIND),
        );
        for (q, (f, s)) in tried.into_iter().zip(results) {
            tracing::debug!(proj = ?q, fit = s, "conic variant");
            if s > best.fit + 0.005 {
                best = Registered {
                    frame: f,
                    fit: s,
                    on: reg.on,
                };
            }
        }
        best
    }

    /// A map registered in a centred projection: tries central meridians 10, 20 and 30
    /// degrees either side (frame carried over), then, when the best fits from
    /// `CENTRED_BASES_FROM`, the other pseudo-cylindrical bases of `Projection::CHINA_CENTRED`
    /// at its meridian and 5 degrees either side; keeps the best fit. A library that centres
    /// its projection on the longitudes shown (Plotly rotates it to their middle) draws a view
    /// of Asia in, say, Natural Earth centred on 100E: a neighbouring base at a meridian nearby
    /// fits it only loosely.
    fn centred_variants(&self, p: &Prepared, f: Frame, s: f64, china_only: bool) -> (Frame, f64) {
        let Projection::Centred { base, lon0 } = f.projection else {
            return (f, s);
        };
        let mut best = (f, s);
        let mut tried = vec![f.projection];
        let mut try_in = |q: Projection, best: &mut (Frame, f64)| {
            if tried.contains(&q) {
                return;
            }
            tried.push(q);
            let pts = self.outline(q, china_only);
            let (g, t) = refine(
                p,
                &pts,
                carry_frame(&best.0, q, CHINA_GRID),
                150,
                true,
                &FIT_SCHEDULE[1..],
            );
            tracing::debug!(proj = ?q, fit = t, "centred variant");
            if t > best.1 + 0.005 {
                *best = (g, t);
            }
        };
        let meridian = |lon0: i16| (lon0 + 179).rem_euclid(360) - 179;
        for d in [-30, -20, -10, 10, 20, 30] {
            let q = Projection::Centred {
                base,
                lon0: meridian(lon0 + d),
            };
            try_in(q, &mut best);
        }
        // (only for a map that already fits nearly: charts and text fit every base at 0.3-0.55)
        let Projection::Centred { lon0: at, .. } = best.0.projection else {
            return best;
        };
        if best.1 < CENTRED_BASES_FROM {
            return best;
        }
        for q in Projection::CHINA_CENTRED {
            let Projection::Centred { base: b, .. } = q else {
                continue;
            };
            for d in [-5, 0, 5] {
                let q = Projection::Centred {
                    base: b,
                    lon0: meridian(at + d),
                };
                try_in(q, &mut best);
            }
        }
        best
    }

    /// The outline a registered frame was fitted on: Asia alone for a whole-Asia crop, else as
    /// `outline` says.
    fn registered_outline(&self, reg: &Registered) -> std::borrow::Cow<'_, Outline> {
        let proj = reg.frame.projection;
        if reg.on == FittedOn::Asia
            && let Some(ei) = CROP_PROJECTIONS
                .iter()
                .position(|e| e.0 == proj && whole_asia(e))
        {
            return std::borrow::Cow::Borrowed(&self.crop_outlines()[ei]);
        }
        if reg.on == FittedOn::India {
            return std::borrow::Cow::Borrowed(self.india().points(proj));
        }
        self.outline(proj, reg.on == FittedOn::China)
    }

    /// The outline a frame in `proj` is scored on (China alone or the world), projected now
    /// when no template holds it (a centred projection's other central meridians).
    fn outline(&self, proj: Projection, china_only: bool) -> std::borrow::Cow<'_, Outline> {
        let (pts, t) = if china_only {
            (self.china.points(proj), &self.china)
        } else {
            (self.world_points(proj), &self.world)
        };
        if !pts.is_empty() || !proj.is_centred() {
            return std::borrow::Cow::Borrowed(pts);
        }
        std::borrow::Cow::Owned(Outline::new(
            t.lonlat
                .iter()
                .map(|&(lo, la)| proj.forward(lo, la))
                .collect(),
        ))
    }

    /// Outline points of the world template in `proj`: precomputed for the world projections,
    /// for the conics projected once on first use (Asia and around it only).
    fn world_points(&self, proj: Projection) -> &Outline {
        let pts = self.world.points(proj);
        if !pts.is_empty() {
            return pts;
        }
        if proj.is_centred() {
            return self.template(proj, false).points(proj);
        }
        let asia = self.asia.get_or_init(|| {
            let projs: Vec<Projection> = Projection::china_conics()
                .chain(Projection::SOUTH_ASIA_CONICS)
                .chain(CROP_PROJECTIONS.iter().map(|e| e.0))
                .filter(|q| q.is_conic())
                .fold(Vec::new(), |mut v, q| {
                    if !v.contains(&q) {
                        v.push(q);
                    }
                    v
                });
            Template::new(self.world_in([30.0, -15.0, 180.0, 80.0]).collect(), &projs)
        });
        asia.points(proj)
    }

    /// The template a whole-map hypothesis in `proj` is scored on: China alone, the world, or
    /// the world centred on the Pacific or on China (projected on first use). A world map
    /// centred on China (d3's `rotate([-105, 0])`) had no world outline in its projection, so
    /// its hypotheses scored nothing, and the Pacific-centred ones' variants (30 degrees
    /// either side) stopped short of it.
    fn template(&self, proj: Projection, china_only: bool) -> &Template {
        if china_only {
            &self.china
        } else if proj.is_centred() {
            self.centred.get_or_init(|| {
                let projs: Vec<Projection> = Projection::PACIFIC
                    .into_iter()
                    .chain(Projection::CHINA_CENTRED)
                    .collect();
                Template::new(self.world.lonlat.clone(), &projs)
            })
        } else {
            &self.world
        }
    }

    /// The world outline's lon/lat points strictly inside `[lon0, lat0, lon1, lat1]`.
    fn world_in(&self, win: [f64; 4]) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.world
            .lonlat
            .iter()
            .copied()
            .filter(move |&(lo, la)| in_window(win, lo, la))
    }

    /// The crop search's outline for each `CROP_PROJECTIONS` entry, in its projection and in
    /// the window its spans see: the countries of Asia alone for a whole-Asia entry (see
    /// `whole_asia`), the world outline for the others.
    fn crop_outlines(&self) -> &[Outline] {
        self.crop.get_or_init(|| {
            let asia = densify(
                self.reference
                    .countries
                    .iter()
                    .filter(|c| crate::reference::ASIA_COUNTRIES.contains(&c.name.as_str()))
                    .flat_map(|c| c.rings.iter()),
                0.35,
            );
            CROP_PROJECTIONS
                .iter()
                .map(|e| {
                    let proj = e.0;
                    // a view of all Asia: the countries of Asia alone, out to the Arctic and
                    // the Pacific
                    if whole_asia(e) {
                        let window = [20.0, -12.0, 180.0, 80.0];
                        return Outline::new(
                            asia.iter()
                                .filter(|&&(lo, la)| in_window(window, lo, la))
                                .map(|&(lo, la)| proj.forward(lo, la))
                                .collect(),
                        );
                    }
                    let window = [40.0, -12.0, 150.0, 60.0];
                    Outline::new(
                        self.world_in(window)
                            .map(|(lo, la)| proj.forward(lo, la))
                            .collect(),
                    )
                })
                .collect()
        })
    }

    /// The crop grid's second ranking: the best score within `MID_TRUNC` px over a 3 x 3
    /// block of positions around `f`, a 24th of the box width `w` apart (the grid's own step
    /// is an 8th of the view across, a tenth down). Used for views of all Asia; the other
    /// keys' positions are descended instead (see `crop_search`).
    fn mid_basin_score(&self, p: &Prepared, ei: usize, f: &Frame, w: f64) -> f64 {
        let pts = &self.crop_outlines()[ei];
        let d = w / 24.0;
        let mut best = 0.0f64;
        for i in -1..=1 {
            for j in -1..=1 {
                let mut g = *f;
                g.tx += f64::from(i) * d;
                g.ty += f64::from(j) * d;
                let (s, n) = score(p, pts, &g, MID_TRUNC, 6);
                if n >= 150 && s > best {
                    best = s;
                }
            }
        }
        best
    }

    /// Grid search for crops of Asia (the map fills the frame; extent unknown), of China
    /// maps in a conic projection that draw the neighbours to the image edges, and of all Asia
    /// (see `CROP_PROJECTIONS`).
    fn crop_search(&self, p: &Prepared, cb: [f64; 4]) -> Option<Registered> {
        let (w, h) = (cb[2] - cb[0], cb[3] - cb[1]);
        let (ox, oy) = (cb[0], cb[1]);
        // (score, frame, key of projection/scale/aspect for picking one per scale)
        let mut cands: Vec<(f64, Frame, (usize, usize, usize))> = Vec::new();
        for (ei, entry) in CROP_PROJECTIONS.iter().enumerate() {
            let &(proj, min_span, max_span) = entry;
            let conic = proj.is_conic();
            let pts = &self.crop_outlines()[ei];
            let mut span = min_span;
            let mut si = 0;
            while span <= max_span {
                let ks: &[f64] = if proj == Projection::PlateCarree {
                    &[1.0, 1.15]
                } else {
                    &[1.0]
                };
                for (ki, &k) in ks.iter().enumerate() {
                    // centre lon/lat on a grid of 1/8 of the view (conic views from South
                    // Asia, centred near 83E 21N, to eastern China)
                    let step = span / 8.0;
                    let (lon_r, lat_r) = if conic {
                        ((72.0, 122.0), (15.0, 45.0))
                    } else if whole_asia(entry) {
                        // all Asia, Siberia's north coast included: in Mercator-like
                        // projections the view's middle lies as far north as 58N
                        ((55.0, 140.0), (-5.0, 62.0))
                    } else {
                        ((55.0, 140.0), (-5.0, 50.0))
                    };
                    let mut clon = lon_r.0;
                    while clon <= lon_r.1 {
                        let mut clat = lat_r.0;
                        while clat <= lat_r.1 {
                            let (cx, cy) = proj.forward(clon, clat);
                            let (ax, _) = proj.forward(clon - span / 2.0, clat);
                            let (bx, _) = proj.forward(clon + span / 2.0, clat);
                            let sx = w / (bx - ax).abs().max(1e-6);
                            let sy = sx * k;
                            let f = Frame {
                                projection: proj,
                                sx,
                                sy,
                                tx: ox + w / 2.0 - sx * cx,
                                ty: oy + h / 2.0 + sy * cy,
                            };
                            let (s, n) = score(p, pts, &f, 60.0, 6);
                            if n >= 150 {
                                cands.push((s, f, (ei, si, ki)));
                            }
                            clat += step * 0.8;
                        }
                        clon += step;
                    }
                }
                span *= 1.15;
                si += 1;
            }
        }
        // The wide-basin coarse score favours zoomed-in frames (few outline points, all near
        // some edge), so a global top few can all be at wrong scales: refine the best
        // candidate of each projection and scale (and aspect) instead.
        cands.sort_by(|a, b| b.0.total_cmp(&a.0));
        // A second ranking by a narrower basin (each position first descended in the wide
        // one; `mid_basin_score` for views of all Asia), over the best few positions of each
        // key: on a map cluttered with inner borders and lakes every
        // zoomed-in frame lies near some edge within the wide basin. A plotnine South Asia
        // crop's right frame ranked below the 24th key; by the narrower basin it ranked
        // first. Four positions per key, not eight: with eight, wrong positions further down
        // other keys took the six places from a matplotlib South Asia crop's right frame.
        // key -> (its slot in `mid_reps`, positions scored so far)
        let mut per_key = std::collections::HashMap::<(usize, usize, usize), (usize, usize)>::new();
        let mut mid_reps: Vec<(f64, Frame, (usize, usize, usize))> = Vec::new();
        for (s, f, key) in &cands {
            let (i, scored) = per_key.entry(*key).or_insert_with(|| {
                mid_reps.push((f64::MIN, *f, *key));
                (mid_reps.len() - 1, 0)
            });
            let i = *i;
            if *scored < MID_PER_KEY && *s > 0.0 {
                *scored += 1;
                // a grid position is up to half a grid step (a 16th of the view) from the
                // frame: descend in the wide basin first, then rank by the narrower one
                // (views of all Asia keep the narrow-basin block: descended, they settle on
                // the borders of any crowded map, Europe's among them)
                let (m, g) = if whole_asia(&CROP_PROJECTIONS[key.0]) {
                    (self.mid_basin_score(p, key.0, f, w), *f)
                } else {
                    let pts = &self.crop_outlines()[key.0];
                    let (g, _) = refine(p, pts, *f, 150, true, &[(60.0, 6, w / 16.0)]);
                    let (m, n) = score(p, pts, &g, MID_TRUNC, 6);
                    (if n >= 150 { m } else { 0.0 }, g)
                };
                if m > mid_reps[i].0 {
                    mid_reps[i] = (m, g, *key);
                }
            }
        }
        mid_reps.sort_by(|a, b| b.0.total_cmp(&a.0));
        mid_reps.truncate(CROP_MID);
        for (m, f, _) in &mid_reps {
            tracing::debug!(proj = ?f.projection, mid = m, sx = f.sx, sy = f.sy, tx = f.tx, ty = f.ty, "narrow-basin crop hypothesis");
        }
        let mut seen = std::collections::HashSet::<(usize, usize, usize)>::new();
        cands.retain(|(_, _, key)| seen.insert(*key));
        // The best 24, and the best few conic ones besides: the coarse score ranks conic crops
        // low (a South Asia map in Albers, right frame 0.97 after refinement, ranked below the
        // 24th). 24, not 12: a flat South Asia outline JPEG's right frame ranked 13th. And the
        // best whole-Asia frame of each projection: the coarse score ranks those low too (a
        // Natural Earth Asia map's right frame was below four plate carrée and Miller ones).
        let mut conic = 0;
        let mut wide_seen: Vec<usize> = Vec::new();
        let cands: Vec<_> = cands
            .into_iter()
            .enumerate()
            .filter(|(k, (_, f, key))| {
                let c = f.projection.is_conic();
                // the best whole-Asia candidate of each projection (spans over 80 degrees)
                let wide_first =
                    whole_asia(&CROP_PROJECTIONS[key.0]) && !wide_seen.contains(&key.0);
                let keep = *k < CROP_REFINED || (c && conic < CROP_CONIC) || wide_first;
                if keep {
                    conic += usize::from(c);
                    if wide_first {
                        wide_seen.push(key.0);
                    }
                }
                keep
            })
            .map(|(_, c)| c)
            .collect();
        // the narrow-basin picks not already among them
        let mut cands = cands;
        for rep in mid_reps {
            if rep.0 > 0.0 && !cands.iter().any(|(_, f, _)| same_frame(f, &rep.1)) {
                cands.push(rep);
            }
        }
        // Coarse stages for every candidate, the fine ones for the best few of them (by the
        // share of outline points already on an edge): the fine stages cost most, and after
        // the coarse ones a frame is within a few pixels of where it ends.
        let (coarse, fine) = CROP_SCHEDULE.split_at(CROP_COARSE_STAGES);
        // a whole-Asia candidate is refined on Asia alone, the others on the world
        let outline = |ei: usize| -> (&Outline, FittedOn) {
            if whole_asia(&CROP_PROJECTIONS[ei]) {
                (&self.crop_outlines()[ei], FittedOn::Asia)
            } else {
                (self.world_points(CROP_PROJECTIONS[ei].0), FittedOn::World)
            }
        };
        let mut coarse_fits: Vec<(f64, Frame, usize)> = cands
            .into_iter()
            .map(|(_, f, key)| {
                let (g, s) = refine(p, outline(key.0).0, f, 150, true, coarse);
                tracing::trace!(proj = ?f.projection, fit = s, sx = g.sx, sy = g.sy, tx = g.tx, ty = g.ty, "coarse crop fit");
                (s, g, key.0)
            })
            .collect();
        coarse_fits.sort_by(|a, b| b.0.total_cmp(&a.0));
        coarse_fits.truncate(CROP_FINISHED);
        let mut best: Option<Registered> = None;
        for (_, f, ei) in coarse_fits {
            let (pts, on) = outline(ei);
            let (g, s) = refine(p, pts, f, 150, true, fine);
            tracing::debug!(proj = ?g.projection, ?on, fit = s, sx = g.sx, sy = g.sy, "refined crop hypothesis");
            if best.as_ref().is_none_or(|b| s > b.fit) {
                best = Some(Registered {
                    frame: g,
                    fit: s,
                    on,
                });
            }
        }
        best
    }
}

/// India's outline (default view) where India's own maps and China's view draw it alike: the
/// coasts, islands and the borders with Pakistan south of Kashmir, Nepal, Bhutan, Bangladesh
/// and Myanmar. Left out: Kashmir and Aksai Chin (north of 32N, west of 80.5E), where India's
/// maps draw its claim and the default view the lines of control, and every point inside or
/// near China's outline in China's view (the McMahon line and the border with Tibet).
fn india_template(r: &Reference) -> Template {
    let india: &[Ring] = r.country("India").map_or(&[], |c| &c.rings);
    let china: Vec<(f64, f64)> = densify(r.china.iter(), 0.1);
    let near_china = |q: (f64, f64)| {
        china
            .iter()
            .any(|c| (c.0 - q.0).powi(2) + (c.1 - q.1).powi(2) < 0.3 * 0.3)
    };
    let pts: Vec<(f64, f64)> = densify(
        india
            .iter()
            .filter(|ring| crate::reference::ring_area(ring).abs() > 0.05),
        0.2,
    )
    .into_iter()
    .filter(|&(lo, la)| !(la > 32.0 && lo < 80.5))
    .filter(|&q| !point_in(&r.china, q.0, q.1) && !near_china(q))
    .collect();
    Template::new(pts, &INDIA_PROJECTIONS)
}

/// Whether (lon, lat) lies strictly inside `[lon0, lat0, lon1, lat1]`.
fn in_window(win: [f64; 4], lo: f64, la: f64) -> bool {
    lo > win[0] && lo < win[2] && la > win[1] && la < win[3]
}

/// Width and height (pixels) of the bounding box of the outline points that land in the image.
fn outline_span(p: &Prepared, pts: &Outline, f: &Frame) -> [f64; 2] {
    let mut bb = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for (x, y) in pts.iter() {
        let (px, py) = (f.sx * x + f.tx, f.ty - f.sy * y);
        if p.dt_at(px, py).is_some() {
            bb = [bb[0].min(px), bb[1].min(py), bb[2].max(px), bb[3].max(py)];
        }
    }
    if bb[0] > bb[2] {
        [0.0, 0.0]
    } else {
        [bb[2] - bb[0], bb[3] - bb[1]]
    }
}

/// The lon/lat boxes `carry_frame` lays its grid over: China, and South Asia.
const CHINA_GRID: [f64; 4] = [75.0, 18.0, 135.0, 53.0];
const SOUTH_ASIA_GRID: [f64; 4] = [65.0, 8.0, 95.0, 38.0];

/// The frame in projection `to` that puts a grid of points over `win` (lon/lat box) where
/// `f` puts them (least squares on x and on y separately).
fn carry_frame(f: &Frame, to: Projection, win: [f64; 4]) -> Frame {
    let (mut n, mut su, mut sx, mut suu, mut sux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sv, mut sy, mut svv, mut svy) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..=6 {
        for j in 0..=6 {
            let lon = win[0] + (win[2] - win[0]) * i as f64 / 6.0;
            let lat = win[1] + (win[3] - win[1]) * j as f64 / 6.0;
            let (px, py) = f.to_px(lon, lat);
            let (u, v) = to.forward(lon, lat);
            n += 1.0;
            su += u;
            sx += px;
            suu += u * u;
            sux += u * px;
            sv += v;
            sy += py;
            svv += v * v;
            svy += v * py;
        }
    }
    // px = a u + b ; py = c v + d (c = -sy)
    let a = (n * sux - su * sx) / (n * suu - su * su).max(1e-12);
    let b = (sx - a * su) / n;
    let c = (n * svy - sv * sy) / (n * svv - sv * sv).max(1e-12);
    let d = (sy - c * sv) / n;
    Frame {
        projection: to,
        sx: a,
        sy: -c,
        tx: b,
        ty: d,
    }
}

fn bbox_of(t: &Template, proj: Projection, ext: [f64; 4]) -> [f64; 4] {
    let mut bb = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for (&(lo, la), (x, y)) in t.lonlat.iter().zip(t.points(proj).iter()) {
        if lo < ext[0] || lo > ext[2] || la < ext[1] || la > ext[3] {
            continue;
        }
        bb[0] = bb[0].min(x);
        bb[1] = bb[1].min(y);
        bb[2] = bb[2].max(x);
        bb[3] = bb[3].max(y);
    }
    if bb[0] > bb[2] {
        projected_bbox(proj, ext)
    } else {
        bb
    }
}

/// Two frames of one projection placing the outline within a pixel of each other.
fn same_frame(a: &Frame, b: &Frame) -> bool {
    a.projection == b.projection
        && (a.sx - b.sx).abs() <= 1e-3 * a.sx.abs()
        && (a.sy - b.sy).abs() <= 1e-3 * a.sy.abs()
        && (a.tx - b.tx).abs() <= 1.0
        && (a.ty - b.ty).abs() <= 1.0
}

#[cfg(test)]
mod tests {
    use super::pixels_of;

    #[test]
    fn pixels_of_takes_a_buffer_of_whole_pixels_as_it_is_and_copies_any_other() {
        let bytes: Vec<u8> = (0..12).collect();
        let want: Vec<[u8; 3]> = vec![[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]];
        // exactly four pixels: the same allocation
        let ptr = bytes.as_ptr();
        let px = pixels_of(bytes.clone(), 4);
        assert_eq!(px, want);
        let taken = pixels_of(bytes, 4);
        assert_eq!(taken.as_ptr().cast::<u8>(), ptr);
        // more bytes than pixels, or a capacity of no whole pixel count: copied
        let mut longer: Vec<u8> = (0..14).collect();
        assert_eq!(pixels_of(longer.clone(), 4), want);
        longer.truncate(12);
        longer.reserve_exact(1);
        if !longer.capacity().is_multiple_of(3) {
            assert_eq!(pixels_of(longer, 4), want);
        }
    }
}
