//! Registration: find the projection and image transform that best align the reference
//! outlines with the image's region boundaries.
//!
//! The image becomes an edge map (colour steps between neighbouring pixels) and its distance
//! transform. A candidate frame is scored by a truncated chamfer measure: the share of the
//! projected reference outline points (in frame) that lie on or next to an image edge, with
//! a soft falloff. Candidates come from the content bounding box against the projected extent
//! of the world or of China in every projection, plus a coarse grid search over Asia for crops;
//! the best few are refined by coordinate descent on scale and translation.
//!
//! China maps in a conic projection (Albers, Lambert) come in many parameter sets: the China
//! outline is projected in each variant of `Projection::CONICS` (standard parallels and
//! central meridian); the best two conic variants enter refinement on top of the best four
//! flat hypotheses (never in their place), a conic frame is kept only when it fits better
//! than the best flat one by a clear margin (a conic China outline fits the China inside a
//! world map's outline fairly well), and a map registered in a conic is then re-fitted in
//! every other variant and in Plotly's default conics (`Projection::china_conics`; frame
//! carried over by least squares on a grid of points over China) and the best fit kept. Conic
//! maps that draw the neighbours out to the image edges are found by the crop search, and so
//! are maps of South Asia in a conic centred on India, re-fitted then over
//! `Projection::SOUTH_ASIA_CONICS` (central meridians two degrees apart) on a grid over South
//! Asia. Maps of India drawn alone are fitted on India's outline where both views draw it
//! alike, when nothing else fits well.
use super::simd;
use crate::reference::project::{Frame, Projection};
use std::collections::HashMap;

/// A prepared image: RGB, background, edges and their distance transform.
pub struct Prepared {
    pub w: usize,
    pub h: usize,
    pub rgb: Vec<[u8; 3]>,
    pub bg: [u8; 3],
    pub edges: Vec<u8>,
    /// Distance (pixels) to the nearest edge pixel, capped at 64.
    pub dt: Vec<f32>,
    /// Bounding box of non-background content: x0, y0, x1, y1 (inclusive-exclusive).
    pub content: [f64; 4],
    /// Lines at each edge (left, top, right, bottom) that belong to a frame around the chart.
    frame: [usize; 4],
    /// Whether flat areas are exactly flat (lossless source, no JPEG noise).
    pub clean: bool,
    /// The image came in a lossy encoding (JPEG): lines are widened by ringing.
    pub lossy: bool,
    /// Edges taken at `FAINT_EDGE_STEP`: faint lines count, and so does more clutter.
    pub faint: bool,
    /// Edges and ink taken at `PALE_STEP` (see `Prepared::pale`).
    pub pale: bool,
    /// Outline points read by `score` so far: the registration's work, for the debug log.
    pub work: std::sync::atomic::AtomicU64,
    /// `support` tables built so far, by truncation (its bits).
    supports: std::sync::Mutex<Vec<(u32, std::sync::Arc<Support>)>>,
    /// `DtCodes::wide` of `dt` under `WIDE_BELOW`, made on first use.
    wide: std::sync::OnceLock<Option<std::sync::Arc<DtCodes<u16>>>>,
    /// `open_background`, once found.
    open: std::sync::OnceLock<Vec<bool>>,
    /// `mass`, once found.
    mass: std::sync::OnceLock<Option<[f64; 4]>>,
}

/// A pixel's soft support, by pixel (see `Prepared::support`).
pub enum Support {
    /// Each pixel's `DtCodes` code, and the support of each code's distance.
    Coded {
        codes: std::sync::Arc<DtCodes>,
        lut: Box<[u32; 256]>,
    },
    /// The same in two-byte codes, where a chamfer transform holds more than 255 distances
    /// under the truncation (24 px): half the memory of `Full`, and read faster (one-byte
    /// codes, where they serve, are faster still).
    Wide {
        codes: std::sync::Arc<DtCodes<u16>>,
        lut: Box<[u32; 65536]>,
    },
    /// Each pixel's support.
    Full(Vec<u32>),
}

/// A code of `DtCodes`: a byte, or two bytes (`Support::Wide`).
pub trait Code: Copy + Into<usize> {
    /// The code of distances at or beyond the truncation, which have no support: the greatest.
    const FAR: Self;
    /// The code numbered `i` (under `FAR`).
    fn nth(i: usize) -> Self;
}

impl Code for u8 {
    const FAR: u8 = u8::MAX;
    fn nth(i: usize) -> u8 {
        i as u8
    }
}

impl Code for u16 {
    const FAR: u16 = u16::MAX;
    fn nth(i: usize) -> u16 {
        i as u16
    }
}

/// Most distances two-byte codes are made for: a table without collisions for more would
/// take over 2^19 slots, more memory than the codes save (the crop search's 48 and 60 px
/// truncations keep `Support::Full`).
const WIDE_DISTANCES: usize = 1024;

/// The truncation of `Prepared::wide`'s codes: the first (widest) stage of the registration's
/// schedule.
const WIDE_BELOW: f32 = super::FIT_SCHEDULE[0].0;

/// The one-byte code of distances at or beyond the truncation.
const FAR_CODE: u8 = u8::FAR;

/// A distance transform as codes, one per pixel: the index of the pixel's distance among the
/// distinct distances under a truncation, or `Code::FAR` for any distance from there on.
pub struct DtCodes<C = u8> {
    pub codes: Vec<C>,
    /// The distance of each code below `Code::FAR`, then the truncation's up to every code.
    pub values: Vec<f32>,
}

impl<C: Code> DtCodes<C> {
    /// The codes of a chamfer distance transform's `dt` under `below`, by a table from every
    /// distance such a transform can hold under `below` (`values`, fewer than `Code::FAR`)
    /// to its code: no probing, no branch. With `verify`, None when `dt` holds one that is
    /// not among them (it was not made by `distance_transform`): each pixel's code is checked
    /// to give back its distance. Without, `dt` must have been made by `distance_transform`,
    /// which holds no other distance under `below` by construction (see `chamfer_distances`);
    /// debug builds check it all the same. The table has `2^slot_bits` slots, or as many more
    /// as it takes (up to eight times) to find a multiplier that puts no two of the distances
    /// in one slot.
    fn of_chamfer(
        dt: &[f32],
        below: f32,
        mut values: Vec<f32>,
        slot_bits: u32,
        verify: bool,
    ) -> Option<Self> {
        let far: usize = C::FAR.into();
        if values.len() >= far {
            return None;
        }
        let slot = |bits: u32, mul: u32, sb: u32| (bits.wrapping_mul(mul) >> (32 - sb)) as usize;
        let (mul, sb, table) = (slot_bits..slot_bits + 4).find_map(|sb| {
            (0u32..64).find_map(|k| {
                let mul = 0x9E37_79B9u32.wrapping_add(k.wrapping_mul(0x6A09_E668));
                let mut table = vec![C::FAR; 1 << sb];
                for (code, v) in values.iter().enumerate() {
                    let t = &mut table[slot(v.to_bits(), mul, sb)];
                    if (*t).into() != far {
                        return None;
                    }
                    *t = C::nth(code);
                }
                Some((mul, sb, table))
            })
        })?;
        values.resize(far + 1, below);
        // A pixel under the truncation reads the table, one at or past it is far: a branch,
        // which regions of open map or sea far from any line take for long runs, and which
        // spares the table load there (the two-byte codes' coding about 15% faster on the
        // bench's median maps, on a Zen 3 CPU, than reading the table for every pixel). With
        // `verify`, each code is checked to give back the pixel's distance (a distance not in
        // the table reads another's code, or FAR, whose value is `below`: either gives back a
        // different distance).
        let codes: Vec<C> = dt
            .iter()
            .map(|&d| {
                if d < below {
                    table[slot(d.to_bits(), mul, sb)]
                } else {
                    C::FAR
                }
            })
            .collect();
        // (a pass of its own: in the coding loop the check was most of the time a pixel took,
        // and the two-byte codes, made for every image, skip it outside debug builds)
        let exact = (!verify && !cfg!(debug_assertions))
            || dt
                .iter()
                .zip(&codes)
                .all(|(&d, &c)| d >= below || values[c.into()].to_bits() == d.to_bits());
        debug_assert!(verify || exact, "a distance no chamfer transform holds");
        exact.then_some(DtCodes { codes, values })
    }
}

impl DtCodes<u16> {
    /// Two-byte codes of `dt`, made by `distance_transform`, under `below`; None when such a
    /// transform can hold `WIDE_DISTANCES` distances or more under it (past about 40 px).
    fn wide(dt: &[f32], below: f32) -> Option<DtCodes<u16>> {
        let values = chamfer_distances(below, WIDE_DISTANCES)?;
        // (351 distances under 24 px: a table of 2^16 slots, 128 KiB)
        Self::of_chamfer(dt, below, values, 16, false)
    }

    /// The one-byte codes under `below` (at most the codes' own truncation): the same code
    /// for each distance under it, `FAR_CODE` for the rest; None when those distances take
    /// 255 values or more.
    fn narrow(&self, below: f32) -> Option<DtCodes> {
        // (`values` ascends: the codes' distances, then their truncation over and over)
        let n = self.values.partition_point(|&v| v < below);
        if n >= FAR_CODE as usize {
            return None;
        }
        let codes = narrowed(&self.codes, n as u16);
        let mut values = self.values[..n].to_vec();
        values.resize(256, below);
        Some(DtCodes { codes, values })
    }
}

super::simd::avx2_too! {
/// `DtCodes::narrow`'s loop: each code under `n` as a byte, `FAR_CODE` for the rest.
fn narrowed(codes: &[u16], n: u16) -> Vec<u8> {
    codes
        .iter()
        .map(|&c| if c < n { c as u8 } else { FAR_CODE })
        .collect()
}
}

impl DtCodes {
    /// The codes of `dt` under `below`; None when a chamfer transform can hold more than 255
    /// distances under it (decided before reading `dt`: past 16 px), or when `dt`'s own
    /// distances under it take more than 255 values.
    fn new(dt: &[f32], below: f32) -> Option<DtCodes> {
        let values = chamfer_distances(below, FAR_CODE.into())?;
        Self::of_chamfer(dt, below, values, 12, true).or_else(|| Self::by_hashing(dt, below))
    }

    /// The codes of any `dt` under `below`, numbered in the order the distances first occur.
    fn by_hashing(dt: &[f32], below: f32) -> Option<DtCodes> {
        // open addressing on the distance's bits: 1024 slots for at most 255 values
        const SLOTS: usize = 1024;
        let mut keys = [u32::MAX; SLOTS];
        let mut vals = [0u8; SLOTS];
        let mut values: Vec<f32> = Vec::new();
        let mut codes = Vec::with_capacity(dt.len());
        let (mut last_bits, mut last_code) = (below.to_bits(), FAR_CODE);
        for &d in dt {
            let bits = d.to_bits();
            if bits != last_bits {
                last_bits = bits;
                // (a NaN is far: it is no distance under `below`)
                last_code = if d >= below || d.is_nan() {
                    FAR_CODE
                } else {
                    let mut i = (bits.wrapping_mul(0x9E37_79B9) >> 22) as usize;
                    loop {
                        if keys[i] == bits {
                            break vals[i];
                        }
                        if keys[i] == u32::MAX {
                            if values.len() == FAR_CODE as usize {
                                return None;
                            }
                            keys[i] = bits;
                            vals[i] = values.len() as u8;
                            values.push(d);
                            break vals[i];
                        }
                        i = (i + 1) % SLOTS;
                    }
                };
            }
            codes.push(last_code);
        }
        values.resize(256, below);
        Some(DtCodes { codes, values })
    }
}

/// Every distance under `below` that `distance_transform` can give a pixel, ascending: each
/// is 0 or another plus 1 or plus the f32 nearest √2, added in f32 (35 under 8 px, 163 under
/// 16, 351 under 24); None when there are `limit` or more, where the search stops. (The
/// transform's passes make each distance that way, from an edge's 0, and a sum under `below`
/// only adds to sums under it: the search finds them all.)
fn chamfer_distances(below: f32, limit: usize) -> Option<Vec<f32>> {
    let mut found: Vec<f32> = vec![0.0];
    let mut known: std::collections::HashSet<u32> = std::collections::HashSet::from([0]);
    let mut next = 0;
    while next < found.len() {
        if found.len() >= limit {
            return None;
        }
        let v = found[next];
        next += 1;
        for s in [1.0, DIAG] {
            let u = v + s;
            if u < below && known.insert(u.to_bits()) {
                found.push(u);
            }
        }
    }
    if found.len() >= limit {
        return None;
    }
    found.sort_by(f32::total_cmp);
    Some(found)
}

