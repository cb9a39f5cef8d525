//! Scheduling, campaigns, the daemon loop, the webhook, site import and change detection.
//! Time is a manual clock everywhere: no test waits for more than milliseconds of real time.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mapsweep::schedule::changes::{
    self, MapChangeKind, MapRecord, MapVerdict, ProblemChangeKind, SweepMaps,
};
use mapsweep::schedule::notify::{NoticeRule, Notifier, NotifierOptions, ViolationNotice};
use mapsweep::schedule::sites::{normalize_site_url, parse_import};
use mapsweep::schedule::*;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

fn shanghai() -> TimeZone {
    time_zone("Asia/Shanghai").expect("tzdata has Asia/Shanghai")
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

fn site(id: i64, host: &str, every: Option<&str>, created: Timestamp) -> WatchedSite {
    WatchedSite {
        id: SiteId(id),
        url: format!("https://{host}/"),
        host: host.to_string(),
        schedule: every.map(|e| ScheduleSpec::every(e).expect("interval")),
        paused: false,
        created_at: created,
        state: JobState::default(),
    }
}

fn campaign(id: i64, from: &str, to: &str, every: &str, sites: &[i64]) -> Campaign {
    Campaign {
        id: CampaignId(id),
        name: format!("c{id}"),
        window: Window::new(ts(from), ts(to)).expect("window"),
        schedule: ScheduleSpec::every(every).expect("interval"),
        paused: false,
        sites: sites
            .iter()
            .map(|s| CampaignSite {
                site: SiteId(*s),
                state: JobState::default(),
            })
            .collect(),
    }
}

fn load(snapshot: Snapshot, limits: Limits, now: Timestamp) -> Scheduler {
    let (s, _, problems) = Scheduler::load(snapshot, TimeZone::UTC, limits, now);
    assert!(problems.is_empty(), "{problems:?}");
    s
}

fn ok() -> RunOutcome {
    RunOutcome::Succeeded {
        summary: RunSummary::default(),
    }
}

/// Starts every startable run and returns their requests.
fn start_all(s: &mut Scheduler, now: Timestamp) -> Vec<RunRequest> {
    let due = s.startable(now);
    due.iter()
        .map(|d| s.start(d, now).expect("start").0)
        .collect()
}

// ---------------------------------------------------------------- schedule specs

#[test]
fn interval_accepts_units() {
    for (text, secs) in [
        ("30m", 1800),
        ("1h", 3600),
        ("6h", 21_600),
        ("1d", 86_400),
        ("90s", 90),
        ("1h30m", 5400),
        (" 2H ", 7200),
    ] {
        assert_eq!(Interval::parse(text).expect(text).as_secs(), secs, "{text}");
    }
    assert_eq!(Interval::parse("90s").unwrap().to_string(), "1m30s");
    assert_eq!(
        ScheduleSpec::every("6h").unwrap().describe(&TimeZone::UTC),
        "every 6 hours"
    );
}

#[test]
fn invalid_interval_is_rejected_naming_the_input() {
    for bad in ["0m", "0", "-5m", "abc", "5", "m", "5x", "", "1.5h", "400d"] {
        let err = Interval::parse(bad).expect_err(bad).to_string();
        assert!(
            err.contains(&format!("{bad:?}")),
            "error for {bad:?} should name it: {err}"
        );
    }
}

#[test]
fn invalid_cron_is_rejected_naming_the_input() {
    for bad in [
        "* * *",
        "61 * * * *",
        "0 0 30 2 *",
        "0 0 * * * *",
        "garbage",
        "",
    ] {
        let err = ScheduleSpec::cron(bad).expect_err(bad).to_string();
        assert!(err.contains("invalid cron"), "{err}");
        assert!(err.contains(&format!("{bad:?}")), "{err}");
    }
}

#[test]
fn cron_is_evaluated_in_the_configured_zone() {
    let spec = ScheduleSpec::cron("0 9 * * *").unwrap();
    // 2024-11-01T00:00Z is 08:00 in Shanghai: the next 09:00 there is 01:00Z.
    let next = spec
        .next_after(ts("2024-11-01T00:00:00Z"), &shanghai())
        .unwrap();
    assert_eq!(next, ts("2024-11-01T01:00:00Z"));
    // Strictly after: from exactly 09:00 local, the next is tomorrow.
    let next = spec.next_after(next, &shanghai()).unwrap();
    assert_eq!(next, ts("2024-11-02T01:00:00Z"));
    // Every 6 hours on the hour.
    let six = ScheduleSpec::cron("0 */6 * * *").unwrap();
    let next = six
        .next_after(ts("2024-11-01T00:30:00+08:00"), &shanghai())
        .unwrap();
    assert_eq!(next, ts("2024-11-01T06:00:00+08:00"));
    let text = six.describe(&shanghai());
    println!("{text}");
    assert!(
        text.contains("0 */6 * * *") && text.contains("Asia/Shanghai"),
        "{text}"
    );
}

#[test]
fn cron_follows_daylight_saving_in_berlin() {
    let berlin = time_zone("Europe/Berlin").unwrap();
    let nine = ScheduleSpec::cron("0 9 * * *").unwrap();
    // 09:00 CET (UTC+1) the day before the change, 09:00 CEST (UTC+2) on the day of it.
    let a = nine
        .next_after(ts("2024-03-30T00:00:00Z"), &berlin)
        .unwrap();
    assert_eq!(a, ts("2024-03-30T08:00:00Z"));
    let b = nine.next_after(a, &berlin).unwrap();
    assert_eq!(b, ts("2024-03-31T07:00:00Z"));
    // 02:30 does not exist on 2024-03-31 in Berlin (02:00 -> 03:00): it runs at 03:00
    // CEST, the first instant after the gap, and at 02:30 again the next day.
    let gap = ScheduleSpec::cron("30 2 * * *").unwrap();
    let g = gap.next_after(ts("2024-03-30T12:00:00Z"), &berlin).unwrap();
    assert_eq!(
        g,
        ts("2024-03-31T01:00:00Z"),
        "gap slot moved to the end of the gap"
    );
    let g2 = gap.next_after(g, &berlin).unwrap();
    assert_eq!(g2, ts("2024-04-01T00:30:00Z"));
    // 02:30 happens twice on 2024-10-27 (03:00 -> 02:00): the daemon runs it once.
    let first = gap.next_after(ts("2024-10-26T12:00:00Z"), &berlin).unwrap();
    assert_eq!(first, ts("2024-10-27T00:30:00Z"));
    let second = gap.next_after(first, &berlin).unwrap();
    assert_eq!(second, ts("2024-10-28T01:30:00Z"), "fold slot once");
    // An interval is elapsed time, unaffected by the change: 1h after 01:30Z is 02:30Z.
    let hourly = ScheduleSpec::every("1h").unwrap();
    assert_eq!(
        hourly
            .next_after(ts("2024-10-27T00:30:00Z"), &berlin)
            .unwrap(),
        ts("2024-10-27T01:30:00Z")
    );
}

#[test]
fn schedule_spec_storage_form_round_trips() {
    for text in ["every 30m", "every 1d", "cron 0 */6 * * *"] {
        let spec: ScheduleSpec = text.parse().unwrap();
        assert_eq!(spec.to_string(), text);
        let json = serde_json::to_string(&spec).unwrap();
        let back: ScheduleSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
    }
    assert!("every 0m".parse::<ScheduleSpec>().is_err());
}

// ---------------------------------------------------------------- windows

#[test]
fn window_accepts_offset_without_seconds_and_local_times() {
    let tz = shanghai();
    let w = Window::parse("2024-11-01T00:00+08:00", "2024-11-10T23:59+08:00", &tz).unwrap();
    assert_eq!(w.from, ts("2024-10-31T16:00:00Z"));
    assert_eq!(w.to, ts("2024-11-10T15:59:00Z"));
    // Without an offset: read in the configured zone.
    let local = Window::parse("2024-11-01T00:00", "2024-11-01 12:00", &tz).unwrap();
    assert_eq!(local.from, ts("2024-10-31T16:00:00Z"));
    assert_eq!(local.to, ts("2024-11-01T04:00:00Z"));
    // A bare date as the end includes that whole day.
    let days = Window::parse("2024-11-01", "2024-11-10", &tz).unwrap();
    assert_eq!(days.to, ts("2024-11-10T16:00:00Z"));
}

#[test]
fn window_ending_before_it_starts_is_rejected() {
    let tz = shanghai();
    let err = Window::parse("2024-11-10T00:00+08:00", "2024-11-01T00:00+08:00", &tz)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ends before it starts"), "{err}");
    assert!(err.contains("2024-11-10T00:00+08:00"), "{err}");
    assert!(Window::parse("2024-11-01T00:00Z", "2024-11-01T00:00Z", &tz).is_err());
    let err = Window::parse("next tuesday", "2024-11-01", &tz)
        .unwrap_err()
        .to_string();
    assert!(err.contains("next tuesday"), "{err}");
}

// ---------------------------------------------------------------- scheduler

#[test]
fn new_interval_site_runs_at_once_then_every_interval() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let mut s = load(
        Snapshot {
            sites: vec![site(1, "a.example", Some("1h"), t0)],
            campaigns: vec![],
        },
        Limits::default(),
        t0,
    );
    let runs = start_all(&mut s, t0);
    assert_eq!(runs.len(), 1);
    s.finish(runs[0].run, &ok(), t0 + mins(5)).unwrap();
    assert!(s.due(t0 + mins(59)).is_empty());
    assert_eq!(s.next_due(JobKey::Site(SiteId(1))), Some(t0 + mins(60)));
    assert_eq!(s.due(t0 + mins(60)).len(), 1);
}

