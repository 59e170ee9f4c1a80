//! Search paths: splitting, $ORIGIN/$LIB/$PLATFORM tokens, origins.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shimld::search::{self, Tokens};

fuzz_target!(|data: &[u8]| {
    let (origin, list) = data.split_at(data.len() / 3);
    for secure in [false, true] {
        let t = Tokens { secure, ..Tokens::default() };
        let _ = search::split_dirs(list, b":;", Some(origin), &t);
        let _ = search::expand(list, Some(origin), &t);
    }
    let _ = search::origin_of(list, Some(origin));
});