/// One in `Prepared::support`'s fixed point: 2^24.
const SUPPORT_ONE: f64 = 16_777_216.0;

/// Colour step (levels in some channel) between neighbouring pixels that makes an edge: above
/// JPEG noise, below the contrast of drawn boundaries.
pub const EDGE_STEP: i32 = 14;
/// The step for a second look at a map whose boundaries are drawn faintly (light lines between
/// light fills, softened by antialiasing and downscaling), when nothing registered at
/// `EDGE_STEP`.
pub const FAINT_EDGE_STEP: i32 = 8;
/// Levels from the background that make a pixel ink (part of the content box): above the
/// background's own shading, light graticules and drop shadows.
const INK_STEP: i32 = 24;
/// The colour step of a pale look at a lossless image (`Prepared::pale`): its flat
/// background and fills differ by nothing, so any larger step is drawn.
pub const PALE_STEP: i32 = 2;
/// Least share of the image within `INK_STEP` of the background (and beyond `PALE_STEP`) for
/// a pale look.
const PALE_MIN_SHARE: f64 = 0.02;

pub fn cdist(a: [u8; 3], b: [u8; 3]) -> i32 {
    (0..3)
        .map(|i| (a[i] as i32 - b[i] as i32).abs())
        .max()
        .unwrap_or(0)
}

impl Prepared {
    pub fn new(w: usize, h: usize, rgb: Vec<[u8; 3]>) -> Prepared {
        // background: most common quantised colour over the border ring and two rings a few
        // pixels in, so that a thin frame drawn around a chart does not pass for it
        let mut hist = std::collections::HashMap::<[u8; 3], usize>::new();
        let q = |c: [u8; 3]| [c[0] & 0xF0, c[1] & 0xF0, c[2] & 0xF0];
        let mut border = Vec::new();
        for inset in [0, 3, 6] {
            if 2 * inset + 2 > w.min(h) {
                break;
            }
            let (x1, y1) = (w - 1 - inset, h - 1 - inset);
            for x in inset..=x1 {
                border.push(rgb[inset * w + x]);
                border.push(rgb[y1 * w + x]);
            }
            for y in inset..=y1 {
                border.push(rgb[y * w + inset]);
                border.push(rgb[y * w + x1]);
            }
        }
        for &c in &border {
            *hist.entry(q(c)).or_default() += 1;
        }
        let mode = hist
            .into_iter()
            .max_by_key(|(c, n)| (*n, *c))
            .map(|(c, _)| c)
            .unwrap_or([255; 3]);
        let sel: Vec<[u8; 3]> = border.into_iter().filter(|c| q(*c) == mode).collect();
        let bg = median_colour(&sel).unwrap_or([255; 3]);
        let exact = sel.iter().filter(|&&c| c == bg).count();
        let clean = exact as f64 >= 0.98 * sel.len() as f64;

        let edges = edges_at(&rgb, w, h, EDGE_STEP);
        let dt = distance_transform(&edges, w, h);
        let ink = ink_mask(&rgb, bg, INK_STEP);
        let frame = frame_lines(&ink, w, h);
        let content = content_box(&ink, frame, w, h);
        Prepared {
            w,
            h,
            rgb,
            bg,
            edges,
            dt,
            content,
            frame,
            clean,
            lossy: false,
            faint: false,
            pale: false,
            work: Default::default(),
            supports: Default::default(),
            wide: Default::default(),
            open: Default::default(),
            mass: Default::default(),
        }
    }

    /// The same image read for pale fills, when it is lossless and a good part of it is
    /// filled within `INK_STEP` of the background: the lightest class of a sequential palette
    /// (ColorBrewer's Blues and Greens start 8-10 levels from white) draws its provinces'
    /// outer boundary below both edge steps and outside the content box, so a China
    /// choropleth loses Xinjiang's and Yunnan's outline and fits nothing. Here edges are any
    /// step above `PALE_STEP` and ink anything that far from the background; a flat
    /// background makes both exact. None when the image is lossy or has no such fill.
    pub fn pale(&self) -> Option<Prepared> {
        if !self.clean || self.lossy {
            return None;
        }
        let near = self
            .rgb
            .iter()
            .filter(|&&c| (PALE_STEP + 1..=INK_STEP).contains(&cdist(c, self.bg)))
            .count();
        tracing::debug!(share = near as f64 / self.rgb.len() as f64, "pale fill");
        if (near as f64) < PALE_MIN_SHARE * self.rgb.len() as f64 {
            return None;
        }
        let (w, h) = (self.w, self.h);
        let ink = ink_mask(&self.rgb, self.bg, PALE_STEP);
        let frame = frame_lines(&ink, w, h);
        Some(Prepared {
            content: content_box(&ink, frame, w, h),
            frame,
            pale: true,
            ..self.another_look(edges_at(&self.rgb, w, h, PALE_STEP))
        })
    }

    /// This image seen through other `edges` (their distance transform built anew), with
    /// this look's content box and frame, and nothing read or built yet.
    fn another_look(&self, edges: Vec<u8>) -> Prepared {
        Prepared {
            w: self.w,
            h: self.h,
            rgb: self.rgb.clone(),
            bg: self.bg,
            dt: distance_transform(&edges, self.w, self.h),
            edges,
            content: self.content,
            frame: self.frame,
            clean: self.clean,
            lossy: self.lossy,
            faint: false,
            pale: false,
            work: Default::default(),
            supports: Default::default(),
            wide: Default::default(),
            open: Default::default(),
            mass: Default::default(),
        }
    }

    /// Moves the points another look at this image has read (`work`) to this one's count.
    pub fn add_work(&self, other: &Prepared) {
        use std::sync::atomic::Ordering::Relaxed;
        self.work.fetch_add(other.work.swap(0, Relaxed), Relaxed);
    }

    /// `dt`'s two-byte codes under `WIDE_BELOW`, made once.
    fn wide(&self) -> Option<std::sync::Arc<DtCodes<u16>>> {
        self.wide
            .get_or_init(|| DtCodes::wide(&self.dt, WIDE_BELOW).map(std::sync::Arc::new))
            .clone()
    }

    /// The background reachable from the image's sides without crossing a drawn line or a
    /// fill (`probe::open_background_of`), found once per look.
    pub fn open_background(&self) -> &[bool] {
        self.open
            .get_or_init(|| super::probe::open_background_of(self))
    }

    /// The same image with edges taken at `FAINT_EDGE_STEP`, when they number at least
    /// `min_gain` times its own (otherwise a second look would see the same lines again).
    pub fn faint(&self, min_gain: f64) -> Option<Prepared> {
        let edges = edges_at(&self.rgb, self.w, self.h, FAINT_EDGE_STEP);
        let (n, nf) = (count_edges(&self.edges), count_edges(&edges));
        tracing::debug!(normal = n, faint = nf, "faint edges");
        if (nf as f64) < min_gain * n as f64 {
            return None;
        }
        Some(Prepared {
            faint: true,
            ..self.another_look(edges)
        })
    }

    /// The soft support `1 - min(d / trunc, 1)` of every pixel (`d` its distance to the
    /// nearest edge), in units of 2^-24, built once per truncation. The units lose nothing:
    /// `d / trunc` is an f32 in [0, 1], and one minus it is exact (for values of a half or
    /// more) or rounded onto the grid of f32s in [0.5, 1]; either way a multiple of 2^-24.
    /// So sums of supports are exact integers, in any order, where sums of f32s turned into
    /// f64s were exact too (under 2^29 points): `score` reads one table load per point in
    /// place of a division, a comparison and a conversion, and its result is bit for bit
    /// the same.
    ///
    /// When the distances under `trunc` take at most 255 values (under 8 pixels 35, under 24
    /// 351: the chamfer distances are sums of steps of 1 and the f32 nearest √2, added in
    /// many orders), the table is `Support::Coded`: a byte per pixel and a table of 256
    /// supports, the same values in a quarter of the memory, which the points' scattered
    /// loads pull through the cache four times less. Up to `WIDE_BELOW` it is
    /// `Support::Wide`, two bytes per pixel. Both come from one coding of the distances, by
    /// `Prepared::wide`; one-byte codes of a wider truncation are taken again, with this
    /// one's supports.
    pub fn support(&self, trunc: f32) -> std::sync::Arc<Support> {
        let mut built = self
            .supports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, t)) = built.iter().find(|(b, _)| *b == trunc.to_bits()) {
            return t.clone();
        }
        let of = |d: f32| ((1.0 - (d / trunc).min(1.0)) * SUPPORT_ONE as f32) as u32;
        // codes taken under a wider truncation serve this one too: a distance they code
        // apart from the others, or as far, at or past `trunc` has no support here either
        let wider = built.iter().find_map(|(b, t)| match &**t {
            Support::Coded { codes, .. } if f32::from_bits(*b) >= trunc => Some(codes.clone()),
            _ => None,
        });
        let coded = |codes: std::sync::Arc<DtCodes>| {
            let mut lut = Box::new([0u32; 256]);
            for (l, &d) in lut.iter_mut().zip(&codes.values) {
                *l = of(d);
            }
            Support::Coded { codes, lut }
        };
        let wide = (trunc <= WIDE_BELOW).then(|| self.wide()).flatten();
        let t = match (wider, wide) {
            (Some(codes), _) => coded(codes),
            (None, Some(wide)) => match wide.narrow(trunc) {
                // under 16 px, one byte: half the memory to pull through the cache
                Some(codes) => coded(std::sync::Arc::new(codes)),
                None => {
                    let mut lut: Box<[u32; 65536]> = vec![0u32; 65536]
                        .into_boxed_slice()
                        .try_into()
                        .expect("65536 entries");
                    for (l, &d) in lut.iter_mut().zip(&wide.values) {
                        *l = of(d);
                    }
                    Support::Wide { codes: wide, lut }
                }
            },
            (None, None) => match DtCodes::new(&self.dt, trunc) {
                Some(codes) => coded(std::sync::Arc::new(codes)),
                // (collected into a Vec, which vectorises; an Arc<[u32]> is filled one by one)
                None => Support::Full(self.dt.iter().map(|&d| of(d)).collect()),
            },
        };
        let t = std::sync::Arc::new(t);
        built.push((trunc.to_bits(), t.clone()));
        t
    }

    #[inline]
    pub fn dt_at(&self, x: f64, y: f64) -> Option<f32> {
        if x < 0.0 || y < 0.0 {
            return None;
        }
        let (xi, yi) = (x as usize, y as usize);
        if xi >= self.w || yi >= self.h {
            return None;
        }
        Some(self.dt[yi * self.w + xi])
    }

    /// Bounding box of the large connected marks only (text, legend dots and colour bars
    /// left out), when it differs from `content`. Computed on demand, once: only
    /// registration's second tries need it.
    pub fn mass(&self) -> Option<[f64; 4]> {
        *self.mass.get_or_init(|| {
            let (w, h, frame) = (self.w, self.h, self.frame);
            let step = if self.pale { PALE_STEP } else { INK_STEP };
            let ink = ink_mask(&self.rgb, self.bg, step);
            mass_box(&ink, w, h, &|x, y| in_frame(frame, w, h, x, y))
                .filter(|m| differs(m, &self.content, w, h))
        })
    }

    /// The inside of an axes box drawn around the map (matplotlib draws one by default, with
    /// a title and margins outside it): a rectangle of straight edge lines at least
    /// `PLOT_BOX_SPAN` of the image across and down, its sides meeting within
    /// `PLOT_BOX_SLACK` px, not at the image's own edges (`frame` covers those) and differing
    /// from the content box. A map cropped to such a box runs out to it, not to the content
    /// box around the title. The largest such rectangle (found anew on each call: registration
    /// asks once per look).
    pub fn plot_box(&self) -> Option<[f64; 4]> {
        let b = plot_box(&self.edges, self.w, self.h)?;
        let (w, h) = (self.w as f64, self.h as f64);
        let at_edges = b[0] < 5.0 && b[1] < 5.0 && b[2] > w - 5.0 && b[3] > h - 5.0;
        (!at_edges && differs(&b, &self.content, self.w, self.h)).then_some(b)
    }

    /// The part of this image inside `b` (x0, y0, x1, y1; whole pixels from x0, y0 on) as
    /// an image of its own, read afresh (background, edges, content box).
    pub fn cropped(&self, b: [f64; 4]) -> Prepared {
        let x0 = (b[0].max(0.0) as usize).min(self.w - 1);
        let y0 = (b[1].max(0.0) as usize).min(self.h - 1);
        let x1 = (b[2].max(0.0) as usize).clamp(x0 + 1, self.w);
        let y1 = (b[3].max(0.0) as usize).clamp(y0 + 1, self.h);
        let rgb: Vec<[u8; 3]> = (y0..y1)
            .flat_map(|y| self.rgb[y * self.w + x0..y * self.w + x1].iter().copied())
            .collect();
        let mut out = Prepared::new(x1 - x0, y1 - y0, rgb);
        out.lossy = self.lossy;
        out
    }

    pub fn px(&self, x: i64, y: i64) -> Option<[u8; 3]> {
        self.index(x, y).map(|i| self.rgb[i])
    }

    /// The index of pixel (x, y) in the image's tables; None outside the image.
    pub fn index(&self, x: i64, y: i64) -> Option<usize> {
        (x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h)
            .then(|| y as usize * self.w + x as usize)
    }
}