#[test]
fn missed_runs_catch_up_once_not_once_per_slot() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let mut snap = Snapshot {
        sites: vec![site(1, "a.example", Some("1h"), t0)],
        campaigns: vec![],
    };
    snap.sites[0].state.last_slot = Some(t0);
    // The daemon was down for 10 h 20 min: ten slots missed.
    let now = t0 + mins(620);
    let mut s = load(snap, Limits::default(), now);
    let due = s.due(now);
    assert_eq!(due.len(), 1, "one run, not ten");
    assert_eq!(due[0].jobs, vec![(JobKey::Site(SiteId(1)), t0 + mins(600))]);
    let runs = start_all(&mut s, now);
    s.finish(runs[0].run, &ok(), now + mins(1)).unwrap();
    assert!(s.due(now + mins(1)).is_empty(), "nothing left to catch up");
    assert_eq!(s.next_due(JobKey::Site(SiteId(1))), Some(t0 + mins(660)));
}

#[test]
fn one_site_never_runs_twice_at_once() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let mut s = load(
        Snapshot {
            sites: vec![site(1, "a.example", Some("10m"), t0)],
            campaigns: vec![],
        },
        Limits {
            global: 8,
            per_host: 8,
        },
        t0,
    );
    let runs = start_all(&mut s, t0);
    // The sweep takes 35 minutes: three more slots pass while it runs.
    for m in [10, 20, 30] {
        assert!(s.due(t0 + mins(m)).is_empty(), "overlap at +{m}m");
        assert!(s.startable(t0 + mins(m)).is_empty());
    }
    let due = DueRun {
        site: SiteId(1),
        url: "https://a.example/".into(),
        host: "a.example".into(),
        jobs: vec![(JobKey::Site(SiteId(1)), t0)],
        due_since: t0,
    };
    assert!(matches!(
        s.start(&due, t0 + mins(5)),
        Err(ScheduleError::SiteBusy { .. })
    ));
    s.finish(runs[0].run, &ok(), t0 + mins(35)).unwrap();
    let due = s.due(t0 + mins(35));
    assert_eq!(due.len(), 1);
    assert_eq!(
        due[0].jobs[0].1,
        t0 + mins(30),
        "caught up once, at the latest slot"
    );
}

#[test]
fn site_due_in_two_campaigns_and_its_own_schedule_runs_once() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let mut s = load(
        Snapshot {
            sites: vec![
                site(1, "a.example", Some("1h"), t0),
                site(2, "b.example", None, t0),
            ],
            campaigns: vec![
                campaign(
                    10,
                    "2024-11-01T00:00:00Z",
                    "2024-11-02T00:00:00Z",
                    "30m",
                    &[1, 2],
                ),
                campaign(
                    11,
                    "2024-11-01T00:00:00Z",
                    "2024-11-02T00:00:00Z",
                    "1h",
                    &[1],
                ),
            ],
        },
        Limits {
            global: 8,
            per_host: 8,
        },
        t0,
    );
    let due = s.due(t0);
    assert_eq!(due.len(), 2, "one run per site: {due:?}");
    let a = due.iter().find(|d| d.site == SiteId(1)).unwrap();
    assert_eq!(a.jobs.len(), 3);
    assert_eq!(a.campaigns(), vec![CampaignId(10), CampaignId(11)]);
    let runs = start_all(&mut s, t0);
    assert_eq!(runs.len(), 2);
    let ra = runs.iter().find(|r| r.site == SiteId(1)).unwrap();
    assert_eq!(ra.campaigns, vec![CampaignId(10), CampaignId(11)]);
    for r in &runs {
        s.finish(r.run, &ok(), t0 + mins(1)).unwrap();
    }
    // At +30m only campaign 10 is due: site 1 runs for that campaign alone.
    let due = s.due(t0 + mins(30));
    let a = due.iter().find(|d| d.site == SiteId(1)).unwrap();
    assert_eq!(a.campaigns(), vec![CampaignId(10)]);
    assert_eq!(a.jobs.len(), 1);
}

#[test]
fn concurrency_is_bounded_globally_and_per_host() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let mut sites = Vec::new();
    for (i, host) in [
        "a.example",
        "a.example",
        "a.example",
        "b.example",
        "c.example",
    ]
    .iter()
    .enumerate()
    {
        sites.push(site(i as i64 + 1, host, Some("1h"), t0));
    }
    let snap = Snapshot {
        sites,
        campaigns: vec![],
    };
    let s = load(
        snap.clone(),
        Limits {
            global: 10,
            per_host: 1,
        },
        t0,
    );
    let start = s.startable(t0);
    let hosts: Vec<&str> = start.iter().map(|d| d.host.as_str()).collect();
    assert_eq!(hosts, vec!["a.example", "b.example", "c.example"]);
    let mut s = load(
        snap.clone(),
        Limits {
            global: 2,
            per_host: 2,
        },
        t0,
    );
    assert_eq!(s.startable(t0).len(), 2);
    let runs = start_all(&mut s, t0);
    assert_eq!(runs.len(), 2);
    assert!(s.startable(t0).is_empty(), "global bound reached");
    s.finish(runs[0].run, &ok(), t0 + mins(1)).unwrap();
    assert_eq!(s.startable(t0 + mins(1)).len(), 1);
}

#[test]
fn unreachable_site_is_recorded_and_retried_next_slot_without_blocking_others() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let mut s = load(
        Snapshot {
            sites: vec![
                site(1, "down.example", Some("1h"), t0),
                site(2, "up.example", Some("1h"), t0),
            ],
            campaigns: vec![],
        },
        Limits {
            global: 1,
            per_host: 1,
        },
        t0,
    );
    let first = start_all(&mut s, t0);
    assert_eq!(first[0].site, SiteId(1), "oldest first, then lowest id");
    s.finish(
        first[0].run,
        &RunOutcome::Failed {
            error: "connection refused".into(),
        },
        t0 + mins(1),
    )
    .unwrap();
    let st = s.job_state(JobKey::Site(SiteId(1))).unwrap();
    assert_eq!(st.last_outcome, Some(OutcomeKind::Failed));
    assert_eq!(st.last_error.as_deref(), Some("connection refused"));
    assert_eq!(st.consecutive_failures, 1);
    // Not retried at once: the other site gets the only slot.
    let next = start_all(&mut s, t0 + mins(1));
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].site, SiteId(2));
    s.finish(next[0].run, &ok(), t0 + mins(2)).unwrap();
    assert!(s.due(t0 + mins(2)).is_empty());
    assert_eq!(
        s.next_due(JobKey::Site(SiteId(1))),
        Some(t0 + mins(60)),
        "retried next slot"
    );
}

#[test]
fn restart_mid_run_reschedules_the_interrupted_job() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let mut s = load(
        Snapshot {
            sites: vec![site(1, "a.example", Some("1h"), t0)],
            campaigns: vec![],
        },
        Limits::default(),
        t0,
    );
    let runs = start_all(&mut s, t0);
    s.finish(runs[0].run, &ok(), t0 + mins(1)).unwrap();
    let runs = start_all(&mut s, t0 + mins(60));
    assert_eq!(runs.len(), 1);
    // The process dies here; what was persisted is the snapshot with running_since set.
    let persisted = s.snapshot();
    assert!(persisted.sites[0].state.running_since.is_some());
    let json = serde_json::to_string(&persisted).unwrap();
    let restored: Snapshot = serde_json::from_str(&json).unwrap();
    let now = t0 + mins(75);
    let (s2, changes, _) = Scheduler::load(restored, TimeZone::UTC, Limits::default(), now);
    assert_eq!(changes.len(), 1);
    assert_eq!(
        changes[0].state.last_outcome,
        Some(OutcomeKind::Interrupted)
    );
    assert_eq!(changes[0].state.running_since, None);
    let due = s2.due(now);
    assert_eq!(due.len(), 1, "interrupted run is due again at once");
    assert_eq!(
        due[0].jobs[0].1,
        t0 + mins(60),
        "for the slot it was interrupted in"
    );
}

#[test]
fn campaign_window_opens_and_closes_at_its_edges() {
    let t0 = ts("2024-11-01T10:00:00Z");
    let mut s = load(
        Snapshot {
            sites: vec![site(1, "a.example", None, ts("2024-10-01T00:00:00Z"))],
            campaigns: vec![campaign(
                10,
                "2024-11-01T10:00:00Z",
                "2024-11-01T12:00:00Z",
                "1h",
                &[1],
            )],
        },
        Limits::default(),
        t0 - mins(60),
    );
    let key = JobKey::Campaign(CampaignId(10), SiteId(1));
    assert!(s.due(t0 - mins(1)).is_empty(), "closed before from");
    assert_eq!(s.next_due(key), Some(t0));
    // A slot exactly at `from` runs.
    let runs = start_all(&mut s, t0);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].campaigns, vec![CampaignId(10)]);
    s.finish(runs[0].run, &ok(), t0 + mins(10)).unwrap();
    let runs = start_all(&mut s, t0 + mins(60));
    assert_eq!(runs.len(), 1);
    s.finish(runs[0].run, &ok(), t0 + mins(70)).unwrap();
    // The slot at `to` (12:00) does not run: the window is over.
    assert_eq!(s.next_due(key), None);
    assert!(s.due(t0 + mins(120)).is_empty());
    assert!(s.due(t0 + mins(600)).is_empty());
    assert_eq!(s.next_wake(t0 + mins(70)), None);
}

