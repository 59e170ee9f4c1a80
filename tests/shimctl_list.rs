//! `shimctl list` against glibc's own account of its search: for every
//! library, the path and the reason (which RPATH or RUNPATH, LD_LIBRARY_PATH,
//! the cache, a default directory) must be what `LD_DEBUG=libs` shows ld.so
//! doing when it lists the same program.
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// (library name -> (path, reason)) from ld.so's LD_DEBUG=libs trace of
/// `ld.so --list PROG` (run in trace mode, so nothing of PROG runs).
fn ldso_reasons(prog: &Path, dir: &Path, env: &[(&str, &str)]) -> BTreeMap<String, (String, String)> {
    let mut cmd = Command::new(common::LDSO);
    cmd.arg(prog)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LD_DEBUG", "libs")
        .env("LD_TRACE_LOADED_OBJECTS", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = common::run(&mut cmd);
    // The paths, from the listing itself ("name => path (0x...)").
    let mut paths = BTreeMap::new();
    let mut found = BTreeMap::new();
    for line in out.stdout.lines() {
        if let Some((name, rest)) = line.trim().split_once(" => ") {
            if rest == "not found" {
                found.insert(name.to_string(), (String::new(), "not found".to_string()));
            } else if let Some((path, _)) = rest.rsplit_once(" (0x") {
                paths.insert(name.to_string(), path.to_string());
            }
        }
    }
    // The reasons: within each "find library=NAME" block, the search line
    // in force when ld.so tried the path it ended up with.
    let mut current: Option<String> = None;
    let mut source = String::new();
    for line in out.stderr.lines() {
        let Some((_, msg)) = line.split_once(":\t") else {
            continue;
        };
        if let Some(rest) = msg.strip_prefix("find library=") {
            current = rest.split(" [").next().map(str::to_string);
            source.clear();
        } else if let Some(rest) = msg.strip_prefix(" search path=") {
            let why = rest.rsplit_once("\t\t(").map(|(_, w)| w.trim_end_matches(')')).unwrap_or("");
            source = match why.split_once(" from file ") {
                Some(("RUNPATH", f)) => format!("DT_RUNPATH of {f}"),
                Some(("RPATH", f)) => format!("DT_RPATH of {f}"),
                _ if why == "LD_LIBRARY_PATH" => "LD_LIBRARY_PATH".into(),
                _ if why == "system search path" => "default directory".into(),
                _ => why.to_string(),
            };
        } else if msg.starts_with(" search cache=") {
            source = "ld.so.cache".into();
        } else if let Some(path) = msg.strip_prefix("  trying file=") {
            if let Some(name) = &current {
                if paths.get(name).map(String::as_str) == Some(path) {
                    found.insert(name.clone(), (path.to_string(), source.clone()));
                }
            }
        }
    }
    found
}

fn shimctl_reasons(prog: &Path, dir: &Path, env: &[(&str, &str)]) -> BTreeMap<String, (String, String)> {
    let mut cmd = Command::new(common::shimctl());
    cmd.args(["list", "--json"]).arg(prog).current_dir(dir).env_clear().env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = common::run(&mut cmd);
    assert!(out.status.is_some(), "shimctl list {}: {}", prog.display(), out.describe());
    let nodes: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let mut found = BTreeMap::new();
    for n in nodes.as_array().unwrap().iter().skip(1) {
        let why = n["found_by"].as_str().unwrap();
        // ld.so traces only searches; a name with a slash is not searched.
        if why.starts_with("dynamic linker") || why == "path named in DT_NEEDED" {
            continue;
        }
        found.insert(
            n["name"].as_str().unwrap().to_string(),
            (n["path"].as_str().unwrap_or("").to_string(), why.to_string()),
        );
    }
    found
}

/// Compares one program; returns how many libraries were compared.
fn check(prog: &Path, dir: &Path, env: &[(&str, &str)]) -> usize {
    let want = ldso_reasons(prog, dir, env);
    let got = shimctl_reasons(prog, dir, env);
    assert_eq!(got, want, "shimctl list {} {env:?} (left) against LD_DEBUG=libs (right)", prog.display());
    want.len()
}

#[test]
fn system_programs() {
    let mut n = 0;
    for p in ["/usr/bin/git", "/usr/bin/python3", "/usr/bin/perl", "/usr/bin/gdb", "/usr/bin/ls", "/usr/bin/curl"] {
        if Path::new(p).exists() {
            n += check(Path::new(p), Path::new("/"), &[]);
        }
    }
    assert!(n >= 5, "too few libraries compared");
}

#[test]
fn library_path_rpath_runpath() {
    let out = common::build_testprog("search");
    let mut n = 0;
    for e in std::fs::read_dir(&out).unwrap().flatten() {
        let p = e.path();
        let is_exe = p.is_file()
            && std::os::unix::fs::PermissionsExt::mode(&e.metadata().unwrap().permissions()) & 0o111 != 0
            && !p.to_string_lossy().ends_with(".so")
            && std::fs::read(&p).is_ok_and(|b| b.starts_with(b"\x7fELF"));
        if !is_exe {
            continue;
        }
        let rel = Path::new(".").join(p.file_name().unwrap());
        for env in [&[][..], &[("LD_LIBRARY_PATH", "lib:.")], &[("LD_LIBRARY_PATH", "llp:lp::rp")]] {
            n += check(&rel, &out, env);
        }
    }
    assert!(n > 20, "too few libraries compared in testprogs/search");
}
