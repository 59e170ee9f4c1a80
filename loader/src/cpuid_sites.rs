//! Where glibc's ld.so can have its CPUID instructions answered from
//! memory (the loader's rt::cpuid): each CPUID instruction of its code, the
//! bytes around it that a 5-byte `jmp` may overwrite, and the stub that
//! stands for them. Pure analysis of the code's bytes (decoded and
//! re-encoded with iced-x86), so that it can be tested on code of its own.
//!
//! A site is patched only where that is safe: the instructions around the
//! CPUID that the jump overwrites (those after it, or else those before
//! it) fall through (no branch, call or return), and no branch of the code
//! lands inside the overwritten bytes: direct branches and calls, and the
//! entries of position-independent jump tables (a `movsxd r, [B + I*4]`
//! whose B a RIP-relative `lea` set; the words from there are taken for
//! entries while their targets fall in the code). A site within 4 KiB of a
//! table that cannot be read (no such `lea`, or a jump through a table of
//! addresses) is left alone. The stub steps below the red zone, calls the
//! emulator through the last word of its page, runs the overwritten
//! instructions (re-encoded for their new place) and jumps back.

use alloc::vec::Vec;

/// A stub's place on the stub page: 64 bytes per site.
pub const SLOT: usize = 64;
/// Where on the stub page the emulator's address is kept.
pub const EMULATE_AT: usize = 4096 - 8;
/// The most sites a plan patches (one stub page).
pub const MAX_SITES: usize = EMULATE_AT / SLOT;
/// A window's most bytes (the CPUID and the instructions the jump
/// overwrites).
pub const MAX_WINDOW: usize = 16;
/// The trailing `jmp rel32` back.
const JMP: usize = 5;
/// The most entries a jump table is taken to have.
const MAX_TABLE: usize = 1024;

/// A CPUID instruction to patch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// Where the overwritten bytes start (link-time address).
    pub at: u64,
    /// The bytes the jump overwrites, as they are.
    pub orig: Vec<u8>,
    /// The stub, for its slot on the page.
    pub stub: Vec<u8>,
}

