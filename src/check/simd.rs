//! The inner loop of registration's scoring (`register::score`) with AVX2, for runs of outline
//! points that all fall inside the image: the pixel of four points at a time is found with
//! vector instructions, by the same floating-point operations in the same order as the scalar
//! loop (a multiply then an add, no fused multiply-add, truncation toward zero), and each
//! pixel's support is then read with a plain load. The sums are integers, so the result is
//! bit for bit the scalar loop's.
//!
//! The loads stay scalar: the CPUs this runs on microcode gathers slowly (the Gather Data
//! Sampling mitigation), and a version with gathers measured no faster than the scalar loop.
//! Used only where the CPU has AVX2 (detected at run time) and the image's pixel indices fit
//! in an `i32`; elsewhere the scalar loop runs.
//!
//! Also `avx2_too!`, which compiles a function of integer loops over pixels (edges, ink,
//! narrowing distance codes) twice, for AVX2 and plain, and runs the copy the CPU can.

/// Defines a function whose body is compiled twice: for AVX2, run when this CPU has it, and
/// plain (SSE2) elsewhere. For flat byte loops, which LLVM vectorises 32 bytes at a time
/// under AVX2 and 16 without, and loops reading a pixel's three bytes together, which it
/// vectorises with AVX2's byte shuffles only. Only for integer arithmetic, where both copies
/// give the same result bit for bit. Parameters are plain names (no patterns).
macro_rules! avx2_too {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident: $t:ty),* $(,)?) $(-> $r:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($a: $t),*) $(-> $r)? {
            #[inline(always)]
            fn plain($($a: $t),*) $(-> $r)? $body
            #[cfg(target_arch = "x86_64")]
            if $crate::check::simd::avx2() {
                #[target_feature(enable = "avx2")]
                fn avx2($($a: $t),*) $(-> $r)? {
                    plain($($a),*)
                }
                // SAFETY: this CPU has AVX2
                return unsafe { avx2($($a),*) };
            }
            plain($($a),*)
        }
    };
}
pub(crate) use avx2_too;

/// Whether `avx2_too!` functions run their AVX2 copy: this CPU has AVX2 (and, in tests, the
/// plain copies are not asked for: see `each_copy`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn avx2() -> bool {
    #[cfg(test)]
    if PLAIN.with(|p| p.get()) {
        return false;
    }
    std::arch::is_x86_feature_detected!("avx2")
}

#[cfg(test)]
thread_local! {
    /// Set by `each_copy`: `avx2_too!` functions run their plain copies on this thread.
    static PLAIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `test` twice, with `avx2_too!` functions running the copy the CPU can, then their
/// plain copies (on a CPU without AVX2, the plain ones both times); `test` is told which.
#[cfg(test)]
pub(crate) fn each_copy(mut test: impl FnMut(&str)) {
    test("the copy this CPU runs");
    PLAIN.with(|p| p.set(true));
    // (set back even when the test panics, for the tests run next on this thread)
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            PLAIN.with(|p| p.set(false));
        }
    }
    let _reset = Reset;
    test("the plain copy");
}

/// Whether `sum_inside` can run here: AVX2 on this CPU, and every pixel index of a `w` x `h`
/// image an `i32`.
pub fn usable(w: usize, h: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        w.checked_mul(h).is_some_and(|n| n <= i32::MAX as usize)
            && std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (w, h);
        false
    }
}

