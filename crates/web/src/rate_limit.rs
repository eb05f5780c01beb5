//! Per-app rate limits: a token bucket per OAuth client, filled at the rate the app's
//! registration allows (requests per minute) and holding at most a minute's worth, so
//! an app may burst up to its limit and then goes at its rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl RateLimiter {
    /// Takes one request from `client_id`'s bucket; `Err` holds how long until the next
    /// request is allowed. A limit of 0 means no limit.
    pub fn check(&self, client_id: &str, per_minute: u32) -> Result<(), Duration> {
        self.check_at(client_id, per_minute, Instant::now())
    }

    fn check_at(&self, client_id: &str, per_minute: u32, now: Instant) -> Result<(), Duration> {
        if per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(client_id.to_string()).or_insert(Bucket {
            tokens: capacity,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_up_to_the_limit_then_the_rate() {
        let limiter = RateLimiter::default();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("app", 3, start).is_ok());
        }
        let wait = limiter.check_at("app", 3, start).unwrap_err();
        assert_eq!(wait.as_secs(), 20, "3 a minute: one every 20 s");
        // Other apps have buckets of their own.
        assert!(limiter.check_at("other", 3, start).is_ok());
        assert!(limiter.check_at("app", 3, start + wait).is_ok());
        assert!(limiter.check_at("app", 0, start).is_ok(), "0 is unlimited");
    }
}
