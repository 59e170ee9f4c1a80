//! One object's dynamic symbols: the GNU and SysV hash tables, symbol
//! versions, and matching a symbol reference against a definition.
//!
//! Tables come from a file or a mapped object and are validated once, when
//! the [`SymTab`] is built: after that every index is bounds-checked and every
//! hash chain walk is bounded by the table size, so a damaged table can make a
//! lookup fail but never loop or read out of bounds.

use crate::dynamic::DynInfo;
use crate::elf::{self, Sym, Verdaux, Verdef, Vernaux, Verneed};
use crate::image::Image;
use alloc::vec::Vec;

/// The most symbols one object may have.
pub const MAX_SYMS: u64 = 1 << 24;
/// The most version definitions or requirements one object may have.
pub const MAX_VERSIONS: u64 = 1 << 14;

/// The GNU hash (`dl_new_hash`).
pub fn gnu_hash(name: &[u8]) -> u32 {
    // h = h * 33 + c, four bytes a step: the products of the four bytes are
    // independent, so the step is not one multiply-add chain per byte (C++
    // names run to hundreds of bytes; the result is the same).
    let mut h = 5381u32;
    let mut quads = name.chunks_exact(4);
    for q in &mut quads {
        h = h
            .wrapping_mul(33 * 33 * 33 * 33)
            .wrapping_add((q[0] as u32).wrapping_mul(33 * 33 * 33))
            .wrapping_add((q[1] as u32).wrapping_mul(33 * 33))
            .wrapping_add((q[2] as u32).wrapping_mul(33))
            .wrapping_add(q[3] as u32);
    }
    quads.remainder().iter().fold(h, |h, &c| h.wrapping_mul(33).wrapping_add(c as u32))
}

/// The two bits a GNU hash table's Bloom filter word has set for a name of
/// hash `h` that the object may define (`shift`: the table's second shift).
#[inline]
pub fn bloom_bits(h: u32, shift: u32) -> u64 {
    (1u64 << (h % 64)) | (1u64 << (h.wrapping_shr(shift) % 64))
}

/// The SysV ELF hash.
pub fn sysv_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(c as u32);
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// A symbol name with its hashes, computed once per lookup.
#[derive(Clone, Copy, Debug)]
pub struct Name<'n> {
    pub bytes: &'n [u8],
    pub gnu: u32,
    sysv: Option<u32>,
}

impl<'n> Name<'n> {
    pub fn new(bytes: &'n [u8]) -> Name<'n> {
        Name { bytes, gnu: gnu_hash(bytes), sysv: None }
    }
    fn sysv(&mut self) -> u32 {
        *self.sysv.get_or_insert_with(|| sysv_hash(self.bytes))
    }
}

#[derive(Clone, Copy, Debug)]
struct GnuHash<'a> {
    symoffset: u32,
    shift: u32,
    bloom: &'a [u64],
    buckets: &'a [u32],
    /// Chain values for symbols symoffset.. (index - symoffset).
    chains: &'a [u32],
}

#[derive(Clone, Copy, Debug)]
struct SysvHash<'a> {
    buckets: &'a [u32],
    chains: &'a [u32],
}

/// A version name defined or required by an object, by version index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version<'a> {
    pub name: &'a [u8],
    pub hash: u32,
    /// For a requirement: the file (soname) it is required from; `None` for
    /// a definition.
    pub file: Option<&'a [u8]>,
    /// A requirement marked hidden, or a definition's hidden flag.
    pub hidden: bool,
    /// A weak requirement (VER_FLG_WEAK).
    pub weak: bool,
}

/// What a symbol reference asks for.
#[derive(Clone, Copy, Debug)]
pub struct Want<'a> {
    /// The version required, if the reference is versioned.
    pub version: Option<Version<'a>>,
    /// The reference comes from a PLT-class relocation: definitions that are
    /// only PLT entries of an executable (undefined, with a value) don't count.
    pub plt: bool,
    /// An unversioned lookup that wants the default (newest) version, as
    /// `dlsym` does, rather than the oldest, as a relocation does.
    pub newest: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymError {
    BadSymtab,
    BadHash,
    BadVersions,
    NoHash,
}

impl SymError {
    pub fn message(&self) -> &'static str {
        match self {
            SymError::BadSymtab => "symbol table lies outside the loaded segments",
            SymError::BadHash => "malformed symbol hash table",
            SymError::BadVersions => "malformed symbol version tables",
            SymError::NoHash => "no symbol hash table",
        }
    }
}

