//! `Timestamp` (ns since the Unix epoch, UTC) and `TimeSpan` (a signed ns duration).
//!
//! One integer each: cheap to compare, copy and put in a 64-byte record. `chrono` is used only to
//! turn them into and out of calendar text; the engine itself never reads a clock.
//!
//! # Range
//! An `i64` of nanoseconds covers 1677-09-21 to 2262-04-11.

use core::fmt;
use core::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

/// Nanoseconds per second.
pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds per calendar day (UTC has no leap seconds in this model).
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// An instant: nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Timestamp(i64);

/// A signed span of time in nanoseconds (validity durations, latencies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct TimeSpan(i64);

/// Why text could not become a [`Timestamp`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: not a date or date-time (want YYYY-MM-DD, YYYY-MM-DD HH:MM:SS[.f] or RFC 3339)")]
pub struct ParseTimestampError {
    /// The text refused.
    pub text: String,
}

impl Timestamp {
    /// The epoch.
    pub const EPOCH: Self = Self(0);
    /// The latest representable instant: "never" for expiry.
    pub const MAX: Self = Self(i64::MAX);

    /// From nanoseconds since the epoch.
    pub const fn from_nanos(ns: i64) -> Self {
        Self(ns)
    }

    /// Nanoseconds since the epoch.
    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// The UTC calendar day number (days since 1970-01-01, floored): what "calendar days between two
    /// bars" counts for credit interest.
    pub const fn day_number(self) -> i64 {
        self.0.div_euclid(NANOS_PER_DAY)
    }

    /// Midnight (00:00) of this instant's UTC day.
    pub const fn start_of_day(self) -> Self {
        Self(self.day_number() * NANOS_PER_DAY)
    }

    /// `self + span`, `None` past the range.
    pub fn checked_add(self, span: TimeSpan) -> Option<Self> {
        self.0.checked_add(span.0).map(Self)
    }

    /// `self − earlier` as a span, `None` past the range.
    pub fn checked_since(self, earlier: Self) -> Option<TimeSpan> {
        self.0.checked_sub(earlier.0).map(TimeSpan)
    }

    /// From a calendar date and time of day (UTC), `None` for an invalid date or out of range.
    pub fn from_ymd_hms_nano(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ns: u32) -> Option<Self> {
        let dt = NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_nano_opt(h, mi, s, ns)?;
        Self::from_naive(dt)
    }

    fn from_naive(dt: NaiveDateTime) -> Option<Self> {
        dt.and_utc().timestamp_nanos_opt().map(Self)
    }

    /// The UTC calendar date-time.
    pub fn to_datetime(self) -> NaiveDateTime {
        DateTime::from_timestamp_nanos(self.0).naive_utc()
    }

    /// `YYYY-MM-DD` of the UTC day.
    pub fn date_string(self) -> String {
        self.to_datetime().format("%Y-%m-%d").to_string()
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    /// Accepts `YYYY-MM-DD` (midnight), `YYYY-MM-DD HH:MM:SS[.f]`, `YYYY-MM-DDTHH:MM:SS[.f]` (UTC) and
    /// RFC 3339 with an offset.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseTimestampError { text: s.to_owned() };
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Self::from_naive(d.and_time(NaiveTime::MIN)).ok_or_else(err);
        }
        for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
            if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
                return Self::from_naive(dt).ok_or_else(err);
            }
        }
        DateTime::parse_from_rfc3339(s).ok().and_then(|dt| dt.timestamp_nanos_opt()).map(Self).ok_or_else(err)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with nanoseconds: `2006-01-09T23:59:59.999989000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Z", self.to_datetime().format("%Y-%m-%dT%H:%M:%S%.9f"))
    }
}

impl TimeSpan {
    /// No time.
    pub const ZERO: Self = Self(0);

    /// From nanoseconds.
    pub const fn from_nanos(ns: i64) -> Self {
        Self(ns)
    }

    /// Nanoseconds.
    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Whole days, hours, minutes and seconds; `None` past the range.
    pub fn from_dhms(days: i64, hours: i64, minutes: i64, seconds: i64) -> Option<Self> {
        let secs = days
            .checked_mul(86_400)?
            .checked_add(hours.checked_mul(3_600)?)?
            .checked_add(minutes.checked_mul(60)?)?
            .checked_add(seconds)?;
        secs.checked_mul(NANOS_PER_SEC).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_calendar_text() {
        let t: Timestamp = "2006-01-09".parse().unwrap();
        assert_eq!(t.date_string(), "2006-01-09");
        assert_eq!(t.to_string(), "2006-01-09T00:00:00.000000000Z");
        let t2: Timestamp = "2006-01-09 23:59:59.999989".parse().unwrap();
        assert_eq!(t2, Timestamp::from_ymd_hms_nano(2006, 1, 9, 23, 59, 59, 999_989_000).unwrap());
        assert_eq!(t2.start_of_day(), t);
        assert_eq!("2006-01-09T01:00:00+01:00".parse::<Timestamp>().unwrap(), t);
        assert!("2006-13-01".parse::<Timestamp>().is_err());
        assert!("yesterday".parse::<Timestamp>().unwrap_err().to_string().contains("yesterday"));
    }

    #[test]
    fn day_numbers_count_calendar_days() {
        let fri: Timestamp = "2006-01-06 23:59:59".parse().unwrap();
        let mon: Timestamp = "2006-01-09 00:00:01".parse().unwrap();
        assert_eq!(mon.day_number() - fri.day_number(), 3);
        assert_eq!(Timestamp::from_nanos(-1).day_number(), -1, "before the epoch floors, not truncates");
    }

    #[test]
    fn spans() {
        let s = TimeSpan::from_dhms(1, 2, 3, 4).unwrap();
        assert_eq!(s.nanos(), 93_784 * NANOS_PER_SEC);
        let t: Timestamp = "2006-01-09".parse().unwrap();
        assert_eq!(t.checked_add(s).unwrap().checked_since(t), Some(s));
        assert_eq!(TimeSpan::from_dhms(i64::MAX, 0, 0, 0), None);
        assert_eq!(Timestamp::MAX.checked_add(TimeSpan::from_nanos(1)), None);
    }
}
