//! Per-process replicas of system functions: shimld's versions of libc
//! entry points, bound into the objects shimld loads where a lookup reaches
//! the glibc core (see `Loader::lookup_scoped`). Everything else still goes
//! to libc, and every real system call to the kernel.
//!
//! Always on: `/proc/self/exe` names the program, not shimld. On request
//! (options or a profile): the hostname and domain name, a clock offset,
//! user and group ids, the CPU count, and exec following.

use super::loader;
use super::object::Kind;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// What the replicas report, per process.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub hostname: Option<Vec<u8>>,
    pub domainname: Option<Vec<u8>>,
    /// Added to the real-time clocks, in nanoseconds.
    pub clock_offset_ns: Option<i64>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub nproc: Option<u32>,
    /// Children that are dynamic ELF programs start through shimld too.
    pub follow_exec: bool,
    /// Also patch the glibc core's own entry points (--replicas=deep).
    pub deep: bool,
}

static SETTINGS: AtomicPtr<Settings> = AtomicPtr::new(core::ptr::null_mut());

pub fn configure(s: Settings) {
    SETTINGS.store(alloc::boxed::Box::into_raw(alloc::boxed::Box::new(s)), Ordering::Release);
}

pub fn settings() -> &'static Settings {
    static NONE: Settings = Settings {
        hostname: None,
        domainname: None,
        clock_offset_ns: None,
        uid: None,
        gid: None,
        nproc: None,
        follow_exec: false,
        deep: false,
    };
    // SAFETY: set once from a leaked box, before the program runs.
    unsafe { SETTINGS.load(Ordering::Acquire).as_ref() }.unwrap_or(&NONE)
}

/// Whether shimld's replica of `name` is in use (and so bound in place of
/// libc's for the objects shimld loads).
pub fn active(name: &[u8]) -> bool {
    let s = settings();
    match name {
        n if shimld::replicas::ALWAYS.iter().any(|a| a.as_bytes() == n) => true,
        b"uname" => s.hostname.is_some() || s.domainname.is_some(),
        b"gethostname" => s.hostname.is_some(),
        b"getdomainname" => s.domainname.is_some(),
        b"time" | b"gettimeofday" | b"clock_gettime" | b"timespec_get" | b"ftime" => s.clock_offset_ns.is_some(),
        b"getuid" | b"geteuid" | b"getresuid" => s.uid.is_some(),
        b"getgid" | b"getegid" | b"getresgid" => s.gid.is_some(),
        b"sysconf" | b"get_nprocs" | b"get_nprocs_conf" | b"sched_getaffinity" => s.nproc.is_some(),
        _ => false,
    }
}

/// The program's canonical path, as /proc/self/exe shows it natively.
static PROGRAM_PATH: AtomicPtr<Vec<u8>> = AtomicPtr::new(core::ptr::null_mut());

/// The program as named, and the directory a relative name is taken from,
/// where its canonical path is found on first use (`set_program_named`).
static PROGRAM_NAMED: AtomicPtr<(Vec<u8>, Option<Vec<u8>>)> = AtomicPtr::new(core::ptr::null_mut());

pub fn set_program_path(p: Vec<u8>) {
    PROGRAM_PATH.store(alloc::boxed::Box::into_raw(alloc::boxed::Box::new(p)), Ordering::Release);
}

/// Names the program for a canonical path found when first asked for
/// (`program_path`): resolving it takes a readlink for each component,
/// which most start-ups never need.
pub fn set_program_named(path: Vec<u8>, cwd: Option<Vec<u8>>) {
    PROGRAM_NAMED.store(alloc::boxed::Box::into_raw(alloc::boxed::Box::new((path, cwd))), Ordering::Release);
}

/// The program as named (see `set_program_named`).
pub fn program_named() -> Option<(&'static [u8], Option<&'static [u8]>)> {
    // SAFETY: set once from a leaked box.
    unsafe { PROGRAM_NAMED.load(Ordering::Acquire).as_ref() }.map(|(p, c)| (&p[..], c.as_deref()))
}

