//! Command-line options (ld.so's, where ld.so has one) and the environment
//! variables that steer loading.

use super::out::B;
use super::process::Stack;
use super::sys;
use alloc::vec::Vec;

#[derive(Default)]
pub struct Options {
    /// `--list`, or LD_TRACE_LOADED_OBJECTS: print the closure as ldd does.
    pub list: bool,
    /// `--verify`: only say whether the program is dynamically linked.
    pub verify: bool,
    /// `--library-path`, replacing LD_LIBRARY_PATH.
    pub library_path: Option<&'static [u8]>,
    /// LD_PRELOAD's entries, then `--preload`'s, in ld.so's order.
    pub preload: Vec<(&'static [u8], &'static str)>,
    pub inhibit_cache: bool,
    pub argv0: Option<*const u8>,
    /// LD_BIND_NOW.
    pub bind_now: bool,
    /// LD_DYNAMIC_WEAK.
    pub dynamic_weak: bool,
    /// `--root DIR`: load the program, its interpreter and its libraries
    /// from another system's root directory.
    pub root: Option<alloc::vec::Vec<u8>>,
    /// Index in argv of the program (0 when started as PT_INTERP).
    pub prog_index: usize,
}

const USAGE: &str = "\
Usage: shimld [OPTION]... EXECUTABLE-FILE [ARGS-FOR-PROGRAM...]
Load and run a dynamically linked ELF program with a private copy of its
shared libraries, as the program interpreter (ld.so) would, and report
what happened. shimld can also be a program's PT_INTERP.

  --list                list all dependencies and how they are resolved
  --verify              verify that given object really is a dynamically linked
                        object we can handle
  --inhibit-cache       Do not use /etc/ld.so.cache
  --library-path PATH   use given PATH instead of content of the environment
                        variable LD_LIBRARY_PATH
  --preload LIST        preload objects named in LIST
  --argv0 STRING        set argv[0] to STRING before running
  --root DIR            load the program, its interpreter and libraries from
                        the system whose root directory is DIR (the cache
                        in DIR/etc, the default directories and absolute
                        RPATH/RUNPATH entries resolve inside DIR)
  --help                display this help and exit
  --version             output version information and exit

A program name without a slash is looked up in PATH.

Environment: LD_LIBRARY_PATH, LD_PRELOAD, LD_BIND_NOW and
LD_TRACE_LOADED_OBJECTS as for ld.so; SHIMLD_DEBUG=help lists the trace
categories, SHIMLD_DEBUG_OUTPUT=FILE writes the trace to FILE.PID.
";

fn usage_error(what: core::fmt::Arguments) -> ! {
    crate::eprint!("shimld: {}\nTry 'shimld --help' for more information.\n", what);
    sys::exit_group(1)
}

/// Options not supported: fail loudly rather than ignore them.
const UNSUPPORTED: &[&str] = &[
    "--audit",
    "--inhibit-rpath",
    "--glibc-hwcaps-prepend",
    "--glibc-hwcaps-mask",
    "--list-tunables",
    "--list-diagnostics",
];

/// Parses the command line of a direct invocation and the environment.
pub fn parse(st: &Stack, direct: bool) -> Options {
    let mut o = Options::default();
    if direct {
        let mut i = 1;
        loop {
            let Some(a) = st.arg(i) else {
                usage_error(format_args!("missing program name"));
            };
            let mut value = |name: &str| -> &'static [u8] {
                i += 1;
                match st.arg(i) {
                    Some(v) => v,
                    None => usage_error(format_args!("option '{name}' requires an argument")),
                }
            };
            match a {
                b"--list" => o.list = true,
                b"--verify" => o.verify = true,
                b"--inhibit-cache" => o.inhibit_cache = true,
                b"--root" => o.root = Some(value("--root").to_vec()),
                b"--library-path" => o.library_path = Some(value("--library-path")),
                b"--preload" => {
                    let v = value("--preload");
                    for p in v.split(|&c| c == b':' || c == b' ').filter(|p| !p.is_empty()) {
                        o.preload.push((p, "--preload"));
                    }
                }
                b"--argv0" => {
                    value("--argv0");
                    // SAFETY: i < argc (value() checked it).
                    o.argv0 = Some(unsafe { *st.argv.add(i) });
                }
                b"--help" => {
                    crate::outprint!("{}", USAGE);
                    sys::exit_group(0)
                }
                b"--version" => {
                    crate::outprint!("shimld {} (x86-64)\n", env!("CARGO_PKG_VERSION"));
                    sys::exit_group(0)
                }
                b"--" => {
                    i += 1;
                    if st.arg(i).is_none() {
                        usage_error(format_args!("missing program name"));
                    }
                    break;
                }
                a if a.starts_with(b"--") => {
                    if let Some(u) = UNSUPPORTED.iter().find(|u| u.as_bytes() == a) {
                        crate::eprint!("shimld: option '{}' is not supported\n", u);
                        sys::exit_group(1)
                    }
                    usage_error(format_args!("unrecognized option '{}'", B(a)))
                }
                _ => break,
            }
            i += 1;
        }
        o.prog_index = i;
    }
    if st.getenv(b"LD_TRACE_LOADED_OBJECTS").is_some_and(|v| !v.is_empty()) {
        o.list = true;
    }
    if st.getenv(b"LD_BIND_NOW").is_some_and(|v| !v.is_empty()) {
        o.bind_now = true;
    }
    o.dynamic_weak = st.getenv(b"LD_DYNAMIC_WEAK").is_some();
    if let Some(v) = st.getenv(b"LD_PRELOAD") {
        let cli = core::mem::take(&mut o.preload);
        for p in v.split(|&c| c == b':' || c == b' ').filter(|p| !p.is_empty()) {
            o.preload.push((p, "LD_PRELOAD"));
        }
        o.preload.extend(cli);
    }
    o
}
