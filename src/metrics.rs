//! How long the app takes to answer, per route: a latency histogram and a count of answers by
//! status class for every route pattern (`GET /api/tickets/{id}`, never the raw path, so the
//! set stays as small as the route table), written out in Prometheus' text format.
//!
//! A bucket's upper bound is 16 µs × 2^(i/8): eight buckets per doubling, so a quantile read
//! from the buckets is within 9 % of the true value, from 16 µs to about a minute. Recording is
//! a few atomic additions; the table of routes is read-locked except when a route is first seen.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Buckets per doubling of the latency.
const PER_DOUBLING: i32 = 8;
/// The first bucket's upper bound, in microseconds.
const FIRST_MICROS: f64 = 16.0;
/// Finite buckets: 22 doublings above 16 µs reach 67 s. One more counts everything (`+Inf`).
const FINITE: usize = 22 * PER_DOUBLING as usize + 1;

/// The upper bound of finite bucket `i`, in microseconds.
pub fn upper_bound_micros(i: usize) -> f64 {
    FIRST_MICROS * 2f64.powf(i as f64 / f64::from(PER_DOUBLING))
}

/// The bucket a latency of `micros` falls in: the first whose upper bound is at least it
/// (`FINITE` for anything beyond the last).
fn bucket_of(micros: u64) -> usize {
    let value = micros as f64;
    if value <= FIRST_MICROS {
        return 0;
    }
    let estimate = (f64::from(PER_DOUBLING) * (value / FIRST_MICROS).log2()).ceil();
    let mut i = (estimate.max(0.0) as usize).min(FINITE);
    // The logarithm may land one off at a bound; settle on the exact bucket.
    while i > 0 && value <= upper_bound_micros(i - 1) {
        i -= 1;
    }
    while i < FINITE && value > upper_bound_micros(i) {
        i += 1;
    }
    i
}

/// One route's figures.
struct RouteStats {
    /// Non-cumulative counts per bucket; the last is beyond every finite bound.
    buckets: [AtomicU64; FINITE + 1],
    sum_micros: AtomicU64,
    /// Answers by status class: 1xx … 5xx.
    by_class: [AtomicU64; 5],
}

impl RouteStats {
    fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
            by_class: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// The route an answer is counted under: its method and pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct RouteKey {
    method: &'static str,
    route: String,
}

/// Latency and answers per route, for one running app.
#[derive(Default)]
pub struct Metrics {
    routes: RwLock<HashMap<RouteKey, Arc<RouteStats>>>,
}

/// The methods counted by name; anything else is counted as `other`.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one answer. `route` is the matched pattern; `None` (no route matched) is counted
    /// as `unmatched`, so a scan of made-up paths cannot grow the table.
    pub fn record(&self, method: &str, route: Option<String>, status: u16, took: Duration) {
        let key = RouteKey {
            method: method_label(method),
            route: route.unwrap_or_else(|| "unmatched".into()),
        };
        let found = self
            .routes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
            .cloned();
        let stats = match found {
            Some(stats) => stats,
            None => self
                .routes
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .entry(key)
                .or_insert_with(|| Arc::new(RouteStats::new()))
                .clone(),
        };
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        stats.buckets[bucket_of(micros)].fetch_add(1, Relaxed);
        stats.sum_micros.fetch_add(micros, Relaxed);
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        stats.by_class[class].fetch_add(1, Relaxed);
    }

    /// Everything recorded so far, in Prometheus' text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let routes: BTreeMap<RouteKey, Arc<RouteStats>> = self
            .routes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(key, stats)| (key.clone(), stats.clone()))
            .collect();
        let mut out = String::new();
        out.push_str(
            "# HELP tanggap_http_request_duration_seconds Time from a request's arrival at the \
             app to its answer, by route.\n\
             # TYPE tanggap_http_request_duration_seconds histogram\n",
        );
        for (key, stats) in &routes {
            let labels = labels(key);
            let mut cumulative = 0u64;
            for (i, bucket) in stats.buckets.iter().enumerate() {
                cumulative += bucket.load(Relaxed);
                let le = if i < FINITE {
                    format!("{:.6}", upper_bound_micros(i) / 1e6)
                } else {
                    "+Inf".to_owned()
                };
                let _ = writeln!(
                    out,
                    "tanggap_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let sum = stats.sum_micros.load(Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "tanggap_http_request_duration_seconds_sum{{{labels}}} {sum:.6}\n\
                 tanggap_http_request_duration_seconds_count{{{labels}}} {cumulative}"
            );
        }
        out.push_str(
            "# HELP tanggap_http_responses_total Answers by route and status class.\n\
             # TYPE tanggap_http_responses_total counter\n",
        );
        for (key, stats) in &routes {
            let labels = labels(key);
            for (class, count) in stats.by_class.iter().enumerate() {
                let count = count.load(Relaxed);
                if count > 0 {
                    let _ = writeln!(
                        out,
                        "tanggap_http_responses_total{{{labels},status=\"{}xx\"}} {count}",
                        class + 1
                    );
                }
            }
        }
        out
    }
}

