//! The politeness-aware fetcher: one HTTP client, a global request limit, per-host limits and
//! delays, robots.txt, retries, manual redirects and a body cap.
//!
//! Rules kept: redirects are followed by hand (at most [`MAX_REDIRECTS`]) and every hop is
//! recorded (url, status, location); a URL seen twice in one chain is a `redirect-loop` error;
//! 429 and 5xx are retried with exponential backoff, honouring `Retry-After` up to a cap; the
//! body is read up to `max_body_bytes` and marked truncated beyond; robots.txt is honoured unless
//! `ignore_robots`, and the policy used is recorded on every fetch. A failure is never a Rust
//! error here: it is a [`CrawlError`] entry in the [`FetchRecord`], and the crawl goes on.

use super::options::CrawlSettings;
use super::robots::{Robots, RobotsSource};
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// Most redirects followed for one fetch.
pub const MAX_REDIRECTS: usize = 10;

/// What went wrong, as a stable kebab-case name (`dns`, `http-status`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    Dns,
    Connect,
    Timeout,
    Tls,
    ConnectionReset,
    BodyRead,
    HttpStatus,
    RedirectLoop,
    TooManyRedirects,
    BodyTooLarge,
    InvalidUrl,
    RobotsDenied,
    ImageTooLarge,
    ImageDecode,
    Render,
    Other,
}

impl ErrorKind {
    /// The kebab-case name used in records and summaries.
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::ConnectionReset => "connection-reset",
            ErrorKind::BodyRead => "body-read",
            ErrorKind::HttpStatus => "http-status",
            ErrorKind::RedirectLoop => "redirect-loop",
            ErrorKind::TooManyRedirects => "too-many-redirects",
            ErrorKind::BodyTooLarge => "body-too-large",
            ErrorKind::InvalidUrl => "invalid-url",
            ErrorKind::RobotsDenied => "robots-denied",
            ErrorKind::ImageTooLarge => "image-too-large",
            ErrorKind::ImageDecode => "image-decode",
            ErrorKind::Render => "render",
            ErrorKind::Other => "other",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error entry: what failed, on which URL, and the message. A result value, not a panic.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{kind} at {url}: {message}")]
pub struct CrawlError {
    pub kind: ErrorKind,
    pub url: String,
    pub message: String,
}

impl CrawlError {
    pub fn new(kind: ErrorKind, url: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            url: url.into(),
            message: message.into(),
        }
    }
}

/// One redirect hop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedirectHop {
    pub url: String,
    pub status: u16,
    pub location: String,
}

/// Everything recorded about one fetch except the body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FetchRecord {
    pub requested_url: Url,
    pub final_url: Url,
    pub redirects: Vec<RedirectHop>,
    pub status: Option<u16>,
    /// Response headers in the order received (names lower-case).
    pub headers: Vec<(String, String)>,
    /// The server's address (IP:port) as connected.
    pub remote_addr: Option<String>,
    pub started_at: jiff::Timestamp,
    pub finished_at: jiff::Timestamp,
    /// Requests sent for the final hop (1 + retries used).
    pub attempts: u32,
    pub body_len: usize,
    /// BLAKE3 of the body as received (hex), when there is a body.
    pub body_blake3: Option<String>,
    /// The body was cut at `max_body_bytes`.
    pub truncated: bool,
    /// Media type from Content-Type, lower-case, without parameters.
    pub media_type: Option<String>,
    /// Charset declared in Content-Type.
    pub declared_charset: Option<String>,
    /// The robots policy applied, e.g. `robots: honoured (allowed)` or `robots: ignored`.
    pub robots: String,
    pub error: Option<CrawlError>,
}

/// A fetch with its body.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub record: FetchRecord,
    pub body: Vec<u8>,
}

/// Errors building the fetcher.
#[derive(Debug, thiserror::Error)]
pub enum FetchSetupError {
    #[error("cannot build the HTTP client (user agent {user_agent:?}): {source}")]
    Client {
        user_agent: String,
        source: reqwest::Error,
    },
}

struct HostGate {
    sem: Arc<Semaphore>,
    next: tokio::sync::Mutex<Instant>,
    delay: Mutex<Duration>,
}

impl HostGate {
    async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.sem.clone().acquire_owned().await.ok()?;
        let delay = self.delay.lock().map(|d| *d).unwrap_or_default();
        let wait = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + delay;
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Some(permit)
    }
}

/// The fetcher shared by all crawl tasks.
pub struct Fetcher {
    client: reqwest::Client,
    settings: Arc<CrawlSettings>,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
    robots: Mutex<HashMap<String, Arc<OnceCell<Arc<Robots>>>>>,
}

