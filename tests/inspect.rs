//! `shimctl inspect` and `shimctl disasm`. inspect's bindings are checked
//! against what the loader itself reports binding (SHIMLD_DEBUG=bindings
//! with LD_BIND_NOW), its relocation counts against readelf's, and disasm
//! against objdump's view of the same bytes.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn inspect(dir: &Path, prog: &str) -> serde_json::Value {
    let out = common::run(Command::new(common::shimctl()).args(["inspect", "--json", prog]).current_dir(dir));
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// A path without `.` components (one closure names a library as
/// `$ORIGIN/./lib.so`, the other as `$ORIGIN/lib.so`).
fn clean(p: &str) -> String {
    p.replace("/./", "/")
}

/// (from, symbol, to) for every lookup the loader made, from its trace.
fn loader_bindings(dir: &Path, prog: &str) -> BTreeSet<(String, String, String)> {
    let out = common::run(
        Command::new(common::shimld())
            .arg(prog)
            .arg("lazy")
            .current_dir(dir)
            .env_clear()
            .env("LD_BIND_NOW", "1")
            .env("SHIMLD_DEBUG", "bindings"),
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let mut set = BTreeSet::new();
    for l in out.stderr.lines() {
        let Some((_, msg)) = l.split_once(":\t") else { continue };
        let Some(rest) = msg.strip_prefix("binding file ") else { continue };
        if let Some((from, rest)) = rest.split_once(" to nothing: weak symbol `") {
            set.insert((clean(from), rest.trim_end_matches('\'').to_string(), "(undefined weak)".to_string()));
        } else if let Some((from, rest)) = rest.split_once(" to ") {
            let (to, rest) = rest.split_once(": normal symbol `").unwrap();
            let sym = rest.split_once('\'').unwrap().0;
            set.insert((clean(from), sym.to_string(), clean(to)));
        }
    }
    set
}

/// The same from inspect, for the objects the loader binds (not the core).
fn inspect_bindings(report: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    let mut set = BTreeSet::new();
    for o in report["objects"].as_array().unwrap() {
        if o["core"].as_bool().unwrap() {
            continue;
        }
        let from = o["path"].as_str().unwrap();
        for b in o["bindings"].as_array().unwrap() {
            if !b["lookup"].as_bool().unwrap() {
                continue;
            }
            let to = b["bound_to"].as_str().unwrap_or("(undefined weak)");
            set.insert((clean(from), b["symbol"].as_str().unwrap().to_string(), clean(to)));
        }
    }
    set
}

#[test]
fn inspect_binds_as_the_loader_does() {
    // Libc-free programs with interposition, versions, weak references and
    // DT_SYMBOLIC; and a glibc program (the objects outside the core).
    for (feature, progs) in [
        ("interpose", &["./interpose-1", "./interpose-2", "./interpose-3", "./interpose-4"][..]),
        ("versions", &["./ver-new", "./ver-old", "./ver-unversioned"][..]),
        ("weak", &["./weak-ab", "./weak-ba", "./weak-nopie"][..]),
        ("symbolic", &["./symbolic"][..]),
        ("cache", &["./cache-main"][..]),
        // References to the dl* family, which bind to shimld.
        ("dl_family", &["./dl"][..]),
    ] {
        let dir = common::build_testprog(feature);
        for prog in progs {
            let ours = inspect_bindings(&inspect(&dir, prog));
            // Objects dlopen loaded at run time are the loader's alone.
            let known: BTreeSet<&String> = ours.iter().map(|b| &b.0).collect();
            let loader: BTreeSet<_> =
                loader_bindings(&dir, prog).into_iter().filter(|b| known.contains(&b.0)).collect();
            assert!(!loader.is_empty(), "{feature} {prog}: the loader traced no binding");
            assert_eq!(ours, loader, "{feature} {prog}: inspect and the loader bind differently");
        }
    }
}

/// inspect says which programs go to their ld.so whole, as the loader
/// decides (its SHIMLD_DEBUG=files trace says which way a program went).
#[test]
fn inspect_knows_when_ldso_runs_the_program_alone() {
    let dir = common::build_testprog("ldso_alone");
    for (prog, alone) in [("./alone", true), ("./alone-nopie", true), ("./alone-readlink", false)] {
        let report = inspect(&dir, prog);
        assert_eq!(report["ldso_alone"].as_bool(), Some(alone), "{prog}");
        let exe = &report["objects"][0];
        let bindings = exe["bindings"].as_array().unwrap();
        assert!(!bindings.is_empty(), "{prog}: no bindings");
        assert!(bindings.iter().all(|b| b["by_ldso"].as_bool() == Some(alone)), "{prog}: by_ldso is not {alone}");
        let out = common::run(
            Command::new(common::shimld()).arg(prog).current_dir(&dir).env_clear().env("SHIMLD_DEBUG", "files"),
        );
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(
            out.stderr.contains("runs it alone"),
            alone,
            "{prog}: the loader went the other way:\n{}",
            out.stderr
        );
    }
}

#[test]
fn inspect_counts_what_readelf_lists() {
    let dir = common::build_testprog("cache");
    let report = inspect(&dir, "./cache-main");
    for o in report["objects"].as_array().unwrap() {
        let path = o["path"].as_str().unwrap();
        let out = common::run(Command::new("readelf").args(["-rW", path]).current_dir(&dir));
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        for l in out.stdout.lines() {
            if let Some(t) = l.split_whitespace().nth(2).filter(|t| t.starts_with("R_X86_64_")) {
                *want.entry(t.to_string()).or_default() += 1;
            }
            // DT_RELR: readelf counts the offsets its bitmaps encode.
            if let Some(n) = l.trim().strip_suffix(" offsets").and_then(|n| n.parse::<u64>().ok()) {
                *want.entry("R_X86_64_RELATIVE".to_string()).or_default() += n;
            }
        }
        let got: BTreeMap<String, u64> =
            o["by_type"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
        assert_eq!(got, want, "{path}");
        let total: u64 = want.values().sum();
        assert_eq!(o["relocations"].as_u64().unwrap(), total);
        if total > 0 {
            assert!(o["pages_dirtied"].as_u64().unwrap() > 0, "{path}: relocations but no page dirtied");
        }
    }
    // libuse.so's table binds to libcache.so.
    let libuse = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"].as_str().unwrap().ends_with("libuse.so"))
        .unwrap();
    let value = libuse["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["symbol"] == "value" && b["type"] == "R_X86_64_64")
        .expect("libuse.so's R_X86_64_64 against value");
    assert!(value["bound_to"].as_str().unwrap().ends_with("lib/libcache.so"), "{value}");
}

#[test]
fn disasm_shows_functions_and_plt_entries() {
    let dir = common::build_testprog("cache");
    let run = |args: &[&str]| {
        let out = common::run(Command::new(common::shimctl()).arg("disasm").args(args).current_dir(&dir));
        assert_eq!(out.status, Some(0), "{args:?}: {}", out.stderr);
        out.stdout
    };
    // A function of a library of the closure, with its calls named.
    let f = run(&["./cache-main", "use_print"]);
    assert!(f.lines().next().unwrap().contains("lib/libuse.so: use_print at 0x"), "{f}");
    assert!(f.contains("<printf@plt>"), "the call to printf is not named:\n{f}");
    // A PLT entry: an indirect jump through printf's GOT slot.
    let p = run(&["--object", "libuse.so", "./cache-main", "printf@plt"]);
    assert!(p.contains("jmp") && p.contains("GOT slot of printf"), "{p}");
    // The address and bytes are the file's: objdump's listing of the same
    // function starts at the same address with the same bytes.
    let (addr, bytes) = {
        let first = f.lines().nth(1).unwrap();
        let (a, rest) = first.trim().split_once(':').unwrap();
        (a.to_string(), rest.split_whitespace().next().unwrap().to_string())
    };
    let od = common::run(Command::new("objdump").args(["-d", "lib/libuse.so"]).current_dir(&dir));
    let body = od.stdout.split_once("<use_print>:\n").expect("objdump lists use_print").1;
    let line = body.lines().next().unwrap();
    let (oa, rest) = line.trim().split_once(':').unwrap();
    let obytes: String = rest.split('\t').nth(1).unwrap().split_whitespace().collect();
    assert_eq!((addr.as_str(), bytes.as_str()), (oa, obytes.as_str()), "first instruction differs from objdump's");
    // An unknown name is an error.
    let out = common::run(
        Command::new(common::shimctl()).args(["disasm", "./cache-main", "no_such_function"]).current_dir(&dir),
    );
    assert_eq!(out.status, Some(1));
    assert!(out.stderr.contains("no object of its closure has no_such_function"), "{}", out.stderr);
}

/// inspect counts the CPUID instructions of a glibc program's ld.so and
/// how many shimld answers from memory, as the loader patches them (its
/// SHIMLD_DEBUG=files trace says how many it did).
#[test]
fn inspect_counts_the_cpuid_instructions_of_ldso() {
    let dir = common::build_testprog("cpuid");
    let report = inspect(&dir, "./cpuid");
    let c = &report["ldso_cpuid"];
    let (all, answered) = (c["instructions"].as_u64().unwrap(), c["answered"].as_u64().unwrap());
    assert!(all > 0 && answered > 0 && answered <= all, "{c}");
    let cache = common::target_dir().join("test-cache").join("inspect-cpuid");
    let _ = std::fs::remove_dir_all(&cache);
    let out = common::run(
        Command::new(common::shimld())
            .arg("./cpuid")
            .current_dir(&dir)
            .env_clear()
            .env("SHIMLD_DEBUG", "files")
            .env("XDG_CACHE_HOME", &cache),
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let want = format!("cpuid: {answered} CPUID instructions of ld.so answered from memory");
    assert!(out.stderr.contains(&want), "the loader patched another number than {answered}:\n{}", out.stderr);
}