/// An object's dynamic symbol table with its hash and version tables.
#[derive(Clone, Debug)]
pub struct SymTab<'a> {
    pub syms: &'a [Sym],
    pub strtab: &'a [u8],
    gnu: Option<GnuHash<'a>>,
    sysv: Option<SysvHash<'a>>,
    /// One entry per symbol, if the object has DT_VERSYM.
    pub versym: Option<&'a [u16]>,
    /// Versions by index (both definitions and requirements).
    pub versions: Vec<Option<Version<'a>>>,
    /// The object defines versions (DT_VERDEF).
    pub has_verdef: bool,
}

/// The result of matching one candidate symbol.
enum Match {
    Yes,
    No,
    /// An acceptable default for an unversioned reference if it turns out to
    /// be the only versioned definition of the name.
    OnlyVersion,
}

impl<'a> SymTab<'a> {
    /// Builds the symbol table of an object from its dynamic section.
    pub fn new(image: &Image<'a>, d: &DynInfo, strtab: &'a [u8]) -> Result<SymTab<'a>, SymError> {
        if d.symtab == 0 {
            return Ok(SymTab::empty(strtab));
        }
        if d.syment != 0 && d.syment != core::mem::size_of::<Sym>() as u64 {
            return Err(SymError::BadSymtab);
        }
        let mut nsyms: Option<u64> = None;
        let mut gnu = None;
        let mut sysv = None;
        if d.gnu_hash != 0 {
            let (g, n) = gnu_table(image, d.gnu_hash)?;
            gnu = Some(g);
            nsyms = Some(n);
        }
        if d.hash != 0 {
            let hdr: &[u32] = image.table(d.hash, 2).ok_or(SymError::BadHash)?;
            let (nbucket, nchain) = (hdr[0] as u64, hdr[1] as u64);
            if nchain > MAX_SYMS || nbucket > MAX_SYMS {
                return Err(SymError::BadHash);
            }
            let all: &[u32] = image.table(d.hash, 2 + nbucket + nchain).ok_or(SymError::BadHash)?;
            let buckets = &all[2..2 + nbucket as usize];
            let chains = &all[2 + nbucket as usize..];
            sysv = Some(SysvHash { buckets, chains });
            nsyms = Some(nsyms.map_or(nchain, |n| n.max(nchain)));
        }
        // The hash tables count only hashed symbols (an executable's GNU hash
        // may leave undefined symbols out entirely), so also take the usual
        // layout, where the string table follows the symbol table, and then
        // whatever of that lies inside the segment.
        let from_layout = if d.strtab.addr > d.symtab { (d.strtab.addr - d.symtab) / 24 } else { 0 };
        let hashed = match nsyms {
            Some(n) => n,
            None if from_layout > 0 => 0,
            None => return Err(SymError::NoHash),
        };
        let want = hashed.max(from_layout).min(MAX_SYMS);
        let avail = image.bytes_upto(d.symtab, want * 24).ok_or(SymError::BadSymtab)?;
        let nsyms = avail.len() as u64 / 24;
        if nsyms < hashed {
            return Err(SymError::BadSymtab);
        }
        let syms: &[Sym] = image.table(d.symtab, nsyms).ok_or(SymError::BadSymtab)?;
        // Version needs or definitions with no symbol versions to tie them
        // to: a damaged table (ld.so would bind every reference unversioned,
        // to the oldest of several versions).
        if d.versym == 0 && (d.verneed != 0 || d.verdef != 0) {
            return Err(SymError::BadVersions);
        }
        let versym = if d.versym != 0 {
            let avail = image.bytes_upto(d.versym, nsyms * 2).ok_or(SymError::BadVersions)?;
            Some(image.table::<u16>(d.versym, avail.len() as u64 / 2).ok_or(SymError::BadVersions)?)
        } else {
            None
        };
        let mut t = SymTab { syms, strtab, gnu, sysv, versym, versions: Vec::new(), has_verdef: false };
        t.read_versions(image, d)?;
        Ok(t)
    }

    /// A table with no symbols.
    pub fn empty(strtab: &'a [u8]) -> SymTab<'a> {
        SymTab { syms: &[], strtab, gnu: None, sysv: None, versym: None, versions: Vec::new(), has_verdef: false }
    }

    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// The index of `s`, if it is a symbol of this table.
    pub fn index_of(&self, s: &Sym) -> Option<u32> {
        let at = (s as *const Sym as usize).wrapping_sub(self.syms.as_ptr() as usize);
        let i = at / core::mem::size_of::<Sym>();
        (at.is_multiple_of(core::mem::size_of::<Sym>()) && i < self.syms.len()).then_some(i as u32)
    }

    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    pub fn has_hash(&self) -> bool {
        self.gnu.is_some() || self.sysv.is_some()
    }

    /// The name of symbol `i`.
    pub fn name(&self, i: u32) -> Option<&'a [u8]> {
        let s = self.syms.get(i as usize)?;
        elf::cstr(self.strtab, s.st_name as usize)
    }

    /// The version index of symbol `i` (0 if unversioned).
    pub fn version_index(&self, i: u32) -> u16 {
        self.versym.and_then(|v| v.get(i as usize).copied()).unwrap_or(0)
    }

    /// The version a reference through symbol `i` of this object asks for.
    pub fn wanted_version(&self, i: u32) -> Option<Version<'a>> {
        let ndx = self.version_index(i) & elf::VERSYM_VERSION;
        if ndx < 2 {
            return None;
        }
        self.versions.get(ndx as usize).copied().flatten()
    }

    /// Whether symbol `i` names a version index that no version need or
    /// definition of this object gives (a damaged table: the reference
    /// would be looked up unversioned, perhaps finding an old version).
    pub fn version_missing(&self, i: u32) -> bool {
        let ndx = self.version_index(i) & elf::VERSYM_VERSION;
        ndx >= 2 && self.versions.get(ndx as usize).copied().flatten().is_none()
    }

    fn set_version(&mut self, ndx: u16, v: Version<'a>) -> Result<(), SymError> {
        let ndx = (ndx & elf::VERSYM_VERSION) as usize;
        if self.versions.len() <= ndx {
            self.versions.resize(ndx + 1, None);
        }
        self.versions[ndx] = Some(v);
        Ok(())
    }

    fn read_versions(&mut self, image: &Image<'a>, d: &DynInfo) -> Result<(), SymError> {
        let strtab = self.strtab;
        let name_at = |off: u32| elf::cstr(strtab, off as usize).ok_or(SymError::BadVersions);
        if d.verneed != 0 {
            let mut addr = d.verneed;
            for _ in 0..d.verneednum.min(MAX_VERSIONS) {
                let vn: Verneed = image.read(addr).ok_or(SymError::BadVersions)?;
                let file = name_at(vn.vn_file)?;
                let mut aux_addr = addr.checked_add(vn.vn_aux as u64).ok_or(SymError::BadVersions)?;
                for _ in 0..vn.vn_cnt {
                    let a: Vernaux = image.read(aux_addr).ok_or(SymError::BadVersions)?;
                    let v = Version {
                        name: name_at(a.vna_name)?,
                        hash: a.vna_hash,
                        file: Some(file),
                        hidden: a.vna_other & elf::VERSYM_HIDDEN != 0,
                        weak: a.vna_flags & elf::VER_FLG_WEAK != 0,
                    };
                    self.set_version(a.vna_other, v)?;
                    if a.vna_next == 0 {
                        break;
                    }
                    aux_addr = aux_addr.checked_add(a.vna_next as u64).ok_or(SymError::BadVersions)?;
                }
                if vn.vn_next == 0 {
                    break;
                }
                addr = addr.checked_add(vn.vn_next as u64).ok_or(SymError::BadVersions)?;
            }
        }
        if d.verdef != 0 {
            self.has_verdef = true;
            let mut addr = d.verdef;
            for _ in 0..d.verdefnum.min(MAX_VERSIONS) {
                let vd: Verdef = image.read(addr).ok_or(SymError::BadVersions)?;
                let aux_addr = addr.checked_add(vd.vd_aux as u64).ok_or(SymError::BadVersions)?;
                let a: Verdaux = image.read(aux_addr).ok_or(SymError::BadVersions)?;
                let v = Version {
                    name: name_at(a.vda_name)?,
                    hash: vd.vd_hash,
                    file: None,
                    hidden: false,
                    weak: vd.vd_flags & elf::VER_FLG_WEAK != 0,
                };
                // The base definition (the object's own name) is never a
                // symbol's version.
                if vd.vd_flags & elf::VER_FLG_BASE == 0 {
                    self.set_version(vd.vd_ndx, v)?;
                }
                if vd.vd_next == 0 {
                    break;
                }
                addr = addr.checked_add(vd.vd_next as u64).ok_or(SymError::BadVersions)?;
            }
        }
        Ok(())
    }

    /// Whether this object defines version `name` (for the start-up version
    /// check).
    pub fn defines_version(&self, name: &[u8], hash: u32) -> bool {
        self.versions.iter().flatten().any(|v| v.file.is_none() && v.hash == hash && v.name == name)
    }

    /// The versions this object requires of others (its verneed entries).
    pub fn requirements(&self) -> impl Iterator<Item = Version<'a>> + '_ {
        self.versions.iter().flatten().copied().filter(|v| v.file.is_some())
    }

    /// Finds the definition of `name` in this object that satisfies `want`,
    /// by symbol index. Local symbols are not definitions.
    /// The GNU hash table's Bloom filter and its second shift, if there is
    /// a table.
    pub fn bloom(&self) -> Option<(&'a [u64], u32)> {
        self.gnu.as_ref().map(|g| (g.bloom, g.shift))
    }

    /// Whether the table may define a name of GNU hash `h`: false only
    /// when its GNU Bloom filter rejects the name, as `lookup` would
    /// first. (A table without a GNU hash table may define anything.)
    #[inline]
    pub fn may_define(&self, h: u32) -> bool {
        let Some(g) = &self.gnu else { return true };
        let nwords = g.bloom.len() as u32;
        if nwords == 0 {
            return false;
        }
        let bits = bloom_bits(h, g.shift);
        g.bloom[((h / 64) % nwords) as usize] & bits == bits
    }

    pub fn lookup(&self, name: &mut Name, want: &Want) -> Option<u32> {
        let sysv = if self.gnu.is_none() && self.sysv.is_some() { name.sysv() } else { 0 };
        let name = &*name;
        let mut only_version = None;
        let mut versions_seen = 0u32;
        let mut found = None;
        let mut check = |i: u32| -> bool {
            match self.check(i, name.bytes, want) {
                Match::Yes => {
                    found = Some(i);
                    true
                }
                Match::OnlyVersion => {
                    if versions_seen == 0 {
                        only_version = Some(i);
                    }
                    versions_seen += 1;
                    false
                }
                Match::No => false,
            }
        };
        if let Some(g) = &self.gnu {
            let h = name.gnu;
            if !self.may_define(h) || g.buckets.is_empty() {
                return None;
            }
            let mut i = *g.buckets.get((h % g.buckets.len() as u32) as usize)?;
            if i == 0 || i < g.symoffset {
                return None;
            }
            loop {
                let c = *g.chains.get((i - g.symoffset) as usize)?;
                if (c ^ h) >> 1 == 0 && check(i) {
                    break;
                }
                if c & 1 != 0 {
                    break;
                }
                i = i.checked_add(1)?;
            }
        } else if let Some(s) = &self.sysv {
            let h = sysv;
            if s.buckets.is_empty() {
                return None;
            }
            let mut i = s.buckets[(h % s.buckets.len() as u32) as usize];
            // A chain visits each symbol at most once; more steps mean a loop.
            let mut steps = s.chains.len();
            while i != 0 && steps > 0 {
                if check(i) {
                    break;
                }
                i = *s.chains.get(i as usize)?;
                steps -= 1;
            }
        }
        match found {
            Some(i) => Some(i),
            None if versions_seen == 1 => only_version,
            None => None,
        }
    }

    /// Matches symbol `i` against a reference to `name` (glibc's check_match).
    fn check(&self, i: u32, name: &[u8], want: &Want) -> Match {
        let Some(sym) = self.syms.get(i as usize) else {
            return Match::No;
        };
        let kind = sym.kind();
        if sym.st_value == 0 && sym.st_shndx != elf::SHN_ABS && kind != elf::STT_TLS {
            return Match::No;
        }
        if want.plt && sym.st_shndx == elf::SHN_UNDEF {
            return Match::No;
        }
        if !matches!(
            kind,
            elf::STT_NOTYPE | elf::STT_OBJECT | elf::STT_FUNC | elf::STT_COMMON | elf::STT_TLS | elf::STT_GNU_IFUNC
        ) {
            return Match::No;
        }
        if !matches!(sym.bind(), elf::STB_GLOBAL | elf::STB_WEAK | elf::STB_GNU_UNIQUE) {
            return Match::No;
        }
        if !elf::cstr_is(self.strtab, sym.st_name as usize, name) {
            return Match::No;
        }
        let Some(versym) = self.versym else {
            return Match::Yes;
        };
        let raw = versym.get(i as usize).copied().unwrap_or(0);
        let ndx = raw & elf::VERSYM_VERSION;
        let hidden = raw & elf::VERSYM_HIDDEN != 0;
        match &want.version {
            Some(v) => {
                let def = self.versions.get(ndx as usize).copied().flatten();
                let same = def.is_some_and(|d| d.hash == v.hash && d.name == v.name);
                // A versioned reference also accepts an unversioned global
                // definition of a versioned object, unless either is hidden.
                if same || (!v.hidden && def.is_none() && !hidden) {
                    Match::Yes
                } else {
                    Match::No
                }
            }
            None => {
                // An unversioned reference takes an unversioned symbol or the
                // first defined version; a later version only if it is the one
                // non-hidden version of the name.
                if ndx >= if want.newest { 2 } else { 3 } {
                    if hidden {
                        Match::No
                    } else {
                        Match::OnlyVersion
                    }
                } else {
                    Match::Yes
                }
            }
        }
    }
}

