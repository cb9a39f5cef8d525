//! The "is this plausibly a map" gate, run before registration.
//!
//! Web chart maps (ECharts, D3, Highcharts, Leaflet tiles, amCharts, matplotlib/cartopy,
//! plotly...) are large flat-colour regions (land fills, sea or background) separated by thin
//! boundary lines: a few colours cover most of the area and most pixels equal their
//! neighbours. Smooth gradients and photos are the opposite: colours spread over many
//! quantisation bins and neighbouring pixels differ slightly almost everywhere.
//!
//! Rules kept here: the gate is cheap (one pass over the working image, no allocation per
//! pixel) and errs towards letting an image through: it only turns away images that no map
//! style we know of produces, so registration never spends time on them and they can never be
//! flagged. Thresholds carry a wide margin over what real maps (dev set, our own renders in
//! every style, JPEG-compressed maps) measure; see [`MapLikeness::plausible`].

/// Colour-structure measures of an image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapLikeness {
    /// Share of pixels in the [`TOP_COLOURS`] most common colours, quantised to 4 bits per
    /// channel.
    pub top_share: f64,
    /// Share of pixels whose right and lower neighbours differ by at most [`FLAT_STEP`] in
    /// every channel (flat fills; JPEG noise in flat fills stays within this).
    pub flat_share: f64,
    /// Share of the single most common (quantised) colour: 1.0 for a blank image.
    pub dominant_share: f64,
}

/// How many dominant colours count towards `top_share`.
pub const TOP_COLOURS: usize = 8;
/// Largest per-channel step between neighbours still counted as flat.
pub const FLAT_STEP: i32 = 2;
/// Most `dominant_share` of a map: a thin-line outline map on white still draws a few percent
/// of its pixels as lines; an image of one colour (a blank placeholder) draws nothing.
const MAX_DOMINANT_SHARE: f64 = 0.995;
/// Least `top_share` of a map.
const MIN_TOP_SHARE: f64 = 0.35;
/// Least `flat_share` of a map.
const MIN_FLAT_SHARE: f64 = 0.35;

/// Number of colour bins: 4 bits per channel (see [`colour_bin`]).
pub const COLOUR_BINS: usize = 4096;

/// A colour's bin, quantised to 4 bits per channel and indexed r, g, b: index order is the
/// bins' lexicographic order.
pub fn colour_bin(c: [u8; 3]) -> usize {
    (c[0] as usize >> 4) << 8 | (c[1] as usize >> 4) << 4 | c[2] as usize >> 4
}

impl MapLikeness {
    /// Measures an RGB image of `w` x `h` pixels (row-major).
    pub fn measure(rgb: &[[u8; 3]], w: usize, h: usize) -> MapLikeness {
        let n = w * h;
        if n == 0 || rgb.len() < n {
            return MapLikeness {
                top_share: 0.0,
                flat_share: 0.0,
                dominant_share: 1.0,
            };
        }
        let mut hist = vec![0u32; COLOUR_BINS];
        let mut flat = 0usize;
        // scratch for `step_flags`, and its flags of a row
        let (mut scratch, mut steps) = (vec![0u8; 3 * w], vec![0u8; w]);
        let rows = rgb[..n].chunks_exact(w);
        let below = rgb[..n].chunks_exact(w).skip(1).map(Some).chain([None]);
        for (row, below) in rows.zip(below) {
            // counted by runs of one bin: flat fills and smooth gradients repeat a bin along
            // the row, and one add per run spares the wait on the same counter each pixel
            let (mut run_bin, mut run) = (colour_bin(row[0]), 0u32);
            for &c in row {
                let b = colour_bin(c);
                if b != run_bin {
                    hist[run_bin] += run;
                    (run_bin, run) = (b, 0);
                }
                run += 1;
            }
            hist[run_bin] += run;
            // a pixel is flat when it steps little to its right and lower neighbours: no
            // edge at FLAT_STEP (one missing at the image's right or bottom side counts as
            // no step)
            super::register::step_flags(row, below, FLAT_STEP as u8, &mut scratch, &mut steps);
            flat += steps.iter().filter(|&&s| s == 0).count();
        }
        // the TOP_COLOURS largest counts, in no order (a full sort of 4096 bins cost as much
        // as the pass over a small image)
        hist.select_nth_unstable_by(TOP_COLOURS - 1, |a, b| b.cmp(a));
        let top = &hist[..TOP_COLOURS];
        let most = top.iter().copied().max().unwrap_or(0);
        let top: u64 = top.iter().map(|&k| k as u64).sum();
        MapLikeness {
            top_share: top as f64 / n as f64,
            flat_share: flat as f64 / n as f64,
            dominant_share: most as f64 / n as f64,
        }
    }

