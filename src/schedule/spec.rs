//! Schedule specifications (`--every 6h`, `--cron "0 */6 * * *"`), campaign windows and the
//! slot arithmetic the scheduler is built on.
//!
//! Rules kept here:
//! - Intervals are whole seconds, written as one or more `<number><unit>` pairs with units
//!   `s`, `m`, `h`, `d` (`90s`, `30m`, `1h30m`, `1d`); zero, negative and unknown units are
//!   errors naming the input.
//! - Cron expressions have exactly five fields (minute hour day-of-month month day-of-week,
//!   Vixie semantics: day-of-month OR day-of-week) and are evaluated in the configured IANA time
//!   zone, so `0 9 * * *` means 09:00 local time across daylight saving changes. A wall-clock
//!   time skipped by a spring-forward gap runs at the first instant after the gap (02:30 on
//!   the day Berlin jumps from 02:00 to 03:00 runs at 03:00); a time repeated by a fall-back
//!   fold runs once, at its first occurrence. An expression that can
//!   never match (`0 0 30 2 *`) is rejected when parsed.
//! - All instants are [`jiff::Timestamp`]s (UTC); the zone only matters for cron matching and for
//!   reading times written without an offset.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::ScheduleError;

/// Longest accepted interval (a year): longer is almost surely a typo.
const MAX_INTERVAL_SECS: i64 = 366 * 86_400;

/// A positive whole-second interval (`--every`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    secs: i64,
}

impl Interval {
    /// An interval of `secs` seconds; zero, negative and over a year are errors.
    pub fn from_secs(secs: i64) -> Result<Self, ScheduleError> {
        if secs <= 0 || secs > MAX_INTERVAL_SECS {
            return Err(ScheduleError::InvalidInterval {
                input: format!("{secs}s"),
                reason: "must be between 1s and 366d".to_string(),
            });
        }
        Ok(Self { secs })
    }

    /// Parses `90s`, `30m`, `6h`, `1d`, `1h30m` (case-insensitive, spaces around allowed).
    pub fn parse(input: &str) -> Result<Self, ScheduleError> {
        let err = |reason: &str| ScheduleError::InvalidInterval {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let text = input.trim().to_ascii_lowercase();
        if text.is_empty() {
            return Err(err("empty; expected e.g. 30m, 6h, 1d"));
        }
        if text.starts_with('-') {
            return Err(err("must be positive"));
        }
        let mut total: i64 = 0;
        let mut digits = String::new();
        for c in text.chars() {
            match c {
                '0'..='9' => digits.push(c),
                's' | 'm' | 'h' | 'd' => {
                    if digits.is_empty() {
                        return Err(err("a unit needs a number before it, e.g. 30m"));
                    }
                    let n: i64 = digits.parse().map_err(|_| err("number too large"))?;
                    digits.clear();
                    let unit = match c {
                        's' => 1,
                        'm' => 60,
                        'h' => 3600,
                        _ => 86_400,
                    };
                    total = n
                        .checked_mul(unit)
                        .and_then(|v| total.checked_add(v))
                        .ok_or_else(|| err("number too large"))?;
                }
                ' ' => {}
                _ => return Err(err("expected <number><unit> with unit s, m, h or d")),
            }
        }
        if !digits.is_empty() {
            return Err(err("missing unit (s, m, h or d) after the number"));
        }
        if total == 0 {
            return Err(err("must be longer than zero"));
        }
        if total > MAX_INTERVAL_SECS {
            return Err(err("longer than a year"));
        }
        Ok(Self { secs: total })
    }

    /// Length in seconds.
    pub fn as_secs(self) -> i64 {
        self.secs
    }

    /// Length as a jiff duration.
    pub fn duration(self) -> SignedDuration {
        SignedDuration::from_secs(self.secs)
    }

    /// Long English form: `30 minutes`, `1 hour 30 minutes`.
    pub fn describe(self) -> String {
        let mut parts = Vec::new();
        let mut rest = self.secs;
        for (unit, name) in [
            (86_400, "day"),
            (3600, "hour"),
            (60, "minute"),
            (1, "second"),
        ] {
            let n = rest / unit;
            rest %= unit;
            if n > 0 {
                parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
            }
        }
        parts.join(" ")
    }
}

impl fmt::Display for Interval {
    /// Canonical short form, largest units first: `1h30m`, `90s` shows as `1m30s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.secs;
        for (unit, name) in [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")] {
            let n = rest / unit;
            rest %= unit;
            if n > 0 {
                write!(f, "{n}{name}")?;
            }
        }
        Ok(())
    }
}

