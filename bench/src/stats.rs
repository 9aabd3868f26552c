//! Latency percentiles from raw samples.

/// Percentiles of a set of latencies, in microseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50_us: u32,
    pub p90_us: u32,
    pub p99_us: u32,
    pub max_us: u32,
}

impl Latency {
    /// Sorts `samples` in place and reads the percentiles off it (nearest rank).
    pub fn of(samples: &mut [u32]) -> Latency {
        samples.sort_unstable();
        let at = |q: f64| -> u32 {
            if samples.is_empty() {
                return 0;
            }
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1]
        };
        Latency {
            count: samples.len(),
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            max_us: samples.last().copied().unwrap_or(0),
        }
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |us: u32| f64::from(us) / 1000.0;
        write!(
            f,
            "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
            ms(self.p50_us),
            ms(self.p90_us),
            ms(self.p99_us),
            ms(self.max_us),
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<u32> = (1..=100).rev().collect();
        let l = Latency::of(&mut v);
        assert_eq!((l.p50_us, l.p90_us, l.p99_us, l.max_us), (50, 90, 99, 100));
        assert_eq!(Latency::of(&mut []).count, 0);
    }
}
