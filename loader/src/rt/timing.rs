//! Phase times for SHIMLD_DEBUG=statistics: `time in PHASE: N us`, one
//! line per stage of start-up, from the monotonic clock.
//!
//! Symbol lookup happens inside relocation, too often to read the clock
//! around each one. Lookups are timed with the TSC instead, and only as a
//! share: the phase's wall time (from the clock) is split in the ratio of
//! TSC ticks spent in lookups to TSC ticks of the whole phase. A TSC whose
//! frequency a virtual machine misreports still gives the right share.

use super::out::{self, cat};
use crate::debug;
use core::sync::atomic::{AtomicU64, Ordering};

static LAST: AtomicU64 = AtomicU64::new(0);

#[inline]
pub fn enabled() -> bool {
    out::enabled(cat::STATISTICS)
}

/// Starts the clock (the first phase runs from here).
pub fn start() {
    if enabled() {
        LAST.store(super::sys::monotonic_ns(), Ordering::Relaxed);
    }
}

/// Ends a phase: prints the time since the previous mark.
pub fn mark(phase: &str) {
    if enabled() {
        let now = super::sys::monotonic_ns();
        let then = LAST.swap(now, Ordering::Relaxed);
        debug!(cat::STATISTICS, "time in {}: {} us", phase, now.saturating_sub(then) / 1000);
    }
}

/// Ends the relocation phase, split into symbol lookup and the rest:
/// `lookup_ticks` of `total_ticks` TSC ticks were spent looking up.
pub fn mark_relocation(lookup_ticks: u64, total_ticks: u64) {
    if enabled() {
        let now = super::sys::monotonic_ns();
        let then = LAST.swap(now, Ordering::Relaxed);
        let ns = now.saturating_sub(then);
        let lookup =
            if total_ticks == 0 { 0 } else { (ns as u128 * lookup_ticks as u128 / total_ticks as u128) as u64 };
        debug!(cat::STATISTICS, "time in symbol lookup: {} us", lookup / 1000);
        debug!(cat::STATISTICS, "time in relocation: {} us", (ns - lookup.min(ns)) / 1000);
    }
}

/// The time-stamp counter.
#[inline]
pub fn ticks() -> u64 {
    // SAFETY: rdtsc reads a counter; it has no memory effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}