/// Finds the CPUID instructions of the code `text` (executable segments:
/// link-time address, bytes) that can be patched safely (see the module
/// doc), with `data` the segments jump tables may lie in, and makes their
/// stubs, for a stub page `page` bytes from link-time address 0 (the stub
/// of the k-th site in slot k). None if the code does not decode.
pub fn plan(text: &[(u64, &[u8])], data: &[(u64, &[u8])], page: i64) -> Option<Vec<Site>> {
    use iced_x86::{
        BlockEncoder, BlockEncoderOptions, Code, Decoder, DecoderOptions, FlowControl, InstructionBlock,
        InstructionInfoFactory, OpAccess, OpKind, Register,
    };
    // Addresses as if ld.so were at NOMINAL: stubs and sites keep their
    // distance wherever ld.so is.
    const NOMINAL: u64 = 0x4000_0000_0000;
    let segments = text;
    let mut all = Vec::new();
    for (vaddr, bytes) in segments {
        let mut d = Decoder::with_ip(64, bytes, NOMINAL + vaddr, DecoderOptions::NONE);
        while d.can_decode() {
            let i = d.decode();
            if i.is_invalid() {
                return None;
            }
            all.push(i);
        }
    }
    // Where direct branches and calls land.
    let mut targets: Vec<u64> = all
        .iter()
        .filter(|i| {
            matches!(
                i.flow_control(),
                FlowControl::ConditionalBranch | FlowControl::UnconditionalBranch | FlowControl::Call
            )
        })
        .map(|i| i.near_branch_target())
        .filter(|&t| t != 0)
        .collect();
    targets.sort_unstable();
    // Jump tables, as position-independent code has them: `movsxd r,
    // [B + I*4]` reads a 32-bit offset from a table whose address an
    // earlier RIP-relative `lea B` took (B not written in between). The
    // words from there are taken for entries while their targets fall in
    // the code (perhaps more than the table holds: more sites refused,
    // none wrongly patched). A table whose address is not found, and a
    // jump through a register loaded from a table of addresses, refuse
    // every site within 4 KiB.
    let data: Vec<(u64, &[u8])> = data.iter().map(|&(v, b)| (NOMINAL + v, b)).collect();
    let in_code = |x: u64| segments.iter().any(|(v, b)| x >= NOMINAL + v && x < NOMINAL + v + b.len() as u64);
    let mut unresolved: Vec<u64> = Vec::new();
    let mut info = InstructionInfoFactory::new();
    let mut writes = |j: &iced_x86::Instruction, r: Register| -> bool {
        info.info(j).used_registers().iter().any(|u| {
            u.register().full_register() == r.full_register()
                && !matches!(u.access(), OpAccess::Read | OpAccess::CondRead | OpAccess::None | OpAccess::NoMemAccess)
        })
    };
    for (k, i) in all.iter().enumerate() {
        if i.flow_control() == FlowControl::IndirectBranch {
            // A jump through a table of addresses, in memory or loaded
            // into the register it jumps through: its entries are not read.
            let loaded = i.op0_kind() == OpKind::Register
                && all[k.saturating_sub(8)..k].iter().any(|j| {
                    j.op_count() == 2
                        && j.op0_kind() == OpKind::Register
                        && j.op0_register().full_register() == i.op0_register().full_register()
                        && j.op1_kind() == OpKind::Memory
                        && j.memory_index() != Register::None
                        && j.memory_index_scale() == 8
                });
            if i.memory_index() != Register::None || loaded {
                unresolved.push(i.ip());
            }
            continue;
        }
        if i.code() != Code::Movsxd_r64_rm32 || i.memory_index_scale() != 4 || i.memory_base() == Register::None {
            continue;
        }
        let b = i.memory_base();
        let from = k.saturating_sub(64);
        let lea = all[from..k]
            .iter()
            .rposition(|j| j.code() == Code::Lea_r64_m && j.op0_register() == b && j.is_ip_rel_memory_operand());
        let lea = lea.filter(|&l| !all[from + l + 1..k].iter().any(|j| writes(j, b)));
        let Some(t) = lea.map(|l| all[from + l].ip_rel_memory_address()) else {
            unresolved.push(i.ip());
            continue;
        };
        let Some((v, bytes)) = data.iter().find(|(v, b)| t >= *v && t < *v + b.len() as u64) else {
            unresolved.push(i.ip());
            continue;
        };
        for w in bytes[(t - v) as usize..].chunks_exact(4).take(MAX_TABLE) {
            let x = t.wrapping_add(i32::from_le_bytes([w[0], w[1], w[2], w[3]]) as i64 as u64);
            if !in_code(x) {
                break;
            }
            targets.push(x);
        }
    }
    targets.sort_unstable();
    let is_target = |x: u64| targets.binary_search(&x).is_ok();
    let plain = |j: &iced_x86::Instruction| j.flow_control() == FlowControl::Next && j.code() != Code::Cpuid;
    let mut sites = Vec::new();
    for (k, i) in all.iter().enumerate() {
        if i.code() != Code::Cpuid || sites.len() >= MAX_SITES {
            continue;
        }
        let at = i.ip();
        if unresolved.iter().any(|&x| x.abs_diff(at) < 4096) {
            continue;
        }
        // The CPUID and the instructions after it, to five bytes or more;
        // or else those before it. None of them a branch target but the
        // first.
        let mut window = None;
        let mut after = Vec::new();
        let mut len = i.len();
        for j in &all[k + 1..] {
            if len >= 5 || !plain(j) || is_target(j.ip()) {
                break;
            }
            after.push(*j);
            len += j.len();
        }
        if len >= 5 {
            window = Some((Vec::new(), after));
        } else if !is_target(at) {
            let mut before = Vec::new();
            let mut len = i.len();
            let mut first = at;
            for j in all[..k].iter().rev() {
                if len >= 5 || !plain(j) || j.ip() + j.len() as u64 != first {
                    break;
                }
                before.insert(0, *j);
                len += j.len();
                first = j.ip();
                if len < 5 && is_target(first) {
                    break;
                }
            }
            if len >= 5 {
                window = Some((before, Vec::new()));
            }
        }
        let Some((before, after)) = window else { continue };
        let first = before.first().map_or(at, |j| j.ip());
        let end = after.last().map_or(at + i.len() as u64, |j| j.ip() + j.len() as u64);
        let len = (end - first) as usize;
        // (Nor across another site's patched bytes.)
        let overlaps =
            sites.iter().any(|s: &Site| first - NOMINAL < s.at + s.orig.len() as u64 && s.at < end - NOMINAL);
        if len > MAX_WINDOW || overlaps {
            continue;
        }
        let slot = sites.len();
        let stub_at = (NOMINAL as i64 + page) as u64 + (slot * SLOT) as u64;
        let emulate_at = (NOMINAL as i64 + page) as u64 + EMULATE_AT as u64;
        let mut stub = Vec::with_capacity(SLOT);
        let encode = |list: &[iced_x86::Instruction], rip: u64| -> Option<Vec<u8>> {
            if list.is_empty() {
                return Some(Vec::new());
            }
            let r = BlockEncoder::encode(64, InstructionBlock::new(list, rip), BlockEncoderOptions::NONE).ok()?;
            Some(r.code_buffer)
        };
        stub.extend_from_slice(&encode(&before, stub_at)?);
        let call_next = stub_at + stub.len() as u64 + 11;
        stub.extend_from_slice(&[0x48, 0x8d, 0x64, 0x24, 0x80, 0xff, 0x15]);
        stub.extend_from_slice(&(emulate_at.wrapping_sub(call_next) as i32).to_le_bytes());
        stub.extend_from_slice(&[0x48, 0x8d, 0xa4, 0x24, 0x80, 0, 0, 0]);
        stub.extend_from_slice(&encode(&after, stub_at + stub.len() as u64)?);
        let jmp_next = stub_at + stub.len() as u64 + JMP as u64;
        let rel = end.wrapping_sub(jmp_next) as i64;
        if stub.len() + JMP > SLOT || rel != rel as i32 as i64 {
            continue;
        }
        stub.push(0xe9);
        stub.extend_from_slice(&(rel as i32).to_le_bytes());
        let off = first - NOMINAL;
        let (v, bytes) = segments.iter().find(|(v, b)| off >= *v && off + len as u64 <= *v + b.len() as u64)?;
        let from = (off - v) as usize;
        sites.push(Site { at: off, orig: bytes[from..from + len].to_vec(), stub });
    }
    Some(sites)
}