/// Edge pixels (1): where a pixel differs from its right or lower neighbour by more than
/// `step` levels in some channel.
///
/// Row by row over the bytes: a byte is flagged when it differs by more than `step` from the
/// same channel of the pixel to the right or below (flat byte loops, which vectorise), then a
/// pixel is an edge when any of its three bytes is flagged.
fn edges_at(rgb: &[[u8; 3]], w: usize, h: usize, step: i32) -> Vec<u8> {
    let mut edges = vec![0u8; w * h];
    // (every step in use is from 0 to 254; 255 or more flags nothing)
    debug_assert!(step >= 0);
    let step = step.clamp(0, 255) as u8;
    let mut scratch = vec![0u8; 3 * w];
    let rgb = &rgb[..w * h];
    let rows = rgb.chunks_exact(w.max(1));
    let below = rgb.chunks_exact(w.max(1)).skip(1).map(Some).chain([None]);
    for ((row, below), out) in rows.zip(below).zip(edges.chunks_exact_mut(w.max(1))) {
        step_flags(row, below, step, &mut scratch, out);
    }
    edges
}

super::simd::avx2_too! {
/// Flags in `out` (1, a byte a pixel) each pixel of `row` that differs by more than `step`
/// in some channel from its right neighbour or from the pixel below it in `below` (the next
/// row; a neighbour missing at the image's right or bottom side is no step). The bytes are
/// compared first (flat byte loops, which vectorise, into `scratch`, three bytes a pixel),
/// then a pixel's three flags are read together. Edges (`edges_at`) and the gate's flat
/// pixels (`gate::MapLikeness`) are both these flags.
#[inline]
pub(super) fn step_flags(
    row: &[[u8; 3]],
    below: Option<&[[u8; 3]]>,
    step: u8,
    scratch: &mut [u8],
    out: &mut [u8],
) {
    let bytes = row.as_flattened();
    let flag = &mut scratch[..bytes.len()];
    // right neighbour: byte i against byte i + 3 (the last pixel has none)
    let n = bytes.len().saturating_sub(3);
    for ((f, &a), &b) in flag[..n].iter_mut().zip(&bytes[..n]).zip(&bytes[3..]) {
        *f = u8::from(a.abs_diff(b) > step);
    }
    flag[n..].fill(0);
    if let Some(below) = below {
        for ((f, &a), &b) in flag.iter_mut().zip(bytes).zip(below.as_flattened()) {
            *f |= u8::from(a.abs_diff(b) > step);
        }
    }
    for (e, f) in out.iter_mut().zip(flag.chunks_exact(3)) {
        *e = f[0] | f[1] | f[2];
    }
}
}

fn count_edges(edges: &[u8]) -> usize {
    edges.iter().filter(|&&e| e != 0).count()
}

super::simd::avx2_too! {
/// Pixels that differ from the background by more than `step` levels.
pub(super) fn ink_mask(rgb: &[[u8; 3]], bg: [u8; 3], step: i32) -> Vec<bool> {
    // as `cdist(c, bg) > step`, 32 pixels at a time: channel byte by channel byte against
    // the background repeated as many times (which vectorises), then a pixel's three bytes
    // read together; a step of 255 or more flags nothing, one under 0 everything
    if step < 0 {
        return vec![true; rgb.len()];
    }
    let step = step.min(255) as u8;
    const PX: usize = 32;
    let pattern: [u8; 3 * PX] = std::array::from_fn(|i| bg[i % 3]);
    let mut ink = vec![false; rgb.len()];
    for (out, px) in ink.chunks_mut(PX).zip(rgb.chunks(PX)) {
        let mut far = [0u8; 3 * PX];
        for ((f, &b), &g) in far.iter_mut().zip(px.as_flattened()).zip(&pattern) {
            *f = u8::from(b.abs_diff(g) > step);
        }
        for (o, f) in out.iter_mut().zip(far.chunks_exact(3)) {
            *o = f[0] | f[1] | f[2] != 0;
        }
    }
    ink
}
}

/// Content bounding box: the rows and columns holding at least 2 ink pixels, leaving out the
/// lines of a frame drawn around the whole chart.
fn content_box(ink: &[bool], frame: [usize; 4], w: usize, h: usize) -> [f64; 4] {
    let mut colc = vec![0u32; w];
    let mut rowc = vec![0u32; h];
    // the pixels off the frame lines: a rectangle (see `in_frame`)
    let (x0, x1) = (frame[0], w.saturating_sub(frame[2]));
    let (y0, y1) = (frame[1], h.saturating_sub(frame[3]));
    if x0 < x1 {
        for y in y0..y1 {
            let row = &ink[y * w + x0..y * w + x1];
            for (c, &v) in colc[x0..x1].iter_mut().zip(row) {
                *c += u32::from(v);
            }
            rowc[y] = row.iter().filter(|&&v| v).count() as u32;
        }
    }
    let first = |v: &[u32]| v.iter().position(|&n| n >= 2).unwrap_or(0);
    let last = |v: &[u32]| {
        v.iter()
            .rposition(|&n| n >= 2)
            .map(|i| i + 1)
            .unwrap_or(v.len())
    };
    [
        first(&colc) as f64,
        first(&rowc) as f64,
        last(&colc) as f64,
        last(&rowc) as f64,
    ]
}

/// Whether (x, y) lies on one of the `frame` lines of a w x h image.
fn in_frame(frame: [usize; 4], w: usize, h: usize, x: usize, y: usize) -> bool {
    x < frame[0] || y < frame[1] || x >= w - frame[2] || y >= h - frame[3]
}

/// How many lines at each edge (left, top, right, bottom) belong to a frame drawn around the
/// chart: an edge line (within 4 px of the edge) that is nearly all ink with mostly
/// background just inside it. A map drawn out to the edges has ink inside too, so it keeps
/// its edge lines.
fn frame_lines(ink: &[bool], w: usize, h: usize) -> [usize; 4] {
    let row = |y: usize| ink[y * w..(y + 1) * w].iter().filter(|&&b| b).count() as f64 / w as f64;
    let col = |x: usize| (0..h).filter(|&y| ink[y * w + x]).count() as f64 / h as f64;
    let edge = |n: usize, share: &dyn Fn(usize) -> f64| -> usize {
        if n < 40 {
            return 0;
        }
        for k in 0..4 {
            if share(k) >= 0.9 && share(k + 2) <= 0.5 {
                return k + 1;
            }
        }
        0
    };
    [
        edge(w, &|k| col(k)),
        edge(h, &|k| row(k)),
        edge(w, &|k| col(w - 1 - k)),
        edge(h, &|k| row(h - 1 - k)),
    ]
}

/// Thickest line (px) that `without_long_thin_lines` takes out.
const FRAME_LINE_PX: usize = 3;
/// Shortest such line, as a share of the image width (rows) or height (columns).
const FRAME_LINE_SPAN: f64 = 0.3;

/// `ink` without the long thin horizontal and vertical lines: axes frames, inset boxes, rules
/// and graticule lines that a plotting library draws around and across a map. A maximal run
/// of ink along a row (or column) at least `FRAME_LINE_SPAN` of the image long, and at most
/// `FRAME_LINE_PX` thick across at 80% of its pixels or more, loses those thin pixels; where
/// something touches the line it is thicker and stays, and a map's fill keeps its pixels.
fn without_long_thin_lines(ink: &[bool], w: usize, h: usize) -> Vec<bool> {
    let thick = |x: usize, y: usize, horizontal: bool| -> usize {
        // ink across the line at (x, y): up and down for a row, left and right for a column
        let at = |k: i64| -> bool {
            let (cx, cy) = if horizontal {
                (x as i64, y as i64 + k)
            } else {
                (x as i64 + k, y as i64)
            };
            cx >= 0
                && cy >= 0
                && (cx as usize) < w
                && (cy as usize) < h
                && ink[cy as usize * w + cx as usize]
        };
        let mut n = 1;
        let mut k = 1;
        while k <= FRAME_LINE_PX as i64 + 1 && at(k) {
            n += 1;
            k += 1;
        }
        let mut k = -1;
        while k >= -(FRAME_LINE_PX as i64) - 1 && at(k) {
            n += 1;
            k -= 1;
        }
        n
    };
    let mut out = ink.to_vec();
    // each maximal run of ink along a row (then a column), when long and mostly thin: its thin
    // pixels go (where something else touches the line, it is thicker there and stays)
    let mut strip =
        |len: usize, across: usize, at: &dyn Fn(usize, usize) -> usize, horizontal: bool| {
            let min_run = (FRAME_LINE_SPAN * len as f64) as usize;
            for j in 0..across {
                let mut i = 0;
                while i < len {
                    if !ink[at(i, j)] {
                        i += 1;
                        continue;
                    }
                    let start = i;
                    while i < len && ink[at(i, j)] {
                        i += 1;
                    }
                    if i - start < min_run {
                        continue;
                    }
                    let thin: Vec<usize> = (start..i)
                        .filter(|&k| {
                            let (x, y) = if horizontal { (k, j) } else { (j, k) };
                            thick(x, y, horizontal) <= FRAME_LINE_PX
                        })
                        .collect();
                    if thin.len() as f64 >= 0.8 * (i - start) as f64 {
                        for k in thin {
                            out[at(k, j)] = false;
                        }
                    }
                }
            }
        };
    strip(w, h, &|x, y| y * w + x, true);
    strip(h, w, &|y, x| y * w + x, false);
    out
}

/// Bounding box of the connected ink marks (8-connected) that span at least 6% of the image
/// width or height, leaving out solid thin bars (colour scales) and long thin lines (an axes
/// frame or inset box; see `without_long_thin_lines`). Text, legend symbols and credit lines
/// are made of small marks and drop out.
fn mass_box(
    ink: &[bool],
    w: usize,
    h: usize,
    in_frame: &dyn Fn(usize, usize) -> bool,
) -> Option<[f64; 4]> {
    let ink = &without_long_thin_lines(ink, w, h);
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut bb: Option<[usize; 4]> = None;
    let (minw, minh) = (w as f64 * 0.06, h as f64 * 0.06);
    for start in 0..w * h {
        if seen[start] || !ink[start] || in_frame(start % w, start / w) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1, mut n) = (usize::MAX, usize::MAX, 0, 0, 0usize);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            n += 1;
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if !seen[j] && ink[j] && !in_frame(nx as usize, ny as usize) {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let (bw, bh) = ((x1 - x0 + 1) as f64, (y1 - y0 + 1) as f64);
        if bw < minw && bh < minh {
            continue;
        }
        // a solid thin bar: a colour scale or a rule line
        if n as f64 >= 0.9 * bw * bh && (bw <= 0.1 * w as f64 || bh <= 0.1 * h as f64) {
            continue;
        }
        bb = Some(match bb {
            None => [x0, y0, x1 + 1, y1 + 1],
            Some(b) => [
                b[0].min(x0),
                b[1].min(y0),
                b[2].max(x1 + 1),
                b[3].max(y1 + 1),
            ],
        });
    }
    bb.map(|b| [b[0] as f64, b[1] as f64, b[2] as f64, b[3] as f64])
}

