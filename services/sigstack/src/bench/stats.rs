//! Latency histograms and resident memory. The histogram has a fixed size,
//! so a run of 10^7 appends measures its own latency without growing the
//! process it is measuring.

use std::time::Duration;

/// Sub-buckets per power of two: values are kept to within 1/64 (~1.6 %).
const SUB_BUCKETS: u64 = 64;
/// Powers of two of microseconds covered (2^40 µs is about 12 days).
const POWERS: u64 = 40;

/// A log-linear histogram of durations in microseconds.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; usize::try_from(SUB_BUCKETS * POWERS).unwrap_or(2560)],
            total: 0,
        }
    }
}

impl Histogram {
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = bucket(us).min(self.counts.len() - 1);
        self.counts[i] += 1;
        self.total += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The `q`-quantile (0..=1) by nearest rank, as the upper bound of its bucket.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_micros(upper_bound(i as u64));
            }
        }
        Duration::from_micros(upper_bound(self.counts.len() as u64 - 1))
    }
}

/// Values below `SUB_BUCKETS` get a bucket each; above, each power of two is
/// split into `SUB_BUCKETS` equal parts.
fn bucket(us: u64) -> usize {
    if us < SUB_BUCKETS {
        return us as usize;
    }
    let power = 63 - u64::from(us.leading_zeros()); // floor(log2(us)) >= 6
    let shift = power - 6; // SUB_BUCKETS = 2^6
    let sub = (us >> shift) - SUB_BUCKETS;
    ((power - 5) * SUB_BUCKETS + sub) as usize
}

fn upper_bound(i: u64) -> u64 {
    if i < SUB_BUCKETS {
        return i;
    }
    let power = i / SUB_BUCKETS + 5;
    let sub = i % SUB_BUCKETS;
    let shift = power - 6;
    ((SUB_BUCKETS + sub + 1) << shift) - 1
}

/// Current and peak resident set size in KiB, from `/proc/self/status`
/// (`VmRSS`, `VmHWM`); zeros where that file is not available.
pub fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for us in [0u64, 1, 63, 64, 65, 127, 128, 1000, 4_999, 50_000, 1 << 30] {
            let b = bucket(us);
            assert!(b >= last, "bucket of {us}");
            last = b;
            let ub = upper_bound(b as u64);
            assert!(ub >= us, "upper bound {ub} below {us}");
            assert!(
                (ub - us) as f64 <= us as f64 / 60.0 + 1.0,
                "bucket of {us} too wide: {ub}"
            );
        }
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut h = Histogram::default();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let near = |d: Duration, ms: f64| (d.as_secs_f64() * 1000.0 - ms).abs() / ms < 0.02;
        assert!(near(h.quantile(0.5), 50.0), "{:?}", h.quantile(0.5));
        assert!(near(h.quantile(0.99), 99.0), "{:?}", h.quantile(0.99));
        assert_eq!(h.count(), 100);
        assert_eq!(Histogram::default().quantile(0.5), Duration::ZERO);
    }
}
