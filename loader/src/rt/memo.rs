//! Bindings of symbol references, in the form the relocation loop and the
//! resolution cache share.
//!
//! Relocations name the same symbol many times (a C++ library's vtables
//! refer to one function from dozens of places), and the linker sorts
//! dynamic relocations by symbol, so the repeats come in runs: the
//! relocation loop remembers only the last reference's binding (as ld.so
//! does). Measured on clang, node and a gdb-like closure, every repeat was
//! in a run; a table of every reference (kept until this was measured)
//! found none more and cost node's start-up 440 page faults.

use super::loader::{Def, Loader};
use shimld::bind::Entry;

/// A binding: the defining object and its symbol index, or no symbol (a
/// weak reference left undefined, or the object itself for local symbols).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Binding {
    pub obj: u32,
    pub sym: u32,
}

/// `Binding::sym` when the binding has no symbol.
pub const NO_SYM: u32 = u32::MAX;

impl Binding {
    pub fn of(ld: &Loader, d: &Def) -> Binding {
        let sym = d.sym.and_then(|s| ld.objs[d.obj].syms.index_of(s)).unwrap_or(NO_SYM);
        Binding { obj: d.obj as u32, sym }
    }

    /// The cache's form of the binding of reference `key`.
    pub fn entry(self, ld: &Loader, key: u32) -> Entry {
        let mut e = Entry { key, obj: self.obj as u16, flags: 0, sym: self.sym, value: 0 };
        match ld.objs.get(self.obj as usize).and_then(|o| o.syms.syms.get(self.sym as usize)) {
            Some(s) => {
                if s.kind() != shimld::elf::STT_GNU_IFUNC
                    && s.kind() != shimld::elf::STT_TLS
                    && s.st_shndx != shimld::elf::SHN_ABS
                    && s.st_value <= u32::MAX as u64
                {
                    e.flags |= Entry::PLAIN;
                    e.value = s.st_value as u32;
                }
            }
            None => e.flags |= Entry::NO_SYM,
        }
        e
    }

    /// The definition again, if the binding fits the objects (a binding read
    /// from a file is checked here).
    pub fn def(self, ld: &Loader) -> Option<Def> {
        let o = ld.objs.get(self.obj as usize)?;
        if self.sym == NO_SYM {
            return Some(Def { obj: self.obj as usize, sym: None });
        }
        Some(Def { obj: self.obj as usize, sym: Some(o.syms.syms.get(self.sym as usize)?) })
    }
}

pub use shimld::bind::key;
