//! Map projections on a unit sphere. `forward` takes degrees and returns (x, y) with y north.
use serde::{Deserialize, Serialize};
use std::f64::consts::{FRAC_PI_4, PI};

/// The projections the checker tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Projection {
    /// lon/lat as x/y (ECharts geo, amCharts "geoEquirectangular"); any aspect via the fit.
    PlateCarree,
    WebMercator,
    Miller,
    NaturalEarth1,
    EqualEarth,
    Robinson,
    /// Winkel tripel (d3.geoWinkel3, Plotly's "winkel tripel"): the mean of the Aitoff and
    /// the equirectangular projection with standard parallel acos(2/pi).
    WinkelTripel,
    /// Mollweide's equal-area ellipse (matplotlib/geopandas in ESRI:54009, d3.geoMollweide).
    Mollweide,
    /// Albers equal-area conic with standard parallels `p1`, `p2` (degrees north) and central
    /// meridian `lon0` (degrees east), as China maps use it (d3.geoConicEqualArea).
    Albers {
        p1: i8,
        p2: i8,
        lon0: i16,
    },
    /// Lambert conformal conic with standard parallels `p1`, `p2` and central meridian `lon0`
    /// (d3.geoConicConformal).
    Lambert {
        p1: i8,
        p2: i8,
        lon0: i16,
    },
    /// A world projection centred on `lon0` (degrees east) rather than on Greenwich: world
    /// maps centred on the Pacific (China's standard world maps at about 150E; chart layouts
    /// rotated to keep the Pacific whole), and pseudo-cylindrical maps of China alone centred
    /// on China (Highcharts centres a map of one country on its middle). In the cylindrical
    /// projections this moves only the seam; in the others it changes the shape of
    /// everything away from the central meridian.
    Centred {
        base: World,
        lon0: i16,
    },
}

/// The world projections, each centred on Greenwich as `Projection` names it, or elsewhere
/// through `Projection::Centred`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum World {
    PlateCarree,
    WebMercator,
    Miller,
    NaturalEarth1,
    EqualEarth,
    Robinson,
    WinkelTripel,
    Mollweide,
}

impl World {
    pub const ALL: [World; 8] = [
        World::PlateCarree,
        World::WebMercator,
        World::Miller,
        World::NaturalEarth1,
        World::EqualEarth,
        World::Robinson,
        World::WinkelTripel,
        World::Mollweide,
    ];

