//! `--root DIR`: another distribution's files for loading.
//!
//! Paths that the library search builds inside the root (the cache's, the
//! default directories', absolute RPATH and RUNPATH entries, the program's
//! and its interpreter's) are opened with `openat2(RESOLVE_IN_ROOT)`, so
//! that absolute symbolic links inside the root (Debian's
//! `/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...`) stay inside
//! it, as under chroot, without privileges. The program's own file
//! accesses are not redirected.

use super::sys::{self, Errno};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, Ordering};

struct Root {
    prefix: Vec<u8>,
    fd: i32,
}

static ROOT: AtomicPtr<Root> = AtomicPtr::new(core::ptr::null_mut());

/// Sets the root directory; an error if it cannot be opened.
pub fn set(dir: &[u8]) -> Result<Vec<u8>, Errno> {
    let mut prefix = dir.to_vec();
    while prefix.len() > 1 && prefix.ends_with(b"/") {
        prefix.pop();
    }
    let fd = sys::open(&prefix, sys::O_RDONLY | sys::O_DIRECTORY | sys::O_PATH, 0)?;
    let p = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(Root { prefix: prefix.clone(), fd }));
    ROOT.store(p, Ordering::Release);
    Ok(prefix)
}

fn get() -> Option<&'static Root> {
    // SAFETY: set once from a leaked box.
    unsafe { ROOT.load(Ordering::Acquire).as_ref() }
}

pub fn is_set() -> bool {
    get().is_some()
}

/// The root-prefixed form of an absolute path (`path` itself without a root).
pub fn inside(path: &[u8]) -> Vec<u8> {
    match get() {
        Some(r) if path.starts_with(b"/") => {
            let mut p = r.prefix.clone();
            p.extend_from_slice(path);
            p
        }
        _ => path.to_vec(),
    }
}

/// Opens `path`: inside the root when it is a root-prefixed path.
pub fn open(path: &[u8], flags: usize) -> Result<i32, Errno> {
    if let Some(r) = get() {
        if path.len() > r.prefix.len() && path.starts_with(&r.prefix) && path[r.prefix.len()] == b'/' {
            return sys::openat2_in_root(r.fd, &path[r.prefix.len()..], flags);
        }
    }
    sys::open(path, flags, 0)
}

/// Whether `path` (resolved as by `open`) is a directory.
pub fn is_dir(path: &[u8]) -> bool {
    match open(path, sys::O_RDONLY | sys::O_PATH) {
        Ok(fd) => {
            let d = sys::fstat(fd).is_ok_and(|st| st.st_mode & sys::S_IFMT == sys::S_IFDIR);
            sys::close(fd);
            d
        }
        Err(_) => false,
    }
}
