//! The ld.so handover: how shimld runs programs that use glibc.
//!
//! libc.so.6 depends on the internals of its own ld.so, so shimld lets the
//! program's own ld.so load and initialise the glibc core (ld.so, libc and
//! the rest of the glibc family, and libgcc_s), and does everything else
//! itself. The sequence (see shared/design/handover.md):
//!
//! 1. The closure is already found and mapped, except the core objects,
//!    which are only described, or viewed where their tables must be read
//!    first (`preflight`: not when the resolution cache keeps what the
//!    handover takes from them). Decide which objects are core; unmap
//!    shimld's views of those (ld.so maps them).
//! 2. Lay out module 1 of TLS: the libraries' blocks at the bottom, the
//!    program's block at the top, where its local-exec code expects it.
//! 3. Build the stub main program: DT_NEEDED for the core objects by path,
//!    exports for the program's COPY-relocated variables (with COPY
//!    relocations, so ld.so fills them) and for every definition of ours
//!    that interposes the core's, init and fini trampolines, PT_TLS.
//! 4. Map the program's ld.so and enter it as the kernel would, with the
//!    auxiliary vector describing the stub.
//! 5. ld.so loads, relocates and initialises the core and jumps to the
//!    stub's entry: `continuation`. There shimld finds the core through
//!    `_r_debug`, relocates and initialises every other object, puts the
//!    program's own headers back into the auxiliary vector, and jumps to
//!    the program's entry with ld.so's `_dl_fini` in %rdx.
//! 6. libc runs the program's constructors through the stub's init
//!    trampoline (glibc 2.34 and later; older programs run their own), and
//!    `_dl_fini` runs the stub's fini trampoline, which runs the program's
//!    and the libraries' finalisers.

use super::bindcache::Facts;
use super::loader::{self, Class, Error, Loader, Stats};
use super::map;
use super::object::{Kind, Object};
use super::options::Options;
use super::out::{cat, B};
use super::process::{self, Stack};
use super::sys;
use crate::debug;
use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::arch::naked_asm;
use core::sync::atomic::Ordering;
use shimld::bind;
use shimld::closure;
use shimld::elf::{self, Rela};
use shimld::stub::{self, Export, Spec};
use shimld::symtab::{Name, Want};

/// Which objects are core: glibc's (by soname, or by importing a
/// GLIBC_PRIVATE symbol), ld.so, libgcc_s, and anything a core object
/// needs. Empty if the program does not use glibc.
pub fn core_set(objs: &loader::Objects) -> Vec<bool> {
    // A real glibc imports ld.so's GLIBC_PRIVATE symbols; a libc.so.6 that
    // does not (a test's stand-in, say) is an ordinary library.
    if !objs.iter().any(|o| o.syms.requirements().any(|v| v.name == b"GLIBC_PRIVATE")) {
        return Vec::new();
    }
    core_closure(objs)
}

/// The core as `core_set` finds it, from names and version requirements
/// alone (for described objects, the names; see `preflight`).
fn core_closure(objs: &loader::Objects) -> Vec<bool> {
    let mut core: Vec<bool> = objs
        .iter()
        .map(|o| {
            o.kind == Kind::Rtld
                || shimld::bind::CORE_SONAMES.contains(&o.short_name())
                || o.syms.requirements().any(|v| v.name == b"GLIBC_PRIVATE")
        })
        .collect();
    // Whatever a core object needs, ld.so loads too.
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..objs.len() {
            if core[i] {
                for &d in &objs[i].deps {
                    if !core[d] {
                        core[d] = true;
                        changed = true;
                    }
                }
            }
        }
    }
    core
}

/// What the continuation needs, kept from before the handover.
struct State {
    ld: Box<Loader>,
    core: Vec<bool>,
    stub_base: usize,
    layout: stub::Layout,
    /// Module 1's distance below the thread pointer, if the stub has TLS.
    tls_off: Option<usize>,
    /// The executable's COPY relocations that ld.so performed.
    copies_done: BTreeSet<u64>,
    /// Environment entries renamed so that ld.so does not act on them.
    hidden_env: Vec<*mut u8>,
    /// An environment entry lent to ld.so (see `root_library_path`): its
    /// slot and the original string.
    lent_env: Option<(*mut *const u8, *const u8)>,
    prog_phdr: usize,
    prog_phnum: usize,
}

static mut STATE: Option<Box<State>> = None;

/// The names ld.so must not see in the environment: shimld has already
/// acted on them (LD_PRELOAD objects are loaded, as non-core objects).
const HIDE_ENV: &[&[u8]] = &[b"LD_PRELOAD="];

fn round_up(x: usize, a: usize) -> usize {
    x.wrapping_add(a - 1) & !(a - 1)
}

/// Lays out module 1: each library's block at an aligned offset from the
/// bottom, the program's block where glibc would put it as the only module.
/// Returns the stub's TLS segment, module 1's distance below the thread
/// pointer, and where the reserve for objects loaded later starts.
#[inline(never)]
fn tls_layout(ld: &mut Loader, core: &[bool]) -> Option<(stub::Tls, usize, usize)> {
    let exe_tls = ld.objs[0].tls;
    let mut align = exe_tls.map_or(1, |t| t.align).max(64);
    let mut r = 0usize;
    let mut libs = Vec::new();
    for (i, o) in ld.objs.iter().enumerate().skip(1) {
        if core[i] {
            continue;
        }
        if let Some(t) = o.tls {
            r = round_up(r, t.align);
            libs.push((i, r));
            r += t.memsz;
            align = align.max(t.align);
        }
    }
    // Room for the TLS of objects dlopen loads later.
    let reserve = r;
    r += super::tls::DLOPEN_RESERVE;
    // The program's offset as the linker assumed it (glibc's formula for
    // the first module).
    let off_p = exe_tls.map_or(0, |t| {
        let fb = t.firstbyte.wrapping_neg() & (t.align - 1);
        round_up(t.memsz.wrapping_sub(fb), t.align).wrapping_add(fb)
    });
    let off1 = round_up(off_p + r, align);
    for &(i, at) in &libs {
        let t = ld.objs[i].tls.as_mut().unwrap();
        t.modid = 1;
        t.block_off = at;
        t.offset = off1 - at;
    }
    if let Some(t) = ld.objs[0].tls.as_mut() {
        t.modid = 1;
        t.block_off = off1 - off_p;
        t.offset = off_p;
    }
    // The image covers every block's initialised data and the reserve (so
    // that objects loaded later can put theirs there); the rest is zero.
    let filesz = ld
        .objs
        .iter()
        .filter_map(|o| o.tls.filter(|t| t.modid == 1 && t.filesz > 0).map(|t| t.block_off + t.filesz))
        .fold(r, usize::max);
    Some((stub::Tls { memsz: off1, align, filesz }, off1, reserve))
}

