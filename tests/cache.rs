//! The resolution cache: a start-up that finds its closure's bindings in
//! the cache looks nothing up, and an entry is never used for files it was
//! not made from: a library replaced (in place or by rename, with or
//! without its old modification time, with symbols moved to new indices),
//! a damaged cache file, or `--no-cache`.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

struct Fixture {
    dir: PathBuf,
    cache: PathBuf,
}

/// A private copy of testprogs/cache's output (the tests replace its
/// library) and an empty cache directory.
fn fixture(name: &str) -> Fixture {
    let built = common::build_testprog("cache");
    let dir = built.parent().unwrap().join(format!("cache-test-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["lib", "v1", "v2", "v3"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for f in [
        "cache-main",
        "cache-nopie",
        "cache-plt",
        "cache-small",
        "lib/libsmall.so",
        "lib/libuse.so",
        "lib/libcache.so",
        "v1/libcache.so",
        "v2/libcache.so",
        "v3/libcache.so",
    ] {
        std::fs::copy(built.join(f), dir.join(f)).unwrap();
    }
    let cache = dir.join("xdg-cache");
    Fixture { dir, cache }
}

/// What a run printed, and how many references the cache answered, how
/// many were looked up, and how many repeated an earlier lookup
/// (SHIMLD_DEBUG=statistics).
struct Run {
    out: common::Outcome,
    cached: u64,
    lookups: u64,
    repeated: u64,
    /// glibc core objects whose tables were read before ld.so mapped them.
    core_read: u64,
}

fn count(stderr: &str, what: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|l| l.split_once(what).map(|(_, n)| n.trim().parse::<u64>().unwrap()))
        .next()
        .unwrap_or_else(|| panic!("no `{what}` line in:\n{stderr}"))
}

fn shimld(f: &Fixture, extra: &[&str]) -> Run {
    shimld_env(f, extra, &[])
}

/// As `shimld`, with more environment variables.
fn shimld_env(f: &Fixture, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let out = run_under_shimld(f, "./cache-main", extra, &[], "statistics", env);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    Run::of(out)
}

/// Runs `prog` of the fixture with `args` under shimld, with `extra`
/// options, the fixture's cache, SHIMLD_DEBUG=`debug` and `env`.
fn run_under_shimld(
    f: &Fixture,
    prog: &str,
    extra: &[&str],
    args: &[&str],
    debug: &str,
    env: &[(&str, &str)],
) -> common::Outcome {
    let mut cmd = Command::new(common::shimld());
    cmd.args(extra)
        .arg(prog)
        .args(args)
        .current_dir(&f.dir)
        .env_clear()
        .env("XDG_CACHE_HOME", &f.cache)
        .env("SHIMLD_DEBUG", debug)
        .envs(env.iter().copied());
    common::run(&mut cmd)
}

impl Run {
    /// The run, with its counts from SHIMLD_DEBUG=statistics.
    fn of(out: common::Outcome) -> Run {
        let cached = count(&out.stderr, "number of bindings from the resolution cache:");
        let lookups = count(&out.stderr, "number of symbol lookups:");
        let repeated = count(&out.stderr, "number of repeated references:");
        let core_read = count(&out.stderr, "number of glibc core objects read before ld.so mapped them:");
        Run { out, cached, lookups, repeated, core_read }
    }
}

fn native(f: &Fixture) -> String {
    native_of(f, "./cache-main")
}

/// What `prog` of the fixture prints, run natively.
fn native_of(f: &Fixture, prog: &str) -> String {
    let out = common::run(Command::new(prog).current_dir(&f.dir).env_clear());
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    out.stdout
}

fn cache_files(f: &Fixture) -> Vec<PathBuf> {
    // (Not the plan of ld.so's CPUID instructions, kept there too.)
    match std::fs::read_dir(f.cache.join("shimld")) {
        Ok(d) => d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "bind")).collect(),
        Err(_) => Vec::new(),
    }
}

/// Puts a variant in place of lib/libcache.so: by writing over the file
/// (same inode) or by renaming a copy over it (a new inode).
fn replace(f: &Fixture, variant: &str, in_place: bool) {
    let lib = f.dir.join("lib/libcache.so");
    let src = f.dir.join(variant).join("libcache.so");
    if in_place {
        std::fs::write(&lib, std::fs::read(&src).unwrap()).unwrap();
    } else {
        let tmp = f.dir.join("lib/.new");
        std::fs::copy(&src, &tmp).unwrap();
        std::fs::rename(&tmp, &lib).unwrap();
    }
}

