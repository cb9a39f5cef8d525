//! `mapsweep check`: check image files for problem maps, one JSON object (or text line) per
//! input, in input order; images are checked in parallel on all cores.
use crate::ExitStatus;
use crate::check::{CheckReport, Checker, Verdict};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Arguments of `mapsweep check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write an overlay PNG per input into this directory
    #[arg(long)]
    pub overlay_dir: Option<PathBuf>,
    /// Image files (png, jpeg, gif, webp, bmp, svg)
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

enum Outcome {
    Report(Box<CheckReport>, Option<String>, u128),
    Error(String),
}

fn check_one(ck: &Checker, path: &PathBuf, idx: usize, overlay_dir: Option<&PathBuf>) -> Outcome {
    let t = std::time::Instant::now();
    let name = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Outcome::Error(format!("{name}: cannot read: {e}")),
    };
    let mut report = match ck.check_bytes_opts(&bytes, &name, overlay_dir.is_some()) {
        Ok(r) => r,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let mut overlay = None;
    if let (Some(dir), Some(png)) = (overlay_dir, report.overlay_png.take()) {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let out = dir.join(format!("{idx:04}-{stem}.overlay.png"));
        match std::fs::write(&out, png) {
            Ok(()) => overlay = Some(out.display().to_string()),
            Err(e) => {
                return Outcome::Error(format!(
                    "{name}: cannot write overlay {}: {e}",
                    out.display()
                ));
            }
        }
    }
    Outcome::Report(Box::new(report), overlay, t.elapsed().as_millis())
}

/// Runs the command.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitStatus> {
    let ck = Checker::new()?;
    if let Some(d) = &args.overlay_dir {
        std::fs::create_dir_all(d)?;
    }
    let n = args.files.len();
    let results: Vec<std::sync::Mutex<Option<Outcome>>> =
        (0..n).map(|_| std::sync::Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(n.max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let o = check_one(&ck, &args.files[i], i, args.overlay_dir.as_ref());
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(o);
                    }
                }
            });
        }
    });
    let mut status = ExitStatus::Clean;
    let mut out = std::io::stdout().lock();
    let mut any_err = false;
    for (i, slot) in results.into_iter().enumerate() {
        let input = args.files[i].display().to_string();
        let o = slot
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| Outcome::Error(format!("{input}: check did not run")));
        match o {
            Outcome::Error(e) => {
                any_err = true;
                match args.format {
                    Format::Json => {
                        writeln!(out, "{}", serde_json::json!({"input": input, "error": e}))?
                    }
                    Format::Text => writeln!(out, "{input}: error: {e}")?,
                }
            }
            Outcome::Report(r, overlay, ms) => {
                if r.verdict == Verdict::Violation {
                    status = ExitStatus::Violations;
                }
                match args.format {
                    Format::Json => {
                        let v = serde_json::json!({
                            "input": input,
                            "verdict": r.verdict,
                            "map": r.map,
                            "findings": r.findings,
                            "overlay": overlay,
                            "elapsed_ms": ms,
                        });
                        writeln!(out, "{v}")?;
                    }
                    Format::Text => {
                        let v = serde_json::to_value(r.verdict)?;
                        writeln!(
                            out,
                            "{input}: {} (region {}, projection {}, fit {:.2}, {ms} ms)",
                            v.as_str().unwrap_or(""),
                            r.map.region.as_deref().unwrap_or("-"),
                            r.map.projection.as_deref().unwrap_or("-"),
                            r.map.fit
                        )?;
                        for f in &r.findings {
                            let s = serde_json::to_value(f.status)?;
                            writeln!(
                                out,
                                "  {:16} {:10} {:.2}  {}",
                                f.rule,
                                s.as_str().unwrap_or(""),
                                f.confidence,
                                f.message
                            )?;
                        }
                        if let Some(o) = overlay {
                            writeln!(out, "  overlay: {o}")?;
                        }
                    }
                }
            }
        }
    }
    if any_err {
        status = ExitStatus::Error;
    }
    Ok(status)
}
