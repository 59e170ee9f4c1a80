//! `shimctl syscalls`: every direct `syscall` instruction in a program's
//! closure, where it is, which system call it makes when that can be read
//! off the code, and whether shimld replicates the libc entry point it sits
//! in or the call goes straight to the kernel.

use crate::host::ElfMap;
use crate::list;
use iced_x86::{Code, Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};
use object::{Object, ObjectSymbol};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The program whose closure to examine.
    prog: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Only the summaries, not every site.
    #[arg(long)]
    summary: bool,
}

#[derive(Serialize, Clone)]
pub struct Site {
    pub object: String,
    /// Offset in the object (its virtual address).
    pub address: u64,
    pub function: Option<String>,
    pub number: Option<u64>,
    pub name: Option<String>,
    pub family: &'static str,
    /// What makes shimld replicate the enclosing libc function, or null if
    /// the call goes straight to the kernel.
    pub replicated_by: Option<&'static str>,
}

#[derive(Serialize)]
struct Report {
    program: String,
    sites: Vec<Site>,
    by_object: BTreeMap<String, usize>,
    by_family: BTreeMap<&'static str, usize>,
    by_function: BTreeMap<String, usize>,
    replicated_sites: usize,
    kernel_sites: usize,
}

/// Which group of system calls a name belongs to.
pub fn family(name: &str) -> &'static str {
    const GROUPS: &[(&str, &[&str])] = &[
        (
            "memory",
            &[
                "mmap",
                "munmap",
                "mprotect",
                "mremap",
                "brk",
                "madvise",
                "mlock",
                "munlock",
                "msync",
                "mincore",
                "membarrier",
                "pkey_",
            ],
        ),
        ("signals", &["rt_sig", "sigaltstack", "kill", "tkill", "tgkill", "pause", "signalfd"]),
        (
            "time",
            &[
                "clock_",
                "time",
                "gettimeofday",
                "settimeofday",
                "nanosleep",
                "alarm",
                "setitimer",
                "getitimer",
                "timer_",
                "timerfd",
                "adjtimex",
            ],
        ),
        (
            "ids",
            &[
                "getuid",
                "geteuid",
                "getgid",
                "getegid",
                "setuid",
                "setgid",
                "getres",
                "setres",
                "setreuid",
                "setregid",
                "getgroups",
                "setgroups",
                "setfsuid",
                "setfsgid",
                "capget",
                "capset",
            ],
        ),
        (
            "identity",
            &["uname", "sethostname", "setdomainname", "sysinfo", "getcpu", "sched_getaffinity", "sched_setaffinity"],
        ),
        (
            "process",
            &[
                "clone",
                "fork",
                "vfork",
                "execve",
                "exit",
                "wait",
                "getpid",
                "getppid",
                "gettid",
                "prctl",
                "arch_prctl",
                "setsid",
                "getsid",
                "setpgid",
                "getpgid",
                "getpgrp",
                "set_tid_address",
                "rseq",
                "pidfd_",
                "ptrace",
                "getrlimit",
                "setrlimit",
                "prlimit",
                "getpriority",
                "setpriority",
                "sched_",
                "personality",
            ],
        ),
        ("sync", &["futex", "set_robust_list", "get_robust_list"]),
        (
            "network",
            &[
                "socket",
                "connect",
                "accept",
                "bind",
                "listen",
                "send",
                "recv",
                "shutdown",
                "getsockname",
                "getpeername",
                "setsockopt",
                "getsockopt",
            ],
        ),
        ("events", &["poll", "ppoll", "select", "pselect", "epoll", "eventfd", "inotify", "fanotify", "io_"]),
        (
            "files",
            &[
                "open",
                "close",
                "read",
                "write",
                "pread",
                "pwrite",
                "lseek",
                "stat",
                "fstat",
                "lstat",
                "newfstatat",
                "statx",
                "access",
                "faccessat",
                "getdents",
                "mkdir",
                "rmdir",
                "unlink",
                "rename",
                "link",
                "symlink",
                "chmod",
                "fchmod",
                "chown",
                "fchown",
                "lchown",
                "truncate",
                "ftruncate",
                "fsync",
                "fdatasync",
                "sync",
                "dup",
                "pipe",
                "fcntl",
                "ioctl",
                "getcwd",
                "chdir",
                "fchdir",
                "umask",
                "mknod",
                "utime",
                "fallocate",
                "sendfile",
                "splice",
                "tee",
                "copy_file_range",
                "flock",
                "statfs",
                "fstatfs",
                "readv",
                "writev",
                "preadv",
                "pwritev",
                "fadvise",
                "mount",
                "umount",
                "chroot",
                "xattr",
                "getxattr",
                "setxattr",
                "listxattr",
                "removexattr",
                "name_to_handle",
                "close_range",
            ],
        ),
    ];
    for (fam, prefixes) in GROUPS {
        if prefixes.iter().any(|p| name.starts_with(p)) {
            return fam;
        }
    }
    "other"
}