#[test]
fn campaign_slots_missed_after_the_window_closed_are_not_run() {
    let mut snap = Snapshot {
        sites: vec![site(1, "a.example", None, ts("2024-10-01T00:00:00Z"))],
        campaigns: vec![campaign(
            10,
            "2024-11-01T10:00:00Z",
            "2024-11-01T12:00:00Z",
            "1h",
            &[1],
        )],
    };
    snap.campaigns[0].sites[0].state.last_slot = Some(ts("2024-11-01T10:00:00Z"));
    // Down from 10:30 to 13:00: the 11:00 slot was missed, but the window has closed.
    let s = load(snap.clone(), Limits::default(), ts("2024-11-01T13:00:00Z"));
    assert!(s.due(ts("2024-11-01T13:00:00Z")).is_empty());
    // Back at 11:30 instead: caught up once, inside the window.
    let s = load(snap, Limits::default(), ts("2024-11-01T11:30:00Z"));
    let due = s.due(ts("2024-11-01T11:30:00Z"));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].jobs[0].1, ts("2024-11-01T11:00:00Z"));
}

#[test]
fn cron_campaign_runs_only_inside_its_window_in_local_time() {
    let tz = shanghai();
    let window = Window::parse("2024-11-05T09:00", "2024-11-05T12:00", &tz).unwrap();
    let snap = Snapshot {
        sites: vec![site(1, "a.example", None, ts("2024-10-01T00:00:00Z"))],
        campaigns: vec![Campaign {
            id: CampaignId(1),
            name: "ciie".into(),
            window,
            schedule: ScheduleSpec::cron("0 * * * *").unwrap(),
            paused: false,
            sites: vec![CampaignSite {
                site: SiteId(1),
                state: JobState::default(),
            }],
        }],
    };
    let (mut s, _, _) = Scheduler::load(snap, tz.clone(), Limits::default(), window.from - mins(5));
    let mut slots = Vec::new();
    let mut now = window.from - mins(5);
    while now < window.to + mins(120) {
        for r in start_all(&mut s, now) {
            slots.push(r.jobs[0].1);
            s.finish(r.run, &ok(), now).unwrap();
        }
        now += mins(5);
    }
    assert_eq!(
        slots,
        vec![
            ts("2024-11-05T09:00:00+08:00"),
            ts("2024-11-05T10:00:00+08:00"),
            ts("2024-11-05T11:00:00+08:00"),
        ]
    );
}

#[test]
fn paused_site_is_not_swept_until_resumed() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let mut snap = Snapshot {
        sites: vec![site(1, "a.example", Some("1h"), t0)],
        campaigns: vec![campaign(
            10,
            "2024-11-01T00:00:00Z",
            "2024-11-02T00:00:00Z",
            "1h",
            &[1],
        )],
    };
    snap.sites[0].paused = true;
    let mut s = load(snap.clone(), Limits::default(), t0);
    assert!(s.due(t0).is_empty());
    snap.sites[0].paused = false;
    s.sync(snap);
    assert_eq!(s.due(t0).len(), 1);
}

#[test]
fn sync_adds_and_removes_sites_keeping_running_state() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let snap = Snapshot {
        sites: vec![site(1, "a.example", Some("1h"), t0)],
        campaigns: vec![],
    };
    let mut s = load(snap.clone(), Limits::default(), t0);
    let runs = start_all(&mut s, t0);
    let mut more = snap.clone();
    more.sites
        .push(site(2, "b.example", Some("1h"), t0 + mins(1)));
    s.sync(more);
    let due = s.due(t0 + mins(1));
    assert_eq!(
        due.iter().map(|d| d.site).collect::<Vec<_>>(),
        vec![SiteId(2)],
        "site 1 still running"
    );
    s.sync(Snapshot::default());
    assert!(s.due(t0 + mins(1)).is_empty());
    // The run of a removed site still finishes cleanly.
    assert!(
        s.finish(runs[0].run, &ok(), t0 + mins(2))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn campaign_naming_an_unknown_site_is_reported() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let (_, _, problems) = Scheduler::load(
        Snapshot {
            sites: vec![],
            campaigns: vec![campaign(
                10,
                "2024-11-01T00:00:00Z",
                "2024-11-02T00:00:00Z",
                "1h",
                &[7],
            )],
        },
        TimeZone::UTC,
        Limits::default(),
        t0,
    );
    assert!(matches!(
        problems[..],
        [ScheduleError::CampaignSiteMissing {
            site: SiteId(7),
            ..
        }]
    ));
}

// ---------------------------------------------------------------- daemon

/// A runner whose runs wait on a gate (when given one) and that records overlap.
struct FakeRunner {
    gate: Option<Arc<Semaphore>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    per_site_overlap: std::sync::Mutex<std::collections::HashSet<SiteId>>,
    overlaps: AtomicUsize,
    fail_sites: Vec<SiteId>,
    ignore_cancel: bool,
}

impl FakeRunner {
    fn new(gate: Option<Arc<Semaphore>>) -> Self {
        Self {
            gate,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            per_site_overlap: Default::default(),
            overlaps: AtomicUsize::new(0),
            fail_sites: Vec::new(),
            ignore_cancel: false,
        }
    }
}

impl Runner for FakeRunner {
    async fn run(&self, run: RunRequest, cancel: CancellationToken) -> RunOutcome {
        let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(n, Ordering::SeqCst);
        if !self.per_site_overlap.lock().unwrap().insert(run.site) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        let outcome = match &self.gate {
            Some(gate) if self.ignore_cancel => {
                let _permit = gate.acquire().await;
                ok()
            }
            Some(gate) => tokio::select! {
                _ = gate.acquire() => ok(),
                _ = cancel.cancelled() => RunOutcome::Cancelled,
            },
            None => ok(),
        };
        let outcome = if self.fail_sites.contains(&run.site) {
            RunOutcome::Failed {
                error: format!("{} unreachable", run.url),
            }
        } else {
            outcome
        };
        self.per_site_overlap.lock().unwrap().remove(&run.site);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        outcome
    }
}

struct Harness {
    clock: ManualClock,
    store: MemoryStore,
    events: mpsc::UnboundedReceiver<DaemonEvent>,
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<DaemonReport>,
}

impl Harness {
    fn start(
        snapshot: Snapshot,
        runner: Arc<FakeRunner>,
        limits: Limits,
        t0: Timestamp,
        grace_ms: u64,
    ) -> Self {
        Self::start_with(snapshot, runner, limits, t0, grace_ms, None)
    }

    fn start_with(
        snapshot: Snapshot,
        runner: Arc<FakeRunner>,
        limits: Limits,
        t0: Timestamp,
        grace_ms: u64,
        max_run_time: Option<Duration>,
    ) -> Self {
        let clock = ManualClock::new(t0);
        let store = MemoryStore::new(snapshot.clone());
        let (scheduler, _, _) = Scheduler::load(snapshot, TimeZone::UTC, limits, t0);
        let (tx, events) = mpsc::unbounded_channel();
        let daemon = Daemon::new(
            scheduler,
            runner,
            Arc::new(clock.clone()),
            Arc::new(store.clone()),
            DaemonOptions {
                poll_interval: SignedDuration::from_hours(24),
                shutdown_grace: Duration::from_millis(grace_ms),
                max_run_time,
            },
        )
        .with_events(tx);
        let cancel = CancellationToken::new();
        let handle = tokio::spawn(daemon.run(cancel.clone()));
        Self {
            clock,
            store,
            events,
            cancel,
            handle,
        }
    }

    /// Next event other than Idle, or None once the daemon is idle with no running run.
    async fn next(&mut self) -> DaemonEvent {
        tokio::time::timeout(Duration::from_secs(20), self.events.recv())
            .await
            .expect("daemon event within 20 s")
            .expect("daemon alive")
    }

    /// Collects events until the daemon reports Idle with `running` runs in flight.
    async fn until_idle(&mut self, running: usize) -> Vec<DaemonEvent> {
        let mut out = Vec::new();
        loop {
            match self.next().await {
                DaemonEvent::Idle { running: r, .. } if r == running => return out,
                DaemonEvent::Idle { .. } => {}
                e => out.push(e),
            }
        }
    }
}

