//! The dynamic section: what an object needs, where its tables are, and how
//! it wants to be loaded.

use crate::elf::{self, Dyn, Phdr};
use crate::image::Image;
use alloc::vec::Vec;

/// The most entries shimld reads from one `.dynamic` section.
pub const MAX_DYN: usize = 4096;
/// The most DT_NEEDED entries of one object.
pub const MAX_NEEDED: usize = 1024;

/// A table given by address and size in the dynamic section.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub addr: u64,
    pub size: u64,
}

/// The dynamic section, decoded. Addresses are virtual addresses of the
/// object (not yet biased by its load address); string-valued entries are
/// offsets into the string table.
#[derive(Clone, Debug, Default)]
pub struct DynInfo {
    pub needed: Vec<u32>,
    pub soname: Option<u32>,
    pub rpath: Option<u32>,
    pub runpath: Option<u32>,
    pub strtab: Table,
    pub symtab: u64,
    pub syment: u64,
    pub hash: u64,
    pub gnu_hash: u64,
    pub rela: Table,
    pub relaent: u64,
    /// DT_RELACOUNT: how many RELATIVE relocations lead DT_RELA.
    pub relacount: u64,
    pub rel: Table,
    pub jmprel: Table,
    pub pltrel: u64,
    pub relr: Table,
    pub relrent: u64,
    pub pltgot: u64,
    pub init: u64,
    pub fini: u64,
    pub init_array: Table,
    pub fini_array: Table,
    pub preinit_array: Table,
    pub flags: u64,
    pub flags_1: u64,
    pub symbolic: bool,
    pub bind_now: bool,
    pub textrel: bool,
    pub versym: u64,
    pub verdef: u64,
    pub verdefnum: u64,
    pub verneed: u64,
    pub verneednum: u64,
    pub has_filter: bool,
    /// Index of the DT_DEBUG entry, if any.
    pub debug_index: Option<usize>,
    /// The tags below 64 present (bit n: tag n).
    pub seen: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynError {
    /// PT_DYNAMIC lies outside the loaded segments.
    DynamicOutOfRange,
    /// A string table is missing or lies outside the loaded segments.
    BadStrtab,
    /// An entry points outside the object.
    BadEntry(&'static str),
    TooManyEntries,
}

impl DynError {
    pub fn message(&self) -> &'static str {
        match self {
            DynError::DynamicOutOfRange => "dynamic section lies outside the loaded segments",
            DynError::BadStrtab => "string table lies outside the loaded segments",
            DynError::BadEntry(what) => what,
            DynError::TooManyEntries => "too many dynamic section entries",
        }
    }
}

impl DynInfo {
    /// Whether the dynamic section holds tag `tag` (below 64).
    pub fn has(&self, tag: i64) -> bool {
        (0..64).contains(&tag) && self.seen & (1 << tag) != 0
    }

    /// Decodes the dynamic section described by `dynamic` (PT_DYNAMIC).
    pub fn parse(image: &Image, dynamic: &Phdr) -> Result<DynInfo, DynError> {
        let count = (dynamic.p_memsz / 16).min(MAX_DYN as u64 + 1);
        let entries: &[Dyn] = image.table(dynamic.p_vaddr, count).ok_or(DynError::DynamicOutOfRange)?;
        Self::from_entries(entries)
    }

