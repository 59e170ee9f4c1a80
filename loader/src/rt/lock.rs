//! A recursive mutex on a futex: the dl lock, which serialises `dlopen`,
//! `dlclose` and the other calls that change or walk the set of objects.
//! Recursive because a constructor run by `dlopen` may call `dlopen`.
//!
//! Threads are told apart by their thread pointer, which is unique among
//! live threads and costs no system call to read.

use super::sys;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

pub struct RecursiveMutex<T> {
    /// 0 unlocked, 1 locked, 2 locked with waiters.
    state: AtomicU32,
    owner: AtomicUsize,
    depth: UnsafeCell<usize>,
    data: UnsafeCell<T>,
}

// SAFETY: `data` and `depth` are only reached while holding the lock.
unsafe impl<T: Send> Sync for RecursiveMutex<T> {}

/// Set once the thread pointer is valid (before that, shimld runs alone on
/// the process's one thread).
static TP_READY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Says that %fs now points at a thread control block.
pub fn thread_pointer_ready() {
    TP_READY.store(true, Ordering::Release);
}

pub fn thread_id() -> usize {
    if !TP_READY.load(Ordering::Acquire) {
        return 1;
    }
    let tp: usize;
    // SAFETY: reads the thread pointer, valid since thread_pointer_ready.
    unsafe { core::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags)) };
    tp
}

pub struct Guard<'a, T> {
    m: &'a RecursiveMutex<T>,
}

impl<T> RecursiveMutex<T> {
    pub const fn new(v: T) -> Self {
        RecursiveMutex {
            state: AtomicU32::new(0),
            owner: AtomicUsize::new(0),
            depth: UnsafeCell::new(0),
            data: UnsafeCell::new(v),
        }
    }

    #[allow(clippy::mut_from_ref)]
    pub fn lock(&self) -> Guard<'_, T> {
        let me = thread_id();
        if self.owner.load(Ordering::Relaxed) == me {
            // SAFETY: this thread holds the lock.
            unsafe { *self.depth.get() += 1 };
            return Guard { m: self };
        }
        if self.state.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            while self.state.swap(2, Ordering::Acquire) != 0 {
                sys::futex_wait(&self.state, 2);
            }
        }
        self.owner.store(me, Ordering::Relaxed);
        // SAFETY: the lock is now ours.
        unsafe { *self.depth.get() = 1 };
        Guard { m: self }
    }
}

impl<T> Guard<'_, T> {
    /// The protected data. The lock is recursive, so a caller must not keep
    /// this reference across a call that may re-enter the lock (running
    /// constructors, say).
    #[allow(clippy::mut_from_ref)]
    pub fn get(&self) -> &mut T {
        // SAFETY: the lock is held by this thread.
        unsafe { &mut *self.m.data.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this thread holds the lock.
        let depth = unsafe { &mut *self.m.depth.get() };
        *depth -= 1;
        if *depth > 0 {
            return;
        }
        self.m.owner.store(0, Ordering::Relaxed);
        if self.m.state.swap(0, Ordering::Release) == 2 {
            sys::futex_wake(&self.m.state, 1);
        }
    }
}