/// A parsed five-field cron expression.
#[derive(Clone)]
pub struct CronSpec {
    expr: String,
    cron: croner::Cron,
}

impl fmt::Debug for CronSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronSpec").field(&self.expr).finish()
    }
}

impl PartialEq for CronSpec {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}
impl Eq for CronSpec {}

impl CronSpec {
    /// Parses a five-field cron expression; six or seven fields (seconds, years) are rejected,
    /// as is an expression that never matches.
    pub fn parse(input: &str) -> Result<Self, ScheduleError> {
        let expr = input.split_whitespace().collect::<Vec<_>>().join(" ");
        let err = |reason: String| ScheduleError::InvalidCron {
            input: input.to_string(),
            reason,
        };
        let fields = expr.split(' ').filter(|f| !f.is_empty()).count();
        if !expr.starts_with('@') && fields != 5 {
            return Err(err(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {fields}"
            )));
        }
        let parser = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .build();
        let cron = parser.parse(&expr).map_err(|e| err(e.to_string()))?;
        let spec = Self { expr, cron };
        // An expression like `0 0 30 2 *` parses but never matches: find out now, not in the
        // daemon. Ten years from a fixed instant covers every leap-year pattern.
        let probe = Timestamp::from_second(946_684_800).unwrap_or(Timestamp::UNIX_EPOCH);
        if spec.next_after(probe, &TimeZone::UTC).is_err() {
            return Err(err("never matches any date".to_string()));
        }
        Ok(spec)
    }

    /// The expression as given (whitespace normalised).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    fn find(
        &self,
        t: Timestamp,
        tz: &TimeZone,
        inclusive: bool,
        forward: bool,
    ) -> Option<Timestamp> {
        let start = Zdt(t.to_zoned_datetime(tz.clone()));
        let found = if forward {
            self.cron.find_next_occurrence(&start, inclusive)
        } else {
            self.cron.find_previous_occurrence(&start, inclusive)
        };
        found.ok().map(|z| z.0.timestamp())
    }

    /// First matching instant strictly after `t`.
    pub fn next_after(&self, t: Timestamp, tz: &TimeZone) -> Result<Timestamp, ScheduleError> {
        // croner works to the second: a `t` with a fraction is moved to its whole second
        // first, so "strictly after 10:00:00.5" is 10:00:01 or later, never 10:00:00.
        let whole = Timestamp::from_second(t.as_second()).unwrap_or(t);
        self.find(whole, tz, false, true)
            .ok_or_else(|| ScheduleError::NoNextSlot {
                spec: format!("cron {}", self.expr),
                after: t,
            })
    }

    /// Human description, e.g. for `status`.
    pub fn describe(&self) -> String {
        self.cron.describe()
    }
}

/// How often a site (or a campaign) is swept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleSpec {
    /// A fixed interval, counted from an anchor (a site's creation, a campaign's start).
    Every(Interval),
    /// A five-field cron expression in the configured time zone (boxed: a parsed cron is
    /// large, and most of 10,000 watched sites use intervals).
    Cron(Box<CronSpec>),
}

impl ScheduleSpec {
    /// From `--every` text.
    pub fn every(input: &str) -> Result<Self, ScheduleError> {
        Interval::parse(input).map(Self::Every)
    }

    /// From `--cron` text.
    pub fn cron(input: &str) -> Result<Self, ScheduleError> {
        CronSpec::parse(input).map(|c| Self::Cron(Box::new(c)))
    }

    /// The first slot strictly after `t`. For an interval that is `t + interval` (the grid is
    /// anchored at `t`, which the scheduler always passes as the last slot, itself on the grid).
    pub fn next_after(&self, t: Timestamp, tz: &TimeZone) -> Result<Timestamp, ScheduleError> {
        match self {
            Self::Every(i) => t
                .checked_add(i.duration())
                .map_err(|_| ScheduleError::NoNextSlot {
                    spec: self.to_string(),
                    after: t,
                }),
            Self::Cron(c) => c.next_after(t, tz),
        }
    }