    /// Forward projection centred on Greenwich: degrees in, unit-sphere (x, y) out, y north.
    pub fn forward(self, lon: f64, lat: f64) -> (f64, f64) {
        let lam = lon.to_radians();
        let phi = lat.clamp(-89.9, 89.9).to_radians();
        match self {
            World::PlateCarree => (lam, phi),
            World::WebMercator => {
                let p = phi.clamp(-1.4844, 1.4844);
                (lam, (FRAC_PI_4 + p / 2.0).tan().ln())
            }
            World::Miller => (lam, 1.25 * (FRAC_PI_4 + 0.4 * phi).tan().ln()),
            World::NaturalEarth1 => {
                let p2 = phi * phi;
                let p4 = p2 * p2;
                (
                    lam * (0.8707 - 0.131979 * p2
                        + p4 * (-0.013791 + p4 * (0.003971 * p2 - 0.001529 * p4))),
                    phi * (1.007226
                        + p2 * (0.015085 + p4 * (-0.044475 + 0.028874 * p2 - 0.005916 * p4))),
                )
            }
            World::EqualEarth => {
                const A1: f64 = 1.340264;
                const A2: f64 = -0.081106;
                const A3: f64 = 0.000893;
                const A4: f64 = 0.003796;
                let m = 3f64.sqrt() / 2.0;
                let l = (m * phi.sin()).asin();
                let l2 = l * l;
                let l6 = l2 * l2 * l2;
                (
                    lam * l.cos() / (m * (A1 + 3.0 * A2 * l2 + l6 * (7.0 * A3 + 9.0 * A4 * l2))),
                    l * (A1 + A2 * l2 + l6 * (A3 + A4 * l2)),
                )
            }
            World::Robinson => {
                const T: [[f64; 2]; 19] = [
                    [1.0000, 0.0000],
                    [0.9986, 0.0620],
                    [0.9954, 0.1240],
                    [0.9900, 0.1860],
                    [0.9822, 0.2480],
                    [0.9730, 0.3100],
                    [0.9600, 0.3720],
                    [0.9427, 0.4340],
                    [0.9216, 0.4958],
                    [0.8962, 0.5571],
                    [0.8679, 0.6176],
                    [0.8350, 0.6769],
                    [0.7986, 0.7346],
                    [0.7597, 0.7903],
                    [0.7186, 0.8435],
                    [0.6732, 0.8936],
                    [0.6213, 0.9394],
                    [0.5722, 0.9761],
                    [0.5322, 1.0000],
                ];
                let a = lat.abs().min(90.0) / 5.0;
                let i = (a.floor() as usize).min(17);
                let t = a - i as f64;
                let xx = T[i][0] + (T[i + 1][0] - T[i][0]) * t;
                let yy = T[i][1] + (T[i + 1][1] - T[i][1]) * t;
                (0.8487 * xx * lam, 1.3523 * yy * lat.signum())
            }
            World::WinkelTripel => {
                // Aitoff: alpha = acos(cos(phi) cos(lam / 2)), scaled by 1 / sinc(alpha)
                let alpha = (phi.cos() * (lam / 2.0).cos()).clamp(-1.0, 1.0).acos();
                let sinc = if alpha < 1e-9 {
                    1.0
                } else {
                    alpha.sin() / alpha
                };
                let (ax, ay) = (2.0 * phi.cos() * (lam / 2.0).sin() / sinc, phi.sin() / sinc);
                ((ax + lam * 2.0 / PI) / 2.0, (ay + phi) / 2.0)
            }
            World::Mollweide => {
                // the auxiliary angle: 2t + sin 2t = pi sin(phi), by Newton's method on 2t
                let k = PI * phi.sin();
                let mut v = phi;
                for _ in 0..30 {
                    let d = (v + v.sin() - k) / (1.0 + v.cos());
                    v -= d;
                    if d.abs() < 1e-12 {
                        break;
                    }
                }
                let t = v / 2.0;
                (
                    2.0 * std::f64::consts::SQRT_2 / PI * lam * t.cos(),
                    std::f64::consts::SQRT_2 * t.sin(),
                )
            }
        }
    }

    /// The projection centred on Greenwich.
    pub const fn projection(self) -> Projection {
        match self {
            World::PlateCarree => Projection::PlateCarree,
            World::WebMercator => Projection::WebMercator,
            World::Miller => Projection::Miller,
            World::NaturalEarth1 => Projection::NaturalEarth1,
            World::EqualEarth => Projection::EqualEarth,
            World::Robinson => Projection::Robinson,
            World::WinkelTripel => Projection::WinkelTripel,
            World::Mollweide => Projection::Mollweide,
        }
    }
}

impl Projection {
    /// Albers with the parallels of China's standard maps: 25N and 47N, central meridian 105E.
    pub const ALBERS_CHINA: Projection = Projection::Albers {
        p1: 25,
        p2: 47,
        lon0: 105,
    };
    /// Lambert conformal conic, standard parallels 25N and 47N, central meridian 105E.
    pub const LAMBERT_CHINA: Projection = Projection::Lambert {
        p1: 25,
        p2: 47,
        lon0: 105,
    };

