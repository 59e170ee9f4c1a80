//! The loader's own memory allocator.
//!
//! shimld shares the process with the program and its libc, so it cannot use
//! the program's heap or `brk`. Blocks up to 64 KiB are carved at their own
//! size (rounded to 16 bytes), packed one after the other, out of private
//! anonymous mappings (start-up then makes one mapping, not one per table);
//! a freed block goes to the free list of the largest power-of-two size
//! class it holds, and a request takes a block from the list of the
//! smallest class that holds it. The last block carved grows where it is (a
//! growing vector is neither copied nor spread over fresh pages). Every page
//! touched is a page fault, the largest cost of a short start-up: carved at
//! their class size, a large program's blocks took a third more pages
//! (an object's 1.1 KiB record took 2 KiB). Larger blocks are mappings of
//! their own, grown with `mremap`.
//! A spin lock makes it safe to use from any thread (the lazy-binding
//! resolver and, later, `dlopen` run on program threads).

use super::sys;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, Ordering};

/// Size classes 16, 32, .. 64 KiB bytes.
const CLASSES: usize = 13;
const MIN_SHIFT: usize = 4;
const MAX_SMALL: usize = 1 << (MIN_SHIFT + CLASSES - 1);
/// Small blocks are carved from chunks of this size (address space only:
/// the kernel backs a page when it is first touched).
const CHUNK: usize = 1024 * 1024;

/// The first chunk is part of shimld's own zero-filled data, which the
/// kernel maps with the program (address space only, until touched): a
/// start-up that needs no more (the ld.so-alone path takes 8 KiB, git's
/// about 70 KiB) makes no mapping for its heap, one system call and one
/// memory area fewer.
const FIRST_CHUNK: usize = 512 * 1024;

#[repr(C, align(16))]
struct FirstChunk([u8; FIRST_CHUNK]);

/// Used through the heap alone, under its lock, from the first chunk needed.
/// Its section goes after the rest of .bss (loader/data.ld), so that the
/// other zero-filled variables stay on the page the kernel clears at exec.
#[link_section = ".bss.shimld_heap"]
static mut FIRST: FirstChunk = FirstChunk([0; FIRST_CHUNK]);

struct Heap {
    free: [*mut u8; CLASSES],
    /// The unused tail of the current chunk.
    bump: usize,
    end: usize,
    /// Whether FIRST has been handed out (as the current or an old chunk).
    first_used: bool,
}

pub struct Allocator {
    lock: AtomicBool,
    heap: UnsafeCell<Heap>,
}

// SAFETY: the heap is only touched while `lock` is held.
unsafe impl Sync for Allocator {}

impl Allocator {
    pub const fn new() -> Allocator {
        Allocator {
            lock: AtomicBool::new(false),
            heap: UnsafeCell::new(Heap { free: [null_mut(); CLASSES], bump: 0, end: 0, first_used: false }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Heap) -> T) -> T {
        while self.lock.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            core::hint::spin_loop();
        }
        // SAFETY: the lock gives exclusive access to the heap.
        let r = f(unsafe { &mut *self.heap.get() });
        self.lock.store(false, Ordering::Release);
        r
    }
}

/// The smallest size class whose blocks hold `layout`, or None for a large
/// block.
fn class_of(layout: &Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    if size > MAX_SMALL {
        return None;
    }
    let c = (usize::BITS - (size - 1).leading_zeros()) as usize - MIN_SHIFT;
    Some(c)
}

/// The bytes a small block carved for `layout` takes.
fn block_size(layout: &Layout) -> usize {
    (layout.size().max(1 << MIN_SHIFT) + 15) & !15
}

/// The largest size class a block of `size` bytes (at least 16) holds: the
/// free list it goes to.
fn floor_class(size: usize) -> usize {
    (usize::BITS - 1 - size.leading_zeros()) as usize - MIN_SHIFT
}

fn big_len(size: usize) -> usize {
    sys::page_up(size)
}

