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
    cpuid,
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

/// testprogs/cpuid: shimld answers ld.so's CPUID instructions from memory
/// (rt/cpuid.rs), on both ways into ld.so. The first start makes the plan
/// and learns the answers, the next takes them from its file; a damaged
/// file, or one that others may write, is made again; `--no-cache` leaves
/// ld.so as it is. (The
/// differential test above checks what glibc makes of the answers.)
#[test]
fn cpuid_answered_from_memory() {
    let out = common::build_testprog("cpuid");
    let cache = common::target_dir().join("test-cache").join("cpuid-plan");
    let _ = std::fs::remove_dir_all(&cache);
    let native = common::run_in(&out, &["./cpuid".to_string()], &[]);
    assert_eq!(native.status, Some(0));
    let run = |opts: &[&str], env: &[(&str, &str)]| -> common::Outcome {
        let mut cmd = vec![common::shimld().display().to_string()];
        cmd.extend(opts.iter().map(|a| a.to_string()));
        cmd.push("./cpuid".into());
        let mut e: Vec<(String, String)> =
            vec![("SHIMLD_DEBUG".into(), "files".into()), ("XDG_CACHE_HOME".into(), cache.display().to_string())];
        e.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let r = common::run_in(&out, &cmd, &e);
        assert_eq!(r.status, Some(0), "{opts:?} {env:?}: {}", r.stderr);
        assert_eq!(r.stdout, native.stdout, "{opts:?} {env:?}");
        r
    };
    let kept = |r: &common::Outcome| -> Option<u64> {
        let line = r.stderr.lines().find(|l| l.contains("CPUID instructions of ld.so answered from memory"))?;
        let n = line.split_once('(').unwrap().1.split_whitespace().next().unwrap();
        Some(n.parse().unwrap())
    };
    let written = |r: &common::Outcome| r.stderr.lines().any(|l| l.contains("cpuid: ") && l.ends_with(": written"));
    let first = run(&[], &[]);
    assert_eq!(kept(&first), Some(0), "{}", first.stderr);
    assert!(written(&first), "{}", first.stderr);
    let second = run(&[], &[]);
    let n = kept(&second).unwrap_or_else(|| panic!("{}", second.stderr));
    assert!(n > 0, "{}", second.stderr);
    assert!(!written(&second), "nothing new to learn:\n{}", second.stderr);
    // The full handover maps ld.so its own way.
    let full = run(&["--bind-all"], &[]);
    assert_eq!(kept(&full), Some(n), "{}", full.stderr);
    assert!(full.stderr.contains("handover: stub at"), "{}", full.stderr);
    // A damaged file is not used: the plan is made and learned again.
    let plan = std::fs::read_dir(cache.join("shimld"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("cpuid-"))
        .expect("a plan file");
    let mut bytes = std::fs::read(&plan).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&plan, &bytes).unwrap();
    let again = run(&[], &[]);
    assert_eq!(kept(&again), Some(0), "{}", again.stderr);
    assert!(written(&again), "{}", again.stderr);
    assert_eq!(kept(&run(&[], &[])), Some(n));
    // Nor one that others may write (its stubs become code).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plan, std::fs::Permissions::from_mode(0o666)).unwrap();
    let shared = run(&[], &[]);
    assert_eq!(kept(&shared), Some(0), "{}", shared.stderr);
    assert_eq!(std::fs::metadata(&plan).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(kept(&run(&[], &[])), Some(n));
    // Off with the resolution cache.
    for (opts, env) in [(&["--no-cache"][..], &[][..]), (&[][..], &[("SHIMLD_NO_CACHE", "1")][..])] {
        let off = run(opts, env);
        assert!(!off.stderr.contains("cpuid:"), "{opts:?} {env:?}: {}", off.stderr);
    }
}