/// Copies each TLS block's initial data into `dst` (the stub's image, or
/// a thread's live module-1 block).
#[inline(never)]
fn fill_tls(objs: &loader::Objects, dst: *mut u8) {
    for o in objs.iter() {
        if let Some(t) = o.tls.filter(|t| t.modid == 1 && t.filesz > 0 && o.kind != Kind::Core) {
            // SAFETY: dst spans the whole image (tls_layout sized it to cover
            // every block's data), and t.image lies in the object's mapping.
            unsafe { core::ptr::copy_nonoverlapping(t.image as *const u8, dst.add(t.block_off), t.filesz) };
        }
    }
}

/// The symbols the stub must export: the program's COPY-relocated
/// variables defined in the core (with a COPY relocation each), and every
/// definition in a non-core object that a core object's references would
/// bind to natively (an interposer: a program's malloc, say).
#[inline(never)]
fn exports(ld: &Loader, core: &[bool]) -> (Exported, Vec<[u32; 2]>, Option<Facts>) {
    let mut x = Exported::default();
    let mut seen: BTreeSet<&[u8]> = BTreeSet::new();
    let mut st = Stats::default();
    let exe = ld.main();
    let mut warned = false;
    let mut interposers: Vec<[u32; 2]> = Vec::new();
    for r in sym_relocs(exe).filter(|r| r.kind() == elf::R_X86_64_COPY) {
        check_copy(ld, r);
        let Ok(def) = ld.resolve(0, r.sym(), Class::Copy, &mut st) else { continue };
        if def.sym.is_none() || !core[def.obj] {
            continue;
        }
        if let Some(name) = copy_export(ld, core, r, &mut x) {
            seen.insert(name);
        }
    }
    // The core's references that may bind outside it: each one's index in
    // its object's `relocs`. All of them, unless the resolution cache
    // holds the scan of a start-up of this very closure (then only those
    // that scan looked up in earnest; see rt::bindcache).
    let core_objs = |i: usize| core.get(i) == Some(&true) && ld.objs[i].kind != Kind::Rtld;
    // (A pair no reference answers to, which an intact file of this
    // closure cannot hold, means the whole scan.)
    let cached: Option<Vec<(usize, usize, &Rela)>> = ld.bindcache.as_ref().and_then(|c| {
        c.scan()
            .map(|[i, k]| {
                let (i, k) = (i as usize, k as usize);
                let r = if i < ld.objs.len() && core_objs(i) { sym_relocs(&ld.objs[i]).nth(k) } else { None };
                r.map(|r| (i, k, r))
            })
            .collect()
    });
    let all = (0..ld.objs.len())
        .filter(|&i| core_objs(i))
        .flat_map(|i| sym_relocs(&ld.objs[i]).enumerate().map(move |(k, r)| (i, k, r)));
    let refs: Box<dyn Iterator<Item = (usize, usize, &Rela)>> = match cached {
        Some(v) => Box::new(v.into_iter()),
        None => Box::new(all),
    };
    // The objects outside the core, once: each name is first put to their
    // Bloom filters in one tight pass, and looked up in earnest only in
    // those that may define it (a few hundred names against each of a
    // large program's objects, so the pass is most of the scan).
    let outside: Vec<bind::Candidate> = ld
        .objs
        .iter()
        .enumerate()
        .filter(|(j, _)| !core[*j])
        .map(|(j, x)| bind::Candidate { idx: j, syms: &x.syms, exec: x.kind == Kind::Exec })
        .collect();
    let mut passed: Vec<bind::Candidate> = Vec::with_capacity(outside.len());
    let mut scan: Vec<[u32; 2]> = Vec::new();
    for (i, k, r) in refs {
        let o = &ld.objs[i];
        let idx = r.sym();
        if idx == 0 || !matches!(r.kind(), elf::R_X86_64_GLOB_DAT | elf::R_X86_64_JUMP_SLOT | elf::R_X86_64_64) {
            continue;
        }
        let Some(sym) = o.syms.syms.get(idx as usize) else { continue };
        if sym.bind() == elf::STB_LOCAL || sym.visibility() != elf::STV_DEFAULT {
            continue;
        }
        let Some(name) = o.syms.name(idx) else { continue };
        if seen.contains(name) {
            continue;
        }
        let class = if r.kind() == elf::R_X86_64_JUMP_SLOT { Class::Plt } else { Class::Normal };
        let version = o.syms.wanted_version(idx);
        // Only a definition outside the core matters: look there first
        // (few objects, usually), and through the whole scope only for
        // a name one of them defines.
        let want = Want { version, plt: class == Class::Plt, newest: false };
        let mut n = Name::new(name);
        passed.clear();
        passed.extend(outside.iter().filter(|c| c.syms.may_define(n.gnu)).copied());
        if passed.is_empty()
            || bind::first_definition(passed.iter().copied(), &mut n, &want, class, ld.dynamic_weak, |_| None).is_none()
        {
            continue;
        }
        scan.push([i as u32, k as u32]);
        let Some(def) = ld.lookup(name, version, i, class) else { continue };
        if core[def.obj] {
            continue;
        }
        let Some(s) = def.sym else { continue };
        seen.insert(name);
        if s.kind() == elf::STT_GNU_IFUNC {
            warned = true;
            crate::eprint!(
                "shimld: warning: {} defines IFUNC `{}', which the glibc core uses; the core keeps its own\n",
                B(&ld.objs[def.obj].path),
                B(name)
            );
            continue;
        }
        debug!(cat::BINDINGS, "handover: {} interposes `{}' for the glibc core", B(&ld.objs[def.obj].path), B(name));
        let index = ld.objs[def.obj].syms.index_of(s).unwrap_or(0);
        interposers.push([def.obj as u32, index]);
        x.exports.push(interposer_export(ld, def.obj, index, name));
    }
    core_exports(&mut x, &seen);
    // (A start-up that warned keeps no facts, so that a cached one warns too.)
    let facts = (ld.versions_clean && !warned).then(|| Facts {
        core: core.to_vec(),
        copies: x.copies_done.iter().copied().collect(),
        interposers,
    });
    (x, scan, facts)
}

/// The stub's exports, as `exports` found them, from the resolution
/// cache's record of them (checked by `facts_hold`).
#[inline(never)]
fn exports_from_facts(ld: &Loader, core: &[bool], facts: &Facts) -> Exported {
    let mut x = Exported::default();
    let mut seen: BTreeSet<&[u8]> = BTreeSet::new();
    let exe = ld.main();
    for r in sym_relocs(exe).filter(|r| r.kind() == elf::R_X86_64_COPY && facts.copies.contains(&r.r_offset)) {
        check_copy(ld, r);
        if let Some(name) = copy_export(ld, core, r, &mut x) {
            seen.insert(name);
        }
    }
    for &[o, i] in &facts.interposers {
        // (facts_hold checked that the symbol and its name are there.)
        let name = ld.objs[o as usize].syms.name(i).unwrap_or(b"");
        seen.insert(name);
        x.exports.push(interposer_export(ld, o as usize, i, name));
    }
    core_exports(&mut x, &seen);
    x
}

