//! The configuration: one type, read from `mapsweep.toml` and overridden by the command line.
//!
//! Rules: every section denies unknown fields, so a typo in the file is an error naming the key;
//! every field has a default so an empty file (or none) works; command-line flags that share a
//! name with a field override it (see [`crate::cli::GlobalArgs`]). The committed
//! `mapsweep.example.toml` documents every key and is parsed by a test.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Errors reading the configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
}

/// The whole configuration (`mapsweep.toml`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where evidence, blobs, keys and the SQLite database live.
    pub data_dir: Option<PathBuf>,
    /// A database URL (`sqlite://...` or `postgres://...`); default `<data_dir>/mapsweep.db`.
    pub database_url: Option<String>,
    /// The person operating this installation, recorded in every capture.
    pub operator: Option<String>,
    /// Evidence sealing options.
    pub evidence: EvidenceConfig,
    /// Scheduling of watched sites and campaigns (`mapsweep serve`).
    pub schedule: ScheduleConfig,
    /// Notifications about new violations.
    pub notify: NotifyConfig,
    /// Crawl and render options (`[crawl]`); the same struct is flattened into the CLI.
    pub crawl: crate::crawl::CrawlOptions,
}

/// `[schedule]`: how the daemon schedules watched sites and campaigns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// IANA time zone for cron schedules, campaign windows given without an offset, and
    /// display. Times are always stored in UTC.
    pub timezone: String,
    /// Most sweeps running at once, over all sites.
    pub global_concurrency: usize,
    /// Most sweeps running at once against one host.
    pub per_host_concurrency: usize,
    /// Longest the daemon sleeps before looking at the database again (e.g. `30s`, `1m`).
    pub poll_interval: String,
    /// On shutdown, how long in-flight sweeps get to seal what they captured before they are
    /// dropped (e.g. `30s`).
    pub shutdown_grace: String,
    /// Longest one sweep may run before it is stopped and recorded as failed (`6h`; `none`
    /// for no limit).
    pub max_run_time: String,
}
impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            timezone: "Asia/Shanghai".to_string(),
            global_concurrency: 4,
            per_host_concurrency: 1,
            poll_interval: "30s".to_string(),
            shutdown_grace: "30s".to_string(),
            max_run_time: "6h".to_string(),
        }
    }
}
/// `[notify]`: the optional webhook for new violations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// URL that receives a JSON POST for each new violation; unset means no webhook.
    pub webhook_url: Option<String>,
    /// Retries after a failed delivery (connection error, 429 or 5xx), with exponential backoff.
    pub retries: u32,
    /// Delay before the first retry; doubled for each further one (e.g. `1s`).
    pub initial_backoff: String,
    /// Notifications waiting to be sent; when full, new ones are dropped and logged so crawls
    /// never wait for the webhook.
    pub queue_size: usize,
}
impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            webhook_url: None,
            retries: 5,
            initial_backoff: "1s".to_string(),
            queue_size: 1000,
        }
    }
}

/// `[evidence]`: how captures are sealed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EvidenceConfig {
    /// RFC 3161 time-stamp authority URL; each signed tree head gets a token when set.
    pub tsa_url: Option<String>,
    /// Seconds a writer waits for another process holding the data dir's write lock before it
    /// gives up with a clear error (default 60).
    pub lock_timeout_secs: Option<u64>,
}

impl Config {
    /// Reads a config file. A missing file at the default location is not an error (see
    /// [`Config::load_default`]); a file named explicitly must exist.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads `./mapsweep.toml` when it exists, else the defaults.
    pub fn load_default() -> Result<Self, ConfigError> {
        let path = Path::new("mapsweep.toml");
        if path.exists() {
            Self::load(path)
        } else {
            Ok(Self::default())
        }
    }
}
