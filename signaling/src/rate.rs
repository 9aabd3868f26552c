//! The per-connection message rate limit: a token bucket, and the count of refused messages that
//! one `rate-limited` reply reports for a whole burst.

use std::time::{Duration, Instant};

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

    /// How long until a token is available, as of the last [`take`](Self::take).
    pub fn until_next(&self) -> Duration {
        if self.tokens >= 1.0 || self.rate <= 0.0 {
            return Duration::ZERO;
        }
        Duration::try_from_secs_f64((1.0 - self.tokens) / self.rate).unwrap_or(Duration::MAX)
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

/// The rate limit of one connection. Refused messages are counted, not answered one by one, so a
/// burst of any size costs its sender one reply (or a few), never a reply per message that could
/// overflow its own queue.
#[derive(Debug)]
pub(crate) struct RateLimit {
    bucket: TokenBucket,
    refused: u64,
    report_at: Option<tokio::time::Instant>,
}

impl RateLimit {
    pub fn new(rate: f64, burst: f64) -> Self {
        RateLimit {
            bucket: TokenBucket::new(rate, burst),
            refused: 0,
            report_at: None,
        }
    }

    /// Whether a message may be processed now; a refused one is counted for the next report.
    pub fn admit(&mut self) -> bool {
        let now = Instant::now();
        if self.bucket.take(now) {
            return true;
        }
        if self.refused == 0 {
            // Report once the sender may send again, so the report is news it can act on; but
            // at most every 50 ms, however fast the bucket refills.
            let wait = self
                .bucket
                .until_next()
                .clamp(Duration::from_millis(50), Duration::from_secs(1));
            self.report_at = Some(tokio::time::Instant::now() + wait);
        }
        self.refused += 1;
        false
    }

    /// When the refusals counted so far are due to be reported, if any are.
    pub fn report_at(&self) -> Option<tokio::time::Instant> {
        self.report_at
    }

    /// The number of messages refused since the last report, and starts a new count. Taken when
    /// the report is due, and before answering the next admitted message, so replies keep the
    /// order of the messages they answer.
    pub fn take_refused(&mut self) -> Option<u64> {
        self.report_at = None;
        match std::mem::take(&mut self.refused) {
            0 => None,
            n => Some(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_sustained_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(50.0, 200.0);
        bucket.last = start;
        assert_eq!((0..300).filter(|_| bucket.take(start)).count(), 200);
        assert_eq!(bucket.until_next(), Duration::from_millis(20));
        // One second later, 50 more.
        let later = start + Duration::from_secs(1);
        assert_eq!((0..300).filter(|_| bucket.take(later)).count(), 50);
        // A long pause refills to the burst, not beyond.
        let much_later = later + Duration::from_secs(3600);
        assert_eq!((0..300).filter(|_| bucket.take(much_later)).count(), 200);
    }

    #[test]
    fn refusals_are_counted_until_taken() {
        let mut limit = RateLimit::new(1.0, 2.0);
        assert!(limit.admit() && limit.admit());
        assert!(limit.report_at().is_none());
        assert_eq!((0..5).filter(|_| limit.admit()).count(), 0);
        assert!(limit.report_at().is_some());
        assert_eq!(limit.take_refused(), Some(5));
        assert_eq!(limit.take_refused(), None);
        assert!(limit.report_at().is_none());
    }
}