/// How many CPUID instructions the code `text` holds (None if it does not
/// decode).
pub fn count(text: &[(u64, &[u8])]) -> Option<usize> {
    use iced_x86::{Code, Decoder, DecoderOptions};
    let mut n = 0;
    for (vaddr, bytes) in text {
        let mut d = Decoder::with_ip(64, bytes, *vaddr, DecoderOptions::NONE);
        while d.can_decode() {
            let i = d.decode();
            if i.is_invalid() {
                return None;
            }
            n += (i.code() == Code::Cpuid) as usize;
        }
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: i64 = -4096;

    /// The plan for code at 0x1000 (and data at 0x2000).
    fn sites(code: &[u8], data: &[u8]) -> Vec<Site> {
        plan(&[(0x1000, code)], &[(0x2000, data)], PAGE).expect("decodes")
    }

    const CPUID: [u8; 2] = [0x0f, 0xa2];
    const MOV_EAX_1: [u8; 5] = [0xb8, 1, 0, 0, 0];
    const XOR_ECX: [u8; 2] = [0x31, 0xc9];
    const MOV_EDX_EAX: [u8; 2] = [0x89, 0xc2];
    const RET: u8 = 0xc3;

    #[test]
    fn window_after_the_cpuid() {
        // cpuid; mov edx, eax; mov edx, eax; ret
        let code = [&CPUID[..], &MOV_EDX_EAX, &MOV_EDX_EAX, &[RET]].concat();
        let s = sites(&code, &[]);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].at, 0x1000);
        assert_eq!(s[0].orig, code[..6]);
        // The stub: lea rsp, [rsp-128]; call [rip+..]; lea rsp, [rsp+128];
        // the two moves; jmp back to 0x1006.
        let stub = &s[0].stub;
        assert_eq!(&stub[..7], &[0x48, 0x8d, 0x64, 0x24, 0x80, 0xff, 0x15]);
        let call_next = PAGE + 11;
        let disp = i32::from_le_bytes(stub[7..11].try_into().unwrap()) as i64;
        assert_eq!(call_next + disp, PAGE + EMULATE_AT as i64);
        assert_eq!(&stub[11..19], &[0x48, 0x8d, 0xa4, 0x24, 0x80, 0, 0, 0]);
        assert_eq!(&stub[19..23], &[0x89, 0xc2, 0x89, 0xc2]);
        assert_eq!(stub[23], 0xe9);
        let back = PAGE + 28 + i32::from_le_bytes(stub[24..28].try_into().unwrap()) as i64;
        assert_eq!(back, 0x1006);
    }

    #[test]
    fn window_before_when_a_branch_lands_after() {
        // mov eax, 1; xor ecx, ecx; cpuid; L: mov edx, eax; jmp L
        let code = [&MOV_EAX_1[..], &XOR_ECX, &CPUID, &MOV_EDX_EAX, &[0xeb, 0xfc]].concat();
        let s = sites(&code, &[]);
        assert_eq!(s.len(), 1);
        // The xor and the cpuid are not enough: the mov eax too.
        assert_eq!(s[0].at, 0x1000);
        assert_eq!(s[0].orig, code[..9]);
        assert_eq!(&s[0].stub[..7], &[0xb8, 1, 0, 0, 0, 0x31, 0xc9]);
        let n = s[0].stub.len();
        let back = PAGE + n as i64 + i32::from_le_bytes(s[0].stub[n - 4..].try_into().unwrap()) as i64;
        assert_eq!(back, 0x1009);
    }

    #[test]
    fn no_window_where_branches_land_on_both_sides() {
        // L1: xor ecx, ecx; cpuid; L2: mov edx, eax; jmp L2; jmp L1
        // (the xor alone is too short before, a target after)
        let code = [&XOR_ECX[..], &CPUID, &MOV_EDX_EAX, &[0xeb, 0xfc], &[0xeb, 0xf6]].concat();
        assert!(sites(&code, &[]).is_empty());
        // A branch to the CPUID itself: nothing before it may move.
        let code = [&MOV_EAX_1[..], &CPUID, &[RET], &[0xeb, 0xfb]].concat();
        assert!(sites(&code, &[]).is_empty());
    }

    #[test]
    fn a_jump_table_entry_inside_the_window_refuses_the_site() {
        // 0x1000: lea rdx, [rip + table]; movsxd rax, [rdx + rcx*4];
        //         add rax, rdx; jmp rax
        // then cpuid; mov edx, eax; mov edx, eax; ret.
        let table_at = 0x2000u64;
        let mut code = Vec::new();
        code.extend_from_slice(&[0x48, 0x8d, 0x15, 0, 0, 0, 0]);
        let disp = (table_at as i64 - (0x1000 + 7)) as i32;
        code[3..7].copy_from_slice(&disp.to_le_bytes());
        code.extend_from_slice(&[0x48, 0x63, 0x04, 0x8a]);
        code.extend_from_slice(&[0x48, 0x01, 0xd0]);
        code.extend_from_slice(&[0xff, 0xe0]);
        let cpuid_at = 0x1000 + code.len() as u64;
        code.extend_from_slice(&[&CPUID[..], &MOV_EDX_EAX, &MOV_EDX_EAX, &[RET]].concat());
        let entry = |target: u64| ((target as i64 - table_at as i64) as i32).to_le_bytes();
        // An entry to the CPUID itself is harmless; one to the move after
        // it is not.
        assert_eq!(sites(&code, &entry(cpuid_at)).len(), 1);
        let s = sites(&code, &[entry(cpuid_at), entry(cpuid_at + 2)].concat());
        assert!(s.is_empty(), "{s:?}");
    }

    #[test]
    fn an_unreadable_table_refuses_sites_nearby() {
        // movsxd rax, [rdx + rcx*4] with no lea of rdx; jmp rax; cpuid...
        let code = [&[0x48, 0x63, 0x04, 0x8a, 0xff, 0xe0][..], &CPUID, &MOV_EDX_EAX, &MOV_EDX_EAX, &[RET]].concat();
        assert!(sites(&code, &[]).is_empty());
    }

    #[test]
    fn sites_do_not_overlap_and_code_must_decode() {
        // cpuid; mov edx, eax; mov edx, eax; cpuid; mov edx, eax; ...
        let one = [&CPUID[..], &MOV_EDX_EAX, &MOV_EDX_EAX].concat();
        let code = [&one[..], &one, &[RET]].concat();
        let s = sites(&code, &[]);
        assert_eq!(s.iter().map(|s| s.at).collect::<Vec<_>>(), [0x1000, 0x1006]);
        assert_eq!(count(&[(0x1000, &code[..])]), Some(2));
        assert!(plan(&[(0x1000, &[0x0f, 0xff][..])], &[], PAGE).is_none());
    }
}