fn started(events: &[DaemonEvent]) -> Vec<(SiteId, Timestamp)> {
    events
        .iter()
        .filter_map(|e| match e {
            DaemonEvent::Started(r) => Some((r.site, r.jobs[0].1)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn daemon_runs_due_sites_within_bounds_and_catches_up_once() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let snap = Snapshot {
        sites: (1..=4)
            .map(|i| site(i, &format!("h{i}.example"), Some("1h"), t0))
            .collect(),
        campaigns: vec![],
    };
    let runner = Arc::new(FakeRunner::new(None));
    let mut h = Harness::start(
        snap,
        runner.clone(),
        Limits {
            global: 2,
            per_host: 1,
        },
        t0,
        100,
    );
    let ev = h.until_idle(0).await;
    let s = started(&ev);
    assert_eq!(s.len(), 4, "all four first sweeps ran: {ev:?}");
    assert!(runner.max_in_flight.load(Ordering::SeqCst) <= 2);
    // Jump five hours: each site runs once for the latest slot.
    h.clock.advance(mins(300));
    let mut ev = Vec::new();
    while started(&ev).len() < 4 {
        ev.extend(h.until_idle(0).await);
    }
    let s = started(&ev);
    assert_eq!(s.len(), 4);
    assert!(s.iter().all(|(_, slot)| *slot == t0 + mins(300)), "{s:?}");
    h.cancel.cancel();
    let report = h.handle.await.unwrap();
    assert_eq!(report.started, 8);
    assert!(report.dropped.is_empty());
    let stored = h.store.snapshot();
    assert!(
        stored
            .sites
            .iter()
            .all(|s| s.state.last_slot == Some(t0 + mins(300)))
    );
}

#[tokio::test]
async fn daemon_never_overlaps_runs_of_one_site() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let snap = Snapshot {
        sites: vec![site(1, "a.example", Some("10m"), t0)],
        campaigns: vec![campaign(
            5,
            "2024-11-01T00:00:00Z",
            "2024-11-02T00:00:00Z",
            "5m",
            &[1],
        )],
    };
    let gate = Arc::new(Semaphore::new(0));
    let runner = Arc::new(FakeRunner::new(Some(gate.clone())));
    let mut h = Harness::start(
        snap,
        runner.clone(),
        Limits {
            global: 4,
            per_host: 4,
        },
        t0,
        100,
    );
    let ev = h.until_idle(1).await;
    assert_eq!(started(&ev).len(), 1, "own schedule and campaign: one run");
    // An hour passes while the sweep runs: twelve campaign slots and six own slots.
    for _ in 0..6 {
        h.clock.advance(mins(10));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    gate.add_permits(1);
    let ev = h.until_idle(1).await;
    let s = started(&ev);
    assert_eq!(
        s.len(),
        1,
        "no run while one was in flight, then one catch-up run: {ev:?}"
    );
    gate.add_permits(1);
    let _ = h.until_idle(0).await;
    assert_eq!(runner.overlaps.load(Ordering::SeqCst), 0);
    h.cancel.cancel();
    let report = h.handle.await.unwrap();
    assert_eq!(report.started, 2);
}

#[tokio::test]
async fn daemon_failed_site_does_not_block_others() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let snap = Snapshot {
        sites: vec![
            site(1, "down.example", Some("1h"), t0),
            site(2, "up.example", Some("1h"), t0),
        ],
        campaigns: vec![],
    };
    let mut runner = FakeRunner::new(None);
    runner.fail_sites = vec![SiteId(1)];
    let mut h = Harness::start(
        snap,
        Arc::new(runner),
        Limits {
            global: 1,
            per_host: 1,
        },
        t0,
        100,
    );
    let mut ev = Vec::new();
    while started(&ev).len() < 2 {
        ev.extend(h.until_idle(0).await);
    }
    let failed = ev.iter().any(|e| {
        matches!(
            e,
            DaemonEvent::Finished {
                site: SiteId(1),
                outcome: RunOutcome::Failed { .. },
                ..
            }
        )
    });
    assert!(failed, "{ev:?}");
    h.cancel.cancel();
    h.handle.await.unwrap();
    let stored = h.store.snapshot();
    let down = stored.sites.iter().find(|s| s.id == SiteId(1)).unwrap();
    assert_eq!(down.state.last_outcome, Some(OutcomeKind::Failed));
    assert_eq!(
        down.state.last_slot,
        Some(t0),
        "slot consumed: retried at the next one"
    );
}

#[tokio::test]
async fn daemon_shutdown_waits_for_cooperative_runs_and_drops_the_rest() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let snap = Snapshot {
        sites: vec![site(1, "a.example", Some("1h"), t0)],
        campaigns: vec![],
    };
    // A runner that stops when told: finishes within the grace period, nothing dropped.
    let gate = Arc::new(Semaphore::new(0));
    let mut h = Harness::start(
        snap.clone(),
        Arc::new(FakeRunner::new(Some(gate))),
        Limits::default(),
        t0,
        5_000,
    );
    let _ = h.until_idle(1).await;
    h.cancel.cancel();
    let report = h.handle.await.unwrap();
    assert_eq!(report.finished_after_cancel, 1);
    assert!(report.dropped.is_empty());
    let st = &h.store.snapshot().sites[0].state;
    assert_eq!(st.last_outcome, Some(OutcomeKind::Interrupted));
    assert_eq!(
        st.last_slot, None,
        "cancelled run does not consume its slot"
    );
    assert_eq!(st.running_since, None);

    // A runner that ignores cancellation: dropped after the (short) grace period.
    let gate = Arc::new(Semaphore::new(0));
    let mut runner = FakeRunner::new(Some(gate));
    runner.ignore_cancel = true;
    let mut h = Harness::start(snap, Arc::new(runner), Limits::default(), t0, 50);
    let _ = h.until_idle(1).await;
    h.cancel.cancel();
    let report = h.handle.await.unwrap();
    assert_eq!(report.dropped.len(), 1);
    assert_eq!(report.dropped[0].site, SiteId(1));
    let st = &h.store.snapshot().sites[0].state;
    assert_eq!(st.last_outcome, Some(OutcomeKind::Interrupted));
    assert_eq!(st.running_since, None);
}

// ---------------------------------------------------------------- webhook

/// A tiny HTTP/1.1 server: answers 503 to the first `fail` requests, then 200; sends each
/// request body it received to the channel.
async fn webhook_server(fail: usize) -> (String, mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut seen = 0usize;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let Ok(n) = sock.read(&mut chunk).await else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break Some(
                            String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string(),
                        );
                    }
                }
            };
            let Some(body) = body else { continue };
            seen += 1;
            let status = if seen <= fail {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = tx.send(body);
            let _ = sock
                .write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .await;
        }
    });
    (format!("http://{addr}/hook"), rx)
}

fn notice(id: &str) -> ViolationNotice {
    ViolationNotice::new(
        id,
        "https://expo.example/",
        "https://expo.example/map.html",
        vec![NoticeRule {
            rule: "taiwan".into(),
            status: "violation".into(),
            message: "Taiwan in another colour".into(),
        }],
        ts("2024-11-05T01:00:00Z"),
    )
}

#[tokio::test]
async fn webhook_retries_with_backoff_until_accepted() {
    let (url, mut bodies) = webhook_server(2).await;
    let (notifier, task) = Notifier::spawn(NotifierOptions {
        url: url.parse().unwrap(),
        retries: 4,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        queue_size: 8,
        timeout: Duration::from_secs(10),
    })
    .unwrap();
    assert!(notifier.notify(notice("f-1")));
    drop(notifier);
    let counts = task.await.unwrap();
    assert_eq!(counts.delivered, 1);
    assert_eq!(counts.attempts, 3, "two 503s then accepted");
    assert_eq!(counts.failed, 0);
    let body = bodies.recv().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["format"], "mapsweep.webhook/1");
    assert_eq!(json["finding_id"], "f-1");
    assert_eq!(json["page_url"], "https://expo.example/map.html");
    assert_eq!(json["site_url"], "https://expo.example/");
    assert_eq!(json["rules"][0]["rule"], "taiwan");
}

#[tokio::test]
async fn webhook_gives_up_after_retries_and_never_blocks_the_caller() {
    let (url, _bodies) = webhook_server(usize::MAX).await;
    let (notifier, task) = Notifier::spawn(NotifierOptions {
        url: url.parse().unwrap(),
        retries: 1,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(5),
        queue_size: 1,
        timeout: Duration::from_secs(10),
    })
    .unwrap();
    // Queue of one and a failing webhook: the third notice at the latest is dropped, and
    // notify() returns at once every time.
    let accepted: Vec<bool> = (0..3)
        .map(|i| notifier.notify(notice(&format!("f-{i}"))))
        .collect();
    assert!(accepted.iter().any(|a| !a), "{accepted:?}");
    let dropped = notifier.counts().dropped;
    assert!(dropped >= 1);
    drop(notifier);
    let counts = task.await.unwrap();
    assert_eq!(counts.delivered, 0);
    assert_eq!(counts.failed + counts.dropped, 3);
}

#[test]
fn notify_config_is_validated() {
    use mapsweep::config::NotifyConfig;
    assert!(
        NotifierOptions::from_config(&NotifyConfig::default())
            .unwrap()
            .is_none()
    );
    let bad = NotifyConfig {
        webhook_url: Some("ftp://x/".into()),
        ..Default::default()
    };
    let err = NotifierOptions::from_config(&bad).unwrap_err().to_string();
    assert!(err.contains("ftp://x/"), "{err}");
}

// ---------------------------------------------------------------- sites and import

