//! Everything that runs inside the target process: raw system calls, the
//! allocator, mapping, relocation, TLS, and the hand-over to the program.
//! The only module tree of shimld with `unsafe` in quantity; each block says
//! which invariant it relies on.

pub mod alloc;
pub mod append;
pub mod bindcache;
pub mod cpuid;
pub mod debugger;
pub mod dl;
pub mod handover;
pub mod loader;
pub mod lock;
pub mod map;
pub mod mem;
pub mod memo;
pub mod object;
pub mod options;
pub mod out;
pub mod patch;
pub mod process;
pub mod profile;
pub mod replica;
pub mod root;
pub mod sys;
pub mod timing;
pub mod tls;
pub mod x86_64;
