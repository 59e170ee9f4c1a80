//! A list that only grows, readable without a lock while it grows.
//!
//! The loader's objects and its global scope are read by every symbol
//! lookup (lazy binding on any thread, `dlsym`) and grown by `dlopen`. The
//! storage is allocated once at its full capacity, so an append never moves
//! what readers look at; the length is published after the element is
//! written. Appends must be serialised by the caller (the dl lock).

use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

pub struct AppendVec<T> {
    slots: Vec<UnsafeCell<MaybeUninit<T>>>,
    len: AtomicUsize,
}

// SAFETY: elements are written once, before the length that covers them
// is published (Release), and read only below the published length
// (Acquire); appends are serialised by the caller.
unsafe impl<T: Send + Sync> Sync for AppendVec<T> {}
unsafe impl<T: Send> Send for AppendVec<T> {}

impl<T> AppendVec<T> {
    pub fn with_capacity(cap: usize) -> AppendVec<T> {
        let mut slots = Vec::with_capacity(cap);
        slots.resize_with(cap, || UnsafeCell::new(MaybeUninit::uninit()));
        AppendVec { slots, len: AtomicUsize::new(0) }
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Appends `v`; false if the list is full.
    ///
    /// The caller must serialise appends (startup is single-threaded, later
    /// appends hold the dl lock).
    pub fn push(&self, v: T) -> bool {
        let n = self.len.load(Ordering::Relaxed);
        let Some(slot) = self.slots.get(n) else { return false };
        // SAFETY: slot n is beyond the published length, so no reader looks
        // at it, and appends are serialised, so no writer either.
        unsafe { (*slot.get()).write(v) };
        self.len.store(n + 1, Ordering::Release);
        true
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len() {
            return None;
        }
        // SAFETY: i is below the published length, so the slot is written
        // and never written again.
        Some(unsafe { (*self.slots[i].get()).assume_init_ref() })
    }

    /// Mutable access to an element through a shared list.
    ///
    /// # Safety
    /// No other reference to element `i` may exist or be created while the
    /// result is alive (dlopen uses this for objects it is still setting
    /// up, and for objects it unloads, under the dl lock).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_mut_unchecked(&self, i: usize) -> Option<&mut T> {
        if i >= self.len() {
            return None;
        }
        Some((*self.slots[i].get()).assume_init_mut())
    }

    /// Mutable access, for the single-threaded start-up.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= *self.len.get_mut() {
            return None;
        }
        // SAFETY: as in get; &mut self excludes every other access.
        Some(unsafe { (*self.slots[i].get()).assume_init_mut() })
    }

    /// The published elements, as one slice.
    pub fn as_slice(&self) -> &[T] {
        let n = self.len();
        // SAFETY: the first n slots are written and never written again;
        // UnsafeCell<MaybeUninit<T>> has T's layout; the storage never moves.
        unsafe { core::slice::from_raw_parts(self.slots.as_ptr() as *const T, n) }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + '_ {
        (0..self.len()).map(move |i| self.get(i).unwrap())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        let n = *self.len.get_mut();
        self.slots[..n].iter_mut().map(|s| {
            // SAFETY: below the length, written; &mut self is exclusive.
            unsafe { s.get_mut().assume_init_mut() }
        })
    }
}

impl<T> core::ops::Index<usize> for AppendVec<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(v) => v,
            None => panic!("index {i} beyond the {} elements", self.len()),
        }
    }
}

impl<T> core::ops::IndexMut<usize> for AppendVec<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        let n = *self.len.get_mut();
        match self.get_mut(i) {
            Some(v) => v,
            None => panic!("index {i} beyond the {n} elements"),
        }
    }
}

impl<T> Drop for AppendVec<T> {
    fn drop(&mut self) {
        let n = *self.len.get_mut();
        for s in &mut self.slots[..n] {
            // SAFETY: the first n slots are initialised, and dropped once.
            unsafe { s.get_mut().assume_init_drop() };
        }
    }
}