/// Whether the cache's facts fit this closure: the core as `preflight`
/// names it, copies the program has, interposers defined outside the core.
#[inline(never)]
fn facts_hold(ld: &Loader, facts: &Facts, core: &[bool]) -> bool {
    let exe = ld.main();
    facts.core == core
        && facts.copies.iter().all(|&c| sym_relocs(exe).any(|r| r.kind() == elf::R_X86_64_COPY && r.r_offset == c))
        && facts.interposers.iter().all(|&[o, i]| {
            let o = o as usize;
            o < ld.objs.len()
                && !core[o]
                && ld.objs[o]
                    .syms
                    .syms
                    .get(i as usize)
                    // (A program's PLT entry that stands for a function
                    // is undefined, with a value.)
                    .is_some_and(|s| {
                        (s.st_shndx != elf::SHN_UNDEF || s.st_value != 0) && ld.objs[o].syms.name(i).is_some()
                    })
        })
}

/// What the stub exports, with the program's copy relocations it hands to
/// ld.so.
#[derive(Default)]
struct Exported {
    exports: Vec<Export>,
    copies: Vec<stub::Copy>,
    copies_done: BTreeSet<u64>,
}

/// An object's symbolic relocations (walked in place: a copy of libc's
/// tables would cost more in page faults than the walk itself). The
/// leading DT_RELACOUNT are RELATIVE and skipped unread: a large program's
/// table is mostly those, and with the resolution cache warm nothing else
/// reads them.
fn sym_relocs(o: &Object) -> impl Iterator<Item = &'static Rela> + Clone {
    let rela: &'static [Rela] = o.image.table::<Rela>(o.d.rela.addr, o.d.rela.size / 24).unwrap_or(&[]);
    let rela = &rela[(o.d.relacount as usize).min(rela.len())..];
    let plt: &'static [Rela] = super::x86_64::jmprel(o).unwrap_or(&[]);
    rela.iter().chain(plt.iter())
}

/// Exports the program's variable that COPY relocation `r` copies from
/// the core, and hands the relocation to ld.so. Returns its name.
/// (The caller has checked its target: see `check_copy`.)
fn copy_export(ld: &Loader, core: &[bool], r: &Rela, x: &mut Exported) -> Option<&'static [u8]> {
    let exe = ld.main();
    let name = exe.syms.name(r.sym())?;
    let refsym = exe.syms.syms[r.sym() as usize];
    // The stub names its core objects by path, and ld.so matches a
    // version requirement's file against those names, not the soname.
    let version = exe.syms.wanted_version(r.sym()).map(|v| {
        let file = v.file.unwrap_or(b"");
        let path =
            ld.objs.iter().enumerate().find(|(i, o)| core[*i] && o.short_name() == file).map(|(_, o)| &o.file[..]);
        (path.unwrap_or(file).to_vec(), v.name.to_vec())
    });
    x.copies.push(stub::Copy { sym: x.exports.len(), addr: exe.addr(r.r_offset) });
    x.copies_done.insert(r.r_offset);
    x.exports.push(Export {
        name: name.to_vec(),
        addr: exe.addr(r.r_offset),
        size: refsym.st_size,
        kind: elf::STT_OBJECT,
        version,
    });
    Some(name)
}

/// Checks the target of the program's COPY relocation `r`: the stub hands
/// these to ld.so, which checks nothing.
fn check_copy(ld: &Loader, r: &Rela) {
    if let Err(e) = super::x86_64::check_target(ld.main(), r, false, None) {
        loader::fail(&ld.prog, &e);
    }
}

/// The export of object `obj`'s symbol `index`, named `name`, which
/// interposes on the core's definition.
fn interposer_export(ld: &Loader, obj: usize, index: u32, name: &[u8]) -> Export {
    let s = &ld.objs[obj].syms.syms[index as usize];
    Export {
        name: name.to_vec(),
        addr: ld.value(&loader::Def { obj, sym: Some(s) }),
        size: s.st_size,
        kind: if s.kind() == elf::STT_FUNC { elf::STT_FUNC } else { elf::STT_OBJECT },
        version: None,
    }
}

/// shimld's own replacements that the core must see (the dl* family),
/// unless an interposer or a copy already exports the name.
fn core_exports(x: &mut Exported, seen: &BTreeSet<&[u8]>) {
    for (name, f) in super::dl::core_exports() {
        if !seen.contains(name) {
            x.exports.push(Export { name: name.to_vec(), addr: f, size: 0, kind: elf::STT_FUNC, version: None });
        }
    }
}

/// With `--root`, glibc's own later dlopens (NSS modules, gconv modules,
/// libgcc_s for backtraces) must find the root's libraries, not the
/// host's: ld.so is started with LD_LIBRARY_PATH naming the root's default
/// directories (after the user's own entries), as the root's ld.so run
/// with `--library-path` would search. The entry is lent: the program's
/// environment is put back in the continuation.
fn root_library_path(st: &Stack) -> Option<(*mut *const u8, *const u8)> {
    if !super::root::is_set() {
        return None;
    }
    let mut value: Vec<u8> = b"LD_LIBRARY_PATH=".to_vec();
    let existing = st.getenv(b"LD_LIBRARY_PATH").filter(|v| !v.is_empty());
    if let Some(v) = existing {
        value.extend_from_slice(v);
        value.push(b':');
    }
    for (k, d) in shimld::search::DEFAULT_DIRS.iter().enumerate() {
        if k > 0 {
            value.push(b':');
        }
        value.extend_from_slice(&super::root::inside(d));
    }
    value.push(0);
    let s = Box::leak(value.into_boxed_slice()).as_ptr();
    // The slot: LD_LIBRARY_PATH's own, or else one that ld.so and libc's
    // start-up do not read.
    let slot = (0..st.envc).find(|&i| st.env(i).starts_with(b"LD_LIBRARY_PATH=")).or_else(|| {
        (0..st.envc).find(|&i| {
            let e = st.env(i);
            !(e.starts_with(b"LD_")
                || e.starts_with(b"GLIBC_")
                || e.starts_with(b"MALLOC_")
                || e.starts_with(b"SHIMLD"))
        })
    })?;
    // SAFETY: slot < envc; the environment vector is ours to change until
    // the program starts, and the continuation restores it.
    unsafe {
        let p = st.envp.add(slot);
        let orig = *p;
        *p = s;
        Some((p, orig))
    }
}

