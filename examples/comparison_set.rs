//! A comparison set for changes meant to leave the checker's reports as they are (speed work),
//! and the tool that compares two runs' reports.
//!
//! usage:
//!   cargo run --release --example comparison_set -- render DIR
//!   mapsweep check --format json DIR/* > A.jsonl     (before the change; again after, B.jsonl)
//!   cargo run --release --example comparison_set -- diff A.jsonl B.jsonl
//!
//! `render` draws 180 maps from the reference geometry, the same ones every time: 12
//! projections (flat, conic China variants, a world centred on 150E) x 5 styles x 3 views
//! picked by a fixed seed (world maps at several sizes, China with and without the South
//! China Sea, Asia, South Asia, a box around China), each with a seeded choice of the
//! violation switches `RenderSpec::switch_on` knows, a quarter saved as JPEG quality 60 and a sixth
//! scaled to 60%. Add the dev set (`../shared/eval/dev`) to the runs for real libraries' maps.
//!
//! `render` also writes DIR/labels.json in the format of `../shared/eval/score --set DIR`, taken
//! from each map's switches and view (see `truth`), so that a change that does alter reports
//! can be scored on the set as well as diffed. The renderer draws Aksai Chin as India within
//! the zone's box (78-80.5E 34-36N) only, India's claim line as the box's east and north edges
//! and China's line left in place outside it; the checker reads about half of those as India's
//! (recall 0.49): compare that rule between runs, not against the other sets.
//!
//! `diff` reads two runs of `mapsweep check --format json` over the same inputs and prints,
//! for each input whose report differs (`elapsed_ms` aside), what changed: the verdict, a
//! finding's status, the projection, the fit. It exits 1 when any report differs.
use image::ImageEncoder;
use mapsweep::reference::Reference;
use mapsweep::reference::project::Projection;
use mapsweep::reference::render::{Style, View, render_png};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match (args.first().map(String::as_str), args.get(1), args.get(2)) {
        (Some("render"), Some(dir), None) => render(Path::new(dir)),
        (Some("diff"), Some(a), Some(b)) => {
            if diff(Path::new(a), Path::new(b))? {
                std::process::exit(1);
            }
            Ok(())
        }
        _ => Err("usage: comparison_set render DIR | comparison_set diff A.jsonl B.jsonl".into()),
    }
}

/// A small linear congruential generator: the set must be the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1000) as f64 / 1000.0 < p
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
}

fn render(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let r = Reference::get()?;
    let projections = [
        "plate_carree",
        "web_mercator",
        "miller",
        "natural_earth1",
        "equal_earth",
        "robinson",
        "winkel_tripel",
        "albers",
        "lambert",
        "albers_25_47_110",
        "lambert_30_62_105",
        "natural_earth1_150e",
    ];
    let styles = Style::named();
    // (name in the file name, `View::named` name)
    let views = [
        ("world_aspect_1000", "world_aspect_1000"),
        ("world_900", "world_900"),
        ("china_scs", "china_scs"),
        ("asia", "asia"),
        ("world_aspect_1400", "world_aspect_1400"),
        ("china", "china"),
        ("south_asia", "south_asia"),
        ("box_60_0_150_55", "bbox_60_0_150_55_900"),
    ];
    let conic_views = [views[5], views[2], views[3]];
    let mut rng = Lcg(41);
    let mut n = 0;
    let mut labels = serde_json::Map::new();
    for pname in projections {
        let proj = Projection::from_name(pname).ok_or(pname)?;
        for (sname, style) in &styles {
            for _ in 0..3 {
                let mut view = *rng.pick(&views);
                if proj.is_conic() && view.0.starts_with("world") {
                    view = *rng.pick(&conic_views);
                }
                let (vname, named) = view;
                let mut spec = View::named(named).ok_or(named)?.spec(proj, *style);
                // each violation switch, or the inset, with chance 0.3
                let mut on = Vec::new();
                for name in ["zangnan", "aksai_chin", "taiwan", "no_dashes", "inset"] {
                    if rng.chance(0.3) {
                        spec.switch_on(name);
                        on.push(name);
                    }
                }
                let label = if on.is_empty() {
                    "ok".to_string()
                } else {
                    on.join("-")
                };
                let name = format!("g{n:03}_{pname}_{sname}_{vname}_{label}");
                let label = truth(&spec, vname, &on, scale_of(&spec));
                let png = render_png(r, &spec);
                // (decoded only for the variants made from its pixels)
                let pixels = || image::load_from_memory(&png).map(|i| i.to_rgb8());
                let roll = rng.next() % 100;
                let file: String;
                let mut scaled = 1.0;
                if roll < 25 {
                    let img = pixels()?;
                    file = format!("{name}_q60.jpg");
                    let path = dir.join(&file);
                    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 60).write_image(
                        img.as_raw(),
                        img.width(),
                        img.height(),
                        image::ExtendedColorType::Rgb8,
                    )?;
                } else if roll < 42 {
                    let img = pixels()?;
                    let (w, h) = (img.width() * 3 / 5, img.height() * 3 / 5);
                    file = format!("{name}_s60.png");
                    scaled = 0.6;
                    image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle)
                        .save(dir.join(&file))?;
                } else {
                    file = format!("{name}.png");
                    std::fs::write(dir.join(&file), &png)?;
                }
                labels.insert(file, label(scaled));
                n += 1;
            }
        }
    }
    std::fs::write(
        dir.join("labels.json"),
        serde_json::to_string_pretty(&Value::Object(labels))?,
    )?;
    eprintln!("{n} maps and labels.json in {}", dir.display());
    Ok(())
}

