//! x86-64 specifics: applying relocations, the lazy-binding trampoline,
//! TLS descriptors and `__tls_get_addr`, and CPU feature probing.

use super::loader::{self, Class, Def, Error, Loader, Stats};
use super::memo;
use super::object::Object;
use super::out::{cat, B};
use super::sys;
use crate::debug;
use alloc::format;
use alloc::vec::Vec;
use core::arch::naked_asm;
use shimld::elf::{self, Rela};

/// A relocation target check: the bytes written must lie in a writable
/// segment of the object (any segment while DT_TEXTREL makes them
/// writable).
pub struct Writable {
    ranges: Vec<(usize, usize)>,
}

impl Writable {
    fn of(o: &Object, textrel: bool) -> Writable {
        let ranges = o
            .phdrs
            .iter()
            .filter(|p| p.p_type == elf::PT_LOAD && (textrel || p.p_flags & elf::PF_W != 0))
            .map(|p| (o.addr(p.p_vaddr), o.addr(p.p_vaddr).wrapping_add(p.p_memsz as usize)))
            .collect();
        Writable { ranges }
    }

    /// The writable segment that holds `len` bytes at `addr`: its start
    /// and end.
    fn segment_of(&self, o: &Object, addr: usize, len: usize) -> Result<(usize, usize), Error> {
        self.check(o, addr, len)?;
        let end = addr + len;
        Ok(self.ranges.iter().copied().find(|&(s, e)| addr >= s && end <= e).unwrap_or((addr, end)))
    }

    #[inline]
    fn check(&self, o: &Object, addr: usize, len: usize) -> Result<(), Error> {
        let end = addr.wrapping_add(len);
        if end >= addr && self.ranges.iter().any(|&(s, e)| addr >= s && end <= e) {
            return Ok(());
        }
        Err(Error::Reloc {
            obj: o.path.clone(),
            detail: format!(
                "relocation at offset 0x{:x} lies outside the writable segments",
                addr.wrapping_sub(o.base)
            ),
        })
    }
}

/// The writable segment of the last target a run of relocations wrote
/// (most targets lie in the segment of the one before): checked against
/// `Writable` only when a target leaves it. For 8-byte targets.
struct Span {
    lo: usize,
    last: usize,
}

impl Span {
    fn new() -> Span {
        Span { lo: 1, last: 0 }
    }

    #[inline(always)]
    fn check(&mut self, w: &Writable, o: &Object, at: usize) -> Result<(), Error> {
        if at < self.lo || at > self.last {
            let (s, e) = w.segment_of(o, at, 8)?;
            (self.lo, self.last) = (s, e - 8);
        }
        Ok(())
    }
}

fn bad_type(o: &Object, kind: u32, plt: bool) -> Error {
    let what = if plt { "unexpected PLT reloc type" } else { "unexpected reloc type" };
    let detail = if kind > 0xff { format!("{what} 0x{kind:08x}") } else { format!("{what} 0x{kind:02x}") };
    Error::Reloc { obj: o.path.clone(), detail }
}

/// A relocation table of the object, checked against its segments.
fn table(o: &Object, t: shimld::dynamic::Table, what: &str) -> Result<&'static [Rela], Error> {
    if t.size == 0 {
        return Ok(&[]);
    }
    o.image.table::<Rela>(t.addr, t.size / 24).ok_or_else(|| Error::Reloc {
        obj: o.path.clone(),
        detail: format!("{what} relocation table lies outside the loaded segments"),
    })
}

/// The PLT relocations (DT_JMPREL) of an object.
pub fn jmprel(o: &Object) -> Result<&'static [Rela], Error> {
    if o.d.jmprel.size != 0 && o.d.pltrel != elf::DT_RELA as u64 {
        return Err(Error::Reloc { obj: o.path.clone(), detail: "DT_PLTREL is not DT_RELA".into() });
    }
    table(o, o.d.jmprel, "PLT")
}

/// The relocation formats x86-64 uses: RELA entries of 24 bytes, no REL.
fn check_formats(o: &Object) -> Result<(), Error> {
    if o.d.relaent != 0 && o.d.relaent != 24 {
        return Err(Error::Reloc { obj: o.path.clone(), detail: "unsupported DT_RELAENT".into() });
    }
    if o.d.rel.addr != 0 {
        return Err(Error::Reloc { obj: o.path.clone(), detail: "DT_REL relocations are not used on x86-64".into() });
    }
    Ok(())
}

/// The DT_RELR table of an object (empty if it has none).
fn relr_table(o: &Object) -> Result<&'static [u64], Error> {
    if o.d.relr.size == 0 {
        return Ok(&[]);
    }
    o.image.table(o.d.relr.addr, o.d.relr.size / 8).ok_or_else(|| Error::Reloc {
        obj: o.path.clone(),
        detail: "DT_RELR table lies outside the loaded segments".into(),
    })
}

/// The GOT whose first three words lazy PLT binding uses: its address.
fn lazy_got(o: &Object, w: &Writable) -> Result<usize, Error> {
    if o.d.pltgot == 0 {
        return Err(Error::Reloc { obj: o.path.clone(), detail: "lazy PLT relocations without DT_PLTGOT".into() });
    }
    let got = o.addr(o.d.pltgot);
    w.check(o, got, 24)?;
    Ok(got)
}

/// Checks an object's relocation tables without applying them: what
/// `relocate` checks as it goes (the tables inside the segments, known
/// types, every target inside the writable segments, symbol indices inside
/// the symbol table, a GOT for lazy PLT entries). For a program handed to
/// ld.so whole (rt::handover::ldso_alone): ld.so itself would crash on
/// what shimld rejects with a message, so such a program is relocated by
/// shimld instead.
pub fn check_tables(o: &Object) -> Result<(), Error> {
    let (rela, relr) = check_reloc_tables(o)?;
    check_init_tables(o, rela, relr, true)
}