/// Whether the program's ld.so can run the program by itself: it needs
/// nothing but the glibc core, searched for as ld.so searches (no root,
/// --library-path, --inhibit-cache or preload, which ld.so would not
/// know of), and imports nothing shimld binds in the core's place
/// (readlink and the exec family, the dl* family, the replicas in force).
/// shimld would then bind each of its references exactly where ld.so
/// binds it, so start-up need not pay for shimld's relocation, the stub
/// and a view of libc (`--bind-all` or a trace of shimld's own work says
/// otherwise).
pub fn ldso_alone(exe: &Object, opts: &Options, secure: bool) -> bool {
    const OWN_WORK: u32 = cat::SYMBOLS | cat::BINDINGS | cat::RELOC | cat::TLS | cat::INIT;
    !opts.bind_all
        && !opts.list
        && !secure
        && !super::root::is_set()
        && opts.library_path.is_none()
        && !opts.inhibit_cache
        && opts.preload.is_empty()
        && !super::replica::settings().deep
        && !super::out::enabled(OWN_WORK)
        && exe.interp.is_some()
        && (exe.base == 0 || exe.phdrs.iter().any(|p| p.p_type == elf::PT_PHDR))
        && bind::ldso_alone(
            exe.d.needed.iter().map(|&n| exe.string(n)),
            exe.d.has_filter,
            &exe.syms,
            super::replica::active,
        )
        && sys::access(b"/etc/ld.so.preload", sys::F_OK).is_err()
        // A damaged program is shimld's to report: ld.so would crash on it.
        && exe.is_code(exe.entry)
        && exe.phdrs.iter().filter(|p| p.p_type == elf::PT_TLS).all(|p| p.p_align.is_power_of_two())
        && super::x86_64::check_tables(exe).is_ok()
}

/// Hands a program that `ldso_alone` accepted to its ld.so as the kernel
/// would have: the program (already mapped) is ld.so's main program, and
/// ld.so loads, relocates and initialises everything. Never returns.
pub fn enter_ldso_alone(
    mut exe: Box<Object>,
    me: (u64, &[elf::Phdr]),
    mut st: Stack,
    cmd: &process::CommandLine,
    prog: &[u8],
    cache_dir: Option<Vec<u8>>,
) -> ! {
    let direct = cmd.direct;
    // ld.so's segments are all this path needs of it: no Object, whose
    // tables ld.so reads again at once (its _r_debug is found afterwards).
    let (interp, file) = open_ldso(prog, exe.interp.as_deref(), Some(me), direct);
    let ldso = match map::map_segments(&file) {
        Ok(m) => m,
        Err(e) => loader::fail(prog, &Error::load(&interp, e.message())),
    };
    let ldso_entry = ldso.base.wrapping_add(file.ehdr.e_entry as usize);
    super::cpuid::prepare(cache_dir.as_deref(), &file.stamp, &file.phdrs, ldso.base, ldso.start);
    drop(file);
    super::timing::mark("map");
    debug!(
        cat::FILES,
        "handover: {} needs only the glibc core and imports nothing of shimld's: {} runs it alone",
        B(&exe.path),
        B(&interp)
    );
    // SAFETY: nothing uses the old stack layout after this.
    unsafe { cmd.restore(&mut st) };
    // ld.so enters the program through `entry` (`alone_continue`), which
    // tells a debugger about the objects ld.so loaded and puts the
    // program's entry back.
    st.set_program(exe.phdr_addr, exe.phdrs.len(), entry as *const () as usize);
    st.set_aux(process::AT_BASE, ldso.base);
    crate::make_stack_executable(core::iter::once(&*exe), &st);
    let l_ld = exe.dynamic.map_or(0, |d| exe.addr(d.p_vaddr));
    let debug_slot = exe.d.debug_index.map(|i| l_ld + 16 * i + 8);
    let alone = Alone {
        entry: exe.entry,
        debug_slot,
        ldso_base: ldso.base,
        direct,
        base: exe.base,
        l_ld,
        path: core::mem::take(&mut exe.cpath),
    };
    // SAFETY: single-threaded; read once, by `continuation`.
    unsafe { ALONE = Some(Box::new(alone)) };
    // (The object's blocks are the continuation's to reuse; the program
    // stays mapped.)
    drop(exe);
    super::timing::mark("handover");
    // SAFETY: ld.so and the program are mapped, and the stack describes the
    // program as the kernel would for its PT_INTERP.
    unsafe { crate::jump(st.sp, ldso_entry, 0) }
}

/// What `alone_continue` needs of the program handed to ld.so whole.
struct Alone {
    entry: usize,
    /// The program's DT_DEBUG value, where ld.so puts `&_r_debug`.
    debug_slot: Option<usize>,
    ldso_base: usize,
    direct: bool,
    base: usize,
    l_ld: usize,
    /// The program's path, NUL-terminated, for the debugger's list.
    path: Vec<u8>,
}

static mut ALONE: Option<Box<Alone>> = None;

/// Shows a debugger the objects ld.so loaded, as shimld's own list shows
/// them after a full handover (started as a command, shimld is the
/// debugger's main executable, and the program one of its objects), puts
/// the program's entry back into the auxiliary vector and enters it.
fn alone_continue(a: Alone, sp: *mut usize, dl_fini: usize) -> ! {
    super::lock::thread_pointer_ready();
    super::timing::mark("ld.so");
    // SAFETY: sp is the stack ld.so passes to the program's entry.
    let mut st = unsafe { Stack::new(sp) };
    st.set_aux(process::AT_ENTRY, a.entry);
    let mut first = None;
    // glibc's _r_debug: in the program's DT_DEBUG, or else looked up in
    // ld.so's own table (0 if it has none).
    // SAFETY: the slot is in the program's dynamic section, mapped.
    let mut r_debug = a.debug_slot.map_or(0, |s| unsafe { *(s as *const usize) });
    if a.direct && r_debug == 0 {
        r_debug = lookup_r_debug(a.ldso_base);
    }
    if a.direct && r_debug != 0 {
        // shimld's entry (which the debugger skips), the program, then
        // copies of glibc's entries after its main program's.
        let mut chain: Vec<&'static super::dl::LinkMap> = Vec::new();
        chain.push(Box::leak(Box::new(super::dl::LinkMap::default())));
        let path: &'static [u8] = Box::leak(a.path.into_boxed_slice());
        chain.push(Box::leak(Box::new(super::dl::LinkMap::copy_of(a.base, path.as_ptr(), a.l_ld))));
        // SAFETY: glibc's _r_debug and its map list, consistent once ld.so
        // enters the program; only the public fields are read, and the
        // walk is bounded.
        unsafe {
            let r = &*(r_debug as *const RDebug);
            let after_main = if r.r_map.is_null() { core::ptr::null() } else { (*r.r_map).l_next };
            for m in link_maps(after_main) {
                chain.push(Box::leak(Box::new(super::dl::LinkMap::copy_of(m.l_addr, m.l_name, m.l_ld))));
            }
        }
        for (k, lm) in chain.iter().enumerate() {
            let prev = if k > 0 { chain[k - 1] as *const _ as *mut _ } else { core::ptr::null_mut() };
            let next = chain.get(k + 1).map_or(core::ptr::null_mut(), |n| *n as *const _ as *mut _);
            lm.l_prev.store(prev, Ordering::Relaxed);
            lm.l_next.store(next, Ordering::Release);
        }
        first = Some(chain[0] as *const super::dl::LinkMap);
    }
    // (Started as the interpreter, the debugger reads glibc's list through
    // the program's DT_DEBUG; the event tells it to.)
    super::debugger::state(super::debugger::RT_CONSISTENT, first, a.ldso_base);
    // SAFETY: the program is loaded, relocated and initialised by ld.so;
    // the stack is the one ld.so prepared; %rdx carries ld.so's _dl_fini.
    unsafe { crate::jump(sp, a.entry, dl_fini) }
}

