//! Binding a symbol reference to a definition, as ld.so's `do_lookup_x`
//! does over a lookup scope. The loader and `shimctl inspect` both bind
//! through here, so what the tool reports is what the loader does.

use crate::elf;
use crate::symtab::{Name, SymTab, Want};

/// The relocation classes of ld.so's lookup.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Class {
    Normal,
    /// JUMP_SLOT and the TLS relocations: an executable's PLT entries
    /// (undefined symbols with a value) don't define anything.
    Plt,
    /// COPY: the executable itself is not searched.
    Copy,
}

impl Class {
    /// The class of a relocation type.
    pub fn of(kind: u32) -> Class {
        match kind {
            elf::R_X86_64_JUMP_SLOT
            | elf::R_X86_64_DTPMOD64
            | elf::R_X86_64_DTPOFF64
            | elf::R_X86_64_TPOFF64
            | elf::R_X86_64_TLSDESC => Class::Plt,
            elf::R_X86_64_COPY => Class::Copy,
            _ => Class::Normal,
        }
    }
}

/// A reference's binding as the resolution cache keeps it: the defining
/// object and symbol, and the symbol's value (an offset in its object, so
/// no address: the cache holds for any load addresses).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// The reference: symbol index and class (see `key`).
    pub key: u32,
    pub obj: u16,
    pub flags: u16,
    pub sym: u32,
    /// The symbol's st_value (meaningful with PLAIN, which a value past
    /// 4 GiB does not get).
    pub value: u32,
}

// SAFETY: integer fields with no padding (16 bytes); any bytes are a valid
// Entry.
unsafe impl crate::elf::Pod for Entry {}

impl Entry {
    /// The address is the defining object's base plus `value` (not an
    /// IFUNC, not thread-local, not absolute).
    pub const PLAIN: u16 = 1;
    /// No definition: a weak reference left undefined.
    pub const NO_SYM: u16 = 2;
    /// A PLT reference of a lazily bound object that no lookup resolved: it
    /// stays to lazy binding (which reports it if it is ever called). Never
    /// a binding for a reference that must be resolved at start-up.
    pub const LAZY: u16 = 4;
}

/// The key of a reference: symbol index and class. Never 0.
#[inline]
pub fn key(idx: u32, class: Class) -> u32 {
    let c = match class {
        Class::Normal => 1,
        Class::Plt => 2,
        Class::Copy => 3,
    };
    (idx << 2) | c
}

/// One object of a lookup scope.
#[derive(Clone, Copy)]
pub struct Candidate<'t, 'a> {
    /// The object's index, returned with a definition.
    pub idx: usize,
    pub syms: &'t SymTab<'a>,
    /// The main program (not searched for COPY relocations).
    pub exec: bool,
}

/// The first definition of `name` in `scope`, in order: object index and
/// symbol index. Hidden and internal definitions do not count. With
/// `dynamic_weak` (LD_DYNAMIC_WEAK) a weak definition yields to a later
/// global one. `visit` sees each object before it is searched; a
/// definition it returns ends the lookup there (the loader's replacements
/// for functions of the glibc core).
pub fn first_definition<'t, 'a>(
    scope: impl Iterator<Item = Candidate<'t, 'a>>,
    name: &mut Name,
    want: &Want,
    class: Class,
    dynamic_weak: bool,
    mut visit: impl FnMut(usize) -> Option<(usize, u32)>,
) -> Option<(usize, u32)>
where
    'a: 't,
{
    let mut weak = None;
    for c in scope {
        if class == Class::Copy && c.exec {
            continue;
        }
        if let Some(d) = visit(c.idx) {
            return Some(d);
        }
        let Some(j) = c.syms.lookup(name, want) else { continue };
        let s = &c.syms.syms[j as usize];
        if matches!(s.visibility(), elf::STV_HIDDEN | elf::STV_INTERNAL) {
            continue;
        }
        if dynamic_weak && s.bind() == elf::STB_WEAK {
            weak = weak.or(Some((c.idx, j)));
            continue;
        }
        return Some((c.idx, j));
    }
    weak
}