/// The key for per-host limits: host and port.
pub fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Classifies a reqwest error into an [`ErrorKind`] by walking its source chain.
pub fn classify(e: &reqwest::Error) -> (ErrorKind, String) {
    let mut chain = Vec::new();
    let mut io_kind = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        chain.push(err.to_string());
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        cur = err.source();
    }
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    let kind = if e.is_timeout() || lower.contains("timed out") {
        ErrorKind::Timeout
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup")
        || lower.contains("name or service not known")
    {
        ErrorKind::Dns
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("corrupt message")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
    {
        ErrorKind::Tls
    } else if matches!(
        io_kind,
        Some(
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof
        )
    ) || lower.contains("connection reset")
        || lower.contains("connection closed before message completed")
    {
        ErrorKind::ConnectionReset
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_body() || e.is_decode() {
        ErrorKind::BodyRead
    } else {
        ErrorKind::Other
    };
    (kind, text)
}

fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let secs = (when.as_second() - now.as_second()).max(0);
    Some(Duration::from_secs(secs as u64))
}

fn media_type_and_charset(headers: &[(String, String)]) -> (Option<String>, Option<String>) {
    let Some((_, ct)) = headers.iter().find(|(k, _)| k == "content-type") else {
        return (None, None);
    };
    let mut parts = ct.split(';');
    let media = parts
        .next()
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty());
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("charset"))
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    });
    (media, charset)
}

