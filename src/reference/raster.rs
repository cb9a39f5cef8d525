//! A small scanline polygon rasteriser and line drawer over byte masks.
use super::project::Frame;

/// A w x h byte mask.
#[derive(Debug, Clone)]
pub struct Mask {
    pub w: usize,
    pub h: usize,
    pub data: Vec<u8>,
}

impl Mask {
    pub fn new(w: usize, h: usize) -> Mask {
        Mask {
            w,
            h,
            data: vec![0; w * h],
        }
    }
    pub fn get(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 || x as usize >= self.w || y as usize >= self.h {
            0
        } else {
            self.data[y as usize * self.w + x as usize]
        }
    }
    /// Pixels set (non-zero).
    pub fn count(&self) -> usize {
        // a byte's worth of pixels at a time, counted in a byte: the sum then runs sixteen or
        // more pixels an instruction (summed into a usize it ran two)
        self.data
            .chunks(255)
            .map(|c| usize::from(c.iter().fold(0u8, |n, &v| n + u8::from(v != 0))))
            .sum()
    }
}

/// Projects rings to pixel coordinates.
pub fn project_rings(frame: &Frame, rings: &[&Vec<[f64; 2]>]) -> Vec<Vec<(f64, f64)>> {
    rings
        .iter()
        .map(|r| r.iter().map(|p| frame.to_px(p[0], p[1])).collect())
        .collect()
}

/// Fills pixel-space rings (even-odd rule) with `val`, sampling pixel centres.
///
/// Each edge is listed under the rows its y-span may cross, so a row visits only the edges
/// that can cross it (a China outline of thousands of vertices crosses a row a few times);
/// whether an edge crosses a row's centre, and where, is decided exactly as a test of every
/// edge would decide it.
pub fn fill_px(mask: &mut Mask, rings: &[Vec<(f64, f64)>], val: u8) {
    let h = mask.h as i64;
    let mut ymin = f64::MAX;
    let mut ymax = f64::MIN;
    for r in rings {
        for p in r {
            ymin = ymin.min(p.1);
            ymax = ymax.max(p.1);
        }
    }
    if ymin > ymax || h <= 0 {
        return;
    }
    let y0 = (ymin.floor() as i64).max(0);
    let y1 = (ymax.ceil() as i64).min(h - 1);
    if y0 > y1 {
        return;
    }
    // Edges by the first row they may cross (one row of slack each way: the exact test below
    // decides), each with the last such row.
    let rows = (y1 - y0 + 1) as usize;
    let mut starts: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); rows];
    for (ri, r) in rings.iter().enumerate() {
        let n = r.len();
        if n < 3 {
            continue;
        }
        for i in 0..n {
            let (a, b) = (r[i].1, r[(i + 1) % n].1);
            // (an edge with an infinite or NaN end, such as a pole in Mercator, is tested on
            // every row, as before)
            let (first, last) = if a.is_finite() && b.is_finite() {
                let (lo, hi) = (a.min(b), a.max(b));
                (
                    ((lo - 0.5).floor() as i64 - 1).max(y0),
                    ((hi - 0.5).ceil() as i64 + 1).min(y1),
                )
            } else {
                (y0, y1)
            };
            if first <= last {
                starts[(first - y0) as usize].push((ri, i, (last - y0) as usize));
            }
        }
    }
    let mut active: Vec<(usize, usize, usize)> = Vec::new();
    let mut xs: Vec<f64> = Vec::new();
    for (k, y) in (y0..=y1).enumerate() {
        active.retain(|e| e.2 >= k);
        active.extend_from_slice(&starts[k]);
        let yc = y as f64 + 0.5;
        xs.clear();
        for &(ri, i, _) in &active {
            let r = &rings[ri];
            xs.extend(crossing(r[i], r[(i + 1) % r.len()], yc));
        }
        fill_spans(mask, y, &mut xs, val);
    }
}

/// Where the edge from `a` to `b` crosses the row centre `yc`, if it does.
fn crossing(a: (f64, f64), b: (f64, f64), yc: f64) -> Option<f64> {
    ((a.1 > yc) != (b.1 > yc)).then(|| a.0 + (yc - a.1) * (b.0 - a.0) / (b.1 - a.1))
}