/// Sonames of the glibc family that belong to the glibc core even without
/// GLIBC_PRIVATE imports, and libgcc_s, the one unwinder of the process.
/// The core is what glibc's own ld.so loads in a glibc program; shimld
/// loads the rest (see the loader's rt::handover).
pub const CORE_SONAMES: &[&[u8]] = &[
    b"libc.so.6",
    b"libpthread.so.0",
    b"libdl.so.2",
    b"libm.so.6",
    b"librt.so.1",
    b"libresolv.so.2",
    b"libutil.so.1",
    b"libanl.so.1",
    b"libnsl.so.1",
    b"libBrokenLocale.so.1",
    b"libgcc_s.so.1",
];

/// Whether a glibc program, by what its file says, can be run by its own
/// ld.so alone (the loader's rt::handover::ldso_alone adds what the
/// options and the environment say): every DT_NEEDED names a core library
/// (which ld.so would find where shimld's search finds it, RPATH, RUNPATH
/// and LD_LIBRARY_PATH included), it is no filter (`filter`), and it
/// imports no function shimld replaces (`replaced`). Its every reference
/// would then be bound where ld.so binds it. (Without a hash table the
/// symbol count, and so the imports, are unknown: no.)
pub fn ldso_alone<'a>(
    needed: impl IntoIterator<Item = Option<&'a [u8]>>,
    filter: bool,
    syms: &crate::symtab::SymTab<'a>,
    replaced: impl Fn(&[u8]) -> bool,
) -> bool {
    let mut needed = needed.into_iter().peekable();
    let core_only = needed.peek().is_some() && needed.all(|n| n.is_some_and(|n| CORE_SONAMES.contains(&n)));
    // (An undefined symbol that may not be looked up, local or hidden, or
    // whose version index no table gives, is a damaged table that ld.so
    // would bind to the object's own address 0 or to an old version:
    // shimld is to report it.)
    let needs_shimld = || {
        syms.syms.iter().enumerate().skip(1).any(|(i, s)| {
            s.st_shndx == elf::SHN_UNDEF
                && (s.bind() == elf::STB_LOCAL
                    || matches!(s.visibility(), elf::STV_HIDDEN | elf::STV_INTERNAL)
                    || syms.version_missing(i as u32)
                    || syms.name(i as u32).is_none_or(|n| OVERRIDES.contains(&n) || replaced(n)))
        })
    };
    core_only && !filter && syms.has_hash() && !needs_shimld()
}

/// The functions of the glibc core that shimld's own definitions replace
/// for the objects shimld loads: the dl* family, which must see shimld's
/// objects.
pub const OVERRIDES: &[&[u8]] = &[
    b"dlopen",
    b"dlmopen",
    b"dlsym",
    b"dlvsym",
    b"dlclose",
    b"dlerror",
    b"dladdr",
    b"dladdr1",
    b"dlinfo",
    b"dl_iterate_phdr",
    b"_dl_find_object",
];

/// Encodes ascending, 8-aligned relocation offsets as a DT_RELR table (an
/// address word, then bitmap words for the 63 slots that follow each
/// window). The resolution cache keeps an object's leading RELATIVE
/// relocations this way, a few percent of their RELA size.
#[derive(Default)]
pub struct RelrEncoder {
    pub words: alloc::vec::Vec<u64>,
    /// The first slot of the current bitmap window (after an address word).
    base: u64,
    bitmap: u64,
    started: bool,
    /// Cleared by an offset the format cannot hold (unaligned, out of order).
    pub ok: bool,
    pub count: usize,
}

impl RelrEncoder {
    pub fn new() -> RelrEncoder {
        RelrEncoder { ok: true, ..Default::default() }
    }