/// What glibc's ld.so takes for granted in an object it loads (a tag that
/// comes with another: it reads the other without looking), checked for
/// the glibc core before ld.so loads it.
pub fn check_for_ldso(o: &Object) -> Result<(), Error> {
    let d = &o.d;
    let bad = |what: &str| Err(Error::Reloc { obj: o.path.clone(), detail: what.into() });
    let pairs: [(i64, &[i64], &str); 6] = [
        (elf::DT_RELA, &[elf::DT_RELASZ, elf::DT_RELAENT], "DT_RELA without DT_RELASZ or DT_RELAENT"),
        (elf::DT_JMPREL, &[elf::DT_PLTRELSZ, elf::DT_PLTREL], "DT_JMPREL without DT_PLTRELSZ or DT_PLTREL"),
        (elf::DT_RELR, &[elf::DT_RELRSZ, elf::DT_RELRENT], "DT_RELR without DT_RELRSZ or DT_RELRENT"),
        (elf::DT_INIT_ARRAY, &[elf::DT_INIT_ARRAYSZ], "DT_INIT_ARRAY without DT_INIT_ARRAYSZ"),
        (elf::DT_FINI_ARRAY, &[elf::DT_FINI_ARRAYSZ], "DT_FINI_ARRAY without DT_FINI_ARRAYSZ"),
        (elf::DT_SYMTAB, &[elf::DT_STRTAB, elf::DT_STRSZ], "DT_SYMTAB without DT_STRTAB or DT_STRSZ"),
    ];
    for (tag, with, what) in pairs {
        if d.has(tag) && !with.iter().all(|&t| d.has(t)) {
            return bad(what);
        }
    }
    // ld.so knows the core's objects by soname, reads each symbol's name
    // and indexes its version array with each symbol's version index
    // unchecked, and asserts the sizes of table entries.
    let file = o.path.rsplit(|&c| c == b'/').next().unwrap_or(&o.path);
    match d.soname.and_then(|s| o.string(s)) {
        None => return bad("no DT_SONAME in an object of the glibc core"),
        Some(s) if shimld::bind::CORE_SONAMES.contains(&file) && s != file => {
            return bad("DT_SONAME names another object than the glibc core's");
        }
        Some(_) => {}
    }
    if d.has(elf::DT_RELRENT) && d.relrent != 8 {
        return bad("unsupported DT_RELRENT");
    }
    // (Each name starts inside the string table, which ends in a NUL: the
    // names' own bytes are not read, which cost 4% of a small program's
    // start.)
    let syms = &o.syms;
    let strsz = syms.strtab.len();
    if syms.strtab.last() != Some(&0)
        || syms
            .syms
            .iter()
            .enumerate()
            .skip(1)
            .any(|(i, s)| s.st_name as usize >= strsz || syms.version_missing(i as u32))
    {
        return bad("a symbol's name or version index is outside its tables");
    }
    let (rela, relr) = check_reloc_tables(o)?;
    check_init_tables(o, rela, relr, false)
}

/// The relocation part of `check_tables` (for an object of the glibc core,
/// whose initialisers glibc's own code sets up as it likes); returns the
/// RELA and RELR tables it checked.
pub fn check_reloc_tables(o: &Object) -> Result<(&'static [Rela], &'static [u64]), Error> {
    check_formats(o)?;
    let w = Writable::of(o, o.d.textrel);
    let relr = relr_table(o)?;
    shimld::bind::relr_for_each(relr, |off| w.check(o, o.addr(off), 8))?;
    let rela = table(o, o.d.rela, "dynamic")?;
    let plt = jmprel(o)?;
    let mut lazy = false;
    for (r, in_plt) in rela.iter().map(|r| (r, false)).chain(plt.iter().map(|r| (r, true))) {
        check_target(o, r, in_plt, Some(&w))?;
        lazy |= in_plt && r.kind() == elf::R_X86_64_JUMP_SLOT;
    }
    if lazy && !o.d.bind_now {
        lazy_got(o, &w)?;
    }
    // ld.so takes the first DT_RELACOUNT entries to be RELATIVE unchecked.
    let count = o.d.relacount as usize;
    if count > rela.len() || rela[..count].iter().any(|r| r.kind() != elf::R_X86_64_RELATIVE) {
        return Err(Error::Reloc {
            obj: o.path.clone(),
            detail: "DT_RELACOUNT counts more than RELATIVE relocations".into(),
        });
    }
    Ok((rela, relr))
}

/// Checks, before relocation, that the initialisers and finalisers an
/// object's tables will hold are code of the object: DT_INIT and DT_FINI,
/// and each array entry as its RELATIVE relocation (RELA or RELR) or, in a
/// position-dependent file, its own bytes give it. An entry set otherwise
/// (by a symbolic relocation, say) cannot be checked now: an error too, for
/// whoever needs a certain answer before the object runs.
fn check_init_tables(o: &Object, rela: &[Rela], relr: &[u64], strict: bool) -> Result<(), Error> {
    let bad = |detail: &str| Err(Error::Reloc { obj: o.path.clone(), detail: detail.into() });
    for f in [o.d.init, o.d.fini].into_iter().filter(|&f| f != 0) {
        if !o.is_code(o.addr(f)) {
            return bad("DT_INIT or DT_FINI lies outside the code segments");
        }
    }
    let tables = [o.d.preinit_array, o.d.init_array, o.d.fini_array];
    let in_tables = |v: u64| tables.iter().any(|t| v >= t.addr && v < t.addr.wrapping_add(t.size));
    // The value each entry will hold, where a RELATIVE relocation sets it.
    let mut set: Vec<(u64, usize)> = Vec::new();
    // (Unless `strict`, such entries go unchecked: an object of the glibc
    // core may point its initialisers anywhere glibc likes.)
    let mut symbolic: Vec<u64> = Vec::new();
    for r in rela.iter().filter(|r| in_tables(r.r_offset)) {
        if r.kind() != elf::R_X86_64_RELATIVE {
            if strict {
                return bad("an init or fini array entry is set by a symbolic relocation");
            }
            symbolic.push(r.r_offset);
            continue;
        }
        set.push((r.r_offset, o.base.wrapping_add(r.r_addend as usize)));
    }
    let _ = shimld::bind::relr_for_each(relr, |v| {
        if in_tables(v) {
            let addend = o.image.read::<u64>(v).unwrap_or(0);
            set.push((v, o.base.wrapping_add(addend as usize)));
        }
        Ok::<(), core::convert::Infallible>(())
    });
    for t in tables {
        let n = t.size / 8;
        if t.size != 0 && o.image.table::<u64>(t.addr, n).is_none() {
            return bad("init or fini array lies outside the loaded segments");
        }
        for k in 0..n {
            let slot = t.addr + 8 * k;
            if symbolic.contains(&slot) {
                continue;
            }
            let value = match set.iter().find(|&&(a, _)| a == slot) {
                Some(&(_, v)) => v,
                None => {
                    let raw = o.image.read::<u64>(slot).unwrap_or(0);
                    if raw == 0 || raw == u64::MAX {
                        continue;
                    }
                    if o.base != 0 {
                        return bad("an init or fini array entry has no relocation");
                    }
                    raw as usize
                }
            };
            if !o.is_code(value) {
                return bad("an init or fini array entry lies outside the code segments");
            }
        }
    }
    Ok(())
}