/// `_r_debug` of the ld.so mapped at `base` (and run), or 0.
fn lookup_r_debug(base: usize) -> usize {
    // SAFETY: ld.so is mapped at `base` for good, its header in its first
    // page, where its first segment maps offset 0.
    let o = unsafe {
        let eh = *(base as *const elf::Ehdr);
        let at = base.wrapping_add(eh.e_phoff as usize);
        let phdrs = core::slice::from_raw_parts(at as *const elf::Phdr, eh.e_phnum as usize).to_vec();
        Object::from_mapped(Kind::Core, Vec::new(), base, eh, phdrs, at)
    };
    let Ok(o) = o else { return 0 };
    let want = Want { version: None, plt: false, newest: false };
    o.syms
        .lookup(&mut Name::new(b"_r_debug"), &want)
        .map_or(0, |i| base.wrapping_add(o.syms.syms[i as usize].st_value as usize))
}

/// Maps the program's ld.so as the kernel maps an interpreter, first of
/// all: with --root its canonical path (inside the root) is what the stub
/// names as its interpreter. A program whose interpreter is shimld (how
/// shimld was started, when not as a command) gets glibc's. Returns the
/// path and the mapped object.
fn map_ldso(
    prog: &[u8],
    interp: Option<&[u8]>,
    me: Option<(u64, &[elf::Phdr])>,
    direct: bool,
    cache_dir: Option<&[u8]>,
) -> (Vec<u8>, Box<Object>) {
    try_map_ldso(interp, me, direct, cache_dir).unwrap_or_else(|e| loader::fail(prog, &e))
}

/// As `map_ldso`, with the error for the caller.
#[inline(never)]
fn try_map_ldso(
    interp: Option<&[u8]>,
    me: Option<(u64, &[elf::Phdr])>,
    direct: bool,
    cache_dir: Option<&[u8]>,
) -> Result<(Vec<u8>, Box<Object>), Error> {
    let (interp, mut file) = try_open_ldso(interp, me, direct)?;
    match Object::map(Kind::Core, interp.clone(), &mut file) {
        Ok(o) => {
            super::cpuid::prepare(cache_dir, &file.stamp, &o.phdrs, o.base, o.map_start);
            Ok((interp, o))
        }
        Err(e) => Err(Error::load(&interp, e.message())),
    }
}

/// Opens the program's ld.so (see `map_ldso`): its path and its file.
fn open_ldso(
    prog: &[u8],
    interp: Option<&[u8]>,
    me: Option<(u64, &[elf::Phdr])>,
    direct: bool,
) -> (Vec<u8>, map::ElfFile) {
    try_open_ldso(interp, me, direct).unwrap_or_else(|e| loader::fail(prog, &e))
}

/// As `open_ldso`, with the error for the caller.
fn try_open_ldso(
    interp: Option<&[u8]>,
    me: Option<(u64, &[elf::Phdr])>,
    direct: bool,
) -> Result<(Vec<u8>, map::ElfFile), Error> {
    let open = |path: &[u8]| map::open_elf(&super::root::inside(path)).map_err(|e| Error::load(path, e.message()));
    let rtld = shimld::search::RTLD_PATH;
    let mut interp = if direct { interp.unwrap_or(rtld) } else { rtld }.to_vec();
    let mut file = open(&interp)?;
    let is_shimld =
        |f: &map::ElfFile| me.is_some_and(|(entry, phdrs)| f.ehdr.e_entry == entry && f.phdrs[..] == *phdrs);
    if direct && is_shimld(&file) {
        interp = shimld::search::RTLD_PATH.to_vec();
        file = open(&interp)?;
    }
    let interp = if super::root::is_set() { map::fd_path(file.fd).unwrap_or(interp) } else { interp };
    Ok((interp, file))
}

/// Before the handover, where the closure's glibc core objects are only
/// described (`Object::describe`): maps ld.so (step 1 of `start`, done
/// early) and looks for the resolution cache. If the cache keeps the facts
/// the handover would otherwise read from the core's tables, and they fit
/// this closure, returns the core set: nothing reads the core's tables
/// until ld.so has mapped the core. Otherwise the caller makes views of
/// the described objects.
pub fn preflight(ld: &mut Loader, direct: bool) -> Option<Vec<bool>> {
    if !ld.objs.iter().any(|o| o.described.is_some()) {
        return None;
    }
    let rtld = ld.objs.iter().position(|o| o.kind == Kind::Rtld)?;
    // (Described objects have no version requirements to read: the core
    // is named by the sonames and ld.so; the facts say whether that is it.)
    let core = core_closure(&ld.objs);
    let me = identity(&ld.objs[rtld]);
    // (An ld.so that cannot be mapped is reported where the handover needs
    // it, if it does: a closure whose libc.so.6 turns out to be no glibc's
    // never does.)
    let (interp, ldso) = try_map_ldso(ld.main().interp.as_deref(), Some(me), direct, ld.cache_dir.as_deref()).ok()?;
    let (key, cache) = look_for_cache_swapped(ld, &core, &ldso, rtld);
    ld.bindcache = cache;
    ld.cache_looked = Some(key);
    ld.ldso_early = Some((interp, ldso, core.clone()));
    let facts = ld.bindcache.as_ref()?.facts()?;
    if !facts_hold(ld, facts, &core) {
        return None;
    }
    debug!(
        cat::FILES,
        "handover: the resolution cache answers for the glibc core: its tables are read once ld.so maps it"
    );
    Some(core)
}

/// How `open_ldso` recognises shimld's file in object `o` (shimld's own):
/// its entry point's link-time address and its program headers.
fn identity(o: &Object) -> (u64, &[elf::Phdr]) {
    (o.entry.wrapping_sub(o.base) as u64, &o.phdrs[..])
}

/// Undoes `preflight` for a closure that turned out to have no glibc core.
pub fn forget_preflight(ld: &mut Loader) {
    if let Some((_, mut ldso, _)) = ld.ldso_early.take() {
        // SAFETY: nothing refers to this mapping of ld.so.
        unsafe { ldso.unmap() };
        super::cpuid::forget();
        ld.cache_looked = None;
        if let Some(c) = ld.bindcache.take() {
            c.close();
        }
    }
}

