//! Benchmark of the map checker on 1000x600 PNG maps rendered from the reference geometry.
//!
//! Run: `cargo bench --bench check`. Besides Criterion's figures it prints, once, the median
//! and p95 milliseconds per image on one thread (each image's time the median of `ROUNDS`
//! rounds), the same for PNG decoding alone (the floor), their ratio, the growth of the
//! process's peak resident memory over the checks, and the CPU.
//! `MAPSWEEP_BENCH_DUMP=DIR` also writes the images to DIR (`bench00.png`...), to profile
//! `mapsweep check` on them; `MAPSWEEP_BENCH_PNGS=DIR` runs it all on the PNG files in DIR
//! instead (maps drawn by other libraries, of any size: each image's own ratio is printed too).
use criterion::{Criterion, criterion_group, criterion_main};
use mapsweep::check::Checker;
use mapsweep::reference::Reference;
use mapsweep::reference::project::Projection;
use mapsweep::reference::render::{RenderSpec, Style, View, render_png};
use std::hint::black_box;
use std::time::Instant;

fn fixtures() -> Vec<Vec<u8>> {
    let r = Reference::get().expect("reference");
    let mut out = Vec::new();
    let styles = Style::named().map(|(_, s)| s);
    let (world, china) = (View::WORLD, View::CHINA);
    for (i, p) in [
        Projection::PlateCarree,
        Projection::NaturalEarth1,
        Projection::EqualEarth,
        Projection::Robinson,
        Projection::WebMercator,
        Projection::ALBERS_CHINA,
    ]
    .iter()
    .enumerate()
    {
        for (j, st) in styles.iter().enumerate() {
            let bbox = if p.is_conic() || (i + j) % 4 == 0 {
                china
            } else {
                world
            };
            let mut s = RenderSpec::new(*p, bbox, 1000, 600, *st);
            s.zangnan_as_india = j % 2 == 0;
            s.dashes = j % 3 != 0;
            s.inset = bbox == china && j % 2 == 1;
            out.push(render_png(r, &s));
        }
    }
    out
}

/// Every `.png` file in `dir`, in name order.
fn pngs_in(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "{}: no PNG files", dir.display());
    paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The CPU the figures were taken on (`model name`, family and model of /proc/cpuinfo): the
/// check's ratio to decoding moves with the CPU (registration's scattered table loads against
/// the decoder's streaming), so a figure names its CPU.
fn cpu() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    match (field("model name"), field("cpu family"), field("model")) {
        (Some(name), Some(fam), Some(model)) => format!("{name} (family {fam}, model {model})"),
        (Some(name), _, _) => name,
        _ => std::env::consts::ARCH.to_string(),
    }
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Rounds over the images in `summary`: each image's time is its median over these.
const ROUNDS: usize = 5;

fn summary(ck: &Checker, pngs: &[Vec<u8>], what: &str) {
    let rss0 = peak_rss_kb();
    // each image's times, round by round; its figure is their median, so that a round slowed
    // by the machine (a virtual machine's neighbours) moves no image's figure
    let (mut chk, mut dec) = (vec![Vec::new(); pngs.len()], vec![Vec::new(); pngs.len()]);
    for _ in 0..ROUNDS {
        for (i, png) in pngs.iter().enumerate() {
            let t = Instant::now();
            black_box(image::load_from_memory(png).expect("decode"));
            dec[i].push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            black_box(ck.check_bytes(png, "bench").expect("check"));
            chk[i].push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let mut chk: Vec<f64> = chk.iter_mut().map(|v| pct(v, 0.5)).collect();
    let mut dec: Vec<f64> = dec.iter_mut().map(|v| pct(v, 0.5)).collect();
    let rss1 = peak_rss_kb();
    // each image's check over its own decode (images of several sizes: their medians apart
    // may come from different images)
    let mut per: Vec<f64> = chk.iter().zip(&dec).map(|(c, d)| c / d.max(1e-9)).collect();
    let per_image = pct(&mut per, 0.5);
    let (cm, cp) = (pct(&mut chk, 0.5), pct(&mut chk, 0.95));
    let (dm, dp) = (pct(&mut dec, 0.5), pct(&mut dec, 0.95));
    println!(
        "check {what}, one thread: median {cm:.1} ms, p95 {cp:.1} ms; decode alone: median {dm:.1} ms, p95 {dp:.1} ms; ratio {:.1}x (each image's own: median {per_image:.1}x); {} images; peak RSS growth over the checks {} KiB; CPU {}",
        cm / dm.max(1e-9),
        pngs.len(),
        rss1.saturating_sub(rss0),
        cpu()
    );
}

fn bench(c: &mut Criterion) {
    // as the `mapsweep` binary does first thing
    mapsweep::keep_freed_memory();
    let ck = Checker::new().expect("checker");
    // the renders, or every PNG in MAPSWEEP_BENCH_PNGS (other libraries' maps, of any size)
    let (pngs, what) = match std::env::var_os("MAPSWEEP_BENCH_PNGS") {
        Some(dir) => (
            pngs_in(std::path::Path::new(&dir)),
            format!("the PNGs in {}", dir.to_string_lossy()),
        ),
        None => (fixtures(), "1000x600 PNG".to_string()),
    };
    // the same images as files, for profiling `mapsweep check` on them
    if let Some(dir) = std::env::var_os("MAPSWEEP_BENCH_DUMP") {
        std::fs::create_dir_all(&dir).expect("dump dir");
        for (i, png) in pngs.iter().enumerate() {
            let path = std::path::Path::new(&dir).join(format!("bench{i:02}.png"));
            std::fs::write(&path, png).expect("dump fixture");
        }
    }
    summary(&ck, &pngs, &what);
    let mut g = c.benchmark_group("check_1000x600");
    g.sample_size(10);
    g.bench_function("decode_png", |b| {
        b.iter(|| {
            for png in &pngs {
                black_box(image::load_from_memory(png).expect("decode"));
            }
        })
    });
    g.bench_function("check_png", |b| {
        b.iter(|| {
            for png in &pngs {
                black_box(ck.check_bytes(png, "bench").expect("check"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
