//! shimld: a dynamic loader for x86-64 Linux.
//!
//! This file reads top to bottom as the loader runs:
//!
//! 1. `_start` and `boot`: apply shimld's own relocations.
//! 2. `main`: find out how shimld was started (as a command, or as a
//!    program's PT_INTERP), read the options and environment.
//! 3. Map the program, or describe it if the kernel already mapped it.
//!    Static programs are entered as the kernel would enter them.
//! 4. Find and map the closure: preloads, then DT_NEEDED breadth first.
//! 5. `--list` prints it, as ldd does, and stops there.
//! 6. Check symbol versions; lay out and allocate static TLS.
//! 7. Relocate every object, dependencies first.
//! 8. Rewrite the initial stack for the program, run the initialisers,
//!    and jump to the program's entry with shimld's fini function in %rdx.
#![no_std]
#![no_main]

extern crate alloc;

mod rt;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::arch::{asm, naked_asm};
use core::sync::atomic::Ordering;
use rt::loader::{self, Error, Loader, RtHost, Stats};
use rt::object::{Kind, Object};
use rt::options::Options;
use rt::out::{cat, B};
use rt::process::{self, Stack};
use rt::{map, sys, tls, x86_64};
use shimld::cache::Cache;
use shimld::closure::{self, Closure, Config};
use shimld::elf::{self, Dyn, Ehdr, Phdr};
use shimld::search::{self, Source, Tokens};

#[global_allocator]
static ALLOC: rt::alloc::Allocator = rt::alloc::Allocator::new();

/// The program's initial stack pointer, as ld.so exports it.
#[no_mangle]
pub static mut __libc_stack_end: usize = 0;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // Allocation failure ends here too (out of address space, `ulimit -v`):
    // that is no internal error.
    struct Prefix([u8; 24], usize);
    impl core::fmt::Write for Prefix {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for &b in s.as_bytes() {
                if self.1 < self.0.len() {
                    self.0[self.1] = b;
                    self.1 += 1;
                }
            }
            Ok(())
        }
    }
    let mut p = Prefix([0; 24], 0);
    let _ = core::fmt::write(&mut p, format_args!("{}", info.message()));
    if p.0[..p.1].starts_with(b"memory allocation of") {
        eprint!("shimld: cannot allocate memory ({})\n", info.message());
    } else {
        eprint!("shimld: internal error: {}\n", info.message());
    }
    sys::exit_group(127)
}

// ---------------------------------------------------------------------------
// 1. Boot.

/// The entry point. Nothing may touch a global that holds an address until
/// `boot` has applied shimld's own relocations, so the addresses it needs
/// are taken PC-relatively here.
///
/// # Safety
/// Only the kernel enters here, with the process's initial stack.
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn _start() -> ! {
    naked_asm!(
        "xor ebp, ebp",
        "mov rdi, rsp",
        "lea rsi, [rip + _DYNAMIC]",
        "lea rdx, [rip + __ehdr_start]",
        "and rsp, -16",
        "call {boot}",
        "ud2",
        boot = sym boot,
    )
}

/// Applies shimld's own relocations (RELATIVE in DT_RELA, and DT_RELR),
/// then runs the loader.
///
/// # Safety
/// Called once, from `_start`, with the kernel's stack pointer and the
/// run-time addresses of `_DYNAMIC` and the ELF header. Until relocation is
/// done this code uses raw pointers only: no globals holding addresses, no
/// panics, no formatting.
unsafe extern "C" fn boot(sp: *mut usize, dynamic: *const Dyn, ehdr: *const Ehdr) -> ! {
    let base = self_base(ehdr);
    relocate_self(base, dynamic, lazy_range(), false);
    // shimld works on the kernel's stack, below the initial block, as ld.so
    // does: the pages it touches there are the ones the program's own
    // start-up touches next (4 of them, whichever program runs), and a
    // stack of its own cost a mapping, a guard page and those faults again.
    // BOOT_GAP is left free above shimld's frames: the program's block is
    // rewritten in place before it starts, and it grows down into the gap
    // by at most nine words and its 16-byte alignment (up to five levels
    // of script interpreters, each with an argument, replace shimld's own
    // argument and the script's; see Stack::rewrite).
    let top = if kernel_stack_room(sp) >= BOOT_NEEDS {
        (sp as usize - BOOT_GAP) & !15
    } else {
        // RLIMIT_STACK leaves too little room below the block (ld.so and
        // /bin/true run in a 12 KiB stack): a stack of its own, so that a
        // tight limit never turns into a crash. Its own mapping, not the
        // kernel's stack grown further, so that a tight address-space limit
        // ends in a message rather than a fault.
        let stack = match sys::mmap(
            0,
            BOOT_STACK,
            sys::PROT_READ | sys::PROT_WRITE,
            sys::MAP_PRIVATE | sys::MAP_ANONYMOUS,
            -1,
            0,
        ) {
            Ok(p) => p,
            Err(_) => {
                let msg = b"shimld: cannot allocate memory for its stack\n";
                let _ = sys::write(2, core::slice::from_raw_parts(msg.as_ptr(), msg.len()));
                sys::exit_group(127)
            }
        };
        // A guard page below it turns an overflow into a fault.
        let _ = sys::mprotect(stack, sys::PAGE, sys::PROT_NONE);
        // (And where ld.so comes back to shimld, it comes back to this
        // stack: see rt::handover::entry.)
        core::ptr::write(core::ptr::addr_of_mut!(SHIMLD_OWN_STACK), stack + BOOT_STACK);
        stack + BOOT_STACK
    };
    asm!(
        "mov rsp, {top}",
        "call {main}",
        "ud2",
        top = in(reg) top,
        main = sym main,
        in("rdi") sp,
        in("rsi") base,
        in("rdx") ehdr,
        options(noreturn)
    )
}

/// shimld's load bias: where its header is, minus the header's link-time
/// address (the virtual address of the segment that maps file offset 0).
///
/// # Safety
/// `ehdr` is shimld's own ELF header, as mapped. Safe before relocation.
unsafe fn self_base(ehdr: *const Ehdr) -> usize {
    let phdrs = (ehdr as usize + (*ehdr).e_phoff as usize) as *const Phdr;
    let mut ehdr_vaddr = 0usize;
    let mut i = 0;
    while i < (*ehdr).e_phnum as usize {
        let p = &*phdrs.add(i);
        if p.p_type == elf::PT_LOAD && p.p_offset == 0 {
            ehdr_vaddr = p.p_vaddr as usize;
            break;
        }
        i += 1;
    }
    (ehdr as usize).wrapping_sub(ehdr_vaddr)
}

/// Applies shimld's own RELATIVE relocations (in DT_RELA, and DT_RELR):
/// those outside `lazy`, or with `lazy_only`, those inside it.
///
/// # Safety
/// `base` is shimld's load bias and `dynamic` its `_DYNAMIC`; each
/// relocation is applied once. Runs before relocation is done: raw
/// pointers only, no globals holding addresses, no panics, no formatting.
unsafe fn relocate_self(base: usize, dynamic: *const Dyn, lazy: (usize, usize), lazy_only: bool) {
    let (mut rela, mut relasz, mut relr, mut relrsz) = (0usize, 0usize, 0usize, 0usize);
    let mut d = dynamic;
    while (*d).d_tag != elf::DT_NULL {
        match (*d).d_tag {
            elf::DT_RELA => rela = (*d).d_val as usize,
            elf::DT_RELASZ => relasz = (*d).d_val as usize,
            elf::DT_RELR => relr = (*d).d_val as usize,
            elf::DT_RELRSZ => relrsz = (*d).d_val as usize,
            _ => {}
        }
        d = d.add(1);
    }
    let wanted = |at: usize| (lazy.0 <= at && at < lazy.1) == lazy_only;
    let mut r = (base + rela) as *const elf::Rela;
    let end = (base + rela + relasz) as *const elf::Rela;
    while rela != 0 && r < end {
        if (*r).kind() != elf::R_X86_64_RELATIVE {
            let msg = b"shimld: unexpected relocation type in shimld itself\n";
            let _ = sys::write(2, core::slice::from_raw_parts(msg.as_ptr(), msg.len()));
            sys::exit_group(127);
        }
        let at = base + (*r).r_offset as usize;
        if wanted(at) {
            *(at as *mut usize) = base.wrapping_add((*r).r_addend as usize);
        }
        r = r.add(1);
    }
    let mut e = (base + relr) as *const u64;
    let eend = (base + relr + relrsz) as *const u64;
    let mut at = 0usize;
    while relr != 0 && e < eend {
        if *e & 1 == 0 {
            at = base + *e as usize;
            if wanted(at) {
                *(at as *mut usize) += base;
            }
            at += 8;
        } else {
            let mut bits = *e >> 1;
            while bits != 0 {
                let p = at + 8 * bits.trailing_zeros() as usize;
                if wanted(p) {
                    *(p as *mut usize) += base;
                }
                bits &= bits - 1;
            }
            at += 63 * 8;
        }
        e = e.add(1);
    }
}

/// The run-time bounds of the data whose relocations boot leaves for
/// `relocate_lazy` (iced-x86's tables: see loader/data.ld), taken
/// PC-relatively, as they must be before relocation.
fn lazy_range() -> (usize, usize) {
    let (start, end): (usize, usize);
    // SAFETY: computes two addresses; no memory is accessed.
    unsafe {
        asm!(
            "lea {s}, [rip + __shimld_lazy_start]",
            "lea {e}, [rip + __shimld_lazy_end]",
            s = out(reg) start,
            e = out(reg) end,
            options(nomem, nostack, pure)
        )
    };
    (start, end)
}