    /// Whether the image could be a map: a few colours cover a good share of it and a good
    /// share of it is flat, but not all of it is one colour.
    pub fn plausible(&self) -> bool {
        self.top_share >= MIN_TOP_SHARE
            && self.flat_share >= MIN_FLAT_SHARE
            && self.dominant_share <= MAX_DOMINANT_SHARE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The measure written plainly, pixel by pixel, to hold the fast one to.
    fn naive(rgb: &[[u8; 3]], w: usize, h: usize) -> (f64, f64, f64) {
        let mut hist = std::collections::HashMap::<(u8, u8, u8), u64>::new();
        let mut flat = 0;
        let at = |x: usize, y: usize| rgb[y * w + x];
        let step =
            |a: [u8; 3], b: [u8; 3]| (0..3).map(|i| a[i].abs_diff(b[i]) as i32).max().unwrap();
        for y in 0..h {
            for x in 0..w {
                let c = at(x, y);
                *hist.entry((c[0] >> 4, c[1] >> 4, c[2] >> 4)).or_default() += 1;
                let r = if x + 1 < w { step(c, at(x + 1, y)) } else { 0 };
                let d = if y + 1 < h { step(c, at(x, y + 1)) } else { 0 };
                if r <= FLAT_STEP && d <= FLAT_STEP {
                    flat += 1;
                }
            }
        }
        let mut counts: Vec<u64> = hist.into_values().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top: u64 = counts.iter().take(TOP_COLOURS).sum();
        let n = (w * h) as f64;
        (top as f64 / n, flat as f64 / n, counts[0] as f64 / n)
    }

    #[test]
    fn measure_matches_a_plain_pixel_by_pixel_count() {
        let mut state = 7u32;
        for (kind, (w, h)) in (0..3).map(|k| (k, (37, 23))).chain([
            (2, (1, 5)),
            (2, (6, 1)),
            (0, (1, 1)),
            (1, (9, 2)),
        ]) {
            let rgb: Vec<[u8; 3]> = (0..w * h)
                .map(|i| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    let noise = (state >> 16) as u8;
                    match kind {
                        0 => [noise, noise / 2, 255 - noise], // photo-like noise
                        1 => [((i % w) * 6) as u8, 90, 200],  // gradient
                        _ => {
                            if (i / w) < h / 2 {
                                [200, 40, 40]
                            } else {
                                [250, 250, 240]
                            }
                        } // flat fills
                    }
                })
                .collect();
            let want = naive(&rgb, w, h);
            // (the flat count's row loop runs in either copy of `avx2_too!`)
            crate::check::simd::each_copy(|copy| {
                let m = MapLikeness::measure(&rgb, w, h);
                assert_eq!(
                    (m.top_share, m.flat_share, m.dominant_share),
                    want,
                    "image kind {kind}, {w}x{h}, {copy}"
                );
            });
        }
    }

    #[test]
    fn a_blank_image_is_not_a_map_but_thin_lines_on_white_may_be() {
        let (w, h) = (200, 150);
        let blank = vec![[255u8, 255, 255]; w * h];
        assert!(!MapLikeness::measure(&blank, w, h).plausible());
        // one-pixel lines every 12 pixels: about 16% line pixels, like an outline map
        let lines: Vec<[u8; 3]> = (0..w * h)
            .map(|i| {
                if (i % w) % 12 == 0 || (i / w) % 12 == 0 {
                    [40, 40, 40]
                } else {
                    [255, 255, 255]
                }
            })
            .collect();
        assert!(MapLikeness::measure(&lines, w, h).plausible());
    }
}