impl Fetcher {
    /// Builds the client: no automatic redirects, gzip, timeouts, the configured User-Agent.
    pub fn new(settings: Arc<CrawlSettings>) -> Result<Self, FetchSetupError> {
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(15)))
            .pool_max_idle_per_host(settings.per_host_concurrency.max(2))
            .build()
            .map_err(|source| FetchSetupError::Client {
                user_agent: settings.user_agent.clone(),
                source,
            })?;
        Ok(Self {
            client,
            global: Arc::new(Semaphore::new(settings.concurrency)),
            settings,
            hosts: Mutex::new(HashMap::new()),
            robots: Mutex::new(HashMap::new()),
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &CrawlSettings {
        &self.settings
    }

    fn gate(&self, url: &Url) -> Arc<HostGate> {
        let key = host_key(url);
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(key)
            .or_insert_with(|| {
                Arc::new(HostGate {
                    sem: Arc::new(Semaphore::new(self.settings.per_host_concurrency)),
                    next: tokio::sync::Mutex::new(Instant::now()),
                    delay: Mutex::new(self.settings.per_host_delay),
                })
            })
            .clone()
    }

    /// The robots rules for `url`'s origin, fetched once per origin.
    pub async fn robots_for(&self, url: &Url) -> Arc<Robots> {
        let origin = url.origin().ascii_serialization();
        let cell = {
            let mut map = self.robots.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(origin.clone()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let mut robots_url = url.clone();
            robots_url.set_path("/robots.txt");
            robots_url.set_query(None);
            let fetched = Box::pin(self.fetch_inner(&robots_url, false)).await;
            let robots = match (fetched.record.status, &fetched.record.error) {
                (Some(s), _) if (200..300).contains(&s) => {
                    Robots::parse(&String::from_utf8_lossy(&fetched.body))
                }
                (Some(s), _) if (400..500).contains(&s) => {
                    Robots::allow_all(RobotsSource::Missing(s))
                }
                (Some(s), _) => {
                    Robots::disallow_all(RobotsSource::Unreachable(format!("HTTP {s}")))
                }
                (None, Some(e)) => {
                    let mut r = Robots::disallow_all(RobotsSource::Unreachable(e.kind.to_string()));
                    r.failure = Some((e.kind, e.message.clone()));
                    r
                }
                (None, None) => Robots::allow_all(RobotsSource::Missing(0)),
            };
            if let Some(d) = robots.crawl_delay {
                let gate = self.gate(url);
                if let Ok(mut delay) = gate.delay.lock() {
                    *delay = (*delay).max(d);
                }
            }
            Arc::new(robots)
        })
        .await
        .clone()
    }

    /// Fetches `url` with robots, redirects, retries and the body cap.
    pub async fn fetch(&self, url: &Url) -> Fetched {
        self.fetch_inner(url, !self.settings.ignore_robots).await
    }

    async fn fetch_inner(&self, url: &Url, honour_robots: bool) -> Fetched {
        let started_at = jiff::Timestamp::now();
        let mut record = FetchRecord {
            requested_url: url.clone(),
            final_url: url.clone(),
            redirects: Vec::new(),
            status: None,
            headers: Vec::new(),
            remote_addr: None,
            started_at,
            finished_at: started_at,
            attempts: 0,
            body_len: 0,
            body_blake3: None,
            truncated: false,
            media_type: None,
            declared_charset: None,
            robots: if self.settings.ignore_robots {
                "robots: ignored".to_string()
            } else {
                "robots: not applicable".to_string()
            },
            error: None,
        };
        let mut body = Vec::new();
        let mut current = url.clone();
        let mut visited = vec![url.clone()];
        loop {
            if honour_robots {
                let robots = self.robots_for(&current).await;
                let path = match current.query() {
                    Some(q) => format!("{}?{q}", current.path()),
                    None => current.path().to_string(),
                };
                let allowed = robots.allowed(&path);
                record.robots = robots.describe(allowed);
                if !allowed {
                    record.error = Some(match &robots.failure {
                        Some((kind, message)) => CrawlError::new(
                            *kind,
                            current.as_str(),
                            format!(
                                "robots.txt could not be fetched ({message}); not fetched \
                                 (RFC 9309: an unreachable robots.txt means complete disallow)"
                            ),
                        ),
                        None => CrawlError::new(
                            ErrorKind::RobotsDenied,
                            current.as_str(),
                            "robots.txt disallows this URL for mapsweep",
                        ),
                    });
                    break;
                }
            }
            let (resp, attempts, permits) = match self.send_with_retries(&current).await {
                Ok(x) => x,
                Err((e, attempts)) => {
                    record.attempts = attempts;
                    record.error = Some(e);
                    break;
                }
            };
            record.attempts = attempts;
            let status = resp.status().as_u16();
            record.status = Some(status);
            record.remote_addr = resp.remote_addr().map(|a| a.to_string());
            record.headers = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            if is_redirect(status)
                && let Some(loc) = resp.headers().get(reqwest::header::LOCATION)
            {
                let loc = String::from_utf8_lossy(loc.as_bytes()).into_owned();
                record.redirects.push(RedirectHop {
                    url: current.to_string(),
                    status,
                    location: loc.clone(),
                });
                drop(resp);
                drop(permits);
                let next = match super::links::resolve(&current, &loc, self.settings.max_url_len) {
                    super::links::Resolved::Ok(u) => u,
                    other => {
                        record.error = Some(CrawlError::new(
                            ErrorKind::InvalidUrl,
                            current.as_str(),
                            format!("redirect to an unusable location {loc:?}: {other:?}"),
                        ));
                        break;
                    }
                };
                if visited.contains(&next) {
                    record.error = Some(CrawlError::new(
                        ErrorKind::RedirectLoop,
                        current.as_str(),
                        format!("redirect loop: {next} was already visited in this chain"),
                    ));
                    break;
                }
                if record.redirects.len() > MAX_REDIRECTS {
                    record.error = Some(CrawlError::new(
                        ErrorKind::TooManyRedirects,
                        current.as_str(),
                        format!("more than {MAX_REDIRECTS} redirects"),
                    ));
                    break;
                }
                visited.push(next.clone());
                current = next;
                record.final_url = current.clone();
                continue;
            }
            let (media, charset) = media_type_and_charset(&record.headers);
            record.media_type = media;
            record.declared_charset = charset;
            let mut resp = resp;
            let cap = self.settings.max_body_bytes as usize;
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        let room = cap.saturating_sub(body.len());
                        if chunk.len() > room {
                            body.extend_from_slice(&chunk[..room]);
                            record.truncated = true;
                            break;
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let (kind, message) = classify(&e);
                        let kind = if kind == ErrorKind::Other {
                            ErrorKind::BodyRead
                        } else {
                            kind
                        };
                        record.error = Some(CrawlError::new(kind, current.as_str(), message));
                        break;
                    }
                }
            }
            drop(permits);
            if record.error.is_none() && status >= 400 {
                record.error = Some(CrawlError::new(
                    ErrorKind::HttpStatus,
                    current.as_str(),
                    format!("HTTP {status}"),
                ));
            }
            break;
        }
        record.body_len = body.len();
        if !body.is_empty() {
            record.body_blake3 = Some(blake3::hash(&body).to_hex().to_string());
        }
        record.finished_at = jiff::Timestamp::now();
        Fetched { record, body }
    }

    #[allow(clippy::type_complexity)]
    async fn send_with_retries(
        &self,
        url: &Url,
    ) -> Result<
        (
            reqwest::Response,
            u32,
            (OwnedSemaphorePermit, OwnedSemaphorePermit),
        ),
        (CrawlError, u32),
    > {
        let gate = self.gate(url);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let closed = || {
                (
                    CrawlError::new(ErrorKind::Other, url.as_str(), "crawler shut down"),
                    attempt,
                )
            };
            let host_permit = gate.enter().await.ok_or_else(closed)?;
            let global_permit = self
                .global
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| closed())?;
            let resp = match self.client.get(url.clone()).send().await {
                Ok(r) => r,
                Err(e) => {
                    let (kind, message) = classify(&e);
                    return Err((CrawlError::new(kind, url.as_str(), message), attempt));
                }
            };
            let status = resp.status().as_u16();
            let retryable = status == 429 || (500..600).contains(&status);
            if retryable && attempt <= self.settings.retries {
                let backoff =
                    Duration::from_millis(500u64.saturating_mul(1 << (attempt - 1).min(10)));
                let wait = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after)
                    .map(|d| d.min(self.settings.max_retry_after))
                    .unwrap_or(backoff);
                tracing::debug!(url = %url, status, ?wait, attempt, "retrying");
                drop(resp);
                drop(global_permit);
                drop(host_permit);
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok((resp, attempt, (host_permit, global_permit)));
        }
    }
}

/// Whether a host is an IP address (scope rules treat those as exact host:port).
pub fn is_ip_host(url: &Url) -> bool {
    url.host_str()
        .map(|h| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::from_secs(0))
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn content_type_is_split() {
        let h = vec![(
            "content-type".to_string(),
            "text/HTML; Charset=\"GBK\"".to_string(),
        )];
        assert_eq!(
            media_type_and_charset(&h),
            (Some("text/html".into()), Some("gbk".into()))
        );
    }
}