/// Applies the relocations boot left (see `lazy_range`), once. Everything
/// that uses iced-x86 (rt::patch, during single-threaded start-up) calls
/// this first.
pub(crate) fn relocate_lazy() {
    static DONE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if !DONE.swap(true, Ordering::AcqRel) {
        let ehdr: *const Ehdr;
        // SAFETY: computes an address; no memory is accessed.
        unsafe { asm!("lea {h}, [rip + __ehdr_start]", h = out(reg) ehdr, options(nomem, nostack, pure)) };
        let dynamic = own_dynamic();
        // SAFETY: shimld's own header, bias and dynamic section; boot
        // skipped exactly these relocations, and DONE lets this apply them
        // once.
        unsafe { relocate_self(self_base(ehdr), dynamic, lazy_range(), true) };
    }
}

/// How many bytes RLIMIT_STACK lets the kernel's stack grow below `sp`
/// (0 if unknown). The block above `sp` ends with the program's file name
/// (AT_EXECFN), which the kernel puts at the top.
///
/// # Safety
/// `sp` must be the kernel's initial stack pointer.
unsafe fn kernel_stack_room(sp: *mut usize) -> usize {
    let Ok(limit) = sys::stack_limit() else { return 0 };
    let execfn = Stack::new(sp).aux(process::AT_EXECFN).unwrap_or(0);
    if execfn < sp as usize {
        return 0;
    }
    // The name is at most a path's length, and the kernel ends the stack
    // with a null word after it.
    let used = execfn - sp as usize + 4096 + 8;
    limit.saturating_sub(used)
}

/// What shimld's start-up needs below the block (16.5 KiB measured for
/// true, git, python3, clang and gdb), with a margin.
const BOOT_NEEDS: usize = 64 * 1024;

/// The size of shimld's own stack, where RLIMIT_STACK is too tight.
const BOOT_STACK: usize = 1 << 20;

/// The top of shimld's own stack, when it has one (0: it runs on the
/// kernel's).
#[no_mangle]
pub static mut SHIMLD_OWN_STACK: usize = 0;

/// Free bytes left between the program's initial block and shimld's
/// frames (see `boot`).
const BOOT_GAP: usize = 256;

// ---------------------------------------------------------------------------
// 2. Who started us, and with what.

/// The program being run.
struct Prog {
    /// Its name for messages (argv[0] as the program will see it).
    name: Vec<u8>,
    /// The path it was opened by.
    path: Vec<u8>,
    /// The C string AT_EXECFN will point to.
    execfn: *const u8,
    /// Its canonical path, as /proc/self/exe would show it natively.
    real: Option<Vec<u8>>,
    /// For a script: what replaces shimld's arguments and the script's
    /// name in argv (the interpreter, its argument, the script's path).
    inserted: Vec<*const u8>,
    /// The file is set-user-ID or set-group-ID.
    setid: bool,
}

extern "C" fn main(sp: *mut usize, base: usize, ehdr: *const Ehdr) -> ! {
    // SAFETY: sp is the kernel's initial stack pointer.
    let mut st = unsafe { Stack::new(sp) };
    let direct = st.aux(process::AT_ENTRY) == Some(_start as *const () as usize);
    let mut opts = rt::options::parse(&st, direct);
    // Secure mode (glibc's): the kernel says so for a privileged program;
    // shimld also says so for a set-user-ID or set-group-ID program it is
    // asked to run (below, once the file is open).
    let secure_aux = st.aux(process::AT_SECURE).is_some_and(|v| v != 0);
    if secure_aux {
        refuse_unsafe(&opts);
    }
    apply_profile(&mut opts);
    if let Some(dir) = opts.root.take() {
        match rt::root::set(&dir) {
            Ok(prefix) => opts.root = Some(prefix),
            Err(e) => {
                eprint!("shimld: cannot use {} as the root: {}\n", B(&dir), e.text());
                sys::exit_group(1);
            }
        }
    }
    // Debuggers find shimld's r_debug through shimld's own DT_DEBUG (shimld
    // is their main executable when started as a command).
    if let Some(slot) = own_debug_slot() {
        // SAFETY: shimld's .dynamic is writable (nothing made it read-only).
        unsafe { rt::debugger::publish(slot) };
    }

    // 3. The program.
    let (prog, exe) = if direct { open_program(&st, &opts) } else { mapped_program(&st) };
    let exe = match exe {
        Ok(o) => o,
        Err(e) => {
            if opts.verify {
                sys::exit_group(1);
            }
            // A well-formed object that is no program (an ET_REL or ET_CORE
            // file) is listed as ldd lists it; anything damaged is an error
            // naming the file, as `ld.so --list` reports it.
            let not_program = elf::HeaderError::WrongType.message();
            if opts.list && matches!(&e, Error::Load { what, .. } if *what == not_program) {
                eprint!("\tnot a dynamic executable\n");
                sys::exit_group(1);
            }
            loader::fail(&prog.name, &e)
        }
    };
    let secure = secure_aux || prog.setid;
    if secure {
        refuse_unsafe(&opts);
        enter_secure_mode(&mut opts, &mut st);
    } else if let Some(spec) = st.getenv(b"SHIMLD_DEBUG") {
        if !rt::out::configure(spec, st.getenv(b"SHIMLD_DEBUG_OUTPUT")) {
            sys::exit_group(0);
        }
        rt::timing::start();
    }
    // The process is the program's: ps and /proc/self/comm show its name.
    // (For a script, the kernel names the process after the script.)
    if direct {
        // SAFETY: execfn is a C string that lives for the process.
        let file = unsafe { process::cstr(prog.execfn) };
        sys::set_name(file.rsplit(|&c| c == b'/').next().unwrap_or(file));
    }
    // An interpreter with nothing for it to do: the program's references
    // could not be relocated (ld.so crashes on such a file).
    if exe.interp.is_some() && exe.dynamic.is_none() && !opts.verify {
        loader::fail(&prog.name, &Error::load(&prog.path, "program has an interpreter but no dynamic section"));
    }
    let is_static = exe.interp.is_none()
        && (exe.dynamic.is_none() || (exe.d.needed.is_empty() && exe.d.flags_1 & elf::DF_1_PIE != 0));
    if opts.verify {
        sys::exit_group(match (exe.dynamic.is_some(), exe.interp.is_some()) {
            (true, true) => 0,
            (true, false) => 2,
            (false, _) => 1,
        });
    }
    if opts.list && exe.dynamic.is_none() {
        eprint!("\tnot a dynamic executable\n");
        sys::exit_group(1);
    }
    if opts.list && exe.d.needed.is_empty() && opts.preload.is_empty() {
        outprint!("\tstatically linked\n");
        sys::exit_group(0);
    }
    let cmd = command_line(direct, &opts, &prog);
    if is_static {
        enter_static(st, &opts, &cmd, &prog, exe);
    }
    rt::replica::configure(opts.replicas.clone());
    if rt::handover::ldso_alone(&exe, &opts, secure) {
        let dir = cache_dir(&opts, &st, secure);
        rt::handover::enter_ldso_alone(exe, own_identity(ehdr), st, &cmd, &prog.name, dir);
    }
    // The rest has frames of its own: the ld.so-alone path above is what
    // small programs take, and every page of stack it touches costs a
    // fault.
    load_and_run(st, opts, prog, exe, base, ehdr, secure)
}

/// Where the resolution cache's files (and the CPUID answers) live, unless
/// turned off (never in secure mode: the cache is the user's to write).
fn cache_dir(opts: &Options, st: &Stack, secure: bool) -> Option<Vec<u8>> {
    match opts.no_cache || secure {
        true => None,
        false => rt::bindcache::directory(st.getenv(b"XDG_CACHE_HOME"), st.getenv(b"HOME")),
    }
}

/// What becomes of the command line when the program starts: shimld's own
/// arguments dropped, a script's interpreter put in front.
fn command_line<'a>(direct: bool, opts: &Options, prog: &'a Prog) -> process::CommandLine<'a> {
    process::CommandLine {
        direct,
        drop: opts.prog_index + !prog.inserted.is_empty() as usize,
        inserted: &prog.inserted,
        argv0: opts.argv0,
        execfn: prog.execfn,
    }
}

