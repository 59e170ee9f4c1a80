//! Output: messages to stderr and the SHIMLD_DEBUG trace.
//!
//! Lines are formatted into a stack buffer and written with one `write`, so
//! lines from several threads do not interleave.

use super::sys;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

/// A line buffer that flushes to a file descriptor when full and on drop.
pub struct Line {
    fd: i32,
    len: usize,
    buf: [u8; 512],
}

impl Line {
    pub fn new(fd: i32) -> Line {
        Line { fd, len: 0, buf: [0; 512] }
    }

    pub fn bytes(&mut self, b: &[u8]) {
        for chunk in b.chunks(self.buf.len()) {
            if self.len + chunk.len() > self.buf.len() {
                self.flush();
            }
            self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
    }

    pub fn flush(&mut self) {
        if self.len > 0 {
            let _ = sys::write_all(self.fd, &self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Displays a byte string (a path or symbol name) as it is.
pub struct B<'a>(pub &'a [u8]);

impl fmt::Display for B<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            for _ in chunk.invalid() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

/// Writes formatted text to a file descriptor.
pub fn print(fd: i32, args: fmt::Arguments) {
    let mut l = Line::new(fd);
    let _ = l.write_fmt(args);
}

#[macro_export]
macro_rules! eprint {
    ($($t:tt)*) => { $crate::rt::out::print(2, format_args!($($t)*)) };
}

#[macro_export]
macro_rules! outprint {
    ($($t:tt)*) => { $crate::rt::out::print(1, format_args!($($t)*)) };
}

/// SHIMLD_DEBUG categories.
pub mod cat {
    pub const FILES: u32 = 1 << 0;
    pub const SYMBOLS: u32 = 1 << 1;
    pub const BINDINGS: u32 = 1 << 2;
    pub const RELOC: u32 = 1 << 3;
    pub const TLS: u32 = 1 << 4;
    pub const INIT: u32 = 1 << 5;
    pub const STATISTICS: u32 = 1 << 6;
    pub const ALL: u32 = (1 << 7) - 1;
}

const CATEGORIES: [(&str, u32, &str); 7] = [
    ("files", cat::FILES, "display library search and loading"),
    ("symbols", cat::SYMBOLS, "display symbol table processing"),
    ("bindings", cat::BINDINGS, "display information about symbol binding"),
    ("reloc", cat::RELOC, "display relocation processing"),
    ("tls", cat::TLS, "display TLS module assignment and layout"),
    ("init", cat::INIT, "display initializer and finalizer calls"),
    ("statistics", cat::STATISTICS, "display relocation statistics"),
];

static MASK: AtomicU32 = AtomicU32::new(0);
static FD: AtomicI32 = AtomicI32::new(2);

#[inline]
pub fn enabled(c: u32) -> bool {
    MASK.load(Ordering::Relaxed) & c != 0
}

/// Parses SHIMLD_DEBUG. Returns false if the value was `help` (the help
/// has been printed and the caller should exit).
pub fn configure(spec: &[u8], output: Option<&[u8]>) -> bool {
    let mut mask = 0;
    for word in spec.split(|&c| c == b',' || c == b':' || c == b' ') {
        if word.is_empty() {
            continue;
        }
        if word == b"help" {
            help();
            return false;
        }
        if word == b"all" {
            mask |= cat::ALL;
            continue;
        }
        match CATEGORIES.iter().find(|(n, _, _)| n.as_bytes() == word) {
            Some((_, bit, _)) => mask |= bit,
            None => eprint!("shimld: warning: debug option `{}' unknown; try SHIMLD_DEBUG=help\n", B(word)),
        }
    }
    if mask != 0 {
        if let Some(base) = output.filter(|o| !o.is_empty()) {
            // As LD_DEBUG_OUTPUT: the file name gets the process id appended.
            let mut path = alloc::vec::Vec::from(base);
            let mut l = itoa(sys::getpid() as u64);
            path.push(b'.');
            path.extend_from_slice(l.as_bytes());
            l.clear();
            match sys::open(&path, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC, 0o666) {
                Ok(fd) => FD.store(fd, Ordering::Relaxed),
                Err(e) => eprint!("shimld: cannot open debug output file {}: {}\n", B(&path), e.text()),
            }
        }
    }
    MASK.store(mask, Ordering::Relaxed);
    true
}

fn help() {
    let mut l = Line::new(1);
    let _ = l.write_str("Valid options for the SHIMLD_DEBUG environment variable are:\n\n");
    for (name, _, what) in CATEGORIES {
        let _ = writeln!(l, "  {name:<12}{what}");
    }
    let _ = l
        .write_str("  all         all previous options combined\n  help        display this help message and exit\n\n");
    let _ = l.write_str("To direct the debugging output into a file instead of standard output\n");
    let _ = l.write_str("a filename can be specified using the SHIMLD_DEBUG_OUTPUT environment variable.\n");
}

fn itoa(v: u64) -> alloc::string::String {
    let mut s = alloc::string::String::new();
    let _ = write!(s, "{v}");
    s
}

/// Writes one debug line: the pid right-aligned in 10 columns, `:`, a tab,
/// then the message (as LD_DEBUG does).
pub fn debug_line(args: fmt::Arguments) {
    let mut l = Line::new(FD.load(Ordering::Relaxed));
    let _ = write!(l, "{:>10}:\t", sys::getpid());
    let _ = l.write_fmt(args);
    let _ = l.write_str("\n");
}

#[macro_export]
macro_rules! debug {
    ($c:expr, $($t:tt)*) => {
        if $crate::rt::out::enabled($c) { $crate::rt::out::debug_line(format_args!($($t)*)) }
    };
}