    /// Conics for maps of South Asia: centred on India (80E), standard parallels at 15N and
    /// 35N, a sixth in from each edge of a view of 5-40N (the rule of thumb for a conic's
    /// parallels). A China conic (105E) is turned about 10 degrees against such a map.
    pub const ALBERS_SOUTH_ASIA: Projection = Projection::Albers {
        p1: 15,
        p2: 35,
        lon0: 80,
    };
    pub const LAMBERT_SOUTH_ASIA: Projection = Projection::Lambert {
        p1: 15,
        p2: 35,
        lon0: 80,
    };

    /// The variants a map registered in a South Asia conic is re-fitted in: both kinds,
    /// central meridians 74-90E two degrees apart (a map centred two degrees off is turned
    /// about a degree, several pixels at the edges of a large map).
    pub const SOUTH_ASIA_CONICS: [Projection; 18] = {
        let mut out = [Projection::PlateCarree; 18];
        let mut i = 0;
        while i < 9 {
            let lon0 = 74 + 2 * i as i16;
            out[2 * i] = Projection::Albers {
                p1: 15,
                p2: 35,
                lon0,
            };
            out[2 * i + 1] = Projection::Lambert {
                p1: 15,
                p2: 35,
                lon0,
            };
            i += 1;
        }
        out
    };

    /// Whether a conic is centred on South Asia (west of 95E) rather than on China.
    pub fn is_south_asia_conic(self) -> bool {
        matches!(self, Projection::Albers { lon0, .. } | Projection::Lambert { lon0, .. } if lon0 < 95)
    }

    /// Highcharts' projection for its Asia map (`custom/asia`, 26E-180E, 11S-82N). With no
    /// projection set, Highcharts Maps draws a map narrower than 180 degrees in Lambert
    /// conformal conic with standard parallels at the map's southern and northern bounds,
    /// centred on its middle meridian.
    pub const HIGHCHARTS_ASIA: Projection = Projection::Lambert {
        p1: -11,
        p2: 82,
        lon0: 103,
    };

    /// World projections registration tries only when the others fit loosely.
    pub const SECOND_CHANCE: [Projection; 2] = [Projection::WinkelTripel, Projection::Mollweide];

    /// World maps centred on the Pacific at 150E, in every world projection but Mollweide.
    pub const PACIFIC: [Projection; 7] = {
        let mut out = [Projection::PlateCarree; 7];
        let mut i = 0;
        while i < 7 {
            out[i] = Projection::Centred {
                base: World::ALL[i],
                lon0: 150,
            };
            i += 1;
        }
        out
    };

    /// China alone in the pseudo-cylindrical projections centred on China's middle (105E).
    /// The cylindrical ones need no centring: there it only moves the map sideways.
    pub const CHINA_CENTRED: [Projection; 3] = [
        Projection::Centred {
            base: World::NaturalEarth1,
            lon0: 105,
        },
        Projection::Centred {
            base: World::EqualEarth,
            lon0: 105,
        },
        Projection::Centred {
            base: World::Robinson,
            lon0: 105,
        },
    ];

    /// The conic variants registration tries: both kinds over the standard-parallel pairs and
    /// central meridians seen on China maps (China's own 25N/47N at 105E or 110E; d3's
    /// defaults rotated onto China; a wider and a narrower pair). Anything between is close
    /// enough for the scale and translation search to absorb.
    pub const CONICS: [Projection; 16] = {
        const P: [(i8, i8, i16); 8] = [
            (25, 47, 105),
            (25, 47, 110),
            (25, 47, 100),
            (30, 62, 105),
            (29, 45, 105),
            (20, 50, 110),
            (35, 45, 105),
            (10, 40, 110),
        ];
        let mut out = [Projection::PlateCarree; 16];
        let mut i = 0;
        while i < 8 {
            let (p1, p2, lon0) = P[i];
            out[2 * i] = Projection::Albers { p1, p2, lon0 };
            out[2 * i + 1] = Projection::Lambert { p1, p2, lon0 };
            i += 1;
        }
        out
    };