/// Stages 4 to 8 for a dynamic program that shimld loads (with or without
/// the glibc core's handover).
///
/// This frame stays live until the program starts, so it holds little: the
/// stages that build objects, the loader or the stub are `#[inline(never)]`
/// and boxed, and their temporaries go with their own frames (each page of
/// stack that start-up touches is a fresh page; see `boot`).
#[inline(never)]
fn load_and_run(
    st: Stack,
    opts: Options,
    mut prog: Prog,
    exe: Box<Object>,
    base: usize,
    ehdr: *const Ehdr,
    secure: bool,
) -> ! {
    let direct = st.aux(process::AT_ENTRY) == Some(_start as *const () as usize);
    let rtld = self_object(base, ehdr);

    // 4. The closure.
    let cwd = getcwd();
    // The program's canonical path: for /proc/self/exe, and for $ORIGIN,
    // which natively ld.so takes from /proc/self/exe (while `ld.so --list`,
    // ldd, takes the path as given). Found when first needed, unless the
    // closure's search needs $ORIGIN now.
    let meta = exe.meta();
    let later = direct && prog.real.is_none() && !opts.list && !origin_needed(&meta, &opts, &st);
    if direct && prog.real.is_none() && !later {
        prog.real = map::real_path(&prog.path, cwd.as_deref());
    }
    let interp: Vec<u8> = exe.interp.clone().unwrap_or_else(|| search::RTLD_PATH.to_vec());
    if let Some(real) = &prog.real {
        rt::replica::set_program_path(real.clone());
    } else if later {
        let relative = !prog.path.starts_with(b"/");
        rt::replica::set_program_named(prog.path.clone(), cwd.clone().filter(|_| relative));
    }
    let exe_origin = match (&prog.real, opts.list) {
        (Some(real), false) => search::origin_of(real, None),
        _ if later => None,
        _ if direct => search::origin_of(&prog.path, cwd.as_deref()),
        _ => proc_self_exe_dir(),
    };
    setup_relaunch(&opts, &interp, direct);
    let tokens = Tokens { platform: platform(&st), secure, ..Tokens::default() };
    // An empty LD_LIBRARY_PATH counts as unset (empty entries inside a
    // longer one mean the current directory).
    let library_path = opts
        .library_path
        .or_else(|| st.getenv(b"LD_LIBRARY_PATH").filter(|p| !p.is_empty()))
        .map(|p| search::split_dirs(p, b":;", exe_origin.as_deref(), &tokens))
        .unwrap_or(Ok(Vec::new()))
        .unwrap_or_else(|what| loader::fail(&prog.name, &Error::load(b"LD_LIBRARY_PATH", what)));
    let cache_bytes = if opts.inhibit_cache { None } else { map_file(&rt::root::inside(search::LD_SO_CACHE)) };
    let cache = cache_bytes.and_then(|b| Cache::parse(b).ok());
    let mut cfg = Config::host(library_path, cache, tokens, cwd, &interp);
    cfg.root = opts.root.clone();
    let mut host = RtHost {
        rtld: Some(rtld),
        cpu_level: None,
        view_core: !opts.list,
        describe_core: !opts.no_cache && !secure && !rt::out::enabled(cat::BINDINGS | cat::SYMBOLS),
        weight: exe.reloc_weight(),
    };
    let cmd = command_line(direct, &opts, &prog);
    let mut c: Closure<Box<Object>> = Closure::new();
    c.add(prog.path.clone(), Vec::new(), Source::Program, Some((exe, meta)), None, &cfg);
    c.nodes[0].origin = exe_origin.clone();
    if let Some(o) = exe_origin {
        PROGRAM_ORIGIN.store(Box::into_raw(Box::new(o)), Ordering::Release);
    }
    load_preloads(&mut c, &mut host, &cfg, &opts, &prog);
    if let Err(e) = c.load_needed(&mut host, &cfg, 0, opts.list) {
        loader::fail(&prog.name, &closure_error(&c, e));
    }

    rt::timing::mark("map");

    // 5. Listing.
    if opts.list {
        list(&c, &st);
        sys::exit_group(0);
    }

    let mut ld = build_loader(&mut c, &prog, &opts);
    ld.cache_dir = cache_dir(&opts, &st, secure);
    // And through the program's, when shimld is its interpreter.
    if let (false, Some(i), Some(d)) = (direct, ld.main().d.debug_index, ld.main().dynamic) {
        // SAFETY: the program's .dynamic is writable (ld.so writes DT_DEBUG).
        unsafe { rt::debugger::publish(ld.main().addr(d.p_vaddr) + 16 * i + 8) };
    }
    // The glibc core's tables, unless the resolution cache answers for all
    // that the handover would read of them before ld.so maps the core.
    let quick = rt::handover::preflight(&mut ld, direct);
    if quick.is_none() {
        materialize(&mut ld, &prog);
    } else {
        ld.objs.iter_mut().for_each(|o| o.release());
    }
    host.view_core = false;
    ld.dl = rt::lock::RecursiveMutex::new(Some(rt::dl::DlState::new(c, cfg, host)));

    // 6. Versions; a glibc program goes to its ld.so from here.
    let core = match quick {
        Some(core) => core,
        None => {
            ld.versions_clean = check_versions(&ld);
            let core = rt::handover::core_set(&ld.objs);
            check_core(&ld, &core);
            core
        }
    };
    map_views(&mut ld, &core, &prog);
    if core.is_empty() {
        rt::handover::forget_preflight(&mut ld);
    } else {
        rt::handover::start(ld, core, st, &cmd);
    }
    run_without_handover(ld, st, &cmd, &prog, base, direct)
}

/// Sets up TLS, relocates and starts a program that needs no glibc core
/// (shimld does everything). Its own frame: the handover path above never
/// comes here, and every page of stack it touches costs a fault.
#[inline(never)]
fn run_without_handover(
    mut ld: Box<Loader>,
    mut st: Stack,
    cmd: &process::CommandLine,
    prog: &Prog,
    base: usize,
    direct: bool,
) -> ! {
    let layout = tls::layout(&mut ld.objs);
    let random = st.aux(process::AT_RANDOM).map(|p| {
        // SAFETY: AT_RANDOM points at 16 random bytes on the initial stack.
        unsafe { &*(p as *const [u8; 16]) }
    });
    let mut block = match tls::allocate(&layout, random) {
        Ok(b) => b,
        Err(e) => loader::fail(
            &prog.name,
            &Error::Load { name: prog.name.clone(), what: "cannot allocate TLS block", errno: Some(e) },
        ),
    };
    block.install_dtv(&ld.objs);
    if rt::out::enabled(cat::TLS) {
        for o in ld.objs.iter() {
            if let Some(t) = &o.tls {
                debug!(
                    cat::TLS,
                    "TLS module {} of {}: offset {} size {} align {}",
                    t.modid,
                    B(&o.path),
                    t.offset,
                    t.memsz,
                    t.align
                );
            }
        }
    }
    // SAFETY: the TCB is set up; nothing of shimld's uses %fs.
    if let Err(e) = unsafe { sys::set_fs(block.tp).map(|_| rt::lock::thread_pointer_ready()) } {
        loader::fail(
            &prog.name,
            &Error::Load { name: prog.name.clone(), what: "cannot set up thread pointer", errno: Some(e) },
        );
    }

    rt::timing::mark("setup");

    // 7. Relocation, in init order: dependencies before their dependents.
    let stats = relocate_all(&mut ld, &[]);
    block.init_images(&ld.objs);
    print_statistics(&ld, &stats);
    ld.stats = stats;
    ld.tls = Some(block);
    let ld = loader::publish(ld);

    // 8. Hand over: the stack as the program expects it, initialisers, entry.
    if direct {
        // SAFETY: no pointer into the old stack layout is used afterwards.
        unsafe { cmd.restore(&mut st) };
        let main = ld.main();
        st.set_program(main.phdr_addr, main.phdrs.len(), main.entry);
        st.set_aux(process::AT_BASE, base);
    }
    make_stack_executable(ld.objs.iter().map(|o| &**o), &st);
    // SAFETY: written once, before the program runs.
    unsafe { __libc_stack_end = st.sp as usize };
    // The initialisers are program code: they run on the program's stack,
    // below its initial block, as under ld.so.
    // SAFETY: the stack below the block is free; `start_program` never
    // returns.
    unsafe {
        asm!(
            "mov rsp, {top}",
            "call {f}",
            "ud2",
            top = in(reg) (st.sp as usize - 256) & !15,
            f = sym start_program,
            in("rdi") st.sp,
            options(noreturn)
        )
    }
}

/// Runs the initialisers and enters the program (programs without libc).
extern "C" fn start_program(sp: *mut usize) -> ! {
    let Some(ld) = loader::get() else { sys::exit_group(127) };
    // SAFETY: sp is the program's initial stack, prepared by main.
    let st = unsafe { Stack::new(sp) };
    run_initializers(ld, &st);
    rt::timing::mark("init");
    check_code(ld, ld.main(), ld.main().entry);
    // SAFETY: the program is mapped, relocated and initialised, and the
    // stack holds its argc, argv, envp and auxv.
    unsafe { jump(st.sp, ld.main().entry, fini as *const () as usize) }
}

/// Merges `--profile FILE` under the command line's settings, and sets up
/// the replicas and exec following.
/// Refuses, in secure mode, the options that would let whoever starts a
/// privileged program redirect it.
fn refuse_unsafe(opts: &Options) {
    if let Some(o) = opts.unsafe_given.first() {
        eprint!("shimld: {o} is not allowed for a set-user-ID or set-group-ID program (secure mode)\n");
        sys::exit_group(1);
    }
}

/// The environment variables glibc removes for a privileged program
/// (LD_PRELOAD's safe entries are kept aside first). shimld's own
/// (SHIMLD_*) stay in the environment, unused, as glibc leaves them.
const UNSECURE_ENV: &[&[u8]] = &[
    b"GCONV_PATH",
    b"GETCONF_DIR",
    b"HOSTALIASES",
    b"LD_AUDIT",
    b"LD_DEBUG",
    b"LD_DEBUG_OUTPUT",
    b"LD_DYNAMIC_WEAK",
    b"LD_HWCAP_MASK",
    b"LD_LIBRARY_PATH",
    b"LD_ORIGIN_PATH",
    b"LD_PRELOAD",
    b"LD_PROFILE",
    b"LD_SHOW_AUXV",
    b"LD_USE_LOAD_BIAS",
    b"LOCALDOMAIN",
    b"LOCPATH",
    b"MALLOC_TRACE",
    b"NIS_PATH",
    b"NLSPATH",
    b"RESOLV_HOST_CONF",
    b"RES_OPTIONS",
    b"TMPDIR",
    b"TZDIR",
];

