//! Thread-local storage for programs without libc: the static TLS layout,
//! the main thread's TLS block and thread control block, and the DTV behind
//! shimld's `__tls_get_addr`.
//!
//! x86-64 uses TLS variant II: the thread pointer (%fs base) points at the
//! thread control block, and each module's block lies below it at a fixed
//! offset. Module 1 is the executable, whose local-exec code was linked
//! assuming glibc's placement, so offsets follow glibc's algorithm.

use super::loader::Objects;
use super::sys;
use alloc::vec::Vec;

/// glibc's TCB alignment on x86-64.
pub const TCB_ALIGN: usize = 64;
/// The size shimld gives the thread control block: glibc's `struct pthread`
/// size on x86-64 (2.36), so code that reads fields at fixed %fs offsets
/// finds zeros rather than unmapped memory.
pub const TCB_SIZE: usize = 0x940;
/// Spare static TLS after the initial modules, as glibc reserves (for
/// libraries opened later with initial-exec TLS).
pub const SURPLUS: usize = 1664;

/// Offsets in the TCB (glibc's tcbhead_t).
pub const TCB_SELF: usize = 0x0;
pub const TCB_DTV: usize = 0x8;
pub const TCB_SELF2: usize = 0x10;
pub const TCB_STACK_GUARD: usize = 0x28;
pub const TCB_POINTER_GUARD: usize = 0x30;

/// Rounds up to a power of two, wrapping as glibc's size_t arithmetic does
/// (a block smaller than its first-byte offset makes the sum wrap).
fn roundup(x: usize, a: usize) -> usize {
    x.wrapping_add(a - 1) & !(a - 1)
}

/// The static TLS layout.
pub struct Layout {
    /// Bytes below the thread pointer used by the initial modules.
    pub used: usize,
    pub align: usize,
    /// Module count (module ids run 1..=count).
    pub count: usize,
}

/// Assigns module ids (in load order, so the executable is module 1 when
/// it has TLS) and static offsets, as glibc's `_dl_determine_tlsoffset`
/// does, including its reuse of alignment gaps.
pub fn layout(objs: &mut Objects) -> Layout {
    let (mut offset, mut freetop, mut freebottom) = (0usize, 0usize, 0usize);
    let mut max_align = TCB_ALIGN;
    let mut modid = 0;
    for o in objs.iter_mut() {
        let Some(t) = o.tls.as_mut() else { continue };
        modid += 1;
        t.modid = modid;
        let align = t.align;
        let firstbyte = t.firstbyte.wrapping_neg() & (align - 1);
        max_align = max_align.max(align);
        if freebottom - freetop >= t.memsz {
            let off = roundup((freetop + t.memsz).wrapping_sub(firstbyte), align).wrapping_add(firstbyte);
            if off <= freebottom {
                freetop = off;
                t.offset = off;
                continue;
            }
        }
        let off = roundup((offset + t.memsz).wrapping_sub(firstbyte), align).wrapping_add(firstbyte);
        if off > offset + t.memsz + (freebottom - freetop) {
            freetop = offset;
            freebottom = off - t.memsz;
        }
        offset = off;
        t.offset = off;
    }
    Layout { used: offset, align: max_align, count: modid }
}

/// The main thread's TLS: where the thread pointer is and the DTV.
pub struct Block {
    pub tp: usize,
    pub dtv: Vec<usize>,
}

/// Maps the main thread's static TLS block and TCB and fills in the TCB.
/// `random` is AT_RANDOM's 16 bytes (stack and pointer guards), if any.
pub fn allocate(l: &Layout, random: Option<&[u8; 16]>) -> Result<Block, sys::Errno> {
    let below = roundup(l.used + SURPLUS, l.align);
    let len = sys::page_up(below + TCB_SIZE + l.align);
    // SAFETY: a fresh private anonymous mapping, owned by the process's
    // main thread for its lifetime.
    let mem =
        unsafe { sys::mmap(0, len, sys::PROT_READ | sys::PROT_WRITE, sys::MAP_PRIVATE | sys::MAP_ANONYMOUS, -1, 0)? };
    let tp = roundup(mem + below, l.align);
    let mut dtv = alloc::vec![0usize; l.count + 1];
    dtv[0] = l.count;
    // SAFETY: tp .. tp + TCB_SIZE lies inside the new mapping.
    unsafe {
        let w = |off: usize, v: usize| core::ptr::write((tp + off) as *mut usize, v);
        w(TCB_SELF, tp);
        w(TCB_SELF2, tp);
        if let Some(r) = random {
            // glibc zeroes the low byte of the stack guard so that string
            // functions stop at it.
            let guard = usize::from_le_bytes(r[..8].try_into().unwrap()) & !0xff;
            w(TCB_STACK_GUARD, guard);
            w(TCB_POINTER_GUARD, usize::from_le_bytes(r[8..].try_into().unwrap()));
        }
    }
    Ok(Block { tp, dtv })
}

