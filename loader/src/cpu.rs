//! CPU features that steer the library search: the x86-64 micro-architecture
//! level that decides which glibc-hwcaps subdirectories are tried.

use core::arch::asm;

fn cpuid(leaf: u32, sub: u32) -> (u32, u32, u32, u32) {
    let r = core::arch::x86_64::__cpuid_count(leaf, sub);
    (r.eax, r.ebx, r.ecx, r.edx)
}

/// The x86-64 micro-architecture level (1-4) as glibc 2.36 decides which
/// glibc-hwcaps subdirectories are active. Costs several CPUID traps, so
/// it is only asked for when such a directory exists.
pub fn level() -> u8 {
    let (max, _, _, _) = cpuid(0, 0);
    let (_, _, c1, _) = cpuid(1, 0);
    let (_, b7, _, _) = if max >= 7 { cpuid(7, 0) } else { (0, 0, 0, 0) };
    let (maxext, _, _, _) = cpuid(0x8000_0000, 0);
    let (_, _, ce, _) = if maxext >= 0x8000_0001 { cpuid(0x8000_0001, 0) } else { (0, 0, 0, 0) };
    let bit = |r: u32, n: u32| r & (1 << n) != 0;
    let xcr0 = if bit(c1, 27) { xgetbv() } else { 0 };
    let avx_os = xcr0 & 0x6 == 0x6;
    let avx512_os = xcr0 & 0xe6 == 0xe6;
    let v2 = bit(c1, 13) && bit(ce, 0) && bit(c1, 23) && bit(c1, 0) && bit(c1, 9) && bit(c1, 19) && bit(c1, 20);
    let v3 = v2 && avx_os && bit(c1, 28) && bit(b7, 5) && bit(c1, 29) && bit(c1, 12) && bit(ce, 5) && bit(c1, 22);
    let v4 = v3 && avx512_os && bit(b7, 16) && bit(b7, 30) && bit(b7, 28) && bit(b7, 17) && bit(b7, 31);
    match (v2, v3, v4) {
        (_, _, true) => 4,
        (_, true, _) => 3,
        (true, _, _) => 2,
        _ => 1,
    }
}

fn xgetbv() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: only called when CPUID reports OSXSAVE, so XGETBV exists.
    unsafe { asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    ((hi as u64) << 32) | lo as u64
}
