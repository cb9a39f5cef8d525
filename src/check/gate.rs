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
}

/// How many dominant colours count towards `top_share`.
pub const TOP_COLOURS: usize = 8;
/// Largest per-channel step between neighbours still counted as flat.
pub const FLAT_STEP: i32 = 2;
/// Least `top_share` of a map.
const MIN_TOP_SHARE: f64 = 0.35;
/// Least `flat_share` of a map.
const MIN_FLAT_SHARE: f64 = 0.35;

impl MapLikeness {
    /// Measures an RGB image of `w` x `h` pixels (row-major).
    pub fn measure(rgb: &[[u8; 3]], w: usize, h: usize) -> MapLikeness {
        let n = w * h;
        if n == 0 || rgb.len() < n {
            return MapLikeness {
                top_share: 0.0,
                flat_share: 0.0,
            };
        }
        let mut hist = vec![0u32; 4096];
        let mut flat = 0usize;
        let step = |a: [u8; 3], b: [u8; 3]| {
            (0..3)
                .map(|i| (a[i] as i32 - b[i] as i32).abs())
                .max()
                .unwrap_or(0)
        };
        for y in 0..h {
            for x in 0..w {
                let c = rgb[y * w + x];
                hist[((c[0] as usize >> 4) << 8)
                    | ((c[1] as usize >> 4) << 4)
                    | (c[2] as usize >> 4)] += 1;
                let r = if x + 1 < w {
                    step(c, rgb[y * w + x + 1])
                } else {
                    0
                };
                let d = if y + 1 < h {
                    step(c, rgb[(y + 1) * w + x])
                } else {
                    0
                };
                if r <= FLAT_STEP && d <= FLAT_STEP {
                    flat += 1;
                }
            }
        }
        hist.sort_unstable_by(|a, b| b.cmp(a));
        let top: u64 = hist.iter().take(TOP_COLOURS).map(|&k| k as u64).sum();
        MapLikeness {
            top_share: top as f64 / n as f64,
            flat_share: flat as f64 / n as f64,
        }
    }

    /// Whether the image could be a map: a few colours cover a good share of it and a good
    /// share of it is flat.
    pub fn plausible(&self) -> bool {
        self.top_share >= MIN_TOP_SHARE && self.flat_share >= MIN_FLAT_SHARE
    }
}
