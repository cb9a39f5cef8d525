//! Crawl options shared by the command line and the `[crawl]` section of `mapsweep.toml`.
//!
//! One struct, [`CrawlOptions`], derives both `clap::Args` and serde `Deserialize`; every field is
//! an `Option` so that "not given" is distinguishable from "given". [`CrawlOptions::merge`] lays
//! the command line over the file over the documented defaults and yields [`CrawlSettings`].

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// When pages are rendered in headless Chromium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderMode {
    /// Render when Chromium is present and the page has scripts (the default).
    #[default]
    Auto,
    /// Render every HTML page (fails when Chromium is missing).
    Always,
    /// Never render; static HTML only.
    Never,
}

impl std::fmt::Display for RenderMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RenderMode::Auto => "auto",
            RenderMode::Always => "always",
            RenderMode::Never => "never",
        })
    }
}

/// Crawl and render options (`[crawl]` in `mapsweep.toml`, or flags on `crawl`/`sweep`).
///
/// Defaults (see [`CrawlSettings::default`]): depth 2, max_pages 500, concurrency 8,
/// per_host_concurrency 2, per_host_delay_ms 200, timeout_secs 30, max_body_bytes 20 MiB,
/// retries 2, render auto, tabs 1, render_settle_ms 1500, min image 100x80.
#[derive(Debug, Clone, Default, PartialEq, Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrawlOptions {
    /// User-Agent sent with every request [default: "mapsweep/VERSION (+map-enforcement crawler)"]
    #[arg(long)]
    pub user_agent: Option<String>,
    /// How many links deep to follow from the seeds (seeds are depth 0) [default: 2]
    #[arg(long)]
    pub depth: Option<u32>,
    /// Stop after this many pages [default: 500]
    #[arg(long)]
    pub max_pages: Option<usize>,
    /// Pages fetched at the same time, all hosts together [default: 8]
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Requests in flight to one host at the same time [default: 2]
    #[arg(long)]
    pub per_host_concurrency: Option<usize>,
    /// Milliseconds between two request starts to the same host [default: 200]
    #[arg(long = "per-host-delay", value_name = "MS")]
    pub per_host_delay_ms: Option<u64>,
    /// Request timeout in seconds, body included [default: 30]
    #[arg(long = "timeout", value_name = "SECS")]
    pub timeout_secs: Option<u64>,
    /// Body size cap in bytes; longer bodies are cut and marked truncated [default: 20971520]
    #[arg(long)]
    pub max_body_bytes: Option<u64>,
    /// Retries on 429 and 5xx, with backoff, honouring Retry-After [default: 2]
    #[arg(long)]
    pub retries: Option<u32>,
    /// Render pages in headless Chromium: auto (pages with scripts), always, never [default: auto]
    #[arg(long, value_enum)]
    pub render: Option<RenderMode>,
    /// Also crawl this domain and its subdomains (repeatable)
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    #[serde(rename = "allow_domains")]
    pub allow_domain: Option<Vec<String>>,
    /// Do not fetch or honour robots.txt (recorded in every page result)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub ignore_robots: Option<bool>,
    /// Chromium executable [default: $CHROME, else /usr/lib/chromium/chromium, /usr/bin/chromium, chromium-browser, google-chrome]
    #[arg(long, value_name = "PATH")]
    pub chrome: Option<PathBuf>,
    /// Browser tabs rendering at the same time [default: 1]
    #[arg(long)]
    pub tabs: Option<usize>,
    /// Milliseconds to wait after load and network quiet, for chart animations [default: 1500]
    #[arg(long, value_name = "MS")]
    pub render_settle_ms: Option<u64>,
    /// Images narrower than this are icons, skipped and counted [default: 100] (file only)
    #[arg(skip)]
    pub min_image_width: Option<u32>,
    /// Images lower than this are icons, skipped and counted [default: 80] (file only)
    #[arg(skip)]
    pub min_image_height: Option<u32>,
}

