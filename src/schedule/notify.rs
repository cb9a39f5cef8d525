//! Webhook notifications for new violations (`[notify] webhook_url`).
//!
//! Rules: a sweep hands each new violation to [`Notifier::notify`], which never waits: the
//! notice goes into a bounded queue read by one background task; when the queue is full the
//! notice is dropped and logged (and counted), so a slow or dead webhook never holds up a
//! crawl. The task POSTs one JSON object per notice ([`ViolationNotice`], format
//! `mapsweep.webhook/1`), retrying connection errors, HTTP 429 and 5xx with exponential
//! backoff (`initial_backoff * 2^n`, capped); other 4xx answers are permanent failures. The
//! task ends when every [`Notifier`] clone is dropped and the queue is drained.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::NotifyConfig;

/// Version tag of the webhook payload (a public contract).
pub const WEBHOOK_FORMAT: &str = "mapsweep.webhook/1";

/// Errors configuring the notifier.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("invalid notify.webhook_url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("invalid notify.initial_backoff {input:?}: {source}")]
    InvalidBackoff {
        input: String,
        source: super::ScheduleError,
    },
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
}

/// One rule a violation breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRule {
    pub rule: String,
    pub status: String,
    pub message: String,
}

/// The JSON body POSTed for one new violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationNotice {
    pub format: String,
    pub finding_id: String,
    pub site_id: Option<i64>,
    pub site_url: String,
    pub page_url: String,
    pub artifact_url: Option<String>,
    pub campaigns: Vec<String>,
    pub rules: Vec<NoticeRule>,
    pub found_at: Timestamp,
}

impl ViolationNotice {
    /// A notice with the format tag set.
    pub fn new(
        finding_id: &str,
        site_url: &str,
        page_url: &str,
        rules: Vec<NoticeRule>,
        found_at: Timestamp,
    ) -> Self {
        Self {
            format: WEBHOOK_FORMAT.to_string(),
            finding_id: finding_id.to_string(),
            site_id: None,
            site_url: site_url.to_string(),
            page_url: page_url.to_string(),
            artifact_url: None,
            campaigns: Vec::new(),
            rules,
            found_at,
        }
    }
}

/// Notifier settings.
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    pub url: url::Url,
    /// Retries after the first attempt.
    pub retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub queue_size: usize,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl NotifierOptions {
    /// From `[notify]`; `Ok(None)` when no webhook is configured.
    pub fn from_config(config: &NotifyConfig) -> Result<Option<Self>, NotifyError> {
        let Some(raw) = &config.webhook_url else {
            return Ok(None);
        };
        let url = url::Url::parse(raw).map_err(|e| NotifyError::InvalidUrl {
            url: raw.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(NotifyError::InvalidUrl {
                url: raw.clone(),
                reason: "only http and https are supported".to_string(),
            });
        }
        let backoff = super::Interval::parse(&config.initial_backoff).map_err(|source| {
            NotifyError::InvalidBackoff {
                input: config.initial_backoff.clone(),
                source,
            }
        })?;
        Ok(Some(Self {
            url,
            retries: config.retries,
            initial_backoff: Duration::from_secs(backoff.as_secs() as u64),
            max_backoff: Duration::from_secs(300),
            queue_size: config.queue_size.max(1),
            timeout: Duration::from_secs(30),
        }))
    }
}

/// Delivery counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NotifyCounts {
    pub queued: u64,
    pub delivered: u64,
    /// Gave up after the retries or on a permanent (4xx) answer.
    pub failed: u64,
    /// Dropped because the queue was full.
    pub dropped: u64,
    /// HTTP attempts made, first tries and retries.
    pub attempts: u64,
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    attempts: AtomicU64,
}

impl Counters {
    fn get(&self) -> NotifyCounts {
        NotifyCounts {
            queued: self.queued.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            attempts: self.attempts.load(Ordering::Relaxed),
        }
    }
}

/// Handle to the background webhook task. Cheap to clone; the task ends when all are dropped.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: mpsc::Sender<ViolationNotice>,
    counters: Arc<Counters>,
}

impl Notifier {
    /// Starts the background task on the current tokio runtime. The join handle resolves to
    /// the final counts once every handle is dropped and the queue is drained.
    pub fn spawn(
        options: NotifierOptions,
    ) -> Result<(Self, JoinHandle<NotifyCounts>), NotifyError> {
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .user_agent(concat!(
                "mapsweep/",
                env!("CARGO_PKG_VERSION"),
                " (webhook)"
            ))
            .build()
            .map_err(|e| NotifyError::Client(e.to_string()))?;
        let (tx, rx) = mpsc::channel(options.queue_size.max(1));
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(worker(rx, client, options, counters.clone()));
        Ok((Self { tx, counters }, task))
    }

    /// Queues a notice without waiting. Returns false (and logs) when it was dropped because
    /// the queue is full or the task has stopped.
    pub fn notify(&self, notice: ViolationNotice) -> bool {
        match self.tx.try_send(notice) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                let n = match &e {
                    mpsc::error::TrySendError::Full(n) | mpsc::error::TrySendError::Closed(n) => n,
                };
                tracing::warn!(finding = %n.finding_id, page = %n.page_url,
                    "webhook queue full or closed; notification dropped");
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Counters so far.
    pub fn counts(&self) -> NotifyCounts {
        self.counters.get()
    }
}

enum Attempt {
    Delivered,
    Retry(String),
    Permanent(String),
}

async fn attempt(client: &reqwest::Client, url: &url::Url, notice: &ViolationNotice) -> Attempt {
    match client.post(url.clone()).json(notice).send().await {
        Ok(resp) => {
            let status = resp.status();
            if status.is_success() {
                Attempt::Delivered
            } else if status.as_u16() == 429 || status.is_server_error() {
                Attempt::Retry(format!("HTTP {status}"))
            } else {
                Attempt::Permanent(format!("HTTP {status}"))
            }
        }
        Err(e) => Attempt::Retry(e.to_string()),
    }
}

async fn worker(
    mut rx: mpsc::Receiver<ViolationNotice>,
    client: reqwest::Client,
    options: NotifierOptions,
    counters: Arc<Counters>,
) -> NotifyCounts {
    while let Some(notice) = rx.recv().await {
        let mut tries = 0u32;
        loop {
            counters.attempts.fetch_add(1, Ordering::Relaxed);
            match attempt(&client, &options.url, &notice).await {
                Attempt::Delivered => {
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(finding = %notice.finding_id, tries, "webhook delivered");
                    break;
                }
                Attempt::Permanent(why) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(finding = %notice.finding_id, %why, "webhook refused the notification");
                    break;
                }
                Attempt::Retry(why) if tries < options.retries => {
                    let backoff = options
                        .initial_backoff
                        .saturating_mul(1u32 << tries.min(20))
                        .min(options.max_backoff);
                    tracing::warn!(finding = %notice.finding_id, %why, ?backoff, "webhook failed; retrying");
                    tries += 1;
                    tokio::time::sleep(backoff).await;
                }
                Attempt::Retry(why) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(finding = %notice.finding_id, %why, tries, "webhook failed; giving up");
                    break;
                }
            }
        }
    }
    counters.get()
}