    /// Plotly's conics at its default standard parallels (0N and 60N: a plot that sets
    /// `projection.type` to a conic and no `parallels`), centred on the middle of the
    /// longitudes shown, as Plotly rotates them (a view of 70-140E on 105E). Tried only as
    /// variants of a conic frame already found (`Checker::conic_variants`): as whole-map
    /// hypotheses, China alone in so wide a cone fitted Mollweide world maps loosely and
    /// displaced their frame.
    pub const PLOTLY_CONICS: [Projection; 6] = {
        const LON0: [i16; 3] = [105, 100, 110];
        let mut out = [Projection::PlateCarree; 6];
        let mut i = 0;
        while i < 3 {
            let lon0 = LON0[i];
            out[2 * i] = Projection::Albers {
                p1: 0,
                p2: 60,
                lon0,
            };
            out[2 * i + 1] = Projection::Lambert {
                p1: 0,
                p2: 60,
                lon0,
            };
            i += 1;
        }
        out
    };

    /// The conics a frame of China is re-fitted in: `CONICS`, then `PLOTLY_CONICS`.
    pub fn china_conics() -> impl Iterator<Item = Projection> {
        Projection::CONICS
            .into_iter()
            .chain(Projection::PLOTLY_CONICS)
    }

    pub const ALL: [Projection; 10] = [
        Projection::PlateCarree,
        Projection::WebMercator,
        Projection::Miller,
        Projection::NaturalEarth1,
        Projection::EqualEarth,
        Projection::Robinson,
        Projection::WinkelTripel,
        Projection::Mollweide,
        Projection::ALBERS_CHINA,
        Projection::LAMBERT_CHINA,
    ];

    /// Name in reports: conics as `albers_25_47` (central meridian 105E) or
    /// `albers_25_47_110e`.
    pub fn name(self) -> String {
        let conic = |kind: &str, p1: i8, p2: i8, lon0: i16| {
            if lon0 == 105 {
                format!("{kind}_{p1}_{p2}")
            } else {
                format!("{kind}_{p1}_{p2}_{lon0}e")
            }
        };
        match self {
            Projection::PlateCarree => "plate_carree".into(),
            Projection::WebMercator => "web_mercator".into(),
            Projection::Miller => "miller".into(),
            Projection::NaturalEarth1 => "natural_earth1".into(),
            Projection::EqualEarth => "equal_earth".into(),
            Projection::Robinson => "robinson".into(),
            Projection::WinkelTripel => "winkel_tripel".into(),
            Projection::Mollweide => "mollweide".into(),
            Projection::Albers { p1, p2, lon0 } => conic("albers", p1, p2, lon0),
            Projection::Lambert { p1, p2, lon0 } => conic("lambert", p1, p2, lon0),
            Projection::Centred { base, lon0 } if lon0 < 0 => {
                format!("{}_{}w", base.projection().name(), -lon0)
            }
            Projection::Centred { base, lon0 } => format!("{}_{lon0}e", base.projection().name()),
        }
    }

    /// The projection a name stands for: the inverse of `name` (`albers_25_47`,
    /// `albers_25_47_110e`, `equal_earth_150e`, `miller_30w`), plus `albers` and `lambert` for
    /// the China conics and a conic's meridian without its `e` (`albers_25_47_110`), as
    /// `render_map` takes them.
    pub fn from_name(name: &str) -> Option<Projection> {
        if let Some(w) = World::ALL
            .into_iter()
            .find(|w| w.projection().name() == name)
        {
            return Some(w.projection());
        }
        match name {
            "albers" => return Some(Projection::ALBERS_CHINA),
            "lambert" => return Some(Projection::LAMBERT_CHINA),
            _ => {}
        }
        let conic = |rest: &str| -> Option<(i8, i8, i16)> {
            let mut it = rest.split('_');
            let p1 = it.next()?.parse().ok()?;
            let p2 = it.next()?.parse().ok()?;
            let lon0 = match it.next() {
                None => 105,
                Some(m) => m.strip_suffix('e').unwrap_or(m).parse().ok()?,
            };
            it.next().is_none().then_some((p1, p2, lon0))
        };
        if let Some(rest) = name.strip_prefix("albers_") {
            let (p1, p2, lon0) = conic(rest)?;
            return Some(Projection::Albers { p1, p2, lon0 });
        }
        if let Some(rest) = name.strip_prefix("lambert_") {
            let (p1, p2, lon0) = conic(rest)?;
            return Some(Projection::Lambert { p1, p2, lon0 });
        }
        let (base, meridian) = name.rsplit_once('_')?;
        let base = World::ALL
            .into_iter()
            .find(|w| w.projection().name() == base)?;
        let lon0: i16 = match (meridian.strip_suffix('e'), meridian.strip_suffix('w')) {
            (Some(e), _) => e.parse().ok()?,
            (_, Some(w)) => -w.parse::<i16>().ok()?,
            _ => return None,
        };
        Some(Projection::Centred { base, lon0 })
    }

