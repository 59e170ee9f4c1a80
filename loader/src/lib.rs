//! shimld's loader library: ELF parsing, symbol tables, the `ld.so.cache`
//! reader and the library search, shared by the `shimld` loader (which runs
//! inside the target process, without libc) and the `shimctl` tool.
//!
//! Nothing here performs I/O or uses `unsafe` beyond the byte-to-structure
//! casts in [`elf`], the bounded views of [`image`] and one XGETBV in
//! [`cpu`].
#![no_std]

extern crate alloc;

pub mod bind;
pub mod cache;
pub mod closure;
pub mod cpu;
pub mod cpuid_sites;
pub mod dynamic;
pub mod elf;
pub mod image;
pub mod replicas;
pub mod search;
pub mod stub;
pub mod symtab;
pub mod syscalls;
