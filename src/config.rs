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