/// The value a `syscall` puts in rax, read off the instructions before it
/// in the same function: an immediate move to eax/rax (or `xor eax, eax`),
/// unless something in between may change rax (a call, another write).
fn number_before(window: &[Instruction]) -> Option<u64> {
    for ins in window.iter().rev() {
        if matches!(ins.mnemonic(), Mnemonic::Call | Mnemonic::Syscall)
            || ins.flow_control() == iced_x86::FlowControl::Return
        {
            return None;
        }
        if ins.op_count() == 0 || ins.op0_kind() != OpKind::Register {
            continue;
        }
        let r = ins.op0_register();
        if !matches!(r, Register::EAX | Register::RAX | Register::AX | Register::AL) {
            continue;
        }
        return match (ins.mnemonic(), ins.op_count() > 1, ins.op_count() > 1 && ins.op1_kind() == OpKind::Register) {
            (Mnemonic::Mov, true, false)
                if matches!(ins.op1_kind(), OpKind::Immediate32 | OpKind::Immediate32to64 | OpKind::Immediate64) =>
            {
                Some(ins.immediate(1))
            }
            (Mnemonic::Xor, true, true) if ins.op1_register().full_register() == r.full_register() => Some(0),
            _ => None,
        };
    }
    None
}

/// Function symbols of an object, sorted: (start, end, name).
fn functions(data: &[u8]) -> Vec<(u64, u64, String)> {
    let Ok(file) = object::File::parse(data) else { return Vec::new() };
    let mut f: Vec<(u64, u64, String)> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == object::SymbolKind::Text && s.address() != 0)
        .filter_map(|s| Some((s.address(), s.address() + s.size().max(1), s.name().ok()?.to_string())))
        .collect();
    // Of several names at one address, the public one (glibc's getpid
    // over its __getpid alias).
    f.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.starts_with('_').cmp(&b.2.starts_with('_'))).then(a.2.cmp(&b.2)));
    f.dedup_by(|a, b| a.0 == b.0);
    f
}