/// Sets a file's modification time to another file's (as `cp -p` or a
/// package manager keeping timestamps would).
fn copy_mtime(from: &Path, to: &Path) {
    let st = common::run(Command::new("touch").arg("-r").arg(from).arg(to));
    assert_eq!(st.status, Some(0), "{}", st.stderr);
}

#[test]
fn second_start_uses_the_cache_and_agrees() {
    let f = fixture("hit");
    let want = native(&f);
    let first = shimld(&f, &[]);
    assert_eq!(first.out.stdout, want);
    assert_eq!(first.cached, 0, "an empty cache supplied bindings");
    assert!(first.lookups > 0);
    assert_eq!(cache_files(&f).len(), 1, "the first start-up wrote no cache file");
    let second = shimld(&f, &[]);
    assert_eq!(second.out.stdout, want);
    assert_eq!(second.lookups, 0, "the cached start-up still looked symbols up:\n{}", second.out.stderr);
    assert_eq!(second.cached, first.lookups + first.repeated, "the cache should answer every reference");
    // The cache also keeps what the handover took from libc's tables (the
    // copy of optind, libuse's interposer): libc is not read again.
    assert!(first.core_read > 0, "the first start-up read no core tables:\n{}", first.out.stderr);
    assert_eq!(second.core_read, 0, "the cached start-up read the core's tables:\n{}", second.out.stderr);
}

#[test]
fn a_replaced_library_is_never_bound_from_the_cache() {
    // Each step replaces the library in a different way; each must look
    // up afresh (nothing from the cache) and print what native runs print.
    let f = fixture("replace");
    let lib = f.dir.join("lib/libcache.so");
    shimld(&f, &[]);
    assert_eq!(shimld(&f, &[]).cached > 0, true, "the cache was not used at all");
    let steps: [(&str, bool, bool); 4] = [
        // Symbols at new indices, written in place (same inode).
        ("v2", true, false),
        // Back to v1 by rename (new inode).
        ("v1", false, false),
        // The same size and layout, other contents, written in place with
        // the old modification time put back: only the change time and the
        // build-id tell.
        ("v3", true, true),
        // And v1 again the same way.
        ("v1", true, true),
    ];
    for (variant, in_place, keep_mtime) in steps {
        let old = f.dir.join("old-mtime");
        std::fs::copy(&lib, &old).unwrap();
        copy_mtime(&lib, &old);
        replace(&f, variant, in_place);
        if keep_mtime {
            copy_mtime(&old, &lib);
        }
        let want = native(&f);
        let run = shimld(&f, &[]);
        assert_eq!(run.out.stdout, want, "after putting {variant} in place");
        assert_eq!(run.cached, 0, "after putting {variant} in place, bindings came from the cache");
        assert!(run.lookups > 0);
        // And the entry written now serves the next start-up.
        let again = shimld(&f, &[]);
        assert_eq!(again.out.stdout, want);
        assert!(again.cached > 0 && again.lookups == 0, "no cache hit for {variant}:\n{}", again.out.stderr);
    }
    assert!(native(&f).contains("value 1 "), "the last step should have put v1 back");
}

