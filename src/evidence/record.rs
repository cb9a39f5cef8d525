//! Sealed record types: the versioned, public on-disk contracts of the evidence log.
//!
//! Every log record is a canonical JSON object with at least `format`, `id` (UUIDv7), `seq`
//! (0-based position in the log), `prev_record_hash` (SHA-256 hex of the previous record's
//! canonical bytes; 64 zeros for seq 0) and `sealed_at`. The rest depends on `format`;
//! [`CAPTURE_FORMAT`] is the first. A format string is never reused for a different shape:
//! a new shape gets `/2`. Records are never rewritten once sealed.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Format of capture records.
pub const CAPTURE_FORMAT: &str = "mapsweep.capture/1";
/// Format of signed tree heads.
pub const TREE_HEAD_FORMAT: &str = "mapsweep.tree-head/1";
/// Format of review records (written by `crate::case::review`).
pub const REVIEW_FORMAT: &str = "mapsweep.review/1";
/// Format of case-event records (written by `crate::case`).
pub const CASE_EVENT_FORMAT: &str = "mapsweep.case-event/1";
/// Record formats this build can read and verify.
pub const KNOWN_RECORD_FORMATS: &[&str] = &[CAPTURE_FORMAT, REVIEW_FORMAT, CASE_EVENT_FORMAT];
/// `prev_record_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an artifact is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ArtifactRole {
    Html,
    Dom,
    Screenshot,
    ElementScreenshot,
    MapCandidate,
    Resource,
    Overlay,
    NetworkLog,
    /// Any other role, kebab-case by convention.
    Other(String),
}

impl ArtifactRole {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Html => "html",
            Self::Dom => "dom",
            Self::Screenshot => "screenshot",
            Self::ElementScreenshot => "element-screenshot",
            Self::MapCandidate => "map-candidate",
            Self::Resource => "resource",
            Self::Overlay => "overlay",
            Self::NetworkLog => "network-log",
            Self::Other(s) => s,
        }
    }
}

impl From<&str> for ArtifactRole {
    fn from(s: &str) -> Self {
        match s {
            "html" => Self::Html,
            "dom" => Self::Dom,
            "screenshot" => Self::Screenshot,
            "element-screenshot" => Self::ElementScreenshot,
            "map-candidate" => Self::MapCandidate,
            "resource" => Self::Resource,
            "overlay" => Self::Overlay,
            "network-log" => Self::NetworkLog,
            other => Self::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for ArtifactRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ArtifactRole {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ArtifactRole {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from(s.as_str()))
    }
}

/// One artifact of a capture, as sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRef {
    pub role: ArtifactRole,
    pub source_url: Option<String>,
    pub media_type: String,
    pub size: u64,
    pub blake3: String,
    pub sha256: String,
}

/// One HTTP hop of a redirect chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectHop {
    pub url: String,
    pub status: u16,
    /// The `Location` header, as sent.
    pub location: Option<String>,
}

/// One response header (order and repeats kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    /// The value; bytes that are not UTF-8 are replaced (U+FFFD) and `lossy` is set.
    pub value: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lossy: bool,
}

/// How a page was captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureMethod {
    /// `static` (plain HTTP fetch) or `rendered` (a browser).
    pub kind: String,
    pub browser_name: Option<String>,
    pub browser_version: Option<String>,
    pub user_agent: Option<String>,
}

impl CaptureMethod {
    /// A static HTTP fetch with this user agent.
    pub fn static_fetch(user_agent: &str) -> Self {
        Self {
            kind: "static".into(),
            browser_name: None,
            browser_version: None,
            user_agent: Some(user_agent.to_string()),
        }
    }
}

/// The environment a record was sealed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// `mapsweep::TOOL_VERSION`: crate version + git commit.
    pub tool_version: String,
    /// OS name, distribution and kernel, e.g. `linux Debian GNU/Linux 13 (trixie) 6.12.0`.
    pub os: String,
    pub arch: String,
    pub host_name: String,
    pub operator: Option<String>,
}