/// Checks one relocation of `o` without applying it: a known type (one the
/// PLT may hold, for `in_plt`), a symbol index inside the symbol table,
/// and the bytes it writes inside a writable segment (`w`, or the
/// object's own when none is given).
pub fn check_target(o: &Object, r: &Rela, in_plt: bool, w: Option<&Writable>) -> Result<(), Error> {
    let kind = r.kind();
    if in_plt && !matches!(kind, elf::R_X86_64_JUMP_SLOT | elf::R_X86_64_TLSDESC | elf::R_X86_64_IRELATIVE) {
        return Err(bad_type(o, kind, true));
    }
    let sym = r.sym() as usize;
    let size = match kind {
        elf::R_X86_64_NONE => return Ok(()),
        elf::R_X86_64_RELATIVE | elf::R_X86_64_RELATIVE64 | elf::R_X86_64_IRELATIVE => 8,
        elf::R_X86_64_64
        | elf::R_X86_64_GLOB_DAT
        | elf::R_X86_64_JUMP_SLOT
        | elf::R_X86_64_SIZE64
        | elf::R_X86_64_DTPMOD64
        | elf::R_X86_64_DTPOFF64
        | elf::R_X86_64_TPOFF64 => 8,
        elf::R_X86_64_PC32 | elf::R_X86_64_32 | elf::R_X86_64_SIZE32 => 4,
        elf::R_X86_64_TLSDESC => 16,
        elf::R_X86_64_COPY => o.syms.syms.get(sym).map_or(0, |s| s.st_size as usize),
        k => return Err(bad_type(o, k, in_plt)),
    };
    let symbolic = !matches!(kind, elf::R_X86_64_RELATIVE | elf::R_X86_64_RELATIVE64 | elf::R_X86_64_IRELATIVE);
    if symbolic && sym != 0 && sym >= o.syms.syms.len() {
        return Err(Error::Reloc { obj: o.path.clone(), detail: format!("symbol index {sym} out of range") });
    }
    let at = o.addr(r.r_offset);
    match w {
        Some(w) => w.check(o, at, size),
        None => Writable::of(o, o.d.textrel).check(o, at, size),
    }
}

/// Applies all relocations of object `i`. With `lazy`, JUMP_SLOTs are left
/// to the lazy-binding trampoline. Returns whether any were left.
///
/// # Safety
/// Object `i` must be mapped as its headers say and not yet relocated, its
/// dependencies relocated, and no other thread may run its code meanwhile.
pub unsafe fn relocate(ld: &Loader, i: usize, lazy: bool, st: &mut Stats) -> Result<bool, Error> {
    let o = &ld.objs[i];
    check_formats(o)?;
    let textrel = o.d.textrel;
    if textrel {
        set_text_writable(o, true)?;
    }
    let w = Writable::of(o, textrel);
    let words = relr_table(o)?;
    if !words.is_empty() {
        st.by_type[elf::R_X86_64_RELATIVE as usize] += relr(o, &w, words)? as u64;
    }
    let rela = table(o, o.d.rela, "dynamic")?;
    // The leading RELATIVE relocations: from the resolution cache's DT_RELR
    // form of them when it has one (a few percent of the table to read),
    // else recorded in that form for the cache, when the locations hold
    // their addends (then `*loc += base` is the same relocation).
    st.relr_done = 0;
    st.relr = None;
    let cached_relr = ld.bindcache.as_ref().and_then(|c| c.relr(i)).filter(|&(_, n)| n <= rela.len() && !textrel);
    let rela = match cached_relr {
        Some((words, n)) => {
            let applied = relr(o, &w, words)?;
            if applied != n {
                return Err(Error::Reloc {
                    obj: o.path.clone(),
                    detail: "resolution cache: RELR count differs".into(),
                });
            }
            st.relr_done = n;
            st.by_type[elf::R_X86_64_RELATIVE as usize] += n as u64;
            &rela[n..]
        }
        None => {
            if st.record_all && !textrel {
                st.relr = Some(shimld::bind::RelrEncoder::new());
            }
            rela
        }
    };
    let plt = jmprel(o)?;
    let symbolic = rela.len().saturating_sub(o.d.relacount as usize) + plt.len();
    st.last = None;
    st.stream = ld.bindcache.as_ref().map_or(&[], |c| c.stream(i));
    st.pos = 0;
    st.rec = st.record_all.then(|| Vec::with_capacity(symbolic));
    let mut any_lazy = false;
    if lazy {
        apply_range(ld, i, &w, rela, st)?;
        any_lazy = lazy_range(ld, i, &w, plt, st)?;
    } else {
        // Like ld.so, treat .rela.dyn and .rela.plt as one range: IRELATIVE
        // entries of both run after every other relocation.
        apply_ranges(ld, i, &w, &[rela, plt], st)?;
    }
    if any_lazy {
        let got = lazy_got(o, &w)?;
        // GOT[1] identifies the object, GOT[2] is the resolver the PLT's
        // first entry jumps to.
        core::ptr::write((got + 8) as *mut usize, &**o as *const Object as usize);
        core::ptr::write((got + 16) as *mut usize, lazy_trampoline as *const () as usize);
    }
    if textrel {
        set_text_writable(o, false)?;
    }
    if let Some((start, len)) = o.relro {
        // Best effort, as ld.so: a failure leaves the pages writable.
        let _ = sys::mprotect(start, len, sys::PROT_READ);
    }
    Ok(any_lazy)
}

/// Makes the object's non-writable segments writable (`on`) or gives
/// them back their own protection, around DT_TEXTREL relocation.
///
/// # Safety
/// The object is mapped as its headers say, and no code of it runs while
/// its text is writable.
unsafe fn set_text_writable(o: &Object, on: bool) -> Result<(), Error> {
    for p in o.phdrs.iter().filter(|p| p.p_type == elf::PT_LOAD && p.p_flags & elf::PF_W == 0) {
        let start = sys::page_down(o.addr(p.p_vaddr));
        let end = sys::page_up(o.addr(p.p_vaddr).wrapping_add(p.p_memsz as usize));
        let mut prot = 0;
        if p.p_flags & elf::PF_R != 0 {
            prot |= sys::PROT_READ;
        }
        if p.p_flags & elf::PF_X != 0 {
            prot |= sys::PROT_EXEC;
        }
        if on {
            prot |= sys::PROT_WRITE;
        }
        sys::mprotect(start, end - start, prot).map_err(|e| Error::Reloc {
            obj: o.path.clone(),
            detail: format!("cannot make segment writable for relocation: {}", e.text()),
        })?;
    }
    Ok(())
}

