//! CPUID answers for glibc's ld.so.
//!
//! On a virtual machine every CPUID instruction traps to the hypervisor
//! (about 3.9 us here), and glibc's ld.so executes some forty of them at
//! each start (its CPU features, cache sizes and topology, the XSAVE state
//! size): about 170 us, a third of a start of `/bin/true`. The answers do
//! not change from one start to the next on the same machine, so shimld
//! keeps them, with a plan of ld.so's CPUID instructions, in a file under
//! the resolution cache's directory, and answers ld.so from memory:
//!
//! - Each CPUID instruction of ld.so's code becomes a `jmp` to a stub on a
//!   page just below ld.so. The stub steps below the red zone, calls
//!   `emulate` (which looks the leaf and subleaf up in `TABLE`, or executes
//!   CPUID itself for an answer it does not have), runs the instructions
//!   the jump overwrote (decoded and re-encoded with iced-x86 when the plan
//!   was made) and jumps back. Only CPUID's own registers change, as with
//!   the instruction itself (and the flags, which the compiler never keeps
//!   live across an `asm` statement on x86).
//! - A site is patched only where that is safe (shimld::cpuid_sites: the
//!   instructions the jump overwrites fall through, and no branch, call or
//!   jump-table entry of ld.so's code lands inside them), and only while
//!   its bytes are still those the plan was made from.
//! - The plan is made once for each ld.so file (by its identity), when
//!   there is none; the answers are those ld.so asked for, learned at the
//!   first start (CPUID executed and kept) and written once ld.so is done.
//! - At each start the answers are checked against the processor: CPUID
//!   leaves 1 and 7 (the signature and the feature flags) and XCR0 (which
//!   XSAVE state the kernel enabled) must be as they were when the answers
//!   were kept. A machine that changed (a virtual machine moved to another
//!   host, another kernel) learns its answers again.
//!
//! Nothing changes for ld.so but the time CPUID takes: it computes its
//! features from the same values. `--no-cache` turns this off with the
//! resolution cache; `SHIMLD_DEBUG=files` says whether it was used.

use super::bindcache::Pending;
use super::map::Stamp;
use super::out::{cat, B};
use super::sys;
use crate::debug;
use alloc::vec::Vec;
use shimld::cpuid_sites::{Site, EMULATE_AT, MAX_SITES, MAX_WINDOW, SLOT};
use shimld::elf;

/// One answer: (leaf, subleaf, whether the subleaf matters (0) or not
/// (1), EAX, EBX, ECX, EDX). `emulate` reads this layout.
#[repr(C)]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Answer {
    leaf: u32,
    sub: u32,
    any_sub: u32,
    r: [u32; 4],
}

/// The most answers kept.
const CAP: usize = 128;

/// The answers `emulate` gives: `count` entries, then learned ones
/// appended by `emulate` itself until `frozen`.
#[repr(C)]
struct Table {
    count: u32,
    frozen: u32,
    entries: [Answer; CAP],
}

/// Read and appended to by `emulate` (in ld.so's start-up, on the one
/// thread there is), written by `prepare` before ld.so runs and frozen by
/// `finish` once it is done; after that only read.
static mut TABLE: Table =
    Table { count: 0, frozen: 1, entries: [Answer { leaf: 0, sub: 0, any_sub: 0, r: [0; 4] }; CAP] };

/// CPUID as the stubs call it: EAX and ECX in, EAX, EBX, ECX and EDX out
/// (zero-extended), every other register kept. An answer not in `TABLE`
/// comes from the instruction itself and, until the table is frozen, is
/// appended to it.
///
/// # Safety
///
/// Not a Rust function: only a stub calls it, with 48 bytes of stack free
/// below the return address (the stub steps past the red zone first), and
/// while the table is unfrozen only on the one thread ld.so's start-up
/// runs on.
#[unsafe(naked)]
unsafe extern "C" fn emulate() {
    core::arch::naked_asm!(
        "push rsi",
        "push rdi",
        "lea rsi, [rip + {table}]",
        "mov edi, [rsi]",
        "add rsi, 8",
        "2:",
        "test edi, edi",
        "jz 4f",
        "cmp eax, [rsi]",
        "jne 3f",
        "cmp dword ptr [rsi + 8], 0",
        "jne 5f",
        "cmp ecx, [rsi + 4]",
        "jne 3f",
        "5:",
        "mov eax, [rsi + 12]",
        "mov ebx, [rsi + 16]",
        "mov ecx, [rsi + 20]",
        "mov edx, [rsi + 24]",
        "pop rdi",
        "pop rsi",
        "ret",
        "3:",
        "add rsi, 28",
        "dec edi",
        "jmp 2b",
        "4:",
        "mov edi, eax",
        "mov esi, ecx",
        "cpuid",
        "push r8",
        "push r9",
        "lea r8, [rip + {table}]",
        "cmp dword ptr [r8 + 4], 0",
        "jne 6f",
        "mov r9d, [r8]",
        "cmp r9d, {cap}",
        "jae 6f",
        "imul r9, r9, 28",
        "lea r9, [r8 + r9 + 8]",
        "mov [r9], edi",
        "mov [r9 + 4], esi",
        "mov dword ptr [r9 + 8], 0",
        "mov [r9 + 12], eax",
        "mov [r9 + 16], ebx",
        "mov [r9 + 20], ecx",
        "mov [r9 + 24], edx",
        "inc dword ptr [r8]",
        "6:",
        "pop r9",
        "pop r8",
        "pop rdi",
        "pop rsi",
        "ret",
        table = sym TABLE,
        cap = const CAP,
    )
}