impl Block {
    /// Records the module blocks in the DTV and publishes it in the TCB.
    pub fn install_dtv(&mut self, objs: &Objects) {
        for o in objs.iter() {
            if let Some(t) = &o.tls {
                if t.modid < self.dtv.len() {
                    self.dtv[t.modid] = self.tp - t.offset;
                }
            }
        }
        // SAFETY: the TCB is ours; the DTV vector lives as long as the
        // process (the Block is kept in the loader state).
        unsafe { core::ptr::write((self.tp + TCB_DTV) as *mut usize, self.dtv.as_ptr() as usize) };
    }

    /// Copies each module's initialisation image into the block (after
    /// relocation, since `.tdata` may hold relocated pointers) and clears
    /// the rest of it.
    pub fn init_images(&self, objs: &Objects) {
        for o in objs.iter() {
            if let Some(t) = &o.tls {
                let dst = self.tp - t.offset;
                // SAFETY: the module block lies in the static TLS area below
                // tp (layout() kept it inside `used`), and the image lies in
                // the object's mapped segments (checked when read).
                unsafe {
                    core::ptr::copy_nonoverlapping(t.image as *const u8, dst as *mut u8, t.filesz);
                    core::ptr::write_bytes((dst + t.filesz) as *mut u8, 0, t.memsz - t.filesz);
                }
            }
        }
    }
}

/// Static TLS space for objects dlopen loads later (glibc programs: a
/// reserve inside module 1, the stub's TLS block).
pub struct Reserve {
    /// Module 1's distance below the thread pointer.
    pub off1: usize,
    /// The block's alignment (an object needing more cannot go here).
    pub align: usize,
    /// Next free and end offsets inside module 1's block.
    pub next: usize,
    pub end: usize,
    /// Blocks given back by objects that were unloaded: (start, end).
    pub free: alloc::vec::Vec<(usize, usize)>,
    /// The module's initialisation image (what new threads start with).
    pub image: usize,
}

/// Bytes of module 1 kept for TLS of objects opened at run time.
pub const DLOPEN_RESERVE: usize = 8192;

/// Gives an object that dlopen loaded a place for its TLS block in the
/// reserve, as glibc gives static TLS to such objects when it can.
pub fn assign_dynamic(o: &mut super::object::Object, reserve: Option<&mut Reserve>) -> Result<(), &'static str> {
    let Some(t) = o.tls.as_mut() else { return Ok(()) };
    let Some(r) = reserve else { return Err("cannot allocate memory in static TLS block") };
    if t.align > r.align {
        return Err("cannot allocate memory in static TLS block");
    }
    // A block an unloaded object gave back, if one fits; else fresh space.
    let reuse = r.free.iter().position(|&(s, e)| roundup(s, t.align) + t.memsz <= e);
    let at = match reuse {
        Some(k) => {
            let (s, e) = r.free[k];
            let at = roundup(s, t.align);
            if at + t.memsz < e {
                r.free[k] = (at + t.memsz, e);
            } else {
                r.free.remove(k);
            }
            at
        }
        None => {
            let at = roundup(r.next, t.align);
            if at + t.memsz > r.end {
                return Err("cannot allocate memory in static TLS block");
            }
            r.next = at + t.memsz;
            at
        }
    };
    t.modid = 1;
    t.block_off = at;
    t.offset = r.off1 - at;
    Ok(())
}

/// Gives an unloaded object's block back to the reserve.
pub fn release_dynamic(o: &super::object::Object, reserve: Option<&mut Reserve>) {
    if let (Some(t), Some(r)) = (o.tls, reserve) {
        if t.modid == 1 && t.block_off >= r.end - DLOPEN_RESERVE && t.block_off < r.end {
            r.free.push((t.block_off, t.block_off + t.memsz));
        }
    }
}

/// Puts a newly loaded object's initial TLS data (relocated) into module
/// 1's image, for threads created from now on, into the calling thread's
/// block, and (see `init_other_threads`) into the other threads' blocks.
pub fn init_dynamic(o: &super::object::Object, reserve: Option<&Reserve>) {
    let (Some(t), Some(r)) = (o.tls, reserve) else { return };
    let missed =
        init_other_threads(&[BlockInit { offset: t.offset, image: t.image, filesz: t.filesz, memsz: t.memsz }]);
    if missed > 0 {
        crate::debug!(
            super::out::cat::TLS,
            "{}: TLS block not initialised in {} thread(s) that could not be signalled",
            super::out::B(&o.path),
            missed
        );
    }
    let tp = super::lock::thread_id();
    let live = tp.wrapping_sub(t.offset);
    // SAFETY: both ranges lie inside module 1 (the reserve is part of the
    // image and of every thread's block), and the image lies in the
    // object's mapping.
    unsafe {
        core::ptr::copy_nonoverlapping(t.image as *const u8, (r.image + t.block_off) as *mut u8, t.filesz);
        core::ptr::copy_nonoverlapping(t.image as *const u8, live as *mut u8, t.filesz);
        core::ptr::write_bytes((live + t.filesz) as *mut u8, 0, t.memsz - t.filesz);
    }
}