/// Pixels per degree of longitude along 30N near China, as drawn: the chord from 100E to 110E,
/// as `tools/otherlib` measures its maps, so that both sets' labels mean one scale.
/// (`Frame::px_per_deg`, the checker's own, takes the larger of the x and y scales over one
/// degree: on stretched frames it reads up to 5 px per degree more; no label would change.)
fn scale_of(spec: &mapsweep::reference::render::RenderSpec) -> f64 {
    let f = spec.frame();
    let (a, b) = (f.to_px(100.0, 30.0), f.to_px(110.0, 30.0));
    (b.0 - a.0).hypot(b.1 - a.1) / 10.0
}

/// What `../shared/eval/score` should be told about a render with these switches on, in the
/// scorer's format: a rule is labelled only where the view shows its zone and the style can
/// show the difference (Taiwan drawn apart in China's own fill is not scored); world maps under
/// 1.5 px per degree are `unscored`. A map of China cut off north of the Nansha islands breaks
/// the South China Sea rule unless it has the inset.
fn truth(
    spec: &mapsweep::reference::render::RenderSpec,
    view: &str,
    on: &[&str],
    px_per_deg: f64,
) -> impl Fn(f64) -> Value {
    let has = |s: &str| on.contains(&s);
    let flag = |bad: bool| Value::from(if bad { "violation" } else { "ok" });
    let mut rules = serde_json::Map::new();
    rules.insert("zangnan".into(), flag(has("zangnan")));
    rules.insert("aksai_chin".into(), flag(has("aksai_chin")));
    if view != "south_asia" {
        if !has("taiwan") {
            rules.insert("taiwan".into(), flag(false));
        } else if spec.style.separate != spec.style.china {
            rules.insert("taiwan".into(), flag(true));
        }
        let scs_bad = if view == "china" {
            !has("inset")
        } else {
            has("no_dashes") && !has("inset")
        };
        rules.insert("south_china_sea".into(), flag(scs_bad));
    }
    let world = view.starts_with("world");
    move |scaled: f64| {
        let px = px_per_deg * scaled;
        let bad = rules.values().any(|v| v == "violation");
        let (verdict, rules) = if world && px < 1.5 {
            ("unscored", serde_json::Map::new())
        } else {
            (if bad { "violation" } else { "compliant" }, rules.clone())
        };
        serde_json::json!({
            "kind": if world { "world" } else { view },
            "px_per_deg": (px * 100.0).round() / 100.0,
            "rules": rules,
            "verdict": verdict,
        })
    }
}

/// Each input's report with `elapsed_ms` left out, by input.
fn reports(path: &Path) -> Result<BTreeMap<String, Value>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))?;
        if let Some(o) = v.as_object_mut() {
            o.remove("elapsed_ms");
        }
        let input = v["input"].as_str().unwrap_or_default().to_string();
        out.insert(input, v);
    }
    Ok(out)
}

/// Prints what differs between two runs; true when anything does.
fn diff(a: &Path, b: &Path) -> Result<bool, Box<dyn std::error::Error>> {
    let (ra, rb) = (reports(a)?, reports(b)?);
    let mut differ = 0;
    for (input, x) in &ra {
        let Some(y) = rb.get(input) else {
            println!("{input}: only in {}", a.display());
            differ += 1;
            continue;
        };
        if x == y {
            continue;
        }
        differ += 1;
        let mut what = Vec::new();
        if x["verdict"] != y["verdict"] {
            what.push(format!("verdict {} -> {}", x["verdict"], y["verdict"]));
        }
        let status = |v: &Value| -> BTreeMap<String, String> {
            v["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    (
                        f["rule"].as_str().unwrap_or_default().to_string(),
                        f["status"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        };
        let (sx, sy) = (status(x), status(y));
        for rule in sx.keys().chain(sy.keys().filter(|k| !sx.contains_key(*k))) {
            let (p, q) = (sx.get(rule), sy.get(rule));
            if p != q {
                what.push(format!("{rule} {p:?} -> {q:?}"));
            }
        }
        let (mx, my) = (&x["map"], &y["map"]);
        if mx["projection"] != my["projection"] {
            what.push(format!(
                "projection {} -> {}",
                mx["projection"], my["projection"]
            ));
        }
        if mx["fit"] != my["fit"] {
            what.push(format!("fit {} -> {}", mx["fit"], my["fit"]));
        }
        if what.is_empty() {
            what.push("confidences or messages".to_string());
        }
        println!("{input}: {}", what.join("; "));
    }
    for input in rb.keys().filter(|k| !ra.contains_key(*k)) {
        println!("{input}: only in {}", b.display());
        differ += 1;
    }
    let inputs = ra.len() + rb.keys().filter(|k| !ra.contains_key(*k)).count();
    println!("{differ} of {inputs} reports differ");
    Ok(differ > 0)
}