/// What is kept for one ld.so file on one machine.
struct Plan {
    /// Where the stub page is, from ld.so's link-time address 0.
    page: i64,
    sites: Vec<Site>,
    answers: Vec<Answer>,
    /// CPUID leaf 1 (EAX, ECX, EDX), leaf 7 subleaf 0 (EBX, ECX, EDX) and
    /// XCR0 when the answers were kept.
    check: ([u32; 6], u64),
}

/// What `prepare` leaves for `finish`.
struct State {
    file: Vec<u8>,
    plan: Plan,
    /// The answers the table started with.
    initial: usize,
    /// ld.so's identity, which the plan is kept under.
    stamp: Stamp,
    /// The stub page.
    page: usize,
}

static mut STATE: Option<alloc::boxed::Box<State>> = None;

const MAGIC: &[u8; 8] = b"SHIMLDC2";

/// The machine as far as the answers depend on it (see the module doc).
fn machine() -> ([u32; 6], u64) {
    let (l1, l7) = (core::arch::x86_64::__cpuid_count(1, 0), core::arch::x86_64::__cpuid_count(7, 0));
    let xcr0 = if l1.ecx & (1 << 27) != 0 {
        let (lo, hi): (u32, u32);
        // SAFETY: OSXSAVE is set, so XGETBV exists and XCR0 is readable.
        unsafe { core::arch::asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack)) };
        (hi as u64) << 32 | lo as u64
    } else {
        0
    };
    ([l1.eax, l1.ecx, l1.edx, l7.ebx, l7.ecx, l7.edx], xcr0)
}

/// Leaves whose answer does not depend on the subleaf (ECX), for which
/// ld.so may leave anything in ECX: one answer serves every subleaf. Any
/// other leaf is answered only for the subleaf it was learned with.
fn ignores_subleaf(leaf: u32) -> bool {
    matches!(leaf, 0..=3 | 5 | 6 | 0x16 | 0x19)
        || matches!(leaf, 0x8000_0000..=0x8000_0008 | 0x8000_000a | 0x8000_0019 | 0x8000_001a | 0x8000_001e)
}

/// The plan file for ld.so's `stamp` (and this format: builds of shimld
/// with another keep theirs apart).
fn file_for(dir: &[u8], stamp: &Stamp) -> Vec<u8> {
    let mut key = Vec::with_capacity(64);
    key.extend_from_slice(MAGIC);
    for x in stamp.words() {
        key.extend_from_slice(&x.to_le_bytes());
    }
    super::bindcache::hashed_name(dir, b"cpuid-", &key, b".plan")
}

fn put(f: &mut Vec<u8>, x: u64, n: usize) {
    f.extend_from_slice(&x.to_le_bytes()[..n]);
}

fn encode(plan: &Plan, stamp: &Stamp) -> Vec<u8> {
    let mut f = Vec::with_capacity(256 + plan.sites.len() * (8 + MAX_WINDOW + SLOT) + plan.answers.len() * 28);
    f.extend_from_slice(MAGIC);
    for x in stamp.words() {
        put(&mut f, x, 8);
    }
    for &x in &plan.check.0 {
        put(&mut f, x as u64, 4);
    }
    put(&mut f, plan.check.1, 8);
    put(&mut f, plan.page as u64, 8);
    put(&mut f, plan.sites.len() as u64, 4);
    put(&mut f, plan.answers.len() as u64, 4);
    for s in &plan.sites {
        put(&mut f, s.at, 8);
        put(&mut f, s.orig.len() as u64, 1);
        put(&mut f, s.stub.len() as u64, 1);
        f.extend_from_slice(&s.orig);
        f.extend_from_slice(&s.stub);
    }
    for a in &plan.answers {
        for x in [a.leaf, a.sub, a.any_sub, a.r[0], a.r[1], a.r[2], a.r[3]] {
            put(&mut f, x as u64, 4);
        }
    }
    let h = super::bindcache::hash(&f);
    put(&mut f, h, 8);
    f
}