    /// The meridian (degrees east) in the middle of a world map, opposite its seam: a centred
    /// projection's `lon0`, Greenwich for the others. Conics wrap longitudes about their own
    /// meridian, but draw China and its surroundings only, never a world map seam to seam, so
    /// the antimeridian stands for their seam as it always has.
    pub fn world_middle(self) -> f64 {
        match self {
            Projection::Centred { lon0, .. } => lon0 as f64,
            _ => 0.0,
        }
    }

    /// Whether this is a world projection centred away from Greenwich.
    pub fn is_centred(self) -> bool {
        matches!(self, Projection::Centred { .. })
    }

    /// Whether the projection is only used for maps centred on China.
    pub fn is_conic(self) -> bool {
        matches!(self, Projection::Albers { .. } | Projection::Lambert { .. })
    }

    pub fn forward(self, lon: f64, lat: f64) -> (f64, f64) {
        let phi = lat.clamp(-89.9, 89.9).to_radians();
        match self {
            Projection::Centred { base, lon0 } => base.forward(relative_lon(lon, lon0 as f64), lat),
            Projection::PlateCarree => World::PlateCarree.forward(lon, lat),
            Projection::WebMercator => World::WebMercator.forward(lon, lat),
            Projection::Miller => World::Miller.forward(lon, lat),
            Projection::NaturalEarth1 => World::NaturalEarth1.forward(lon, lat),
            Projection::EqualEarth => World::EqualEarth.forward(lon, lat),
            Projection::Robinson => World::Robinson.forward(lon, lat),
            Projection::WinkelTripel => World::WinkelTripel.forward(lon, lat),
            Projection::Mollweide => World::Mollweide.forward(lon, lat),
            Projection::Albers { p1, p2, lon0 } => {
                let lam = lon.to_radians();
                let (p1, p2) = ((p1 as f64).to_radians(), (p2 as f64).to_radians());
                let n = (p1.sin() + p2.sin()) / 2.0;
                let c = p1.cos() * p1.cos() + 2.0 * n * p1.sin();
                let rho = (c - 2.0 * n * phi.sin()).max(0.0).sqrt() / n;
                let rho0 = c.sqrt() / n;
                let th = n * wrap(lam - (lon0 as f64).to_radians());
                (rho * th.sin(), rho0 - rho * th.cos())
            }
            Projection::Lambert { p1, p2, lon0 } => {
                let lam = lon.to_radians();
                let (p1, p2) = ((p1 as f64).to_radians(), (p2 as f64).to_radians());
                let t = |p: f64| (FRAC_PI_4 + p / 2.0).tan();
                let n = if (p1 - p2).abs() < 1e-9 {
                    p1.sin()
                } else {
                    (p1.cos() / p2.cos()).ln() / (t(p2) / t(p1)).ln()
                };
                let f = p1.cos() * t(p1).powf(n) / n;
                let rho = f / t(phi.max(-1.4)).powf(n);
                let th = n * wrap(lam - (lon0 as f64).to_radians());
                (rho * th.sin(), f - rho * th.cos())
            }
        }
    }
}

