//! A small scanline polygon rasteriser and line drawer over byte masks.
use super::project::Frame;

/// A w x h byte mask, of which only a band of rows is held: the rows drawn on, from the
/// first to the last. Every pixel outside the band is 0. A probe's mask covers a zone, a
/// country or the dash line, a small part of the image, and zeroing a whole image's bytes for
/// each took a visible share of a check. Pixels are read by their index (`y * w + x`), as in
/// the image.
#[derive(Debug, Clone)]
pub struct Mask {
    pub w: usize,
    pub h: usize,
    /// The band's first row.
    y0: usize,
    /// The band's rows, `w` bytes each.
    data: Vec<u8>,
}

impl Mask {
    /// An empty mask (no band yet).
    pub fn new(w: usize, h: usize) -> Mask {
        Mask {
            w,
            h,
            y0: 0,
            data: Vec::new(),
        }
    }

    /// Widens the band to hold rows `ya..yb` (clipped to the image), keeping what is drawn.
    /// A drawing covers the rows it will draw on first, so that the band is made once.
    pub fn cover(&mut self, ya: usize, yb: usize) {
        let yb = yb.min(self.h);
        if ya >= yb || self.w == 0 {
            return;
        }
        if self.data.is_empty() {
            self.y0 = ya;
            self.data = vec![0; (yb - ya) * self.w];
            return;
        }
        let (c0, c1) = (self.y0, self.y0 + self.data.len() / self.w);
        if ya >= c0 && yb <= c1 {
            return;
        }
        let (n0, n1) = (ya.min(c0), yb.max(c1));
        let mut data = vec![0; (n1 - n0) * self.w];
        let at = (c0 - n0) * self.w;
        data[at..at + self.data.len()].copy_from_slice(&self.data);
        self.y0 = n0;
        self.data = data;
    }

    /// The value of the pixel at index `i` (`y * w + x`); 0 outside the band or the image.
    #[inline]
    pub fn at(&self, i: usize) -> u8 {
        // (an index above the band wraps round to a large offset, past the band too)
        let o = i.wrapping_sub(self.y0 * self.w);
        self.data.get(o).copied().unwrap_or(0)
    }

    pub fn get(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 || x as usize >= self.w || y as usize >= self.h {
            0
        } else {
            self.at(y as usize * self.w + x as usize)
        }
    }

    /// Row `y`'s pixels, `w` of them; None for a row outside the band (every pixel 0).
    pub fn row(&self, y: usize) -> Option<&[u8]> {
        let k = y.checked_sub(self.y0)?;
        self.data.get(k * self.w..(k + 1) * self.w)
    }

    /// Sets pixels `xa..=xb` of row `y` (inside the image) to `val`.
    pub fn fill_row(&mut self, y: usize, xa: usize, xb: usize, val: u8) {
        self.cover(y, y + 1);
        let row = (y - self.y0) * self.w;
        self.data[row + xa..=row + xb].fill(val);
    }

    /// Sets the pixel at index `i` (`y * w + x`, inside the image) to `val`.
    pub fn set(&mut self, i: usize, val: u8) {
        let y = i / self.w;
        self.cover(y, y + 1);
        self.data[i - self.y0 * self.w] = val;
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

    /// The index (`y * w + x`) of each pixel set, in index order.
    pub fn set_pixels(&self) -> impl Iterator<Item = usize> + '_ {
        let base = self.y0 * self.w;
        self.data
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0)
            .map(move |(i, _)| base + i)
    }

    /// Every pixel's value, `w * h` of them.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut all = vec![0; self.w * self.h];
        let at = self.y0 * self.w;
        all[at..at + self.data.len()].copy_from_slice(&self.data);
        all
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
    mask.cover(y0 as usize, y1 as usize + 1);
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
            mask.fill_row(y as usize, xa as usize, xb as usize, val);
        }
    }
}

/// Draws a polyline of pixel points with a square pen of `width` pixels.
pub fn stroke_px(mask: &mut Mask, pts: &[(f64, f64)], closed: bool, width: f64, val: u8) {
    stroke_each(mask, &[pts], closed, width, val);
}

/// Draws each polyline as `stroke_px` does, the rows they all reach taken into the mask's
/// band first, at once.
pub fn stroke_each<P: AsRef<[(f64, f64)]>>(
    mask: &mut Mask,
    lines: &[P],
    closed: bool,
    width: f64,
    val: u8,
) {
    let r = (width / 2.0).max(0.5);
    // the rows the pen reaches (a point that is not finite draws nothing, or is covered
    // when drawn)
    let (ymin, ymax) = lines
        .iter()
        .filter(|l| l.as_ref().len() >= 2)
        .flat_map(|l| l.as_ref().iter().map(|p| p.1))
        .filter(|y| y.is_finite())
        .fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    if ymin <= ymax {
        let lo = ((ymin - r + 0.5).floor() as i64).max(0);
        let hi = ((ymax + r - 0.5).ceil() as i64).min(mask.h as i64 - 1);
        if lo <= hi {
            mask.cover(lo as usize, hi as usize + 1);
        }
    }
    for l in lines {
        stroke_one(mask, l.as_ref(), closed, r, val);
    }
}

/// `stroke_px`'s drawing, with a pen of half-width `r`.
fn stroke_one(mask: &mut Mask, pts: &[(f64, f64)], closed: bool, r: f64, val: u8) {
    let n = pts.len();
    if n < 2 {
        return;
    }
    let segs = if closed { n } else { n - 1 };
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
            let (xa, xb) = (x0.max(0), x1.min(mask.w as i64 - 1));
            if xa > xb {
                continue;
            }
            for yy in y0.max(0)..=y1.min(mask.h as i64 - 1) {
                mask.fill_row(yy as usize, xa as usize, xb as usize, val);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_band_grown_above_and_below_keeps_what_was_drawn_and_reads_zero_elsewhere() {
        let (w, h) = (13, 40);
        let mut m = Mask::new(w, h);
        // nothing held yet: every pixel reads 0, and no row is held
        assert_eq!((m.at(0), m.count(), m.row(5)), (0, 0, None));
        // drawn in the middle, then above it, then below it: the band grows both ways
        let drawn = [(17, 3, 4), (4, 0, 12), (35, 9, 9), (17, 11, 12)];
        for &(y, xa, xb) in &drawn {
            m.fill_row(y, xa, xb, 1);
        }
        m.set(39 * w + 12, 2);
        let mut want = vec![0u8; w * h];
        for &(y, xa, xb) in &drawn {
            want[y * w + xa..=y * w + xb].fill(1);
        }
        want[39 * w + 12] = 2;
        assert_eq!(m.to_vec(), want);
        assert!((0..w * h).all(|i| m.at(i) == want[i]));
        assert_eq!(m.at(w * h), 0, "past the image");
        assert_eq!(m.get(-1, 4), 0);
        assert_eq!(m.count(), want.iter().filter(|&&v| v != 0).count());
        let set: Vec<usize> = m.set_pixels().collect();
        let want_set: Vec<usize> = (0..w * h).filter(|&i| want[i] != 0).collect();
        assert_eq!(set, want_set);
        assert_eq!(m.row(3), None, "a row above the band");
        assert_eq!(m.row(17).map(|r| r[11]), Some(1));
    }

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
            assert_eq!(a.to_vec(), b.to_vec(), "case {case}");
        }
    }
}
