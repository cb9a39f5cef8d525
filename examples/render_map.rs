//! Renders a reference map to PNG (and SVG): a quick way to make test images and demo pictures.
//!
//! usage: cargo run --example render_map -- OUT.png [world|world_small|world_900|world_aspect_W|globe_aspect_W|bbox_LON0_LAT0_LON1_LAT1_W|china|china_scs|south_asia|asia] [projection] [style] [violations...]
//! world_aspect_W: the world W px wide at the projection's own aspect (as chart libraries draw it)
//! globe_aspect_W: the same with the whole sphere, Antarctica included (d3's fitSize of the sphere)
//! asia: 45E-150E, 11S-70N (Asia as Highcharts draws it), 900 px wide at the projection's own aspect
//! bbox_LON0_LAT0_LON1_LAT1_W: that extent, W px wide at the projection's own aspect
//! projection: plate_carree web_mercator miller natural_earth1 equal_earth robinson winkel_tripel albers lambert
//! style: highlight uniform outline dark choropleth
//! projection also: any name a report gives (`Projection::from_name`): albers_P1_P2[_LON0e] /
//! lambert_P1_P2[_LON0e] (the `e` may be left out: albers_25_47_110), and a world projection
//! centred on LON0 degrees east as NAME_LON0e (e.g. natural_earth1_150e)
//! switches: zangnan aksai_chin taiwan no_dashes inset inset_no_dashes alone (China without its neighbours)
//! asia_only (the countries of Asia alone); see `RenderSpec::switch_on`
//! Views, projections, styles and switches are the library's (`View::named` and the rest), so the
//! comparison set and the tests draw the same maps; an unknown name is an error.
use mapsweep::reference::Reference;
use mapsweep::reference::project::Projection;
use mapsweep::reference::render::{RenderSpec, Style, View, render_png, render_svg};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .first()
        .ok_or("usage: render_map OUT.png [view] [projection] [style] [switches...]")?;
    let view_name = args.get(1).map(String::as_str).unwrap_or("world");
    let view = View::named(view_name).ok_or_else(|| format!("unknown view {view_name}"))?;
    let proj_name = args.get(2).map(String::as_str).unwrap_or("plate_carree");
    let proj = Projection::from_name(proj_name)
        .ok_or_else(|| format!("unknown projection {proj_name}"))?;
    let style_name = args.get(3).map(String::as_str).unwrap_or("highlight");
    let (_, style) = Style::named()
        .into_iter()
        .find(|(name, _)| *name == style_name)
        .ok_or_else(|| format!("unknown style {style_name}"))?;
    let mut spec = view.spec(proj, style);
    for s in args.iter().skip(4) {
        if !spec.switch_on(s) {
            let known = RenderSpec::SWITCHES.join(" ");
            return Err(format!("unknown switch {s} (known: {known})").into());
        }
    }
    let r = Reference::get()?;
    std::fs::write(out, render_png(r, &spec))?;
    std::fs::write(format!("{out}.svg"), render_svg(r, &spec))?;
    Ok(())
}