impl Environment {
    /// Describes this machine.
    /// This process's environment. The OS and host name are read once per process (three
    /// file reads that every capture would otherwise repeat on the sealing path).
    pub fn current(operator: Option<String>) -> Self {
        static SYSTEM: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
        let (os, host_name) = SYSTEM.get_or_init(|| {
            let read = |p: &str| {
                std::fs::read_to_string(p)
                    .ok()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            };
            let distro = read("/etc/os-release").and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            });
            let kernel = read("/proc/sys/kernel/osrelease");
            let os = [Some(std::env::consts::OS.to_string()), distro, kernel]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let host_name = read("/proc/sys/kernel/hostname")
                .or_else(|| read("/etc/hostname"))
                .or_else(|| std::env::var("HOSTNAME").ok())
                .unwrap_or_else(|| "unknown".into());
            (os, host_name)
        });
        let (os, host_name) = (os.clone(), host_name.clone());
        Self {
            tool_version: crate::TOOL_VERSION.to_string(),
            os,
            arch: std::env::consts::ARCH.to_string(),
            host_name,
            operator,
        }
    }
}

/// What the caller knows about a capture when it starts (fill the rest with the builder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureMeta {
    pub requested_url: String,
    pub final_url: Option<String>,
    pub redirect_chain: Vec<RedirectHop>,
    pub status: Option<u16>,
    pub headers: Vec<Header>,
    pub remote_addr: Option<String>,
    pub method: CaptureMethod,
    /// Overrides the store's campaign when set.
    pub campaign: Option<String>,
    /// Robots policy applied, e.g. `obeyed`, `ignored by operator decision`.
    pub robots: Option<String>,
    /// Free notes, e.g. "page altered to keep WebGL drawing buffer".
    pub notes: Vec<String>,
    pub started_at: jiff::Timestamp,
}

impl CaptureMeta {
    /// A capture of `url` starting now, by the given method.
    pub fn new(url: &str, method: CaptureMethod) -> Self {
        Self {
            requested_url: url.to_string(),
            final_url: None,
            redirect_chain: Vec::new(),
            status: None,
            headers: Vec::new(),
            remote_addr: None,
            method,
            campaign: None,
            robots: None,
            notes: Vec::new(),
            started_at: jiff::Timestamp::now(),
        }
    }
}

/// `mapsweep.capture/1`: the sealed manifest of one capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureManifest {
    pub format: String,
    pub id: Uuid,
    pub seq: u64,
    pub prev_record_hash: String,
    pub sealed_at: String,
    pub requested_url: String,
    pub final_url: Option<String>,
    pub redirect_chain: Vec<RedirectHop>,
    pub status: Option<u16>,
    pub headers: Vec<Header>,
    pub remote_addr: Option<String>,
    /// RFC 3339 UTC with milliseconds.
    pub started_at: String,
    pub ended_at: String,
    pub method: CaptureMethod,
    pub environment: Environment,
    pub campaign: Option<String>,
    pub robots: Option<String>,
    pub notes: Vec<String>,
    pub artifacts: Vec<ArtifactRef>,
}

/// RFC 3339 UTC with exactly three fractional digits.
pub fn rfc3339_ms(ts: jiff::Timestamp) -> String {
    let ms = ts.as_millisecond();
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => format!("{t:.3}"),
        Err(_) => format!("{ts:.3}"),
    }
}

/// The parsed body of a sealed record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordBody {
    Capture(Box<CaptureManifest>),
    /// A record of a format another module owns (reviews, case events); that module parses it.
    Other(Box<serde_json::Value>),
}

/// A record as sealed in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRecord {
    pub seq: u64,
    pub id: Uuid,
    pub format: String,
    /// SHA-256 hex of `canonical`.
    pub record_hash: String,
    /// RFC 9162 leaf hash hex of `canonical`.
    pub leaf_hash: String,
    pub prev_record_hash: String,
    /// The canonical JSON exactly as hashed.
    pub canonical: String,
    pub body: RecordBody,
}

impl SealedRecord {
    /// The capture manifest, when this is a capture.
    pub fn capture(&self) -> Option<&CaptureManifest> {
        match &self.body {
            RecordBody::Capture(c) => Some(c),
            RecordBody::Other(_) => None,
        }
    }
}

/// Identifier of a record (UUIDv7).
pub type CaptureId = Uuid;