// ---------------------------------------------------------------------------
// Initialising the TLS of an object opened at run time in threads that
// already exist.
//
// glibc walks its thread list to copy a new object's initial TLS data into
// every thread's static block. That list is glibc's; shimld instead asks
// each thread to do it itself: a real-time signal, whose handler copies
// the data into the receiving thread's block (reached through its own
// thread pointer). This is done only while the signal has its default
// disposition (the program is not using it); pending deliveries are
// discarded by setting it to be ignored before it is reset.

/// The signal used (SIGRTMAX, which glibc does not use itself).
const INIT_SIGNAL: i32 = 64;

/// One block to initialise: its distance below the thread pointer, its
/// image, and its sizes.
#[derive(Clone, Copy)]
pub struct BlockInit {
    pub offset: usize,
    pub image: usize,
    pub filesz: usize,
    pub memsz: usize,
}

static WORK: core::sync::atomic::AtomicPtr<BlockInit> = core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());
static WORK_LEN: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
static ACKS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

extern "C" fn init_signal_handler(_sig: i32, _info: usize, _ctx: usize) {
    use core::sync::atomic::Ordering;
    let work = WORK.load(Ordering::Acquire);
    let n = WORK_LEN.load(Ordering::Acquire);
    let tp = super::lock::thread_id();
    for k in 0..n {
        // SAFETY: the work list stays alive until every thread has
        // answered or the wait gave up (and then the signal is ignored
        // before the list goes); each block lies in this thread's static
        // TLS (module 1) and the image in the object's mapping.
        unsafe {
            let w = *work.add(k);
            let dst = tp.wrapping_sub(w.offset) as *mut u8;
            core::ptr::copy_nonoverlapping(w.image as *const u8, dst, w.filesz);
            core::ptr::write_bytes(dst.add(w.filesz), 0, w.memsz - w.filesz);
        }
    }
    ACKS.fetch_add(1, Ordering::AcqRel);
    super::sys::futex_wake(&ACKS, 1);
}

#[unsafe(naked)]
unsafe extern "C" fn signal_return() {
    core::arch::naked_asm!("mov eax, 15", "syscall", "ud2")
}

/// The thread ids of the process, but the calling thread's.
fn other_threads() -> alloc::vec::Vec<i32> {
    let mut tids = alloc::vec::Vec::new();
    let me = sys::gettid();
    for name in sys::dir_names(b"/proc/self/task", 1 << 16) {
        if let Some(t) = core::str::from_utf8(&name).ok().and_then(|s| s.parse::<i32>().ok()) {
            if t != me {
                tids.push(t);
            }
        }
    }
    tids
}

/// Copies the initial data of `blocks` into the static TLS of every other
/// thread. Returns how many threads could not be reached.
pub fn init_other_threads(blocks: &[BlockInit]) -> usize {
    use core::sync::atomic::Ordering;
    let tids = other_threads();
    if tids.is_empty() || blocks.is_empty() {
        return 0;
    }
    let mut old = sys::SigAction::default();
    // SAFETY: only reads the current disposition.
    if unsafe { sys::rt_sigaction(INIT_SIGNAL, None, Some(&mut old)) }.is_err() || old.handler != sys::SIG_DFL {
        return tids.len();
    }
    WORK.store(blocks.as_ptr() as *mut BlockInit, Ordering::Release);
    WORK_LEN.store(blocks.len(), Ordering::Release);
    ACKS.store(0, Ordering::Release);
    let act = sys::SigAction {
        handler: init_signal_handler as *const () as usize,
        flags: sys::SA_SIGINFO | sys::SA_RESTART | sys::SA_RESTORER,
        restorer: signal_return as *const () as usize,
        mask: !0,
    };
    // SAFETY: the handler only copies memory and wakes a futex; the
    // restorer is the rt_sigreturn trampoline.
    if unsafe { sys::rt_sigaction(INIT_SIGNAL, Some(&act), None) }.is_err() {
        return tids.len();
    }
    let pid = sys::getpid();
    let sent = tids.iter().filter(|&&t| sys::tgkill(pid, t, INIT_SIGNAL).is_ok()).count() as u32;
    // Wait for the answers, up to a fifth of a second in all.
    for _ in 0..200 {
        let a = ACKS.load(Ordering::Acquire);
        if a >= sent {
            break;
        }
        sys::futex_wait_timeout(&ACKS, a, 1_000_000);
    }
    let ign = sys::SigAction { handler: sys::SIG_IGN, ..sys::SigAction::default() };
    let dfl = sys::SigAction::default();
    // SAFETY: ignoring discards deliveries still pending (threads that
    // block the signal); then the default disposition is back.
    unsafe {
        let _ = sys::rt_sigaction(INIT_SIGNAL, Some(&ign), None);
        let _ = sys::rt_sigaction(INIT_SIGNAL, Some(&dfl), None);
    }
    WORK_LEN.store(0, Ordering::Release);
    (sent.saturating_sub(ACKS.load(Ordering::Acquire))) as usize + (tids.len() - sent as usize)
}