/// Applies a DT_RELR table (packed relative relocations: `*loc += base`).
/// Returns how many relocations it made.
///
/// # Safety
/// As for `relocate`: the object is mapped as its headers say, with its
/// writable segments (`w`) writable, and no other thread uses its data
/// meanwhile.
unsafe fn relr(o: &Object, w: &Writable, entries: &[u64]) -> Result<usize, Error> {
    // Decoded here rather than with shimld::bind::relr_for_each: this is
    // the hot loop of a cached start-up (580K relocations for clang), and
    // the shared decoder's closure made it measurably slower (1.4%).
    let base = o.base;
    let mut at = 0usize;
    let mut n = 0;
    let mut span = Span::new();
    let mut one = |p: usize| -> Result<(), Error> {
        span.check(w, o, p)?;
        (p as *mut usize).write_unaligned((p as *const usize).read_unaligned().wrapping_add(base));
        n += 1;
        Ok(())
    };
    for &e in entries {
        if e & 1 == 0 {
            at = base.wrapping_add(e as usize);
            one(at)?;
            at = at.wrapping_add(8);
        } else {
            // Set bits only, lowest first: no branch on each bit, which a
            // sparse bitmap would mispredict half the time.
            let mut bits = e >> 1;
            while bits != 0 {
                one(at.wrapping_add(8 * bits.trailing_zeros() as usize))?;
                bits &= bits - 1;
            }
            at = at.wrapping_add(63 * 8);
        }
    }
    Ok(n)
}

/// Applies a relocation table of object `i` (see `apply_ranges`).
///
/// # Safety
/// As for `relocate`: the object is mapped as its headers say, with its
/// writable segments (`w`) writable, and no other thread uses its data
/// meanwhile.
unsafe fn apply_range(ld: &Loader, i: usize, w: &Writable, r: &[Rela], st: &mut Stats) -> Result<(), Error> {
    apply_ranges(ld, i, w, &[r], st)
}

/// Applies relocation tables of object `i` as one range: runs of RELATIVE
/// and cached relocations on their short paths, the rest one by one,
/// IRELATIVE last.
///
/// # Safety
/// As for `relocate`: the object is mapped as its headers say, with its
/// writable segments (`w`) writable, and no other thread uses its data
/// meanwhile.
unsafe fn apply_ranges(ld: &Loader, i: usize, w: &Writable, ranges: &[&[Rela]], st: &mut Stats) -> Result<(), Error> {
    let o = &ld.objs[i];
    let mut deferred: Vec<&Rela> = Vec::new();
    let mut relative = 0;
    for table in ranges {
        let mut k = 0;
        while k < table.len() {
            let enc = if k == 0 && core::ptr::eq(*table, ranges[0]) { st.relr.as_mut() } else { None };
            let end = relative_run(o, w, table, k, enc)?;
            relative += (end - k) as u64;
            k = cached_run(ld, o, w, table, end, st, false)?;
            if k != end {
                continue;
            }
            let Some(r) = table.get(k) else { break };
            // Symbol entries, version indices and names of references a few
            // relocations ahead, fetched while this one is resolved (each is
            // a cache miss in a large object, taken one after another
            // otherwise). A prefetch is a hint: it never faults, whatever
            // the address. (Not on a cache hit, which reads none of them.)
            if st.stream.is_empty() {
                if let Some(a) = table.get(k + 16) {
                    if let Some(s) = o.syms.syms.get(a.sym() as usize) {
                        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                            s as *const _ as *const i8,
                        );
                    }
                    if let Some(v) = o.syms.versym.and_then(|v| v.get(a.sym() as usize)) {
                        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                            v as *const _ as *const i8,
                        );
                    }
                }
                if let Some(a) = table.get(k + 8) {
                    if let Some(s) = o.syms.syms.get(a.sym() as usize) {
                        let p = o.syms.strtab.as_ptr().wrapping_add(s.st_name as usize);
                        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
                    }
                }
            }
            if r.kind() == elf::R_X86_64_IRELATIVE {
                deferred.push(r);
            } else {
                apply(ld, i, w, r, st)?;
            }
            k += 1;
        }
    }
    st.by_type[elf::R_X86_64_RELATIVE as usize] += relative;
    for r in deferred {
        apply(ld, i, w, r, st)?;
    }
    Ok(())
}

/// Applies the run of RELATIVE relocations that starts at `table[k]` (most
/// relocations of a large object, so on a short path: each target is
/// checked against the writable segment of the one before it). Returns
/// where the run ends.
///
/// With `enc`, the run is also encoded as DT_RELR for the resolution cache,
/// as long as each location holds its addend.
///
/// # Safety
/// As for `relocate`: the object is mapped as its headers say, with its
/// writable segments (`w`) writable, and no other thread uses its data
/// meanwhile.
#[inline(never)]
unsafe fn relative_run(
    o: &Object,
    w: &Writable,
    table: &[Rela],
    mut k: usize,
    mut enc: Option<&mut shimld::bind::RelrEncoder>,
) -> Result<usize, Error> {
    let base = o.base;
    let mut span = Span::new();
    while let Some(r) = table.get(k) {
        if r.kind() != elf::R_X86_64_RELATIVE {
            break;
        }
        let at = base.wrapping_add(r.r_offset as usize);
        span.check(w, o, at)?;
        if let Some(e) = enc.as_deref_mut() {
            if (at as *const u64).read_unaligned() == r.r_addend as u64 {
                e.push(r.r_offset);
            } else {
                e.ok = false;
            }
        }
        (at as *mut usize).write_unaligned(base.wrapping_add(r.r_addend as usize));
        k += 1;
    }
    Ok(k)
}

