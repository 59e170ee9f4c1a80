//! `--replicas=deep`: the glibc core's own entry points jump to the
//! replicas, so that libc's internal callers (gethostname calling uname
//! inside libc, say) see them too.
//!
//! Each patched function's first five bytes become a `jmp rel32` to a
//! page near libc, which jumps on to the replica. The instructions
//! overwritten are decoded with iced-x86 and re-encoded (relocated:
//! RIP-relative operands and branches fixed up) on that page, followed by
//! a jump back; the replica reaches the original function through them. A
//! function whose prologue cannot be moved safely is refused with a
//! message and left as it is.

use super::loader::Loader;
use super::object::Kind;
use super::out::B;
use super::sys;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, Ordering};
use iced_x86::{
    BlockEncoder, BlockEncoderOptions, Decoder, DecoderOptions, FlowControl, Instruction, InstructionBlock,
};

/// `jmp [rip+0]; .quad target`.
const JUMP_LEN: usize = 14;
/// `jmp rel32`, what the patched entry gets.
const PATCH_LEN: usize = 5;

fn jump_to(target: usize) -> [u8; JUMP_LEN] {
    let mut j = [0u8; JUMP_LEN];
    j[..6].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
    j[6..].copy_from_slice(&(target as u64).to_le_bytes());
    j
}