/// Secure mode, as glibc's: LD_PRELOAD keeps only names without a slash,
/// found in the default directories as set-user-ID files; LD_DYNAMIC_WEAK
/// is ignored; the unsafe variables leave the program's environment
/// ($ORIGIN and the resolution cache are handled where they are used).
fn enter_secure_mode(opts: &mut Options, st: &mut Stack) {
    opts.dynamic_weak = false;
    opts.preload.retain(|(name, from)| *from != "LD_PRELOAD" || !name.contains(&b'/'));
    opts.preload = core::mem::take(&mut opts.preload)
        .into_iter()
        .filter_map(|(name, from)| {
            if from != "LD_PRELOAD" {
                return Some((name, from));
            }
            search::DEFAULT_DIRS.iter().find_map(|d| {
                let mut p = d.to_vec();
                p.push(b'/');
                p.extend_from_slice(name);
                let ok = sys::stat(&p)
                    .is_ok_and(|s| s.st_mode & sys::S_IFMT == sys::S_IFREG && s.st_mode & sys::S_ISUID != 0);
                ok.then(|| (&*Box::leak(p.into_boxed_slice()), from))
            })
        })
        .collect();
    // SAFETY: nothing refers to the environment vector's slots yet.
    unsafe {
        st.remove_env(|e| !UNSECURE_ENV.iter().any(|n| e.len() > n.len() && e.starts_with(n) && e[n.len()] == b'='))
    };
}

fn apply_profile(opts: &mut Options) {
    if let Some(path) = opts.profile {
        let p = match rt::profile::load(path) {
            Ok(p) => p,
            Err(e) => {
                eprint!("shimld: {}\n", e);
                sys::exit_group(1)
            }
        };
        let r = &mut opts.replicas;
        let s = p.settings;
        r.hostname = r.hostname.take().or(s.hostname);
        r.domainname = r.domainname.take().or(s.domainname);
        r.clock_offset_ns = r.clock_offset_ns.or(s.clock_offset_ns);
        r.uid = r.uid.or(s.uid);
        r.gid = r.gid.or(s.gid);
        r.nproc = r.nproc.or(s.nproc);
        r.follow_exec |= p.follow_exec.unwrap_or(false);
        r.deep |= p.deep.unwrap_or(false);
        if opts.root.is_none() {
            opts.root = p.root;
        }
    }
}

/// Tells the replicas how to start shimld again for a child: its own path
/// and the options that carry over (the replicas, exec following, root).
#[inline(never)]
fn setup_relaunch(opts: &Options, interp: &[u8], direct: bool) {
    let shimld = if direct { None } else { Some(rt::root::inside(interp)) };
    let r = &opts.replicas;
    let mut o: Vec<Vec<u8>> = Vec::new();
    let mut push = |k: &str, v: Vec<u8>| {
        o.push(k.as_bytes().to_vec());
        o.push(v);
    };
    let num = |n: u64| alloc::format!("{n}").into_bytes();
    if let Some(h) = &r.hostname {
        push("--hostname", h.clone());
    }
    if let Some(d) = &r.domainname {
        push("--domainname", d.clone());
    }
    if let Some(ns) = r.clock_offset_ns {
        let sign = if ns < 0 { "-" } else { "" };
        let a = ns.unsigned_abs();
        push("--clock-offset", alloc::format!("{sign}{}.{:09}", a / 1_000_000_000, a % 1_000_000_000).into_bytes());
    }
    if let Some(u) = r.uid {
        push("--uid", num(u as u64));
    }
    if let Some(g) = r.gid {
        push("--gid", num(g as u64));
    }
    if let Some(n) = r.nproc {
        push("--nproc", num(n as u64));
    }
    if let Some(root) = &opts.root {
        push("--root", root.clone());
    }
    if r.follow_exec {
        o.push(b"--follow-exec".to_vec());
    }
    if r.deep {
        o.push(b"--replicas=deep".to_vec());
    }
    rt::replica::set_relaunch(rt::replica::Relaunch { shimld, options: o });
}

/// How shimld's own file is recognised (say, named as a program's
/// interpreter): its entry point's link-time address and its program
/// headers.
fn own_identity(ehdr: *const Ehdr) -> (u64, &'static [Phdr]) {
    // SAFETY: shimld is mapped; its header and program headers are in its
    // first segment, for the life of the process.
    unsafe {
        let eh = &*ehdr;
        let phdrs =
            core::slice::from_raw_parts((ehdr as usize + eh.e_phoff as usize) as *const Phdr, eh.e_phnum as usize);
        (eh.e_entry, phdrs)
    }
}

/// Where shimld's own DT_DEBUG entry keeps its value, if it has one.
fn own_debug_slot() -> Option<usize> {
    let mut d = own_dynamic();
    // SAFETY: shimld's own dynamic section, as mapped, ends with DT_NULL.
    unsafe {
        while (*d).d_tag != elf::DT_NULL {
            if (*d).d_tag == elf::DT_DEBUG {
                return Some(core::ptr::addr_of!((*d).d_val) as usize);
            }
            d = d.add(1);
        }
    }
    None
}

/// shimld's own `_DYNAMIC`, taken PC-relatively.
fn own_dynamic() -> *const Dyn {
    let d: *const Dyn;
    // SAFETY: computes an address; no memory is accessed.
    unsafe { asm!("lea {d}, [rip + _DYNAMIC]", d = out(reg) d, options(nomem, nostack, pure)) };
    d
}

