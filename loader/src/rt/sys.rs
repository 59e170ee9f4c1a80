//! Raw Linux x86-64 system calls: the loader's only way to reach the kernel.
//!
//! Every wrapper returns `Err(Errno)` for the kernel's negative error
//! returns. Paths are byte strings without a terminating NUL; [`with_path`]
//! adds one on the stack.

use core::arch::asm;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

pub const ENOENT: i32 = 2;
pub const EINTR: i32 = 4;
pub const EIO: i32 = 5;
pub const ENOEXEC: i32 = 8;
pub const EACCES: i32 = 13;
pub const EEXIST: i32 = 17;
pub const ENOTDIR: i32 = 20;
pub const EINVAL: i32 = 22;
pub const ENOMEM: i32 = 12;
pub const ENAMETOOLONG: i32 = 36;

impl Errno {
    /// The C library's text for the errors a loader reports.
    pub fn text(self) -> &'static str {
        match self.0 {
            1 => "Operation not permitted",
            ENOENT => "No such file or directory",
            EINTR => "Interrupted system call",
            EIO => "Input/output error",
            ENOEXEC => "Exec format error",
            9 => "Bad file descriptor",
            ENOMEM => "Cannot allocate memory",
            EACCES => "Permission denied",
            EEXIST => "File exists",
            ENOTDIR => "Not a directory",
            21 => "Is a directory",
            EINVAL => "Invalid argument",
            23 => "Too many open files in system",
            24 => "Too many open files",
            26 => "Text file busy",
            ENAMETOOLONG => "File name too long",
            40 => "Too many levels of symbolic links",
            _ => "Unknown error",
        }
    }
}

/// How ld.so words an error number in its messages: it knows six texts
/// and calls the rest "Error N".
impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self.0 {
            1 | ENOENT | EIO | ENOMEM | EACCES | EINVAL => f.write_str(self.text()),
            n => write!(f, "Error {n}"),
        }
    }
}

pub type Result<T> = core::result::Result<T, Errno>;

const SYS_WRITE: usize = 1;
const SYS_CLOSE: usize = 3;
const SYS_MMAP: usize = 9;
const SYS_MPROTECT: usize = 10;
const SYS_MUNMAP: usize = 11;
const SYS_PREAD64: usize = 17;
const SYS_MREMAP: usize = 25;
const SYS_GETPID: usize = 39;
const SYS_GETEUID: usize = 107;
const SYS_EXIT: usize = 60;
const SYS_MADVISE: usize = 28;
const SYS_FSTAT: usize = 5;
const SYS_GETCWD: usize = 79;
const SYS_ARCH_PRCTL: usize = 158;
const SYS_FUTEX: usize = 202;
const SYS_RT_SIGACTION: usize = 13;
const SYS_GETTID: usize = 186;
const SYS_TGKILL: usize = 234;
const SYS_GETDENTS64: usize = 217;
const SYS_OPENAT2: usize = 437;
const SYS_PRCTL: usize = 157;
const SYS_PRLIMIT64: usize = 302;
const RLIMIT_STACK: usize = 3;
const SYS_EXIT_GROUP: usize = 231;
const SYS_OPENAT: usize = 257;
const SYS_NEWFSTATAT: usize = 262;
const SYS_READLINKAT: usize = 267;
const SYS_FACCESSAT: usize = 269;
const SYS_CLOCK_GETTIME: usize = 228;
const SYS_MKDIRAT: usize = 258;
const SYS_UNLINKAT: usize = 263;
const SYS_RENAMEAT: usize = 264;

pub const AT_FDCWD: isize = -100;
pub const O_RDONLY: usize = 0;
pub const O_WRONLY: usize = 1;
pub const O_CREAT: usize = 0o100;
pub const O_TRUNC: usize = 0o1000;
pub const O_CLOEXEC: usize = 0o2000000;
pub const O_DIRECTORY: usize = 0o200000;
pub const O_PATH: usize = 0o10000000;
const RESOLVE_IN_ROOT: u64 = 0x10;

pub const PROT_NONE: usize = 0;
pub const PROT_READ: usize = 1;
pub const PROT_WRITE: usize = 2;
pub const PROT_EXEC: usize = 4;
pub const PROT_GROWSDOWN: usize = 0x0100_0000;
pub const MAP_PRIVATE: usize = 0x02;
pub const MAP_FIXED: usize = 0x10;
pub const MAP_ANONYMOUS: usize = 0x20;
pub const MAP_NORESERVE: usize = 0x4000;
pub const MAP_FIXED_NOREPLACE: usize = 0x10_0000;
pub const MREMAP_MAYMOVE: usize = 1;