/// Validates a GNU hash table and returns it with the number of symbols it
/// implies.
fn gnu_table<'a>(image: &Image<'a>, addr: u64) -> Result<(GnuHash<'a>, u64), SymError> {
    let hdr: &[u32] = image.table(addr, 4).ok_or(SymError::BadHash)?;
    let (nbuckets, symoffset, bloom_size, shift) = (hdr[0] as u64, hdr[1], hdr[2] as u64, hdr[3]);
    // (glibc's ld.so asserts that the Bloom filter's size is a power of two.)
    if nbuckets > MAX_SYMS
        || bloom_size > MAX_SYMS
        || symoffset as u64 > MAX_SYMS
        || bloom_size & bloom_size.wrapping_sub(1) != 0
    {
        return Err(SymError::BadHash);
    }
    let bloom_addr = addr + 16;
    let bloom: &[u64] = image.table(bloom_addr, bloom_size).ok_or(SymError::BadHash)?;
    let buckets_addr = bloom_addr + bloom_size * 8;
    let buckets: &[u32] = image.table(buckets_addr, nbuckets).ok_or(SymError::BadHash)?;
    let chains_addr = buckets_addr + nbuckets * 4;
    // The chains run from symoffset to the last symbol; find the last symbol
    // by following the chain of the highest bucket to its end marker.
    let max_start = buckets.iter().copied().max().unwrap_or(0);
    let nsyms = if max_start < symoffset {
        symoffset as u64
    } else {
        let avail = image.bytes_upto(chains_addr, MAX_SYMS * 4).ok_or(SymError::BadHash)?;
        let avail: &[u32] = elf::slice(avail, 0, avail.len() / 4).ok_or(SymError::BadHash)?;
        let mut i = max_start;
        loop {
            let c = *avail.get((i - symoffset) as usize).ok_or(SymError::BadHash)?;
            if c & 1 != 0 {
                break;
            }
            i = i.checked_add(1).ok_or(SymError::BadHash)?;
        }
        i as u64 + 1
    };
    let chains: &[u32] = image.table(chains_addr, nsyms.saturating_sub(symoffset as u64)).ok_or(SymError::BadHash)?;
    Ok((GnuHash { symoffset, shift, bloom, buckets, chains }, nsyms))
}

#[cfg(test)]
mod tests {
    use super::gnu_hash;

    /// The hash as the GNU hash section defines it: h = h * 33 + c.
    fn byte_at_a_time(name: &[u8]) -> u32 {
        name.iter().fold(5381u32, |h, &c| h.wrapping_mul(33).wrapping_add(c as u32))
    }

    #[test]
    fn gnu_hash_four_bytes_a_step_is_the_same_hash() {
        assert_eq!(gnu_hash(b""), 5381);
        assert_eq!(gnu_hash(b"printf"), 0x156b_2bb8);
        assert_eq!(gnu_hash(b"exit"), 0x7c96_7e3f);
        // Every length up to 300 and every byte value, in varying mixes.
        let mut x = 0x2545_f491u32;
        for len in 0..300 {
            let name: alloc::vec::Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            assert_eq!(gnu_hash(&name), byte_at_a_time(&name), "length {len}");
        }
    }
}