/// shimld's own object, which stands in for the dynamic linker.
#[inline(never)]
fn self_object(base: usize, ehdr: *const Ehdr) -> Box<Object> {
    // SAFETY: shimld is mapped; its header and program headers are in its
    // first segment.
    unsafe {
        let eh = *ehdr;
        let phdrs =
            core::slice::from_raw_parts((ehdr as usize + eh.e_phoff as usize) as *const Phdr, eh.e_phnum as usize)
                .to_vec();
        let phdr_addr = ehdr as usize + eh.e_phoff as usize;
        match Object::from_mapped(Kind::Rtld, search::RTLD_PATH.to_vec(), base, eh, phdrs, phdr_addr) {
            Ok(o) => o,
            Err(e) => {
                eprint!("shimld: cannot read shimld's own headers: {}\n", e);
                sys::exit_group(127)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3. The program.

/// Opens and maps the program named on the command line.
#[inline(never)]
fn open_program(st: &Stack, opts: &Options) -> (Prog, Result<Box<Object>, Error>) {
    let i = opts.prog_index;
    let arg = st.arg(i).unwrap_or(b"");
    // SAFETY: i < argc (options::parse checked it).
    let arg_ptr = unsafe { *st.argv.add(i) };
    // Unlike ld.so, a name without a slash is looked up in PATH, as a shell
    // would, since shimld prefixes command lines.
    // With --root, an absolute path names the root's file if it has one.
    let (path, execfn) = if arg.contains(&b'/') {
        (in_root_first(arg), arg_ptr)
    } else {
        match path_search(arg, st.getenv(b"PATH").unwrap_or(b"/usr/local/bin:/usr/bin:/bin")) {
            Some(mut p) => {
                let keep = p.clone();
                p.push(0);
                let ptr = Box::leak(p.into_boxed_slice()).as_ptr();
                (keep, ptr)
            }
            None => (arg.to_vec(), arg_ptr),
        }
    };
    // A script runs its interpreter, as the kernel would run it: the
    // interpreter (and its one argument) go in front of the script's path.
    let (path, inserted, fd) = match script_interpreter(path, execfn) {
        Ok(x) => x,
        Err(e) => {
            let prog =
                Prog { name: arg.to_vec(), path: arg.to_vec(), execfn, real: None, inserted: Vec::new(), setid: false };
            return (prog, Err(e));
        }
    };
    let name = match (opts.argv0, inserted.first()) {
        // SAFETY: argv strings live for the whole process.
        (Some(a), _) => unsafe { process::cstr(a) }.to_vec(),
        // SAFETY: the interpreter's name is a leaked C string.
        (None, Some(&p)) => unsafe { process::cstr(p) }.to_vec(),
        (None, None) => arg.to_vec(),
    };
    let mut real = None;
    let mut setid = false;
    let opened = match fd {
        Some((fd, (head, n))) if n > 0 => map::elf_file_read(fd, Some(&head[..n])),
        Some((fd, _)) => map::elf_file(fd),
        None => map::open_elf(&path),
    };
    let exe = match opened {
        Ok(mut f) => {
            // (Inside a root, the file's own path is read back: the root's
            // links resolve within it. Elsewhere it is found from the path,
            // once shimld knows it needs it: see `main`.)
            if rt::root::is_set() {
                real = map::fd_path(f.fd);
            }
            setid = f.mode & (sys::S_ISUID | sys::S_ISGID) != 0;
            Object::map(Kind::Exec, name.clone(), &mut f).map_err(|e| map_error(&path, e))
        }
        Err(e) => Err(map_error(&path, e)),
    };
    (Prog { name, path, execfn, real, inserted, setid }, exe)
}

/// A file's first bytes as `script_interpreter` read them (up to
/// HEAD_READ), and how many there are: kept on the stack, where the
/// page is touched already, rather than in a heap block of its own.
type Head = ([u8; map::HEAD_READ], usize);

/// The most scripts the kernel follows before the program that runs them
/// (exec_binprm in fs/exec.c: a sixth fails with ELOOP; measured on 6.18).
const MAX_SCRIPT_DEPTH: usize = 5;

/// Follows `#!` lines from `path`: returns the program to load, the
/// arguments that go in front of the original ones in its argv (each
/// level's interpreter, its optional argument, and the file it runs), and
/// the program's file, open. For a program that is not a script, returns
/// it with nothing to insert.
fn script_interpreter(
    mut path: Vec<u8>,
    execfn: *const u8,
) -> Result<(Vec<u8>, Vec<*const u8>, Option<(i32, Head)>), Error> {
    let leak = |b: &[u8]| -> *const u8 {
        let mut v = b.to_vec();
        v.push(0);
        Box::leak(v.into_boxed_slice()).as_ptr()
    };
    let mut inserted: Vec<*const u8> = Vec::new();
    let mut file = execfn;
    // Every script, then the program that runs the last one.
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let Ok(fd) = rt::root::open(&path, sys::O_RDONLY) else { return Ok((path, inserted, None)) };
        // (As much as the ELF headers take: the program's are read once.)
        let mut head = [0u8; map::HEAD_READ];
        let Ok(n) = sys::pread_full(fd, &mut head, 0) else { return Ok((path, inserted, Some((fd, (head, 0))))) };
        if n < 2 || &head[..2] != b"#!" {
            return Ok((path, inserted, Some((fd, (head, n)))));
        }
        // The kernel reads this much of the #! line.
        let n = n.min(256);
        sys::close(fd);
        let line = &head[2..n];
        let line = &line[..line.iter().position(|&c| c == b'\n').unwrap_or(line.len())];
        let is_blank = |c: &u8| *c == b' ' || *c == b'\t';
        let line = &line[line.iter().position(|c| !is_blank(c)).unwrap_or(line.len())..];
        let end = line.iter().position(|c| is_blank(c) || *c == 0).unwrap_or(line.len());
        let (interp, rest) = line.split_at(end);
        let rest = &rest[rest.iter().position(|c| !is_blank(c)).unwrap_or(rest.len())..];
        let rest = &rest[..rest.iter().rposition(|c| !is_blank(c)).map_or(0, |i| i + 1)];
        if interp.is_empty() {
            return Err(Error::load(&path, "invalid interpreter line"));
        }
        let mut level = alloc::vec![leak(interp)];
        if !rest.is_empty() {
            level.push(leak(rest));
        }
        level.push(file);
        // Outer interpreters come first; the file each one runs follows it.
        level.extend(inserted.drain(1.min(inserted.len())..));
        inserted = level;
        file = inserted[0];
        path = in_root_first(interp);
    }
    Err(Error::load(&path, "too many levels of script interpreters"))
}

fn map_error(path: &[u8], e: map::MapError) -> Error {
    match e {
        map::MapError::Open(errno) if path.contains(&b'/') => {
            Error::Load { name: path.to_vec(), what: "cannot open shared object file", errno: Some(errno) }
        }
        map::MapError::Open(_) => Error::load(path, "cannot open shared object file"),
        map::MapError::Read(errno) => {
            Error::Load { name: path.to_vec(), what: "cannot read file data", errno: Some(errno) }
        }
        map::MapError::Header(elf::HeaderError::WrongMachine) => Error::Load {
            name: path.to_vec(),
            what: "cannot open shared object file",
            errno: Some(sys::Errno(sys::ENOENT)),
        },
        map::MapError::Mmap(what, errno) => Error::Load { name: path.to_vec(), what, errno: Some(errno) },
        e => Error::load(path, e.message()),
    }
}

fn path_search(name: &[u8], path: &[u8]) -> Option<Vec<u8>> {
    for dir in path.split(|&c| c == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let p = search::join(dir, name);
        if rt::root::is_set() && p.starts_with(b"/") {
            let inside = rt::root::inside(&p);
            if is_file(&inside) {
                return Some(inside);
            }
        }
        if sys::access(&p, 1).is_ok() && is_file(&p) {
            return Some(p);
        }
    }
    None
}

/// Whether `path` (inside the root, if it names it) is a regular file.
fn is_file(path: &[u8]) -> bool {
    match rt::root::open(path, sys::O_RDONLY | sys::O_PATH) {
        Ok(fd) => {
            let f = sys::fstat(fd).is_ok_and(|s| s.st_mode & sys::S_IFMT == sys::S_IFREG);
            sys::close(fd);
            f
        }
        Err(_) => false,
    }
}

/// An absolute path inside the root if the root has that file, else the
/// path itself.
fn in_root_first(path: &[u8]) -> Vec<u8> {
    if rt::root::is_set() && path.starts_with(b"/") {
        let inside = rt::root::inside(path);
        if is_file(&inside) {
            return inside;
        }
    }
    path.to_vec()
}

/// Describes the program the kernel mapped (shimld started as PT_INTERP).
#[inline(never)]
fn mapped_program(st: &Stack) -> (Prog, Result<Box<Object>, Error>) {
    let name = st.arg(0).unwrap_or(b"").to_vec();
    let execfn = st.aux(process::AT_EXECFN).unwrap_or(0) as *const u8;
    // SAFETY: AT_EXECFN points at the file name on the initial stack.
    let path = unsafe { process::cstr(execfn) }.to_vec();
    let prog = Prog { name: name.clone(), path, execfn, real: None, inserted: Vec::new(), setid: false };
    let (Some(phdr), Some(phnum), Some(entry)) =
        (st.aux(process::AT_PHDR), st.aux(process::AT_PHNUM), st.aux(process::AT_ENTRY))
    else {
        return (prog, Err(Error::load(&name, "the kernel passed no program headers")));
    };
    // SAFETY: the kernel mapped the program and AT_PHDR/AT_PHNUM describe
    // its program headers in memory.
    let phdrs = unsafe { core::slice::from_raw_parts(phdr as *const Phdr, phnum) }.to_vec();
    let base = match phdrs.iter().find(|p| p.p_type == elf::PT_PHDR) {
        Some(p) => phdr.wrapping_sub(p.p_vaddr as usize),
        None => 0,
    };
    let ehdr = Ehdr {
        e_type: if base == 0 { elf::ET_EXEC } else { elf::ET_DYN },
        e_entry: entry.wrapping_sub(base) as u64,
        e_phnum: phnum as u16,
        e_phentsize: elf::PHDR_SIZE as u16,
        ..Ehdr::default()
    };
    // SAFETY: the kernel mapped every PT_LOAD at base + p_vaddr.
    let exe = unsafe { Object::from_mapped(Kind::Exec, name.clone(), base, ehdr, phdrs, phdr) }
        .map(|mut o| {
            // The kernel's file: /proc/self/exe is the program here.
            o.stamp = sys::stat(b"/proc/self/exe").ok().map(|s| rt::map::Stamp::of(&s));
            o
        })
        .map_err(|e| Error::load(&name, e));
    (prog, exe)
}

/// Enters a static program as the kernel would have: its own headers in the
/// auxiliary vector, no interpreter, no fini function, registers cleared.
fn enter_static(mut st: Stack, opts: &Options, cmd: &process::CommandLine, prog: &Prog, exe: Box<Object>) -> ! {
    if opts.list {
        outprint!("\tstatically linked\n");
        sys::exit_group(0);
    }
    // SAFETY: nothing uses the old stack layout after this.
    unsafe { cmd.restore(&mut st) };
    st.set_program(exe.phdr_addr, exe.phdrs.len(), exe.entry);
    st.set_aux(process::AT_BASE, 0);
    let entry = exe.entry;
    if !exe.is_code(entry) {
        loader::fail(&prog.name, &Error::load(&prog.path, "entry point lies outside the code segments"));
    }
    make_stack_executable(core::iter::once(&*exe), &st);
    // SAFETY: the program is mapped and the stack is as the kernel builds it.
    unsafe { jump(st.sp, entry, 0) }
}

/// Makes the stack executable if an object asks for it (PT_GNU_STACK with
/// PF_X), as ld.so does.
pub(crate) fn make_stack_executable<'a>(mut objs: impl Iterator<Item = &'a Object>, st: &Stack) {
    if objs.any(|o| o.exec_stack) {
        let page = sys::page_down(st.sp as usize);
        // SAFETY: the stack is the process's; PROT_GROWSDOWN extends the
        // change to the whole stack mapping.
        let _ = unsafe {
            sys::mprotect(page, sys::PAGE, sys::PROT_READ | sys::PROT_WRITE | sys::PROT_EXEC | sys::PROT_GROWSDOWN)
        };
    }
}

// ---------------------------------------------------------------------------
// 4. The closure.

/// The current directory (once: the process's, before the program runs).
#[inline(never)]
fn getcwd() -> Option<Vec<u8>> {
    static CWD: core::sync::atomic::AtomicPtr<Option<Vec<u8>>> =
        core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());
    // SAFETY: set once, from a leaked box, during single-threaded start-up.
    if let Some(c) = unsafe { CWD.load(Ordering::Acquire).as_ref() } {
        return c.clone();
    }
    let mut buf = [0u8; 4096];
    let cwd = sys::getcwd(&mut buf).ok().map(|n| buf[..n].to_vec());
    CWD.store(Box::into_raw(Box::new(cwd.clone())), Ordering::Release);
    cwd
}

fn proc_self_exe_dir() -> Option<Vec<u8>> {
    let mut buf = alloc::vec![0u8; 4096];
    let n = sys::readlink(b"/proc/self/exe", &mut buf).ok()?;
    buf.truncate(n);
    search::origin_of(&buf, None)
}

/// `$PLATFORM`: the kernel's AT_PLATFORM.
#[inline(never)]
fn platform(st: &Stack) -> Vec<u8> {
    match st.aux(process::AT_PLATFORM) {
        // SAFETY: AT_PLATFORM points at a string on the initial stack.
        Some(p) if p != 0 => unsafe { process::cstr(p as *const u8) }.to_vec(),
        _ => b"x86_64".to_vec(),
    }
}

/// Maps a whole file read-only (the cache), or None.
#[inline(never)]
fn map_file(path: &[u8]) -> Option<&'static [u8]> {
    let fd = rt::root::open(path, sys::O_RDONLY).ok()?;
    let st = sys::fstat(fd).ok();
    let size = st.map_or(0, |s| s.st_size as usize);
    // SAFETY: a fresh private read-only mapping of the whole file, kept for
    // the life of the process.
    let r = if size > 0 { unsafe { sys::mmap(0, size, sys::PROT_READ, sys::MAP_PRIVATE, fd, 0).ok() } } else { None };
    sys::close(fd);
    // SAFETY: the mapping covers `size` readable bytes and is never unmapped.
    r.map(|p| unsafe { core::slice::from_raw_parts(p as *const u8, size) })
}

