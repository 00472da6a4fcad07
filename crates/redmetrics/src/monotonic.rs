//! The monotonic clock of the request path, as nanoseconds in a `u64`: a request's latency
//! is one integer subtraction and a summary's time slice one division, where `Instant`
//! needs `timespec` arithmetic with carries and checks for each (about 55 instructions).
//!
//! On Linux this is `CLOCK_MONOTONIC`, the clock `Instant::now` reads, through glibc's
//! `clock_gettime` (the vDSO, no system call); elsewhere `Instant` minus a process-wide
//! start. (rustix's own vDSO lookup was tried first: it crashes under valgrind, which hides
//! the vDSO, and valgrind is how the instruction counts are taken.) Values are only
//! ever compared with each other, never shown.

use std::time::Instant;

/// Now, in nanoseconds on this process's monotonic clock.
#[cfg(target_os = "linux")]
#[inline]
#[allow(unsafe_code)]
pub(crate) fn now() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable `timespec` for the call's duration, and
    // CLOCK_MONOTONIC is always supported on Linux, so the call cannot fail (what std's
    // `Instant::now` relies on too). Measured: `Instant` then `duration_since` cost about 85
    // instructions a read, this about 15 (BENCHMARKS.md, issue 22).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    // CLOCK_MONOTONIC counts from boot: never negative, and u64 nanoseconds last 584 years.
    (t.tv_sec as u64) * 1_000_000_000 + t.tv_nsec as u64
}

/// Now, in nanoseconds on this process's monotonic clock.
#[cfg(not(target_os = "linux"))]
#[inline]
pub(crate) fn now() -> u64 {
    nanos_since_start(Instant::now())
}

#[cfg(not(target_os = "linux"))]
fn nanos_since_start(at: Instant) -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(at.saturating_duration_since(start).as_nanos()).unwrap_or(u64::MAX)
}

/// `at` on this clock, for callers that hand in an `Instant` of their own. On Linux it is
/// placed from its distance to now (two more clock reads, tens of nanoseconds apart).
pub(crate) fn of(at: Instant) -> u64 {
    #[cfg(target_os = "linux")]
    {
        let (here, now) = (Instant::now(), now());
        let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        match at.checked_duration_since(here) {
            Some(ahead) => now.saturating_add(nanos(ahead)),
            None => now.saturating_sub(nanos(here.saturating_duration_since(at))),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        nanos_since_start(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_moves_forward_with_instant() {
        let a = now();
        let i = Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = now();
        assert!(b >= a + 20_000_000, "{a} {b}");
        let at = of(i);
        assert!(a <= at + 1_000_000 && at <= b, "{a} {at} {b}");
        let later = of(i + std::time::Duration::from_secs(600));
        assert!(later >= at + 599_000_000_000, "{at} {later}");
    }
}