/// Least side of an axes box, as a share of the image's width or height (see
/// `Prepared::plot_box`).
const PLOT_BOX_SPAN: f64 = 0.4;
/// How far (px) the ends of an axes box's sides may miss each other, and the gaps a side may
/// have (a stroke antialiased, or met by a fill of its own colour for a pixel or two).
const PLOT_BOX_SLACK: usize = 3;

/// A straight run of edge pixels: along row (or column) `at`, from `a` to `b` inclusive.
#[derive(Clone, Copy)]
pub(crate) struct Run {
    pub at: usize,
    pub a: usize,
    pub b: usize,
}

/// Runs at least `min` long of `is_edge(line, i)` for i in 0..n along each of `lines` lines,
/// bridging gaps of up to `PLOT_BOX_SLACK` px.
pub(crate) fn long_runs(
    lines: usize,
    n: usize,
    min: usize,
    is_edge: &dyn Fn(usize, usize) -> bool,
) -> Vec<Run> {
    let mut out = Vec::new();
    for at in 0..lines {
        let mut start: Option<usize> = None;
        let mut last = 0;
        for i in 0..n {
            if !is_edge(at, i) {
                continue;
            }
            match start {
                Some(s) if i - last > PLOT_BOX_SLACK + 1 => {
                    if last + 1 - s >= min {
                        out.push(Run { at, a: s, b: last });
                    }
                    start = Some(i);
                }
                None => start = Some(i),
                _ => {}
            }
            last = i;
        }
        if let Some(s) = start
            && last + 1 - s >= min
        {
            out.push(Run { at, a: s, b: last });
        }
    }
    out
}

/// The inside of the largest rectangle whose four sides are straight runs of edge pixels (see
/// `Prepared::plot_box`): x0, y0, x1, y1.
fn plot_box(edges: &[u8], w: usize, h: usize) -> Option<[f64; 4]> {
    let minw = (w as f64 * PLOT_BOX_SPAN) as usize;
    let minh = (h as f64 * PLOT_BOX_SPAN) as usize;
    if minw < 40 || minh < 40 {
        return None;
    }
    let rows = long_runs(h, w, minw, &|y, x| edges[y * w + x] != 0);
    let cols = long_runs(w, h, minh, &|x, y| edges[y * w + x] != 0);
    let near = |a: usize, b: usize| a.abs_diff(b) <= PLOT_BOX_SLACK;
    // a side reaching from `from` to `to` along a line near `at`
    let side = |runs: &[Run], at: usize, from: usize, to: usize| {
        runs.iter()
            .any(|r| near(r.at, at) && r.a <= from + PLOT_BOX_SLACK && r.b + PLOT_BOX_SLACK >= to)
    };
    let mut best: Option<([usize; 4], usize)> = None;
    for (i, top) in rows.iter().enumerate() {
        for bottom in &rows[i + 1..] {
            if bottom.at < top.at + minh || !near(top.a, bottom.a) || !near(top.b, bottom.b) {
                continue;
            }
            let (x0, x1) = (top.a.max(bottom.a), top.b.min(bottom.b));
            let area = (x1 - x0) * (bottom.at - top.at);
            if best.is_some_and(|(_, a)| a >= area) {
                continue;
            }
            if side(&cols, x0, top.at, bottom.at) && side(&cols, x1, top.at, bottom.at) {
                best = Some(([x0, top.at, x1, bottom.at], area));
            }
        }
    }
    // inside the lines: a stroke flags the pixel before it and itself
    let ([x0, y0, x1, y1], _) = best?;
    let inset = PLOT_BOX_SLACK as f64;
    Some([
        x0 as f64 + inset,
        y0 as f64 + inset,
        x1 as f64 + 1.0 - inset,
        y1 as f64 + 1.0 - inset,
    ])
}

/// Whether two boxes differ by more than 2% of the image on some side.
fn differs(a: &[f64; 4], b: &[f64; 4], w: usize, h: usize) -> bool {
    let (tw, th) = (0.02 * w as f64, 0.02 * h as f64);
    (a[0] - b[0]).abs() > tw
        || (a[2] - b[2]).abs() > tw
        || (a[1] - b[1]).abs() > th
        || (a[3] - b[3]).abs() > th
}

pub fn median_colour(v: &[[u8; 3]]) -> Option<[u8; 3]> {
    median_colour_of(v.iter().copied())
}

/// Calls `add` once for each run of equal colours `v` yields, with the colour and the run's
/// length. Counting a run at once spares a count raised pixel after pixel (a fill read along
/// its rows), each add waiting on the one before through memory; the counts come out the
/// same.
pub fn for_runs(v: impl Iterator<Item = [u8; 3]>, mut add: impl FnMut([u8; 3], u32)) {
    let mut run: Option<([u8; 3], u32)> = None;
    for c in v {
        match &mut run {
            Some((last, k)) if *last == c => *k += 1,
            _ => {
                if let Some((last, k)) = run {
                    add(last, k);
                }
                run = Some((c, 1));
            }
        }
    }
    if let Some((last, k)) = run {
        add(last, k);
    }
}

/// `median_colour` of the colours `v` yields: per channel, the value at index n / 2 of the
/// channel's values sorted, found by counting them (no sort).
pub fn median_colour_of(v: impl Iterator<Item = [u8; 3]>) -> Option<[u8; 3]> {
    let mut counts = [[0u32; 256]; 3];
    let mut n = 0usize;
    for_runs(v.inspect(|_| n += 1), |c, run| {
        for (k, counts) in counts.iter_mut().enumerate() {
            counts[c[k] as usize] += run;
        }
    });
    if n == 0 {
        return None;
    }
    Some(counts.map(|counts| {
        // the least value with more than n / 2 values at or below it
        let mut below = 0usize;
        counts
            .iter()
            .position(|&k| {
                below += k as usize;
                below > n / 2
            })
            .expect("n values counted") as u8
    }))
}

/// Two-pass chamfer distance transform (1, sqrt 2) to the nearest non-zero pixel.
///
/// The forward pass takes each pixel's three neighbours in the row above and the one before
/// it in its row; the backward pass is the forward pass over the image turned half round (the
/// pixel order reversed). A row's run along itself is a chain of dependent steps, so rows are
/// taken eight at a time, skewed two pixels apart (`forward_band`): each step then moves eight
/// pixels, one per row, whose inputs were all final at the steps before. Every pixel takes the
/// minimum of the same sums as the textbook pass (minimum is exact and order-free), so the
/// result is its result, bit for bit.
pub fn distance_transform(edges: &[u8], w: usize, h: usize) -> Vec<f32> {
    let mut d: Vec<f32> = edges
        .iter()
        .map(|&e| if e != 0 { 0.0 } else { DT_CAP })
        .collect();
    if w == 0 || h == 0 {
        return d;
    }
    forward_pass(&mut d, w, h, false);
    forward_pass(&mut d, w, h, true);
    // (no value exceeds DT_CAP: each pass only lowers values that start at 0 or DT_CAP)
    d
}

/// The distance transform's cap (pixels), and its start away from edges.
const DT_CAP: f32 = 64.0;
const DIAG: f32 = std::f32::consts::SQRT_2;
/// Rows a band of the forward pass takes at once.
const BAND: usize = 8;

/// The forward chamfer pass, top to bottom and left to right, over `d` (w x h): bands of
/// `BAND` rows, the last one as many as are left. `turned`: over the image turned half round
/// (bottom to top and right to left), the backward pass.
fn forward_pass(d: &mut [f32], w: usize, h: usize, turned: bool) {
    let mut skew = Vec::new();
    let mut above = Vec::new();
    for y0 in (0..h).step_by(BAND) {
        forward_band(
            d,
            w,
            h,
            turned,
            y0,
            (h - y0).min(BAND),
            &mut skew,
            &mut above,
        );
    }
}

/// The forward pass over the `rows` (at most `BAND`) rows from y0, the row above them being
/// final. Row r of the band (lane r) takes pixel x = t - 2r at step t, so the pixel before it
/// in its row (lane r, step t - 1) and its neighbours above at x - 1, x and x + 1 (lane r - 1,
/// steps t - 3, t - 2 and t - 1) are all done; lane 0 reads the row above the band. Pixels out
/// of the image (x < 0 or x >= w) hold the cap plus one, out of reach: they lower nothing.
/// Lanes past `rows` run on such pixels and are never read back (a lane feeds only the next).
/// `skew` and `above` are scratch space. With `turned`, the rows and pixels are those of `d`
/// (w x h) turned half round: row y is `d`'s row h - 1 - y read from its right end.
#[allow(clippy::too_many_arguments)]
fn forward_band(
    d: &mut [f32],
    w: usize,
    h: usize,
    turned: bool,
    y0: usize,
    rows: usize,
    skew: &mut Vec<[f32; BAND]>,
    above: &mut Vec<f32>,
) {
    const OUT: f32 = DT_CAP + 1.0;
    let steps = w + 2 * (BAND - 1);
    // row y of the pass: where it is in `d`
    let row_at = |y: usize| {
        let y = if turned { h - 1 - y } else { y };
        y * w..(y + 1) * w
    };
    // skew[t + 3] is step t; three steps of padding before the first
    skew.clear();
    skew.resize(steps + 3, [OUT; BAND]);
    for r in 0..rows {
        let row = &d[row_at(y0 + r)];
        let lane = &mut skew[2 * r + 3..2 * r + 3 + w];
        if turned {
            for (s, &v) in lane.iter_mut().zip(row.iter().rev()) {
                s[r] = v;
            }
        } else {
            for (s, &v) in lane.iter_mut().zip(row) {
                s[r] = v;
            }
        }
    }
    // above[x + 1] is the row above the band at x, out of reach beyond it (and everywhere for
    // the first band)
    above.clear();
    above.resize(steps + 3, OUT);
    if y0 > 0 {
        let row = &d[row_at(y0 - 1)];
        if turned {
            for (a, &v) in above[1..w + 1].iter_mut().zip(row.iter().rev()) {
                *a = v;
            }
        } else {
            above[1..w + 1].copy_from_slice(row);
        }
    }
    // the last three steps, carried in registers: step t reads the one before it (its left
    // neighbours) at once, not back through memory
    let (mut s3, mut s2, mut s1) = (skew[0], skew[1], skew[2]);
    for t in 0..steps {
        let mut up = [0.0; BAND];
        let mut ul = [0.0; BAND];
        let mut ur = [0.0; BAND];
        up[0] = above[t + 1];
        ul[0] = above[t];
        ur[0] = above[t + 2];
        up[1..].copy_from_slice(&s2[..BAND - 1]);
        ul[1..].copy_from_slice(&s3[..BAND - 1]);
        ur[1..].copy_from_slice(&s1[..BAND - 1]);
        let mut cur = skew[t + 3];
        // (`f32::min` also handles NaN, at three more instructions a lane; there is none)
        let min = |a: f32, b: f32| if b < a { b } else { a };
        for r in 0..BAND {
            cur[r] = min(
                min(min(min(cur[r], up[r] + 1.0), ul[r] + DIAG), ur[r] + DIAG),
                s1[r] + 1.0,
            );
        }
        // lanes off the row's ends (only in the first and last 2 * (BAND - 1) steps)
        if t < 2 * (BAND - 1) || t >= w {
            for (r, v) in cur.iter_mut().enumerate() {
                if t < 2 * r || t - 2 * r >= w {
                    *v = OUT;
                }
            }
        }
        skew[t + 3] = cur;
        (s3, s2, s1) = (s2, s1, cur);
    }
    for r in 0..rows {
        let lane = &skew[2 * r + 3..2 * r + 3 + w];
        let row = &mut d[row_at(y0 + r)];
        if turned {
            for (v, s) in row.iter_mut().rev().zip(lane) {
                *v = s[r];
            }
        } else {
            for (v, s) in row.iter_mut().zip(lane) {
                *v = s[r];
            }
        }
    }
}