pub const ARCH_SET_FS: usize = 0x1002;
pub const FUTEX_WAIT_PRIVATE: usize = 128;
pub const MADV_HUGEPAGE: usize = 14;
pub const FUTEX_WAKE_PRIVATE: usize = 129;

pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;

/// `struct stat` of x86-64 Linux.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub pad0: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    pub st_atime: [u64; 2],
    pub st_mtime: [u64; 2],
    pub st_ctime: [u64; 2],
    pub reserved: [i64; 3],
}

#[inline(always)]
fn ret(r: isize) -> Result<usize> {
    if (-4095..0).contains(&r) {
        Err(Errno(-r as i32))
    } else {
        Ok(r as usize)
    }
}

// SAFETY (all syscallN): the `syscall` instruction clobbers rcx and r11 and
// nothing else; callers of these raw forms are responsible for the memory
// the particular system call reads or writes.
#[inline(always)]
unsafe fn syscall1(n: usize, a: usize) -> isize {
    let r: isize;
    asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a,
         lateout("rcx") _, lateout("r11") _, options(nostack));
    r
}

#[inline(always)]
unsafe fn syscall2(n: usize, a: usize, b: usize) -> isize {
    let r: isize;
    asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b,
         lateout("rcx") _, lateout("r11") _, options(nostack));
    r
}

#[inline(always)]
unsafe fn syscall3(n: usize, a: usize, b: usize, c: usize) -> isize {
    let r: isize;
    asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b, in("rdx") c,
         lateout("rcx") _, lateout("r11") _, options(nostack));
    r
}

#[inline(always)]
unsafe fn syscall4(n: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let r: isize;
    asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b, in("rdx") c,
         in("r10") d, lateout("rcx") _, lateout("r11") _, options(nostack));
    r
}

#[inline(always)]
unsafe fn syscall5(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let r: isize;
    asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b, in("rdx") c,
         in("r10") d, in("r8") e, lateout("rcx") _, lateout("r11") _, options(nostack));
    r
}