#[test]
fn duplicate_site_urls_normalise_to_one() {
    let same = [
        "https://Example.COM",
        "HTTPS://example.com:443/",
        "https://example.com/#top",
        "example.com",
        "https://example.com./",
    ];
    for s in same {
        assert_eq!(
            normalize_site_url(s).unwrap().as_str(),
            "https://example.com/",
            "{s}"
        );
    }
    assert_eq!(
        normalize_site_url("http://example.com:80/a?b=1#c")
            .unwrap()
            .as_str(),
        "http://example.com/a?b=1"
    );
    assert_eq!(
        normalize_site_url("http://example.com:8080")
            .unwrap()
            .as_str(),
        "http://example.com:8080/"
    );
    assert_eq!(
        normalize_site_url("https://进博会.中国/").unwrap().as_str(),
        "https://xn--6oq76hv92e.xn--fiqs8s/"
    );
    for bad in [
        "ftp://example.com/",
        "mailto:a@b.c",
        "https://user:pw@example.com/",
        "",
        "http://exa mple.com/",
    ] {
        let err = normalize_site_url(bad).unwrap_err().to_string();
        assert!(err.contains(&format!("{bad:?}")), "{err}");
    }
}

#[test]
fn csv_import_reports_rejected_lines_with_reasons() {
    let text = "# watched exhibitors\nurl,name,tags,every\n\
        https://a.example/,A Corp,expo;media,6h\n\
        \"https://b.example\",\"B, Ltd\",,\n\
        ftp://c.example/,C,,1h\n\
        https://d.example/,D,,0m\n\
        HTTPS://A.EXAMPLE,dup,,\n\
        https://e.example/,E,\"x|y\",1d\n";
    let report = parse_import(text, "sites.csv").unwrap();
    let urls: Vec<&str> = report.accepted.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        vec![
            "https://a.example/",
            "https://b.example/",
            "https://e.example/"
        ]
    );
    assert_eq!(report.accepted[0].tags, vec!["expo", "media"]);
    assert_eq!(
        report.accepted[0].schedule,
        Some(ScheduleSpec::every("6h").unwrap())
    );
    assert_eq!(report.accepted[1].name.as_deref(), Some("B, Ltd"));
    assert_eq!(report.accepted[2].tags, vec!["x", "y"]);
    let rejected: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert_eq!(rejected[0].0, 5);
    assert!(rejected[0].1.contains("http"));
    assert_eq!(rejected[1].0, 6);
    assert!(rejected[1].1.contains("invalid interval"));
    assert_eq!(rejected[2].0, 7);
    assert!(rejected[2].1.contains("duplicate of line 3"));
    let err = parse_import("url,colour\nhttps://a/,red\n", "x.csv")
        .unwrap_err()
        .to_string();
    assert!(err.contains("colour") && err.contains("x.csv"), "{err}");
}

#[test]
fn text_import_takes_one_url_per_line_with_comments() {
    let text = "# exhibitors\nhttps://a.example/\n\nb.example # added by hand\nnot a url at all\nhttps://a.example/#x\n";
    let report = parse_import(text, "sites.txt").unwrap();
    let urls: Vec<&str> = report.accepted.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(urls, vec!["https://a.example/", "https://b.example/"]);
    assert_eq!(report.rejected.len(), 2);
    assert_eq!(report.rejected[0].line, 5);
    assert_eq!(report.rejected[1].line, 6);
}

#[test]
fn example_config_parses_with_schedule_and_notify_defaults() {
    let text = include_str!("../mapsweep.example.toml");
    let config =
        mapsweep::config::Config::parse(text, std::path::Path::new("mapsweep.example.toml"))
            .unwrap();
    assert_eq!(config.schedule, mapsweep::config::ScheduleConfig::default());
    assert_eq!(config.schedule.timezone, "Asia/Shanghai");
    assert_eq!(config.notify, mapsweep::config::NotifyConfig::default());
}

// ---------------------------------------------------------------- change detection

/// Draws a map-like picture: sea, a land mass given as a polygon, an island, borders.
fn draw_map(
    land: &[(i32, i32)],
    island: (i32, i32),
    island_colour: [u8; 3],
) -> image::DynamicImage {
    use imageproc::drawing::{draw_filled_circle_mut, draw_hollow_polygon_mut, draw_polygon_mut};
    use imageproc::point::Point;
    let mut img = image::RgbImage::from_pixel(400, 300, image::Rgb([200, 225, 245]));
    let pts: Vec<Point<i32>> = land.iter().map(|(x, y)| Point::new(*x, *y)).collect();
    draw_polygon_mut(&mut img, &pts, image::Rgb([240, 200, 150]));
    let fpts: Vec<Point<f32>> = land
        .iter()
        .map(|(x, y)| Point::new(*x as f32, *y as f32))
        .collect();
    draw_hollow_polygon_mut(&mut img, &fpts, image::Rgb([90, 60, 40]));
    draw_filled_circle_mut(&mut img, island, 12, image::Rgb(island_colour));
    image::DynamicImage::ImageRgb8(img)
}

const LAND_A: [(i32, i32); 8] = [
    (40, 60),
    (180, 30),
    (330, 70),
    (360, 160),
    (300, 240),
    (170, 260),
    (80, 220),
    (30, 140),
];
const LAND_B: [(i32, i32); 6] = [
    (10, 250),
    (120, 90),
    (200, 20),
    (390, 40),
    (380, 120),
    (150, 290),
];

fn reencode_jpeg_resized(img: &image::DynamicImage) -> image::DynamicImage {
    let small = img.resize_exact(
        img.width() * 4 / 5,
        img.height() * 4 / 5,
        image::imageops::FilterType::Triangle,
    );
    let mut bytes = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 70);
    small.to_rgb8().write_with_encoder(enc).unwrap();
    image::load_from_memory(&bytes).unwrap()
}

#[test]
fn perceptual_hash_matches_reencoded_resized_map_and_not_a_different_one() {
    let original = draw_map(&LAND_A, (350, 230), [240, 200, 150]);
    // Through PNG first, as a web page would serve it.
    let mut png = Vec::new();
    original
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let original = image::load_from_memory(&png).unwrap();
    let reencoded = reencode_jpeg_resized(&original);
    assert_eq!(reencoded.width(), 320);
    let different = draw_map(&LAND_B, (60, 60), [240, 200, 150]);
    let h0 = changes::perceptual_hash(&original);
    let h1 = changes::perceptual_hash(&reencoded);
    let h2 = changes::perceptual_hash(&different);
    let d_same = changes::perceptual_distance(&h0, &h1).unwrap();
    let d_diff = changes::perceptual_distance(&h0, &h2).unwrap();
    println!("perceptual distance: re-encoded {d_same}, different map {d_diff}");
    assert!(
        d_same <= changes::PERCEPTUAL_MATCH_MAX_DISTANCE,
        "re-encoded distance {d_same}"
    );
    assert!(
        d_diff > changes::PERCEPTUAL_MATCH_MAX_DISTANCE,
        "different map distance {d_diff}"
    );
    assert!(changes::perceptually_same(&h0, &h1));
    assert!(!changes::perceptually_same(&h0, &h2));
    assert_eq!(changes::perceptual_distance(&h0, "other:abc"), None);
}

fn rec(
    page: &str,
    art: &str,
    content: &str,
    phash: Option<&str>,
    verdict: MapVerdict,
) -> MapRecord {
    MapRecord {
        page_url: page.into(),
        artifact_url: art.into(),
        blake3: blake3::hash(content.as_bytes()).to_hex().to_string(),
        phash: phash.map(str::to_string),
        verdict,
        finding_id: None,
    }
}

#[test]
fn changes_classify_maps_and_problem_maps() {
    use MapVerdict::*;
    let a = draw_map(&LAND_A, (350, 230), [240, 200, 150]);
    let ha = changes::perceptual_hash(&a);
    let ha_re = changes::perceptual_hash(&reencode_jpeg_resized(&a));
    let hb = changes::perceptual_hash(&draw_map(&LAND_B, (60, 60), [240, 200, 150]));
    let pages = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let prev = SweepMaps {
        pages: pages(&["/1", "/2", "/3", "/4", "/5"]),
        maps: vec![
            rec("/1", "/img/a.png", "A", Some(&ha), Violation), // same bytes next time
            rec("/2", "/img/a.png", "A", Some(&ha), Violation), // re-encoded next time
            rec("/3", "/img/m.png", "M1", Some(&hb), Compliant), // changed next time
            rec("/4", "/img/x.png", "X", Some(&hb), Violation), // fixed (gone)
            rec("/5", "/img/y.png", "Y", Some(&ha), Violation), // page not fetched
        ],
    };
    let cur = SweepMaps {
        pages: pages(&["/1", "/2", "/3", "/4", "/6"]),
        maps: vec![
            rec("/1", "/img/a.png", "A", Some(&ha), Violation),
            rec("/2", "/img/a.jpg", "A-reencoded", Some(&ha_re), Violation),
            rec("/3", "/img/m.png", "M2", Some(&ha), Violation), // same URL, new problem image
            rec("/6", "/img/z.jpg", "A-reencoded", Some(&ha_re), Violation), // new page, known image
        ],
    };
    let r = changes::compare(&prev, &cur);
    let kinds: Vec<(&str, MapChangeKind)> = r
        .maps
        .iter()
        .map(|m| (m.page_url.as_str(), m.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("/1", MapChangeKind::Unchanged),
            ("/2", MapChangeKind::Reencoded),
            ("/3", MapChangeKind::Changed),
            ("/4", MapChangeKind::Gone),
            ("/6", MapChangeKind::New),
        ]
    );
    let problems: Vec<(&str, ProblemChangeKind, bool)> = r
        .problems
        .iter()
        .map(|p| (p.page_url.as_str(), p.kind, p.known_elsewhere))
        .collect();
    assert_eq!(
        problems,
        vec![
            ("/1", ProblemChangeKind::StillPresent, false),
            ("/2", ProblemChangeKind::StillPresent, false),
            ("/3", ProblemChangeKind::Introduced, true), // that image was a problem on /1
            ("/4", ProblemChangeKind::Fixed, false),
            ("/6", ProblemChangeKind::Introduced, true),
        ]
    );
    assert_eq!(r.not_rechecked, vec!["/5".to_string()]);
    assert_eq!(r.counts.reencoded, 1);
    assert_eq!(r.counts.introduced, 2);
    assert_eq!(r.counts.fixed, 1);
}

