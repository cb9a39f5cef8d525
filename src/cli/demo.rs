//! `mapsweep demo`: serve the bundled site, sweep it, flag its problem maps, open a case, export
//! and verify the case file, and tell the user what to open next.

use crate::ExitStatus;
use crate::case::bundle::verify_bundle;
use crate::case::export::{ExportOptions, export_case};
use crate::case::{NewCase, open_case};
use crate::check::Checker;
use crate::cli::Settings;
use crate::crawl::{CrawlOptions, RenderMode};
use crate::demo::{fresh_data_dir, site::demo_site};
use crate::reference::Reference;
use crate::site::SiteServer;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// `mapsweep demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the case file and reports go [default: ./evidence/demo-out]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep serving the demo site after the run (until Ctrl-C), to look at it in a browser
    #[arg(long)]
    pub keep_serving: bool,
}

pub async fn run(args: DemoArgs, settings: &Settings) -> anyhow::Result<ExitStatus> {
    let data_dir = settings.data_dir.join("demo");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("demo-out"));
    fresh_data_dir(&data_dir)?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut demo_settings = settings.clone();
    demo_settings.data_dir = data_dir.clone();
    demo_settings.config.database_url = None;

    let reference = Reference::get()?;
    let server = SiteServer::start(demo_site(reference)).await?;
    let seed = server.url("/");
    println!("demo site: {seed} (a made-up company, served on 127.0.0.1 only)");

    let chrome = crate::capture::find_chromium(None).ok();
    if chrome.is_none() {
        println!(
            "note: Chromium not found: the map drawn by a script and the PDF report are skipped (apt-get install chromium fonts-noto-cjk)"
        );
    }
    let cli_opts = CrawlOptions {
        render: Some(if chrome.is_some() {
            RenderMode::Auto
        } else {
            RenderMode::Never
        }),
        per_host_delay_ms: Some(0),
        ..CrawlOptions::default()
    };
    let crawl = CrawlOptions::merge(&cli_opts, &CrawlOptions::default());
    let store = crate::cli::sweep::open_or_init(&demo_settings).await?;
    let checker = Arc::new(Checker::new()?);
    let summary = crate::cli::sweep::run_sweep(
        store.clone(),
        checker,
        "demo".to_string(),
        vec![url::Url::parse(&seed)?],
        crawl,
        false,
        true,
    )
    .await?;
    crate::cli::sweep::print_summary(&summary);
    for f in &summary.flagged {
        if let Some(o) = &f.overlay_blake3 {
            println!(
                "overlay of {}: {}",
                f.finding_id,
                store.blob_path(o).display()
            );
        }
    }

    if summary.flagged.is_empty() {
        println!("no problem maps were flagged; nothing to export");
        server.stop().await;
        return Ok(ExitStatus::Clean);
    }
    let case = open_case(
        &store,
        &NewCase {
            title: "Demo: problem maps on a made-up company's site".to_string(),
            subject: Some("Donghai Example Trading Co., Ltd. (demo)".to_string()),
            officer: settings.config.operator.clone(),
            findings: summary
                .flagged
                .iter()
                .map(|f| f.finding_id.clone())
                .collect(),
        },
    )
    .await?;
    println!(
        "opened case {} with {} findings",
        case.case_id,
        case.findings.len()
    );
    let zip = out.join("demo-case.zip");
    let export = export_case(
        &store,
        &case.case_id,
        &ExportOptions {
            out: zip.clone(),
            force: true,
            include_dismissed: false,
            chrome: chrome.clone(),
            database_url: None,
            no_pdf: chrome.is_none(),
        },
    )
    .await;
    let mut status = ExitStatus::Clean;
    match export {
        Ok(rep) => {
            println!(
                "exported {} ({} files, {} bytes)",
                rep.out.display(),
                rep.files,
                rep.bytes
            );
            let z = zip.clone();
            let v = tokio::task::spawn_blocking(move || verify_bundle(&z)).await??;
            if v.is_clean() {
                println!(
                    "verified {}: every digest, inclusion proof and the signed tree head hold",
                    zip.display()
                );
            } else {
                status = ExitStatus::Error;
                for p in &v.problems {
                    println!("verify problem: {p:?}");
                }
            }
            extract_reports(&zip, &out)?;
        }
        Err(e) => {
            println!("export: {e}");
            status = ExitStatus::Error;
        }
    }
    println!();
    let pdf = if out.join("report.pdf").exists() {
        " (and report.pdf beside it)"
    } else {
        ""
    };
    println!(
        "Open {}{pdf} to see the case report, or unzip {} and run `sha256sum -c SHA256SUMS`.",
        out.join("report.html").display(),
        zip.display()
    );
    println!(
        "Check the evidence yourself: `mapsweep --data-dir {} verify` and `mapsweep verify {}`.",
        data_dir.display(),
        zip.display()
    );
    println!(
        "On your own sites: `mapsweep sweep --campaign NAME https://example.org/`, then `mapsweep findings`, `mapsweep case open`, `mapsweep export`."
    );
    if args.keep_serving {
        println!("serving the demo site at {seed} until Ctrl-C");
        let _ = tokio::signal::ctrl_c().await;
    }
    server.stop().await;
    Ok(status)
}

/// Copies report.html and report.pdf out of the bundle next to it, for a quick look.
fn extract_reports(zip: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    let f = std::fs::File::open(zip).with_context(|| format!("opening {}", zip.display()))?;
    let mut z = zip::ZipArchive::new(f).with_context(|| format!("reading {}", zip.display()))?;
    for name in ["report.html", "report.pdf"] {
        if let Ok(mut entry) = z.by_name(name) {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut buf)?;
            std::fs::write(out.join(name), buf)?;
        }
    }
    Ok(())
}