/// The trampolines made, by replica name: how a replica calls the original.
static TRAMPOLINES: AtomicPtr<Vec<(&'static [u8], usize)>> = AtomicPtr::new(core::ptr::null_mut());

/// The trampoline that runs the original `name`, if it was patched.
pub fn original(name: &[u8]) -> Option<usize> {
    // SAFETY: set once from a leaked box, before the program runs.
    let t = unsafe { TRAMPOLINES.load(Ordering::Acquire).as_ref() }?;
    t.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// Patches every active replica's function in the glibc core. Functions
/// that cannot be patched get a warning naming the reason.
pub fn patch_core(ld: &Loader, names: &[&'static [u8]]) {
    // iced-x86's tables are relocated only now (see loader/data.ld).
    crate::relocate_lazy();
    let mut done: Vec<(&'static [u8], usize)> = Vec::new();
    for &name in names {
        let Some(me) = ld.me else { return };
        let Some(replica) = ld.lookup_in(me, name).map(|d| ld.value(&d)) else { continue };
        for i in 0..ld.objs.len() {
            let o = &ld.objs[i];
            if o.kind != Kind::Core {
                continue;
            }
            let Some(def) = ld.lookup_in(i, name) else { continue };
            let Some(sym) = def.sym else { continue };
            if sym.kind() == shimld::elf::STT_GNU_IFUNC {
                warn(name, o, "an IFUNC: libc picks its implementation at run time, so there is no one entry to patch");
                break;
            }
            if sym.kind() != shimld::elf::STT_FUNC {
                break;
            }
            let entry = o.addr(sym.st_value);
            match patch(o, entry, sym.st_size as usize, replica) {
                Ok(t) => {
                    crate::debug!(super::out::cat::BINDINGS, "deep replica: {} in {} -> shimld", B(name), B(&o.path));
                    done.push((name, t));
                }
                Err(why) => warn(name, o, why),
            }
            break;
        }
    }
    TRAMPOLINES.store(alloc::boxed::Box::into_raw(alloc::boxed::Box::new(done)), Ordering::Release);
}

fn warn(name: &[u8], o: &super::object::Object, why: &str) {
    crate::eprint!(
        "shimld: --replicas=deep: cannot patch {} in {}: {}; libc's own calls to it are not replicated\n",
        B(name),
        B(&o.path),
        why
    );
}

/// Memory for trampolines within ±2 GiB of `near`, so that relocated
/// RIP-relative operands still reach their data.
fn near_memory(near: usize, len: usize) -> Option<usize> {
    for step in [1usize << 20, 1 << 24, 1 << 28, 1 << 30] {
        for hint in [near.wrapping_add(step), near.wrapping_sub(step)] {
            // SAFETY: a fresh private mapping; without MAP_FIXED the hint
            // never replaces anything.
            let Ok(p) = (unsafe {
                sys::mmap(
                    sys::page_down(hint),
                    len,
                    sys::PROT_READ | sys::PROT_WRITE,
                    sys::MAP_PRIVATE | sys::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            }) else {
                continue;
            };
            if p.abs_diff(near) < (1 << 31) - (1 << 20) {
                return Some(p);
            }
            // SAFETY: our own mapping, just made.
            let _ = unsafe { sys::munmap(p, len) };
        }
    }
    None
}

fn patch(o: &super::object::Object, entry: usize, size: usize, target: usize) -> Result<usize, &'static str> {
    if size != 0 && size < PATCH_LEN {
        return Err("the function is shorter than the jump that would replace its start");
    }
    let vaddr = entry.wrapping_sub(o.base) as u64;
    let code = o
        .image
        .bytes(vaddr, 64)
        .or_else(|| o.image.bytes_upto(vaddr, 64))
        .ok_or("its code is not in libc's segments")?;
    if !o.is_code(entry) {
        return Err("its address is not in an executable segment");
    }
    let mut dec = Decoder::with_ip(64, code, entry as u64, DecoderOptions::NONE);
    let mut instrs: Vec<Instruction> = Vec::new();
    let mut covered = 0usize;
    while covered < PATCH_LEN {
        if !dec.can_decode() {
            return Err("its first instructions do not decode");
        }
        let ins = dec.decode();
        if ins.is_invalid() {
            return Err("its first instructions do not decode");
        }
        match ins.flow_control() {
            FlowControl::Next
            | FlowControl::Call
            | FlowControl::UnconditionalBranch
            | FlowControl::ConditionalBranch => {}
            _ => return Err("it returns or jumps indirectly within the bytes the patch would overwrite"),
        }
        covered += ins.len();
        let ends = matches!(ins.flow_control(), FlowControl::UnconditionalBranch);
        instrs.push(ins);
        if ends && covered < PATCH_LEN {
            return Err("it leaves by a jump within the bytes the patch would overwrite");
        }
    }
    // Nothing of the patched range may be the target of a branch from it.
    let range = entry as u64..(entry + covered) as u64;
    for ins in &instrs {
        if matches!(
            ins.flow_control(),
            FlowControl::ConditionalBranch | FlowControl::UnconditionalBranch | FlowControl::Call
        ) && range.contains(&ins.near_branch_target())
            && ins.near_branch_target() != entry as u64
        {
            return Err("a branch in its prologue targets the bytes the patch would overwrite");
        }
    }
    // The page near libc: the jump on to the replica, then the relocated
    // prologue and the jump back (the trampoline).
    let page = near_memory(entry, sys::PAGE).ok_or("there is no memory near libc for a trampoline")?;
    let tramp = page + JUMP_LEN;
    let block = InstructionBlock::new(&instrs, tramp as u64);
    let encoded = BlockEncoder::encode(64, block, BlockEncoderOptions::NONE)
        .map_err(|_| "its prologue cannot be re-encoded elsewhere")?;
    let mut bytes = jump_to(target).to_vec();
    bytes.extend_from_slice(&encoded.code_buffer);
    bytes.extend_from_slice(&jump_to(entry + covered));
    if bytes.len() > sys::PAGE {
        return Err("its relocated prologue is too large");
    }
    let rel = (page as i64).wrapping_sub(entry as i64 + PATCH_LEN as i64);
    let Ok(rel) = i32::try_from(rel) else { return Err("there is no memory near libc for a trampoline") };
    let mut patch = [0xe9u8, 0, 0, 0, 0];
    patch[1..].copy_from_slice(&rel.to_le_bytes());
    // SAFETY: the page is ours; libc's code pages are made writable only
    // while the jump is written, before any program code runs (this is
    // the single-threaded start-up).
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), page as *mut u8, bytes.len());
        sys::mprotect(page, sys::PAGE, sys::PROT_READ | sys::PROT_EXEC)
            .map_err(|_| "cannot make the trampoline executable")?;
        let first = sys::page_down(entry);
        let len = sys::page_up(entry + PATCH_LEN) - first;
        sys::mprotect(first, len, sys::PROT_READ | sys::PROT_WRITE | sys::PROT_EXEC)
            .map_err(|_| "libc's code cannot be made writable")?;
        core::ptr::copy_nonoverlapping(patch.as_ptr(), entry as *mut u8, PATCH_LEN);
        let _ = sys::mprotect(first, len, sys::PROT_READ | sys::PROT_EXEC);
    }
    Ok(tramp)
}
