//! The figures: answers per class, latencies, throughput, server memory, and the verdict.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Options;
use super::mix::Class;
use super::server::Memory;

/// At most this many failed requests are quoted.
const QUOTED: usize = 10;

#[derive(Default)]
struct ClassStats {
    /// Status 0: no answer (connection error or timeout).
    statuses: BTreeMap<u16, u64>,
    latencies: Vec<Duration>,
    mismatches: u64,
}

/// What a worker (then all of them) got.
#[derive(Default)]
pub(crate) struct Stats {
    classes: BTreeMap<Class, ClassStats>,
    failures: Vec<String>,
}

impl Stats {
    pub(crate) fn record(
        &mut self,
        class: Class,
        status: u16,
        latency: Duration,
        failure: Option<String>,
    ) {
        let stats = self.classes.entry(class).or_default();
        *stats.statuses.entry(status).or_default() += 1;
        stats.latencies.push(latency);
        if let Some(failure) = failure {
            stats.mismatches += 1;
            if self.failures.len() < QUOTED {
                self.failures.push(failure);
            }
        }
    }

    pub(crate) fn merge(&mut self, other: Stats) {
        for (class, theirs) in other.classes {
            let ours = self.classes.entry(class).or_default();
            for (status, n) in theirs.statuses {
                *ours.statuses.entry(status).or_default() += n;
            }
            ours.latencies.extend(theirs.latencies);
            ours.mismatches += theirs.mismatches;
        }
        let room = QUOTED.saturating_sub(self.failures.len());
        self.failures.extend(other.failures.into_iter().take(room));
    }

    /// The `q` quantile of `class`'s latencies.
    pub(crate) fn percentile(&self, class: Class, q: f64) -> Duration {
        let mut latencies = self
            .classes
            .get(&class)
            .map(|stats| stats.latencies.clone())
            .unwrap_or_default();
        latencies.sort_unstable();
        percentile(&latencies, q)
    }

    /// Requests answered or failed, of every class.
    pub(crate) fn requests(&self) -> u64 {
        self.classes
            .values()
            .map(|stats| stats.latencies.len() as u64)
            .sum()
    }

    /// How many answers to `classes` had a status that `pick` selects.
    fn count(&self, classes: &[Class], pick: impl Fn(u16) -> bool) -> u64 {
        let statuses = classes.iter().filter_map(|class| self.classes.get(class));
        statuses
            .flat_map(|stats| &stats.statuses)
            .filter(|(s, _)| pick(**s))
            .map(|(_, n)| n)
            .sum()
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let index = (sorted.len().saturating_sub(1) as f64 * q).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn row(name: &str, stats: &ClassStats) {
    let mut latencies = stats.latencies.clone();
    latencies.sort_unstable();
    let histogram: Vec<String> = stats
        .statuses
        .iter()
        .map(|(s, n)| format!("{s}:{n}"))
        .collect();
    println!(
        "{name:<13}{:>9}  {:<46}{:>9.2?}{:>10.2?}{:>11}",
        latencies.len(),
        histogram.join(" "),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        stats.mismatches,
    );
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".to_owned(), |kib| {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    })
}

/// Prints the figures and the checks; whether every check passed.
pub(crate) fn report(
    opts: &Options,
    stats: &Stats,
    elapsed: Duration,
    memory: &Memory,
    books_intact: bool,
) -> bool {
    let head = ("class", "requests", "statuses", "p50", "p99", "mismatches");
    println!(
        "\n{:<13}{:>9}  {:<46}{:>9}{:>10}{:>11}",
        head.0, head.1, head.2, head.3, head.4, head.5
    );
    let mut all = ClassStats::default();
    for (class, stats) in &stats.classes {
        row(class.name(), stats);
        for (status, n) in &stats.statuses {
            *all.statuses.entry(*status).or_default() += n;
        }
        all.latencies.extend(&stats.latencies);
        all.mismatches += stats.mismatches;
    }
    row("all", &all);
    println!(
        "\n{} requests in {elapsed:.2?} over {} connections: {:.0} req/s{}",
        all.latencies.len(),
        opts.concurrency,
        all.latencies.len() as f64 / elapsed.as_secs_f64(),
        if elapsed >= opts.duration {
            " (stopped by the time cap)"
        } else {
            ""
        },
    );

    // Memory at the end of the first tenth of the run against the most in its last tenth.
    let samples = &memory.samples;
    let tenth = elapsed / 10;
    let first = samples
        .iter()
        .take_while(|s| s.at <= tenth)
        .last()
        .or(samples.first());
    let first = first.map(|s| s.rss_kib);
    let last = samples
        .iter()
        .filter(|s| s.at >= elapsed - tenth)
        .map(|s| s.rss_kib)
        .max();
    let ratio = match (first, last) {
        (Some(first), Some(last)) => last as f64 / first as f64,
        _ => f64::NAN,
    };
    println!(
        "server RSS: boot {}, load start {}, end of first tenth {}, last tenth (max) {}, peak {}",
        mib(memory.boot_kib),
        mib(memory.start_kib),
        mib(first),
        mib(last),
        mib(samples.iter().map(|s| s.rss_kib).max()),
    );
    println!(
        "            last/first tenth {ratio:.3} (limit {}), {} samples, peak open sockets {}",
        opts.max_rss_ratio,
        samples.len(),
        samples.iter().map(|s| s.sockets).max().unwrap_or(0),
    );

    use Class::*;
    let served = |s: u16| (200..300).contains(&s);
    let checks = [
        ("no 5xx", stats.count(&Class::ALL, |s| s >= 500) == 0),
        (
            "no transport errors",
            stats.count(&Class::ALL, |s| s == 0) == 0,
        ),
        (
            "every valid request served",
            stats.count(&[Valid], |s| !served(s)) == 0,
        ),
        (
            "no forged request served",
            stats.count(&[Forged], served) == 0,
        ),
        ("no expired, wrong-entity or tokenless request served", {
            stats.count(&[Expired, WrongEntity, NoToken], served) == 0
        }),
        (
            "no logged-out token served (on the next server, when they share sessions)",
            stats.count(&[Revoked], served) == 0,
        ),
        (
            "every answer as expected (status, error code, WWW-Authenticate)",
            all.mismatches == 0,
        ),
        ("books intact after the run", books_intact),
        (
            "server memory flat over the run",
            ratio <= opts.max_rss_ratio,
        ),
    ];
    println!();
    for (name, ok) in &checks {
        println!("{} {name}", if *ok { "PASS" } else { "FAIL" });
    }
    for failure in &stats.failures {
        println!("  e.g. {failure}");
    }
    checks.iter().all(|(_, ok)| *ok)
}