/// The resolution cache for the closure as relocation sees it after the
/// handover, under its key: ld.so (`ldso`) in shimld's place (`rtld`), and
/// shimld last.
#[inline(never)]
fn look_for_cache_swapped(
    ld: &Loader,
    core: &[bool],
    ldso: &Object,
    rtld: usize,
) -> (Option<Vec<u8>>, Option<super::bindcache::Cache>) {
    let n = ld.objs.len() + 1;
    let after_swap = ld.objs.iter().enumerate().map(|(i, o)| if i == rtld { ldso } else { &**o });
    crate::look_for_cache(ld, core, after_swap.chain(core::iter::once(&*ld.objs[rtld])), n)
}

/// Hands the program over to its ld.so. Never returns: ld.so comes back
/// through the stub's entry point, `continuation`.
pub fn start(mut ld: Box<Loader>, core: Vec<bool>, mut st: Stack, cmd: &process::CommandLine) -> ! {
    let direct = cmd.direct;
    // 1. The core is ld.so's to map (mapped already if `preflight` ran).
    let rtld = ld.objs.iter().position(|o| o.kind == Kind::Rtld);
    // (ld.so takes shimld's place in step 4.)
    let (interp, ldso, early_core) = match ld.ldso_early.take() {
        Some((interp, ldso, early)) => (interp, ldso, Some(early)),
        None => {
            let me = rtld.map(|r| identity(&ld.objs[r]));
            let (interp, ldso) = map_ldso(&ld.prog, ld.main().interp.as_deref(), me, direct, ld.cache_dir.as_deref());
            (interp, ldso, None)
        }
    };
    let Some(rtld) = rtld else { loader::fail(&ld.prog, &Error::load(&interp, "the glibc core does not need ld.so")) };
    // The resolution cache is looked for now, for the interposer scan, under
    // the key of the closure as relocation will see it (unless `preflight`
    // did, for this same core).
    if early_core.as_deref() != Some(&core[..]) {
        if let Some(c) = ld.bindcache.take() {
            c.close();
        }
        let (key, cache) = look_for_cache_swapped(&ld, &core, &ldso, rtld);
        ld.bindcache = cache;
        ld.cache_looked = Some(key);
    }
    // 2-3. TLS and the stub.
    let tls = tls_layout(&mut ld, &core);
    let facts = ld.bindcache.as_ref().and_then(|c| c.facts()).filter(|f| facts_hold(&ld, f, &core)).cloned();
    let Exported { exports, copies, copies_done } = match facts {
        Some(f) => {
            let x = exports_from_facts(&ld, &core, &f);
            // (Kept as they were, should the file be written again.)
            ld.scan = ld.bindcache.as_ref().map_or(Vec::new(), |c| c.scan().collect());
            ld.facts = Some(f);
            x
        }
        None => {
            let (x, scan, facts) = exports(&ld, &core);
            ld.scan = scan;
            ld.facts = facts;
            x
        }
    };
    let needed: Vec<Vec<u8>> = ld
        .objs
        .iter()
        .enumerate()
        .filter(|(i, o)| core[*i] && o.kind != Kind::Rtld)
        .map(|(_, o)| o.file.clone())
        .collect();
    for (i, o) in ld.objs.iter_mut().enumerate() {
        if core[i] && o.kind != Kind::Rtld {
            // SAFETY: nothing uses shimld's mapping of a core object again;
            // its tables are read from ld.so's mapping after the handover.
            unsafe { o.unmap() };
        }
    }
    let tls_off = tls.as_ref().map(|(_, off, _)| *off);
    let tls_reserve = tls.as_ref().map(|(t, off, at)| (*off, t.align, *at));
    let spec = Spec {
        interp: interp.clone(),
        needed,
        exports,
        copies,
        entry: entry as *const () as usize,
        init: stub_init as *const () as usize,
        fini: stub_fini as *const () as usize,
        tls: tls.map(|(t, _, _)| t),
        exec_stack: ld.objs.iter().enumerate().any(|(i, o)| !core[i] && o.exec_stack),
    };
    // Written in place, in shimld's zero-filled data (loader/data.ld), where
    // it fits and needs no more than page alignment; else built once, for
    // address 0, then moved to where its mapping lands.
    let align = spec.tls.as_ref().map_or(sys::PAGE, |t| t.align.max(sys::PAGE));
    let in_place = if align == sys::PAGE { stub_space() } else { None }
        .and_then(|m| stub::build_into(&spec, m.as_ptr() as usize, m).map(|l| (m.as_ptr() as usize, l)));
    let (stub_base, layout) = match in_place {
        Some(x) => x,
        None => stub_mapped(&spec, align, &ld.prog),
    };
    if tls_off.is_some() {
        fill_tls(&ld.objs, (stub_base + layout.tls_image) as *mut u8);
    }
    if let Some((off1, align, at)) = tls_reserve {
        let g = ld.dl.lock();
        if let Some(st) = g.get().as_mut() {
            st.tls = Some(super::tls::Reserve {
                off1,
                align,
                next: at,
                end: at + super::tls::DLOPEN_RESERVE,
                free: Vec::new(),
                image: stub_base + layout.tls_image,
            });
        }
    }
    debug!(cat::FILES, "handover: stub at 0x{:x}, {} exports, ld.so {}", stub_base, spec.exports.len(), B(&interp));

    // 4. ld.so (mapped in step 1) takes the dynamic linker's place in the
    // scope; shimld's own object moves out of it, to supply the functions
    // shimld replaces (see Loader::lookup_scoped).
    let ldso_base = ldso.base;
    let ldso_entry = ldso.entry;
    let idx = ld.objs[rtld].idx;
    let deps = core::mem::take(&mut ld.objs[rtld].deps);
    let mut me = core::mem::replace(&mut ld.objs[rtld], ldso);
    ld.objs[rtld].idx = idx;
    ld.objs[rtld].deps = deps;
    me.idx = ld.objs.len();
    ld.me = Some(me.idx);
    ld.objs.push(me);
    // dlopen keeps the closure's nodes aligned with the objects.
    {
        let g = ld.dl.lock();
        if let Some(st) = g.get().as_mut() {
            st.closure.nodes.push(closure::Node::placeholder());
        }
    }
    ld.stub_phdr = stub_base + layout.phdr;
    let prog_phdr = ld.main().phdr_addr;
    let prog_phnum = ld.main().phdrs.len();
    // SAFETY: nothing uses the old stack layout after this.
    unsafe { cmd.restore(&mut st) };
    st.set_program(stub_base + layout.phdr, layout.phnum, entry as *const () as usize);
    st.set_aux(process::AT_BASE, ldso_base);
    let mut hidden_env = Vec::new();
    for i in 0..st.envc {
        // SAFETY: envp entries are strings of the initial stack, writable.
        let p = unsafe { *st.envp.add(i) } as *mut u8;
        if HIDE_ENV.iter().any(|h| st.env(i).starts_with(h)) {
            // SAFETY: the string starts with a non-empty name.
            unsafe { *p = b'_' };
            hidden_env.push(p);
        }
    }
    let lent_env = root_library_path(&st);
    super::timing::mark("handover");
    // SAFETY: single-threaded; the state is read once, by the continuation.
    unsafe {
        STATE = Some(Box::new(State {
            ld,
            core,
            stub_base,
            layout,
            tls_off,
            copies_done,
            hidden_env,
            lent_env,
            prog_phdr,
            prog_phnum,
        }))
    };
    // SAFETY: ld.so is mapped; the stack describes the stub as ld.so's
    // program, as the kernel would have for a program with that PT_INTERP.
    unsafe { crate::jump(st.sp, ldso_entry, 0) }
}

