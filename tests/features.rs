//! One differential test per folder of testprogs/: each program runs natively
//! and under shimld, and stdout, stderr and the exit status must agree.
mod common;

macro_rules! features {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { common::differential(stringify!($name)); } )*
        const FEATURES: &[&str] = &[$(stringify!($name)),*];
    };
}

features!(
    hello,
    reloc,
    ifunc,
    tls,
    lazy,
    hash,
    versions,
    weak,
    visibility,
    symbolic,
    interpose,
    initfini,
    start,
    search,
    errors,
    staticexe,
    interp,
    glibc_tls,
    cxx,
    glibc_internal,
    exit_order,
    process,
    dl_family,
    auxv_self,
    allocators,
    cache,
    malformed,
);

/// Every folder of testprogs/ with a `cases` file has its test above.
#[test]
fn every_feature_has_a_test() {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(common::root().join("testprogs")).unwrap() {
        let path = entry.unwrap().path();
        if path.join("cases").exists() {
            let name = path.file_name().unwrap().to_string_lossy().replace('-', "_");
            if !FEATURES.contains(&name.as_str()) {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "testprogs without a test in tests/features.rs: {missing:?}");
}