impl Heap {
    /// A block for `layout`, of class `c` (see `class_of`).
    fn alloc_small(&mut self, c: usize, layout: &Layout) -> *mut u8 {
        let align = layout.align();
        // Free blocks are only known to be 16-aligned; those of list c hold
        // at least the class size.
        let head = self.free[c];
        if !head.is_null() && align <= 1 << MIN_SHIFT {
            // SAFETY: free blocks store the next pointer in their first word.
            self.free[c] = unsafe { *(head as *mut *mut u8) };
            return head;
        }
        let size = block_size(layout);
        // Else a larger free block, split: start-up frees much of what it
        // allocates (file headers, temporary lists), and a block carved
        // from those pages, already touched, costs no fresh page.
        if align <= 1 << MIN_SHIFT {
            if let Some(k) = (c + 1..CLASSES).find(|&k| !self.free[k].is_null()) {
                let block = self.free[k];
                // SAFETY: as above.
                self.free[k] = unsafe { *(block as *mut *mut u8) };
                // Blocks of list k hold at least its class size, a
                // multiple of 16 larger than `size` (which list c's is not
                // smaller than).
                let rest = (1 << (k + MIN_SHIFT)) - size;
                if rest >= 1 << MIN_SHIFT {
                    self.free_small((block as usize + size) as *mut u8, rest);
                }
                return block;
            }
        }
        // Blocks are packed (aligned only as asked, at least to 16), so that
        // start-up touches as few fresh pages as it can.
        let align = align.max(1 << MIN_SHIFT);
        let mut start = (self.bump + align - 1) & !(align - 1);
        if start + size > self.end {
            let (p, len) = if !self.first_used && size <= FIRST_CHUNK {
                self.first_used = true;
                (core::ptr::addr_of_mut!(FIRST) as usize, FIRST_CHUNK)
            } else {
                // SAFETY: a fresh private anonymous mapping, owned by the heap.
                match unsafe {
                    sys::mmap(0, CHUNK, sys::PROT_READ | sys::PROT_WRITE, sys::MAP_PRIVATE | sys::MAP_ANONYMOUS, -1, 0)
                } {
                    Ok(p) => (p, CHUNK),
                    Err(_) => return null_mut(),
                }
            };
            self.bump = p;
            self.end = p + len;
            start = p;
        }
        self.bump = start + size;
        start as *mut u8
    }

    /// Grows the block at `p` from `old` to `new` bytes where it is, if it
    /// is the last block carved and the chunk has room.
    fn grow_in_place(&mut self, p: *mut u8, old: usize, new: usize) -> bool {
        let p = p as usize;
        if p + old != self.bump || p + new > self.end {
            return false;
        }
        self.bump = p + new;
        true
    }

    fn free_small(&mut self, p: *mut u8, size: usize) {
        let c = floor_class(size);
        // SAFETY: p is a block of at least `size` bytes (at least 16), of
        // class c or more, no longer in use.
        unsafe { *(p as *mut *mut u8) = self.free[c] };
        self.free[c] = p;
    }
}

unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_of(&layout) {
            Some(c) => self.with(|h| h.alloc_small(c, &layout)),
            None if layout.align() <= sys::PAGE => {
                // SAFETY: a fresh private anonymous mapping.
                match sys::mmap(
                    0,
                    big_len(layout.size()),
                    sys::PROT_READ | sys::PROT_WRITE,
                    sys::MAP_PRIVATE | sys::MAP_ANONYMOUS,
                    -1,
                    0,
                ) {
                    Ok(p) => p as *mut u8,
                    Err(_) => null_mut(),
                }
            }
            None => null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class_of(&layout) {
            Some(_) => self.with(|h| h.free_small(ptr, block_size(&layout))),
            None => {
                // SAFETY: per GlobalAlloc's contract the block is ours and unused.
                let _ = sys::munmap(ptr as usize, big_len(layout.size()));
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match (class_of(&layout), class_of(&new_layout)) {
            // The block holds at least block_size(layout) bytes.
            (Some(_), Some(_)) if block_size(&new_layout) <= block_size(&layout) => ptr,
            (Some(_), Some(_)) if self.with(|h| h.grow_in_place(ptr, block_size(&layout), block_size(&new_layout))) => {
                ptr
            }
            (None, None) => {
                let (old, new) = (big_len(layout.size()), big_len(new_size));
                if old == new {
                    return ptr;
                }
                // SAFETY: the old mapping is ours; mremap moves or resizes it.
                match sys::mremap(ptr as usize, old, new, sys::MREMAP_MAYMOVE) {
                    Ok(p) => p as *mut u8,
                    Err(_) => null_mut(),
                }
            }
            _ => {
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}