    /// Adds the next offset.
    #[inline]
    pub fn push(&mut self, off: u64) {
        if !self.ok || off % 8 != 0 {
            self.ok = false;
            return;
        }
        self.count += 1;
        if !self.started {
            self.started = true;
            self.words.push(off);
            self.base = off + 8;
            return;
        }
        loop {
            if off < self.base {
                self.ok = false;
                return;
            }
            if off - self.base < 63 * 8 {
                self.bitmap |= 1 << ((off - self.base) / 8 + 1);
                return;
            }
            if self.bitmap != 0 {
                self.words.push(self.bitmap | 1);
                self.bitmap = 0;
                self.base += 63 * 8;
            } else {
                self.words.push(off);
                self.base = off + 8;
                return;
            }
        }
    }

    /// The table, or None if an offset could not be encoded.
    pub fn finish(mut self) -> Option<(alloc::vec::Vec<u64>, usize)> {
        if self.bitmap != 0 {
            self.words.push(self.bitmap | 1);
        }
        self.ok.then_some((self.words, self.count))
    }
}

/// Calls `f` with each offset a DT_RELR table relocates, in order, and
/// stops at its first error. The one decoder of the format (the loader
/// applies and checks tables with it; tools list them).
#[inline]
pub fn relr_for_each<E>(words: &[u64], mut f: impl FnMut(u64) -> Result<(), E>) -> Result<(), E> {
    let mut at = 0u64;
    for &e in words {
        if e & 1 == 0 {
            f(e)?;
            at = e.wrapping_add(8);
        } else {
            // Set bits only, lowest first (as rt::x86_64::relr decodes).
            let mut bits = e >> 1;
            while bits != 0 {
                f(at.wrapping_add(8 * bits.trailing_zeros() as u64))?;
                bits &= bits - 1;
            }
            at = at.wrapping_add(63 * 8);
        }
    }
    Ok(())
}

/// The offsets a DT_RELR table relocates, in order (for tests and tools).
pub fn relr_offsets(words: &[u64]) -> alloc::vec::Vec<u64> {
    let mut v = alloc::vec::Vec::new();
    let _ = relr_for_each(words, |off| {
        v.push(off);
        Ok::<(), core::convert::Infallible>(())
    });
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relr_round_trip() {
        let cases: [&[u64]; 5] = [
            &[],
            &[0x1000],
            &[0x1000, 0x1008, 0x1010, 0x1200, 0x1208],
            // Gaps of exactly one window, more than one, and slot 63.
            &[0x2000, 0x2008 + 62 * 8, 0x2008 + 63 * 8, 0x2008 + 200 * 8, 0x9000],
            &[8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104],
        ];
        for offs in cases {
            let mut e = RelrEncoder::new();
            for &o in offs {
                e.push(o);
            }
            let (words, n) = e.finish().unwrap();
            assert_eq!(n, offs.len());
            assert_eq!(relr_offsets(&words), offs.to_vec(), "{words:x?}");
        }
        // Dense runs compress about 21:1 or better.
        let offs: alloc::vec::Vec<u64> = (0..6300u64).map(|i| 0x4000 + 8 * i).collect();
        let mut e = RelrEncoder::new();
        offs.iter().for_each(|&o| e.push(o));
        let (words, _) = e.finish().unwrap();
        assert!(words.len() <= 101, "{}", words.len());
        assert_eq!(relr_offsets(&words), offs);
        // Sparse and irregular bitmaps: every subset of slots, in many
        // windows (a pseudo-random walk of steps of 1 to 40 slots).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut at = 0x10_0000u64;
        let mut offs = alloc::vec::Vec::new();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            at += 8 * (1 + x % 40);
            offs.push(at);
        }
        let mut e = RelrEncoder::new();
        offs.iter().for_each(|&o| e.push(o));
        let (words, n) = e.finish().unwrap();
        assert_eq!(n, offs.len());
        assert_eq!(relr_offsets(&words), offs);
        // What RELR cannot say.
        for bad in [&[0x1000u64, 0x1000][..], &[0x1008, 0x1000], &[0x1004]] {
            let mut e = RelrEncoder::new();
            bad.iter().for_each(|&o| e.push(o));
            assert!(e.finish().is_none(), "{bad:x?}");
        }
    }
}