#[inline(always)]
unsafe fn syscall6(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> isize {
    let r: isize;
    asm!("syscall", inlateout("rax") n as isize => r, in("rdi") a, in("rsi") b, in("rdx") c,
         in("r10") d, in("r8") e, in("r9") f, lateout("rcx") _, lateout("r11") _, options(nostack));
    r
}

pub fn write(fd: i32, buf: &[u8]) -> Result<usize> {
    // SAFETY: the kernel reads at most buf.len() bytes of buf.
    ret(unsafe { syscall3(SYS_WRITE, fd as usize, buf.as_ptr() as usize, buf.len()) })
}

/// Writes all of `buf`, retrying after short writes and EINTR.
pub fn write_all(fd: i32, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        match write(fd, buf) {
            Ok(0) => return Err(Errno(EIO)),
            Ok(n) => buf = &buf[n..],
            Err(Errno(EINTR)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub fn pread(fd: i32, buf: &mut [u8], off: u64) -> Result<usize> {
    loop {
        // SAFETY: the kernel writes at most buf.len() bytes into buf.
        let r = ret(unsafe { syscall4(SYS_PREAD64, fd as usize, buf.as_mut_ptr() as usize, buf.len(), off as usize) });
        if r != Err(Errno(EINTR)) {
            return r;
        }
    }
}

/// Reads as much of `buf` as the file holds from `off`.
pub fn pread_full(fd: i32, buf: &mut [u8], off: u64) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let n = pread(fd, &mut buf[done..], off + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

pub fn close(fd: i32) {
    // SAFETY: closing a descriptor touches no memory of ours.
    unsafe { syscall1(SYS_CLOSE, fd as usize) };
}

/// Runs `f` with `path` as a NUL-terminated C string.
pub fn with_path<T>(path: &[u8], f: impl FnOnce(*const u8) -> Result<T>) -> Result<T> {
    const MAX: usize = 4096;
    // Most paths fit a small buffer on the stack; a PATH_MAX one would make
    // every caller's frame a page deeper (each fresh stack page is a fault).
    const SHORT: usize = 256;
    if path.len() >= MAX || path.contains(&0) {
        return Err(Errno(ENAMETOOLONG));
    }
    if path.len() >= SHORT {
        let mut v = alloc::vec::Vec::with_capacity(path.len() + 1);
        v.extend_from_slice(path);
        v.push(0);
        return f(v.as_ptr());
    }
    // Not cleared first: only the path and its NUL are read.
    let mut buf = core::mem::MaybeUninit::<[u8; SHORT]>::uninit();
    let p = buf.as_mut_ptr() as *mut u8;
    // SAFETY: path.len() < SHORT, so the path and its NUL fit in the buffer.
    unsafe {
        core::ptr::copy_nonoverlapping(path.as_ptr(), p, path.len());
        *p.add(path.len()) = 0;
    }
    f(p)
}

pub fn open(path: &[u8], flags: usize, mode: usize) -> Result<i32> {
    with_path(path, |p| {
        loop {
            // SAFETY: p is a NUL-terminated string that lives across the call.
            let r = ret(unsafe { syscall4(SYS_OPENAT, AT_FDCWD as usize, p as usize, flags | O_CLOEXEC, mode) });
            if r != Err(Errno(EINTR)) {
                return r.map(|fd| fd as i32);
            }
        }
    })
}

/// Opens `path` relative to `dirfd` as if `dirfd` were the root directory
/// (absolute paths and symbolic links stay inside it).
pub fn openat2_in_root(dirfd: i32, path: &[u8], flags: usize) -> Result<i32> {
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow { flags: (flags | O_CLOEXEC) as u64, mode: 0, resolve: RESOLVE_IN_ROOT };
    with_path(path, |p| {
        loop {
            // SAFETY: p is NUL-terminated and `how` is a struct open_how of
            // the size passed; both live across the call.
            let r = ret(unsafe {
                syscall4(
                    SYS_OPENAT2,
                    dirfd as usize,
                    p as usize,
                    &how as *const OpenHow as usize,
                    core::mem::size_of::<OpenHow>(),
                )
            });
            if r != Err(Errno(EINTR)) {
                return r.map(|fd| fd as i32);
            }
        }
    })
}

pub fn fstat(fd: i32) -> Result<Stat> {
    let mut st = Stat::default();
    // SAFETY: the kernel fills a struct stat, which `st` is.
    ret(unsafe { syscall2(SYS_FSTAT, fd as usize, &mut st as *mut Stat as usize) })?;
    Ok(st)
}

pub fn stat(path: &[u8]) -> Result<Stat> {
    with_path(path, |p| {
        let mut st = Stat::default();
        // SAFETY: p is NUL-terminated; the kernel fills a struct stat.
        ret(unsafe { syscall4(SYS_NEWFSTATAT, AT_FDCWD as usize, p as usize, &mut st as *mut Stat as usize, 0) })?;
        Ok(st)
    })
}

/// `mkdir(path, mode)`.
pub fn mkdir(path: &[u8], mode: usize) -> Result<()> {
    // SAFETY: p is NUL-terminated.
    with_path(path, |p| ret(unsafe { syscall3(SYS_MKDIRAT, AT_FDCWD as usize, p as usize, mode) }).map(|_| ()))
}

/// `unlink(path)`.
pub fn unlink(path: &[u8]) -> Result<()> {
    // SAFETY: p is NUL-terminated.
    with_path(path, |p| ret(unsafe { syscall3(SYS_UNLINKAT, AT_FDCWD as usize, p as usize, 0) }).map(|_| ()))
}

/// `rename(from, to)`.
pub fn rename(from: &[u8], to: &[u8]) -> Result<()> {
    with_path(from, |f| {
        with_path(to, |t| {
            // SAFETY: both paths are NUL-terminated.
            ret(unsafe { syscall4(SYS_RENAMEAT, AT_FDCWD as usize, f as usize, AT_FDCWD as usize, t as usize) })
                .map(|_| ())
        })
    })
}

/// access(2) mode: the file exists.
pub const F_OK: usize = 0;

/// `access(path, mode)`.
pub fn access(path: &[u8], mode: usize) -> Result<()> {
    with_path(path, |p| {
        // SAFETY: p is NUL-terminated and only read.
        ret(unsafe { syscall4(SYS_FACCESSAT, AT_FDCWD as usize, p as usize, mode, 0) }).map(|_| ())
    })
}

pub fn readlink(path: &[u8], buf: &mut [u8]) -> Result<usize> {
    with_path(path, |p| {
        // SAFETY: p is NUL-terminated; the kernel writes at most buf.len() bytes.
        ret(unsafe { syscall4(SYS_READLINKAT, AT_FDCWD as usize, p as usize, buf.as_mut_ptr() as usize, buf.len()) })
    })
}

pub fn getcwd(buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes, NUL included.
    let n = ret(unsafe { syscall2(SYS_GETCWD, buf.as_mut_ptr() as usize, buf.len()) })?;
    Ok(n.saturating_sub(1))
}

/// # Safety
/// With MAP_FIXED the caller must own the address range being replaced.
pub unsafe fn mmap(addr: usize, len: usize, prot: usize, flags: usize, fd: i32, off: u64) -> Result<usize> {
    ret(syscall6(SYS_MMAP, addr, len, prot, flags, fd as isize as usize, off as usize))
}

/// # Safety
/// The caller must own the range and nothing may use it afterwards.
pub unsafe fn munmap(addr: usize, len: usize) -> Result<()> {
    ret(syscall2(SYS_MUNMAP, addr, len)).map(|_| ())
}

/// # Safety
/// The caller must own the range; code or data in it must tolerate the new
/// protection.
pub unsafe fn mprotect(addr: usize, len: usize, prot: usize) -> Result<()> {
    ret(syscall3(SYS_MPROTECT, addr, len, prot)).map(|_| ())
}

/// # Safety
/// The caller must own the old range; it is invalid after a move.
pub unsafe fn mremap(old: usize, old_len: usize, new_len: usize, flags: usize) -> Result<usize> {
    ret(syscall5(SYS_MREMAP, old, old_len, new_len, flags, 0))
}

/// # Safety
/// `tp` becomes the thread pointer: code that reads %fs must find what it
/// expects there.
pub unsafe fn set_fs(tp: usize) -> Result<()> {
    ret(syscall2(SYS_ARCH_PRCTL, ARCH_SET_FS, tp)).map(|_| ())
}

/// CLOCK_MONOTONIC in nanoseconds (a system call: shimld does not use the
/// vDSO).
pub fn monotonic_ns() -> u64 {
    let mut ts = [0i64; 2];
    // SAFETY: the kernel writes one struct timespec to `ts`.
    unsafe { syscall2(SYS_CLOCK_GETTIME, 1, ts.as_mut_ptr() as usize) };
    ts[0] as u64 * 1_000_000_000 + ts[1] as u64
}

pub fn getpid() -> i32 {
    // SAFETY: no memory is involved.
    unsafe { syscall1(SYS_GETPID, 0) as i32 }
}

pub fn geteuid() -> u32 {
    // SAFETY: no memory is involved.
    unsafe { syscall1(SYS_GETEUID, 0) as u32 }
}

/// Sets the calling thread's name (what `ps` and /proc/self/comm show).
pub fn set_name(name: &[u8]) {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name[..n]);
    // SAFETY: PR_SET_NAME reads 16 bytes from buf.
    unsafe { syscall2(SYS_PRCTL, 15, buf.as_ptr() as usize) };
}

pub fn gettid() -> i32 {
    // SAFETY: no memory is involved.
    unsafe { syscall1(SYS_GETTID, 0) as i32 }
}

pub fn tgkill(pid: i32, tid: i32, sig: i32) -> Result<()> {
    // SAFETY: no memory is involved.
    ret(unsafe { syscall3(SYS_TGKILL, pid as usize, tid as usize, sig as usize) }).map(|_| ())
}

pub fn getdents64(fd: i32, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    ret(unsafe { syscall3(SYS_GETDENTS64, fd as usize, buf.as_mut_ptr() as usize, buf.len()) })
}

/// The names in directory `path` (without `.` and `..`), at most `max`.
pub fn dir_names(path: &[u8], max: usize) -> alloc::vec::Vec<alloc::vec::Vec<u8>> {
    let mut names = alloc::vec::Vec::new();
    let Ok(fd) = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) else { return names };
    let mut buf = [0u8; 4096];
    'read: while let Ok(n) = getdents64(fd, &mut buf) {
        if n == 0 {
            break;
        }
        // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
        let mut off = 0;
        while off + 19 < n {
            let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
            if reclen == 0 {
                break;
            }
            let name = &buf[off + 19..(off + reclen).min(n)];
            let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." {
                if names.len() == max {
                    break 'read;
                }
                names.push(name.to_vec());
            }
            off += reclen;
        }
    }
    close(fd);
    names
}

/// The kernel's `struct sigaction` on x86-64.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct SigAction {
    pub handler: usize,
    pub flags: u64,
    pub restorer: usize,
    pub mask: u64,
}

pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SIG_DFL: usize = 0;
pub const SIG_IGN: usize = 1;

/// # Safety
/// A handler installed must be async-signal-safe and `restorer` must be a
/// valid signal-return trampoline.
pub unsafe fn rt_sigaction(sig: i32, new: Option<&SigAction>, old: Option<&mut SigAction>) -> Result<()> {
    let n = new.map_or(0, |a| a as *const SigAction as usize);
    let o = old.map_or(0, |a| a as *mut SigAction as usize);
    ret(syscall4(SYS_RT_SIGACTION, sig as usize, n, o, 8)).map(|_| ())
}

/// Waits while `*word == val`, at most `ns` nanoseconds.
pub fn futex_wait_timeout(word: &core::sync::atomic::AtomicU32, val: u32, ns: u64) {
    let ts = [(ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as i64];
    // SAFETY: the kernel reads the word and the timespec, both alive.
    unsafe { syscall4(SYS_FUTEX, word.as_ptr() as usize, FUTEX_WAIT_PRIVATE, val as usize, ts.as_ptr() as usize) };
}

/// Waits while `*word == val` (or until woken).
pub fn futex_wait(word: &core::sync::atomic::AtomicU32, val: u32) {
    // SAFETY: the kernel only reads the word, which the reference keeps alive.
    unsafe { syscall4(SYS_FUTEX, word.as_ptr() as usize, FUTEX_WAIT_PRIVATE, val as usize, 0) };
}

/// Wakes up to `n` waiters on `word`.
pub fn futex_wake(word: &core::sync::atomic::AtomicU32, n: u32) {
    // SAFETY: as for futex_wait.
    unsafe { syscall3(SYS_FUTEX, word.as_ptr() as usize, FUTEX_WAKE_PRIVATE, n as usize) };
}

/// The soft limit on the stack's size (RLIMIT_STACK), in bytes
/// (`usize::MAX` when unlimited).
pub fn stack_limit() -> Result<usize> {
    let mut lim = [0u64; 2];
    // SAFETY: prlimit64 on this process (pid 0) only writes the old limits
    // into the 16-byte buffer given.
    ret(unsafe { syscall4(SYS_PRLIMIT64, 0, RLIMIT_STACK, 0, lim.as_mut_ptr() as usize) })?;
    Ok(usize::try_from(lim[0]).unwrap_or(usize::MAX))
}

/// Advice on a range of memory (advice that changes no contents).
pub fn madvise(addr: usize, len: usize, advice: usize) -> Result<()> {
    // SAFETY: the advice this is used with (MADV_HUGEPAGE) changes how the
    // range is backed, not what it holds.
    ret(unsafe { syscall3(SYS_MADVISE, addr, len, advice) }).map(|_| ())
}

/// Names an anonymous range in /proc/PID/maps (`[anon:NAME]`), where the
/// kernel supports it; `name` ends in NUL.
pub fn name_anon(addr: usize, len: usize, name: &[u8]) {
    const PR_SET_VMA: usize = 0x53564d41;
    const PR_SET_VMA_ANON_NAME: usize = 0;
    if name.last() == Some(&0) {
        // SAFETY: the kernel reads the NUL-terminated name.
        let _ = unsafe { syscall5(SYS_PRCTL, PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name.as_ptr() as usize) };
    }
}

pub fn exit_group(status: i32) -> ! {
    loop {
        // SAFETY: ends the process; no memory is involved.
        unsafe {
            syscall1(SYS_EXIT_GROUP, status as usize);
            syscall1(SYS_EXIT, status as usize);
        }
    }
}

pub const PAGE: usize = 4096;

pub fn page_down(x: usize) -> usize {
    x & !(PAGE - 1)
}

pub fn page_up(x: usize) -> usize {
    x.wrapping_add(PAGE - 1) & !(PAGE - 1)
}