/// A bounds-checked reader of a plan file.
struct Reader<'a> {
    d: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.d.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u(&mut self, n: usize) -> Option<u64> {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(self.take(n)?);
        Some(u64::from_le_bytes(b))
    }
}

fn decode(d: &[u8], stamp: &Stamp) -> Option<Plan> {
    let body = d.len().checked_sub(8)?;
    if d.get(..8)? != MAGIC || super::bindcache::hash(&d[..body]).to_le_bytes() != d[body..] {
        return None;
    }
    let mut r = Reader { d: &d[..body], at: 8 };
    for x in stamp.words() {
        if r.u(8)? != x {
            return None;
        }
    }
    let mut check = ([0u32; 6], 0);
    for c in check.0.iter_mut() {
        *c = r.u(4)? as u32;
    }
    check.1 = r.u(8)?;
    let page = r.u(8)? as i64;
    let (nsites, nanswers) = (r.u(4)? as usize, r.u(4)? as usize);
    if nsites > MAX_SITES || nanswers > CAP {
        return None;
    }
    let mut sites = Vec::with_capacity(nsites);
    for _ in 0..nsites {
        let at = r.u(8)?;
        let (o, s) = (r.u(1)? as usize, r.u(1)? as usize);
        if !(5..=MAX_WINDOW).contains(&o) || s > SLOT {
            return None;
        }
        let orig = r.take(o)?.to_vec();
        let stub = r.take(s)?.to_vec();
        sites.push(Site { at, orig, stub });
    }
    let mut answers = Vec::with_capacity(nanswers);
    for _ in 0..nanswers {
        let mut w = [0u32; 7];
        for x in w.iter_mut() {
            *x = r.u(4)? as u32;
        }
        answers.push(Answer { leaf: w[0], sub: w[1], any_sub: w[2], r: [w[3], w[4], w[5], w[6]] });
    }
    (r.at == body).then_some(Plan { page, sites, answers, check })
}

/// ld.so's segments as mapped at `base`, the executable ones only or all:
/// (link-time address, bytes).
fn segments(base: usize, phdrs: &[elf::Phdr], exec: bool) -> Vec<(u64, &'static [u8])> {
    phdrs
        .iter()
        .filter(|p| p.p_type == elf::PT_LOAD && p.p_filesz > 0 && (!exec || p.p_flags & elf::PF_X != 0))
        .map(|p| {
            // SAFETY: the segment is mapped readable at base + p_vaddr for
            // its file size (map_segments checked it).
            let b = unsafe {
                core::slice::from_raw_parts(base.wrapping_add(p.p_vaddr as usize) as *const u8, p.p_filesz as usize)
            };
            (p.p_vaddr, b)
        })
        .collect()
}

/// The plan of ld.so's CPUID instructions (see shimld::cpuid_sites), for
/// the ld.so mapped at `base`, with the stub page `page` bytes from its
/// link-time address 0.
fn make_plan(base: usize, phdrs: &[elf::Phdr], page: i64) -> Option<Vec<Site>> {
    // iced-x86's tables are relocated only now (see loader/data.ld).
    crate::relocate_lazy();
    shimld::cpuid_sites::plan(&segments(base, phdrs, true), &segments(base, phdrs, false), page)
}

