//! Renders a reference map to PNG (and SVG): a quick way to make test images and demo pictures.
//!
//! usage: cargo run --example render_map -- OUT.png [world|world_small|world_900|world_aspect_W|globe_aspect_W|bbox_LON0_LAT0_LON1_LAT1_W|china|china_scs|south_asia|asia] [projection] [style] [violations...]
//! world_aspect_W: the world W px wide at the projection's own aspect (as chart libraries draw it)
//! globe_aspect_W: the same with the whole sphere, Antarctica included (d3's fitSize of the sphere)
//! asia: 45E-150E, 11S-70N (Asia as Highcharts draws it), 900 px wide at the projection's own aspect
//! bbox_LON0_LAT0_LON1_LAT1_W: that extent, W px wide at the projection's own aspect
//! projection: plate_carree web_mercator miller natural_earth1 equal_earth robinson winkel_tripel albers lambert
//! style: highlight uniform outline dark choropleth
//! projection also: albers_P1_P2_LON0 / lambert_P1_P2_LON0 (e.g. albers_25_47_110), and a world
//! projection centred on LON0 degrees east as NAME_LON0e (e.g. natural_earth1_150e)
//! switches: zangnan aksai_chin taiwan no_dashes inset inset_no_dashes alone (China without its neighbours)
//! asia_only (the countries of Asia alone)
use mapsweep::reference::Reference;
use mapsweep::reference::project::{Projection, World};
use mapsweep::reference::render::{RenderSpec, Style, render_png, render_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .first()
        .ok_or("usage: render_map OUT.png [view] [projection] [style] [switches...]")?;
    let view = args.get(1).map(String::as_str).unwrap_or("world");
    let proj = match args.get(2).map(String::as_str).unwrap_or("plate_carree") {
        "web_mercator" => Projection::WebMercator,
        "miller" => Projection::Miller,
        "natural_earth1" => Projection::NaturalEarth1,
        "equal_earth" => Projection::EqualEarth,
        "robinson" => Projection::Robinson,
        "winkel_tripel" => Projection::WinkelTripel,
        "mollweide" => Projection::Mollweide,
        "albers" => Projection::ALBERS_CHINA,
        "lambert" => Projection::LAMBERT_CHINA,
        other => conic(other)
            .or_else(|| centred(other))
            .unwrap_or(Projection::PlateCarree),
    };
    let style_name = args.get(3).map(String::as_str).unwrap_or("highlight");
    let style = Style::named()
        .into_iter()
        .find(|(name, _)| *name == style_name)
        .map_or_else(Style::highlight, |(_, s)| s);
    let (bbox, w, h) = match view {
        "china" => ([73.0, 17.5, 136.0, 54.0], 900, 700),
        "china_scs" => ([73.0, 3.0, 136.0, 54.0], 900, 700),
        "south_asia" => ([66.0, 6.0, 100.0, 37.0], 900, 820),
        "world_small" => ([-180.0, -58.0, 180.0, 83.7], 640, 330),
        "world_900" => ([-180.0, -58.0, 180.0, 83.7], 900, 360),
        "asia" => ([45.0, -11.0, 150.0, 70.0], 900, 0),
        _ => ([-180.0, -58.0, 180.0, 83.7], 1200, 620),
    };
    // "world_aspect_W": a world map W px wide at the projection's own aspect
    let mut spec = match view.strip_prefix("world_aspect_") {
        Some(wpx) => RenderSpec::at_aspect(proj, bbox, wpx.parse()?, style),
        None if view.starts_with("globe_aspect_") => {
            let wpx = view.trim_start_matches("globe_aspect_").parse()?;
            RenderSpec::at_aspect(proj, [-180.0, -90.0, 180.0, 90.0], wpx, style)
        }
        None if view.starts_with("bbox_") => {
            let v: Vec<f64> = view[5..]
                .split('_')
                .map(str::parse)
                .collect::<Result<_, _>>()?;
            let [lon0, lat0, lon1, lat1, wpx] = v[..] else {
                return Err(format!("{view}: want bbox_LON0_LAT0_LON1_LAT1_W").into());
            };
            RenderSpec::at_aspect(proj, [lon0, lat0, lon1, lat1], wpx as u32, style)
        }
        None if h == 0 => RenderSpec::at_aspect(proj, bbox, w, style),
        None => RenderSpec::new(proj, bbox, w, h, style),
    };
    for s in args.iter().skip(4) {
        match s.as_str() {
            "zangnan" => spec.zangnan_as_india = true,
            "aksai_chin" => spec.aksai_chin_as_india = true,
            "taiwan" => spec.taiwan_separate = true,
            "no_dashes" => spec.dashes = false,
            "inset" => spec.inset = true,
            "inset_no_dashes" => {
                spec.inset = true;
                spec.inset_dashes = false;
            }
            "alone" => spec.china_alone = true,
            "asia_only" => spec.countries_only = Some(&mapsweep::reference::ASIA_COUNTRIES),
            other => return Err(format!("unknown switch {other}").into()),
        }
    }
    let r = Reference::get()?;
    std::fs::write(out, render_png(r, &spec))?;
    std::fs::write(format!("{out}.svg"), render_svg(r, &spec))?;
    Ok(())
}

/// `albers_25_47_110` or `lambert_25_47_105`: a conic with the given parallels and meridian.
fn conic(name: &str) -> Option<Projection> {
    let mut it = name.split('_');
    let kind = it.next()?;
    let p1: i8 = it.next()?.parse().ok()?;
    let p2: i8 = it.next()?.parse().ok()?;
    let lon0: i16 = it.next().map_or(Some(105), |s| s.parse().ok())?;
    match kind {
        "albers" => Some(Projection::Albers { p1, p2, lon0 }),
        "lambert" => Some(Projection::Lambert { p1, p2, lon0 }),
        _ => None,
    }
}

/// `natural_earth1_150e`: a world projection centred on the given meridian.
fn centred(name: &str) -> Option<Projection> {
    let (base, lon0) = name.strip_suffix('e')?.rsplit_once('_')?;
    let lon0: i16 = lon0.parse().ok()?;
    let base = World::ALL
        .into_iter()
        .find(|w| w.projection().name() == base)?;
    Some(Projection::Centred { base, lon0 })
}
