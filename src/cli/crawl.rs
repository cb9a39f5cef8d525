//! `mapsweep crawl`: crawl (and render) without sealing anything, printing one JSON line per page
//! and a summary. A dev and diagnosis tool: what would `sweep` see on this site?

use crate::ExitStatus;
use crate::capture::{RenderPlan, Renderer};
use crate::cli::Settings;
use crate::crawl::{CrawlOptions, Crawler};
use anyhow::Context;
use clap::{Args, ValueEnum};
use url::Url;

/// Output format of `crawl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrawlFormat {
    /// One JSON object per page (bodies left out, hashes kept), then `{"summary": ...}`.
    Json,
    /// One line per page: status, URL, candidates, errors.
    Text,
}

/// Crawl sites and print what was found, without sealing evidence.
#[derive(Debug, Args)]
pub struct CrawlArgs {
    #[command(flatten)]
    pub options: CrawlOptions,
    /// Output format
    #[arg(long, value_enum, default_value = "json")]
    pub format: CrawlFormat,
    /// Seed URLs (http or https)
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
}

pub async fn run(args: CrawlArgs, settings: &Settings) -> anyhow::Result<ExitStatus> {
    let crawl = CrawlOptions::merge(&args.options, &settings.config.crawl);
    let mut seeds = Vec::new();
    for u in &args.urls {
        seeds.push(Url::parse(u).with_context(|| format!("seed URL {u:?} is not a URL"))?);
    }
    let plan = RenderPlan::decide(&crawl)?;
    if let RenderPlan::MissingChromium { note } = &plan {
        eprintln!("mapsweep: warning: {note}");
    }
    let renderer = Renderer::launch_for_plan(&plan, &crawl).await?;
    let crawler = Crawler::new(crawl, plan, renderer)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<crate::crawl::PageResult>(16);
    let format = args.format;
    // A closed stdout (e.g. `| head`) ends the printer; the dropped receiver then stops the crawl.
    let printer = tokio::spawn(async move {
        use std::io::Write;
        while let Some(page) = rx.recv().await {
            let line = match format {
                CrawlFormat::Json => match serde_json::to_string(&page) {
                    Ok(line) => line,
                    Err(e) => {
                        eprintln!("mapsweep: cannot print page {}: {e}", page.url);
                        continue;
                    }
                },
                CrawlFormat::Text => {
                    let status = page
                        .fetch
                        .status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "---".into());
                    let taken = page
                        .candidates
                        .iter()
                        .filter(|c| c.bytes.is_some() && c.error.is_none())
                        .count();
                    let errors: Vec<String> =
                        page.errors().iter().map(|e| e.kind.to_string()).collect();
                    format!(
                        "{status} d{} {} candidates={taken} errors=[{}]",
                        page.depth,
                        page.url,
                        errors.join(",")
                    )
                }
            };
            if writeln!(std::io::stdout().lock(), "{line}").is_err() {
                break;
            }
        }
    });
    let summary = crawler.run(&seeds, None, &tx).await?;
    drop(tx);
    printer.await.context("output task failed")?;
    let text = match format {
        CrawlFormat::Json => serde_json::json!({ "summary": summary }).to_string(),
        CrawlFormat::Text => serde_json::to_string_pretty(&summary)?,
    };
    // Nothing to do when stdout is already closed.
    let _ = std::io::Write::write_all(
        &mut std::io::stdout().lock(),
        format!("{text}\n").as_bytes(),
    );
    Ok(ExitStatus::Clean)
}
