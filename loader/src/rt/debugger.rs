//! What debuggers see: a `struct r_debug` with every object of the process.
//!
//! gdb finds a process's shared objects through the `r_debug` that the
//! main executable's DT_DEBUG entry points to, and learns of changes by a
//! breakpoint on `_dl_debug_state` (it looks the symbol up in the dynamic
//! linker, or, for a program without an interpreter, in the program). When
//! shimld is started as a command it is gdb's main executable; as a
//! PT_INTERP it is gdb's dynamic linker. Either way gdb finds shimld's
//! `_dl_debug_state`, and shimld points both its own and the program's
//! DT_DEBUG at its `r_debug`, whose list is the one `dl_iterate_phdr`
//! gives (the program, the vDSO, every object in load order, the glibc
//! core's as copies of glibc's public fields). perf needs none of this:
//! it reads the process's mappings.

use super::dl::LinkMap;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};

#[repr(C)]
pub struct RDebug {
    pub r_version: AtomicI32,
    pub r_map: AtomicPtr<LinkMap>,
    pub r_brk: AtomicUsize,
    pub r_state: AtomicI32,
    pub r_ldbase: AtomicUsize,
}

pub const RT_CONSISTENT: i32 = 0;
pub const RT_ADD: i32 = 1;
pub const RT_DELETE: i32 = 2;

pub static R_DEBUG: RDebug = RDebug {
    r_version: AtomicI32::new(1),
    r_map: AtomicPtr::new(core::ptr::null_mut()),
    r_brk: AtomicUsize::new(0),
    r_state: AtomicI32::new(RT_CONSISTENT),
    r_ldbase: AtomicUsize::new(0),
};

/// The function a debugger breaks on to hear of changes to `R_DEBUG`.
#[no_mangle]
#[inline(never)]
pub extern "C" fn _dl_debug_state() {
    // Something the optimiser must keep, so the function has a body and an
    // address of its own.
    // SAFETY: an empty instruction.
    unsafe { core::arch::asm!("nop", options(nomem, nostack, preserves_flags)) };
}

/// Points a DT_DEBUG entry at `R_DEBUG`.
///
/// # Safety
/// `slot` must be the value word of a writable DT_DEBUG entry.
pub unsafe fn publish(slot: usize) {
    core::ptr::write_volatile(slot as *mut usize, &R_DEBUG as *const RDebug as usize);
}

/// Tells a debugger that objects are about to come or go (`RT_ADD`,
/// `RT_DELETE`) or that the list is consistent again (`RT_CONSISTENT`,
/// with the new first map).
pub fn state(state: i32, first: Option<*const LinkMap>, ldbase: usize) {
    R_DEBUG.r_brk.store(_dl_debug_state as *const () as usize, Ordering::Relaxed);
    R_DEBUG.r_ldbase.store(ldbase, Ordering::Relaxed);
    if let Some(f) = first {
        R_DEBUG.r_map.store(f as *mut LinkMap, Ordering::Release);
    }
    R_DEBUG.r_state.store(state, Ordering::Release);
    _dl_debug_state();
}