/// Patches the CPUID instructions of the ld.so just mapped at `base` (its
/// mapping starting at `start`) from the file of identity `stamp` with
/// program headers `phdrs`, answering them from the plan kept in `dir`, or
/// making one. Anything amiss leaves ld.so as it is.
pub fn prepare(dir: Option<&[u8]>, stamp: &Stamp, phdrs: &[elf::Phdr], base: usize, start: usize) {
    let Some(dir) = dir else { return };
    // The stub page first, before anything else is mapped there.
    let Some(page) = claim(start) else {
        debug!(cat::FILES, "cpuid: the page below ld.so is taken: its CPUID instructions run as they are");
        return;
    };
    let path = file_for(dir, stamp);
    let kept = read_file(&path).and_then(|d| decode(&d, stamp));
    let now = machine();
    let rel = page.wrapping_sub(base) as i64;
    // (The stubs are made for the page's place: the same for one file.)
    let kept = kept.filter(|p| p.page == rel);
    let (plan, answers) = match kept {
        Some(p) if p.check == now => {
            let a = p.answers.clone();
            (p, a)
        }
        Some(p) => {
            debug!(cat::FILES, "cpuid: {}: kept for another processor or kernel, learned again", B(&path));
            (Plan { answers: Vec::new(), check: now, ..p }, Vec::new())
        }
        // A plan is made only where it can be kept: making it costs a few
        // milliseconds. (Written now, answers to come: a program that never
        // reaches its entry point does not make it again each time.)
        None => match create(&path).and_then(|p| match make_plan(base, phdrs, rel) {
            Some(sites) => Some((p, sites)),
            None => {
                sys::close(p.fd);
                let _ = sys::unlink(&p.tmp);
                None
            }
        }) {
            Some((pending, sites)) => {
                let plan = Plan { page: rel, sites, answers: Vec::new(), check: now };
                commit(pending, &path, &encode(&plan, stamp));
                (plan, Vec::new())
            }
            None => {
                debug!(cat::FILES, "cpuid: no plan of ld.so's code: its CPUID instructions run as they are");
                // SAFETY: the page `claim` mapped, unused.
                let _ = unsafe { sys::munmap(page, 4096) };
                return;
            }
        },
    };
    if plan.sites.is_empty() || !apply(&plan.sites, base, &segments(base, phdrs, true), page) {
        debug!(cat::FILES, "cpuid: ld.so's CPUID instructions run as they are");
        // SAFETY: the page `claim` mapped, unused.
        let _ = unsafe { sys::munmap(page, 4096) };
        return;
    }
    // SAFETY: single-threaded start-up; ld.so has not run yet, so nothing
    // reads the table.
    let initial = unsafe {
        let t = &mut *core::ptr::addr_of_mut!(TABLE);
        let mut n = 0;
        for a in answers.iter().take(CAP) {
            t.entries[n] = *a;
            n += 1;
        }
        t.count = n as u32;
        t.frozen = 0;
        n
    };
    debug!(
        cat::FILES,
        "cpuid: {} CPUID instructions of ld.so answered from memory ({} answers kept in {})",
        plan.sites.len(),
        initial,
        B(&path)
    );
    // SAFETY: as above.
    unsafe { STATE = Some(alloc::boxed::Box::new(State { file: path, plan, initial, stamp: *stamp, page })) };
}