/// `method="GET",route="/api/tickets"`, the route escaped as the format asks.
fn labels(key: &RouteKey) -> String {
    let route = key
        .route
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("method=\"{}\",route=\"{route}\"", key.method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_latency_falls_in_the_first_bucket_that_holds_it() {
        let mut previous = 0;
        for micros in (0..5_000).chain((5_000..70_000_000).step_by(997)) {
            let i = bucket_of(micros);
            assert!(i >= previous, "buckets never go down ({micros} µs)");
            previous = i;
            if i < FINITE {
                assert!(
                    micros as f64 <= upper_bound_micros(i),
                    "{micros} µs ≤ bound {i}"
                );
            }
            if i > 0 {
                assert!(
                    micros as f64 > upper_bound_micros(i - 1),
                    "{micros} µs > bound {}",
                    i - 1
                );
            }
        }
        assert_eq!(bucket_of(u64::MAX), FINITE);
        // Eight buckets per doubling: neighbouring bounds are 9 % apart.
        let ratio = upper_bound_micros(41) / upper_bound_micros(40);
        assert!((ratio - 2f64.powf(0.125)).abs() < 1e-12);
    }

    #[test]
    fn the_text_counts_answers_per_route_pattern() {
        let metrics = Metrics::new();
        let route = || Some("/api/tickets/{id}".to_owned());
        metrics.record("GET", route(), 200, Duration::from_micros(900));
        metrics.record("GET", route(), 404, Duration::from_millis(3));
        metrics.record("GET", route(), 200, Duration::from_secs(100));
        metrics.record("BREW", None, 404, Duration::from_micros(5));
        let text = metrics.render();
        let line = |name: &str, labels: &str| -> u64 {
            let prefix = format!("{name}{{{labels}}} ");
            let found = text.lines().find_map(|l| l.strip_prefix(&prefix));
            let value = found.unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
            value.parse::<f64>().unwrap() as u64
        };
        let get = r#"method="GET",route="/api/tickets/{id}""#;
        let bucket = "tanggap_http_request_duration_seconds_bucket";
        let le = |i: usize| format!("{:.6}", upper_bound_micros(i) / 1e6);
        // 16 µs × 2^(46/8) = 861 µs < 900 µs ≤ 16 µs × 2^(47/8) = 939 µs; 3 ms is bucket 61.
        assert_eq!(le(46), "0.000861");
        assert_eq!(line(bucket, &format!(r#"{get},le="{}""#, le(46))), 0);
        assert_eq!(line(bucket, &format!(r#"{get},le="{}""#, le(47))), 1);
        assert_eq!(line(bucket, &format!(r#"{get},le="{}""#, le(60))), 1);
        assert_eq!(line(bucket, &format!(r#"{get},le="{}""#, le(61))), 2);
        assert_eq!(line(bucket, &format!(r#"{get},le="+Inf""#)), 3);
        assert_eq!(line("tanggap_http_request_duration_seconds_count", get), 3);
        assert_eq!(line("tanggap_http_request_duration_seconds_sum", get), 100);
        assert_eq!(
            line(
                "tanggap_http_responses_total",
                &format!(r#"{get},status="2xx""#)
            ),
            2
        );
        assert_eq!(
            line(
                "tanggap_http_responses_total",
                &format!(r#"{get},status="4xx""#)
            ),
            1
        );
        let unmatched = r#"method="other",route="unmatched""#;
        assert_eq!(
            line("tanggap_http_request_duration_seconds_count", unmatched),
            1
        );
        assert!(!text.contains("BREW"));
    }
}
