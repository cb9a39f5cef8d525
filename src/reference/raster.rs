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
    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
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
pub fn fill_px(mask: &mut Mask, rings: &[Vec<(f64, f64)>], val: u8) {
    let (w, h) = (mask.w as i64, mask.h as i64);
    let mut ymin = f64::MAX;
    let mut ymax = f64::MIN;
    for r in rings {
        for p in r {
            ymin = ymin.min(p.1);
            ymax = ymax.max(p.1);
        }
    }
    if ymin > ymax {
        return;
    }
    let y0 = (ymin.floor() as i64).max(0);
    let y1 = (ymax.ceil() as i64).min(h - 1);
    let mut xs: Vec<f64> = Vec::new();
    for y in y0..=y1 {
        let yc = y as f64 + 0.5;
        xs.clear();
        for r in rings {
            let n = r.len();
            if n < 3 {
                continue;
            }
            for i in 0..n {
                let a = r[i];
                let b = r[(i + 1) % n];
                if (a.1 > yc) != (b.1 > yc) {
                    xs.push(a.0 + (yc - a.1) * (b.0 - a.0) / (b.1 - a.1));
                }
            }
        }
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