/// The resolved crawl settings: every value decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrawlSettings {
    pub user_agent: String,
    pub depth: u32,
    pub max_pages: usize,
    pub concurrency: usize,
    pub per_host_concurrency: usize,
    pub per_host_delay: Duration,
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub retries: u32,
    pub render: RenderMode,
    pub allow_domains: Vec<String>,
    pub ignore_robots: bool,
    pub chrome: Option<PathBuf>,
    pub tabs: usize,
    pub render_settle: Duration,
    pub min_image_width: u32,
    pub min_image_height: u32,
    /// Longest Retry-After honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
    /// Longest URL accepted (characters); longer links become `invalid-url` errors.
    pub max_url_len: usize,
}

/// The default User-Agent: says what it is and which version.
pub fn default_user_agent() -> String {
    format!(
        "mapsweep/{} (+map-enforcement crawler)",
        env!("CARGO_PKG_VERSION")
    )
}

impl Default for CrawlSettings {
    fn default() -> Self {
        Self {
            user_agent: default_user_agent(),
            depth: 2,
            max_pages: 500,
            concurrency: 8,
            per_host_concurrency: 2,
            per_host_delay: Duration::from_millis(200),
            timeout: Duration::from_secs(30),
            max_body_bytes: 20 * 1024 * 1024,
            retries: 2,
            render: RenderMode::Auto,
            allow_domains: Vec::new(),
            ignore_robots: false,
            chrome: None,
            tabs: 1,
            render_settle: Duration::from_millis(1500),
            min_image_width: 100,
            min_image_height: 80,
            max_retry_after: Duration::from_secs(60),
            max_url_len: 2048,
        }
    }
}

impl CrawlOptions {
    /// Lays `cli` over `file` over the defaults. Zero concurrency values are raised to 1.
    pub fn merge(cli: &CrawlOptions, file: &CrawlOptions) -> CrawlSettings {
        let d = CrawlSettings::default();
        fn pick<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
            a.clone().or_else(|| b.clone())
        }
        let mut allow_domains = file.allow_domain.clone().unwrap_or_default();
        allow_domains.extend(cli.allow_domain.clone().unwrap_or_default());
        CrawlSettings {
            user_agent: pick(&cli.user_agent, &file.user_agent).unwrap_or(d.user_agent),
            depth: pick(&cli.depth, &file.depth).unwrap_or(d.depth),
            max_pages: pick(&cli.max_pages, &file.max_pages).unwrap_or(d.max_pages),
            concurrency: pick(&cli.concurrency, &file.concurrency)
                .unwrap_or(d.concurrency)
                .max(1),
            per_host_concurrency: pick(&cli.per_host_concurrency, &file.per_host_concurrency)
                .unwrap_or(d.per_host_concurrency)
                .max(1),
            per_host_delay: pick(&cli.per_host_delay_ms, &file.per_host_delay_ms)
                .map(Duration::from_millis)
                .unwrap_or(d.per_host_delay),
            timeout: pick(&cli.timeout_secs, &file.timeout_secs)
                .map(|s| Duration::from_secs(s.max(1)))
                .unwrap_or(d.timeout),
            max_body_bytes: pick(&cli.max_body_bytes, &file.max_body_bytes)
                .unwrap_or(d.max_body_bytes),
            retries: pick(&cli.retries, &file.retries).unwrap_or(d.retries),
            render: pick(&cli.render, &file.render).unwrap_or(d.render),
            allow_domains,
            ignore_robots: pick(&cli.ignore_robots, &file.ignore_robots).unwrap_or(false),
            chrome: pick(&cli.chrome, &file.chrome),
            tabs: pick(&cli.tabs, &file.tabs).unwrap_or(d.tabs).max(1),
            render_settle: pick(&cli.render_settle_ms, &file.render_settle_ms)
                .map(Duration::from_millis)
                .unwrap_or(d.render_settle),
            min_image_width: pick(&cli.min_image_width, &file.min_image_width)
                .unwrap_or(d.min_image_width),
            min_image_height: pick(&cli.min_image_height, &file.min_image_height)
                .unwrap_or(d.min_image_height),
            max_retry_after: d.max_retry_after,
            max_url_len: d.max_url_len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_crawl_section_matches_the_defaults() {
        let text = include_str!("../../mapsweep.example.toml");
        let config =
            crate::config::Config::parse(text, std::path::Path::new("mapsweep.example.toml"))
                .expect("mapsweep.example.toml parses");
        let from_file = CrawlOptions::merge(&CrawlOptions::default(), &config.crawl);
        assert_eq!(from_file, CrawlSettings::default());
    }
}