/// Maps the stub page, just below ld.so's mapping at `start`.
fn claim(start: usize) -> Option<usize> {
    let page = start.checked_sub(4096)?;
    // SAFETY: a fresh anonymous page where nothing is mapped
    // (MAP_FIXED_NOREPLACE fails rather than replace anything).
    let p = unsafe {
        sys::mmap(
            page,
            4096,
            sys::PROT_READ | sys::PROT_WRITE,
            sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    }
    .ok()?;
    if p != page {
        // SAFETY: our own fresh page, elsewhere (an old kernel).
        let _ = unsafe { sys::munmap(p, 4096) };
        return None;
    }
    Some(page)
}

/// Writes the stubs on the stub page (`claim`) and patches the sites of
/// ld.so (its executable segments `text`). False (and ld.so's code
/// unchanged) if a site lies outside them or its bytes differ.
fn apply(sites: &[Site], base: usize, text: &[(u64, &[u8])], page: usize) -> bool {
    let same = sites.iter().all(|s| {
        let end = s.at.saturating_add(s.orig.len() as u64);
        text.iter().any(|&(v, b)| {
            s.at >= v && end <= v + b.len() as u64 && b[(s.at - v) as usize..][..s.orig.len()] == s.orig[..]
        })
    });
    if !same || sites.len() > MAX_SITES {
        return false;
    }
    // SAFETY: the page is ours and writable; the stubs fit their slots.
    unsafe {
        for (k, s) in sites.iter().enumerate() {
            core::ptr::copy_nonoverlapping(s.stub.as_ptr(), (page + k * SLOT) as *mut u8, s.stub.len());
        }
        ((page + EMULATE_AT) as *mut usize).write(emulate as *const () as usize);
        if sys::mprotect(page, 4096, sys::PROT_READ | sys::PROT_EXEC).is_err() {
            return false;
        }
    }
    sys::name_anon(page, 4096, b"shimld cpuid\0");
    let lo = sites.iter().map(|s| base + s.at as usize).min().unwrap_or(0) & !4095;
    let hi = (sites.iter().map(|s| base + s.at as usize + s.orig.len()).max().unwrap_or(0) + 4095) & !4095;
    // SAFETY: ld.so's own code pages, private to this process and not yet
    // run: made writable, patched, and given back their protection.
    unsafe {
        if sys::mprotect(lo, hi - lo, sys::PROT_READ | sys::PROT_WRITE).is_err() {
            return false;
        }
        for (k, s) in sites.iter().enumerate() {
            let at = base + s.at as usize;
            let stub = page + k * SLOT;
            let rel = stub.wrapping_sub(at + 5) as i32;
            let w = at as *mut u8;
            w.write(0xe9);
            core::ptr::copy_nonoverlapping(rel.to_le_bytes().as_ptr(), w.add(1), 4);
            for b in 5..s.orig.len() {
                w.add(b).write(0xcc);
            }
        }
        if sys::mprotect(lo, hi - lo, sys::PROT_READ | sys::PROT_EXEC).is_err() {
            crate::eprint!("shimld: cannot protect ld.so's code again\n");
            sys::exit_group(127);
        }
    }
    true
}

/// Reads plan file `path`: only one of this user's own that no one else
/// may write (its stubs become code in the process).
fn read_file(path: &[u8]) -> Option<Vec<u8>> {
    let fd = sys::open(path, sys::O_RDONLY | sys::O_CLOEXEC, 0).ok()?;
    let st = sys::fstat(fd).ok().filter(|st| st.st_uid == sys::geteuid() && st.st_mode & 0o022 == 0);
    let size = st.map_or(0, |st| st.st_size as usize);
    let mut buf = alloc::vec![0u8; if size <= MAX_FILE { size } else { 0 }];
    let n = sys::pread_full(fd, &mut buf, 0).ok();
    sys::close(fd);
    (size > 0 && n == Some(buf.len())).then_some(buf)
}

/// A plan file's largest size (`encode` of the most sites and answers).
const MAX_FILE: usize = 136 + MAX_SITES * (10 + MAX_WINDOW + SLOT) + CAP * 28;

/// Undoes `prepare` for an ld.so that is unmapped unused.
pub fn forget() {
    // SAFETY: single-threaded start-up: STATE is taken once.
    if let Some(s) = unsafe { (*core::ptr::addr_of_mut!(STATE)).take() } {
        // SAFETY: ld.so never ran and is unmapped: nothing uses the page.
        let _ = unsafe { sys::munmap(s.page, 4096) };
    }
}

/// Once ld.so has run: no more answers are learned, and those learned
/// are written for the next start.
pub fn finish() {
    // SAFETY: single-threaded (ld.so has just entered shimld); STATE is
    // taken once.
    let Some(s) = (unsafe { (*core::ptr::addr_of_mut!(STATE)).take() }) else { return };
    // SAFETY: as above; `emulate` appends only while not frozen.
    let learned: Vec<Answer> = unsafe {
        let t = &mut *core::ptr::addr_of_mut!(TABLE);
        t.frozen = 1;
        t.entries[..t.count as usize].to_vec()
    };
    if learned.len() == s.initial {
        return;
    }
    let mut answers: Vec<Answer> = Vec::with_capacity(learned.len());
    for mut a in learned {
        if ignores_subleaf(a.leaf) {
            a.any_sub = 1;
            a.sub = 0;
        }
        if !answers.iter().any(|b| b.leaf == a.leaf && (b.any_sub == 1 || b.sub == a.sub)) {
            answers.push(a);
        }
    }
    let plan = Plan { answers, ..s.plan };
    write(&s.file, &encode(&plan, &s.stamp));
}

/// Starts writing plan file `path` (None, traced, where it cannot be).
fn create(path: &[u8]) -> Option<Pending> {
    // The directories down to the file's (~/.cache may not exist yet).
    for (i, _) in path.iter().enumerate().skip(1).filter(|&(_, &c)| c == b'/') {
        let _ = sys::mkdir(&path[..i], 0o700);
    }
    match super::bindcache::create(path, 0o600) {
        Ok(p) => Some(p),
        Err(e) => {
            debug!(cat::FILES, "cpuid: {}: cannot write: {}", B(path), e.text());
            None
        }
    }
}

/// Completes `create`: the file holds `data`.
fn commit(p: Pending, path: &[u8], data: &[u8]) {
    match super::bindcache::commit(p, path, data) {
        Ok(()) => debug!(cat::FILES, "cpuid: {}: written", B(path)),
        Err(e) => debug!(cat::FILES, "cpuid: {}: cannot write: {}", B(path), e.text()),
    }
}

fn write(path: &[u8], data: &[u8]) {
    if let Some(p) = create(path) {
        commit(p, path, data);
    }
}
