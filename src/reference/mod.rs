//! Reference geometry for the map checker: the committed compact reference
//! (`reference-maps/reference.json`, embedded in the binary), map projections and a small
//! polygon rasteriser / map renderer.
//!
//! Rules kept here: the reference is parsed once ([`Reference::get`]); coordinates are
//! degrees (lon, lat); projections return unit coordinates with y pointing north; nothing here
//! reads files at run time (the build step in [`build`] is the only reader of source data).
pub mod build;
pub mod project;
pub mod raster;
pub mod render;

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

pub use project::Projection;

/// Size of a zone grid cell, in degrees.
pub const ZONE_STEP: f64 = 0.05;

/// The countries a map of Asia alone draws (Highcharts' `custom/asia`, amCharts' Asia, a
/// chart of Asian data drawn without the rest of the world): Russia whole, Turkey and the
/// Caucasus, the Middle East, South, South-East and East Asia, with the reference's own names
/// (`Siachen Glacier` is a polygon of its own there). The checker scores a whole-Asia view on
/// these alone: Europe and Africa, left blank on such maps, would count against the right frame.
pub const ASIA_COUNTRIES: [&str; 52] = [
    "Russia",
    "China",
    "Mongolia",
    "Kazakhstan",
    "Uzbekistan",
    "Turkmenistan",
    "Kyrgyzstan",
    "Tajikistan",
    "Afghanistan",
    "Pakistan",
    "India",
    "Nepal",
    "Bhutan",
    "Bangladesh",
    "Sri Lanka",
    "Myanmar",
    "Thailand",
    "Laos",
    "Vietnam",
    "Cambodia",
    "Malaysia",
    "Singapore",
    "Indonesia",
    "Philippines",
    "Brunei",
    "Timor-Leste",
    "Taiwan",
    "Japan",
    "North Korea",
    "South Korea",
    "Iran",
    "Iraq",
    "Syria",
    "Turkey",
    "Saudi Arabia",
    "Yemen",
    "Oman",
    "United Arab Emirates",
    "Qatar",
    "Kuwait",
    "Jordan",
    "Israel",
    "Palestine",
    "Lebanon",
    "Georgia",
    "Armenia",
    "Azerbaijan",
    "Cyprus",
    "N. Cyprus",
    "Bahrain",
    "Siachen Glacier",
    "Hong Kong",
];

/// The committed reference geometry (see reference-maps/README.md).
pub const REFERENCE_JSON: &str = include_str!("../../reference-maps/reference.json");

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    #[error("reference source {path}: {reason}")]
    Source { path: String, reason: String },
    #[error("embedded reference geometry is invalid: {0}")]
    Embedded(String),
}

/// A zone as a grid of 0.05-degree cells: runs of `[row, start column, length]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ZoneGrid {
    pub rule: String,
    pub lon0: f64,
    pub lat0: f64,
    pub w: u32,
    pub h: u32,
    pub runs: Vec<[u32; 3]>,
}

impl ZoneGrid {
    /// Centres of the zone's cells (lon, lat).
    pub fn cells(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.runs.iter().flat_map(move |&[row, s, len]| {
            let lat = self.lat0 + (row as f64 + 0.5) * ZONE_STEP;
            (s..s + len).map(move |c| (self.lon0 + (c as f64 + 0.5) * ZONE_STEP, lat))
        })
    }
    pub fn area_cells(&self) -> usize {
        self.runs.iter().map(|r| r[2] as usize).sum()
    }
}

#[derive(Deserialize)]
struct RawReference {
    format: String,
    countries: serde_json::Map<String, serde_json::Value>,
    china: Vec<Vec<i32>>,
    dashes: Vec<Vec<i32>>,
    zones: Vec<ZoneGrid>,
}

/// A ring or line as (lon, lat) points.
pub type Ring = Vec<[f64; 2]>;

/// One country of the default-view world.
#[derive(Debug, Clone)]
pub struct Country {
    pub name: String,
    pub rings: Vec<Ring>,
}

