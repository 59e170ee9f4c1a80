//! The memory primitives the compiler calls (memcpy and friends). Without
//! libc nothing else provides them; `rep movsb`/`rep stosb` are fast on
//! current CPUs and, being assembly, cannot be turned back into calls to
//! themselves.

use core::arch::asm;

/// # Safety
/// As C's memcpy: `n` bytes readable at `src`, writable at `dst`, no overlap.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _, options(nostack, preserves_flags));
    dst
}

/// # Safety
/// As C's memmove: `n` bytes readable at `src` and writable at `dst`.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // No harmful overlap: copy forwards.
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _, options(nostack, preserves_flags));
    } else {
        // dst lies inside the source: copy backwards.
        asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") dst.add(n).wrapping_sub(1) => _,
            inout("rsi") src.add(n).wrapping_sub(1) => _,
            options(nostack)
        );
    }
    dst
}

/// # Safety
/// As C's memset: `n` bytes writable at `dst`.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _, in("al") c as u8, options(nostack, preserves_flags));
    dst
}

/// # Safety
/// As C's memcmp: `n` bytes readable at both pointers.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    // Whole words first; the first differing word is finished bytewise.
    while i + 8 <= n && (a.add(i) as *const u64).read_unaligned() == (b.add(i) as *const u64).read_unaligned() {
        i += 8;
    }
    while i < n {
        let (x, y) = (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i)));
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// As memcmp.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}

/// # Safety
/// As C's strlen: `s` points at a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    while core::ptr::read_volatile(s.add(n)) != 0 {
        n += 1;
    }
    n
}

// The precompiled `alloc` crate is built for unwinding and names these two
// symbols; shimld aborts on panic, so neither is ever reached.

#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    super::sys::exit_group(127)
}

#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