/// Room for the stub in shimld's own zero-filled data (loader/data.ld), so
/// that it takes no mapping of its own: a stub up to this size (git's is
/// 12 KiB, its TLS image included).
const STUB_SPACE: usize = 32 * 1024;

#[repr(C, align(4096))]
struct StubSpace([u8; STUB_SPACE]);

#[link_section = ".bss.shimld_stub"]
static mut STUB: StubSpace = StubSpace([0; STUB_SPACE]);

/// STUB's zero bytes, for the stub to be written into; once.
fn stub_space() -> Option<&'static mut [u8]> {
    static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: STUB is handed out once (TAKEN), and nothing else touches it.
    Some(unsafe { &mut (*core::ptr::addr_of_mut!(STUB)).0 })
}

/// The stub in a mapping of its own, where it does not fit in STUB or
/// needs more than page alignment (a TLS image's): built for address 0,
/// then moved to where the mapping lands. Its base and layout.
fn stub_mapped(spec: &stub::Spec, align: usize, prog: &[u8]) -> (usize, stub::Layout) {
    let (mut bytes, layout) = stub::build(spec, 0);
    // SAFETY: a fresh private mapping for the stub, kept for the process.
    let mem = match unsafe {
        sys::mmap(
            0,
            layout.size + align,
            sys::PROT_READ | sys::PROT_WRITE,
            sys::MAP_PRIVATE | sys::MAP_ANONYMOUS,
            -1,
            0,
        )
    } {
        Ok(m) => m,
        Err(e) => {
            loader::fail(prog, &Error::Load { name: b"shimld".to_vec(), what: "cannot map the stub", errno: Some(e) })
        }
    };
    let stub_base = round_up(mem, align);
    stub::rebase(&mut bytes, &layout, 0, stub_base);
    // SAFETY: the mapping holds layout.size bytes from stub_base, and the
    // bytes built are the stub's start (the rest, its TLS image, stays zero).
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), stub_base as *mut u8, bytes.len()) };
    (stub_base, layout)
}

/// Where ld.so jumps once the core is ready (the stub's entry point), or
/// once it has loaded a program handed to it whole: the stack pointer at
/// argc (16-byte aligned) and %rdx = ld.so's `_dl_fini`. shimld goes on
/// below the program's block, or on its own stack if it has one (a tight
/// RLIMIT_STACK: see `boot`).
#[unsafe(naked)]
unsafe extern "C" fn entry() -> ! {
    naked_asm!(
        "mov rdi, rsp",
        "mov rsi, rdx",
        "mov rax, qword ptr [rip + SHIMLD_OWN_STACK]",
        "test rax, rax",
        "jnz 1f",
        "mov rax, rsp",
        "1:",
        "and rax, -16",
        "mov rsp, rax",
        "call {cont}",
        "ud2",
        cont = sym continuation,
    )
}

/// A link_map's public part (glibc's <link.h>).
#[repr(C)]
struct LinkMap {
    l_addr: usize,
    l_name: *const u8,
    l_ld: usize,
    l_next: *const LinkMap,
    l_prev: *const LinkMap,
}

/// The most entries of glibc's link-map list read (a damaged list ends
/// the walk there).
const MAX_LINK_MAPS: usize = 4096;

/// glibc's link maps from `first` on, following `l_next`.
///
/// # Safety
/// `first` is null or an entry of glibc's link-map list, consistent at
/// this point.
unsafe fn link_maps(first: *const LinkMap) -> Vec<&'static LinkMap> {
    let mut v = Vec::new();
    let mut m = first;
    while !m.is_null() && v.len() < MAX_LINK_MAPS {
        v.push(&*m);
        m = (*m).l_next;
    }
    v
}

/// `struct r_debug`.
#[repr(C)]
struct RDebug {
    r_version: i32,
    r_map: *const LinkMap,
}