/// Loads LD_PRELOAD's and `--preload`'s objects, then /etc/ld.so.preload's,
/// after the program and before its dependencies. A preload that cannot be
/// loaded is reported and skipped, as ld.so does.
#[inline(never)]
fn load_preloads(c: &mut Closure<Box<Object>>, host: &mut RtHost, cfg: &Config, opts: &Options, prog: &Prog) {
    let file = map_file(b"/etc/ld.so.preload");
    let from_file = file.into_iter().flat_map(|f| {
        f.split(|&b| b == b' ' || b == b'\t' || b == b'\n' || b == b':')
            .filter(|w| !w.is_empty())
            .map(|w| (w, "/etc/ld.so.preload"))
    });
    for (name, from) in opts.preload.iter().copied().chain(from_file) {
        if c.nodes[0].origin.is_none() && names_origin(name) {
            c.nodes[0].origin = program_origin();
        }
        if let Some(i) = c.find_loaded(name) {
            if !c.nodes[0].deps.contains(&i) {
                c.nodes[i].source = Source::Preload;
            }
            continue;
        }
        let why = match c.load(host, cfg, name, 0, Source::Preload) {
            Ok(Some(_)) => continue,
            Ok(None) => "cannot open shared object file",
            Err(closure::Error::Bad { what, .. }) => what,
            Err(_) => "cannot load",
        };
        let _ = prog;
        eprint!("ERROR: ld.so: object '{}' from {} cannot be preloaded ({}): ignored.\n", B(name), from, why);
    }
}

fn closure_error(c: &Closure<Box<Object>>, e: closure::Error) -> Error {
    match e {
        closure::Error::NotFound { name, skipped: Some(why), .. } => Error::Load { name, what: why, errno: None },
        closure::Error::NotFound { name, skipped: None, .. } => {
            Error::Load { name, what: "cannot open shared object file", errno: Some(sys::Errno(sys::ENOENT)) }
        }
        closure::Error::Bad { path, what } => Error::load(&path, what),
        closure::Error::TooMany => Error::load(&c.nodes[0].path, "needs more than 4096 objects"),
    }
}

// ---------------------------------------------------------------------------
// 5. Listing.

/// Prints the closure in ldd's format: the vDSO, then each object in load
/// order with the name it was needed by and where it was found.
#[inline(never)]
fn list(c: &Closure<Box<Object>>, st: &Stack) {
    let mut l = rt::out::Line::new(1);
    use core::fmt::Write;
    // ld.so's list is its chain of loaded objects: the program, the vDSO,
    // then the rest in load order, except that ld.so itself sits right after
    // its predecessor in the search order. When that is the program (say,
    // for libc.so.6 listed as a program), ld.so comes before the vDSO.
    let rtld = c.nodes.iter().position(|n| n.source == Source::Rtld);
    let rtld_first = rtld.is_some_and(|r| !c.nodes[1..r].iter().any(|n| !n.missing));
    let mut order: Vec<usize> = (1..c.nodes.len()).collect();
    if let (Some(r), true) = (rtld, rtld_first) {
        order.retain(|&i| i != r);
        print_node(&mut l, &c.nodes[r]);
    }
    if let Some(vdso) = st.aux(process::AT_SYSINFO_EHDR).filter(|&v| v != 0) {
        let _ = write!(l, "\tlinux-vdso.so.1 (0x{vdso:016x})\n");
    }
    for i in order {
        print_node(&mut l, &c.nodes[i]);
    }
}

fn print_node(l: &mut rt::out::Line, n: &closure::Node<Box<Object>>) {
    use core::fmt::Write;
    {
        let name = n.names.first().map(|v| &v[..]).unwrap_or(b"");
        if n.missing {
            let _ = write!(l, "\t{} => not found\n", B(name));
            return;
        }
        let addr = n.handle.as_ref().map_or(0, |o| o.map_start);
        if n.source == Source::Rtld || name == &n.path[..] {
            let _ = write!(l, "\t{} (0x{addr:016x})\n", B(&n.path));
        } else {
            let _ = write!(l, "\t{} => {} (0x{addr:016x})\n", B(name), B(&n.path));
        }
    }
}

// ---------------------------------------------------------------------------
// 6. Objects, versions.

#[inline(never)]
fn build_loader(c: &mut Closure<Box<Object>>, prog: &Prog, opts: &Options) -> Box<Loader> {
    let mut objs: Vec<Box<Object>> = Vec::new();
    let mut ld = Box::new(Loader::empty());
    // Node index -> object index (missing nodes exist only when listing).
    let mut map = alloc::vec![usize::MAX; c.nodes.len()];
    let mut deps = Vec::new();
    for (ni, n) in c.nodes.iter_mut().enumerate() {
        let Some(mut o) = n.handle.take() else { continue };
        o.idx = objs.len();
        map[ni] = objs.len();
        deps.push(n.deps.clone());
        objs.push(o);
    }
    for (o, d) in objs.iter_mut().zip(deps) {
        o.deps = d.into_iter().map(|x| map[x]).filter(|&x| x != usize::MAX).collect();
    }
    for o in objs {
        let i = o.idx;
        ld.objs.push(o);
        ld.scope.push(i);
    }
    let scope: Vec<usize> = ld.scope.iter().copied().collect();
    let mut init_order = loader::sort(&ld.objs, &scope);
    init_order.reverse();
    ld.prog = prog.name.clone();
    ld.bind_now = opts.bind_now;
    ld.dynamic_weak = opts.dynamic_weak;
    ld.init_order = init_order;
    ld.direct = opts.prog_index > 0;
    if ld.direct {
        ld.debug_head = Some(Box::new([rt::dl::LinkMap::default(), rt::dl::LinkMap::default()]));
    }
    rt::dl::relink(&ld);
    ld
}

/// Maps the objects that were only viewed as the glibc core's but are not
/// (a program's own `libc.so.6` that is no glibc, say): shimld loads them.
#[inline(never)]
fn map_views(ld: &mut Loader, core: &[bool], prog: &Prog) {
    let mut changed = false;
    for i in 0..ld.objs.len() {
        if !ld.objs[i].view || core.get(i) == Some(&true) {
            continue;
        }
        let old = &ld.objs[i];
        let mapped = map::open_elf(&old.path).and_then(|mut f| Object::map(old.kind, old.path.clone(), &mut f));
        let mut o = match mapped {
            Ok(o) => o,
            Err(e) => loader::fail(&prog.name, &map_error(&old.path, e)),
        };
        // (Object::map stamps the object with the file it mapped.)
        if old.stamp != o.stamp {
            loader::fail(&prog.name, &Error::load(&old.path, "file changed while loading"));
        }
        o.idx = old.idx;
        o.deps = old.deps.clone();
        o.file = old.file.clone();
        if let Some(slot) = ld.objs.get_mut(i) {
            let mut old = core::mem::replace(slot, o);
            // SAFETY: the view is no longer referred to.
            unsafe { old.unmap() };
        }
        changed = true;
    }
    if changed {
        rt::dl::relink(ld);
    }
}

/// Makes views of the objects the closure only described.
#[inline(never)]
fn materialize(ld: &mut Loader, prog: &Prog) {
    let mut changed = false;
    for o in ld.objs.iter_mut() {
        if o.described.is_some() {
            if let Err(e) = o.materialize() {
                loader::fail(&prog.name, &map_error(&o.path, e));
            }
            changed = true;
        }
    }
    if changed {
        rt::dl::relink(ld);
    }
}

