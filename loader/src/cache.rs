//! The `ld.so.cache` reader (glibc's `glibc-ld.so.cache1.1` format).
//!
//! The cache may come from another distribution's root, so it is hostile
//! input: every offset is checked against the file, and a malformed cache is
//! treated as absent rather than trusted in part.

use crate::elf;

const MAGIC: &[u8; 20] = b"glibc-ld.so.cache1.1";
const HEADER_SIZE: usize = 48;
const ENTRY_SIZE: usize = 24;
const EXT_MAGIC: u32 = 0xeaa4_2174;
const EXT_TAG_HWCAPS: u32 = 1;
/// Flags of an x86-64 libc6 entry (FLAG_ELF_LIBC6 | FLAG_X8664_LIB64).
pub const FLAGS_X86_64: i32 = 0x0303;
/// hwcap bit 62: the low 32 bits index the glibc-hwcaps subdirectory table.
const HWCAP_EXTENSION: u64 = 1 << 62;

/// One cache entry, as stored.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub flags: i32,
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub hwcap: u64,
    /// The glibc-hwcaps subdirectory this entry is for, if any.
    pub hwcaps_subdir: Option<&'a [u8]>,
}

/// A parsed `ld.so.cache`.
#[derive(Clone, Copy, Debug)]
pub struct Cache<'a> {
    data: &'a [u8],
    nlibs: usize,
    /// The glibc-hwcaps subdirectory name table (offsets), if present.
    hwcaps: Option<(usize, usize)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheError {
    BadMagic,
    Truncated,
    BigEndian,
}

impl<'a> Cache<'a> {
    /// Parses the cache held in `data`.
    pub fn parse(data: &'a [u8]) -> Result<Cache<'a>, CacheError> {
        if data.len() < HEADER_SIZE || &data[..20] != MAGIC {
            return Err(CacheError::BadMagic);
        }
        let nlibs = elf::read::<u32>(data, 20).ok_or(CacheError::Truncated)? as usize;
        let flags = data[28];
        // flags: 0 = unknown (older ldconfig), 1 = big endian, 2 = little.
        if flags == 1 {
            return Err(CacheError::BigEndian);
        }
        let end = nlibs.checked_mul(ENTRY_SIZE).and_then(|n| n.checked_add(HEADER_SIZE));
        if end.is_none_or(|e| e > data.len()) {
            return Err(CacheError::Truncated);
        }
        let ext_off = elf::read::<u32>(data, 32).ok_or(CacheError::Truncated)? as usize;
        let hwcaps = if ext_off != 0 { hwcaps_table(data, ext_off) } else { None };
        Ok(Cache { data, nlibs, hwcaps })
    }

    pub fn len(&self) -> usize {
        self.nlibs
    }

    /// Whether the cache has glibc-hwcaps entries (only then does a lookup
    /// need to know which subdirectories the CPU supports).
    pub fn has_hwcaps(&self) -> bool {
        self.hwcaps.is_some_and(|(_, n)| n > 0)
    }

    pub fn is_empty(&self) -> bool {
        self.nlibs == 0
    }

    fn string(&self, off: u32) -> Option<&'a [u8]> {
        elf::cstr(self.data, off as usize)
    }

