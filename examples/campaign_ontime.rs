//! Punctuality of the daemon loop (issue 6 figure, scheduler side only): a campaign of N
//! sites on one host, swept every INTERVAL by a fake runner that takes SWEEP_MS per sweep,
//! on the real clock. Prints runs started per slot and how late they started.
//!
//! Run: `cargo run --example campaign_ontime -- [sites=200] [interval=5s] [slots=4]
//! [sweep_ms=20] [concurrency=8]`. The real figure (200 sites every 5 minutes against a local
//! test site with real sweeps) needs the sweep wired in as the runner.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use mapsweep::schedule::*;
use tokio_util::sync::CancellationToken;

struct SleepRunner {
    sweep: Duration,
    lateness: Mutex<Vec<(Timestamp, SignedDuration)>>,
}

impl Runner for SleepRunner {
    async fn run(&self, run: RunRequest, cancel: CancellationToken) -> RunOutcome {
        let slot = run.jobs[0].1;
        let late = Timestamp::now().duration_since(slot);
        if let Ok(mut l) = self.lateness.lock() {
            l.push((slot, late));
        }
        tokio::select! {
            _ = tokio::time::sleep(self.sweep) => RunOutcome::Succeeded { summary: RunSummary::default() },
            _ = cancel.cancelled() => RunOutcome::Cancelled,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let sites: i64 = arg(0, "200").parse()?;
    let interval = Interval::parse(&arg(1, "5s"))?;
    let slots: i64 = arg(2, "4").parse()?;
    let sweep = Duration::from_millis(arg(3, "20").parse()?);
    let concurrency: usize = arg(4, "8").parse()?;

    // The window starts on the next whole second and holds `slots` slots.
    let now = Timestamp::now();
    let from = Timestamp::from_second(now.as_second() + 1)?;
    let to = from + SignedDuration::from_secs(interval.as_secs() * slots);
    let snapshot = Snapshot {
        sites: (0..sites)
            .map(|i| WatchedSite {
                id: SiteId(i),
                url: format!("http://127.0.0.1:8080/site{i}/"),
                host: "127.0.0.1".into(),
                schedule: None,
                paused: false,
                created_at: now,
                state: JobState::default(),
            })
            .collect(),
        campaigns: vec![Campaign {
            id: CampaignId(1),
            name: "bench".into(),
            window: Window::new(from, to)?,
            schedule: ScheduleSpec::Every(interval),
            paused: false,
            sites: (0..sites)
                .map(|i| CampaignSite {
                    site: SiteId(i),
                    state: JobState::default(),
                })
                .collect(),
        }],
    };
    let limits = Limits {
        global: concurrency,
        per_host: concurrency,
    };
    let (scheduler, _, _) = Scheduler::load(snapshot.clone(), jiff::tz::TimeZone::UTC, limits, now);
    let runner = Arc::new(SleepRunner {
        sweep,
        lateness: Mutex::new(Vec::new()),
    });
    let daemon = Daemon::new(
        scheduler,
        runner.clone(),
        Arc::new(SystemClock),
        Arc::new(MemoryStore::new(snapshot)),
        DaemonOptions {
            poll_interval: SignedDuration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
            max_run_time: None,
        },
    );
    let cancel = CancellationToken::new();
    let task = tokio::spawn(daemon.run(cancel.clone()));
    let total =
        Duration::try_from(to.duration_since(Timestamp::now()))? + Duration::from_millis(500);
    tokio::time::sleep(total).await;
    cancel.cancel();
    let report = task.await?;

    let lateness = runner
        .lateness
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    let capacity = concurrency as f64 / sweep.as_secs_f64();
    println!(
        "{sites} sites, every {interval}, {slots} slots, sweep {sweep:?}, concurrency {concurrency} \
         (capacity {capacity:.0} sweeps/s, a slot needs {:.2} s)",
        sites as f64 / capacity
    );
    let mut slot_list: Vec<Timestamp> = lateness.iter().map(|(s, _)| *s).collect();
    slot_list.sort();
    slot_list.dedup();
    for slot in slot_list {
        let mut l: Vec<f64> = lateness
            .iter()
            .filter(|(s, _)| *s == slot)
            .map(|(_, d)| d.as_secs_f64() * 1000.0)
            .collect();
        l.sort_by(|a, b| a.total_cmp(b));
        println!(
            "slot {slot}: {} runs started, start lateness min {:.1} ms, median {:.1} ms, max {:.1} ms",
            l.len(),
            l[0],
            l[l.len() / 2],
            l[l.len() - 1]
        );
    }
    println!(
        "started {}, finished {}, dropped {}",
        report.started,
        report.finished,
        report.dropped.len()
    );
    Ok(())
}
