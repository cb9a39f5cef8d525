//! `mapsweep demo`: the whole job on a bundled local site, end to end.
//!
//! Rules: the demo touches no network beyond 127.0.0.1; it writes only into its own fresh data
//! dir (a previous demo dir is replaced only when it carries the demo's marker file) and the
//! output dir; it uses the same sweep, case and export code as real work, nothing demo-only
//! beyond the site itself.

pub mod site;

use std::path::{Path, PathBuf};

/// The file that marks a data dir as the demo's own (so a rerun may replace it).
pub const MARKER: &str = ".mapsweep-demo";

/// Errors preparing the demo's directories.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "{path} exists and is not a demo data dir (no {MARKER} file); pass --out elsewhere or remove it"
    )]
    NotADemoDir { path: PathBuf },
    #[error("cannot prepare {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Makes `dir` an empty demo data dir: creates it, or replaces a previous demo's.
pub fn fresh_data_dir(dir: &Path) -> Result<(), DemoError> {
    let io = |source| DemoError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if dir.exists() {
        let empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(DemoError::NotADemoDir {
                path: dir.to_path_buf(),
            });
        }
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(
        dir.join(MARKER),
        "This data dir was made by `mapsweep demo`; a rerun replaces it.\n",
    )
    .map_err(io)?;
    Ok(())
}