/// The syscall sites of one object.
pub fn scan(name: &str, m: &ElfMap) -> Vec<Site> {
    let funcs = functions(&m.map);
    let enclosing = |addr: u64| -> Option<&(u64, u64, String)> {
        let i = funcs.partition_point(|f| f.0 <= addr);
        (i > 0).then(|| &funcs[i - 1]).filter(|f| addr < f.1)
    };
    let mut sites = Vec::new();
    for p in m.phdrs.iter().filter(|p| p.p_type == shimld::elf::PT_LOAD && p.p_flags & shimld::elf::PF_X != 0) {
        let Some(code) = m.map.get(p.p_offset as usize..(p.p_offset + p.p_filesz) as usize) else { continue };
        let mut dec = Decoder::with_ip(64, code, p.p_vaddr, DecoderOptions::NONE);
        let mut window: Vec<Instruction> = Vec::new();
        let mut current: Option<u64> = None;
        while dec.can_decode() {
            let ins = dec.decode();
            let f = enclosing(ins.ip());
            let fstart = f.map(|f| f.0);
            if fstart != current {
                window.clear();
                current = fstart;
            }
            if ins.code() == Code::Syscall {
                let nr = number_before(&window);
                let sname = nr.and_then(shimld::syscalls::name).map(str::to_string);
                let func = f.map(|f| f.2.clone());
                let replicated_by =
                    func.as_deref().and_then(|n| shimld::replicas::option_for(n.trim_start_matches("__")));
                sites.push(Site {
                    object: name.to_string(),
                    address: ins.ip(),
                    function: func,
                    number: nr,
                    family: sname.as_deref().map_or("unknown", family),
                    name: sname,
                    replicated_by,
                });
            }
            window.push(ins);
            if window.len() > 32 {
                window.remove(0);
            }
        }
    }
    sites
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    let closure = list::closure(&a.prog, &list::Search::default())?;
    let mut sites = Vec::new();
    for n in closure.nodes.iter().filter(|n| !n.missing) {
        let name = String::from_utf8_lossy(&n.path).into_owned();
        let m = match &n.handle {
            Some(m) => m,
            None => continue,
        };
        sites.extend(scan(&name, m));
    }
    // The dynamic linker (PT_INTERP) is part of the process too.
    if let Some(rtld) = closure.nodes.iter().find(|n| n.source == shimld::search::Source::Rtld) {
        if let Ok((m, _)) = ElfMap::open(&rtld.path) {
            sites.extend(scan(&String::from_utf8_lossy(&rtld.path), &m));
        }
    }
    let mut by_object = BTreeMap::new();
    let mut by_family = BTreeMap::new();
    let mut by_function = BTreeMap::new();
    for s in &sites {
        *by_object.entry(s.object.clone()).or_insert(0) += 1;
        *by_family.entry(s.family).or_insert(0) += 1;
        *by_function.entry(s.function.clone().unwrap_or_else(|| "?".into())).or_insert(0) += 1;
    }
    let replicated = sites.iter().filter(|s| s.replicated_by.is_some()).count();
    let report = Report {
        program: a.prog.display().to_string(),
        kernel_sites: sites.len() - replicated,
        replicated_sites: replicated,
        by_object,
        by_family,
        by_function,
        sites,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
        return Ok(ExitCode::SUCCESS);
    }
    if !a.summary {
        println!("{:<44} {:>10}  {:<28} {:>4} {:<22} {}", "OBJECT", "ADDRESS", "FUNCTION", "NR", "SYSCALL", "HANDLED");
        for s in &report.sites {
            println!(
                "{:<44} {:>#10x}  {:<28} {:>4} {:<22} {}",
                short(&s.object, 44),
                s.address,
                short(s.function.as_deref().unwrap_or("?"), 28),
                s.number.map_or("?".into(), |n| n.to_string()),
                s.name.as_deref().unwrap_or("?"),
                match s.replicated_by {
                    Some(o) => format!("replicated by shimld ({o})"),
                    None => "kernel".into(),
                }
            );
        }
        println!();
    }
    println!(
        "{} syscall sites in the closure of {}: {} in functions shimld replicates, {} straight to the kernel",
        report.sites.len(),
        report.program,
        report.replicated_sites,
        report.kernel_sites
    );
    println!("\nBy object:");
    for (o, n) in &report.by_object {
        println!("  {n:>6}  {o}");
    }
    println!("\nBy family:");
    for (f, n) in &report.by_family {
        println!("  {n:>6}  {f}");
    }
    Ok(ExitCode::SUCCESS)
}

fn short(s: &str, n: usize) -> String {
    if s.len() <= n {
        s.to_string()
    } else {
        format!("…{}", &s[s.len() - (n - 1)..])
    }
}