/// Applies the run of symbol relocations that starts at `table[k]` whose
/// bindings the resolution cache has next, each to a plain address
/// (R_X86_64_64, GLOB_DAT, and JUMP_SLOT bound at start-up): most
/// relocations of a cached start-up that are not RELATIVE, so on a short
/// path. Each is what `apply` would make of it, through `resolve` and
/// `cached`, without their general dispatch. Returns where the run ends
/// (at `k` for a relocation this path does not take). With `lazy`, the
/// PLT relocations of a lazily bound object: JUMP_SLOTs that `prebind`
/// would bind, uncounted as there.
///
/// Replacing `apply` for these took a program linked against gdb's
/// libraries (36K cached bindings) from 6.7 to 6.3 ms (0.934
/// [0.927-0.947]).
///
/// # Safety
/// As for `relocate`: `o` is mapped as its headers say, with its writable
/// segments (`w`) writable, and no other thread uses its data meanwhile.
#[inline(never)]
unsafe fn cached_run(
    ld: &Loader,
    o: &Object,
    w: &Writable,
    table: &[Rela],
    mut k: usize,
    st: &mut Stats,
    lazy: bool,
) -> Result<usize, Error> {
    use shimld::bind::Entry;
    // (A hit being rewritten keeps every binding it uses: `take_cached`.)
    if st.rec.is_some() || (lazy && !st.prebind) {
        return Ok(k);
    }
    let start = k;
    let mut pos = st.pos;
    let mut span = Span::new();
    let mut counts = [0u64; 3];
    let stream = st.stream;
    while let (Some(r), Some(e)) = (table.get(k), stream.get(pos)) {
        let kind = r.kind();
        let (class, slot) = match kind {
            elf::R_X86_64_64 if !lazy => (Class::Normal, 0),
            elf::R_X86_64_GLOB_DAT if !lazy => (Class::Normal, 1),
            elf::R_X86_64_JUMP_SLOT => (Class::Plt, 2),
            _ => break,
        };
        if e.key != memo::key(r.sym(), class) || e.flags != Entry::PLAIN {
            break;
        }
        // The defining object, and its symbol inside its table (`cached`).
        let Some(def) = ld.objs.get(e.obj as usize) else { break };
        if e.sym as usize >= def.syms.syms.len() {
            break;
        }
        let base = def.base;
        let at = o.base.wrapping_add(r.r_offset as usize);
        span.check(w, o, at)?;
        let mut v = base.wrapping_add(e.value as usize);
        if kind == elf::R_X86_64_64 {
            v = v.wrapping_add(r.r_addend as usize);
        }
        // SAFETY: the 8 bytes at `at` lie in a writable segment of `o`.
        (at as *mut usize).write_unaligned(v);
        counts[slot] += 1;
        pos += 1;
        k += 1;
    }
    st.pos = pos;
    st.cached += (k - start) as u64;
    if lazy {
        return Ok(k);
    }
    for (kind, n) in [elf::R_X86_64_64, elf::R_X86_64_GLOB_DAT, elf::R_X86_64_JUMP_SLOT].into_iter().zip(counts) {
        st.by_type[kind as usize] += n;
    }
    Ok(k)
}

/// The PLT relocations in lazy mode: JUMP_SLOTs are pointed back into the
/// PLT, TLS descriptors are resolved now, IRELATIVE runs last.
///
/// # Safety
/// As for `relocate`: the object is mapped as its headers say, with its
/// writable segments (`w`) writable, and no other thread uses its data
/// meanwhile.
unsafe fn lazy_range(ld: &Loader, i: usize, w: &Writable, plt: &[Rela], st: &mut Stats) -> Result<bool, Error> {
    let o = &ld.objs[i];
    let mut any = false;
    let mut deferred: Vec<&Rela> = Vec::new();
    let mut k = 0;
    while k < plt.len() {
        k = cached_run(ld, o, w, plt, k, st, true)?;
        let Some(r) = plt.get(k) else { break };
        k += 1;
        match r.kind() {
            elf::R_X86_64_JUMP_SLOT => {
                let at = o.addr(r.r_offset);
                w.check(o, at, 8)?;
                match prebind(ld, i, r, st) {
                    Some(v) => *(at as *mut usize) = v,
                    None => {
                        *(at as *mut usize) = (*(at as *const usize)).wrapping_add(o.base);
                        any = true;
                    }
                }
            }
            elf::R_X86_64_TLSDESC => apply(ld, i, w, r, st)?,
            elf::R_X86_64_IRELATIVE => deferred.push(r),
            k => return Err(bad_type(o, k, true)),
        }
    }
    for r in deferred {
        apply(ld, i, w, r, st)?;
    }
    Ok(any)
}

/// The value a lazily bound PLT entry can take at start-up, with the
/// resolution cache in use: the binding the cache holds for it, or on a
/// miss the one a lookup finds (and the cache then keeps). A cached start-up
/// then takes no lazy-binding round trips, each a symbol lookup in a scope
/// whose tables have gone cold since start-up (~2 us apiece in gdb, which
/// makes 359). It binds exactly what the first call would: the global
/// scope of start-up comes first in every later lookup. Left to the first
/// call, as without the cache: a reference no lookup resolves (an error
/// only if it is called) or that binds to nothing (a weak one, which a
/// later `dlopen` may define), and an IFUNC, whose resolver runs at the
/// first call: with the definition known from here (`Stats::ifuncs`), for
/// the same reason, so that the first call looks nothing up (in gdb, 37
/// lookups of libc's string functions after start-up, 0.5 ms).
fn prebind(ld: &Loader, i: usize, r: &Rela, st: &mut Stats) -> Option<usize> {
    use shimld::bind::Entry;
    if !st.prebind {
        return None;
    }
    let k = memo::key(r.sym(), Class::Plt);
    if let Some(&e) = st.stream.get(st.pos).filter(|e| e.key == k && e.flags & Entry::LAZY != 0) {
        take_cached(st, e);
        return None;
    }
    match resolve(ld, i, r.sym(), Class::Plt, st) {
        // A PLAIN binding from the cache is neither an IFUNC nor TLS: its
        // symbol, in another object's table gone cold, stays unread.
        Ok((_, Some(addr))) => Some(addr),
        Ok((def, None)) => {
            let s = def.sym?;
            if s.kind() == elf::STT_GNU_IFUNC {
                st.ifuncs.push((r.sym(), memo::Binding::of(ld, &def)));
                return None;
            }
            if s.kind() == elf::STT_TLS {
                return None;
            }
            Some(ld.value(&def))
        }
        Err(_) => {
            if let Some(rec) = &mut st.rec {
                rec.push(Entry { key: k, flags: Entry::LAZY | Entry::NO_SYM, ..Entry::default() });
            }
            None
        }
    }
}