/// Longitude `lon` east of the central meridian `lon0`, into [-180, 180]. A longitude already
/// in range is kept as it is, so a ring cut at the seam keeps its cut points on their own side.
pub fn relative_lon(lon: f64, lon0: f64) -> f64 {
    let r = lon - lon0;
    if r > 180.0 {
        (r + 180.0).rem_euclid(360.0) - 180.0
    } else if r < -180.0 {
        180.0 - (180.0 - r).rem_euclid(360.0)
    } else {
        r
    }
}

/// Wraps an angle to [-pi, pi).
fn wrap(a: f64) -> f64 {
    (a + PI).rem_euclid(2.0 * PI) - PI
}

/// Image transform of a registered map: px = sx * x + tx, py = ty - sy * y.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub projection: Projection,
    pub sx: f64,
    pub sy: f64,
    pub tx: f64,
    pub ty: f64,
}

impl Frame {
    pub fn to_px(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (x, y) = self.projection.forward(lon, lat);
        (self.sx * x + self.tx, self.ty - self.sy * y)
    }
    /// Pixels per degree of longitude at the equator-ish (for scale decisions).
    pub fn px_per_deg(&self) -> f64 {
        let (ax, ay) = self.to_px(100.0, 30.0);
        let (bx, _) = self.to_px(101.0, 30.0);
        let (_, cy) = self.to_px(100.0, 31.0);
        (bx - ax)
            .abs()
            .max((cy - ay).abs() * 30f64.to_radians().cos())
    }
    /// Frame that maps the projected bbox of `lonlat_bbox` onto a pixel box.
    pub fn fit(projection: Projection, proj_bbox: [f64; 4], px_box: [f64; 4]) -> Frame {
        let [x0, y0, x1, y1] = proj_bbox;
        let [px0, py0, px1, py1] = px_box;
        let sx = (px1 - px0) / (x1 - x0).max(1e-9);
        let sy = (py1 - py0) / (y1 - y0).max(1e-9);
        Frame {
            projection,
            sx,
            sy,
            tx: px0 - sx * x0,
            ty: py0 + sy * y1,
        }
    }
    /// Frame that fits the projected bbox `proj_bbox` inside the pixel box, centred in it, the
    /// vertical scale `k` times the horizontal one.
    pub fn centred_in(
        projection: Projection,
        proj_bbox: [f64; 4],
        px_box: [f64; 4],
        k: f64,
    ) -> Frame {
        let ([x0, y0, x1, y1], [px0, py0, px1, py1]) = (proj_bbox, px_box);
        let sx = ((px1 - px0) / (x1 - x0)).min((py1 - py0) / ((y1 - y0) * k));
        let sy = sx * k;
        Frame {
            projection,
            sx,
            sy,
            tx: (px0 + px1) / 2.0 - sx * ((x0 + x1) / 2.0),
            ty: (py0 + py1) / 2.0 + sy * ((y0 + y1) / 2.0),
        }
    }
    /// Frame that maps the projected bbox `proj_bbox` across the pixel box's width, flush with
    /// its top, the vertical scale `k` times the horizontal one.
    pub fn by_width(
        projection: Projection,
        proj_bbox: [f64; 4],
        px_box: [f64; 4],
        k: f64,
    ) -> Frame {
        let ([x0, _, x1, y1], [px0, py0, px1, _]) = (proj_bbox, px_box);
        let sx = (px1 - px0) / (x1 - x0);
        let sy = sx * k;
        Frame {
            projection,
            sx,
            sy,
            tx: px0 - sx * x0,
            ty: py0 + sy * y1,
        }
    }
    /// Frame that maps the projected bbox `proj_bbox` across the pixel box's height, centred
    /// horizontally, the vertical scale `k` times the horizontal one.
    pub fn by_height(
        projection: Projection,
        proj_bbox: [f64; 4],
        px_box: [f64; 4],
        k: f64,
    ) -> Frame {
        let ([x0, y0, x1, y1], [px0, py0, px1, py1]) = (proj_bbox, px_box);
        let sy = (py1 - py0) / (y1 - y0);
        let sx = sy / k;
        Frame {
            projection,
            sx,
            sy,
            tx: (px0 + px1) / 2.0 - sx * (x0 + x1) / 2.0,
            ty: py0 + sy * y1,
        }
    }
}

