//! The one place that reads the wall clock, so tests can pin time.

use time::OffsetDateTime;

/// A source of "now". Business logic takes a clock instead of calling `now()` itself.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock, in UTC.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock fixed at one instant (tests, reproducible exports).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// RFC 3339 text for a timestamp, as stored in the vault.
// Cannot panic: whole milliseconds are a valid nanosecond, and a UTC time between years 0 and 9999 formats as RFC 3339.
#[allow(clippy::expect_used)]
pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at
        .replace_nanosecond(at.nanosecond() / 1_000_000 * 1_000_000)
        .expect("a valid nanosecond");
    at.format(&time::format_description::well_known::Rfc3339)
        .expect("a UTC timestamp always formats as RFC 3339")
}