/// Applies one relocation.
///
/// # Safety
/// As for `relocate`: the object is mapped as its headers say, with its
/// writable segments (`w`) writable, and no other thread uses its data
/// meanwhile.
unsafe fn apply(ld: &Loader, i: usize, w: &Writable, r: &Rela, st: &mut Stats) -> Result<(), Error> {
    let o = &ld.objs[i];
    let kind = r.kind();
    let at = o.addr(r.r_offset);
    let addend = r.r_addend;
    if let Some(c) = st.by_type.get_mut(kind as usize) {
        *c += 1;
    }
    match kind {
        elf::R_X86_64_NONE => return Ok(()),
        elf::R_X86_64_RELATIVE | elf::R_X86_64_RELATIVE64 => {
            w.check(o, at, 8)?;
            (at as *mut usize).write_unaligned(o.base.wrapping_add(addend as usize));
            return Ok(());
        }
        elf::R_X86_64_IRELATIVE => {
            w.check(o, at, 8)?;
            let v = loader::call_ifunc(o.base.wrapping_add(addend as usize));
            (at as *mut usize).write_unaligned(v);
            return Ok(());
        }
        // The symbolic types this loader applies (below, by class).
        elf::R_X86_64_JUMP_SLOT
        | elf::R_X86_64_DTPMOD64
        | elf::R_X86_64_DTPOFF64
        | elf::R_X86_64_TPOFF64
        | elf::R_X86_64_TLSDESC
        | elf::R_X86_64_COPY
        | elf::R_X86_64_64
        | elf::R_X86_64_GLOB_DAT
        | elf::R_X86_64_PC32
        | elf::R_X86_64_32
        | elf::R_X86_64_SIZE32
        | elf::R_X86_64_SIZE64 => {}
        k => return Err(bad_type(o, k, false)),
    }
    // The lookup rule by type is shimld::bind's, shared with shimctl.
    let class = Class::of(kind);
    if kind == elf::R_X86_64_COPY && o.kind == super::object::Kind::Exec && ld.skip_copies.contains(&r.r_offset) {
        return Ok(());
    }
    let (def, addr) = resolve(ld, i, r.sym(), class, st)?;
    let value = || addr.unwrap_or_else(|| ld.value_for(i, &def, || o.syms.name(r.sym()).unwrap_or(b"")));
    match kind {
        elf::R_X86_64_64 => {
            w.check(o, at, 8)?;
            (at as *mut usize).write_unaligned(value().wrapping_add(addend as usize));
        }
        elf::R_X86_64_GLOB_DAT | elf::R_X86_64_JUMP_SLOT => {
            w.check(o, at, 8)?;
            (at as *mut usize).write_unaligned(value());
        }
        elf::R_X86_64_PC32 => {
            w.check(o, at, 4)?;
            let v = value().wrapping_add(addend as usize).wrapping_sub(at) as i64;
            if v != v as i32 as i64 {
                overflow(ld, o, r, "R_X86_64_PC32");
            }
            (at as *mut u32).write_unaligned(v as u32);
        }
        elf::R_X86_64_32 | elf::R_X86_64_SIZE32 => {
            w.check(o, at, 4)?;
            let v = if kind == elf::R_X86_64_32 {
                value().wrapping_add(addend as usize)
            } else {
                def.sym.map_or(0, |s| s.st_size as usize).wrapping_add(addend as usize)
            };
            if v > u32::MAX as usize {
                overflow(ld, o, r, if kind == elf::R_X86_64_32 { "R_X86_64_32" } else { "R_X86_64_SIZE32" });
            }
            (at as *mut u32).write_unaligned(v as u32);
        }
        elf::R_X86_64_SIZE64 => {
            w.check(o, at, 8)?;
            let v = def.sym.map_or(0, |s| s.st_size as usize).wrapping_add(addend as usize);
            (at as *mut usize).write_unaligned(v);
        }
        elf::R_X86_64_COPY => copy(ld, o, w, r, &def)?,
        elf::R_X86_64_DTPMOD64 => {
            if let Some(t) = tls_of(ld, o, &def)? {
                w.check(o, at, 8)?;
                (at as *mut usize).write_unaligned(t.modid);
            }
        }
        elf::R_X86_64_DTPOFF64 => {
            if let (Some(s), Some(t)) = (def.sym, tls_of(ld, o, &def)?) {
                w.check(o, at, 8)?;
                let v = t.block_off.wrapping_add(s.st_value as usize).wrapping_add(addend as usize);
                (at as *mut usize).write_unaligned(v);
            }
        }
        elf::R_X86_64_TPOFF64 => {
            if let (Some(s), Some(t)) = (def.sym, tls_of(ld, o, &def)?) {
                w.check(o, at, 8)?;
                let v = (s.st_value as usize).wrapping_add(addend as usize).wrapping_sub(t.offset);
                (at as *mut usize).write_unaligned(v);
            }
        }
        elf::R_X86_64_TLSDESC => {
            w.check(o, at, 16)?;
            let (f, arg) = match (def.sym, tls_of(ld, o, &def)?) {
                (Some(s), Some(t)) => (
                    tlsdesc_return as *const () as usize,
                    (s.st_value as usize).wrapping_add(addend as usize).wrapping_sub(t.offset),
                ),
                _ => (tlsdesc_undefweak as *const () as usize, addend as usize),
            };
            (at as *mut usize).write_unaligned(f);
            ((at + 8) as *mut usize).write_unaligned(arg);
        }
        _ => unreachable_type(o, kind)?,
    }
    Ok(())
}

/// Resolves a reference of object `i`: from the resolution cache when it
/// has the reference next, else by lookup, once for a run of references to
/// the same symbol and class. With the definition comes its address when the
/// cache knows it without reading the symbol.
#[inline]
fn resolve(ld: &Loader, i: usize, idx: u32, class: Class, st: &mut Stats) -> Result<(Def, Option<usize>), Error> {
    let k = memo::key(idx, class);
    if let Some(&e) = st.stream.get(st.pos).filter(|e| e.key == k) {
        if let Some(d) = cached(ld, &e) {
            take_cached(st, e);
            return Ok(d);
        }
    }
    if !st.stream.is_empty() {
        // The cache ran out or asks for another reference: look up from
        // here on, and keep what was used for the file to be rewritten.
        if st.rec.is_none() {
            st.rec = Some(st.stream[..st.pos].to_vec());
        }
        st.stream = &[];
    }
    let d = match st.last.filter(|&(last, _)| last == k).and_then(|(_, b)| b.def(ld)) {
        Some(d) => {
            st.memo_hits += 1;
            d
        }
        None => {
            let d = ld.resolve(i, idx, class, st)?;
            st.last = Some((k, memo::Binding::of(ld, &d)));
            d
        }
    };
    if let Some(r) = &mut st.rec {
        r.push(memo::Binding::of(ld, &d).entry(ld, k));
    }
    Ok((d, None))
}

/// Uses the cache's next entry, `e`: it answers this reference, and goes
/// into the file again if the file is rewritten.
#[inline]
fn take_cached(st: &mut Stats, e: shimld::bind::Entry) {
    st.pos += 1;
    st.cached += 1;
    if let Some(r) = &mut st.rec {
        r.push(e);
    }
}

/// A binding from the cache, checked against the objects.
#[inline]
fn cached(ld: &Loader, e: &shimld::bind::Entry) -> Option<(Def, Option<usize>)> {
    use shimld::bind::Entry;
    // (A reference left to lazy binding is looked up again when it must be
    // resolved now, as with LD_BIND_NOW.)
    if e.flags & Entry::LAZY != 0 {
        return None;
    }
    let o = ld.objs.get(e.obj as usize)?;
    if e.flags & Entry::NO_SYM != 0 {
        return Some((Def { obj: e.obj as usize, sym: None }, None));
    }
    let sym = o.syms.syms.get(e.sym as usize)?;
    let addr = (e.flags & Entry::PLAIN != 0).then(|| o.base.wrapping_add(e.value as usize));
    Some((Def { obj: e.obj as usize, sym: Some(sym) }, addr))
}