/// Projected bbox of a lon/lat box sampled on a grid (handles curved edges).
pub fn projected_bbox(p: Projection, lonlat: [f64; 4]) -> [f64; 4] {
    let [a, b, c, d] = lonlat;
    // all longitudes round: from seam to seam, wherever the projection is centred
    if let Projection::Centred { base, .. } = p
        && c - a >= 360.0
    {
        return projected_bbox(base.projection(), lonlat);
    }
    let mut bb = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for i in 0..=16 {
        for j in 0..=16 {
            let lon = a + (c - a) * i as f64 / 16.0;
            let lat = b + (d - b) * j as f64 / 16.0;
            if i != 0 && i != 16 && j != 0 && j != 16 {
                continue;
            }
            let (x, y) = p.forward(lon, lat);
            bb[0] = bb[0].min(x);
            bb[1] = bb[1].min(y);
            bb[2] = bb[2].max(x);
            bb[3] = bb[3].max(y);
        }
    }
    bb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_name_reads_back_every_name_in_reports() {
        let all = Projection::ALL
            .into_iter()
            .chain(Projection::CONICS)
            .chain(Projection::PLOTLY_CONICS)
            .chain(Projection::SOUTH_ASIA_CONICS)
            .chain(Projection::PACIFIC)
            .chain(Projection::CHINA_CENTRED)
            .chain([Projection::Centred {
                base: World::Miller,
                lon0: -30,
            }]);
        for p in all {
            assert_eq!(Projection::from_name(&p.name()), Some(p), "{}", p.name());
        }
        // render_map's short forms
        assert_eq!(
            Projection::from_name("albers"),
            Some(Projection::ALBERS_CHINA)
        );
        assert_eq!(
            Projection::from_name("lambert_30_62_105"),
            Some(Projection::Lambert {
                p1: 30,
                p2: 62,
                lon0: 105
            })
        );
        for bad in [
            "",
            "mercator",
            "albers_25",
            "albers_25_47_x",
            "robinson_150",
            "x_150e",
        ] {
            assert_eq!(Projection::from_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn centred_projection_is_its_base_moved_to_the_central_meridian() {
        let p = Projection::Centred {
            base: World::EqualEarth,
            lon0: 150,
        };
        assert_eq!(
            p.forward(150.0, 30.0),
            Projection::EqualEarth.forward(0.0, 30.0)
        );
        assert_eq!(
            p.forward(105.0, 30.0),
            Projection::EqualEarth.forward(-45.0, 30.0)
        );
        // across the seam (30W) the map wraps: 31W is at its right edge
        assert_eq!(
            p.forward(-31.0, 0.0),
            Projection::EqualEarth.forward(179.0, 0.0)
        );
        assert_eq!(p.name(), "equal_earth_150e");
        let west = Projection::Centred {
            base: World::Miller,
            lon0: -30,
        };
        assert_eq!(west.name(), "miller_30w");
    }

    #[test]
    fn relative_longitude_keeps_the_seam_on_the_side_it_was_cut() {
        assert_eq!(relative_lon(-30.0, 150.0), -180.0);
        assert_eq!(relative_lon(330.0, 150.0), 180.0);
        assert_eq!(relative_lon(-31.0, 150.0), 179.0);
        assert_eq!(relative_lon(180.0, 0.0), 180.0);
        assert_eq!(relative_lon(-180.0, 0.0), -180.0);
        assert_eq!(relative_lon(100.0, -150.0), -110.0);
    }
}