#[test]
fn a_damaged_cache_file_is_ignored() {
    let f = fixture("damaged");
    let want = native(&f);
    shimld(&f, &[]);
    let files = cache_files(&f);
    assert_eq!(files.len(), 1);
    let good = std::fs::read(&files[0]).unwrap();
    // A flipped byte in the bindings, a truncated file, an empty file.
    let mut flipped = good.clone();
    let at = good.len() - 12;
    flipped[at] ^= 0x5a;
    for bad in [flipped, good[..good.len() / 2].to_vec(), Vec::new()] {
        std::fs::write(&files[0], &bad).unwrap();
        let run = shimld(&f, &[]);
        assert_eq!(run.out.stdout, want);
        assert_eq!(run.cached, 0, "a damaged cache file supplied bindings");
    }
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let f = fixture("off");
    let want = native(&f);
    let run = shimld(&f, &["--no-cache"]);
    assert_eq!(run.out.stdout, want);
    assert!(cache_files(&f).is_empty(), "--no-cache wrote {:?}", cache_files(&f));
    // Nor the CPUID plan (rt/cpuid.rs).
    let any = std::fs::read_dir(f.cache.join("shimld")).map_or(0, |d| d.count());
    assert_eq!(any, 0, "--no-cache wrote to the cache directory");
    shimld(&f, &[]);
    assert_eq!(cache_files(&f).len(), 1);
    let run = shimld(&f, &["--no-cache"]);
    assert_eq!(run.cached, 0, "--no-cache read the cache");
    assert!(run.lookups > 0);
    // SHIMLD_NO_CACHE does the same for a program that has shimld as its
    // interpreter (no command line to put --no-cache on).
    let run = shimld_env(&f, &[], &[("SHIMLD_NO_CACHE", "1")]);
    assert_eq!(run.cached, 0, "SHIMLD_NO_CACHE read the cache");
}

#[test]
fn bind_now_after_a_lazy_start_uses_its_entry() {
    // A lazy start-up keeps its PLT references in the entry too (it binds
    // them at start-up, see the next test), so a start-up with LD_BIND_NOW
    // after it finds every reference in the cache and looks nothing up.
    let f = fixture("bindnow");
    let want = native(&f);
    let lazy = shimld(&f, &[]);
    assert_eq!(lazy.out.stdout, want);
    let bind_now = [("LD_BIND_NOW", "1")];
    let now = shimld_env(&f, &[], &bind_now);
    assert_eq!(now.out.stdout, want);
    assert_eq!(now.lookups, 0, "{}", now.out.stderr);
    assert_eq!(now.cached, lazy.lookups + lazy.repeated);
}

/// Runs ./cache-plt with `args` under shimld with the fixture's cache (and
/// `extra` options); returns the run and how many PLT entries lazy binding
/// bound (SHIMLD_DEBUG=reloc).
fn plt_run(f: &Fixture, extra: &[&str], args: &[&str]) -> (Run, usize) {
    let (run, lazy, _) = plt_run_found(f, extra, args);
    (run, lazy)
}

/// As `plt_run`, with how many of the lazy bindings were of an IFUNC whose
/// definition start-up had found (no lookup at the first call).
fn plt_run_found(f: &Fixture, extra: &[&str], args: &[&str]) -> (Run, usize, usize) {
    let out = run_under_shimld(f, "./cache-plt", extra, args, "statistics,reloc", &[]);
    let lazy = out.stderr.lines().filter(|l| l.contains("lazy binding in ")).count();
    let found = out.stderr.lines().filter(|l| l.contains("lazy binding in ") && l.contains("start-up found")).count();
    (Run::of(out), lazy, found)
}

#[test]
fn lazy_plt_entries_are_bound_from_the_cache() {
    // With the cache, the program's PLT entries are bound at start-up where
    // the binding is known; only libc's strlen, an IFUNC, goes through lazy
    // binding at its first call (which runs its resolver, the definition
    // known from start-up). A function no library defines stays lazy:
    // harmless until called, then the same error as natively. The entry
    // records it too, so cached start-ups look nothing up and never
    // rewrite the file.
    let f = fixture("plt");
    let native_run =
        |args: &[&str]| common::run(Command::new("./cache-plt").args(args).current_dir(&f.dir).env_clear());
    let want = native_run(&[]);
    assert_eq!(want.status, Some(0), "{}", want.stderr);
    let (first, lazy) = plt_run(&f, &[], &[]);
    assert_eq!((first.out.status, &first.out.stdout), (Some(0), &want.stdout), "{}", first.out.stderr);
    assert_eq!(lazy, 1, "{}", first.out.stderr);
    let files = cache_files(&f);
    assert_eq!(files.len(), 1);
    let written = std::fs::read(&files[0]).unwrap();
    for _ in 0..2 {
        let (again, lazy, found) = plt_run_found(&f, &[], &[]);
        assert_eq!((again.out.status, &again.out.stdout), (Some(0), &want.stdout), "{}", again.out.stderr);
        assert_eq!(again.lookups, 0, "{}", again.out.stderr);
        assert_eq!(again.cached, first.lookups + first.repeated);
        assert_eq!(lazy, 1, "{}", again.out.stderr);
        // strlen's first call runs its resolver, and looks nothing up.
        assert_eq!(found, 1, "{}", again.out.stderr);
        assert_eq!(std::fs::read(&files[0]).unwrap(), written, "a cached start-up rewrote the entry");
    }
    // Without the cache, every PLT entry is bound at its first call, by a
    // lookup.
    let (plain, lazy, found) = plt_run_found(&f, &["--no-cache"], &[]);
    assert_eq!(plain.out.stdout, want.stdout);
    assert!(lazy > 1, "{}", plain.out.stderr);
    assert_eq!(found, 0, "{}", plain.out.stderr);
    // Calling the function nothing defines: the output so far, then glibc's
    // message and status.
    let want = native_run(&["call"]);
    assert_eq!(want.status, Some(127));
    let (call, _) = plt_run(&f, &[], &["call"]);
    assert_eq!((call.out.status, &call.out.stdout), (Some(127), &want.stdout));
    assert!(
        call.out.stderr.contains("symbol lookup error: ./cache-plt: undefined symbol: absent"),
        "{}",
        call.out.stderr
    );
}

