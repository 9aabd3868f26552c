//! A token bucket: the per-connection message rate limit.

use std::time::Instant;

/// Allows `rate` messages a second on average and up to `burst` at once.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64) -> Self {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_sustained_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(50.0, 200.0);
        bucket.last = start;
        assert_eq!((0..300).filter(|_| bucket.take(start)).count(), 200);
        // One second later, 50 more.
        let later = start + Duration::from_secs(1);
        assert_eq!((0..300).filter(|_| bucket.take(later)).count(), 50);
        // A long pause refills to the burst, not beyond.
        let much_later = later + Duration::from_secs(3600);
        assert_eq!((0..300).filter(|_| bucket.take(much_later)).count(), 200);
    }
}
