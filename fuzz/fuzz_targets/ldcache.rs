//! /etc/ld.so.cache of arbitrary bytes, and lookups in it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shimld::cache::Cache;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Cache::parse(data) {
        for name in [&b"libc.so.6"[..], b"libm.so.6", b"", b"libz.so.1"] {
            let _ = c.lookup(name, &[b"x86-64-v3", b"x86-64-v2"]);
        }
    }
});