    /// The first slot at or after `anchor`: the anchor itself for an interval (a newly added
    /// site is swept at once), the first match for cron.
    pub fn first_at_or_after(
        &self,
        anchor: Timestamp,
        tz: &TimeZone,
    ) -> Result<Timestamp, ScheduleError> {
        match self {
            Self::Every(_) => Ok(anchor),
            Self::Cron(c) => {
                let whole = Timestamp::from_second(anchor.as_second()).unwrap_or(anchor);
                let from = if whole < anchor {
                    whole
                        .checked_add(SignedDuration::from_secs(1))
                        .unwrap_or(anchor)
                } else {
                    whole
                };
                c.find(from, tz, true, true)
                    .ok_or_else(|| ScheduleError::NoNextSlot {
                        spec: self.to_string(),
                        after: anchor,
                    })
            }
        }
    }

    /// The latest slot at or before `now`, given a slot `on_grid` at or before `now` (for an
    /// interval the grid is `on_grid + k * interval`). This is the slot a catch-up run is
    /// recorded under, so any number of missed slots collapse into one run.
    pub fn latest_at_or_before(
        &self,
        on_grid: Timestamp,
        now: Timestamp,
        tz: &TimeZone,
    ) -> Timestamp {
        if now <= on_grid {
            return on_grid;
        }
        match self {
            Self::Every(i) => {
                let elapsed = now.duration_since(on_grid).as_nanos();
                let step = i128::from(i.as_secs()) * 1_000_000_000;
                let k = elapsed / step;
                let offset = i64::try_from(k * step).unwrap_or(i64::MAX);
                on_grid
                    .checked_add(SignedDuration::from_nanos(offset))
                    .unwrap_or(on_grid)
            }
            Self::Cron(c) => c
                .find(now, tz, true, false)
                .filter(|t| *t >= on_grid)
                .unwrap_or(on_grid),
        }
    }

    /// Human description for `status`: `every 6 hours`, `cron "0 */6 * * *" (…) in Asia/Shanghai`.
    pub fn describe(&self, tz: &TimeZone) -> String {
        match self {
            Self::Every(i) => format!("every {}", i.describe()),
            Self::Cron(c) => format!(
                "cron \"{}\" ({}) in {}",
                c.expr(),
                c.describe().trim_end_matches('.'),
                tz.iana_name().unwrap_or("UTC")
            ),
        }
    }
}

impl fmt::Display for ScheduleSpec {
    /// Storage form: `every 1h30m` or `cron 0 */6 * * *`; [`FromStr`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Every(i) => write!(f, "every {i}"),
            Self::Cron(c) => write!(f, "cron {}", c.expr()),
        }
    }
}

impl FromStr for ScheduleSpec {
    type Err = ScheduleError;
    /// Reads the storage form (`every 30m`, `cron 0 * * * *`); a bare interval (`30m`) or a
    /// bare five-field expression are accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if let Some(rest) = t.strip_prefix("every ") {
            Self::every(rest)
        } else if let Some(rest) = t.strip_prefix("cron ") {
            Self::cron(rest)
        } else if t.contains(' ') || t.starts_with('@') {
            Self::cron(t)
        } else {
            Self::every(t)
        }
    }
}

impl Serialize for ScheduleSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ScheduleSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Loads an IANA time zone by name (`Asia/Shanghai`, `Europe/Berlin`, `UTC`).
pub fn time_zone(name: &str) -> Result<TimeZone, ScheduleError> {
    TimeZone::get(name).map_err(|e| ScheduleError::UnknownTimeZone {
        name: name.to_string(),
        reason: e.to_string(),
    })
}

/// A campaign window `[from, to)`: a slot exactly at `from` runs, none at or after `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Window {
    /// A window; `to` must be after `from`.
    pub fn new(from: Timestamp, to: Timestamp) -> Result<Self, ScheduleError> {
        if to <= from {
            return Err(ScheduleError::WindowEndsBeforeStart {
                from: from.to_string(),
                to: to.to_string(),
            });
        }
        Ok(Self { from, to })
    }

    /// Parses `--from`/`--to` text (see [`parse_instant`]); a bare date as `to` means the
    /// end of that day (the whole day is in the window).
    pub fn parse(from: &str, to: &str, tz: &TimeZone) -> Result<Self, ScheduleError> {
        let f = parse_instant(from, tz, false)?;
        let t = parse_instant(to, tz, true)?;
        if t <= f {
            return Err(ScheduleError::WindowEndsBeforeStart {
                from: from.to_string(),
                to: to.to_string(),
            });
        }
        Ok(Self { from: f, to: t })
    }

    /// Whether `t` is inside `[from, to)`.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.to
    }
}