fn unreachable_type(o: &Object, kind: u32) -> Result<(), Error> {
    Err(bad_type(o, kind, false))
}

/// The TLS block of a definition's object; an error if a TLS relocation
/// names an object without one.
fn tls_of(ld: &Loader, o: &Object, def: &Def) -> Result<Option<super::object::Tls>, Error> {
    if def.sym.is_none() {
        return Ok(None);
    }
    match ld.objs[def.obj].tls {
        Some(t) => Ok(Some(t)),
        None => Err(Error::Reloc {
            obj: o.path.clone(),
            detail: format!("TLS relocation against {} which has no TLS segment", B(&ld.objs[def.obj].path)),
        }),
    }
}

fn overflow(ld: &Loader, o: &Object, r: &Rela, what: &str) {
    let name = o.syms.name(r.sym()).unwrap_or(b"");
    crate::eprint!("{}: Symbol `{}' causes overflow in {} relocation\n", B(&ld.prog), B(name), what);
}

/// Performs a COPY relocation: the definition's bytes into the
/// executable's copy of the object.
///
/// # Safety
/// The executable is mapped as its headers say, with its writable segments
/// (`w`) writable, and the defining object is relocated.
unsafe fn copy(ld: &Loader, o: &Object, w: &Writable, r: &Rela, def: &Def) -> Result<(), Error> {
    let Some(s) = def.sym else { return Ok(()) };
    let refsym = o.syms.syms.get(r.sym() as usize).copied().unwrap_or_default();
    let src_obj = &ld.objs[def.obj];
    let size = (s.st_size.min(refsym.st_size)) as usize;
    if s.st_size > refsym.st_size {
        let name = o.syms.name(r.sym()).unwrap_or(b"");
        crate::eprint!(
            "{}: Symbol `{}' has different size in shared object, consider re-linking\n",
            B(&ld.prog),
            B(name)
        );
    }
    let at = o.addr(r.r_offset);
    w.check(o, at, size)?;
    if !src_obj.image.contains(s.st_value, size as u64) {
        return Err(Error::Reloc {
            obj: o.path.clone(),
            detail: format!("copy relocation source lies outside {}", B(&src_obj.path)),
        });
    }
    core::ptr::copy_nonoverlapping(src_obj.addr(s.st_value) as *const u8, at as *mut u8, size);
    Ok(())
}

// ---------------------------------------------------------------------------
// Lazy binding.

/// How the trampoline saves the vector state: 0 = not probed yet,
/// 1 = fxsave, 2 = xsave, 3 = xsavec.
#[no_mangle]
static mut SHIMLD_XSAVE_MODE: u32 = 0;
/// Bytes of the save area (a multiple of 64).
#[no_mangle]
static mut SHIMLD_XSAVE_SIZE: u64 = 0;

/// The PLT's resolver. On entry the stack holds the object (pushed by the
/// PLT's first entry) and the relocation index (pushed by the entry of the
/// function called); above them is the caller's return address. Every
/// argument register survives: the integer ones and %rax (the vector count
/// of variadic calls) in a save area, the vector state with xsave(c) (or
/// fxsave), as glibc's `_dl_runtime_resolve_xsavec` does.
#[unsafe(naked)]
pub unsafe extern "C" fn lazy_trampoline() {
    naked_asm!(
        "push rbx",
        "mov rbx, rsp",
        "sub rsp, 64",
        "mov [rsp], rax",
        "mov [rsp + 8], rcx",
        "mov [rsp + 16], rdx",
        "mov [rsp + 24], rsi",
        "mov [rsp + 32], rdi",
        "mov [rsp + 40], r8",
        "mov [rsp + 48], r9",
        "mov [rsp + 56], r10",
        "mov eax, dword ptr [rip + SHIMLD_XSAVE_MODE]",
        "test eax, eax",
        "jnz 2f",
        "call {probe}",
        "mov eax, dword ptr [rip + SHIMLD_XSAVE_MODE]",
        "2:",
        "sub rsp, qword ptr [rip + SHIMLD_XSAVE_SIZE]",
        "and rsp, -64",
        "cmp eax, 1",
        "je 3f",
        // The XSAVE header must be zero before xsave; xsavec writes it.
        "xor ecx, ecx",
        "mov [rsp + 512], rcx",
        "mov [rsp + 520], rcx",
        "mov [rsp + 528], rcx",
        "mov [rsp + 536], rcx",
        "mov [rsp + 544], rcx",
        "mov [rsp + 552], rcx",
        "mov [rsp + 560], rcx",
        "mov [rsp + 568], rcx",
        "mov ecx, eax",
        "mov eax, 0xee",
        "xor edx, edx",
        "cmp ecx, 3",
        "je 4f",
        "xsave [rsp]",
        "jmp 5f",
        "4:",
        "xsavec [rsp]",
        "jmp 5f",
        "3:",
        "fxsave [rsp]",
        "5:",
        "mov rdi, [rbx + 8]",
        "mov rsi, [rbx + 16]",
        "call {fixup}",
        "mov r11, rax",
        "mov eax, dword ptr [rip + SHIMLD_XSAVE_MODE]",
        "cmp eax, 1",
        "je 6f",
        "mov eax, 0xee",
        "xor edx, edx",
        "xrstor [rsp]",
        "jmp 7f",
        "6:",
        "fxrstor [rsp]",
        "7:",
        "lea rsp, [rbx - 64]",
        "mov rax, [rsp]",
        "mov rcx, [rsp + 8]",
        "mov rdx, [rsp + 16]",
        "mov rsi, [rsp + 24]",
        "mov rdi, [rsp + 32]",
        "mov r8, [rsp + 40]",
        "mov r9, [rsp + 48]",
        "mov r10, [rsp + 56]",
        "mov rsp, rbx",
        "pop rbx",
        "add rsp, 16",
        "jmp r11",
        probe = sym xsave_probe,
        fixup = sym lazy_fixup,
    )
}

/// Decides how the trampoline saves vector state (CPUID, once). Written in
/// assembly so that nothing touches a vector register before it is saved;
/// clobbers only rax, rcx, rdx.
#[unsafe(naked)]
unsafe extern "C" fn xsave_probe() {
    naked_asm!(
        "push rbx",
        "mov eax, 1",
        "xor ecx, ecx",
        "cpuid",
        // OSXSAVE: the OS enabled XSAVE (which implies the CPU has it).
        "bt ecx, 27",
        "jnc 1f",
        "mov eax, 0xd",
        "xor ecx, ecx",
        "cpuid",
        "add ebx, 63",
        "and ebx, -64",
        "mov qword ptr [rip + SHIMLD_XSAVE_SIZE], rbx",
        "mov eax, 0xd",
        "mov ecx, 1",
        "cpuid",
        "mov edx, 2",
        "bt eax, 1",
        "jnc 2f",
        "mov edx, 3",
        "2:",
        "mov dword ptr [rip + SHIMLD_XSAVE_MODE], edx",
        "pop rbx",
        "ret",
        "1:",
        "mov qword ptr [rip + SHIMLD_XSAVE_SIZE], 512",
        "mov dword ptr [rip + SHIMLD_XSAVE_MODE], 1",
        "pop rbx",
        "ret",
    )
}

