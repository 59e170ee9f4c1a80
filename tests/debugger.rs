//! Debuggers and profilers see the objects shimld loads: gdb stops at a
//! breakpoint in a function of a shimld-loaded library and shows the
//! program's own frames, and perf attributes samples to the library's
//! function.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory of this test's, with C sources written into it.
fn sources(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shimld-debugger-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn gcc(dir: &Path, args: &[&str]) {
    let out = common::run(Command::new("gcc").args(args).current_dir(dir));
    assert_eq!(out.status, Some(0), "gcc {args:?}: {}", out.stderr);
}

/// A program and a library of its own, built with debug information.
fn build(tag: &str) -> PathBuf {
    let dir = sources(
        tag,
        &[
            (
                "lib.c",
                "volatile long sink;\nlong lib_spin(long n) { long s = 0; for (long i = 0; i < n; i++) s += i * i; sink = s; return s & 1; }\n",
            ),
            (
                "main.c",
                "#include <stdio.h>\nlong lib_spin(long);\nint main(int argc, char **argv) { printf(\"%ld\\n\", lib_spin(argc > 1 ? 400000000 : 10)); return 0; }\n",
            ),
        ],
    );
    gcc(&dir, &["-g", "-O1", "-shared", "-fPIC", "-o", "libspin.so", "lib.c"]);
    gcc(&dir, &["-g", "-O1", "-o", "spin", "main.c", "-L.", "-lspin", "-Wl,-rpath,$ORIGIN"]);
    dir
}

#[test]
fn gdb_breaks_in_a_shimld_loaded_library() {
    let dir = build("gdb");
    let out = common::run(
        Command::new("gdb")
            .args([
                "-nx",
                "-batch",
                "-ex",
                "set breakpoint pending on",
                "-ex",
                "break lib_spin",
                "-ex",
                "run",
                "-ex",
                "bt",
            ])
            .arg("--args")
            .arg(common::shimld())
            .arg("./spin")
            .current_dir(&dir),
    );
    assert!(
        out.stdout.contains("Breakpoint 1, lib_spin"),
        "gdb did not stop in lib_spin:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    // The caller is the program's main, with its source line: gdb knows the
    // program too, not only shimld.
    assert!(
        out.stdout.lines().any(|l| l.starts_with("#1") && l.contains("main") && l.contains("main.c")),
        "{}",
        out.stdout
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A program that needs only the glibc core goes to its ld.so whole
/// (rt/handover.rs, ldso_alone); gdb still sees the program and libc, as
/// after a full handover (`--bind-all`).
#[test]
fn gdb_sees_a_program_ldso_runs_alone() {
    let dir = sources(
        "alone",
        &[(
            "main.c",
            "#include <stdio.h>\nvoid inner(void) { puts(\"hi\"); }\nint main(void) { inner(); return 0; }\n",
        )],
    );
    gcc(&dir, &["-g", "-O0", "-o", "hello", "main.c"]);
    for extra in [None, Some("--bind-all")] {
        let mut gdb = Command::new("gdb");
        gdb.args(["-nx", "-batch", "-ex", "set breakpoint pending on", "-ex", "break puts", "-ex", "run", "-ex", "bt"])
            .arg("--args")
            .arg(common::shimld())
            .args(extra)
            .arg("./hello")
            .current_dir(&dir)
            .env("SHIMLD_DEBUG", "files")
            .env("SHIMLD_DEBUG_OUTPUT", dir.join("trace"));
        let out = common::run(&mut gdb);
        assert!(
            out.stdout.contains("Breakpoint 1, ") && out.stdout.contains("puts"),
            "{extra:?}: gdb did not stop in puts:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        for (frame, func) in [("#1", "inner"), ("#2", "main")] {
            assert!(
                out.stdout.lines().any(|l| l.starts_with(frame) && l.contains(func) && l.contains("main.c")),
                "{extra:?}: no {func} in the backtrace:\n{}",
                out.stdout
            );
        }
        // The trace (one file per process) says which way the program went.
        let trace: String = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("trace."))
            .map(|e| {
                let t = std::fs::read_to_string(e.path()).unwrap();
                std::fs::remove_file(e.path()).unwrap();
                t
            })
            .collect();
        assert_eq!(trace.contains("runs it alone"), extra.is_none(), "{extra:?}:\n{trace}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn perf_names_a_shimld_loaded_function() {
    let dir = build("perf");
    let data = dir.join("perf.data");
    let rec = common::run(
        Command::new("perf")
            .args(["record", "-q", "-o"])
            .arg(&data)
            .arg(common::shimld())
            .args(["./spin", "long"])
            .current_dir(&dir),
    );
    assert_eq!(rec.status, Some(0), "perf record: {}", rec.stderr);
    let rep = common::run(Command::new("perf").args(["report", "--stdio", "-i"]).arg(&data).current_dir(&dir));
    let top = rep.stdout.lines().find(|l| !l.starts_with('#') && !l.trim().is_empty()).unwrap_or("");
    assert!(top.contains("libspin.so") && top.contains("lib_spin"), "hottest entry: {top}\n{}", rep.stdout);
    // The process carries the program's name, as natively.
    assert!(top.contains("spin"), "{top}");
    std::fs::remove_dir_all(&dir).unwrap();
}
