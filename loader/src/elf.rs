//! ELF64 x86-64 structures and constants, and the one place where bytes read
//! from a file become structures.
//!
//! Every structure here is plain old data: any bit pattern is a valid value.
//! [`read`] and [`slice`] are the only conversions from bytes, and both check
//! bounds (and, for slices, alignment), so a damaged file can make them return
//! `None` but never read out of bounds.

use core::mem::{align_of, size_of};

/// Marker for types that any byte pattern may inhabit.
///
/// # Safety
/// The implementing type must be `repr(C)` (or a primitive integer), contain
/// no padding that matters, no pointers, references, enums or bools.
pub unsafe trait Pod: Copy + 'static {}

macro_rules! pod {
    ($($t:ty),*) => { $( unsafe impl Pod for $t {} )* };
}
pod!(u8, u16, u32, u64, i32, i64, usize);

/// Copies a `T` out of `bytes` at `off`, or `None` if it does not fit.
pub fn read<T: Pod>(bytes: &[u8], off: usize) -> Option<T> {
    let end = off.checked_add(size_of::<T>())?;
    let src = bytes.get(off..end)?;
    // SAFETY: `src` holds exactly size_of::<T>() bytes and T is Pod, so any
    // bytes form a valid T; read_unaligned has no alignment requirement.
    Some(unsafe { core::ptr::read_unaligned(src.as_ptr().cast::<T>()) })
}

/// Views `count` values of `T` in `bytes` at `off`, or `None` if they do not
/// fit or the start is not aligned for `T`.
pub fn slice<T: Pod>(bytes: &[u8], off: usize, count: usize) -> Option<&[T]> {
    let len = count.checked_mul(size_of::<T>())?;
    let end = off.checked_add(len)?;
    let src = bytes.get(off..end)?;
    if src.as_ptr() as usize % align_of::<T>() != 0 {
        return None;
    }
    // SAFETY: the range is in bounds, aligned for T, and T is Pod; the result
    // borrows `bytes`, so it cannot outlive the memory.
    Some(unsafe { core::slice::from_raw_parts(src.as_ptr().cast::<T>(), count) })
}

/// Reads a NUL-terminated string starting at `off`, at most to the end of
/// `bytes`. Returns `None` if `off` is out of range or no NUL follows.
pub fn cstr(bytes: &[u8], off: usize) -> Option<&[u8]> {
    let rest = bytes.get(off..)?;
    let n = nul_position(rest)?;
    Some(&rest[..n])
}

/// Whether the NUL-terminated string at `off` of `bytes` is `name` (without
/// measuring the string first).
#[inline]
pub fn cstr_is(bytes: &[u8], off: usize, name: &[u8]) -> bool {
    match off.checked_add(name.len()).and_then(|end| bytes.get(off..=end)) {
        Some(s) => s[name.len()] == 0 && &s[..name.len()] == name,
        None => false,
    }
}