/// Decides how the trampoline saves vector state from what glibc and the
/// kernel already know, sparing the first lazy call `xsave_probe`'s three
/// CPUID instructions (CPUID traps to the hypervisor on a virtual machine:
/// 3.5 us apiece on the benchmark machine, 1% of `git --version`).
/// `features` is libc's `__x86_get_cpuid_feature_leaf` (glibc 2.33 and
/// later): its CPUID leaves 1 (OSXSAVE) and 0xd/1 (XSAVEC) are public ABI.
/// `minsigstksz` is the kernel's AT_MINSIGSTKSZ (Linux 5.14 and later): a
/// signal frame holds an XSAVE image of every user state component, so
/// it bounds what xsave or xsavec writes here. Without an answer from
/// both, the probe runs at the first lazy call, as before.
///
/// # Safety
/// `features` must be the address of glibc's relocated
/// `__x86_get_cpuid_feature_leaf`, and no program thread may be running.
pub unsafe fn preset_xsave(features: usize, minsigstksz: Option<usize>) {
    type Leaf = extern "C" fn(u32) -> *const [u32; 8];
    // SAFETY: the caller passes glibc's function, which takes an index and
    // returns a pointer to its static table (zeros past its end).
    let f: Leaf = core::mem::transmute(features);
    let (leaf_1, leaf_d_1) = (f(0), f(3));
    if leaf_1.is_null() || leaf_d_1.is_null() {
        return;
    }
    // SAFETY: non-null pointers into glibc's table of 8 words per leaf
    // (the CPUID registers, then the active bits).
    let (osxsave, xsavec) = ((*leaf_1)[2] & 1 << 27 != 0, (*leaf_d_1)[0] & 1 << 1 != 0);
    let (mode, size) = match (osxsave, minsigstksz) {
        (false, _) => (1, 512),
        // Never less than the legacy area and the XSAVE header.
        (true, Some(n)) if n >= 576 => (if xsavec { 3 } else { 2 }, (n as u64 + 63) & !63),
        (true, _) => return,
    };
    // SAFETY: single-threaded (see above); the size goes in before the
    // mode, which is what the trampoline checks.
    core::ptr::write_volatile(core::ptr::addr_of_mut!(SHIMLD_XSAVE_SIZE), size);
    core::ptr::write_volatile(core::ptr::addr_of_mut!(SHIMLD_XSAVE_MODE), mode);
}

/// Binds one PLT entry on its first call and returns the function's
/// address; called by the trampoline with all argument registers saved.
extern "C" fn lazy_fixup(obj: *const Object, index: usize) -> usize {
    let Some(ld) = loader::get() else {
        crate::eprint!("shimld: lazy binding before start-up finished\n");
        sys::exit_group(127);
    };
    // SAFETY: GOT[1] holds a pointer to a boxed Object of the published
    // loader state, which is never freed.
    let o = unsafe { &*obj };
    let r = match jmprel(o) {
        Ok(t) => t.get(index).copied(),
        Err(e) => loader::fail(&ld.prog, &e),
    };
    let Some(r) = r else {
        loader::fail(
            &ld.prog,
            &Error::Reloc { obj: o.path.clone(), detail: format!("PLT relocation index {index} out of range") },
        );
    };
    if r.kind() != elf::R_X86_64_JUMP_SLOT {
        loader::fail(&ld.prog, &bad_type(o, r.kind(), true));
    }
    // (An IFUNC whose definition start-up found: no lookup.)
    let known = o.ifuncs.iter().find(|(k, _)| *k == r.sym()).and_then(|(_, b)| b.def(ld));
    let at_start = known.is_some();
    let def = match known {
        Some(d) => d,
        None => match ld.resolve(o.idx, r.sym(), Class::Plt, &mut Stats::default()) {
            Ok(d) => d,
            Err(e) => loader::fail(&ld.prog, &e),
        },
    };
    let v = ld.value(&def);
    let at = o.addr(r.r_offset);
    debug!(
        cat::RELOC,
        "lazy binding in {}: slot 0x{:x} -> 0x{:x}{}",
        B(&o.path),
        r.r_offset,
        v,
        if at_start { " (an IFUNC whose definition start-up found)" } else { "" }
    );
    // SAFETY: the slot was checked to be writable when the object was
    // relocated (lazy_range), and an aligned 8-byte store is atomic, so
    // threads racing to bind the same slot all store the same value.
    unsafe { core::ptr::write_volatile(at as *mut usize, v) };
    v
}

// ---------------------------------------------------------------------------
// TLS.

/// `__tls_get_addr(tls_index *)`: the address of a TLS variable by module
/// and offset, from the DTV the thread pointer's TCB points to.
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __tls_get_addr() {
    naked_asm!(
        "mov rax, qword ptr fs:[8]",
        "test rax, rax",
        "jz 1f",
        "mov rcx, [rdi]",
        "cmp rcx, [rax]",
        "ja 1f",
        "mov rax, [rax + rcx * 8]",
        "test rax, rax",
        "jz 1f",
        "add rax, [rdi + 8]",
        "ret",
        "1:",
        "jmp {slow}",
        slow = sym tls_get_addr_slow,
    )
}

extern "C" fn tls_get_addr_slow(ti: *const [usize; 2]) -> usize {
    // SAFETY: the caller passes a tls_index from a relocated GOT.
    let [module, _] = unsafe { *ti };
    let prog = loader::get().map_or(&b"shimld"[..], |l| &l.prog[..]);
    crate::eprint!(
        "{}: shimld: TLS module {} has no block in this thread (dynamic TLS is not supported yet)\n",
        B(prog),
        module
    );
    sys::exit_group(127)
}

/// TLS descriptor for a variable in static TLS: the argument is already the
/// offset from the thread pointer.
#[unsafe(naked)]
pub unsafe extern "C" fn tlsdesc_return() {
    naked_asm!("mov rax, [rax + 8]", "ret")
}

/// TLS descriptor for an undefined weak variable: its address is 0 (the
/// addend), so return that minus the thread pointer.
#[unsafe(naked)]
pub unsafe extern "C" fn tlsdesc_undefweak() {
    naked_asm!("mov rax, [rax + 8]", "sub rax, qword ptr fs:[0]", "ret")
}