extern "C" fn continuation(sp: *mut usize, dl_fini: usize) -> ! {
    super::cpuid::finish();
    // SAFETY: set by `enter_ldso_alone`, read once here, on the one thread.
    if let Some(a) = unsafe { (*core::ptr::addr_of_mut!(ALONE)).take() } {
        alone_continue(*a, sp, dl_fini);
    }
    // SAFETY: set by `start`, read once here, on the one thread there is.
    let Some(mut s) = (unsafe { (*core::ptr::addr_of_mut!(STATE)).take() }) else {
        crate::eprint!("shimld: the handover continuation ran without state\n");
        sys::exit_group(127)
    };
    super::lock::thread_pointer_ready();
    super::timing::mark("ld.so");
    if let Some((slot, orig)) = s.lent_env {
        // SAFETY: restores the slot changed in `start`.
        unsafe { *slot = orig };
    }
    for &p in &s.hidden_env {
        // SAFETY: restores the name changed in `start`.
        unsafe { *p = b'L' };
    }
    // SAFETY: sp is the stack ld.so passes to the program's entry.
    let mut st = unsafe { Stack::new(sp) };
    let prog = s.ld.prog.clone();
    // The core, as ld.so mapped it: the stub's DT_DEBUG holds &_r_debug.
    let debug_slot = s.stub_base + s.layout.dynamic + 16 * s.layout.debug_index + 8;
    // SAFETY: the slot is in the stub's dynamic section, which ld.so filled.
    let r_debug = unsafe { *(debug_slot as *const *const RDebug) };
    if r_debug.is_null() {
        loader::fail(&prog, &Error::load(b"ld.so", "did not fill in DT_DEBUG"));
    }
    // SAFETY: _r_debug and its map list are ld.so's, consistent at this
    // point; only the public fields are read, and the walk is bounded.
    let maps: Vec<(Vec<u8>, usize, usize)> = unsafe {
        link_maps((*r_debug).r_map)
            .into_iter()
            .map(|m| (process::cstr(m.l_name).to_vec(), m.l_addr, m as *const LinkMap as usize))
            .collect()
    };
    let ld = &mut s.ld;
    // The vDSO, which glibc lists second; shimld's lists show it there too.
    if let Some((_, _, m)) = maps.iter().find(|(n, _, _)| n == b"linux-vdso.so.1") {
        // SAFETY: a glibc link_map; its public fields are read.
        let lm = unsafe { &*(*m as *const LinkMap) };
        ld.vdso = Some(Box::new(super::dl::LinkMap::copy_of(lm.l_addr, lm.l_name, lm.l_ld)));
    }
    for i in 0..s.core.len() {
        if !s.core[i] {
            continue;
        }
        let path = &ld.objs[i].file;
        let Some(&(_, base, map)) = maps.iter().find(|(n, _, _)| n == path) else {
            loader::fail(&prog, &Error::load(path, "ld.so did not load this core object"));
        };
        ld.objs[i].glibc_map = map;
        // The file ld.so mapped must be the one shimld read (it was opened
        // again by path): the same program headers, at the same place.
        // SAFETY: a link_map's public fields, and the object's first page,
        // which holds its headers when its first segment maps offset 0.
        let same = unsafe {
            let lm = &*(map as *const LinkMap);
            let o = &ld.objs[i];
            let dyn_ok = o.dynamic.is_none_or(|d| lm.l_ld == base.wrapping_add(d.p_vaddr as usize));
            let first = o.phdrs.iter().find(|p| p.p_type == elf::PT_LOAD);
            let headers_ok = match first {
                Some(p) if p.p_offset == 0 && p.p_filesz as usize >= elf::EHDR_SIZE => {
                    let eh = &*((base.wrapping_add(p.p_vaddr as usize)) as *const elf::Ehdr);
                    let at = base.wrapping_add(p.p_vaddr as usize).wrapping_add(eh.e_phoff as usize);
                    eh.e_phnum as usize == o.phdrs.len()
                        && (eh.e_phoff as usize).saturating_add(o.phdrs.len() * elf::PHDR_SIZE) <= p.p_filesz as usize
                        && core::slice::from_raw_parts(at as *const elf::Phdr, o.phdrs.len()) == &o.phdrs[..]
                }
                _ => true,
            };
            dyn_ok && headers_ok
        };
        if !same {
            loader::fail(&prog, &Error::load(&ld.objs[i].path, "file changed while loading"));
        }
        // SAFETY: ld.so mapped this object at `base` for good.
        if let Err(e) = unsafe { ld.objs[i].rebase(Kind::Core, base) } {
            loader::fail(&prog, &Error::load(&ld.objs[i].path, e));
        }
        ld.objs[i].relocated.store(true, Ordering::Release);
    }
    // Module 1 of TLS: check that glibc put it where the layout expects.
    let tp: usize;
    // SAFETY: reads the thread pointer ld.so set up.
    unsafe { core::arch::asm!("mov {}, fs:0", out(reg) tp) };
    if let Some(off) = s.tls_off {
        if let Some(get) = ld.lookup(b"__tls_get_addr", None, 0, Class::Normal) {
            let f: extern "C" fn(*const [usize; 2]) -> usize =
                // SAFETY: glibc's __tls_get_addr, relocated by ld.so.
                unsafe { core::mem::transmute(ld.value(&get)) };
            let block = f(&[1, 0]);
            if block != tp.wrapping_sub(off) {
                crate::eprint!(
                    "shimld: glibc placed TLS module 1 at tp-{:#x}, not tp-{:#x}\n",
                    tp.wrapping_sub(block),
                    off
                );
                sys::exit_group(127);
            }
        }
    }
    // --replicas=deep: libc's own entry points jump to the replicas.
    if super::replica::settings().deep {
        let names: Vec<&'static [u8]> = shimld::replicas::FUNCTIONS
            .iter()
            .map(|(n, _)| n.as_bytes())
            .filter(|n| shimld::replicas::deep(core::str::from_utf8(n).unwrap_or("")) && super::replica::active(n))
            .collect();
        super::patch::patch_core(ld, &names);
    }
    // The lazy-binding trampoline's vector save, from libc's CPU features.
    let features = (0..s.core.len())
        .filter(|&i| s.core[i])
        .find_map(|i| ld.lookup_in(i, b"__x86_get_cpuid_feature_leaf"))
        .filter(|d| d.sym.is_some_and(|s| s.kind() == elf::STT_FUNC));
    if let Some(d) = features {
        // SAFETY: libc's function, relocated by ld.so; one thread runs.
        unsafe { super::x86_64::preset_xsave(ld.value(&d), st.aux(process::AT_MINSIGSTKSZ)) };
    }
    // Relocate everything else, dependencies first.
    ld.skip_copies = core::mem::take(&mut s.copies_done);
    let stats = crate::relocate_all(ld, &s.core);
    // The relocated TLS data, for new threads (the stub's image) and this one.
    if let Some(off) = s.tls_off {
        fill_tls(&ld.objs, (s.stub_base + s.layout.tls_image) as *mut u8);
        fill_tls(&ld.objs, tp.wrapping_sub(off) as *mut u8);
    }
    crate::print_statistics(ld, &stats);
    ld.stats = stats;
    let mut core = core::mem::take(&mut s.core);
    core.resize(ld.objs.len(), false);
    let prog_phdr = s.prog_phdr;
    let prog_phnum = s.prog_phnum;
    ld.core = core;
    let ld = loader::publish(s.ld);
    super::dl::relink(ld);
    // The program sees its own headers again.
    let main = ld.main();
    st.set_program(prog_phdr, prog_phnum, main.entry);
    crate::run_initializers(ld, &st);
    super::timing::mark("init");
    crate::check_code(ld, main, main.entry);
    // SAFETY: the program is mapped, relocated and initialised; the stack
    // is the one ld.so prepared; %rdx carries ld.so's _dl_fini.
    unsafe { crate::jump(st.sp, main.entry, dl_fini) }
}

/// The stub's DT_INIT_ARRAY entry, which libc (2.34 and later) calls as the
/// main program's constructor: runs the program's DT_INIT and
/// DT_INIT_ARRAY.
extern "C" fn stub_init(argc: i32, argv: *const *const u8, envp: *const *const u8) {
    let Some(ld) = loader::get() else { return };
    let main = ld.main();
    if main.d.init != 0 || main.d.init_array.size != 0 {
        debug!(cat::INIT, "calling init: {}", B(&main.path));
    }
    if main.d.init != 0 {
        crate::check_code(ld, main, main.addr(main.d.init));
        // SAFETY: DT_INIT of the relocated program.
        let f: crate::InitFn = unsafe { core::mem::transmute(main.addr(main.d.init)) };
        f(argc, argv, envp);
    }
    for f in crate::fn_table(ld, main, main.d.init_array) {
        // SAFETY: an entry of the program's relocated DT_INIT_ARRAY.
        let f: crate::InitFn = unsafe { core::mem::transmute(f) };
        f(argc, argv, envp);
    }
    super::timing::mark("program init");
}

/// The stub's DT_FINI_ARRAY entry, which ld.so's `_dl_fini` calls first:
/// the finalisers of the program and of every library shimld loaded.
extern "C" fn stub_fini() {
    crate::fini();
}
