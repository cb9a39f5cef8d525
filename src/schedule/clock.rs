//! Time for the daemon, injectable: the system clock in production, a manual clock in tests
//! (advanced by the test, so no test waits for real minutes).

use jiff::{SignedDuration, Timestamp};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::watch;

/// A source of "now" that can also be waited on.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
    /// Resolves once `now() >= deadline`.
    fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> + Send;
}

/// The wall clock, waited on with tokio timers. Sleeps are capped at a minute and re-checked,
/// so a wall-clock jump (NTP, suspend) is noticed within a minute.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    async fn sleep_until(&self, deadline: Timestamp) {
        loop {
            let left = deadline.duration_since(Timestamp::now());
            if left <= SignedDuration::ZERO {
                return;
            }
            let step = left.min(SignedDuration::from_secs(60));
            let std =
                std::time::Duration::try_from(step).unwrap_or(std::time::Duration::from_secs(1));
            tokio::time::sleep(std).await;
        }
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    tx: Arc<watch::Sender<Timestamp>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        let (tx, _rx) = watch::channel(start);
        Self { tx: Arc::new(tx) }
    }

    /// Sets the time (it may go back, to test clock jumps).
    pub fn set(&self, t: Timestamp) {
        self.tx.send_replace(t);
    }

    /// Moves the time forward by `d`.
    pub fn advance(&self, d: SignedDuration) {
        self.tx.send_modify(|t| {
            *t = t.checked_add(d).unwrap_or(*t);
        });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.tx.borrow()
    }

    async fn sleep_until(&self, deadline: Timestamp) {
        let mut rx = self.tx.subscribe();
        loop {
            if *rx.borrow_and_update() >= deadline {
                return;
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as any clone; unreachable in practice.
                std::future::pending::<()>().await;
            }
        }
    }
}
