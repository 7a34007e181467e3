//! Rate limits: token buckets per key (a link id, a client address) in a bounded map.
//!
//! When the map is full, buckets that have refilled completely (they carry no information) are
//! dropped first, then the least recently seen ones, so memory stays bounded whatever the traffic.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Requests allowed at once.
    pub burst: u32,
    /// Requests per second refilled.
    pub per_second: u32,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct Limiter {
    rate: Rate,
    capacity: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub fn new(rate: Rate, capacity: usize) -> Self {
        Limiter {
            rate,
            capacity: capacity.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(seconds)` says how long to wait when there is none.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let burst = f64::from(self.rate.burst.max(1));
        let per_second = f64::from(self.rate.per_second.max(1));
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; refuse rather than let everything through.
            return Err(1);
        };
        if !buckets.contains_key(key) && buckets.len() >= self.capacity {
            evict(&mut buckets, now, burst, per_second, self.capacity);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / per_second).ceil();
            Err(if wait.is_finite() && wait >= 1.0 {
                // At most burst / rate seconds; far inside u64.
                Duration::from_secs_f64(wait).as_secs()
            } else {
                1
            })
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }
}

fn evict(
    buckets: &mut HashMap<String, Bucket>,
    now: Instant,
    burst: f64,
    per_second: f64,
    capacity: usize,
) {
    let full_after = Duration::from_secs_f64(burst / per_second);
    buckets.retain(|_, b| now.saturating_duration_since(b.last) < full_after);
    if buckets.len() >= capacity {
        // Still full: drop the oldest half.
        let mut seen: Vec<Instant> = buckets.values().map(|b| b.last).collect();
        seen.sort_unstable();
        if let Some(cut) = seen.get(seen.len() / 2).copied() {
            buckets.retain(|_, b| b.last > cut);
        }
        if buckets.len() >= capacity {
            buckets.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_burst_and_stays_bounded() {
        let l = Limiter::new(
            Rate {
                burst: 2,
                per_second: 1,
            },
            100,
        );
        let t = Instant::now();
        assert!(l.check("a", t).is_ok());
        assert!(l.check("a", t).is_ok());
        assert_eq!(l.check("a", t), Err(1));
        assert!(l.check("a", t + Duration::from_secs(1)).is_ok());
        for i in 0..10_000 {
            let _ = l.check(&i.to_string(), t);
        }
        assert!(l.len() <= 100);
    }
}
