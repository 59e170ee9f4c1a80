//! SHIMLD_DEBUG: the help, each category's trace lines, the output file,
//! and relocation statistics that agree with the objects' own tables.
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const CATEGORIES: [&str; 7] = ["files", "symbols", "bindings", "reloc", "tls", "init", "statistics"];

fn shimld_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> common::Outcome {
    let mut cmd = Command::new(common::shimld());
    cmd.args(args).current_dir(dir).env_clear().env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::run(&mut cmd)
}

/// Trace lines: the pid right-aligned in 10 columns, a colon and a tab.
fn trace_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            l.len() > 11
                && l.as_bytes()[10] == b':'
                && l.as_bytes()[11] == b'\t'
                && l[..10].trim().parse::<u32>().is_ok()
        })
        .collect()
}

/// Replaces hexadecimal addresses (which ASLR changes between runs).
/// Also without the times of `time in PHASE: N us` lines, which vary.
fn no_addresses(s: &str) -> String {
    let s: String = s
        .lines()
        .map(|l| match l.find("time in ").and_then(|i| l[i..].find(": ").map(|j| i + j)) {
            Some(k) if l.ends_with(" us") => format!("{}: ? us\n", &l[..k]),
            _ => format!("{l}\n"),
        })
        .collect();
    let s = s.as_str();
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        out.push_str("0x?");
        rest = rest[i + 2..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out
}

#[test]
fn help_lists_every_category() {
    let out = shimld_in(Path::new("/"), &["/bin/true"], &[("SHIMLD_DEBUG", "help")]);
    assert_eq!(out.status, Some(0));
    for c in CATEGORIES {
        assert!(out.stdout.lines().any(|l| l.trim_start().starts_with(c)), "help lacks {c}:\n{}", out.stdout);
    }
}

#[test]
fn each_category_traces() {
    // Between them these use every feature a category reports on.
    let progs =
        [(common::build_testprog("tls"), "./tls-dynamic"), (common::build_testprog("initfini"), "./initfini-graph")];
    for c in CATEGORIES {
        let mut lines_seen = 0;
        for (dir, prog) in &progs {
            let plain = shimld_in(dir, &[prog], &[]);
            let out = shimld_in(dir, &[prog], &[("SHIMLD_DEBUG", c)]);
            assert_eq!(out.stdout, plain.stdout, "SHIMLD_DEBUG={c} changed the output of {prog}");
            assert_eq!(out.status, plain.status);
            let lines = trace_lines(&out.stderr);
            assert_eq!(
                lines.len(),
                out.stderr.lines().count() - plain.stderr.lines().count(),
                "non-trace lines:\n{}",
                out.stderr
            );
            lines_seen += lines.len();
            let all = shimld_in(dir, &[prog], &[("SHIMLD_DEBUG", "all")]);
            let all_text = no_addresses(&all.stderr);
            for l in lines {
                let msg = no_addresses(l.split_once(":\t").unwrap().1);
                assert!(all_text.contains(&msg), "SHIMLD_DEBUG=all lacks {c}'s line {msg:?}");
            }
        }
        assert!(lines_seen > 0, "SHIMLD_DEBUG={c} printed no trace lines");
    }
}

#[test]
fn unknown_category_warns() {
    let dir = common::build_testprog("hello");
    let out = shimld_in(&dir, &["./hello-pie"], &[("SHIMLD_DEBUG", "bogus")]);
    assert_eq!(out.status, Some(42));
    assert_eq!(out.stderr, "shimld: warning: debug option `bogus' unknown; try SHIMLD_DEBUG=help\n");
}

#[test]
fn output_file_gets_the_pid() {
    let dir = common::build_testprog("hello");
    let base = std::env::temp_dir().join(format!("shimld-debug-{}", std::process::id()));
    let out = shimld_in(
        &dir,
        &["./hello-pie"],
        &[("SHIMLD_DEBUG", "files,statistics"), ("SHIMLD_DEBUG_OUTPUT", base.to_str().unwrap())],
    );
    assert_eq!(out.status, Some(42));
    assert_eq!(out.stderr, "", "the trace belongs in the file");
    let files: Vec<_> = std::fs::read_dir(base.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(base.file_name().unwrap().to_str().unwrap()))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let pid = files[0].extension().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(&files[0]).unwrap();
    std::fs::remove_file(&files[0]).unwrap();
    assert!(pid.parse::<u32>().is_ok(), "file name should end in the pid: {}", files[0].display());
    let lines = trace_lines(&text);
    assert!(!lines.is_empty() && lines.iter().all(|l| l[..10].trim() == pid), "{text}");
}

/// Relocation counts by type from readelf, over the objects shimld
/// relocates (every object of the closure but the dynamic linker).
fn readelf_counts(dir: &Path, prog: &str) -> BTreeMap<String, u64> {
    let list = shimld_in(dir, &["--list", prog], &[]);
    let mut objs = vec![prog.to_string()];
    for l in list.stdout.lines() {
        if let Some((_, rest)) = l.split_once(" => ") {
            objs.push(rest.rsplit_once(" (").unwrap().0.to_string());
        }
    }
    let mut counts = BTreeMap::new();
    for o in objs {
        let r = common::run(Command::new("readelf").args(["-rW", &o]).current_dir(dir));
        assert!(!r.stdout.contains(".relr"), "{o} has DT_RELR; readelf counts it differently");
        for l in r.stdout.lines() {
            if let Some(t) = l.split_whitespace().nth(2).filter(|t| t.starts_with("R_X86_64_")) {
                *counts.entry(t.to_string()).or_insert(0) += 1;
            }
        }
    }
    counts
}

#[test]
fn statistics_count_every_relocation() {
    let dir = common::build_testprog("tls");
    for prog in ["./tls-dynamic", "./tls-static", "./tls-static-nopie"] {
        assert!(dir.join(prog).exists(), "{prog} missing from testprogs/tls");
        let out = shimld_in(&dir, &[prog], &[("SHIMLD_DEBUG", "statistics"), ("LD_BIND_NOW", "1")]);
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        let mut got = BTreeMap::new();
        for l in trace_lines(&out.stderr) {
            let msg = l.split_once(":\t").unwrap().1.trim();
            if let Some((t, n)) = msg.split_once(": ").filter(|(t, _)| t.starts_with("R_X86_64_")) {
                got.insert(t.to_string(), n.parse::<u64>().unwrap());
            }
        }
        let want = readelf_counts(&dir, prog);
        assert!(!want.is_empty());
        assert_eq!(got, want, "{prog}: SHIMLD_DEBUG=statistics (left) against readelf -r (right)");
    }
}
