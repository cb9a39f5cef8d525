//! mapsweep: finds problem maps on the web and turns each into evidence a case can stand on.
//!
//! The library holds all the logic; `src/main.rs` only parses the command line, calls
//! [`cli::run`] and maps the outcome to an [`ExitStatus`]. The library never prints: it returns
//! typed values and errors and logs through `tracing`. Module map:
//!
//! - [`config`]: the one configuration type shared by the command line and `mapsweep.toml`.
//! - [`cli`]: command definitions and dispatch (the only place that writes to stdout).
//! - [`evidence`]: blobs, sealed capture records, the append-only log, signed tree heads,
//!   trusted time and `verify`; every other module writes evidence through it.
//! - [`store`]: the database pool (SQLite by default, PostgreSQL by URL) and migrations.
//! - [`schedule`]: watched sites, campaigns, the daemon loop, webhook, change detection.
//! - [`site`]: an in-process static web site on 127.0.0.1 for the demo and tests.
//! - [`crawl`]: the polite breadth-first crawler and static map-candidate extraction.
//! - [`capture`]: rendered capture of pages in headless Chromium.
//! - [`reference`]: the embedded standard boundary references, projections and a map renderer.
//! - [`check`]: the map checker: register an image to the reference, probe each zone, report.
//! - [`sweep`]: crawl, seal every page with its maps, check each map, index the findings.
//! - [`findings`]: the index of checked maps (one row per map, over sealed captures).
//! - [`demo`]: the bundled demo site behind `mapsweep demo`.
//! - [`case`]: reviews, cases, the case bundle export (report, proofs) and its offline verifier.

pub mod capture;
pub mod case;
pub mod check;
pub mod cli;
pub mod config;
pub mod crawl;
pub mod demo;
pub mod evidence;
pub mod findings;
pub mod reference;
pub mod schedule;
pub mod site;
pub mod store;
pub mod sweep;

/// How a mapsweep run ended, as the process exit code (lychee/ripgrep style).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// Everything ran and nothing was flagged (or everything verified).
    Clean = 0,
    /// The run worked and found violations (or `verify` found a problem).
    Violations = 1,
    /// Something failed: bad input, I/O, database, network.
    Error = 2,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitCode::from(s as u8)
    }
}

/// Keeps the memory a finished map check frees in the process, for the next check to reuse.
///
/// A check allocates a few large buffers per image (pixels, edges, distance transform,
/// support tables, zone masks: 20-30 MB for a 1000x600 map). With glibc's defaults these go
/// back to the kernel when freed (an `mmap` per buffer, or the heap trimmed), and every check
/// then faults its pages in again: an eighth of a check's time. From here on, blocks up to
/// 32 MiB come from the heap and up to 128 MiB of free heap is kept. Peak memory is the same;
/// the process holds on to it between checks. Call it once, first thing in `main`, before
/// any thread starts. Elsewhere than glibc it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before other threads exist
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

/// Version string recorded in evidence: crate version plus the git commit it was built from.
pub const TOOL_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("MAPSWEEP_GIT_COMMIT"));