/// Outline points of a template, projected once per projection it is registered in.
pub struct Template {
    /// (lon, lat) of each point.
    pub lonlat: Vec<(f64, f64)>,
    /// projected unit coordinates, one outline per projection.
    pub proj: Vec<(Projection, Outline)>,
}

/// Points in a row of `Outline::boxes`: the outline is read in runs of consecutive points
/// (neighbours along a ring), each with its bounding box.
const RUN: usize = 32;
/// Runs in a block of `Outline::blocks`.
const BLOCK: usize = 16;

/// Projected outline points (unit coordinates), in runs of `RUN` with their bounding boxes, so
/// that scoring a frame skips the runs that fall wholly outside the image: a crop of Asia sees
/// a tenth of the world's outline. Skipping changes no score: a point outside the image is
/// never counted, and the points read are the same, in the same order.
///
/// The points `score` reads are also kept packed for each stride it reads at
/// (`Outline::every`), x and y apart (`Coords`): read at stride 4 out of the full list, a
/// frame would pull every cache line of it (a point is 16 bytes) for a quarter of the points,
/// and the vector loop loads four x and four y from the two lists as they lie (from pairs it
/// would spend a shuffle on every four points, on the CPU port its index extraction needs).
#[derive(Debug, Clone, Default)]
pub struct Outline {
    /// min x, min y, max x, max y of each run.
    boxes: Vec<[f64; 4]>,
    /// The same of each block of `BLOCK` runs.
    blocks: Vec<[f64; 4]>,
    /// For each stride in `PACKED_STRIDES`, the points at indices that are multiples of it.
    packed: Vec<(usize, Coords)>,
}

/// Points as two lists, of x and of y.
#[derive(Debug, Clone, Default)]
pub struct Coords {
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
}

impl Coords {
    fn of(pts: impl Iterator<Item = (f64, f64)>) -> Coords {
        let (xs, ys) = pts.unzip();
        Coords { xs, ys }
    }
}

/// The strides the registration schedules read at (`FIT_SCHEDULE`, `CROP_SCHEDULE`, the
/// hypotheses' coarse scores), kept packed in every outline; 1 first, which other strides
/// are read from.
const PACKED_STRIDES: [usize; 5] = [1, 2, 3, 4, 6];

