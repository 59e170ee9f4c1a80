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
    /// `--no-cache` or SHIMLD_NO_CACHE: no resolution cache (nor CPUID
    /// answers, rt::cpuid).
    pub no_cache: bool,
    /// `--bind-all` or SHIMLD_BIND_ALL: shimld relocates the program even
    /// when its ld.so could run it alone (see handover::ldso_alone).
    pub bind_all: bool,
    pub argv0: Option<*const u8>,
    /// LD_BIND_NOW.
    pub bind_now: bool,
    /// LD_DYNAMIC_WEAK.
    pub dynamic_weak: bool,
    /// `--root DIR`: load the program, its interpreter and its libraries
    /// from another system's root directory.
    pub root: Option<alloc::vec::Vec<u8>>,
    /// What the replicas report (--hostname and the rest).
    pub replicas: super::replica::Settings,
    /// `--profile FILE`: replica settings (and a root) kept in a file.
    pub profile: Option<&'static [u8]>,
    /// Index in argv of the program (0 when started as PT_INTERP).
    pub prog_index: usize,
    /// The options given that secure mode refuses (they would let the
    /// user who starts a privileged program redirect it).
    pub unsafe_given: Vec<&'static str>,
}

/// Options refused in secure mode.
const UNSAFE: &[&str] = &[
    "--root",
    "--library-path",
    "--preload",
    "--profile",
    "--hostname",
    "--domainname",
    "--clock-offset",
    "--uid",
    "--gid",
    "--nproc",
    "--follow-exec",
    "--replicas=deep",
];

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
  --no-cache            do not use or write the resolution cache (the
                        bindings of earlier runs of the same closure, and
                        the answers to ld.so's CPUID instructions, in
                        $XDG_CACHE_HOME/shimld)
  --bind-all            bind the program's references even when it needs only
                        glibc's own libraries and imports nothing shimld
                        replaces (such a program is otherwise run by its
                        ld.so alone, as without shimld)

Per-process replicas (what the program sees; real system calls still go to
the kernel):
  --hostname NAME       uname() and gethostname() report NAME
  --domainname NAME     uname() and getdomainname() report NAME
  --clock-offset SECS   the real-time clocks run SECS ahead (negative: behind;
                        fractions allowed); monotonic clocks are untouched
  --uid N, --gid N      the user and group ids the program sees
  --nproc N             the CPU count (sysconf, get_nprocs, sched_getaffinity)
  --replicas=deep       also replace the entry points inside libc, so that
                        libc's own callers see the replicas
  --follow-exec         children that are dynamic programs start through
                        shimld too, with the same options
  --profile FILE        read these settings from FILE (key = value lines:
                        hostname, domainname, clock_offset, uid, gid, nproc,
                        follow_exec, replicas, root); options override it
  --root DIR            load the program, its interpreter and libraries from
                        the system whose root directory is DIR (the cache
                        in DIR/etc, the default directories and absolute
                        RPATH/RUNPATH entries resolve inside DIR)
  --help                display this help and exit
  --version             output version information and exit

A program name without a slash is looked up in PATH.

Environment: LD_LIBRARY_PATH, LD_PRELOAD, LD_BIND_NOW and
LD_TRACE_LOADED_OBJECTS as for ld.so; SHIMLD_DEBUG=help lists the trace
categories, SHIMLD_DEBUG_OUTPUT=FILE writes the trace to FILE.PID;
SHIMLD_NO_CACHE (any value) is --no-cache, SHIMLD_BIND_ALL --bind-all.
";

/// A non-negative decimal number.
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    u32::try_from(v).ok()
}

/// Seconds as a decimal, possibly negative or fractional, in nanoseconds.
pub fn parse_seconds(s: &[u8]) -> Option<i64> {
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match s.iter().position(|&c| c == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &b""[..]),
    };
    if (int.is_empty() && frac.is_empty()) || int.len() > 12 || frac.len() > 9 {
        return None;
    }
    let digits = |d: &[u8]| -> Option<i64> {
        d.iter().try_fold(0i64, |v, &c| c.is_ascii_digit().then(|| v * 10 + (c - b'0') as i64))
    };
    let mut ns = digits(int)? * 1_000_000_000;
    let f = digits(frac)?;
    ns += f * 10i64.pow(9 - frac.len() as u32);
    Some(if neg { -ns } else { ns })
}

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
            if let Some(u) = UNSAFE.iter().find(|u| u.as_bytes() == a) {
                o.unsafe_given.push(u);
            }
            match a {
                b"--list" => o.list = true,
                b"--verify" => o.verify = true,
                b"--inhibit-cache" => o.inhibit_cache = true,
                b"--no-cache" => o.no_cache = true,
                b"--bind-all" => o.bind_all = true,
                b"--root" => o.root = Some(value("--root").to_vec()),
                b"--hostname" => o.replicas.hostname = Some(value("--hostname").to_vec()),
                b"--domainname" => o.replicas.domainname = Some(value("--domainname").to_vec()),
                b"--clock-offset" => {
                    let v = value("--clock-offset");
                    match parse_seconds(v) {
                        Some(ns) => o.replicas.clock_offset_ns = Some(ns),
                        None => usage_error(format_args!("--clock-offset: `{}' is not a number of seconds", B(v))),
                    }
                }
                b"--uid" | b"--gid" | b"--nproc" => {
                    let name = if a == b"--uid" {
                        "--uid"
                    } else if a == b"--gid" {
                        "--gid"
                    } else {
                        "--nproc"
                    };
                    let v = value(name);
                    let Some(n) = parse_u32(v) else { usage_error(format_args!("{name}: `{}' is not a number", B(v))) };
                    match name {
                        "--uid" => o.replicas.uid = Some(n),
                        "--gid" => o.replicas.gid = Some(n),
                        _ if n == 0 => usage_error(format_args!("--nproc: the count must be at least 1")),
                        _ => o.replicas.nproc = Some(n),
                    }
                }
                b"--follow-exec" => o.replicas.follow_exec = true,
                b"--replicas=deep" => o.replicas.deep = true,
                b"--replicas=shallow" => o.replicas.deep = false,
                b"--profile" => o.profile = Some(value("--profile")),
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
    if st.getenv(b"SHIMLD_NO_CACHE").is_some() {
        o.no_cache = true;
    }
    if st.getenv(b"SHIMLD_BIND_ALL").is_some() {
        o.bind_all = true;
    }
    if let Some(v) = st.getenv(b"LD_PRELOAD") {
        let cli = core::mem::take(&mut o.preload);
        for p in v.split(|&c| c == b':' || c == b' ').filter(|p| !p.is_empty()) {
            o.preload.push((p, "LD_PRELOAD"));
        }
        o.preload.extend(cli);
    }
    o
}