/// The program's canonical path, as /proc/self/exe shows it natively.
pub fn program_path() -> Option<&'static [u8]> {
    // SAFETY: set once from a leaked box.
    if let Some(p) = unsafe { PROGRAM_PATH.load(Ordering::Acquire).as_ref() } {
        return Some(&p[..]);
    }
    let (path, cwd) = program_named()?;
    let new = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(super::map::real_path(path, cwd)?));
    // (Two threads asking at once: the first answer stays.)
    let kept = match PROGRAM_PATH.compare_exchange(core::ptr::null_mut(), new, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => new,
        Err(old) => {
            // SAFETY: `new` was never shared.
            drop(unsafe { alloc::boxed::Box::from_raw(new) });
            old
        }
    };
    // SAFETY: a leaked box, never freed.
    unsafe { kept.as_ref() }.map(|v| &v[..])
}

/// Whether `path` names this process's executable link.
fn is_self_exe(path: &[u8]) -> bool {
    path == b"/proc/self/exe" || path == b"/proc/thread-self/exe" || {
        let mut own = alloc::string::String::new();
        let _ = core::fmt::Write::write_fmt(&mut own, format_args!("/proc/{}/exe", super::sys::getpid()));
        path == own.as_bytes()
    }
}

/// The glibc core's definition of `name` (its relocated prologue, if
/// --replicas=deep patched it), looked up once.
fn next(cache: &AtomicUsize, name: &[u8]) -> Option<usize> {
    let v = cache.load(Ordering::Acquire);
    if v != 0 {
        return Some(v);
    }
    if let Some(t) = super::patch::original(name) {
        cache.store(t, Ordering::Release);
        return Some(t);
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

// ---------------------------------------------------------------------------
// The system's identity: hostname and domain name.

macro_rules! real {
    ($name:literal, $ty:ty) => {{
        static CACHE: AtomicUsize = AtomicUsize::new(0);
        // SAFETY: the glibc core's function of that name has this C type.
        next(&CACHE, $name).map(|f| unsafe { core::mem::transmute::<usize, $ty>(f) })
    }};
}

fn set_errno(e: i32) {
    if let Some(f) = real!(b"__errno_location", extern "C" fn() -> *mut i32) {
        // SAFETY: libc's errno location for the calling thread.
        unsafe { *f() = e };
    }
}

const ENAMETOOLONG: i32 = 36;
const EINVAL: i32 = 22;
const UTS_LEN: usize = 65;

/// Copies `v` into a utsname field (NUL-terminated, truncated to fit).
fn put_field(dst: *mut u8, v: &[u8]) {
    let n = v.len().min(UTS_LEN - 1);
    // SAFETY: dst is a 65-byte field of a struct utsname.
    unsafe {
        core::ptr::copy_nonoverlapping(v.as_ptr(), dst, n);
        core::ptr::write_bytes(dst.add(n), 0, UTS_LEN - n);
    }
}

#[no_mangle]
pub extern "C" fn uname(buf: *mut u8) -> i32 {
    let Some(f) = real!(b"uname", extern "C" fn(*mut u8) -> i32) else { return -1 };
    let r = f(buf);
    if r == 0 {
        let s = settings();
        if let Some(h) = &s.hostname {
            put_field(buf.wrapping_add(UTS_LEN), h);
        }
        if let Some(d) = &s.domainname {
            put_field(buf.wrapping_add(5 * UTS_LEN), d);
        }
    }
    r
}

/// gethostname/getdomainname: the name and its NUL, or ENAMETOOLONG.
fn copy_name(v: &[u8], name: *mut u8, len: usize) -> i32 {
    if v.len() + 1 > len {
        set_errno(if len == 0 { EINVAL } else { ENAMETOOLONG });
        return -1;
    }
    // SAFETY: the caller gave `len` bytes.
    unsafe {
        core::ptr::copy_nonoverlapping(v.as_ptr(), name, v.len());
        *name.add(v.len()) = 0;
    }
    0
}

#[no_mangle]
pub extern "C" fn gethostname(name: *mut u8, len: usize) -> i32 {
    match &settings().hostname {
        Some(h) => copy_name(h, name, len),
        None => real!(b"gethostname", extern "C" fn(*mut u8, usize) -> i32).map_or(-1, |f| f(name, len)),
    }
}

#[no_mangle]
pub extern "C" fn getdomainname(name: *mut u8, len: usize) -> i32 {
    match &settings().domainname {
        Some(d) => copy_name(d, name, len),
        None => real!(b"getdomainname", extern "C" fn(*mut u8, usize) -> i32).map_or(-1, |f| f(name, len)),
    }
}

// ---------------------------------------------------------------------------
// The clock: the real-time clocks run `clock_offset` ahead (or behind); the
// monotonic ones are left alone.

const CLOCK_REALTIME: i32 = 0;
const CLOCK_REALTIME_COARSE: i32 = 5;
const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_TAI: i32 = 11;
const NS: i64 = 1_000_000_000;

fn offset() -> i64 {
    settings().clock_offset_ns.unwrap_or(0)
}

/// Adds the offset to a timespec.
fn shift(ts: *mut [i64; 2]) {
    if ts.is_null() {
        return;
    }
    // SAFETY: the caller's struct timespec, just filled in.
    unsafe {
        let total = ((*ts)[0] as i128) * NS as i128 + (*ts)[1] as i128 + offset() as i128;
        (*ts)[0] = total.div_euclid(NS as i128) as i64;
        (*ts)[1] = total.rem_euclid(NS as i128) as i64;
    }
}

#[no_mangle]
pub extern "C" fn clock_gettime(clk: i32, ts: *mut [i64; 2]) -> i32 {
    let Some(f) = real!(b"clock_gettime", extern "C" fn(i32, *mut [i64; 2]) -> i32) else { return -1 };
    let r = f(clk, ts);
    if r == 0 && matches!(clk, CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_REALTIME_ALARM | CLOCK_TAI) {
        shift(ts);
    }
    r
}

fn now() -> [i64; 2] {
    let mut ts = [0i64; 2];
    clock_gettime(CLOCK_REALTIME, &mut ts);
    ts
}

#[no_mangle]
pub extern "C" fn time(t: *mut i64) -> i64 {
    let s = now()[0];
    if !t.is_null() {
        // SAFETY: the caller's time_t.
        unsafe { *t = s };
    }
    s
}

#[no_mangle]
pub extern "C" fn gettimeofday(tv: *mut [i64; 2], tz: *mut u8) -> i32 {
    let Some(f) = real!(b"gettimeofday", extern "C" fn(*mut [i64; 2], *mut u8) -> i32) else { return -1 };
    let r = f(tv, tz);
    if r == 0 && !tv.is_null() {
        let ts = now();
        // SAFETY: the caller's struct timeval.
        unsafe { *tv = [ts[0], ts[1] / 1000] };
    }
    r
}

#[no_mangle]
pub extern "C" fn timespec_get(ts: *mut [i64; 2], base: i32) -> i32 {
    let Some(f) = real!(b"timespec_get", extern "C" fn(*mut [i64; 2], i32) -> i32) else { return 0 };
    let r = f(ts, base);
    // TIME_UTC is 1.
    if r == 1 {
        shift(ts);
    }
    r
}

/// `struct timeb`.
#[repr(C)]
pub struct TimeB {
    time: i64,
    millitm: u16,
    timezone: i16,
    dstflag: i16,
}

#[no_mangle]
pub extern "C" fn ftime(tp: *mut TimeB) -> i32 {
    let Some(f) = real!(b"ftime", extern "C" fn(*mut TimeB) -> i32) else { return -1 };
    let r = f(tp);
    if !tp.is_null() {
        let ts = now();
        // SAFETY: the caller's struct timeb, just filled in.
        unsafe {
            (*tp).time = ts[0];
            (*tp).millitm = (ts[1] / 1_000_000) as u16;
        }
    }
    r
}

// ---------------------------------------------------------------------------
// User and group ids.

#[no_mangle]
pub extern "C" fn getuid() -> u32 {
    settings().uid.unwrap_or_else(|| real!(b"getuid", extern "C" fn() -> u32).map_or(0, |f| f()))
}

#[no_mangle]
pub extern "C" fn geteuid() -> u32 {
    settings().uid.unwrap_or_else(|| real!(b"geteuid", extern "C" fn() -> u32).map_or(0, |f| f()))
}

#[no_mangle]
pub extern "C" fn getgid() -> u32 {
    settings().gid.unwrap_or_else(|| real!(b"getgid", extern "C" fn() -> u32).map_or(0, |f| f()))
}

#[no_mangle]
pub extern "C" fn getegid() -> u32 {
    settings().gid.unwrap_or_else(|| real!(b"getegid", extern "C" fn() -> u32).map_or(0, |f| f()))
}

fn put3(v: u32, a: *mut u32, b: *mut u32, c: *mut u32) -> i32 {
    // SAFETY: the caller passes three uid_t/gid_t to fill.
    unsafe {
        *a = v;
        *b = v;
        *c = v;
    }
    0
}

#[no_mangle]
pub extern "C" fn getresuid(r: *mut u32, e: *mut u32, s: *mut u32) -> i32 {
    match settings().uid {
        Some(u) => put3(u, r, e, s),
        None => real!(b"getresuid", extern "C" fn(*mut u32, *mut u32, *mut u32) -> i32).map_or(-1, |f| f(r, e, s)),
    }
}

#[no_mangle]
pub extern "C" fn getresgid(r: *mut u32, e: *mut u32, s: *mut u32) -> i32 {
    match settings().gid {
        Some(g) => put3(g, r, e, s),
        None => real!(b"getresgid", extern "C" fn(*mut u32, *mut u32, *mut u32) -> i32).map_or(-1, |f| f(r, e, s)),
    }
}

// ---------------------------------------------------------------------------
// The CPU count.

const SC_NPROCESSORS_CONF: i32 = 83;
const SC_NPROCESSORS_ONLN: i32 = 84;

#[no_mangle]
pub extern "C" fn sysconf(name: i32) -> i64 {
    match (name, settings().nproc) {
        (SC_NPROCESSORS_CONF | SC_NPROCESSORS_ONLN, Some(n)) => n as i64,
        _ => real!(b"sysconf", extern "C" fn(i32) -> i64).map_or(-1, |f| f(name)),
    }
}

#[no_mangle]
pub extern "C" fn get_nprocs() -> i32 {
    settings().nproc.map_or_else(|| real!(b"get_nprocs", extern "C" fn() -> i32).map_or(1, |f| f()), |n| n as i32)
}

#[no_mangle]
pub extern "C" fn get_nprocs_conf() -> i32 {
    settings().nproc.map_or_else(|| real!(b"get_nprocs_conf", extern "C" fn() -> i32).map_or(1, |f| f()), |n| n as i32)
}

/// The calling process's affinity mask shows `nproc` CPUs: the first ones
/// it really may use, then (if it asks for more than there are) the next
/// unset ones.
#[no_mangle]
pub extern "C" fn sched_getaffinity(pid: i32, size: usize, mask: *mut u8) -> i32 {
    let Some(f) = real!(b"sched_getaffinity", extern "C" fn(i32, usize, *mut u8) -> i32) else { return -1 };
    let r = f(pid, size, mask);
    let Some(n) = settings().nproc else { return r };
    if r != 0 || mask.is_null() || (pid != 0 && pid != super::sys::getpid()) {
        return r;
    }
    // SAFETY: the caller's mask of `size` bytes, just filled in.
    let bytes = unsafe { core::slice::from_raw_parts_mut(mask, size) };
    let bit = |b: &[u8], i: usize| b[i / 8] & (1 << (i % 8)) != 0;
    let real: Vec<usize> = (0..size * 8).filter(|&i| bit(bytes, i)).collect();
    let mut chosen: Vec<usize> = real.iter().copied().take(n as usize).collect();
    let mut i = 0;
    while chosen.len() < n as usize && i < size * 8 {
        if !chosen.contains(&i) {
            chosen.push(i);
        }
        i += 1;
    }
    bytes.fill(0);
    for c in chosen {
        bytes[c / 8] |= 1 << (c % 8);
    }
    r
}

// ---------------------------------------------------------------------------
// Exec following: with --follow-exec, a child that is a dynamic ELF program
// (or a script whose interpreter is one) starts through shimld, with the
// same options, root and replicas. Static programs and other files run as
// they would natively. execve of /proc/self/exe re-runs the program
// through shimld in any case (natively it re-runs the program).

/// How to start shimld again: its path and the options to pass on.
pub struct Relaunch {
    /// shimld's path; None: the process's own executable (shimld started
    /// as a command), read when first needed.
    pub shimld: Option<Vec<u8>>,
    pub options: Vec<Vec<u8>>,
}

impl Relaunch {
    /// shimld's path (until the program execs, /proc/self/exe is shimld
    /// when shimld was started as a command).
    fn shimld(&self) -> Vec<u8> {
        if let Some(p) = &self.shimld {
            return p.clone();
        }
        let mut buf = [0u8; 4096];
        match super::sys::readlink(b"/proc/self/exe", &mut buf) {
            Ok(n) => buf[..n].to_vec(),
            Err(_) => Vec::new(),
        }
    }
}

static RELAUNCH: AtomicPtr<Relaunch> = AtomicPtr::new(core::ptr::null_mut());

pub fn set_relaunch(r: Relaunch) {
    RELAUNCH.store(alloc::boxed::Box::into_raw(alloc::boxed::Box::new(r)), Ordering::Release);
}

fn relaunch() -> Option<&'static Relaunch> {
    // SAFETY: set once from a leaked box.
    unsafe { RELAUNCH.load(Ordering::Acquire).as_ref() }
}

/// Whether the file at `path` is a program that runs with an interpreter
/// (a dynamic ELF program, or a script whose interpreter is one).
fn is_dynamic_program(path: &[u8], depth: usize) -> bool {
    let Ok(fd) = super::root::open(path, super::sys::O_RDONLY) else { return false };
    let mut head = [0u8; 1024];
    let n = super::sys::pread_full(fd, &mut head, 0).unwrap_or(0);
    super::sys::close(fd);
    let head = &head[..n];
    if head.starts_with(b"#!") && depth < 4 {
        let line = &head[2..];
        let line = &line[..line.iter().position(|&c| c == b'\n').unwrap_or(line.len())];
        let line = &line[line.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(line.len())..];
        let interp = &line[..line.iter().position(|&c| c == b' ' || c == b'\t' || c == 0).unwrap_or(line.len())];
        return !interp.is_empty() && is_dynamic_program(&in_root(interp), depth + 1);
    }
    let Ok(eh) = shimld::elf::check_header(head) else { return false };
    let Ok(ph) = shimld::elf::phdrs_at(&eh, head, 0) else { return false };
    ph.iter().any(|p| p.p_type == shimld::elf::PT_INTERP)
}

/// An absolute path inside the root, when there is one and it has the file.
fn in_root(path: &[u8]) -> Vec<u8> {
    if super::root::is_set() && path.starts_with(b"/") {
        let inside = super::root::inside(path);
        if let Ok(fd) = super::root::open(&inside, super::sys::O_RDONLY | super::sys::O_PATH) {
            super::sys::close(fd);
            return inside;
        }
    }
    path.to_vec()
}

/// The program to give shimld instead of exec'ing `path` directly, if it
/// should go through shimld.
fn follow(path: &[u8]) -> Option<Vec<u8>> {
    if is_self_exe(path) {
        return program_path().map(|p| p.to_vec());
    }
    if !settings().follow_exec {
        return None;
    }
    let p = in_root(path);
    is_dynamic_program(&p, 0).then_some(p)
}

/// A C string array (NULL-terminated) from byte strings; the strings and
/// the array live as long as the returned vectors.
fn c_array(items: &[Vec<u8>]) -> (Vec<Vec<u8>>, Vec<*const u8>) {
    let owned: Vec<Vec<u8>> = items
        .iter()
        .map(|s| {
            let mut v = s.clone();
            v.push(0);
            v
        })
        .collect();
    let mut ptrs: Vec<*const u8> = owned.iter().map(|v| v.as_ptr()).collect();
    ptrs.push(core::ptr::null());
    (owned, ptrs)
}

/// shimld's argv for running `target` with the caller's `argv`.
fn shimld_argv(r: &Relaunch, target: &[u8], argv: *const *const u8) -> Vec<Vec<u8>> {
    let mut v = alloc::vec![r.shimld()];
    v.extend(r.options.iter().cloned());
    // SAFETY: argv is the caller's NULL-terminated argument vector.
    unsafe {
        if !argv.is_null() && !(*argv).is_null() {
            v.push(b"--argv0".to_vec());
            v.push(super::process::cstr(*argv).to_vec());
        }
        v.push(b"--".to_vec());
        v.push(target.to_vec());
        if !argv.is_null() && !(*argv).is_null() {
            let mut i = 1;
            while !(*argv.add(i)).is_null() {
                v.push(super::process::cstr(*argv.add(i)).to_vec());
                i += 1;
            }
        }
    }
    v
}

type ExecveFn = extern "C" fn(*const u8, *const *const u8, *const *const u8) -> i32;

#[no_mangle]
pub extern "C" fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> i32 {
    let Some(real) = real!(b"execve", ExecveFn) else { return -1 };
    // SAFETY: the caller passes a C string.
    let p = unsafe { super::process::cstr(path) };
    if let (Some(target), Some(r)) = (follow(p), relaunch()) {
        let (_keep, args) = c_array(&shimld_argv(r, &target, argv));
        let mut s = r.shimld();
        s.push(0);
        return real(s.as_ptr(), args.as_ptr(), envp);
    }
    real(path, argv, envp)
}

fn environ() -> *const *const u8 {
    let Some(ld) = loader::get() else { return core::ptr::null() };
    match ld.lookup(b"environ", None, 0, loader::Class::Normal) {
        // SAFETY: `environ` is a char ** variable.
        Some(d) => unsafe { *(ld.value(&d) as *const *const *const u8) },
        None => core::ptr::null(),
    }
}

#[no_mangle]
pub extern "C" fn execv(path: *const u8, argv: *const *const u8) -> i32 {
    execve(path, argv, environ())
}

/// The file execvp would run for `file`, searching PATH as it does.
fn search_path(file: &[u8]) -> Option<Vec<u8>> {
    if file.contains(&b'/') {
        return Some(file.to_vec());
    }
    let path = real!(b"getenv", extern "C" fn(*const u8) -> *const u8)
        .map(|g| g(b"PATH\0".as_ptr()))
        .filter(|p| !p.is_null())
        // SAFETY: getenv returns a C string.
        .map(|p| unsafe { super::process::cstr(p) })
        .unwrap_or(b"/bin:/usr/bin");
    for dir in path.split(|&c| c == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let cand = shimld::search::join(dir, file);
        if super::sys::access(&in_root(&cand), 1).is_ok() {
            return Some(cand);
        }
    }
    None
}

#[no_mangle]
pub extern "C" fn execvpe(file: *const u8, argv: *const *const u8, envp: *const *const u8) -> i32 {
    // SAFETY: the caller passes a C string.
    let f = unsafe { super::process::cstr(file) };
    if let Some(p) = search_path(f).filter(|p| follow(p).is_some()) {
        let mut c = p;
        c.push(0);
        return execve(c.as_ptr(), argv, envp);
    }
    real!(b"execvpe", extern "C" fn(*const u8, *const *const u8, *const *const u8) -> i32)
        .map_or(-1, |r| r(file, argv, envp))
}

#[no_mangle]
pub extern "C" fn execvp(file: *const u8, argv: *const *const u8) -> i32 {
    // SAFETY: the caller passes a C string.
    let f = unsafe { super::process::cstr(file) };
    if let Some(p) = search_path(f).filter(|p| follow(p).is_some()) {
        let mut c = p;
        c.push(0);
        return execve(c.as_ptr(), argv, environ());
    }
    real!(b"execvp", extern "C" fn(*const u8, *const *const u8) -> i32).map_or(-1, |r| r(file, argv))
}

type SpawnFn = extern "C" fn(*mut i32, *const u8, *const u8, *const u8, *const *const u8, *const *const u8) -> i32;

#[no_mangle]
pub extern "C" fn posix_spawn(
    pid: *mut i32,
    path: *const u8,
    actions: *const u8,
    attr: *const u8,
    argv: *const *const u8,
    envp: *const *const u8,
) -> i32 {
    let Some(real) = real!(b"posix_spawn", SpawnFn) else { return 38 };
    // SAFETY: the caller passes a C string.
    let p = unsafe { super::process::cstr(path) };
    if let (Some(target), Some(r)) = (follow(p), relaunch()) {
        let (_keep, args) = c_array(&shimld_argv(r, &target, argv));
        let mut s = r.shimld();
        s.push(0);
        return real(pid, s.as_ptr(), actions, attr, args.as_ptr(), envp);
    }
    real(pid, path, actions, attr, argv, envp)
}

#[no_mangle]
pub extern "C" fn posix_spawnp(
    pid: *mut i32,
    file: *const u8,
    actions: *const u8,
    attr: *const u8,
    argv: *const *const u8,
    envp: *const *const u8,
) -> i32 {
    // SAFETY: the caller passes a C string.
    let f = unsafe { super::process::cstr(file) };
    if let Some(p) = search_path(f).filter(|p| follow(p).is_some()) {
        let mut c = p;
        c.push(0);
        return posix_spawn(pid, c.as_ptr(), actions, attr, argv, envp);
    }
    real!(b"posix_spawnp", SpawnFn).map_or(38, |r| r(pid, file, actions, attr, argv, envp))
}
