//! Throughput and latency percentiles of one benchmark scenario.

use std::time::Duration;

/// Results of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioStats {
    pub name: String,
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Latencies of successful operations, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl ScenarioStats {
    /// Builds the stats; sorts the latencies.
    pub fn new(
        name: &str,
        ok: u64,
        errors: u64,
        elapsed: Duration,
        mut latencies_us: Vec<u64>,
    ) -> Self {
        latencies_us.sort_unstable();
        ScenarioStats {
            name: name.to_string(),
            ok,
            errors,
            elapsed,
            latencies_us,
        }
    }

    /// Successful operations per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    /// The `p`-th percentile latency (0-100) in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * (self.latencies_us.len() - 1) as f64).round() as usize;
        self.latencies_us[rank.min(self.latencies_us.len() - 1)] as f64 / 1000.0
    }
}

/// A markdown table of `rows`.
pub fn markdown(rows: &[ScenarioStats]) -> String {
    let mut out = String::from(
        "| scenario | ops/s | p50 ms | p99 ms | ok | errors |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} |\n",
            r.name,
            r.throughput(),
            r.percentile_ms(50.0),
            r.percentile_ms(99.0),
            r.ok,
            r.errors
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_throughput() {
        let stats = ScenarioStats::new(
            "x",
            100,
            0,
            Duration::from_secs(2),
            (1..=100).rev().map(|i| i * 1000).collect(),
        );
        assert_eq!(stats.throughput(), 50.0);
        assert_eq!(stats.percentile_ms(50.0), 51.0);
        assert_eq!(stats.percentile_ms(99.0), 99.0);
        assert!(markdown(&[stats]).contains("| x | 50 |"));
    }
}
