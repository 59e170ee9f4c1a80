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

/// One frame as glibc words it: `FILE(SYMBOL+0xOFF) [0xADDR]` for
/// `backtrace_symbols`, `FILE(SYMBOL+0xOFF)[0xADDR]` for the `_fd`
/// variant (which always writes the 0x, and leaves the parentheses out
/// when there is neither a symbol nor a load bias); offsets are from the
/// load bias when no symbol covers the address. glibc finds names with its
/// own `_dl_addr`, which does not know the objects shimld loaded; this uses
/// shimld's `dladdr1`, which knows both.
fn frame_line(addr: usize, fd_style: bool) -> Vec<u8> {
    use core::fmt::Write;
    let mut info = super::dl::DlInfo { fname: core::ptr::null(), fbase: 0, sname: core::ptr::null(), saddr: 0 };
    let mut lm: *const core::ffi::c_void = core::ptr::null();
    let found = super::dl::dladdr1(addr, &mut info, &mut lm, 2) != 0;
    // SAFETY: dladdr1 fills C strings (or NULL).
    let fname = if found { unsafe { super::process::cstr(info.fname) } } else { &[] };
    let sep = if fd_style { "" } else { " " };
    let mut out = Vec::new();
    let mut s = alloc::string::String::new();
    if !fname.is_empty() {
        out.extend_from_slice(fname);
        // SAFETY: RTLD_DL_LINKMAP gives a link_map, whose first field is l_addr.
        let bias = if lm.is_null() { info.fbase } else { unsafe { *(lm as *const usize) } };
        // SAFETY: as above.
        let sname = unsafe { super::process::cstr(info.sname) };
        let saddr = if info.sname.is_null() { bias } else { info.saddr };
        let described =
            if fd_style { !info.sname.is_null() || bias != 0 } else { !(info.sname.is_null() && saddr == 0) };
        if described {
            let (sign, off) = if addr >= saddr { ('+', addr - saddr) } else { ('-', saddr - addr) };
            out.push(b'(');
            out.extend_from_slice(sname);
            // C's %#tx prints 0 without the 0x; the _fd variant always has it.
            if off == 0 && !fd_style {
                let _ = write!(s, "{sign}0)");
            } else {
                let _ = write!(s, "{sign}{off:#x})");
            }
        } else if !fd_style {
            let _ = write!(s, "()");
        }
    }
    let _ = write!(s, "{sep}[{addr:#x}]");
    if fname.is_empty() {
        s = alloc::format!("[{addr:#x}]");
    }
    out.extend_from_slice(s.as_bytes());
    out
}

/// The program's malloc (libc's, or whatever interposes it).
fn program_malloc() -> Option<extern "C" fn(usize) -> *mut u8> {
    let ld = loader::get()?;
    let d = ld.lookup(b"malloc", None, 0, loader::Class::Normal)?;
    // SAFETY: malloc has this signature.
    Some(unsafe { core::mem::transmute::<usize, extern "C" fn(usize) -> *mut u8>(ld.value(&d)) })
}

#[no_mangle]
pub extern "C" fn backtrace_symbols(array: *const usize, size: i32) -> *mut *mut u8 {
    let n = size.max(0) as usize;
    // SAFETY: the caller passes `size` return addresses.
    let lines: Vec<Vec<u8>> = (0..n).map(|i| frame_line(unsafe { *array.add(i) }, false)).collect();
    let total = n * 8 + lines.iter().map(|l| l.len() + 1).sum::<usize>();
    let Some(malloc) = program_malloc() else { return core::ptr::null_mut() };
    let block = malloc(total);
    if block.is_null() {
        return core::ptr::null_mut();
    }
    // One block, as glibc returns it: the pointers, then the strings; the
    // caller frees it with free().
    // SAFETY: the block holds `total` bytes, laid out as computed above.
    unsafe {
        let ptrs = block as *mut *mut u8;
        let mut at = block.add(n * 8);
        for (i, l) in lines.iter().enumerate() {
            *ptrs.add(i) = at;
            core::ptr::copy_nonoverlapping(l.as_ptr(), at, l.len());
            *at.add(l.len()) = 0;
            at = at.add(l.len() + 1);
        }
        ptrs
    }
}

#[no_mangle]
pub extern "C" fn backtrace_symbols_fd(array: *const usize, size: i32, fd: i32) {
    for i in 0..size.max(0) as usize {
        // SAFETY: the caller passes `size` return addresses.
        let mut l = frame_line(unsafe { *array.add(i) }, true);
        l.push(b'\n');
        let _ = super::sys::write_all(fd, &l);
    }
}
