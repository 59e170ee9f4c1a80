//! The libc entry points shimld replaces with its per-process replicas, and
//! what turns each on. The loader binds these; `shimctl syscalls` marks
//! them, so the two agree.

/// (libc function, the option that makes shimld replace it).
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("readlink", "always (/proc/self/exe)"),
    ("readlinkat", "always (/proc/self/exe)"),
    ("uname", "--hostname, --domainname"),
    ("gethostname", "--hostname"),
    ("getdomainname", "--domainname"),
    ("time", "--clock-offset"),
    ("gettimeofday", "--clock-offset"),
    ("clock_gettime", "--clock-offset"),
    ("timespec_get", "--clock-offset"),
    ("ftime", "--clock-offset"),
    ("getuid", "--uid"),
    ("geteuid", "--uid"),
    ("getresuid", "--uid"),
    ("getgid", "--gid"),
    ("getegid", "--gid"),
    ("getresgid", "--gid"),
    ("sysconf", "--nproc"),
    ("get_nprocs", "--nproc"),
    ("get_nprocs_conf", "--nproc"),
    ("sched_getaffinity", "--nproc"),
    ("execve", "--follow-exec, /proc/self/exe"),
    ("execv", "--follow-exec, /proc/self/exe"),
    ("execvp", "--follow-exec, /proc/self/exe"),
    ("execvpe", "--follow-exec, /proc/self/exe"),
    ("posix_spawn", "--follow-exec, /proc/self/exe"),
    ("posix_spawnp", "--follow-exec, /proc/self/exe"),
];

/// The functions shimld replaces whatever the options: readlink for
/// /proc/self/exe, the exec family (whose children must not inherit shimld
/// as /proc/self/exe), and backtrace_symbols (which names shimld's objects).
pub const ALWAYS: &[&str] = &[
    "readlink",
    "readlinkat",
    "backtrace_symbols",
    "backtrace_symbols_fd",
    "execve",
    "execv",
    "execvp",
    "execvpe",
    "posix_spawn",
    "posix_spawnp",
];

/// The functions `--replicas=deep` patches inside libc (the exec family
/// needs no patch: libc's own exec callers start programs it chose).
pub fn deep(name: &str) -> bool {
    FUNCTIONS.iter().any(|(n, _)| *n == name) && !name.starts_with("exec") && !name.starts_with("posix_spawn")
}

/// What makes shimld replace `name`, if it does.
pub fn option_for(name: &str) -> Option<&'static str> {
    FUNCTIONS.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
}
