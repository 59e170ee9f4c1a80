//! Per-process replicas of system functions: shimld's versions of libc
//! entry points, bound into the objects shimld loads where a lookup reaches
//! the glibc core (see `Loader::lookup_scoped`). Everything else still goes
//! to libc, and every real system call to the kernel.
//!
//! Always on: `/proc/self/exe` names the program, not shimld.

use super::loader;
use super::object::Kind;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// The program's canonical path, as /proc/self/exe shows it natively.
static PROGRAM_PATH: AtomicPtr<Vec<u8>> = AtomicPtr::new(core::ptr::null_mut());

pub fn set_program_path(p: Vec<u8>) {
    PROGRAM_PATH.store(alloc::boxed::Box::into_raw(alloc::boxed::Box::new(p)), Ordering::Release);
}

fn program_path() -> Option<&'static [u8]> {
    // SAFETY: set once from a leaked box.
    unsafe { PROGRAM_PATH.load(Ordering::Acquire).as_ref() }.map(|v| &v[..])
}

/// Whether `path` names this process's executable link.
fn is_self_exe(path: &[u8]) -> bool {
    path == b"/proc/self/exe" || path == b"/proc/thread-self/exe" || {
        let mut own = alloc::string::String::new();
        let _ = core::fmt::Write::write_fmt(&mut own, format_args!("/proc/{}/exe", super::sys::getpid()));
        path == own.as_bytes()
    }
}

/// The glibc core's definition of `name`, looked up once.
fn next(cache: &AtomicUsize, name: &[u8]) -> Option<usize> {
    let v = cache.load(Ordering::Acquire);
    if v != 0 {
        return Some(v);
    }
    let ld = loader::get()?;
    let def = (0..ld.objs.len()).filter(|&i| ld.objs[i].kind == Kind::Core).find_map(|i| ld.lookup_in(i, name))?;
    let f = ld.value(&def);
    cache.store(f, Ordering::Release);
    Some(f)
}

fn copy_out(src: &[u8], buf: *mut u8, size: usize) -> isize {
    let n = src.len().min(size);
    // SAFETY: the caller gave a buffer of `size` bytes; readlink does not
    // terminate the string.
    unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), buf, n) };
    n as isize
}

#[no_mangle]
pub extern "C" fn readlink(path: *const u8, buf: *mut u8, size: usize) -> isize {
    // SAFETY: the caller passes a C string.
    let p = unsafe { super::process::cstr(path) };
    if let (true, Some(exe)) = (is_self_exe(p), program_path()) {
        return copy_out(exe, buf, size);
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    match next(&NEXT, b"readlink") {
        // SAFETY: libc's readlink has this signature.
        Some(f) => unsafe {
            core::mem::transmute::<usize, extern "C" fn(*const u8, *mut u8, usize) -> isize>(f)(path, buf, size)
        },
        None => -1,
    }
}

#[no_mangle]
pub extern "C" fn readlinkat(dirfd: i32, path: *const u8, buf: *mut u8, size: usize) -> isize {
    // SAFETY: the caller passes a C string.
    let p = unsafe { super::process::cstr(path) };
    if let (true, Some(exe)) = (is_self_exe(p), program_path()) {
        return copy_out(exe, buf, size);
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    match next(&NEXT, b"readlinkat") {
        // SAFETY: libc's readlinkat has this signature.
        Some(f) => unsafe {
            core::mem::transmute::<usize, extern "C" fn(i32, *const u8, *mut u8, usize) -> isize>(f)(
                dirfd, path, buf, size,
            )
        },
        None => -1,
    }
}
