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

/// One object of a lookup scope.
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
