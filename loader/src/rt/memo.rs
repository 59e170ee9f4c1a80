//! The bindings of one object's symbol references, found once each.
//!
//! Relocations name the same symbol many times (a C++ library's vtables
//! refer to one function from dozens of places), so each object's lookups
//! are remembered by (symbol index, relocation class) while the object is
//! relocated.

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
        let sym = match d.sym {
            Some(s) => {
                let table = &ld.objs[d.obj].syms.syms;
                let off = (s as *const _ as usize).wrapping_sub(table.as_ptr() as usize) / core::mem::size_of_val(s);
                if off < table.len() {
                    off as u32
                } else {
                    NO_SYM
                }
            }
            None => NO_SYM,
        };
        Binding { obj: d.obj as u32, sym }
    }

    /// The cache's form of the binding of reference `key`.
    pub fn entry(self, ld: &Loader, key: u32) -> Entry {
        let mut e = Entry { key, obj: self.obj as u16, flags: 0, sym: self.sym, value: 0 };
        match ld.objs.get(self.obj as usize).and_then(|o| o.syms.syms.get(self.sym as usize)) {
            Some(s) => {
                if s.kind() != shimld::elf::STT_GNU_IFUNC
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

/// An open-addressing table from reference keys to bindings.
pub struct Memo {
    keys: alloc::vec::Vec<u32>,
    vals: alloc::vec::Vec<Binding>,
    len: usize,
}

impl Memo {
    pub fn new() -> Memo {
        Memo { keys: alloc::vec::Vec::new(), vals: alloc::vec::Vec::new(), len: 0 }
    }

    /// Empties the table, sized for about `n` references.
    pub fn reset(&mut self, n: usize) {
        let cap = (n.max(8) * 2).next_power_of_two();
        self.keys.clear();
        self.keys.resize(cap, 0);
        self.vals.clear();
        self.vals.resize(cap, Binding { obj: 0, sym: NO_SYM });
        self.len = 0;
    }

    #[inline]
    fn slot(&self, k: u32) -> usize {
        (k.wrapping_mul(0x9e37_79b9) >> 7) as usize & (self.keys.len() - 1)
    }

    #[inline]
    pub fn get(&self, k: u32) -> Option<Binding> {
        if self.keys.is_empty() {
            return None;
        }
        let mask = self.keys.len() - 1;
        let mut s = self.slot(k);
        loop {
            match self.keys[s] {
                0 => return None,
                x if x == k => return Some(self.vals[s]),
                _ => s = (s + 1) & mask,
            }
        }
    }

    pub fn insert(&mut self, k: u32, b: Binding) {
        if self.keys.is_empty() || (self.len + 1) * 2 > self.keys.len() {
            self.grow();
        }
        let mask = self.keys.len() - 1;
        let mut s = self.slot(k);
        while self.keys[s] != 0 && self.keys[s] != k {
            s = (s + 1) & mask;
        }
        if self.keys[s] == 0 {
            self.len += 1;
        }
        self.keys[s] = k;
        self.vals[s] = b;
    }

    fn grow(&mut self) {
        let old: alloc::vec::Vec<(u32, Binding)> = self.entries().collect();
        self.reset(self.keys.len().max(8));
        for (k, b) in old {
            self.insert(k, b);
        }
    }

    /// Every (key, binding), in table order.
    pub fn entries(&self) -> impl Iterator<Item = (u32, Binding)> + '_ {
        self.keys.iter().zip(self.vals.iter()).filter(|(k, _)| **k != 0).map(|(k, v)| (*k, *v))
    }
}

impl Default for Memo {
    fn default() -> Self {
        Memo::new()
    }
}
