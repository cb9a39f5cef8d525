//! Measures scheduler overhead with 10,000 watched sites (issue 6 figure): heap held by the
//! scheduler state, time to load it (computing every next slot), and time to compute due runs.
//!
//! Run: `cargo run --release --example schedule_overhead` (or without `--release` for a
//! pessimistic debug-build figure).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use mapsweep::schedule::*;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const SITES: i64 = 10_000;
    let tz = time_zone("Asia/Shanghai")?;
    let t0: Timestamp = "2024-11-01T00:00:00Z".parse()?;
    let intervals = ["5m", "15m", "30m", "1h", "6h", "1d"];
    let crons = ["0 */6 * * *", "*/15 * * * *", "30 9 * * 1-5"];
    let mut sites = Vec::new();
    for i in 0..SITES {
        let schedule = if i % 10 < 7 {
            ScheduleSpec::every(intervals[(i as usize) % intervals.len()])?
        } else {
            ScheduleSpec::cron(crons[(i as usize) % crons.len()])?
        };
        let mut state = JobState::default();
        // Most sites have run before, at staggered times.
        if i % 4 != 0 {
            state.last_slot = Some(t0 - SignedDuration::from_secs(i % 3600));
        }
        sites.push(WatchedSite {
            id: SiteId(i),
            url: format!("https://site{i}.example.cn/"),
            host: format!("site{i}.example.cn"),
            schedule: Some(schedule),
            paused: i % 50 == 0,
            created_at: t0 - SignedDuration::from_hours(24),
            state,
        });
    }
    // A CIIE campaign over 200 of them, every 5 minutes.
    let campaign = Campaign {
        id: CampaignId(1),
        name: "ciie-2024".into(),
        window: Window::parse("2024-11-01T00:00+08:00", "2024-11-10T23:59+08:00", &tz)?,
        schedule: ScheduleSpec::every("5m")?,
        paused: false,
        sites: (0..200)
            .map(|i| CampaignSite {
                site: SiteId(i * 50 + 1),
                state: JobState::default(),
            })
            .collect(),
    };
    let mut quiet = Snapshot {
        sites: sites.clone(),
        campaigns: vec![campaign.clone()],
    };
    for s in &mut quiet.sites {
        s.state.last_slot = Some(t0);
    }
    let snapshot = Snapshot {
        sites,
        campaigns: vec![campaign],
    };
    let json = serde_json::to_vec(&snapshot)?;

    let before = LIVE.load(Ordering::Relaxed);
    let started = Instant::now();
    let (mut sched, _, _) = Scheduler::load(
        snapshot,
        tz.clone(),
        Limits {
            global: 8,
            per_host: 1,
        },
        t0,
    );
    let load_time = started.elapsed();
    let held = LIVE.load(Ordering::Relaxed) - before;

    // Startup: every never-run and overdue site is due at once.
    let now = t0 + SignedDuration::from_mins(1);
    let started = Instant::now();
    let due = sched.due(now);
    let due_all = started.elapsed();
    let started = Instant::now();
    let startable = sched.startable(now);
    let startable_time = started.elapsed();
    for d in &startable {
        sched.start(d, now)?;
    }

    // Steady state: a tick a few seconds later, with 8 runs in flight.
    let tick = now + SignedDuration::from_secs(5);
    let rounds = 100;
    let started = Instant::now();
    let mut n = 0;
    for _ in 0..rounds {
        n += sched.due(tick).len();
        n += sched.startable(tick).len();
        n += usize::from(sched.next_wake(tick).is_some());
    }
    let per_tick = started.elapsed() / rounds;

    // Quiet state: every site ran at t0; a tick one second later finds nothing due.
    let (quiet, _, _) = Scheduler::load(
        quiet,
        tz.clone(),
        Limits {
            global: 8,
            per_host: 1,
        },
        t0,
    );
    let q = t0 + SignedDuration::from_secs(1);
    let started = Instant::now();
    let mut m = 0;
    for _ in 0..rounds {
        m += quiet.startable(q).len();
        m += usize::from(quiet.next_wake(q).is_some());
    }
    let quiet_tick = started.elapsed() / rounds;

    println!(
        "jobs: {} ({} sites + 200 campaign sites)",
        sched.job_count(),
        SITES
    );
    println!("snapshot JSON: {:.1} KiB", json.len() as f64 / 1024.0);
    println!(
        "scheduler heap: {:.2} MiB ({} bytes/job)",
        held as f64 / 1048576.0,
        held / sched.job_count()
    );
    println!("load (next slot of every job): {load_time:?}");
    println!("due() with {} runs due at startup: {due_all:?}", due.len());
    println!("startable() at startup: {startable_time:?}");
    println!("steady tick (due + startable + next_wake): {per_tick:?} (checksum {n})");
    println!("quiet tick, nothing due (startable + next_wake): {quiet_tick:?} (checksum {m})");
    Ok(())
}