/// Checks the relocation tables of the glibc core's objects, as far as
/// their views show them, before ld.so, which would crash on what this
/// rejects, relocates them. (A cached start-up has these very files from a
/// start-up that checked them.)
#[inline(never)]
fn check_core(ld: &Loader, core: &[bool]) {
    for (i, o) in ld.objs.iter().enumerate() {
        if core.get(i) == Some(&true) && o.view {
            if let Err(e) = x86_64::check_for_ldso(o) {
                loader::fail(&ld.prog, &e);
            }
        }
    }
}

/// Checks that every version an object requires is defined by the object
/// it requires it of. Like ld.so, reports every missing version, then exits
/// with status 1. Returns whether it printed nothing.
#[inline(never)]
fn check_versions(ld: &Loader) -> bool {
    let mut missing = false;
    let mut clean = true;
    for o in ld.objs.iter() {
        for req in o.syms.requirements() {
            let file = req.file.unwrap_or(b"");
            let Some(t) = ld.objs.iter().find(|t| t.short_name() == file || t.path == file) else {
                continue;
            };
            if !t.syms.has_verdef {
                clean = false;
                eprint!(
                    "{}: {}: no version information available (required by {})\n",
                    B(&ld.prog),
                    B(&t.path),
                    B(&o.path)
                );
                continue;
            }
            if t.syms.defines_version(req.name, req.hash) {
                continue;
            }
            // A weak requirement is reported and tolerated, as ld.so does.
            clean = false;
            eprint!(
                "{}: {}: {}version `{}' not found (required by {})\n",
                B(&ld.prog),
                B(&t.path),
                if req.weak { "weak " } else { "" },
                B(req.name),
                B(&o.path)
            );
            missing |= !req.weak;
        }
    }
    if missing {
        sys::exit_group(1);
    }
    clean
}

/// Whether the resolution cache would pay for this closure.
fn worth_caching(ld: &Loader, core: &[bool]) -> bool {
    let (mut symbolic, mut relative) = (0, 0);
    for (i, o) in ld.objs.iter().enumerate() {
        if o.kind == Kind::Rtld || core.get(i) == Some(&true) {
            continue;
        }
        let (s, r) = o.reloc_weight();
        symbolic += s;
        relative += r;
    }
    rt::bindcache::worth(symbolic, relative)
}

/// Looks for the resolution cache of the closure `objs` (`n` objects, in
/// load order): its key, if the closure is to be cached (not while
/// SHIMLD_DEBUG traces lookups, which the trace shows all, and not for a
/// closure whose relocation costs less than reading the cache), and the
/// cache file that matched it.
pub(crate) fn look_for_cache<'a>(
    ld: &Loader,
    core: &[bool],
    objs: impl Iterator<Item = &'a rt::object::Object>,
    n: usize,
) -> (Option<Vec<u8>>, Option<rt::bindcache::Cache>) {
    let key = match &ld.cache_dir {
        Some(_) if !rt::out::enabled(cat::BINDINGS | cat::SYMBOLS) && worth_caching(ld, core) => {
            rt::bindcache::key_of(objs, n, ld.dynamic_weak)
        }
        _ => None,
    };
    let cache = match (&ld.cache_dir, &key) {
        (Some(dir), Some(k)) => rt::bindcache::Cache::open(dir, k, n),
        _ => None,
    };
    (key, cache)
}

/// Relocates every object shimld loaded at start-up, in init order
/// (dependencies before their dependents), except the glibc core (`core`)
/// and shimld itself; with the resolution cache, when there is one, and
/// writing it when it missed.
pub(crate) fn relocate_all(ld: &mut Loader, core: &[bool]) -> Stats {
    let mut stats = Stats::default();
    let t0 = rt::timing::ticks();
    // The cache, unless the handover has looked for it already.
    let key = match ld.cache_looked.take() {
        Some(key) => key,
        None => {
            let (key, cache) = look_for_cache(ld, core, ld.objs.iter().map(|o| &**o), ld.objs.len());
            ld.bindcache = cache;
            key
        }
    };
    let hit = ld.bindcache.is_some();
    if ld.probes.len() == 0 {
        ld.probes = rt::append::AppendVec::with_capacity(rt::loader::MAX_PROBES);
    }
    ld.index_scope();
    // The bindings for the cache file: every object's on a miss; on a hit,
    // those of objects whose references the cache did not answer.
    stats.record_all = key.is_some() && !hit;
    stats.prebind = key.is_some();
    let mut record: Vec<Option<rt::bindcache::ObjectRecord>> = Vec::new();
    if key.is_some() {
        record.resize(ld.objs.len(), None);
    }
    let order: Vec<usize> = ld
        .init_order
        .iter()
        .copied()
        .filter(|&i| ld.objs[i].kind != Kind::Rtld && core.get(i) != Some(&true))
        .collect();
    for &i in &order {
        let lazy = !(ld.bind_now || ld.objs[i].d.bind_now);
        debug!(cat::RELOC, "relocation processing: {}{}", B(&ld.objs[i].path), if lazy { " (lazy)" } else { "" });
        // SAFETY: object i is mapped and unrelocated, its dependencies are
        // relocated (by shimld, or by ld.so for the core), and the program
        // has not started.
        if let Err(e) = unsafe { x86_64::relocate(ld, i, lazy, &mut stats) } {
            loader::fail(&ld.prog, &e);
        }
        ld.objs[i].ifuncs = core::mem::take(&mut stats.ifuncs);
        if let Err(e) = check_inits(ld, &ld.objs[i]) {
            loader::fail(&ld.prog, &e);
        }
        // A cached object whose bindings were not all used is rewritten too.
        if stats.pos < stats.stream.len() && stats.rec.is_none() {
            stats.rec = Some(stats.stream[..stats.pos].to_vec());
        }
        let relr = stats.relr.take().and_then(|e| e.finish());
        if let (Some(slot), Some(entries)) = (record.get_mut(i), stats.rec.take()) {
            // The RELR form applied from the cache stays; a fresh one is new.
            let relr = relr.or_else(|| ld.bindcache.as_ref().and_then(|c| c.relr(i)).map(|(w, n)| (w.to_vec(), n)));
            *slot = Some(rt::bindcache::ObjectRecord { entries, relr });
        }
        ld.objs[i].relocated.store(true, Ordering::Release);
    }
    // A miss writes the file; a hit that had to look some up (a lazy
    // start-up's entry used with LD_BIND_NOW, say) rewrites it whole.
    if let (Some(dir), Some(k)) = (&ld.cache_dir, &key) {
        if !hit || record.iter().any(|r| r.is_some()) {
            let cache = ld.bindcache.as_ref();
            let all: Vec<rt::bindcache::ObjectRecord> = record
                .into_iter()
                .enumerate()
                .map(|(i, r)| r.unwrap_or_else(|| cache.map_or(Default::default(), |c| c.record(i))))
                .collect();
            rt::bindcache::store(dir, k, &all, &ld.scan, ld.facts.as_ref());
        }
    }
    stats.stream = &[];
    if let Some(c) = ld.bindcache.take() {
        c.close();
    }
    rt::timing::mark_relocation(stats.lookup_ticks, rt::timing::ticks() - t0);
    stats
}

pub(crate) fn print_statistics(ld: &Loader, st: &Stats) {
    if !rt::out::enabled(cat::STATISTICS) {
        return;
    }
    let total: u64 = st.by_type.iter().sum();
    debug!(cat::STATISTICS, "number of objects: {}", ld.objs.len());
    debug!(cat::STATISTICS, "number of relocations: {}", total);
    for (t, &n) in st.by_type.iter().enumerate() {
        if n > 0 {
            debug!(cat::STATISTICS, "  {}: {}", elf::reloc_name(t as u32), n);
        }
    }
    debug!(cat::STATISTICS, "number of symbol lookups: {}", st.lookups);
    debug!(cat::STATISTICS, "number of bindings from the resolution cache: {}", st.cached);
    debug!(cat::STATISTICS, "number of repeated references: {}", st.memo_hits);
    debug!(
        cat::STATISTICS,
        "number of glibc core objects read before ld.so mapped them: {}",
        rt::object::VIEWS.load(Ordering::Relaxed)
    );
}

// ---------------------------------------------------------------------------
// 8. Initialisers, finalisers, and the jump.

pub(crate) type InitFn = extern "C" fn(i32, *const *const u8, *const *const u8);

pub(crate) fn run_initializers(ld: &'static Loader, st: &Stack) {
    save_init_args(st);
    let args = init_args();
    if let Some(o) = ld.objs.iter().rev().find(|o| o.d.flags_1 & elf::DF_1_INITFIRST != 0) {
        call_init(ld, o, args);
    }
    let main = ld.main();
    if main.d.preinit_array.size > 0 {
        debug!(cat::INIT, "calling preinit: {}", B(&main.path));
        for f in fn_table(ld, main, main.d.preinit_array) {
            // SAFETY: an entry of the program's relocated DT_PREINIT_ARRAY.
            let f: InitFn = unsafe { core::mem::transmute(f) };
            f(args.0, args.1, args.2);
        }
    }
    for &i in &ld.init_order {
        call_init(ld, &ld.objs[i], args);
    }
}

