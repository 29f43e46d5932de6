//! Time as a value. `apply` never reads a clock: the proposer stamps every command with
//! [`Timestamp`], so all replicas see the same time.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (UTC).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Timestamp {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(millis)
    }

    /// This time minus `days` days.
    pub fn minus_days(self, days: i64) -> Timestamp {
        Timestamp(self.0 - days * 86_400_000)
    }

    /// This time plus `millis` milliseconds.
    pub fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp(self.0 + millis)
    }

    /// The UTC day number (days since the epoch).
    pub fn day(self) -> i64 {
        self.0.div_euclid(86_400_000)
    }

    /// RFC 3339 text with milliseconds, e.g. `2026-11-28T15:50:11.123Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            ),
            Err(_) => "1970-01-01T00:00:00.000Z".to_string(),
        }
    }

    /// The `YYYY-MM-DD` date of this time.
    pub fn to_date(self) -> String {
        self.to_rfc3339()[..10].to_string()
    }

    /// Parses RFC 3339 text or a `YYYY-MM-DD` date (midnight UTC).
    pub fn parse(text: &str) -> Option<Timestamp> {
        use time::format_description::well_known::Rfc3339;
        if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
            return Some(Timestamp((t.unix_timestamp_nanos() / 1_000_000) as i64));
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text, &format).ok()?;
        let t = date.midnight().assume_utc();
        Some(Timestamp(t.unix_timestamp() * 1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = Timestamp(1_795_881_011_123);
        let text = t.to_rfc3339();
        assert!(text.ends_with('Z'));
        assert_eq!(Timestamp::parse(&text), Some(t));
        assert_eq!(
            Timestamp::parse("2026-01-02").map(|t| t.to_date()),
            Some("2026-01-02".into())
        );
        assert_eq!(Timestamp::parse("yesterday"), None);
    }
}

/// A source of time, injectable so tests can move it.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock tests move by hand.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        ManualClock(std::sync::atomic::AtomicI64::new(at.0))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}