    pub fn from_entries(entries: &[Dyn]) -> Result<DynInfo, DynError> {
        let mut d = DynInfo::default();
        let mut terminated = false;
        for (i, e) in entries.iter().enumerate() {
            let v = e.d_val;
            if (0..64).contains(&e.d_tag) {
                d.seen |= 1 << e.d_tag;
            }
            match e.d_tag {
                elf::DT_NULL => {
                    terminated = true;
                    break;
                }
                elf::DT_NEEDED => {
                    if d.needed.len() >= MAX_NEEDED {
                        return Err(DynError::BadEntry("too many DT_NEEDED entries"));
                    }
                    d.needed.push(str_off(v)?)
                }
                elf::DT_SONAME => d.soname = Some(str_off(v)?),
                elf::DT_RPATH => d.rpath = Some(str_off(v)?),
                elf::DT_RUNPATH => d.runpath = Some(str_off(v)?),
                elf::DT_STRTAB => d.strtab.addr = v,
                elf::DT_STRSZ => d.strtab.size = v,
                elf::DT_SYMTAB => d.symtab = v,
                elf::DT_SYMENT => d.syment = v,
                elf::DT_HASH => d.hash = v,
                elf::DT_GNU_HASH => d.gnu_hash = v,
                elf::DT_RELA => d.rela.addr = v,
                elf::DT_RELASZ => d.rela.size = v,
                elf::DT_RELAENT => d.relaent = v,
                elf::DT_RELACOUNT => d.relacount = v,
                elf::DT_REL => d.rel.addr = v,
                elf::DT_JMPREL => d.jmprel.addr = v,
                elf::DT_PLTRELSZ => d.jmprel.size = v,
                elf::DT_PLTREL => d.pltrel = v,
                elf::DT_RELR => d.relr.addr = v,
                elf::DT_RELRSZ => d.relr.size = v,
                elf::DT_RELRENT => d.relrent = v,
                elf::DT_PLTGOT => d.pltgot = v,
                elf::DT_INIT => d.init = v,
                elf::DT_FINI => d.fini = v,
                elf::DT_INIT_ARRAY => d.init_array.addr = v,
                elf::DT_INIT_ARRAYSZ => d.init_array.size = v,
                elf::DT_FINI_ARRAY => d.fini_array.addr = v,
                elf::DT_FINI_ARRAYSZ => d.fini_array.size = v,
                elf::DT_PREINIT_ARRAY => d.preinit_array.addr = v,
                elf::DT_PREINIT_ARRAYSZ => d.preinit_array.size = v,
                elf::DT_FLAGS => d.flags = v,
                elf::DT_FLAGS_1 => d.flags_1 = v,
                elf::DT_SYMBOLIC => d.symbolic = true,
                elf::DT_BIND_NOW => d.bind_now = true,
                elf::DT_TEXTREL => d.textrel = true,
                elf::DT_VERSYM => d.versym = v,
                elf::DT_VERDEF => d.verdef = v,
                elf::DT_VERDEFNUM => d.verdefnum = v,
                elf::DT_VERNEED => d.verneed = v,
                elf::DT_VERNEEDNUM => d.verneednum = v,
                elf::DT_DEBUG => d.debug_index = Some(i),
                elf::DT_AUXILIARY | elf::DT_FILTER => d.has_filter = true,
                _ => {}
            }
        }
        if !terminated && entries.len() > MAX_DYN {
            return Err(DynError::TooManyEntries);
        }
        if d.flags & elf::DF_SYMBOLIC != 0 {
            d.symbolic = true;
        }
        if d.flags & elf::DF_BIND_NOW != 0 || d.flags_1 & elf::DF_1_NOW != 0 {
            d.bind_now = true;
        }
        if d.flags & elf::DF_TEXTREL != 0 {
            d.textrel = true;
        }
        Ok(d)
    }

    /// The string table, checked against the image.
    pub fn strtab<'a>(&self, image: &Image<'a>) -> Result<&'a [u8], DynError> {
        if self.strtab.addr == 0 {
            return Err(DynError::BadStrtab);
        }
        image.bytes(self.strtab.addr, self.strtab.size).ok_or(DynError::BadStrtab)
    }
}

fn str_off(v: u64) -> Result<u32, DynError> {
    u32::try_from(v).map_err(|_| DynError::BadEntry("string offset out of range"))
}

/// The NUL-terminated string at `off` in `strtab`.
pub fn string(strtab: &[u8], off: u32) -> Option<&[u8]> {
    elf::cstr(strtab, off as usize)
}