impl Outline {
    pub fn new(pts: Vec<(f64, f64)>) -> Outline {
        let packed = PACKED_STRIDES
            .iter()
            .map(|&s| (s, Coords::of(pts.iter().step_by(s).copied())))
            .collect();
        let boxes = Self::run_boxes(&pts);
        let blocks = boxes
            .chunks(BLOCK)
            .map(|c| {
                c.iter()
                    .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |a, b| {
                        [
                            a[0].min(b[0]),
                            a[1].min(b[1]),
                            a[2].max(b[2]),
                            a[3].max(b[3]),
                        ]
                    })
            })
            .collect();
        Outline {
            boxes,
            blocks,
            packed,
        }
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.every(1).map_or(0, |c| c.xs.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Point `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<(f64, f64)> {
        let c = self.every(1)?;
        Some((*c.xs.get(i)?, *c.ys.get(i)?))
    }

    /// The points, in order.
    pub fn iter(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.every(1)
            .into_iter()
            .flat_map(|c| c.xs.iter().copied().zip(c.ys.iter().copied()))
    }

    /// The points at indices that are multiples of `stride`, packed; None for a stride not
    /// in `PACKED_STRIDES`.
    fn every(&self, stride: usize) -> Option<&Coords> {
        self.packed
            .iter()
            .find(|(s, _)| *s == stride)
            .map(|(_, v)| v)
    }

    /// The bounding box of each run of `RUN` points; the whole plane for a run with a point
    /// that is not finite, so that it is never taken as wholly inside an image.
    fn run_boxes(pts: &[(f64, f64)]) -> Vec<[f64; 4]> {
        pts.chunks(RUN)
            .map(|c| {
                if c.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
                    return [
                        f64::NEG_INFINITY,
                        f64::NEG_INFINITY,
                        f64::INFINITY,
                        f64::INFINITY,
                    ];
                }
                c.iter()
                    .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, &(x, y)| {
                        [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
                    })
            })
            .collect()
    }

    /// Calls `each` with every run (index range) that may put a point inside a `w` x `h`
    /// image under `f`, in order, and whether all its points fall inside (runs wholly
    /// inside, one after another, come as one range). Runs are tested a block of `BLOCK` at a
    /// time first: a block wholly inside the image passes all its runs, one wholly outside
    /// none, and only a block across the image's edge has its runs tested one by one. Rounding is
    /// monotonic, so a block's corners bound its runs' corners and every run is passed or
    /// not as when tested alone.
    #[inline(always)]
    fn for_runs_in(
        &self,
        f: &Frame,
        w: usize,
        h: usize,
        mut each: impl FnMut(std::ops::Range<usize>, bool),
    ) {
        let (w, h) = (w as f64, h as f64);
        // where a box falls: 0 wholly outside, 2 wholly inside, 1 across an edge
        let place = |b: &[f64; 4]| -> u8 {
            let (x0, x1) = (f.sx * b[0] + f.tx, f.sx * b[2] + f.tx);
            let (y0, y1) = (f.ty - f.sy * b[1], f.ty - f.sy * b[3]);
            let (xl, xh, yl, yh) = (x0.min(x1), x0.max(x1), y0.min(y1), y0.max(y1));
            if xh < 0.0 || yh < 0.0 || xl >= w || yl >= h {
                0
            } else if xl >= 0.0 && yl >= 0.0 && xh < w && yh < h {
                2
            } else {
                1
            }
        };
        let n = self.len();
        // runs wholly inside, one after another, are passed as one range (from the first
        // such run, `inside`, to the run at hand)
        let mut inside: Option<usize> = None;
        let upto = |inside: &mut Option<usize>, to: usize| {
            inside.take().map(|from| from * RUN..(to * RUN).min(n))
        };
        for (bi, bb) in self.blocks.iter().enumerate() {
            let runs = bi * BLOCK..((bi + 1) * BLOCK).min(self.boxes.len());
            match place(bb) {
                0 => {
                    if let Some(r) = upto(&mut inside, runs.start) {
                        each(r, true);
                    }
                }
                2 => {
                    inside.get_or_insert(runs.start);
                }
                _ => {
                    for k in runs {
                        match place(&self.boxes[k]) {
                            2 => {
                                inside.get_or_insert(k);
                            }
                            at => {
                                if let Some(r) = upto(&mut inside, k) {
                                    each(r, true);
                                }
                                if at == 1 {
                                    each(k * RUN..((k + 1) * RUN).min(n), false);
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some(r) = upto(&mut inside, self.boxes.len()) {
            each(r, true);
        }
    }
}

/// The farthest, in pixels, frame `b` puts a point from where frame `a` puts it, over the
/// points `a` puts inside a `w` x `h` image (those a score reads): at a corner of the image,
/// since a frame maps x and y apart and linearly. Infinite for a degenerate frame.
pub fn max_shift(a: &Frame, b: &Frame, w: usize, h: usize) -> f64 {
    if a.sx == 0.0 || a.sy == 0.0 {
        return f64::INFINITY;
    }
    // a point at pixel u under `a` is at x = (u - a.tx) / a.sx, and b puts it at b.sx x + b.tx
    let dx = |u: f64| (b.sx * (u - a.tx) / a.sx + b.tx - u).abs();
    let dy = |v: f64| (b.ty - b.sy * (a.ty - v) / a.sy - v).abs();
    let (mx, my) = (dx(0.0).max(dx(w as f64)), dy(0.0).max(dy(h as f64)));
    let m = mx.hypot(my);
    if m.is_finite() { m } else { f64::INFINITY }
}

impl Template {
    pub fn new(lonlat: Vec<(f64, f64)>, projections: &[Projection]) -> Template {
        let proj = projections
            .iter()
            .map(|&p| {
                (
                    p,
                    Outline::new(lonlat.iter().map(|&(lo, la)| p.forward(lo, la)).collect()),
                )
            })
            .collect();
        Template { lonlat, proj }
    }
    /// The projected points (empty for a projection the template was not built for).
    pub fn points(&self, p: Projection) -> &Outline {
        static EMPTY: Outline = Outline {
            boxes: Vec::new(),
            blocks: Vec::new(),
            packed: Vec::new(),
        };
        self.proj
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, v)| v)
            .unwrap_or(&EMPTY)
    }
    pub fn projections(&self) -> impl Iterator<Item = Projection> + '_ {
        self.proj.iter().map(|(p, _)| *p)
    }
}

/// Densifies rings into points every `step` degrees.
pub fn densify<'a>(rings: impl Iterator<Item = &'a Vec<[f64; 2]>>, step: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for r in rings {
        let n = r.len();
        if n < 2 {
            continue;
        }
        let mut carry = 0.0;
        for i in 0..n {
            let a = r[i];
            let b = r[(i + 1) % n];
            let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
            if len > 20.0 {
                continue; // antimeridian cut
            }
            let mut t = carry;
            while t < len {
                let f = t / len;
                out.push((a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f));
                t += step;
            }
            carry = t - len;
        }
    }
    out
}

/// Score of a frame: mean soft support of in-frame points, and the in-frame count.
///
/// The hottest loop of a check (registration reads billions of points over a sweep), so it is
/// written for speed: only the runs that reach the image are read (`Outline::for_runs_in`),
/// from the outline's packed copy at this stride (`Outline::every`); the image bounds are
/// tested in floating point before the conversion to an index; the points read are counted
/// per run rather than per point; and each point's soft support is one load from
/// `Prepared::support` (summed as an integer, so no chain of floating-point additions holds
/// the loop back). A point lands on the same pixel as `Prepared::dt_at` would put it.
pub fn score(p: &Prepared, pts: &Outline, f: &Frame, trunc: f32, stride: usize) -> (f64, usize) {
    let support = p.support(trunc);
    let vector = simd::usable(p.w, p.h);
    let (sum, n, read) = match &*support {
        Support::Coded { codes, lut } => {
            let codes = &codes.codes[..];
            debug_assert_eq!(codes.len(), p.w * p.h);
            // SAFETY: `sum_supports` passes indices under w * h, the length of `codes`; a
            // byte indexes the 256 entries of `lut`
            sum_supports(p, pts, f, stride, vector, |i| unsafe {
                lut[*codes.get_unchecked(i) as usize]
            })
        }
        Support::Wide { codes, lut } => {
            let codes = &codes.codes[..];
            debug_assert_eq!(codes.len(), p.w * p.h);
            // SAFETY: as above; two bytes index the 65536 entries of `lut`
            sum_supports(p, pts, f, stride, vector, |i| unsafe {
                lut[*codes.get_unchecked(i) as usize]
            })
        }
        Support::Full(t) => {
            debug_assert_eq!(t.len(), p.w * p.h);
            // SAFETY: as above; the table holds w * h values
            sum_supports(p, pts, f, stride, vector, |i| unsafe {
                *t.get_unchecked(i)
            })
        }
    };
    p.work.fetch_add(read, std::sync::atomic::Ordering::Relaxed);
    if n == 0 {
        (0.0, 0)
    } else {
        (sum as f64 / SUPPORT_ONE / n as f64, n * stride)
    }
}

/// `score`'s loop: the sum of the supports `at` gives for the pixel index (y * w + x, always
/// under w * h) of each in-frame point at this stride, their count, and the points read.
/// With `vector` (where `simd::usable` holds), runs wholly inside the image are summed by
/// `simd::sum_inside`, four points at a time.
#[inline(always)]
fn sum_supports(
    p: &Prepared,
    pts: &Outline,
    f: &Frame,
    stride: usize,
    vector: bool,
    at: impl Fn(usize) -> u32,
) -> (u64, usize, u64) {
    let stride = stride.max(1);
    let (wf, hf) = (p.w as f64, p.h as f64);
    let w = p.w;
    let mut sum = 0u64;
    let mut n = 0usize;
    let mut read = 0u64;
    // every point at an index that is a multiple of `stride`, read only in the runs that
    // reach the image: in a run [a, b) those are packed points ceil(a / s)..ceil(b / s)
    // (a stride not packed reads the whole list, stepping)
    let (packed, step) = match pts.every(stride) {
        Some(v) => (v, 1),
        None => match pts.every(1) {
            Some(v) => (v, stride),
            // (an outline made empty, with no lists)
            None => return (0, 0, 0),
        },
    };
    // the frame and the sums in locals: the closure's captures are references, and a sum
    // kept behind one is stored and reloaded at every point
    let (sx, sy, tx, ty) = (f.sx, f.sy, f.tx, f.ty);
    pts.for_runs_in(f, p.w, p.h, |run, inside| {
        let (a, b) = (run.start.div_ceil(stride), run.end.div_ceil(stride));
        read += (b - a) as u64;
        let run = if step == 1 {
            a..b
        } else {
            (a * stride).min(run.end)..run.end
        };
        let (xs, ys) = (&packed.xs[run.clone()], &packed.ys[run]);
        // (both the same length, so that indexing either under it needs no check; the frame
        // copied into this call, so that the loops keep it in registers)
        let ys = &ys[..xs.len()];
        let (sx, sy, tx, ty, wf, hf) = (sx, sy, tx, ty, wf, hf);
        let (mut s, mut k) = (0u64, 0usize);
        if inside && step == 1 && vector {
            // SAFETY: the run's box is inside the image, so is every point in it; `at` reads
            // any pixel inside, and `vector` is set only where `simd::usable` holds
            s = unsafe { simd::sum_inside(xs, ys, [sx, sy, tx, ty], w, &at) };
            k = xs.len();
        } else if inside {
            // every point falls inside (the run's box does): no test per point
            for i in (0..xs.len()).step_by(step) {
                let px = sx * xs[i] + tx;
                let py = ty - sy * ys[i];
                debug_assert!(px >= 0.0 && py >= 0.0 && px < wf && py < hf);
                // SAFETY: as below; the run's box bounds every point in it
                let (xi, yi): (i64, i64) =
                    unsafe { (px.to_int_unchecked(), py.to_int_unchecked()) };
                s += at(yi as usize * w + xi as usize) as u64;
            }
            k = xs.len().div_ceil(step);
        } else {
            for i in (0..xs.len()).step_by(step) {
                let px = sx * xs[i] + tx;
                let py = ty - sy * ys[i];
                // (a NaN coordinate fails these comparisons and is not counted)
                if px >= 0.0 && py >= 0.0 && px < wf && py < hf {
                    // SAFETY: 0 <= px < w and 0 <= py < h, so both truncate to in-range
                    // integers (to i64, not usize: one instruction, no unsigned fix-up)
                    let (xi, yi): (i64, i64) =
                        unsafe { (px.to_int_unchecked(), py.to_int_unchecked()) };
                    s += at(yi as usize * w + xi as usize) as u64;
                    k += 1;
                }
            }
        }
        sum += s;
        n += k;
    });
    (sum, n, read)
}

/// Coordinate-descent refinement of (sx, sy, tx, ty).
pub fn refine(
    p: &Prepared,
    pts: &Outline,
    f0: Frame,
    min_in: usize,
    free_aspect: bool,
    schedule: &[(f32, usize, f64)],
) -> (Frame, f64) {
    let mut f = f0;
    for &stage in schedule {
        f = refine_stage(p, pts, f, min_in, free_aspect, stage).0;
    }
    // reported fit: share of in-frame outline points within 1.5 px of an image edge
    let s = hit_rate(p, pts, &f, min_in);
    (f, s)
}

/// Refines several starting frames, each of its own outline, as `refine` refines each, but a
/// stage at a time, and merges the ones that have come together: after each stage, a frame of
/// the same outline (the same object) and projection that puts every point of it within
/// `merge_px` of where a better-scoring one puts it is dropped, and takes that one's result.
/// Starts a few pixels apart settle on the same optimum, and the last stage (every point, the
/// finest truncation) costs more than the others together: refined alone, each would pay it.
/// With `behind`, a start far behind the best is refined no further (see `Behind`): the fine
/// stages of frames that cannot win cost as much as the winner's. The starts run each stage
/// together, a level (a step size) at a time, so that one left behind early in the first
/// stage is spared that stage's finer levels too; each start's moves are the ones it would
/// make alone, so the winner's frame is the one it would reach alone.
pub fn refine_all(
    p: &Prepared,
    starts: &[(&Outline, Frame)],
    min_in: usize,
    free_aspect: bool,
    schedule: &[(f32, usize, f64)],
    merge_px: f64,
    behind: Option<Behind>,
) -> Vec<(Frame, f64)> {
    // each start's current frame and stage score, and the start it merged into
    let mut cur: Vec<(Frame, f64)> = starts.iter().map(|&(_, f)| (f, 0.0)).collect();
    let mut into: Vec<Option<usize>> = vec![None; starts.len()];
    // starts left behind: refined no further
    let mut stopped = vec![false; starts.len()];
    for (k, &stage) in schedule.iter().enumerate() {
        let mut runs: Vec<Option<StageRun>> = (0..starts.len())
            .map(|i| {
                (into[i].is_none() && !stopped[i])
                    .then(|| StageRun::new(p, starts[i].0, cur[i].0, min_in, stage))
            })
            .collect();
        let last = k + 1 == schedule.len();
        loop {
            let mut more = false;
            for (i, run) in runs.iter_mut().enumerate() {
                if let Some(r) = run
                    && !stopped[i]
                    && r.running()
                {
                    more |= r.level(p, starts[i].0, min_in, free_aspect);
                }
            }
            // starts far behind the best are left, after each level of a stage but the last
            if let Some(b) = behind
                && !last
            {
                let lead = runs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !stopped[*i])
                    .filter_map(|(_, r)| r.as_ref().map(|r| r.best))
                    .fold(f64::MIN, f64::max);
                if lead >= b.lead_from {
                    for (i, r) in runs.iter().enumerate() {
                        if let Some(r) = r
                            && r.best < lead - b.margin
                        {
                            stopped[i] = true;
                        }
                    }
                }
            }
            if !more {
                break;
            }
        }
        for (i, run) in runs.into_iter().enumerate() {
            if let Some(r) = run {
                cur[i] = r.done();
            }
        }
        // (a start left behind keeps an earlier stage's score, not comparable: it takes part
        // no longer)
        let mut order: Vec<usize> = (0..starts.len())
            .filter(|&i| into[i].is_none() && !stopped[i])
            .collect();
        // the best score first; ties to the earlier start
        order.sort_by(|&a, &b| cur[b].1.total_cmp(&cur[a].1).then(a.cmp(&b)));
        let mut kept: Vec<usize> = Vec::new();
        for i in order {
            let same = kept.iter().copied().find(|&k| {
                std::ptr::eq(starts[k].0, starts[i].0)
                    && cur[k].0.projection == cur[i].0.projection
                    && max_shift(&cur[k].0, &cur[i].0, p.w, p.h) <= merge_px
            });
            match same {
                Some(k) => into[i] = Some(k),
                None => kept.push(i),
            }
        }
    }
    let fits: Vec<Option<f64>> = (0..starts.len())
        .map(|i| {
            into[i]
                .is_none()
                .then(|| hit_rate(p, starts[i].0, &cur[i].0, min_in))
        })
        .collect();
    (0..starts.len())
        .map(|i| {
            let mut k = i;
            while let Some(j) = into[k] {
                k = j;
            }
            (cur[k].0, fits[k].unwrap_or(0.0))
        })
        .collect()
}

/// When `refine_all` stops refining a start that has fallen far behind: after each level of
/// each stage but the last (its final level included), a start whose stage score is more than
/// `margin` below the best one's, when that one scores `lead_from` or more. It keeps the
/// frame it has reached, and its fit there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Behind {
    pub margin: f64,
    pub lead_from: f64,
}

/// One stage of `refine`: coordinate descent at truncation `trunc`, reading every `stride`th
/// point, from steps of `step` pixels down to a fifth of one. Returns the frame and its score.
fn refine_stage(
    p: &Prepared,
    pts: &Outline,
    f0: Frame,
    min_in: usize,
    free_aspect: bool,
    stage: (f32, usize, f64),
) -> (Frame, f64) {
    let mut run = StageRun::new(p, pts, f0, min_in, stage);
    while run.level(p, pts, min_in, free_aspect) {}
    run.done()
}

/// A stage of coordinate descent under way (see `refine_stage`), a step size (a level) at a
/// time: `refine_all` runs its starts' stages level by level, to stop the ones left behind.
struct StageRun {
    trunc: f32,
    stride: usize,
    step: f64,
    iters: usize,
    f: Frame,
    best: f64,
    /// A step and its reverse often land on exactly the frame left behind (a translation
    /// undone), and a stage's score of a frame never changes: each frame is scored once.
    /// About one evaluation in eight is such a return.
    seen: HashMap<[u64; 4], f64, FrameHash>,
}

/// Hashing for `StageRun::seen`: a frame's four words mixed by multiplying (as FxHash does),
/// the result turned so that its well-mixed high bits pick the table's bucket (a product's
/// low bits depend only on the low bits of what was multiplied, and a frame's coordinates
/// often end in zero bits). A few hundred frames a stage, each looked up once an
/// evaluation: the standard SipHash took a visible share of refinement's time, and these
/// keys come from no adversary.
#[derive(Default, Clone, Copy)]
struct FrameHasher(u64);

impl std::hash::Hasher for FrameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

type FrameHash = std::hash::BuildHasherDefault<FrameHasher>;

impl StageRun {
    fn new(
        p: &Prepared,
        pts: &Outline,
        f: Frame,
        min_in: usize,
        (trunc, stride, step): (f32, usize, f64),
    ) -> StageRun {
        let best = Self::eval(p, pts, &f, min_in, trunc, stride);
        let mut seen = HashMap::default();
        seen.insert(frame_bits(&f), best);
        StageRun {
            trunc,
            stride,
            step,
            iters: 0,
            f,
            best,
            seen,
        }
    }

    fn eval(
        p: &Prepared,
        pts: &Outline,
        f: &Frame,
        min_in: usize,
        trunc: f32,
        stride: usize,
    ) -> f64 {
        let (s, n) = score(p, pts, f, trunc, stride);
        if n < min_in { 0.0 } else { s }
    }

    /// Whether the stage has steps left.
    fn running(&self) -> bool {
        self.step > 0.2 && self.iters < 80
    }

    /// Moves at the current step until none improves, then halves the step. Returns whether
    /// the stage has steps left.
    fn level(&mut self, p: &Prepared, pts: &Outline, min_in: usize, free_aspect: bool) -> bool {
        while self.running() {
            self.iters += 1;
            let step = self.step;
            let mut improved = false;
            for k in 0..5 {
                for sign in [-1.0, 1.0] {
                    let mut g = self.f;
                    match k {
                        0 => g.tx += sign * step,
                        1 => g.ty += sign * step,
                        2 => {
                            // uniform scale about the content centre
                            let c = (p.content[0] + p.content[2]) / 2.0;
                            let m = (p.content[1] + p.content[3]) / 2.0;
                            let r = 1.0 + sign * step / (p.w as f64);
                            g.sx *= r;
                            g.sy *= r;
                            g.tx = c - (c - g.tx) * r;
                            g.ty = m - (m - g.ty) * r;
                        }
                        3 => {
                            if !free_aspect {
                                continue;
                            }
                            let c = (p.content[0] + p.content[2]) / 2.0;
                            let r = 1.0 + sign * step / (p.w as f64);
                            g.sx *= r;
                            g.tx = c - (c - g.tx) * r;
                        }
                        _ => {
                            if !free_aspect {
                                continue;
                            }
                            let m = (p.content[1] + p.content[3]) / 2.0;
                            let r = 1.0 + sign * step / (p.h as f64);
                            g.sy *= r;
                            g.ty = m - (m - g.ty) * r;
                        }
                    }
                    let (trunc, stride) = (self.trunc, self.stride);
                    let s = *self
                        .seen
                        .entry(frame_bits(&g))
                        .or_insert_with(|| Self::eval(p, pts, &g, min_in, trunc, stride));
                    if s > self.best + 1e-6 {
                        self.best = s;
                        self.f = g;
                        improved = true;
                    }
                }
            }
            if !improved {
                self.step /= 2.0;
                break;
            }
        }
        self.running()
    }

    /// The frame reached and its score.
    fn done(self) -> (Frame, f64) {
        tracing::trace!(
            trunc = self.trunc,
            stride = self.stride,
            score = self.best,
            iters = self.iters,
            evals = self.seen.len(),
            "refine stage"
        );
        (self.f, self.best)
    }
}

/// A frame's scale and offset, bit for bit (the projection is the caller's).
fn frame_bits(f: &Frame) -> [u64; 4] {
    [
        f.sx.to_bits(),
        f.sy.to_bits(),
        f.tx.to_bits(),
        f.ty.to_bits(),
    ]
}

/// Share of in-frame outline points within 1.5 px of an image edge; 0 when fewer than
/// `min_in` points fall inside the image. Points are read as `score` reads them (runs wholly
/// inside the image four at a time where `simd::usable` holds).
pub(super) fn hit_rate(p: &Prepared, pts: &Outline, f: &Frame, min_in: usize) -> f64 {
    let dt = &p.dt[..];
    debug_assert_eq!(dt.len(), p.w * p.h);
    // SAFETY: `sum_supports` passes indices under w * h, the length of `dt`
    let (hit, n, _) = sum_supports(p, pts, f, 1, simd::usable(p.w, p.h), |i| unsafe {
        u32::from(*dt.get_unchecked(i) <= 1.5)
    });
    if n < min_in {
        0.0
    } else {
        hit as f64 / n as f64
    }
}

/// Result of registration.
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    pub frame: Frame,
    pub fit: f64,
    /// which reference outline the frame was fitted on
    pub on: FittedOn,
}

/// The reference outline a frame was fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FittedOn {
    /// every country's outline (a world map, or a crop of one)
    World,
    /// China's alone (a map of China drawn without its neighbours)
    China,
    /// the countries of Asia alone (a map of all Asia, the rest of the world left out)
    Asia,
    /// India's alone (a map of India drawn without its neighbours)
    India,
}

impl FittedOn {
    /// China alone or the world, as a whole-map hypothesis says.
    pub fn china_if(china_only: bool) -> FittedOn {
        if china_only {
            FittedOn::China
        } else {
            FittedOn::World
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white w x h image with a one-pixel black rectangle from (x0, y0) to (x1, y1), a
    /// blob of ink inside it and a title's block above.
    fn boxed(w: usize, h: usize, [x0, y0, x1, y1]: [usize; 4]) -> Prepared {
        let mut rgb = vec![[255u8; 3]; w * h];
        for x in x0..=x1 {
            rgb[y0 * w + x] = [0; 3];
            rgb[y1 * w + x] = [0; 3];
        }
        for y in y0..=y1 {
            rgb[y * w + x0] = [0; 3];
            rgb[y * w + x1] = [0; 3];
        }
        for y in (y0 + y1) / 2 - 10..(y0 + y1) / 2 + 10 {
            for x in (x0 + x1) / 2 - 30..(x0 + x1) / 2 + 30 {
                rgb[y * w + x] = [200, 40, 40];
            }
        }
        for y in 2..8 {
            for x in w / 2 - 20..w / 2 + 20 {
                rgb[y * w + x] = [30; 3];
            }
        }
        Prepared::new(w, h, rgb)
    }

    #[test]
    fn plot_box_is_the_inside_of_an_axes_rectangle_and_not_the_image_border() {
        let p = boxed(300, 200, [30, 20, 270, 180]);
        let b = p.plot_box().expect("an axes box");
        assert_eq!(b, [33.0, 22.0, 268.0, 178.0], "{b:?}");
        // the inside, cut out, is an image of its own
        let inside = p.cropped(b);
        assert_eq!((inside.w, inside.h), (235, 156));
        // a frame around the whole image is not an axes box
        assert_eq!(boxed(300, 200, [0, 0, 299, 199]).plot_box(), None);
        // nor is a box too small to hold a map
        assert_eq!(boxed(300, 200, [100, 60, 180, 120]).plot_box(), None);
    }

    /// A small deterministic pseudo-random sequence (no test dependency needed).
    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    /// The two-pass chamfer transform written pixel by pixel, as in the textbook.
    fn chamfer_by_pixel(edges: &[u8], w: usize, h: usize) -> Vec<f32> {
        const D: f32 = std::f32::consts::SQRT_2;
        let mut d: Vec<f32> = edges
            .iter()
            .map(|&e| if e != 0 { 0.0 } else { 64.0 })
            .collect();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let mut v = d[i];
                if x > 0 {
                    v = v.min(d[i - 1] + 1.0);
                }
                if y > 0 {
                    v = v.min(d[i - w] + 1.0);
                    if x > 0 {
                        v = v.min(d[i - w - 1] + D);
                    }
                    if x + 1 < w {
                        v = v.min(d[i - w + 1] + D);
                    }
                }
                d[i] = v;
            }
        }
        for y in (0..h).rev() {
            for x in (0..w).rev() {
                let i = y * w + x;
                let mut v = d[i];
                if x + 1 < w {
                    v = v.min(d[i + 1] + 1.0);
                }
                if y + 1 < h {
                    v = v.min(d[i + w] + 1.0);
                    if x + 1 < w {
                        v = v.min(d[i + w + 1] + D);
                    }
                    if x > 0 {
                        v = v.min(d[i + w - 1] + D);
                    }
                }
                d[i] = v.min(64.0);
            }
        }
        d
    }

    /// Edges written pixel by pixel: a step to the right or below beyond `step` in a channel.
    fn edges_by_pixel(rgb: &[[u8; 3]], w: usize, h: usize, step: i32) -> Vec<u8> {
        let mut edges = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let c = rgb[y * w + x];
                let r = if x + 1 < w {
                    cdist(c, rgb[y * w + x + 1])
                } else {
                    0
                };
                let d = if y + 1 < h {
                    cdist(c, rgb[(y + 1) * w + x])
                } else {
                    0
                };
                edges[y * w + x] = u8::from(r > step || d > step);
            }
        }
        edges
    }

    #[test]
    fn row_wise_edges_equal_the_pixel_by_pixel_ones() {
        let mut seed = 3;
        for (w, h) in [(1, 1), (1, 7), (7, 1), (2, 2), (31, 17), (120, 5)] {
            // few colours (flat fills and steps) and noise
            for spread in [4u64, 256] {
                let rgb: Vec<[u8; 3]> = (0..w * h)
                    .map(|_| {
                        [0; 3].map(|_: u8| (lcg(&mut seed) % spread) as u8 * (256 / spread) as u8)
                    })
                    .collect();
                for step in [0, 2, 8, 14, 200, 254, 255] {
                    let want = edges_by_pixel(&rgb, w, h, step);
                    simd::each_copy(|copy| {
                        assert_eq!(
                            edges_at(&rgb, w, h, step),
                            want,
                            "{w}x{h}, spread {spread}, step {step}, {copy}"
                        );
                    });
                }
            }
        }
    }

    #[test]
    fn row_wise_distance_transform_equals_the_pixel_by_pixel_one() {
        let mut seed = 7;
        for (w, h) in [
            (1, 1),
            (1, 9),
            (9, 1),
            (2, 2),
            (37, 23),
            (200, 3),
            (64, 150),
            (1, 16),
            (5, 17),
            (15, 8),
            (300, 40),
        ] {
            for density in [0, 3, 50, 1000] {
                let edges: Vec<u8> = (0..w * h)
                    .map(|_| u8::from(lcg(&mut seed) % 1000 < density))
                    .collect();
                let fast = distance_transform(&edges, w, h);
                let plain = chamfer_by_pixel(&edges, w, h);
                assert_eq!(fast, plain, "{w}x{h}, {density} per mille edges");
            }
        }
    }

    #[test]
    fn score_reads_the_pixels_dt_at_reads() {
        let (w, h) = (120, 80);
        let mut seed = 11;
        let rgb: Vec<[u8; 3]> = (0..w * h)
            .map(|_| {
                let v = if lcg(&mut seed).is_multiple_of(9) {
                    0
                } else {
                    255
                };
                [v, v, v]
            })
            .collect();
        let p = Prepared::new(w, h, rgb);
        // points on both sides of every border, on pixel corners and in between
        let pts: Vec<(f64, f64)> = (0..4000)
            .map(|_| {
                let x = (lcg(&mut seed) % 1400) as f64 / 10.0 - 10.0;
                let y = (lcg(&mut seed) % 1000) as f64 / 10.0 - 10.0;
                (x, y)
            })
            .collect();
        let outline = Outline::new(pts.clone());
        let f = Frame {
            projection: Projection::PlateCarree,
            sx: 1.0,
            sy: -1.0,
            tx: 0.0,
            ty: 0.0,
        };
        for (trunc, stride) in [(3.0, 1), (8.0, 2), (24.0, 4)] {
            let plain = score_by_point(&p, &pts, &f, trunc, stride);
            assert!(plain.1 > 0);
            assert_eq!(score(&p, &outline, &f, trunc, stride), plain);
        }
        // the two finer tables are read through codes, the coarsest through two-byte codes,
        // and give the same scores above
        assert!(matches!(*p.support(3.0), Support::Coded { .. }));
        assert!(matches!(*p.support(8.0), Support::Coded { .. }));
        assert!(matches!(*p.support(24.0), Support::Wide { .. }));
        // tables built coarse to fine, as a registration does: the finer one takes the
        // coarser one's codes, and reads the same supports
        let q = Prepared::new(w, h, p.rgb.clone());
        for (trunc, stride) in [(8.0, 2), (3.0, 1)] {
            assert_eq!(
                score(&q, &outline, &f, trunc, stride),
                score_by_point(&q, &pts, &f, trunc, stride)
            );
        }
        match (&*q.support(8.0), &*q.support(3.0)) {
            (Support::Coded { codes: a, .. }, Support::Coded { codes: b, .. }) => {
                assert!(std::sync::Arc::ptr_eq(a, b))
            }
            _ => panic!("distances under 8 px take under 256 values here"),
        }
    }

    /// A 160 x 120 image of a dark 100 x 80 rectangle on white, and the rectangle's border as
    /// points of a 1 x 0.8 box (at scale 99 and offset (31, 101) nearly on it).
    fn dark_rectangle() -> (Prepared, Vec<(f64, f64)>) {
        let (w, h) = (160, 120);
        let rgb: Vec<[u8; 3]> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let inside = (30..130).contains(&x) && (20..100).contains(&y);
                if inside { [40; 3] } else { [255; 3] }
            })
            .collect();
        let mut pts = Vec::new();
        for k in 0..100 {
            let t = k as f64 / 100.0;
            pts.extend([(t, 0.0), (t, 0.8), (0.0, t * 0.8), (1.0, t * 0.8)]);
        }
        (Prepared::new(w, h, rgb), pts)
    }

    #[test]
    fn refine_all_merges_starts_that_come_together_and_refines_one_as_refine_does() {
        let (p, pts) = dark_rectangle();
        let outline = Outline::new(pts);
        let other = outline.clone();
        let frame = |tx: f64| Frame {
            projection: Projection::PlateCarree,
            sx: 99.0,
            sy: 99.0,
            tx,
            ty: 101.0,
        };
        let alone = refine(
            &p,
            &outline,
            frame(31.0),
            10,
            true,
            &[(8.0, 2, 3.0), (3.0, 1, 1.0)],
        );
        let all = refine_all(
            &p,
            &[(&outline, frame(31.0))],
            10,
            true,
            &[(8.0, 2, 3.0), (3.0, 1, 1.0)],
            1.0,
            None,
        );
        assert_eq!(all, vec![alone]);
        assert!(alone.1 > 0.9, "the border is found: {alone:?}");
        // two starts a hundredth of a pixel apart settle together and share one result; the same
        // start on another outline object is refined on its own
        let all = refine_all(
            &p,
            &[
                (&outline, frame(31.0)),
                (&outline, frame(31.01)),
                (&other, frame(31.01)),
            ],
            10,
            true,
            &[(8.0, 2, 3.0), (3.0, 1, 1.0)],
            1.0,
            None,
        );
        assert_eq!(all[0], all[1]);
        assert_eq!(
            all[2],
            refine(
                &p,
                &other,
                frame(31.01),
                10,
                true,
                &[(8.0, 2, 3.0), (3.0, 1, 1.0)]
            )
        );
    }

    #[test]
    fn refine_all_stops_refining_a_start_left_far_behind_and_refines_the_lead_alone() {
        // the rectangle's border, and a diagonal cross that fits it nowhere
        let (p, sq) = dark_rectangle();
        let cross: Vec<(f64, f64)> = (0..100)
            .map(|k| k as f64 / 100.0)
            .flat_map(|t| [(t, t * 0.8), (t, 0.8 - t * 0.8)])
            .collect();
        let (sq, cross) = (Outline::new(sq), Outline::new(cross));
        let f = Frame {
            projection: Projection::PlateCarree,
            sx: 99.0,
            sy: 99.0,
            tx: 31.0,
            ty: 101.0,
        };
        let schedule = [(8.0, 2, 3.0), (3.0, 1, 1.0)];
        let behind = Behind {
            margin: 0.1,
            lead_from: 0.5,
        };
        let all = refine_all(
            &p,
            &[(&sq, f), (&cross, f)],
            10,
            true,
            &schedule,
            1.0,
            Some(behind),
        );
        // the lead is refined as it would be alone
        assert_eq!(all[0], refine(&p, &sq, f, 10, true, &schedule));
        // the cross, far behind after the first stage, keeps that stage's frame and its fit
        let first = refine(&p, &cross, f, 10, true, &schedule[..1]);
        assert_eq!(all[1], first);
        assert!(all[1].1 < all[0].1 - 0.1, "{all:?}");
        // without `behind` it is refined to the end
        let all = refine_all(&p, &[(&sq, f), (&cross, f)], 10, true, &schedule, 1.0, None);
        assert_eq!(all[1], refine(&p, &cross, f, 10, true, &schedule));
        assert_ne!(all[1], first);
    }

    #[test]
    fn ink_and_content_box_by_rows_equal_the_pixel_by_pixel_ones() {
        let mut seed = 3;
        for (w, h) in [(1, 1), (7, 5), (33, 20), (100, 64)] {
            let rgb: Vec<[u8; 3]> = (0..w * h)
                .map(|_| {
                    // mostly the background, some near it, some far
                    let r = lcg(&mut seed) % 10;
                    let base = [200u8, 210, 220];
                    base.map(|v| match r {
                        0..=5 => v,
                        6..=7 => v.wrapping_add((lcg(&mut seed) % 40) as u8),
                        _ => (lcg(&mut seed) % 256) as u8,
                    })
                })
                .collect();
            let bg = [200, 210, 220];
            for step in [-1, 0, 24, 254, 255, 300] {
                let want: Vec<bool> = rgb.iter().map(|&c| cdist(c, bg) > step).collect();
                simd::each_copy(|copy| {
                    assert_eq!(
                        ink_mask(&rgb, bg, step),
                        want,
                        "{w}x{h}, step {step}, {copy}"
                    );
                });
            }
            let ink = ink_mask(&rgb, bg, INK_STEP);
            for frame in [[0, 0, 0, 0], [1, 2, 0, 1], [3, 3, 3, 3]] {
                if frame[0] + frame[2] > w || frame[1] + frame[3] > h {
                    continue;
                }
                let (mut colc, mut rowc) = (vec![0u32; w], vec![0u32; h]);
                for y in 0..h {
                    for x in 0..w {
                        if ink[y * w + x] && !in_frame(frame, w, h, x, y) {
                            colc[x] += 1;
                            rowc[y] += 1;
                        }
                    }
                }
                let first = |v: &[u32]| v.iter().position(|&n| n >= 2).unwrap_or(0) as f64;
                let last =
                    |v: &[u32]| v.iter().rposition(|&n| n >= 2).map_or(v.len(), |i| i + 1) as f64;
                let want = [first(&colc), first(&rowc), last(&colc), last(&rowc)];
                assert_eq!(content_box(&ink, frame, w, h), want, "{w}x{h} {frame:?}");
            }
        }
    }

    #[test]
    fn median_colour_by_counting_is_the_middle_of_each_channel_sorted() {
        let mut seed = 11;
        for n in [1usize, 2, 3, 10, 257, 1000] {
            let v: Vec<[u8; 3]> = (0..n)
                .map(|_| [0, 1, 2].map(|k| (lcg(&mut seed) % (40 + 100 * k)) as u8))
                .collect();
            let want = [0, 1, 2].map(|k| {
                let mut ch: Vec<u8> = v.iter().map(|c| c[k]).collect();
                ch.sort_unstable();
                ch[n / 2]
            });
            assert_eq!(median_colour(&v), Some(want), "{n} colours");
            // the same colours in runs of one to five, as fills are read along their rows
            let runs: Vec<[u8; 3]> = v
                .iter()
                .flat_map(|&c| std::iter::repeat_n(c, 1 + (lcg(&mut seed) % 5) as usize))
                .collect();
            let want = [0, 1, 2].map(|k| {
                let mut ch: Vec<u8> = runs.iter().map(|c| c[k]).collect();
                ch.sort_unstable();
                ch[runs.len() / 2]
            });
            assert_eq!(median_colour(&runs), Some(want), "{n} colours in runs");
        }
        assert_eq!(median_colour(&[]), None);
    }

    #[test]
    fn a_chamfer_transform_is_coded_by_its_table_each_code_giving_back_its_distance() {
        let count = |below| chamfer_distances(below, WIDE_DISTANCES).map(|v| v.len());
        assert_eq!(count(8.0), Some(35));
        assert_eq!(count(16.0), Some(163));
        assert_eq!(count(24.0), Some(351));
        assert_eq!(count(60.0), None);
        let mut seed = 5;
        let (w, h) = (300, 200);
        for density in [2, 20, 300] {
            let edges: Vec<u8> = (0..w * h)
                .map(|_| u8::from(lcg(&mut seed) % 1000 < density))
                .collect();
            let dt = distance_transform(&edges, w, h);
            // under 24 px a chamfer transform can hold more than a byte codes: two bytes
            assert!(DtCodes::new(&dt, 24.0).is_none());
            let wide = DtCodes::wide(&dt, 24.0).expect("a chamfer transform");
            for (i, &d) in dt.iter().enumerate() {
                let v = wide.values[wide.codes[i] as usize];
                assert!(if d < 24.0 {
                    v.to_bits() == d.to_bits()
                } else {
                    wide.codes[i] == u16::MAX
                });
            }
            for below in [3.0, 8.0, 16.0] {
                let values = chamfer_distances(below, 255).expect("under 255");
                let c = DtCodes::<u8>::of_chamfer(&dt, below, values, 12, true)
                    .expect("a chamfer transform");
                let hashed = DtCodes::by_hashing(&dt, below).expect("under 256 values");
                // the one-byte codes narrowed from the two-byte ones are the table's
                simd::each_copy(|copy| {
                    let narrowed = wide.narrow(below).expect("under 255 distances");
                    assert_eq!(narrowed.codes, c.codes, "under {below}, {copy}");
                    assert_eq!(narrowed.values, c.values, "under {below}, {copy}");
                });
                for (i, &d) in dt.iter().enumerate() {
                    let (v, u) = (
                        c.values[c.codes[i] as usize],
                        hashed.values[hashed.codes[i] as usize],
                    );
                    assert_eq!(v.to_bits(), u.to_bits(), "pixel {i}, {density} per mille");
                    assert!(d >= below || v.to_bits() == d.to_bits());
                }
            }
        }
        // distances no chamfer transform holds fall back to hashing
        let odd: Vec<f32> = (0..100).map(|i| i as f32 / 7.0).collect();
        let values = chamfer_distances(8.0, 255).expect("35");
        assert!(DtCodes::<u8>::of_chamfer(&odd, 8.0, values, 12, true).is_none());
        assert!(DtCodes::new(&odd, 8.0).is_some());
    }

    #[test]
    fn distances_taking_more_than_255_values_are_not_coded() {
        let dt: Vec<f32> = (0..600).map(|i| i as f32 / 20.0).collect();
        // 255 distinct values under 12.75: coded, each pixel's code giving back its distance
        let c = DtCodes::new(&dt, 12.75).expect("255 values fit in a byte");
        for (i, &d) in dt.iter().enumerate() {
            let v = c.values[c.codes[i] as usize];
            assert!(if d < 12.75 {
                v == d
            } else {
                c.codes[i] == FAR_CODE
            });
        }
        // 256 values under 12.8: not coded
        assert!(DtCodes::new(&dt, 12.8).is_none());
    }

    /// `score` point by point, as `Prepared::dt_at` reads the image.
    fn score_by_point(
        p: &Prepared,
        pts: &[(f64, f64)],
        f: &Frame,
        trunc: f32,
        stride: usize,
    ) -> (f64, usize) {
        let (mut sum, mut n) = (0.0f64, 0usize);
        for &(x, y) in pts.iter().step_by(stride) {
            let (px, py) = (f.sx * x + f.tx, f.ty - f.sy * y);
            // (`dt_at` reads a NaN as 0; `score` counts no such point)
            if !px.is_finite() || !py.is_finite() {
                continue;
            }
            if let Some(d) = p.dt_at(px, py) {
                n += 1;
                sum += (1.0 - (d / trunc).min(1.0)) as f64;
            }
        }
        if n == 0 {
            (0.0, 0)
        } else {
            (sum / n as f64, n * stride)
        }
    }

    #[test]
    fn score_skipping_runs_and_blocks_reads_every_point_a_plain_loop_reads() {
        // rings of points a little apart, as a densified outline is, with points that are
        // not finite among them; framed wholly inside the image, across each edge, and
        // wholly outside, at packed strides and others
        let (w, h) = (160, 100);
        let mut seed = 5;
        let rgb: Vec<[u8; 3]> = (0..w * h)
            .map(|_| {
                let v = if lcg(&mut seed).is_multiple_of(7) {
                    0
                } else {
                    255
                };
                [v, v, v]
            })
            .collect();
        let p = Prepared::new(w, h, rgb);
        let mut pts: Vec<(f64, f64)> = Vec::new();
        for ring in 0..6 {
            let (cx, cy, r) = (
                ring as f64 * 7.0,
                (ring % 3) as f64 * 9.0,
                4.0 + ring as f64,
            );
            for k in 0..700 {
                let t = k as f64 / 700.0 * std::f64::consts::TAU;
                pts.push((cx + r * t.cos(), cy + r * t.sin()));
            }
        }
        pts[100] = (f64::NAN, 3.0);
        pts[2000] = (f64::INFINITY, f64::NEG_INFINITY);
        let outline = Outline::new(pts.clone());
        for (tx, ty) in [
            (60.0, 60.0),
            (-30.0, 50.0),
            (120.0, 10.0),
            (50.0, 95.0),
            (-200.0, 0.0),
        ] {
            for sx in [1.0, 2.5] {
                let f = Frame {
                    projection: Projection::PlateCarree,
                    sx,
                    sy: sx * 0.8,
                    tx,
                    ty,
                };
                let plain_hits = {
                    let (mut n, mut hit) = (0usize, 0usize);
                    for &(x, y) in &pts {
                        let (px, py) = (f.sx * x + f.tx, f.ty - f.sy * y);
                        // (`dt_at` reads a NaN as 0; no point off the plane is counted)
                        if !px.is_finite() || !py.is_finite() {
                            continue;
                        }
                        if let Some(d) = p.dt_at(px, py) {
                            n += 1;
                            hit += usize::from(d <= 1.5);
                        }
                    }
                    if n < 10 { 0.0 } else { hit as f64 / n as f64 }
                };
                assert_eq!(hit_rate(&p, &outline, &f, 10), plain_hits);
                for stride in 1..=7 {
                    assert_eq!(
                        score(&p, &outline, &f, 8.0, stride),
                        score_by_point(&p, &pts, &f, 8.0, stride),
                        "frame at ({tx}, {ty}) x {sx}, stride {stride}"
                    );
                }
            }
        }
    }
}