#[test]
fn visually_similar_map_with_a_different_verdict_is_a_change_not_a_reencode() {
    use MapVerdict::*;
    // A problem map fixed by recolouring: near-identical in grey levels, different verdict.
    let bad = draw_map(&LAND_A, (350, 230), [120, 180, 90]);
    let fixed = draw_map(&LAND_A, (350, 230), [240, 200, 150]);
    let hb = changes::perceptual_hash(&bad);
    let hf = changes::perceptual_hash(&fixed);
    let prev = SweepMaps {
        pages: ["/p".to_string()].into(),
        maps: vec![rec("/p", "/m.png", "bad", Some(&hb), Violation)],
    };
    let cur = SweepMaps {
        pages: ["/p".to_string()].into(),
        maps: vec![rec("/p", "/m.png", "fixed", Some(&hf), Compliant)],
    };
    let r = changes::compare(&prev, &cur);
    assert_eq!(r.maps[0].kind, MapChangeKind::Changed);
    assert_eq!(r.problems.len(), 1);
    assert_eq!(r.problems[0].kind, ProblemChangeKind::Fixed);
}

#[test]
fn schedule_settings_come_from_config_and_bad_values_name_the_key() {
    use mapsweep::config::ScheduleConfig;
    let s = ScheduleSettings::from_config(&ScheduleConfig::default()).unwrap();
    assert_eq!(s.time_zone.iana_name(), Some("Asia/Shanghai"));
    assert_eq!(
        s.limits,
        Limits {
            global: 4,
            per_host: 1
        }
    );
    assert_eq!(s.daemon.poll_interval, SignedDuration::from_secs(30));
    let err = ScheduleSettings::from_config(&ScheduleConfig {
        timezone: "Mars/Olympus".into(),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("Mars/Olympus"), "{err}");
    let err = ScheduleSettings::from_config(&ScheduleConfig {
        per_host_concurrency: 0,
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("per_host_concurrency"), "{err}");
    let err = ScheduleSettings::from_config(&ScheduleConfig {
        poll_interval: "soon".into(),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("poll_interval") && err.contains("soon"),
        "{err}"
    );
}

#[test]
fn status_lists_running_then_next_due_with_descriptions() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let mut snap = Snapshot {
        sites: vec![
            site(1, "a.example", Some("1h"), t0),
            site(2, "b.example", Some("6h"), t0),
            site(3, "c.example", Some("1d"), t0),
        ],
        campaigns: vec![campaign(
            9,
            "2024-11-01T00:00:00Z",
            "2024-11-02T00:00:00Z",
            "30m",
            &[3],
        )],
    };
    snap.sites[1].state.last_slot = Some(t0);
    snap.sites[2].paused = true;
    let (mut s, _, _) = Scheduler::load(snap, shanghai(), Limits::default(), t0);
    let runs = start_all(&mut s, t0);
    assert_eq!(runs.len(), 1);
    let st = s.status();
    assert_eq!(st[0].job, JobKey::Site(SiteId(1)));
    assert!(st[0].running.is_some());
    assert_eq!(st[0].schedule, "every 1 hour");
    assert_eq!(st[1].job, JobKey::Site(SiteId(2)));
    assert_eq!(st[1].next_due, Some(t0 + mins(360)));
    let camp = st
        .iter()
        .find(|x| x.job == JobKey::Campaign(CampaignId(9), SiteId(3)))
        .unwrap();
    assert!(camp.paused);
    assert!(
        camp.schedule
            .contains("every 30 minutes from 2024-11-01 08:00"),
        "{}",
        camp.schedule
    );
}

#[tokio::test]
async fn daemon_restart_after_a_dropped_run_reruns_it_once() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let snap = Snapshot {
        sites: vec![site(1, "a.example", Some("1h"), t0)],
        campaigns: vec![],
    };
    let gate = Arc::new(Semaphore::new(0));
    let mut runner = FakeRunner::new(Some(gate));
    runner.ignore_cancel = true;
    let mut h = Harness::start(snap, Arc::new(runner), Limits::default(), t0, 20);
    let _ = h.until_idle(1).await;
    h.cancel.cancel();
    assert_eq!(h.handle.await.unwrap().dropped.len(), 1);
    // Restart three hours later from what the store kept.
    let persisted = h.store.snapshot();
    let later = t0 + mins(180);
    let mut h2 = Harness::start(
        persisted,
        Arc::new(FakeRunner::new(None)),
        Limits::default(),
        later,
        20,
    );
    let ev = h2.until_idle(0).await;
    let s = started(&ev);
    assert_eq!(s.len(), 1, "{ev:?}");
    assert_eq!(s[0].1, later, "one run for the latest slot, not four");
    h2.cancel.cancel();
    h2.handle.await.unwrap();
    let st = &h2.store.snapshot().sites[0].state;
    assert_eq!(st.last_slot, Some(later));
    assert_eq!(st.last_outcome, Some(OutcomeKind::Succeeded));
}

#[tokio::test]
async fn hung_sweep_is_stopped_after_max_run_time_and_frees_its_slot() {
    let t0 = ts("2024-11-01T00:00:00Z");
    let snap = Snapshot {
        sites: vec![
            site(1, "hung.example", Some("1h"), t0),
            site(2, "ok.example", Some("1h"), t0),
        ],
        campaigns: vec![],
    };
    // Site 1 never finishes on its own (gate never opened) but honours cancellation.
    let gate = Arc::new(Semaphore::new(0));
    let runner = Arc::new(FakeRunner::new(Some(gate.clone())));
    let mut h = Harness::start_with(
        snap,
        runner,
        Limits {
            global: 1,
            per_host: 1,
        },
        t0,
        1_000,
        Some(Duration::from_millis(30)),
    );
    let mut ev = Vec::new();
    while started(&ev).len() < 2 {
        ev.extend(h.until_idle(1).await);
    }
    let failed = ev.iter().find_map(|e| match e {
        DaemonEvent::Finished {
            site: SiteId(1),
            outcome: RunOutcome::Failed { error },
            ..
        } => Some(error.clone()),
        _ => None,
    });
    assert!(
        failed.is_some_and(|e| e.contains("longest run time")),
        "{ev:?}"
    );
    h.cancel.cancel();
    h.handle.await.unwrap();
}

/// The schedule wired to the database, the command line and the sweep: bad input on the
/// command line, the database-backed state store across a restart, and `mapsweep serve`
/// end to end against a loopback site and a loopback webhook receiver.
mod wired {
    use super::*;
    use mapsweep::reference::Reference;
    use mapsweep::reference::project::Projection;
    use mapsweep::reference::render::{RenderSpec, Style, render_png};
    use mapsweep::schedule::db::{NewSite, ScheduleDb};
    use serde_json::Value;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output, Stdio};
    use std::sync::Mutex;

    fn mapsweep(dir: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mapsweep"))
            .current_dir(dir)
            .arg("--data-dir")
            .arg(dir.join("evidence"))
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("MAPSWEEP_CONFIG")
            .env_remove("MAPSWEEP_DATA_DIR")
            .output()
            .expect("run mapsweep")
    }

    async fn run(dir: &Path, args: &[&str]) -> Output {
        let dir = dir.to_path_buf();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            mapsweep(&dir, &args)
        })
        .await
        .expect("join")
    }

    fn stderr(o: &Output) -> String {
        String::from_utf8_lossy(&o.stderr).to_string()
    }

    fn stdout(o: &Output) -> String {
        String::from_utf8_lossy(&o.stdout).to_string()
    }

    fn fails_with(o: &Output, needle: &str) {
        assert_eq!(o.status.code(), Some(2), "expected an error: {}", stderr(o));
        assert!(
            stderr(o).contains(needle),
            "error should mention {needle:?}: {}",
            stderr(o)
        );
    }

    #[test]
    fn site_and_campaign_commands_reject_bad_input_naming_it() {
        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path();
        fails_with(
            &mapsweep(d, &["site", "add", "example.com", "--every", "0s"]),
            "invalid interval \"0s\"",
        );
        fails_with(
            &mapsweep(d, &["site", "add", "example.com", "--every", "5 parsecs"]),
            "invalid interval",
        );
        fails_with(
            &mapsweep(d, &["site", "add", "example.com", "--cron", "61 * * * *"]),
            "invalid cron expression \"61 * * * *\"",
        );
        fails_with(
            &mapsweep(d, &["site", "add", "ftp://example.com/"]),
            "invalid site URL",
        );
        let ok = mapsweep(
            d,
            &[
                "site",
                "add",
                "Example.COM/news",
                "--every",
                "6h",
                "--tag",
                "expo",
            ],
        );
        assert!(ok.status.success(), "{}", stderr(&ok));
        assert!(stdout(&ok).contains("site 1 added: https://example.com/news"));
        // The same site spelled differently is a duplicate, named by its id.
        fails_with(
            &mapsweep(d, &["site", "add", "https://example.com:443/news#top"]),
            "already watched as site 1",
        );
        fails_with(
            &mapsweep(
                d,
                &[
                    "campaign",
                    "create",
                    "expo",
                    "--from",
                    "2024-11-10T00:00+08:00",
                    "--to",
                    "2024-11-01T00:00+08:00",
                    "--site",
                    "1",
                    "--every",
                    "1h",
                ],
            ),
            "ends before it starts",
        );
        fails_with(
            &mapsweep(
                d,
                &[
                    "campaign",
                    "create",
                    "expo",
                    "--from",
                    "2024-11-01T00:00+08:00",
                    "--to",
                    "2024-11-10T23:59+08:00",
                    "--tag",
                    "nosuchtag",
                    "--every",
                    "1h",
                ],
            ),
            "no watched site has tag \"nosuchtag\"",
        );
        fails_with(
            &mapsweep(
                d,
                &[
                    "campaign",
                    "create",
                    "expo",
                    "--from",
                    "2024-11-01T00:00+08:00",
                    "--to",
                    "2024-11-10T23:59+08:00",
                    "--site",
                    "7",
                    "--every",
                    "1h",
                ],
            ),
            "unknown site 7",
        );
        fails_with(
            &mapsweep(
                d,
                &[
                    "campaign",
                    "create",
                    "expo",
                    "--from",
                    "2024-11-01T00:00+08:00",
                    "--to",
                    "2024-11-10T23:59+08:00",
                    "--tag",
                    "expo",
                    "--cron",
                    "0 0 30 2 *",
                ],
            ),
            "invalid cron expression",
        );
        let ok = mapsweep(
            d,
            &[
                "campaign",
                "create",
                "expo",
                "--from",
                "2024-11-01T00:00+08:00",
                "--to",
                "2024-11-10T23:59+08:00",
                "--tag",
                "expo",
                "--every",
                "1h",
                "--format",
                "json",
            ],
        );
        assert!(ok.status.success(), "{}", stderr(&ok));
        let c: Value = serde_json::from_str(&stdout(&ok)).expect("json");
        assert_eq!(c["from"], "2024-10-31T16:00:00Z", "stored in UTC");
        assert_eq!(c["sites"], serde_json::json!([1]));
        fails_with(
            &mapsweep(
                d,
                &[
                    "campaign",
                    "create",
                    "expo",
                    "--from",
                    "2024-11-01",
                    "--to",
                    "2024-11-02",
                    "--site",
                    "1",
                    "--every",
                    "1h",
                ],
            ),
            "already exists",
        );
        // Import: the good lines are added, the rest reported with line numbers.
        std::fs::write(
            d.join("sites.txt"),
            "# watched\nexample.org\nhttps://example.com/news\nnot a url\nexample.org/\n",
        )
        .expect("write import");
        let imp = mapsweep(d, &["site", "import", "sites.txt", "--every", "1d"]);
        assert!(imp.status.success(), "{}", stderr(&imp));
        let out = stdout(&imp);
        assert!(out.contains("1 sites added, 3 lines rejected"), "{out}");
        assert!(
            out.contains("rejected line 3: https://example.com/news is already watched as site 1"),
            "{out}"
        );
        assert!(out.contains("rejected line 4"), "{out}");
        assert!(out.contains("rejected line 5"), "{out}");
        // Remove keeps the row; it leaves the schedule.
        let rm = mapsweep(d, &["site", "remove", "1"]);
        assert!(rm.status.success(), "{}", stderr(&rm));
        let list = mapsweep(d, &["site", "list", "--format", "json"]);
        let sites: Value = serde_json::from_str(&stdout(&list)).expect("json");
        assert_eq!(sites.as_array().map(Vec::len), Some(1));
        fails_with(&mapsweep(d, &["site", "resume", "1"]), "site 1 was removed");
        fails_with(&mapsweep(d, &["site", "show", "99"]), "unknown site 99");
        fails_with(
            &mapsweep(d, &["changes", "--site", "2", "--since", "yesterday"]),
            "invalid time",
        );
    }

    /// Another process holding a write transaction on the database: the command waits for
    /// SQLite's busy timeout (30 s), then fails naming the database.
    #[test]
    fn database_locked_by_another_process_is_a_clear_error_naming_it() {
        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path();
        let ok = mapsweep(d, &["site", "add", "example.com"]);
        assert!(ok.status.success(), "{}", stderr(&ok));
        let db = d.join("evidence/mapsweep.db");
        let holder = Command::new("sqlite3")
            .arg(&db)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut holder) = holder else {
            // .ci/run installs sqlite3; elsewhere a missing one only skips this test
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "database_locked_by_another_process_is_a_clear_error_naming_it: sqlite3 is required in CI"
            );
            eprintln!(
                "SKIPPED database_locked_by_another_process_is_a_clear_error_naming_it: no sqlite3 command"
            );
            return;
        };
        {
            use std::io::{BufRead, Write};
            let stdin = holder.stdin.as_mut().expect("stdin");
            stdin
                .write_all(b"BEGIN EXCLUSIVE;\nUPDATE watched_sites SET name = 'held' WHERE site_id = 1;\nSELECT 'locked';\n")
                .expect("write sqlite3");
            stdin.flush().expect("flush");
            let mut line = String::new();
            std::io::BufReader::new(holder.stdout.as_mut().expect("stdout"))
                .read_line(&mut line)
                .expect("sqlite3 answers");
            assert_eq!(line.trim(), "locked");
        }
        let out = mapsweep(d, &["site", "add", "example.org"]);
        let _ = holder.kill();
        let _ = holder.wait();
        fails_with(&out, "is locked by another process");
        assert!(
            stderr(&out).contains("mapsweep.db"),
            "names the database: {}",
            stderr(&out)
        );
        // Nothing was lost: the first site is still there, the second can be added now.
        let again = mapsweep(d, &["site", "add", "example.org"]);
        assert!(again.status.success(), "{}", stderr(&again));
    }

    #[tokio::test]
    async fn db_state_store_resumes_after_restart_with_one_catch_up_run() {
        let t = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", t.path().join("s.db").display());
        let t0 = ts("2026-01-01T00:00:00Z");
        let tz = shanghai();
        let limits = Limits::default();
        {
            let pool = mapsweep::store::open(&url, true).await.expect("open");
            let db = ScheduleDb::new(pool, "s.db");
            let a = db
                .add_site(
                    &NewSite {
                        url: "https://a.example/".into(),
                        schedule: Some(ScheduleSpec::every("1h").expect("interval")),
                        ..NewSite::default()
                    },
                    t0,
                )
                .await
                .expect("add a");
            let b = db
                .add_site(
                    &NewSite {
                        url: "https://b.example/".into(),
                        schedule: Some(ScheduleSpec::every("1h").expect("interval")),
                        ..NewSite::default()
                    },
                    t0,
                )
                .await
                .expect("add b");
            assert_eq!((a.id, b.id), (1, 2));
            let (mut s, changes, _) =
                Scheduler::load(db.snapshot().await.expect("snap"), tz.clone(), limits, t0);
            db.save_changes(&changes).await.expect("save");
            let runs = start_all(&mut s, t0);
            assert_eq!(runs.len(), 2);
            // Site a finishes; site b is mid-run when the process "dies".
            let mut saved = Vec::new();
            for r in &runs {
                saved.push(JobStateChange {
                    job: JobKey::Site(r.site),
                    state: s.job_state(JobKey::Site(r.site)).cloned().expect("state"),
                });
            }
            db.save(saved).await.expect("save running");
            let fin = s.finish(runs[0].run, &ok(), t0 + mins(5)).expect("finish");
            db.save(fin).await.expect("save finish");
            db.pool().close().await;
        }
        // Restart five and a half hours later: a (5 missed slots) runs once, under the latest
        // missed slot; b (interrupted) runs again.
        let now = t0 + mins(330);
        let pool = mapsweep::store::open(&url, false).await.expect("reopen");
        let db = ScheduleDb::new(pool, "s.db");
        let (mut s, changes, _) =
            Scheduler::load(db.snapshot().await.expect("snap"), tz, limits, now);
        assert_eq!(changes.len(), 1, "b was interrupted");
        assert_eq!(
            changes[0].state.last_outcome,
            Some(OutcomeKind::Interrupted)
        );
        db.save(changes).await.expect("save");
        let due = s.due(now);
        assert_eq!(due.len(), 2);
        let a = due.iter().find(|d| d.site == SiteId(1)).expect("a due");
        assert_eq!(a.jobs, vec![(JobKey::Site(SiteId(1)), t0 + mins(300))]);
        let runs = start_all(&mut s, now);
        for r in &runs {
            let fin = s.finish(r.run, &ok(), now + mins(1)).expect("finish");
            db.save(fin).await.expect("save");
        }
        assert!(
            s.due(now + mins(2)).is_empty(),
            "caught up once, not once per missed slot"
        );
        let snap = db.snapshot().await.expect("snap");
        let a = snap.sites.iter().find(|x| x.id == SiteId(1)).expect("a");
        assert_eq!(a.state.last_slot, Some(t0 + mins(300)));
        assert_eq!(a.state.running_since, None);
        assert_eq!(s.next_due(JobKey::Site(SiteId(1))), Some(t0 + mins(360)));
    }

    fn asia(violations: bool) -> Vec<u8> {
        let r = Reference::get().expect("reference data");
        let mut s = RenderSpec::new(
            Projection::PlateCarree,
            [66.0, 6.0, 100.0, 37.0],
            900,
            820,
            Style::highlight(),
        );
        s.aksai_chin_as_india = violations;
        s.zangnan_as_india = violations;
        render_png(r, &s)
    }

    /// The same pixels written by another PNG encoder setting: other bytes, same picture.
    fn reencode(png: &[u8]) -> Vec<u8> {
        use image::ImageEncoder;
        let img = image::load_from_memory(png).expect("decode").to_rgb8();
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new_with_quality(
            &mut out,
            image::codecs::png::CompressionType::Fast,
            image::codecs::png::FilterType::NoFilter,
        )
        .write_image(
            &img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode");
        out
    }

    /// A site whose map image can be swapped while it runs, and a webhook receiver.
    async fn serve_site(map: Arc<Mutex<Vec<u8>>>) -> std::net::SocketAddr {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new()
            .route(
                "/",
                get(|| async {
                    axum::response::Html(
                        "<!doctype html><html><head><title>Expo exhibitor</title></head><body>\
                         <h1>Our markets</h1><img src=\"/img/asia.png\" alt=\"map\"></body></html>",
                    )
                }),
            )
            .route(
                "/img/asia.png",
                get(move || {
                    let map = map.clone();
                    async move {
                        let bytes = map.lock().map(|m| m.clone()).unwrap_or_default();
                        ([(axum::http::header::CONTENT_TYPE, "image/png")], bytes)
                    }
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    async fn serve_webhook(got: Arc<Mutex<Vec<Value>>>) -> std::net::SocketAddr {
        use axum::routing::post;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().route(
            "/hook",
            post(move |body: axum::body::Bytes| {
                let got = got.clone();
                async move {
                    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if let Ok(mut g) = got.lock() {
                        g.push(value);
                    }
                    "ok"
                }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    fn json_out(o: &Output) -> Value {
        assert!(o.status.success(), "{}", stderr(o));
        serde_json::from_str(&stdout(o)).expect("JSON output")
    }

    /// Polls `check` until it gives a value (real time, generous bound; not a timing assertion).
    async fn wait_for<T, F, Fut>(what: &str, log: &Path, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        loop {
            if let Some(v) = check().await {
                return v;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "gave up waiting for {what}; serve log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    fn succeeded_runs(show: &Value) -> Vec<i64> {
        show["runs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["outcome"] == "succeeded")
                    .filter_map(|r| r["id"].as_i64())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serve_sweeps_on_schedule_reports_the_change_and_notifies_the_webhook() {
        let t = tempfile::tempdir().expect("tempdir");
        let d: PathBuf = t.path().to_path_buf();
        let ok_map = asia(false);
        let bad_map = asia(true);
        let bad_again = reencode(&bad_map);
        assert_ne!(bad_map, bad_again, "re-encoding changes the bytes");
        let map = Arc::new(Mutex::new(ok_map));
        let site = serve_site(map.clone()).await;
        let got = Arc::new(Mutex::new(Vec::new()));
        let hook = serve_webhook(got.clone()).await;
        std::fs::write(
            d.join("mapsweep.toml"),
            format!(
                "[schedule]\npoll_interval = \"1s\"\nshutdown_grace = \"20s\"\n\n\
                 [notify]\nwebhook_url = \"http://{hook}/hook\"\ninitial_backoff = \"1s\"\n\n\
                 [crawl]\nper_host_delay_ms = 0\n"
            ),
        )
        .expect("config");
        let site_url = format!("http://{site}/");
        let add = run(
            &d,
            &[
                "site", "add", &site_url, "--every", "1s", "--render", "never", "--depth", "1",
            ],
        )
        .await;
        assert!(add.status.success(), "{}", stderr(&add));
        // An unreachable site beside it: recorded as failed, retried, never blocking site 1.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let dead_url = format!("http://{}/", closed.local_addr().expect("addr"));
        drop(closed);
        let add = run(
            &d,
            &[
                "site", "add", &dead_url, "--every", "1s", "--render", "never", "--depth", "1",
            ],
        )
        .await;
        assert!(add.status.success(), "{}", stderr(&add));

        let log = d.join("serve.log");
        let mut daemon = Command::new(env!("CARGO_BIN_EXE_mapsweep"))
            .current_dir(&d)
            .arg("--data-dir")
            .arg(d.join("evidence"))
            .args(["-v", "serve"])
            .env_remove("DATABASE_URL")
            .env_remove("MAPSWEEP_CONFIG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start serve");

        // A run of the compliant page first.
        let first = wait_for("a first successful run", &log, || async {
            let show = json_out(&run(&d, &["site", "show", "1", "--format", "json"]).await);
            succeeded_runs(&show).into_iter().max()
        })
        .await;
        // The site now shows a problem map: a later run reports it and notifies.
        if let Ok(mut m) = map.lock() {
            *m = bad_map.clone();
        }
        let introduced = wait_for("the introduced problem map", &log, || async {
            let ch = json_out(&run(&d, &["changes", "--site", "1", "--format", "json"]).await);
            ch["changes"].as_array().and_then(|a| {
                a.iter()
                    .find(|c| c["category"] == "problem" && c["kind"] == "introduced")
                    .cloned()
            })
        })
        .await;
        assert!(introduced["run_id"].as_i64() > Some(first));
        assert_eq!(introduced["page_url"], site_url.as_str());
        let finding = introduced["finding_id"]
            .as_str()
            .expect("finding id")
            .to_string();
        let notice = wait_for("the webhook notice", &log, || async {
            got.lock().ok().and_then(|g| g.first().cloned())
        })
        .await;
        assert_eq!(notice["format"], "mapsweep.webhook/1");
        assert_eq!(notice["finding_id"], finding.as_str());
        assert_eq!(notice["site_id"], 1);
        assert_eq!(notice["page_url"], site_url.as_str());
        let rules: Vec<&str> = notice["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .filter_map(|r| r["rule"].as_str())
            .collect();
        assert!(
            !rules.is_empty(),
            "the notice names the broken rules: {notice}"
        );

        // The same problem map re-encoded is not new.
        let swap_run = introduced["run_id"].as_i64().expect("run id");
        if let Ok(mut m) = map.lock() {
            *m = bad_again;
        }
        wait_for("two more runs after the re-encode", &log, || async {
            let show = json_out(&run(&d, &["site", "show", "1", "--format", "json"]).await);
            let runs = succeeded_runs(&show);
            (runs.iter().filter(|r| **r > swap_run + 1).count() >= 1).then_some(())
        })
        .await;

        // SIGTERM: a clean stop.
        let pid = daemon.id().to_string();
        let kill = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(kill.success());
        let status = wait_for("serve to stop", &log, || {
            let s = daemon.try_wait().expect("try_wait");
            async move { s }
        })
        .await;
        let serve_log = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(status.success(), "serve exits 0 on SIGTERM: {serve_log}");
        assert!(serve_log.contains("stopped:"), "{serve_log}");

        let ch = json_out(&run(&d, &["changes", "--site", "1", "--format", "json"]).await);
        let introduced: Vec<&Value> = ch["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .filter(|c| c["category"] == "problem" && c["kind"] == "introduced")
            .collect();
        assert_eq!(
            introduced.len(),
            1,
            "a re-encoded problem map is not new: {ch}"
        );
        assert!(
            ch["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .any(|c| c["category"] == "map" && c["kind"] == "changed"),
            "the swapped map is reported as changed: {ch}"
        );
        let n = got.lock().map(|g| g.len()).unwrap_or(0);
        assert_eq!(n, 1, "one notice for the one new violation");
        let text = run(&d, &["changes", "--site", "1"]).await;
        assert!(stdout(&text).contains("introduced"), "{}", stdout(&text));
        let status_out = run(&d, &["status"]).await;
        assert!(status_out.status.success(), "{}", stderr(&status_out));
        assert!(stdout(&status_out).contains("Last result per site"));
        let dead = json_out(&run(&d, &["site", "show", "2", "--format", "json"]).await);
        let failed: Vec<&Value> = dead["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .filter(|r| r["outcome"] == "failed")
            .collect();
        assert!(
            failed.len() >= 2,
            "the unreachable site is retried at later slots: {dead}"
        );
        assert!(
            failed
                .iter()
                .all(|r| r["error"].as_str().is_some_and(|e| e.contains(&dead_url))),
            "each failed run names the site's URL: {dead}"
        );
        assert!(succeeded_runs(&dead).is_empty(), "{dead}");
        let verify = run(&d, &["verify"]).await;
        assert!(
            verify.status.success(),
            "verify after serve: {}{}",
            stdout(&verify),
            stderr(&verify)
        );
    }
}