pub(crate) fn call_init(ld: &'static Loader, o: &Object, args: (i32, *const *const u8, *const *const u8)) {
    // The glibc core was initialised by its ld.so.
    if matches!(o.kind, Kind::Core | Kind::Rtld) {
        return;
    }
    if o.init_called.swap(true, Ordering::AcqRel) {
        return;
    }
    // As in ld.so, the executable's own initialisers are libc's business.
    if o.kind != Kind::Lib {
        return;
    }
    if o.d.init != 0 || o.d.init_array.size != 0 {
        debug!(cat::INIT, "calling init: {}", B(&o.path));
    }
    if o.d.init != 0 {
        check_code(ld, o, o.addr(o.d.init));
        // SAFETY: DT_INIT of a relocated object.
        let f: InitFn = unsafe { core::mem::transmute(o.addr(o.d.init)) };
        f(args.0, args.1, args.2);
    }
    for f in fn_table(ld, o, o.d.init_array) {
        // SAFETY: an entry of a relocated DT_INIT_ARRAY.
        let f: InitFn = unsafe { core::mem::transmute(f) };
        f(args.0, args.1, args.2);
    }
}

/// The function pointers of an init or fini array; null and -1 entries
/// are skipped. A pointer outside every executable segment means a damaged
/// object: that is an error here rather than a crash in the call.
pub(crate) fn fn_table<'a>(
    ld: &'static Loader,
    o: &'a Object,
    t: shimld::dynamic::Table,
) -> impl Iterator<Item = usize> + 'a {
    let table: &'static [usize] = match o.image.table::<usize>(t.addr, t.size / 8) {
        Some(t) => t,
        None if t.size == 0 => &[],
        None => loader::fail(&ld.prog, &Error::load(&o.path, "init or fini array lies outside the loaded segments")),
    };
    table.iter().copied().filter(|&f| f != 0 && f != usize::MAX).inspect(move |&f| check_code(ld, o, f))
}

/// Checks, once an object is relocated, that its initialisers and
/// finalisers (DT_INIT, DT_FINI and the arrays) are code of a loaded
/// object: a damaged table must not send shimld or libc to a wild address.
pub(crate) fn check_inits(ld: &Loader, o: &Object) -> Result<(), Error> {
    let bad = |addr: usize| outside_code(o, addr);
    let is_code = |addr: usize| is_code(ld, o, addr);
    for f in [o.d.init, o.d.fini].into_iter().filter(|&f| f != 0) {
        if !is_code(o.addr(f)) {
            return Err(bad(o.addr(f)));
        }
    }
    for t in [o.d.preinit_array, o.d.init_array, o.d.fini_array] {
        let entries: &[usize] = match o.image.table::<usize>(t.addr, t.size / 8) {
            Some(e) => e,
            None if t.size == 0 => &[],
            None => return Err(Error::load(&o.path, "init or fini array lies outside the loaded segments")),
        };
        if let Some(&f) = entries.iter().find(|&&f| f != 0 && f != usize::MAX && !is_code(f)) {
            return Err(bad(f));
        }
    }
    Ok(())
}

/// Whether `addr` is code of a loaded object: `o`'s own, where an
/// object's initialisers and entry point lie (so the usual answer costs one
/// object's headers, not a walk over them all).
fn is_code(ld: &Loader, o: &Object, addr: usize) -> bool {
    o.is_code(addr) || ld.objs.iter().any(|x| x.is_code(addr))
}

/// Fails unless `addr`, a function address of `o`, is code of a loaded
/// object.
pub(crate) fn check_code(ld: &Loader, o: &Object, addr: usize) {
    if !is_code(ld, o, addr) {
        loader::fail(&ld.prog, &outside_code(o, addr));
    }
}

/// The error for `o`'s function address `addr` that is no code.
fn outside_code(o: &Object, addr: usize) -> Error {
    Error::Reloc {
        obj: o.path.clone(),
        detail: alloc::format!("function address 0x{addr:x} lies outside the code segments"),
    }
}

static FINI_STARTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The fini function passed to the program in %rdx (libc registers it with
/// atexit): runs the finalisers of every initialised object, the program
/// first and each object before its dependencies, as ld.so's `_dl_fini`.
pub(crate) extern "C" fn fini() {
    if FINI_STARTED.swap(true, Ordering::AcqRel) {
        return;
    }
    let Some(ld) = loader::get() else { return };
    let all: Vec<usize> = (0..ld.objs.len()).filter(|&i| !ld.objs[i].removed.load(Ordering::Acquire)).collect();
    for i in loader::sort(&ld.objs, &all) {
        call_fini(ld, &ld.objs[i]);
    }
}

/// Runs one object's finalisers (FINI_ARRAY backwards, then DT_FINI) if
/// its initialisers ran.
pub(crate) fn call_fini(ld: &'static Loader, o: &Object) {
    if !o.init_called.swap(false, Ordering::AcqRel) {
        return;
    }
    if o.d.fini_array.size == 0 && o.d.fini == 0 {
        return;
    }
    debug!(cat::INIT, "calling fini: {} [0]", B(&o.path));
    let fns: Vec<usize> = fn_table(ld, o, o.d.fini_array).collect();
    for &f in fns.iter().rev() {
        // SAFETY: an entry of a relocated DT_FINI_ARRAY.
        let f: extern "C" fn() = unsafe { core::mem::transmute(f) };
        f();
    }
    if o.d.fini != 0 {
        check_code(ld, o, o.addr(o.d.fini));
        // SAFETY: DT_FINI of a relocated object.
        let f: extern "C" fn() = unsafe { core::mem::transmute(o.addr(o.d.fini)) };
        f();
    }
}

/// The arguments constructors get: the program's argc, argv and envp, as
/// glibc passes them to constructors of objects opened later too.
static INIT_ARGS: [core::sync::atomic::AtomicUsize; 3] = [
    core::sync::atomic::AtomicUsize::new(0),
    core::sync::atomic::AtomicUsize::new(0),
    core::sync::atomic::AtomicUsize::new(0),
];

pub(crate) fn init_args() -> (i32, *const *const u8, *const *const u8) {
    (
        INIT_ARGS[0].load(Ordering::Relaxed) as i32,
        INIT_ARGS[1].load(Ordering::Relaxed) as *const *const u8,
        INIT_ARGS[2].load(Ordering::Relaxed) as *const *const u8,
    )
}

fn save_init_args(st: &Stack) {
    INIT_ARGS[0].store(st.argc, Ordering::Relaxed);
    INIT_ARGS[1].store(st.argv as usize, Ordering::Relaxed);
    INIT_ARGS[2].store(st.envp as usize, Ordering::Relaxed);
}

/// The program's argv[0] (for dladdr, which names the program so).
pub(crate) fn argv0() -> *const u8 {
    let argv = INIT_ARGS[1].load(Ordering::Relaxed) as *const *const u8;
    if argv.is_null() {
        return b"\0".as_ptr();
    }
    // SAFETY: argv is the program's argument vector, which has argv[0].
    unsafe { *argv }
}

static PROGRAM_ORIGIN: core::sync::atomic::AtomicPtr<Vec<u8>> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// The directory of the program ($ORIGIN), for dlinfo and dlopen (found
/// on first use where start-up did not need it: see `load_and_run`).
pub(crate) fn program_origin() -> Option<Vec<u8>> {
    let p = PROGRAM_ORIGIN.load(Ordering::Acquire);
    // SAFETY: set once from a leaked box.
    if let Some(o) = unsafe { p.as_ref() } {
        return Some(o.clone());
    }
    let (path, cwd) = rt::replica::program_named()?;
    rt::replica::program_path().and_then(|real| search::origin_of(real, None)).or_else(|| search::origin_of(path, cwd))
}

/// Whether the closure's search may expand $ORIGIN for the program itself
/// (`m`, what its dynamic section names): in its DT_NEEDED names, RPATH or
/// RUNPATH, the library path or the preloads named so far (those of
/// /etc/ld.so.preload are looked at as they are read).
fn origin_needed(m: &closure::Meta, opts: &Options, st: &Stack) -> bool {
    m.needed.iter().any(|n| names_origin(n))
        || m.rpath.as_deref().is_some_and(names_origin)
        || m.runpath.as_deref().is_some_and(names_origin)
        || opts.library_path.is_some_and(names_origin)
        || st.getenv(b"LD_LIBRARY_PATH").is_some_and(names_origin)
        || opts.preload.iter().any(|(n, _)| names_origin(n))
}

/// Whether a name or search path may hold $ORIGIN (or ${ORIGIN}).
fn names_origin(s: &[u8]) -> bool {
    s.windows(6).any(|w| w == b"ORIGIN")
}

/// Jumps to `entry` with the stack pointer at argc, %rdx = `rdx`, and the
/// other registers cleared, as a process starts.
///
/// # Safety
/// `sp` must point at a valid initial stack and `entry` at the program's
/// entry point.
pub(crate) unsafe fn jump(sp: *mut usize, entry: usize, rdx: usize) -> ! {
    asm!(
        "mov rsp, {sp}",
        "xor eax, eax",
        "xor ebx, ebx",
        "xor ecx, ecx",
        "xor esi, esi",
        "xor edi, edi",
        "xor ebp, ebp",
        "xor r8d, r8d",
        "xor r9d, r9d",
        "xor r10d, r10d",
        "xor r11d, r11d",
        "xor r12d, r12d",
        "xor r13d, r13d",
        "xor r14d, r14d",
        "jmp r15",
        sp = in(reg) sp,
        in("r15") entry,
        in("rdx") rdx,
        options(noreturn)
    )
}