/// Reads a time given on the command line: RFC 3339 with an offset, seconds optional
/// (`2024-11-01T00:00+08:00`, `2024-11-01T00:00:00Z`); a local date-time without offset
/// (`2024-11-01T08:30`, `2024-11-01 08:30`) read in `tz` (a time skipped by a DST gap moves
/// forward by the gap, a repeated one takes the first occurrence); or a bare date
/// (`2024-11-01`): its first instant, or with `end_of_day` the first instant of the next day.
pub fn parse_instant(
    input: &str,
    tz: &TimeZone,
    end_of_day: bool,
) -> Result<Timestamp, ScheduleError> {
    let text = input.trim();
    let err = |reason: String| ScheduleError::InvalidTime {
        input: input.to_string(),
        reason,
    };
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    if text.contains('T') || text.contains(' ') || text.contains(':') {
        // A date-time; refuse one with an offset jiff could not read above rather than
        // silently dropping the offset.
        let dt: DateTime = text.parse().map_err(|e: jiff::Error| err(e.to_string()))?;
        let after_date = &text[text.len().min(10)..];
        if after_date.contains('+')
            || after_date.contains('Z')
            || after_date.matches('-').count() > 0
        {
            return Err(err("unreadable UTC offset".to_string()));
        }
        return dt
            .to_zoned_datetime(tz.clone())
            .map(|z| z.timestamp())
            .map_err(|e| err(e.to_string()));
    }
    let date: Date = text
        .parse()
        .map_err(|e: jiff::Error| err(format!("{e}; expected e.g. 2024-11-01T00:00+08:00")))?;
    let day = if end_of_day {
        date.tomorrow().map_err(|e| err(e.to_string()))?
    } else {
        date
    };
    day.to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| err(e.to_string()))
}

/// Shows a UTC instant in the display zone, to the minute: `2024-11-01 08:00 +08`.
pub fn display_time(t: Timestamp, tz: &TimeZone) -> String {
    let z = t.to_zoned_datetime(tz.clone());
    z.strftime("%Y-%m-%d %H:%M:%S %:z").to_string()
}

/// jiff 1.0 `ZonedDateTime` seen by croner (croner 4 only ships jiff 0.2 and chrono support).
#[derive(Clone)]
struct Zdt(ZonedDateTime);

fn civil_of(dt: DateTime) -> croner::time::CivilDateTime {
    use croner::time::{CivilDate, CivilDateTime, CivilTime};
    CivilDateTime::new(
        CivilDate::from_parts_unchecked(i32::from(dt.year()), dt.month() as u32, dt.day() as u32),
        CivilTime::from_parts_unchecked(dt.hour() as u32, dt.minute() as u32, dt.second() as u32),
    )
}

fn jiff_of(c: croner::time::CivilDateTime) -> Result<DateTime, croner::errors::CronError> {
    let year = i16::try_from(c.year()).map_err(|_| croner::errors::CronError::InvalidDate)?;
    DateTime::new(
        year,
        c.month() as i8,
        c.day() as i8,
        c.hour() as i8,
        c.minute() as i8,
        c.second() as i8,
        0,
    )
    .map_err(|_| croner::errors::CronError::InvalidDate)
}

impl croner::time::CronDateTime for Zdt {
    fn to_civil(&self) -> croner::time::CivilDateTime {
        civil_of(self.0.datetime())
    }

    fn civil_weekday(&self) -> croner::time::Weekday {
        croner::time::Weekday::from_days_from_sunday(self.0.weekday().to_sunday_zero_offset() as u32)
    }

    fn resolve_civil(
        &self,
        civil: croner::time::CivilDateTime,
    ) -> Result<croner::time::Resolution<Self>, croner::errors::CronError> {
        use croner::errors::CronError;
        use croner::time::Resolution;
        let dt = jiff_of(civil)?;
        let amb = self.0.time_zone().to_ambiguous_zoned_datetime(dt);
        Ok(match amb.offset() {
            AmbiguousOffset::Unambiguous { .. } => Resolution::Single(Zdt(amb
                .unambiguous()
                .map_err(|_| CronError::InvalidTime)?)),
            AmbiguousOffset::Fold { .. } => {
                let earlier = amb.clone().earlier().map_err(|_| CronError::InvalidTime)?;
                let later = amb.later().map_err(|_| CronError::InvalidTime)?;
                Resolution::Ambiguous(Zdt(earlier), Zdt(later))
            }
            AmbiguousOffset::Gap { .. } => Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(Zdt)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}