    /// Entry `i`, or `None` if its strings are out of range.
    pub fn entry(&self, i: usize) -> Option<Entry<'a>> {
        if i >= self.nlibs {
            return None;
        }
        let off = HEADER_SIZE + i * ENTRY_SIZE;
        let flags = elf::read::<i32>(self.data, off)?;
        let key = self.string(elf::read::<u32>(self.data, off + 4)?)?;
        let value = self.string(elf::read::<u32>(self.data, off + 8)?)?;
        let hwcap = elf::read::<u64>(self.data, off + 16)?;
        let hwcaps_subdir = if hwcap & HWCAP_EXTENSION != 0 {
            let (start, count) = self.hwcaps?;
            let idx = (hwcap & 0xffff_ffff) as usize;
            if idx >= count {
                return None;
            }
            let name_off = elf::read::<u32>(self.data, start + idx * 4)?;
            Some(self.string(name_off)?)
        } else {
            None
        };
        Some(Entry { flags, key, value, hwcap, hwcaps_subdir })
    }

    fn key(&self, i: usize) -> Option<&'a [u8]> {
        let off = HEADER_SIZE + i * ENTRY_SIZE;
        self.string(elf::read::<u32>(self.data, off + 4)?)
    }

    /// Looks `name` up as ld.so does: a binary search over the entries
    /// (sorted in descending [`libcmp`] order), then, among the entries with
    /// that key, the x86-64 entry for the best active glibc-hwcaps
    /// subdirectory, or else the first plain one. `active` lists the
    /// subdirectories this CPU supports, best first.
    pub fn lookup(&self, name: &[u8], active: &[&[u8]]) -> Option<&'a [u8]> {
        if self.nlibs == 0 {
            return None;
        }
        let (mut left, mut right) = (0isize, self.nlibs as isize - 1);
        let mut hit = None;
        while left <= right {
            let middle = (left + right) / 2;
            let key = self.key(middle as usize)?;
            match libcmp(name, key) {
                core::cmp::Ordering::Equal => {
                    hit = Some(middle as usize);
                    break;
                }
                core::cmp::Ordering::Less => left = middle + 1,
                core::cmp::Ordering::Greater => right = middle - 1,
            }
        }
        let mut first = hit?;
        while first > 0 && self.key(first - 1).is_some_and(|k| libcmp(name, k).is_eq()) {
            first -= 1;
        }
        let mut best: Option<(usize, &'a [u8])> = None; // (priority rank, path)
        let mut plain: Option<&'a [u8]> = None;
        let mut i = first;
        while i < self.nlibs && self.key(i).is_some_and(|k| libcmp(name, k).is_eq()) {
            if let Some(e) = self.entry(i) {
                if e.flags == FLAGS_X86_64 {
                    match e.hwcaps_subdir {
                        Some(sub) => {
                            if let Some(rank) = active.iter().position(|a| *a == sub) {
                                if best.is_none_or(|(r, _)| rank < r) {
                                    best = Some((rank, e.value));
                                }
                            }
                        }
                        None if e.hwcap == 0 && plain.is_none() => plain = Some(e.value),
                        None => {}
                    }
                }
            }
            i += 1;
        }
        best.map(|(_, p)| p).or(plain)
    }
}

fn hwcaps_table(data: &[u8], ext_off: usize) -> Option<(usize, usize)> {
    if elf::read::<u32>(data, ext_off)? != EXT_MAGIC {
        return None;
    }
    let count = elf::read::<u32>(data, ext_off + 4)? as usize;
    for k in 0..count.min(64) {
        let s = ext_off + 8 + k * 16;
        let tag = elf::read::<u32>(data, s)?;
        let off = elf::read::<u32>(data, s + 8)? as usize;
        let size = elf::read::<u32>(data, s + 12)? as usize;
        if tag == EXT_TAG_HWCAPS {
            let n = size / 4;
            if off.checked_add(size)? > data.len() {
                return None;
            }
            return Some((off, n));
        }
    }
    None
}

/// glibc's `_dl_cache_libcmp`: compares names with runs of digits compared
/// as numbers, so that `libfoo.so.10` sorts after `libfoo.so.9`.
pub fn libcmp(a: &[u8], b: &[u8]) -> core::cmp::Ordering {
    use core::cmp::Ordering;
    let (mut i, mut j) = (0, 0);
    loop {
        let ca = a.get(i).copied().unwrap_or(0);
        let cb = b.get(j).copied().unwrap_or(0);
        if ca == 0 {
            return 0u8.cmp(&cb);
        }
        if ca.is_ascii_digit() {
            if !cb.is_ascii_digit() {
                return Ordering::Greater;
            }
            let (mut va, mut vb) = (0u64, 0u64);
            while let Some(&c) = a.get(i).filter(|c| c.is_ascii_digit()) {
                va = va.wrapping_mul(10).wrapping_add((c - b'0') as u64);
                i += 1;
            }
            while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
                vb = vb.wrapping_mul(10).wrapping_add((c - b'0') as u64);
                j += 1;
            }
            if va != vb {
                return va.cmp(&vb);
            }
        } else if cb.is_ascii_digit() {
            return Ordering::Less;
        } else if ca != cb {
            return ca.cmp(&cb);
        } else {
            i += 1;
            j += 1;
        }
    }
}
