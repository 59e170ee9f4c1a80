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
    relro_copy,
    ldso_alone,
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

/// testprogs/relro_copy goes the way it is there for: the library's 4 MiB
/// RELRO range is read into anonymous memory, as is libdata's 1.5 MiB
/// writable segment, on one huge page reaching past the library's end (the
/// differential test above checks that every entry is right, that the
/// ranges end read-only and the data writable, and the zero-fill zero).
/// The program's own range is read too, but before tracing starts (whether
/// SHIMLD_DEBUG applies depends on the program's set-ID bits).
#[test]
fn relro_copy_reads_large_ranges() {
    let out = common::build_testprog("relro_copy");
    for (prog, want) in [("./relro-main", "(2 huge pages)"), ("./data-main", "(1 huge pages)")] {
        let run = common::run_in(
            &out,
            &[common::shimld().display().to_string(), prog.into()],
            &[("SHIMLD_DEBUG".into(), "files".into())],
        );
        assert_eq!(run.status, Some(0), "{}", run.stderr);
        let reads: Vec<&str> = run.stderr.lines().filter(|l| l.contains("read into anonymous memory")).collect();
        // data-main opens libdata2.so twice after its start.
        let n = if prog == "./data-main" { 3 } else { 1 };
        assert_eq!(reads.len(), n, "{prog}: expected the library's data to be read:\n{}", run.stderr);
        assert!(reads[0].contains(want), "{prog}: {}", reads[0]);
    }
}

/// testprogs/ldso_alone: a program that needs only the glibc core and
/// imports nothing shimld replaces goes to its ld.so whole (LD_LIBRARY_PATH
/// too is ld.so's to search); one that imports readlink, or asked to with
/// --bind-all or SHIMLD_BIND_ALL, or searched for with an option ld.so
/// would not see, is relocated by shimld.
#[test]
fn ldso_alone_only_where_nothing_is_bound() {
    let out = common::build_testprog("ldso_alone");
    let shimld = common::shimld().display().to_string();
    let alone = |args: &[&str], env: &[(&str, &str)]| -> bool {
        let mut cmd = vec![shimld.clone()];
        cmd.extend(args.iter().map(|a| a.to_string()));
        let mut e: Vec<(String, String)> = vec![("SHIMLD_DEBUG".into(), "files".into())];
        e.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let run = common::run_in(&out, &cmd, &e);
        assert_eq!(run.status, Some(0), "{args:?} {env:?}: {}", run.stderr);
        let whole = run.stderr.contains("runs it alone");
        let stub = run.stderr.contains("handover: stub at");
        assert!(whole != stub, "{args:?} {env:?}: one handover or the other:\n{}", run.stderr);
        whole
    };
    assert!(alone(&["./alone"], &[]));
    assert!(alone(&["./alone-nopie"], &[]));
    assert!(alone(&["./alone-runpath"], &[]));
    assert!(!alone(&["./alone-readlink"], &[]));
    assert!(!alone(&["--bind-all", "./alone"], &[]));
    assert!(!alone(&["./alone"], &[("SHIMLD_BIND_ALL", "1")]));
    assert!(alone(&["./alone"], &[("LD_LIBRARY_PATH", "/nonexistent")]));
    assert!(!alone(&["--library-path", "/nonexistent", "./alone"], &[]));
    assert!(!alone(&["--inhibit-cache", "./alone"], &[]));
    // A trace of shimld's own binding asks for it.
    assert!(!alone(&["./alone"], &[("SHIMLD_DEBUG", "files,bindings")]));
    // Started through PT_INTERP too (testprogs/interp checks the output).
    let interp = common::build_testprog("interp");
    let run =
        common::run_in(&interp, &["./interp-alone-via-shimld".to_string()], &[("SHIMLD_DEBUG".into(), "files".into())]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("runs it alone"), "{}", run.stderr);
}

/// testprogs/interp's interp-missing names an interpreter that does not
/// exist: the kernel cannot start it, shimld can (it needs no interpreter
/// of the program's, its libc.so.6 being no glibc's), with its closure big
/// enough to be cached, first run and second.
#[test]
fn a_missing_interpreter_is_not_needed() {
    let out = common::build_testprog("interp");
    let cache = out.join("missing-cache");
    let _ = std::fs::remove_dir_all(&cache);
    for run in ["first", "second"] {
        let r = common::run_in(
            &out,
            &[common::shimld().display().to_string(), "./interp-missing".into()],
            &[("XDG_CACHE_HOME".into(), cache.display().to_string())],
        );
        assert_eq!((r.status, r.stdout.as_str()), (Some(0), "ran without its interpreter\n"), "{run}: {}", r.stderr);
    }
}
