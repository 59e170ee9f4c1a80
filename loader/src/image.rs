//! Bounded access to an object's contents by virtual address.
//!
//! The same parsing code reads objects that the loader has mapped (where a
//! virtual address is `base + vaddr`) and files that a tool has read (where a
//! virtual address translates to a file offset through the PT_LOAD headers).
//! An [`Image`] knows which address ranges hold readable bytes; every access
//! is checked against them, so a wild pointer in a damaged `.dynamic` yields
//! `None` instead of a fault.

use crate::elf::{self, Phdr, Pod, PT_LOAD};
use alloc::vec::Vec;

#[derive(Clone, Copy, Debug)]
struct Range {
    vaddr: u64,
    len: u64,
    /// Offset of `vaddr` from the image's base pointer.
    off: u64,
}

/// An object's readable bytes, addressed by the virtual addresses of its
/// program headers.
#[derive(Debug)]
pub struct Image<'a> {
    base: *const u8,
    ranges: Vec<Range>,
    _life: core::marker::PhantomData<&'a [u8]>,
}

// SAFETY: an Image only ever reads through `base`, within ranges that the
// constructor's contract keeps readable and unchanging for 'a.
unsafe impl Send for Image<'_> {}
unsafe impl Sync for Image<'_> {}

impl<'a> Image<'a> {
    /// An image of a file held in memory: each PT_LOAD's file-backed part is
    /// readable at its virtual address. Headers that point outside `file` are
    /// clipped to it.
    pub fn from_file(file: &'a [u8], phdrs: &[Phdr]) -> Image<'a> {
        let mut ranges = Vec::new();
        for p in phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
            let flen = file.len() as u64;
            if p.p_offset >= flen {
                continue;
            }
            let len = p.p_filesz.min(flen - p.p_offset);
            if p.p_vaddr.checked_add(len).is_none() {
                continue;
            }
            ranges.push(Range { vaddr: p.p_vaddr, len, off: p.p_offset });
        }
        Image { base: file.as_ptr(), ranges, _life: core::marker::PhantomData }
    }

    /// An image of an object mapped at `base` (the load bias: address =
    /// `base + vaddr`), readable over each PT_LOAD's memory size.
    ///
    /// # Safety
    /// For each PT_LOAD in `phdrs`, `base + p_vaddr .. base + p_vaddr +
    /// p_memsz` must be mapped readable and must stay mapped for `'a`, and the
    /// parts read through the image (string, symbol, hash, version and
    /// relocation tables) must not be written during `'a`.
    pub unsafe fn mapped(base: usize, phdrs: &[Phdr]) -> Image<'a> {
        let ranges = phdrs
            .iter()
            .filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0)
            .map(|p| Range { vaddr: p.p_vaddr, len: p.p_memsz, off: p.p_vaddr })
            .collect();
        Image { base: base as *const u8, ranges, _life: core::marker::PhantomData }
    }

    fn find(&self, vaddr: u64, len: u64) -> Option<&Range> {
        let end = vaddr.checked_add(len)?;
        self.ranges.iter().find(|r| vaddr >= r.vaddr && end <= r.vaddr + r.len)
    }

    /// The `len` bytes at `vaddr`, if they all lie in one readable range.
    pub fn bytes(&self, vaddr: u64, len: u64) -> Option<&'a [u8]> {
        let r = self.find(vaddr, len)?;
        let off = r.off.checked_add(vaddr - r.vaddr)?;
        let len = usize::try_from(len).ok()?;
        // SAFETY: `find` checked that [vaddr, vaddr+len) lies inside a range,
        // and the constructors guarantee each range is readable for 'a at
        // base + off (inside the file slice, or mapped per `mapped`'s contract).
        Some(unsafe { core::slice::from_raw_parts(self.base.wrapping_add(off as usize), len) })
    }

    /// The bytes from `vaddr` to the end of the range that holds it, at most
    /// `max` of them.
    pub fn bytes_upto(&self, vaddr: u64, max: u64) -> Option<&'a [u8]> {
        let r = self.find(vaddr, 1)?;
        let avail = r.vaddr + r.len - vaddr;
        self.bytes(vaddr, avail.min(max))
    }

    /// `count` values of `T` at `vaddr`, if in range and aligned.
    pub fn table<T: Pod>(&self, vaddr: u64, count: u64) -> Option<&'a [T]> {
        let len = count.checked_mul(core::mem::size_of::<T>() as u64)?;
        let b = self.bytes(vaddr, len)?;
        elf::slice(b, 0, count as usize)
    }

    /// One `T` at `vaddr`.
    pub fn read<T: Pod>(&self, vaddr: u64) -> Option<T> {
        let b = self.bytes(vaddr, core::mem::size_of::<T>() as u64)?;
        elf::read(b, 0)
    }

    /// Whether `vaddr .. vaddr+len` lies inside one readable range.
    pub fn contains(&self, vaddr: u64, len: u64) -> bool {
        self.find(vaddr, len).is_some()
    }
}