/// The parsed reference.
#[derive(Debug)]
pub struct Reference {
    /// Default-view world (Natural Earth 50m via world-atlas): every country, Taiwan separate.
    pub countries: Vec<Country>,
    /// China in China's view (Zangnan, Aksai Chin, Taiwan, islands, dash segments as polygons).
    pub china: Vec<Ring>,
    /// The ten dash segments.
    pub dashes: Vec<Ring>,
    pub zones: Vec<ZoneGrid>,
}

fn decode(v: &[i32]) -> Ring {
    v.chunks_exact(2)
        .map(|c| [c[0] as f64 / 100.0, c[1] as f64 / 100.0])
        .collect()
}

impl Reference {
    /// Parses the embedded reference (once per process).
    pub fn get() -> Result<&'static Reference, RefError> {
        static REF: OnceLock<Result<Reference, String>> = OnceLock::new();
        REF.get_or_init(|| Self::parse(REFERENCE_JSON))
            .as_ref()
            .map_err(|e| RefError::Embedded(e.clone()))
    }

    fn parse(s: &str) -> Result<Reference, String> {
        let raw: RawReference = serde_json::from_str(s).map_err(|e| e.to_string())?;
        if raw.format != "mapsweep.reference/1" {
            return Err(format!("unknown format {}", raw.format));
        }
        let mut countries = Vec::new();
        for (name, v) in raw.countries {
            let rings: Vec<Vec<i32>> = serde_json::from_value(v).map_err(|e| e.to_string())?;
            countries.push(Country {
                name,
                rings: rings.iter().map(|r| decode(r)).collect(),
            });
        }
        Ok(Reference {
            countries,
            china: raw.china.iter().map(|r| decode(r)).collect(),
            dashes: raw.dashes.iter().map(|r| decode(r)).collect(),
            zones: raw.zones,
        })
    }

    pub fn country(&self, name: &str) -> Option<&Country> {
        self.countries.iter().find(|c| c.name == name)
    }

    pub fn zone(&self, rule: &str) -> Option<&ZoneGrid> {
        self.zones.iter().find(|z| z.rule == rule)
    }

    /// China's mainland in China's view: rings of China without the small islands and dashes
    /// (area above 10 square degrees: no Taiwan, no Hainan).
    pub fn china_mainland(&self) -> Vec<&Ring> {
        self.china
            .iter()
            .filter(|r| ring_area(r).abs() > 10.0)
            .collect()
    }

    /// The island groups of the South China Sea in China's view (Dongsha, Xisha, Nansha):
    /// China's small rings (under 0.1 square degrees) in the sea that are not dash segments.
    pub fn scs_islands(&self) -> Vec<&Ring> {
        self.china
            .iter()
            .filter(|r| {
                let b = ring_bbox(r);
                let in_sea = b[0] > 108.0 && b[2] < 118.0 && b[1] > 3.0 && b[3] < 21.5;
                let is_dash = self.dashes.iter().any(|d| {
                    let e = ring_bbox(d);
                    b[0] < e[2] + 0.05
                        && e[0] < b[2] + 0.05
                        && b[1] < e[3] + 0.05
                        && e[1] < b[3] + 0.05
                });
                in_sea && !is_dash && ring_area(r).abs() < 0.1
            })
            .collect()
    }
}

/// Bounding box of a ring: `[lon_min, lat_min, lon_max, lat_max]`.
pub fn ring_bbox(r: &[[f64; 2]]) -> [f64; 4] {
    r.iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, q| {
            [
                b[0].min(q[0]),
                b[1].min(q[1]),
                b[2].max(q[0]),
                b[3].max(q[1]),
            ]
        })
}

/// Signed area of a ring in square degrees.
pub fn ring_area(r: &[[f64; 2]]) -> f64 {
    let mut a = 0.0;
    for i in 0..r.len() {
        let j = (i + 1) % r.len();
        a += r[i][0] * r[j][1] - r[j][0] * r[i][1];
    }
    a / 2.0
}
