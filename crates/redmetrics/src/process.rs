//! Process metrics, named and computed as client_golang's process collector does.
//!
//! Read from `/proc/self` when Prometheus scrapes (Linux only; elsewhere the collector
//! exports nothing): CPU seconds, resident and virtual memory, open and maximum file
//! descriptors, and start time. Dashboards built for Go services work unchanged.

use crate::collect::{Collect, Desc, LabelSet, MetricType, Sink, Unit};

/// Exposes `process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds` and
/// `process_start_time_seconds` for the current process.
///
/// ```
/// let registry = redmetrics::Registry::new();
/// registry.register(redmetrics::process::ProcessCollector::new()).unwrap();
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessCollector {
    _private: (),
}

impl ProcessCollector {
    /// A collector for the current process.
    pub fn new() -> Self {
        Self::default()
    }
}

/// One reading of the process' counters; fields are `None` when unreadable.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct ProcessStats {
    /// User plus system CPU time, in seconds.
    pub(crate) cpu_seconds: Option<f64>,
    /// Resident set size, in bytes.
    pub(crate) resident_bytes: Option<f64>,
    /// Virtual memory size, in bytes.
    pub(crate) virtual_bytes: Option<f64>,
    /// Open file descriptors.
    pub(crate) open_fds: Option<f64>,
    /// Soft limit on open file descriptors.
    pub(crate) max_fds: Option<f64>,
    /// Start time since the Unix epoch, in seconds.
    pub(crate) start_time_seconds: Option<f64>,
}

/// Reads one value out of a [`ProcessStats`].
type Read = fn(&ProcessStats) -> Option<f64>;

fn descs() -> Vec<(Desc, Read)> {
    let specs: [(&str, &str, MetricType, Option<Unit>, Read); 6] = [
        (
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            MetricType::Counter,
            Some(Unit::Seconds),
            |s| s.cpu_seconds,
        ),
        (
            "process_open_fds",
            "Number of open file descriptors.",
            MetricType::Gauge,
            None,
            |s| s.open_fds,
        ),
        (
            "process_max_fds",
            "Maximum number of open file descriptors.",
            MetricType::Gauge,
            None,
            |s| s.max_fds,
        ),
        (
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            MetricType::Gauge,
            Some(Unit::Bytes),
            |s| s.virtual_bytes,
        ),
        (
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            MetricType::Gauge,
            Some(Unit::Bytes),
            |s| s.resident_bytes,
        ),
        (
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            MetricType::Gauge,
            Some(Unit::Seconds),
            |s| s.start_time_seconds,
        ),
    ];
    specs
        .into_iter()
        .filter_map(|(name, help, kind, unit, read)| {
            let d = Desc::new(name, help, kind).ok()?;
            let d = match unit {
                Some(u) => d.with_unit(u).ok()?,
                None => d,
            };
            Some((d, read))
        })
        .collect()
}

impl Collect for ProcessCollector {
    fn descs(&self) -> Vec<Desc> {
        if cfg!(target_os = "linux") {
            descs().into_iter().map(|(d, _)| d).collect()
        } else {
            Vec::new()
        }
    }

    fn collect(&self, sink: &mut dyn Sink) {
        let stats = read();
        for (desc, value) in descs() {
            if let Some(v) = value(&stats) {
                sink.family(&desc);
                match desc.kind() {
                    MetricType::Counter => {
                        sink.counter_f64(LabelSet::empty(), v);
                        // The CPU counter started with the process.
                        if let Some(start) = stats.start_time_seconds.filter(|s| *s >= 0.0) {
                            let at = std::time::UNIX_EPOCH
                                + std::time::Duration::try_from_secs_f64(start).unwrap_or_default();
                            sink.created(LabelSet::empty(), at);
                        }
                    }
                    _ => sink.gauge(LabelSet::empty(), v),
                }
            }
        }
    }
}

/// Reads the current process' statistics from `/proc/self`.
#[cfg(target_os = "linux")]
pub(crate) fn read() -> ProcessStats {
    use std::fs;

    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let page = rustix::param::page_size() as f64;
    let mut s = ProcessStats::default();
    if let Ok(stat) = fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesised command name, which may contain spaces.
        if let Some((_, rest)) = stat.rsplit_once(')') {
            let f: Vec<&str> = rest.split_whitespace().collect();
            // `rest` starts at field 3 (state); field n is f[n - 3].
            let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<f64>().ok());
            if let (Some(u), Some(k)) = (field(14), field(15)) {
                s.cpu_seconds = Some((u + k) / ticks);
            }
            s.virtual_bytes = field(23);
            s.resident_bytes = field(24).map(|p| p * page);
            let boot = fs::read_to_string("/proc/stat").ok().and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse::<f64>().ok())
            });
            if let (Some(boot), Some(start)) = (boot, field(22)) {
                s.start_time_seconds = Some(boot + start / ticks);
            }
        }
    }
    s.open_fds = fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as f64);
    s.max_fds = fs::read_to_string("/proc/self/limits").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l["Max open files".len()..].split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    });
    s
}

/// Reads the current process' statistics (nothing outside Linux).
#[cfg(not(target_os = "linux"))]
pub(crate) fn read() -> ProcessStats {
    ProcessStats::default()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_plausible_values() {
        let s = read();
        assert!(s.resident_bytes.unwrap() > 1e5);
        assert!(s.virtual_bytes.unwrap() >= s.resident_bytes.unwrap());
        assert!(s.open_fds.unwrap() >= 3.0);
        assert!(s.max_fds.unwrap() >= s.open_fds.unwrap());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = s.start_time_seconds.unwrap();
        assert!(start <= now + 1.0 && start > now - 86_400.0 * 365.0);
    }

    /// The collector declares its six names, so a registry refuses an application family (or
    /// a second process collector) that would print the same series twice.
    #[test]
    fn the_process_names_are_taken_in_the_registry() {
        let registry = crate::Registry::new();
        registry.register(ProcessCollector::new()).unwrap();
        let cpu = registry.family::<crate::metrics::Counter, 0>(
            "process_cpu_seconds_total",
            "Mine.",
            [],
            (),
        );
        assert!(
            matches!(cpu, Err(crate::registry::RegistryError::Duplicate { .. })),
            "process_cpu_seconds_total was not refused: {:?}",
            cpu.err()
        );
        for name in [
            "process_open_fds",
            "process_max_fds",
            "process_virtual_memory_bytes",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
        ] {
            let taken = registry.family::<crate::metrics::Gauge, 0>(name, "Mine.", [], ());
            assert!(
                matches!(taken, Err(crate::registry::RegistryError::Duplicate { .. })),
                "{name} was not refused"
            );
        }
        assert!(registry.register(ProcessCollector::new()).is_err());
    }

    /// The CPU counter follows work done: burning CPU on this thread moves it forward (the
    /// kernel counts in clock ticks, usually 10 ms). Bounded: at most 10 s of spinning.
    #[test]
    fn cpu_seconds_grow_with_work() {
        let before = read().cpu_seconds.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut x = 0u64;
        let mut after = before;
        while after < before + 0.05 && std::time::Instant::now() < deadline {
            for i in 0..1_000_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            after = read().cpu_seconds.unwrap();
        }
        assert!(
            after >= before + 0.05,
            "cpu {before} -> {after} after spinning"
        );
    }
}