/// The index of the first NUL byte, eight bytes at a time (symbol names of
/// C++ programs are long).
#[inline]
pub fn nul_position(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= s.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        let v = u64::from_le_bytes(w);
        let z = v.wrapping_sub(LO) & !v & HI;
        if z != 0 {
            return Some(i + (z.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..].iter().position(|&b| b == 0).map(|n| i + n)
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Ehdr {
    pub e_ident: [u8; 16],
    pub e_type: u16,
    pub e_machine: u16,
    pub e_version: u32,
    pub e_entry: u64,
    pub e_phoff: u64,
    pub e_shoff: u64,
    pub e_flags: u32,
    pub e_ehsize: u16,
    pub e_phentsize: u16,
    pub e_phnum: u16,
    pub e_shentsize: u16,
    pub e_shnum: u16,
    pub e_shstrndx: u16,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Phdr {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_paddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Dyn {
    pub d_tag: i64,
    pub d_val: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Sym {
    pub st_name: u32,
    pub st_info: u8,
    pub st_other: u8,
    pub st_shndx: u16,
    pub st_value: u64,
    pub st_size: u64,
}

impl Sym {
    pub fn bind(&self) -> u8 {
        self.st_info >> 4
    }
    pub fn kind(&self) -> u8 {
        self.st_info & 0xf
    }
    pub fn visibility(&self) -> u8 {
        self.st_other & 3
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Rela {
    pub r_offset: u64,
    pub r_info: u64,
    pub r_addend: i64,
}

impl Rela {
    pub fn sym(&self) -> u32 {
        (self.r_info >> 32) as u32
    }
    pub fn kind(&self) -> u32 {
        self.r_info as u32
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Verdef {
    pub vd_version: u16,
    pub vd_flags: u16,
    pub vd_ndx: u16,
    pub vd_cnt: u16,
    pub vd_hash: u32,
    pub vd_aux: u32,
    pub vd_next: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Verdaux {
    pub vda_name: u32,
    pub vda_next: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Verneed {
    pub vn_version: u16,
    pub vn_cnt: u16,
    pub vn_file: u32,
    pub vn_aux: u32,
    pub vn_next: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Vernaux {
    pub vna_hash: u32,
    pub vna_flags: u16,
    pub vna_other: u16,
    pub vna_name: u32,
    pub vna_next: u32,
}

pod!(Ehdr, Phdr, Dyn, Sym, Rela, Verdef, Verdaux, Verneed, Vernaux);

pub const EHDR_SIZE: usize = size_of::<Ehdr>();
pub const PHDR_SIZE: usize = size_of::<Phdr>();

// e_ident
pub const ELFMAG: [u8; 4] = *b"\x7fELF";
pub const EI_CLASS: usize = 4;
pub const EI_DATA: usize = 5;
pub const EI_VERSION: usize = 6;
pub const EI_OSABI: usize = 7;
pub const EI_ABIVERSION: usize = 8;
pub const ELFCLASS32: u8 = 1;
pub const ELFCLASS64: u8 = 2;
pub const ELFDATA2LSB: u8 = 1;
pub const EV_CURRENT: u8 = 1;
pub const ELFOSABI_SYSV: u8 = 0;
pub const ELFOSABI_GNU: u8 = 3;

// e_type, e_machine
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
pub const EM_X86_64: u16 = 62;

// p_type, p_flags
pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_NOTE: u32 = 4;
pub const PT_PHDR: u32 = 6;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PT_GNU_RELRO: u32 = 0x6474_e552;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

// d_tag
pub const DT_NULL: i64 = 0;
pub const DT_NEEDED: i64 = 1;
pub const DT_PLTRELSZ: i64 = 2;
pub const DT_PLTGOT: i64 = 3;
pub const DT_HASH: i64 = 4;
pub const DT_STRTAB: i64 = 5;
pub const DT_SYMTAB: i64 = 6;
pub const DT_RELA: i64 = 7;
pub const DT_RELASZ: i64 = 8;
pub const DT_RELAENT: i64 = 9;
pub const DT_STRSZ: i64 = 10;
pub const DT_SYMENT: i64 = 11;
pub const DT_INIT: i64 = 12;
pub const DT_FINI: i64 = 13;
pub const DT_SONAME: i64 = 14;
pub const DT_RPATH: i64 = 15;
pub const DT_SYMBOLIC: i64 = 16;
pub const DT_REL: i64 = 17;
pub const DT_PLTREL: i64 = 20;
pub const DT_DEBUG: i64 = 21;
pub const DT_TEXTREL: i64 = 22;
pub const DT_JMPREL: i64 = 23;
pub const DT_BIND_NOW: i64 = 24;
pub const DT_INIT_ARRAY: i64 = 25;
pub const DT_FINI_ARRAY: i64 = 26;
pub const DT_INIT_ARRAYSZ: i64 = 27;
pub const DT_FINI_ARRAYSZ: i64 = 28;
pub const DT_RUNPATH: i64 = 29;
pub const DT_FLAGS: i64 = 30;
pub const DT_PREINIT_ARRAY: i64 = 32;
pub const DT_PREINIT_ARRAYSZ: i64 = 33;
pub const DT_RELRSZ: i64 = 35;
pub const DT_RELR: i64 = 36;
pub const DT_RELRENT: i64 = 37;
pub const DT_GNU_HASH: i64 = 0x6fff_fef5;
pub const DT_TLSDESC_PLT: i64 = 0x6fff_fef6;
pub const DT_TLSDESC_GOT: i64 = 0x6fff_fef7;
pub const DT_VERSYM: i64 = 0x6fff_fff0;
pub const DT_RELACOUNT: i64 = 0x6fff_fff9;
pub const DT_FLAGS_1: i64 = 0x6fff_fffb;
pub const DT_VERDEF: i64 = 0x6fff_fffc;
pub const DT_VERDEFNUM: i64 = 0x6fff_fffd;
pub const DT_VERNEED: i64 = 0x6fff_fffe;
pub const DT_VERNEEDNUM: i64 = 0x6fff_ffff;
pub const DT_AUXILIARY: i64 = 0x7fff_fffd;
pub const DT_FILTER: i64 = 0x7fff_ffff;

// DT_FLAGS
pub const DF_ORIGIN: u64 = 0x1;
pub const DF_SYMBOLIC: u64 = 0x2;
pub const DF_TEXTREL: u64 = 0x4;
pub const DF_BIND_NOW: u64 = 0x8;
pub const DF_STATIC_TLS: u64 = 0x10;

// DT_FLAGS_1
pub const DF_1_NOW: u64 = 0x1;
pub const DF_1_GLOBAL: u64 = 0x2;
pub const DF_1_NODELETE: u64 = 0x8;
pub const DF_1_INITFIRST: u64 = 0x20;
pub const DF_1_NOOPEN: u64 = 0x40;
pub const DF_1_ORIGIN: u64 = 0x80;
pub const DF_1_NODEFLIB: u64 = 0x800;
pub const DF_1_PIE: u64 = 0x0800_0000;

// Symbols
pub const STB_LOCAL: u8 = 0;
pub const STB_GLOBAL: u8 = 1;
pub const STB_WEAK: u8 = 2;
pub const STB_GNU_UNIQUE: u8 = 10;
pub const STT_NOTYPE: u8 = 0;
pub const STT_OBJECT: u8 = 1;
pub const STT_FUNC: u8 = 2;
pub const STT_SECTION: u8 = 3;
pub const STT_FILE: u8 = 4;
pub const STT_COMMON: u8 = 5;
pub const STT_TLS: u8 = 6;
pub const STT_GNU_IFUNC: u8 = 10;
pub const STV_DEFAULT: u8 = 0;
pub const STV_INTERNAL: u8 = 1;
pub const STV_HIDDEN: u8 = 2;
pub const STV_PROTECTED: u8 = 3;
pub const SHN_UNDEF: u16 = 0;
pub const SHN_ABS: u16 = 0xfff1;

// Versions
pub const VER_FLG_BASE: u16 = 1;
pub const VER_FLG_WEAK: u16 = 2;
pub const VERSYM_HIDDEN: u16 = 0x8000;
pub const VERSYM_VERSION: u16 = 0x7fff;

// x86-64 relocation types
pub const R_X86_64_NONE: u32 = 0;
pub const R_X86_64_64: u32 = 1;
pub const R_X86_64_PC32: u32 = 2;
pub const R_X86_64_GOT32: u32 = 3;
pub const R_X86_64_PLT32: u32 = 4;
pub const R_X86_64_COPY: u32 = 5;
pub const R_X86_64_GLOB_DAT: u32 = 6;
pub const R_X86_64_JUMP_SLOT: u32 = 7;
pub const R_X86_64_RELATIVE: u32 = 8;
pub const R_X86_64_GOTPCREL: u32 = 9;
pub const R_X86_64_32: u32 = 10;
pub const R_X86_64_32S: u32 = 11;
pub const R_X86_64_16: u32 = 12;
pub const R_X86_64_PC16: u32 = 13;
pub const R_X86_64_8: u32 = 14;
pub const R_X86_64_PC8: u32 = 15;
pub const R_X86_64_DTPMOD64: u32 = 16;
pub const R_X86_64_DTPOFF64: u32 = 17;
pub const R_X86_64_TPOFF64: u32 = 18;
pub const R_X86_64_TLSGD: u32 = 19;
pub const R_X86_64_TLSLD: u32 = 20;
pub const R_X86_64_DTPOFF32: u32 = 21;
pub const R_X86_64_GOTTPOFF: u32 = 22;
pub const R_X86_64_TPOFF32: u32 = 23;
pub const R_X86_64_PC64: u32 = 24;
pub const R_X86_64_GOTOFF64: u32 = 25;
pub const R_X86_64_GOTPC32: u32 = 26;
pub const R_X86_64_SIZE32: u32 = 32;
pub const R_X86_64_SIZE64: u32 = 33;
pub const R_X86_64_GOTPC32_TLSDESC: u32 = 34;
pub const R_X86_64_TLSDESC_CALL: u32 = 35;
pub const R_X86_64_TLSDESC: u32 = 36;
pub const R_X86_64_IRELATIVE: u32 = 37;
pub const R_X86_64_RELATIVE64: u32 = 38;

/// The name of an x86-64 relocation type, for messages and statistics.
pub fn reloc_name(kind: u32) -> &'static str {
    match kind {
        R_X86_64_NONE => "R_X86_64_NONE",
        R_X86_64_64 => "R_X86_64_64",
        R_X86_64_PC32 => "R_X86_64_PC32",
        R_X86_64_GOT32 => "R_X86_64_GOT32",
        R_X86_64_PLT32 => "R_X86_64_PLT32",
        R_X86_64_COPY => "R_X86_64_COPY",
        R_X86_64_GLOB_DAT => "R_X86_64_GLOB_DAT",
        R_X86_64_JUMP_SLOT => "R_X86_64_JUMP_SLOT",
        R_X86_64_RELATIVE => "R_X86_64_RELATIVE",
        R_X86_64_GOTPCREL => "R_X86_64_GOTPCREL",
        R_X86_64_32 => "R_X86_64_32",
        R_X86_64_32S => "R_X86_64_32S",
        R_X86_64_16 => "R_X86_64_16",
        R_X86_64_PC16 => "R_X86_64_PC16",
        R_X86_64_8 => "R_X86_64_8",
        R_X86_64_PC8 => "R_X86_64_PC8",
        R_X86_64_DTPMOD64 => "R_X86_64_DTPMOD64",
        R_X86_64_DTPOFF64 => "R_X86_64_DTPOFF64",
        R_X86_64_TPOFF64 => "R_X86_64_TPOFF64",
        R_X86_64_TLSGD => "R_X86_64_TLSGD",
        R_X86_64_TLSLD => "R_X86_64_TLSLD",
        R_X86_64_DTPOFF32 => "R_X86_64_DTPOFF32",
        R_X86_64_GOTTPOFF => "R_X86_64_GOTTPOFF",
        R_X86_64_TPOFF32 => "R_X86_64_TPOFF32",
        R_X86_64_PC64 => "R_X86_64_PC64",
        R_X86_64_GOTOFF64 => "R_X86_64_GOTOFF64",
        R_X86_64_GOTPC32 => "R_X86_64_GOTPC32",
        R_X86_64_SIZE32 => "R_X86_64_SIZE32",
        R_X86_64_SIZE64 => "R_X86_64_SIZE64",
        R_X86_64_GOTPC32_TLSDESC => "R_X86_64_GOTPC32_TLSDESC",
        R_X86_64_TLSDESC_CALL => "R_X86_64_TLSDESC_CALL",
        R_X86_64_TLSDESC => "R_X86_64_TLSDESC",
        R_X86_64_IRELATIVE => "R_X86_64_IRELATIVE",
        R_X86_64_RELATIVE64 => "R_X86_64_RELATIVE64",
        _ => "unknown",
    }
}

/// Why a file is not a loadable ELF object for this machine. The texts are
/// ld.so's where ld.so has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    TooShort,
    NotElf,
    WrongClass(u8),
    WrongEncoding,
    WrongIdentVersion,
    WrongOsAbi,
    WrongAbiVersion,
    NonzeroPadding,
    WrongVersion,
    WrongType,
    WrongMachine,
    BadPhentsize,
    PhdrsOutOfFile,
    TooManyPhdrs,
}

impl HeaderError {
    pub fn message(&self) -> &'static str {
        match self {
            HeaderError::TooShort => "file too short",
            HeaderError::NotElf => "invalid ELF header",
            HeaderError::WrongClass(ELFCLASS32) => "wrong ELF class: ELFCLASS32",
            HeaderError::WrongClass(_) => "wrong ELF class",
            HeaderError::WrongEncoding => "ELF file data encoding not little-endian",
            HeaderError::WrongIdentVersion => "ELF file version ident does not match current one",
            HeaderError::WrongOsAbi => "ELF file OS ABI invalid",
            HeaderError::WrongAbiVersion => "ELF file ABI version invalid",
            HeaderError::NonzeroPadding => "nonzero padding in e_ident",
            HeaderError::WrongVersion => "ELF file version does not match current one",
            HeaderError::WrongType => "only ET_DYN and ET_EXEC can be loaded",
            HeaderError::WrongMachine => "ELF file machine is not x86-64",
            HeaderError::BadPhentsize => "ELF file's phentsize not the expected size",
            HeaderError::PhdrsOutOfFile => "program headers lie outside the file",
            HeaderError::TooManyPhdrs => "too many program headers",
        }
    }

    /// Errors for which a library search silently moves on to the next
    /// candidate, as ld.so does for objects of another class or machine.
    pub fn skip_in_search(&self) -> bool {
        matches!(self, HeaderError::WrongClass(_) | HeaderError::WrongMachine)
    }
}

/// The most program headers shimld accepts; ld.so reads at most a few pages.
pub const MAX_PHNUM: usize = 512;

/// Checks the ELF header at the start of `head` (the first bytes of a file)
/// and returns it. Program headers are checked by [`phdrs`].
pub fn check_header(head: &[u8]) -> Result<Ehdr, HeaderError> {
    if head.len() < 4 || head[..4] != ELFMAG {
        if head.len() < 4 && ELFMAG.starts_with(head) {
            return Err(HeaderError::TooShort);
        }
        return Err(HeaderError::NotElf);
    }
    if head.len() < EI_ABIVERSION + 1 {
        return Err(HeaderError::TooShort);
    }
    if head[EI_CLASS] != ELFCLASS64 {
        return Err(HeaderError::WrongClass(head[EI_CLASS]));
    }
    let eh: Ehdr = read(head, 0).ok_or(HeaderError::TooShort)?;
    if eh.e_ident[EI_DATA] != ELFDATA2LSB {
        return Err(HeaderError::WrongEncoding);
    }
    if eh.e_ident[EI_VERSION] != EV_CURRENT {
        return Err(HeaderError::WrongIdentVersion);
    }
    let osabi = eh.e_ident[EI_OSABI];
    if osabi != ELFOSABI_SYSV && osabi != ELFOSABI_GNU {
        return Err(HeaderError::WrongOsAbi);
    }
    // glibc accepts ABI versions up to the highest it implements (unique
    // symbols, absolute symbols); 0..=4 covers every GNU one so far.
    if eh.e_ident[EI_ABIVERSION] > 4 || (osabi == ELFOSABI_SYSV && eh.e_ident[EI_ABIVERSION] != 0) {
        return Err(HeaderError::WrongAbiVersion);
    }
    if eh.e_ident[EI_ABIVERSION + 1..].iter().any(|&b| b != 0) {
        return Err(HeaderError::NonzeroPadding);
    }
    if eh.e_version != EV_CURRENT as u32 {
        return Err(HeaderError::WrongVersion);
    }
    if eh.e_machine != EM_X86_64 {
        return Err(HeaderError::WrongMachine);
    }
    if eh.e_type != ET_DYN && eh.e_type != ET_EXEC {
        return Err(HeaderError::WrongType);
    }
    if eh.e_phentsize as usize != PHDR_SIZE {
        return Err(HeaderError::BadPhentsize);
    }
    if eh.e_phnum as usize > MAX_PHNUM {
        return Err(HeaderError::TooManyPhdrs);
    }
    Ok(eh)
}

/// Returns the range of the file that holds the program headers.
pub fn phdr_range(eh: &Ehdr) -> Result<(usize, usize), HeaderError> {
    let off = usize::try_from(eh.e_phoff).map_err(|_| HeaderError::PhdrsOutOfFile)?;
    let len = eh.e_phnum as usize * PHDR_SIZE;
    let end = off.checked_add(len).ok_or(HeaderError::PhdrsOutOfFile)?;
    Ok((off, end))
}

/// Copies the program headers out of `bytes`, which holds the file from
/// offset `base`.
pub fn phdrs_at(eh: &Ehdr, bytes: &[u8], base: usize) -> Result<PhdrList, HeaderError> {
    let (off, _) = phdr_range(eh)?;
    let rel = off.checked_sub(base).ok_or(HeaderError::PhdrsOutOfFile)?;
    let mut list = PhdrList::with_capacity(eh.e_phnum as usize);
    for i in 0..eh.e_phnum as usize {
        let p: Phdr = read(bytes, rel + i * PHDR_SIZE).ok_or(HeaderError::PhdrsOutOfFile)?;
        list.push(p);
    }
    Ok(list)
}

/// A small vector of program headers (most objects have fewer than 16).
pub type PhdrList = alloc::vec::Vec<Phdr>;

/// NT_GNU_BUILD_ID, the note that identifies a build.
pub const NT_GNU_BUILD_ID: u32 = 3;

/// The GNU build-id in a note segment's bytes, if there is one. The walk
/// stops at the end of `notes` or at the first malformed entry.
pub fn build_id(notes: &[u8]) -> Option<&[u8]> {
    let mut at = 0usize;
    while at + 12 <= notes.len() {
        let word = |o: usize| u32::from_le_bytes([notes[o], notes[o + 1], notes[o + 2], notes[o + 3]]) as usize;
        let (namesz, descsz, kind) = (word(at), word(at + 4), word(at + 8) as u32);
        let name_at = at + 12;
        let desc_at = name_at.checked_add(namesz.checked_add(3)? & !3)?;
        let next = desc_at.checked_add(descsz.checked_add(3)? & !3)?;
        if desc_at.checked_add(descsz)? > notes.len() {
            return None;
        }
        if kind == NT_GNU_BUILD_ID && notes.get(name_at..name_at + namesz) == Some(b"GNU\0") {
            return Some(&notes[desc_at..desc_at + descsz]);
        }
        at = next;
    }
    None
}
