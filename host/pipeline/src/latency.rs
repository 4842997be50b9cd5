//! Per-stage latency of a run: a fixed-size log-linear histogram per stage
//! (translate, validate, compose, format, write, verify), so a million-record run
//! keeps a few kilobytes of timings instead of a duration per record, and
//! p50/p99 come out within ~6% of the exact value.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Sub-buckets per power of two: the relative error of a percentile is at
/// most 1/SUB.
const SUB: usize = 16;
/// Powers of two covered, in nanoseconds (2^40 ns ≈ 18 minutes).
const GROUPS: usize = 40;

/// A histogram of durations.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    sum_ns: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; SUB * GROUPS].into_boxed_slice(), total: 0, sum_ns: 0 }
    }
}

fn bucket_of(ns: u64) -> usize {
    if ns < SUB as u64 {
        return ns as usize;
    }
    let group = 63 - ns.leading_zeros() as usize; // ≥ log2(SUB)
    let shift = group - SUB.trailing_zeros() as usize;
    let sub = ((ns >> shift) as usize) - SUB;
    ((group - SUB.trailing_zeros() as usize + 1) * SUB + sub).min(SUB * GROUPS - 1)
}

/// The upper bound (ns) of the values a bucket holds.
fn upper_of(bucket: usize) -> u64 {
    if bucket < SUB {
        return bucket as u64;
    }
    let group = bucket / SUB - 1;
    let sub = bucket % SUB;
    (((SUB + sub + 1) as u64) << group) - 1
}

impl Histogram {
    /// Counts one duration.
    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket_of(ns)] += 1;
        self.total += 1;
        self.sum_ns += u128::from(ns);
    }

    /// The `q` quantile (0..=1) in microseconds (the upper bound of its
    /// bucket); 0 when empty.
    pub fn quantile_us(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper_of(bucket) as f64 / 1000.0;
            }
        }
        upper_of(self.counts.len() - 1) as f64 / 1000.0
    }

    /// Durations counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Their sum in milliseconds.
    pub fn total_ms(&self) -> f64 {
        self.sum_ns as f64 / 1e6
    }

    /// Count, sum and percentiles.
    pub fn summary(&self) -> StageSummary {
        StageSummary {
            count: self.total,
            total_ms: self.total_ms(),
            p50_us: self.quantile_us(0.50),
            p99_us: self.quantile_us(0.99),
        }
    }
}

/// One stage's figures in a report.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct StageSummary {
    /// Measurements (records, or documents for compose/format/write).
    pub count: u64,
    /// Their sum: CPU time in this stage across all threads.
    pub total_ms: f64,
    /// Median, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
}

/// The five stages of a record.
#[derive(Clone, Default)]
pub struct StageHistograms {
    /// Translator time, the chunk's time shared among the records it completed.
    pub translate: Histogram,
    /// CDM parse + schema check.
    pub validate: Histogram,
    /// Templates and fragment plugins.
    pub compose: Histogram,
    /// Formatter plugins (all channels of a document).
    pub format: Histogram,
    /// Writing the document's files.
    pub write: Histogram,
    /// The self-check of the composed outputs against the record.
    pub verify: Histogram,
}

impl StageHistograms {
    /// The report's figures.
    pub fn summary(&self) -> StageLatency {
        StageLatency {
            translate: self.translate.summary(),
            validate: self.validate.summary(),
            compose: self.compose.summary(),
            format: self.format.summary(),
            write: self.write.summary(),
            verify: self.verify.summary(),
        }
    }
}

/// Per-stage latency in a report.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct StageLatency {
    /// Translating.
    pub translate: StageSummary,
    /// Validating.
    pub validate: StageSummary,
    /// Composing.
    pub compose: StageSummary,
    /// Formatting.
    pub format: StageSummary,
    /// Writing.
    pub write: StageSummary,
    /// Self-checking the outputs against the record (reports before it
    /// existed have none).
    #[serde(default)]
    pub verify: StageSummary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_hold_their_values() {
        let mut last = 0;
        for ns in (0..100_000u64).chain([1 << 20, 1 << 30, (1 << 30) + 12345, u64::MAX / 2]) {
            let b = bucket_of(ns);
            assert!(b >= last || ns > 100_000, "bucket of {ns} went backwards");
            last = b;
            if b < SUB * GROUPS - 1 {
                assert!(upper_of(b) >= ns, "{ns} above its bucket's upper bound {}", upper_of(b));
                assert!(b == 0 || upper_of(b - 1) < ns, "{ns} also fits the bucket below");
            }
        }
    }

    #[test]
    fn percentiles_are_within_the_bucket_precision() {
        let mut h = Histogram::default();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile_us(0.5);
        let p99 = h.quantile_us(0.99);
        assert!((500.0..=500.0 * (1.0 + 1.0 / SUB as f64)).contains(&p50), "p50 {p50}");
        assert!((990.0..=990.0 * (1.0 + 1.0 / SUB as f64)).contains(&p99), "p99 {p99}");
        assert_eq!(h.count(), 1000);
        assert!((h.total_ms() - 500.5).abs() < 1e-6);
        assert_eq!(Histogram::default().quantile_us(0.5), 0.0);
    }
}