/// Fills row `y` between the crossings `xs` taken in pairs (even-odd), sampling pixel centres.
fn fill_spans(mask: &mut Mask, y: i64, xs: &mut [f64], val: u8) {
    let w = mask.w as i64;
    xs.sort_by(|a, b| a.total_cmp(b));
    for pair in xs.chunks_exact(2) {
        let xa = ((pair[0] - 0.5).ceil() as i64).max(0);
        let xb = ((pair[1] - 0.5).floor() as i64).min(w - 1);
        if xa <= xb {
            let row = (y * w) as usize;
            mask.data[row + xa as usize..=row + xb as usize].fill(val);
        }
    }
}

/// Draws a polyline of pixel points with a square pen of `width` pixels.
pub fn stroke_px(mask: &mut Mask, pts: &[(f64, f64)], closed: bool, width: f64, val: u8) {
    let n = pts.len();
    if n < 2 {
        return;
    }
    let segs = if closed { n } else { n - 1 };
    let r = (width / 2.0).max(0.5);
    for i in 0..segs {
        let a = pts[i];
        let b = pts[(i + 1) % n];
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let steps = (len * 2.0).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let x = a.0 + (b.0 - a.0) * t;
            let y = a.1 + (b.1 - a.1) * t;
            let (x0, x1) = ((x - r + 0.5).floor() as i64, (x + r - 0.5).ceil() as i64);
            let (y0, y1) = ((y - r + 0.5).floor() as i64, (y + r - 0.5).ceil() as i64);
            for yy in y0.max(0)..=y1.min(mask.h as i64 - 1) {
                for xx in x0.max(0)..=x1.min(mask.w as i64 - 1) {
                    mask.data[yy as usize * mask.w + xx as usize] = val;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fill as it was first written: every edge tested on every row (the crossing and
    /// the span fill are shared; which edges each row tests is what is compared).
    fn fill_every_edge(mask: &mut Mask, rings: &[Vec<(f64, f64)>], val: u8) {
        let h = mask.h as i64;
        let (mut ymin, mut ymax) = (f64::MAX, f64::MIN);
        for p in rings.iter().flatten() {
            ymin = ymin.min(p.1);
            ymax = ymax.max(p.1);
        }
        if ymin > ymax {
            return;
        }
        let mut xs: Vec<f64> = Vec::new();
        for y in (ymin.floor() as i64).max(0)..=(ymax.ceil() as i64).min(h - 1) {
            let yc = y as f64 + 0.5;
            xs.clear();
            for r in rings.iter().filter(|r| r.len() >= 3) {
                for i in 0..r.len() {
                    xs.extend(crossing(r[i], r[(i + 1) % r.len()], yc));
                }
            }
            fill_spans(mask, y, &mut xs, val);
        }
    }

    #[test]
    fn fill_by_edge_table_paints_the_pixels_a_test_of_every_edge_paints() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |lo: f64, hi: f64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            lo + (hi - lo) * (seed % 1_000_000) as f64 / 1_000_000.0
        };
        for case in 0..200 {
            let (w, h) = (97, 61);
            let mut rings: Vec<Vec<(f64, f64)>> = (0..1 + case % 3)
                .map(|_| {
                    (0..3 + case % 40)
                        .map(|_| (rnd(-20.0, 117.0), rnd(-15.0, 76.0)))
                        .collect()
                })
                .collect();
            // vertices exactly on row centres and on pixel corners, and an infinite one
            if case % 5 == 0 {
                rings[0].push((40.0, 30.5));
                rings[0].push((55.0, 30.5));
                rings[0].push((60.0, 12.0));
            }
            if case % 17 == 0 {
                rings[0].push((30.0, f64::INFINITY));
            }
            let (mut a, mut b) = (Mask::new(w, h), Mask::new(w, h));
            fill_px(&mut a, &rings, 1);
            fill_every_edge(&mut b, &rings, 1);
            assert_eq!(a.data, b.data, "case {case}");
        }
    }
}