#[test]
fn the_cache_directory_stays_bounded() {
    // Entries of closures that changed are never read again; past 256
    // files, writing a new one clears the old ones.
    let f = fixture("bounded");
    let dir = f.cache.join("shimld");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..300 {
        std::fs::write(dir.join(format!("{i:016x}.bind")), b"stale").unwrap();
    }
    let run = shimld(&f, &[]);
    assert_eq!(run.out.stdout, native(&f));
    let left = cache_files(&f);
    assert_eq!(left.len(), 1, "{} files left", left.len());
    assert!(shimld(&f, &[]).cached > 0, "the new entry was cleared too");
}

#[test]
fn small_closures_are_not_cached() {
    // A program with one small library (a dozen relocations outside the
    // glibc core) gains nothing from a cache file: none is written, while
    // cache-main's closure gets one.
    let f = fixture("small");
    let run = |prog: &str| {
        let out = common::run(
            Command::new(common::shimld()).arg(prog).current_dir(&f.dir).env_clear().env("XDG_CACHE_HOME", &f.cache),
        );
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        out.stdout
    };
    assert_eq!(run("./cache-small"), "small 2\n");
    assert!(cache_files(&f).is_empty(), "{:?}", cache_files(&f));
    run("./cache-main");
    assert_eq!(cache_files(&f).len(), 1, "{:?}", cache_files(&f));
}

/// The glibc core's files, which a start-up reads without mapping them,
/// are closed before the program runs: with and without a cache entry,
/// the program sees the descriptors it sees natively.
#[test]
fn no_descriptor_stays_open() {
    let f = fixture("fds");
    let ls = |shimld: bool| {
        let mut cmd = Command::new(if shimld { common::shimld() } else { PathBuf::from("/bin/ls") });
        if shimld {
            cmd.arg("/bin/ls");
        }
        cmd.arg("/proc/self/fd").env_clear().env("XDG_CACHE_HOME", &f.cache);
        let out = common::run(&mut cmd);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        out.stdout
    };
    let want = ls(false);
    assert_eq!(ls(true), want, "first start-up");
    assert!(!cache_files(&f).is_empty(), "ls's start-up wrote no cache file");
    assert_eq!(ls(true), want, "cached start-up");
}

/// A position-dependent program's PLT entries that stand for malloc and
/// free are where the glibc core's own references to them bind: the cache
/// keeps that, and a cached start-up hands them to ld.so without reading
/// libc's tables, with the program's output as natively.
#[test]
fn a_programs_plt_entries_interpose_from_the_cache() {
    let f = fixture("nopie");
    let want = native_of(&f, "./cache-nopie");
    let run = || {
        let out = run_under_shimld(&f, "./cache-nopie", &[], &[], "statistics", &[]);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(out.stdout, want);
        Run::of(out)
    };
    let first = run();
    assert!(first.core_read > 0, "the first start-up read no core tables:\n{}", first.out.stderr);
    let second = run();
    assert_eq!(second.core_read, 0, "the cached start-up read the core's tables:\n{}", second.out.stderr);
}