/// The sum of the supports `at` reads for the pixel indices (y * w + x) of the pixels
/// `(sx * x + tx, ty - sy * y)` of the points `(xs[i], ys[i])` in an image `w` pixels wide,
/// with `f` = `[sx, sy, tx, ty]`.
///
/// # Safety
/// `xs` and `ys` must be as long, every point must map inside the image (0 <= px < w,
/// 0 <= py < h, as the caller's run box guarantees), `at` must accept the index of every
/// pixel inside it, and `usable(w, h)` must have returned true.
#[inline]
pub unsafe fn sum_inside(
    xs: &[f64],
    ys: &[f64],
    f: [f64; 4],
    w: usize,
    at: impl Fn(usize) -> u32,
) -> u64 {
    debug_assert_eq!(xs.len(), ys.len());
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the caller's contract is `avx2::sum`'s
        unsafe { avx2::sum(xs, ys, f, w, at) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (xs, ys, f, w, at);
        unreachable!("sum_inside called where `usable` is false")
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Four points a step, the rest one by one; `at` reads the support of a pixel index.
    ///
    /// Four x and four y are loaded as they lie in their lists, and the four indices leave
    /// the vector register as two 64-bit halves, split with a shift: taking them out one
    /// 32-bit lane at a time (or from pairs of x and y, shuffled apart) held the loop on the
    /// one CPU port all those instructions share, and so did eight points a step.
    ///
    /// # Safety
    /// As `super::sum_inside`; AVX2 must be available, and `at` must accept every index of
    /// a pixel inside the image.
    #[target_feature(enable = "avx2")]
    pub unsafe fn sum(
        xs: &[f64],
        ys: &[f64],
        [sx, sy, tx, ty]: [f64; 4],
        w: usize,
        at: impl Fn(usize) -> u32,
    ) -> u64 {
        let n = xs.len().min(ys.len());
        let (xs, ys) = (&xs[..n], &ys[..n]);
        let (vsx, vsy) = (_mm256_set1_pd(sx), _mm256_set1_pd(sy));
        let (vtx, vty) = (_mm256_set1_pd(tx), _mm256_set1_pd(ty));
        let vw = _mm_set1_epi32(w as i32);
        let mut sum = 0u64;
        let whole = n / 4 * 4;
        for k in (0..whole).step_by(4) {
            // SAFETY: k + 4 <= n, the length of both lists
            let q = unsafe {
                let x = _mm256_loadu_pd(xs.as_ptr().add(k));
                let y = _mm256_loadu_pd(ys.as_ptr().add(k));
                let px = _mm256_add_pd(_mm256_mul_pd(vsx, x), vtx);
                let py = _mm256_sub_pd(vty, _mm256_mul_pd(vsy, y));
                let (xi, yi) = (_mm256_cvttpd_epi32(px), _mm256_cvttpd_epi32(py));
                _mm_add_epi32(_mm_mullo_epi32(yi, vw), xi)
            };
            let (a, b) = (
                _mm_cvtsi128_si64(q) as u64,
                _mm_extract_epi64::<1>(q) as u64,
            );
            let low = |v: u64| (v & 0xffff_ffff) as usize;
            let high = |v: u64| (v >> 32) as usize;
            // (summed apart from `sum`, so four loads are not each held behind an add)
            let part =
                at(low(a)) as u64 + at(high(a)) as u64 + at(low(b)) as u64 + at(high(b)) as u64;
            sum += part;
        }
        for (&x, &y) in xs[whole..].iter().zip(&ys[whole..]) {
            let px = sx * x + tx;
            let py = ty - sy * y;
            // SAFETY: as the scalar loop in `register::sum_supports`: the point is inside
            let (xi, yi): (i64, i64) = unsafe { (px.to_int_unchecked(), py.to_int_unchecked()) };
            sum += at(yi as usize * w + xi as usize) as u64;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar loop `register::sum_supports` runs on a run inside the image.
    fn scalar(pts: &[(f64, f64)], [sx, sy, tx, ty]: [f64; 4], w: usize, at: &[u32]) -> u64 {
        pts.iter()
            .map(|&(x, y)| {
                let (px, py) = (sx * x + tx, ty - sy * y);
                at[(py as usize) * w + px as usize] as u64
            })
            .sum()
    }

    #[test]
    fn sum_inside_reads_the_supports_the_scalar_loop_reads() {
        if !usable(97, 61) {
            eprintln!("skipped: no AVX2 on this CPU, so the scalar loop alone runs");
            return;
        }
        let (w, h) = (97usize, 61usize);
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        let codes: Vec<u8> = (0..w * h).map(|_| (next() % 256) as u8).collect();
        let mut lut = [0u32; 256];
        for (i, l) in lut.iter_mut().enumerate() {
            *l = (i as u32) << 16 | 0x1234;
        }
        let full: Vec<u32> = codes.iter().map(|&c| lut[c as usize]).collect();
        // a frame with a fractional scale and shift, points whose pixels fall on both sides
        // of pixel corners, the last pixel among them, and counts that leave a remainder
        let f = [0.75, 1.25, 0.375, 60.9];
        for n in [0, 1, 7, 8, 9, 64, 203] {
            let mut pts: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    let px = (next() % (w as u64 * 8)) as f64 / 8.0;
                    let py = (next() % (h as u64 * 8)) as f64 / 8.0;
                    ((px - f[2]) / f[0], (f[3] - py) / f[1])
                })
                .filter(|&(x, y)| {
                    let (px, py) = (f[0] * x + f[2], f[3] - f[1] * y);
                    px >= 0.0 && py >= 0.0 && px < w as f64 && py < h as f64
                })
                .collect();
            pts.push((
                (w as f64 - 0.5 - f[2]) / f[0],
                (f[3] - (h as f64 - 0.5)) / f[1],
            ));
            let want = scalar(&pts, f, w, &full);
            let (xs, ys): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
            // SAFETY: every point maps inside the image (filtered above), the tables cover
            // it, and `usable` holds
            let (coded, full_sum) = unsafe {
                (
                    sum_inside(&xs, &ys, f, w, |i| lut[codes[i] as usize]),
                    sum_inside(&xs, &ys, f, w, |i| full[i]),
                )
            };
            assert_eq!(coded, want, "{n} points, coded");
            assert_eq!(full_sum, want, "{n} points, full");
        }
    }
}
