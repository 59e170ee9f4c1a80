//! `shimld --list` against the system's `ldd`, over every ELF file in the
//! system's program and library directories: the same lines in the same
//! order, load addresses aside, and the same exit status.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn strip_addresses(s: &str) -> String {
    s.lines()
        .map(|l| match l.rfind(" (0x") {
            Some(i) if l.ends_with(')') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_elf(p: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(p).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"\x7fELF"
}

fn elf_files(dirs: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_file() && is_elf(&p) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn compare(files: &[PathBuf]) -> Vec<String> {
    let shimld = common::shimld();
    let mut diffs = Vec::new();
    for f in files {
        let ldd = common::run(Command::new("ldd").arg(f).env_remove("LD_LIBRARY_PATH").env_remove("LD_PRELOAD"));
        let ours = common::run(
            Command::new(&shimld).arg("--list").arg(f).env_remove("LD_LIBRARY_PATH").env_remove("LD_PRELOAD"),
        );
        let (a, b) = (strip_addresses(&ldd.stdout), strip_addresses(&ours.stdout));
        let (ea, eb) = (strip_addresses(&ldd.stderr), strip_addresses(&ours.stderr));
        if a != b || ldd.status != ours.status || ours.signal.is_some() || (ea.contains("not a dynamic") && ea != eb) {
            diffs.push(format!(
                "{}:\n  ldd ({}):\n{}\n  shimld --list ({}):\n{}\n{}",
                f.display(),
                ldd.describe(),
                a,
                ours.describe(),
                b,
                ours.stderr
            ));
        }
    }
    diffs
}

fn compare_all(dirs: &[&str], at_least: usize) {
    let files = elf_files(dirs);
    assert!(files.len() >= at_least, "only {} ELF files found in {dirs:?}", files.len());
    let chunks: Vec<Vec<PathBuf>> = files.chunks(files.len().div_ceil(4)).map(|c| c.to_vec()).collect();
    let handles: Vec<_> = chunks.into_iter().map(|c| std::thread::spawn(move || compare(&c))).collect();
    let diffs: Vec<String> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert!(diffs.is_empty(), "{} of {} files differ from ldd:\n{}", diffs.len(), files.len(), diffs.join("\n"));
}

#[test]
fn programs_match_ldd() {
    compare_all(&["/usr/bin", "/usr/sbin"], 100);
}

#[test]
fn libraries_match_ldd() {
    compare_all(&["/usr/lib/x86_64-linux-gnu"], 100);
}

/// Files that are not programs, as ldd reports them: not ELF at all ("not
/// a dynamic executable", status 1), and missing (status 1).
#[test]
fn non_programs() {
    // As `ld.so --list` (which ldd runs): an error naming the file, status
    // 127.
    let shimld = common::shimld();
    let dir = std::env::temp_dir().join(format!("shimld-ldd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("text");
    std::fs::write(&text, "this is not an ELF file, but it is longer than an ELF header is\n").unwrap();
    let short = dir.join("short");
    std::fs::write(&short, "x").unwrap();
    let missing = dir.join("missing");
    for f in [&text, &short, &missing] {
        let ldso = common::run(Command::new(common::LDSO).arg("--list").arg(f));
        let ours = common::run(Command::new(&shimld).arg("--list").arg(f));
        assert_eq!(ldso.status, Some(127), "ld.so --list {}", f.display());
        assert_eq!(
            (ours.stdout, ours.stderr, ours.status),
            (ldso.stdout, ldso.stderr, ldso.status),
            "shimld --list {}",
            f.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// With shimld as a program's PT_INTERP, LD_TRACE_LOADED_OBJECTS=1 makes it
/// list instead of run, as ldd makes ld.so do: the same list as for the
/// same program with glibc's interpreter, the interpreter line aside.
#[test]
fn list_as_interpreter() {
    let out = common::build_testprog("interp");
    let shimld = common::shimld();
    for prog in ["interp-plain", "interp-lib", "interp-tls"] {
        let native = common::run(
            Command::new(format!("./{prog}")).current_dir(&out).env_clear().env("LD_TRACE_LOADED_OBJECTS", "1"),
        );
        let ours = common::run(
            Command::new(format!("./{prog}-via-shimld"))
                .current_dir(&out)
                .env_clear()
                .env("LD_TRACE_LOADED_OBJECTS", "1"),
        );
        assert_eq!(native.status, Some(0), "{prog}: {}", native.stderr);
        let ours_text = strip_addresses(&ours.stdout).replace(&shimld.display().to_string(), common::LDSO);
        assert_eq!(ours_text, strip_addresses(&native.stdout), "{prog}: {}", ours.stderr);
        assert_eq!(ours.status, native.status);
    }
}
