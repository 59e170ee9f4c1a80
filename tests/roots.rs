//! `--root`: programs of other Debian releases, run on this host with their
//! own ld.so and libraries. The reference is the root's own ld.so run as a
//! command with `--library-path` set to the root's library directories;
//! stdout, stderr and the exit status must agree. The host's ld.so cannot
//! run these programs at all (the test checks that too, for trixie).
//!
//! The roots are built with debootstrap (tests/support/make-root.sh) into
//! target/roots on first use.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// (program inside the root, its arguments as one shell string).
const PROGRAMS: &[(&str, &str)] = &[
    ("/usr/bin/ls", "-la --time-style=+%s ROOT/etc/apt"),
    ("/bin/bash", "-c 'echo $((6*7)) ${BASH_VERSION%%.*}; declare -A m; m[x]=y; echo ${m[x]}'"),
    ("/usr/bin/sort", "--parallel=2 -t: -k3 -n ROOT/etc/passwd"),
    ("/bin/grep", "-P '^r\\w+:x:0' ROOT/etc/passwd"),
    // perl reads its modules from its compiled-in (host) paths unless told:
    // the program's own file accesses are not redirected.
    (
        "/usr/bin/perl",
        "-IROOT/usr/lib/x86_64-linux-gnu/perl-base -MPOSIX=floor -MList::Util=sum -MFcntl=O_RDONLY -e 'print floor(3.7), sum(1..10), O_RDONLY, qq(\\n)'",
    ),
    ("/usr/bin/dpkg", "--version"),
    ("/usr/bin/apt-config", "dump APT::Architecture"),
    ("/usr/bin/find", "ROOT/etc/apt -maxdepth 1 -name '*.d' | sort"),
];

fn root(suite: &str) -> PathBuf {
    let dir = common::root().join("target/roots").join(suite);
    let script = common::root().join("tests/support/make-root.sh");
    let out = common::run(Command::new("sh").arg(&script).arg(suite).arg(&dir));
    assert_eq!(out.status, Some(0), "building the {suite} root failed (needs debootstrap and root):\n{}", out.stderr);
    dir
}

/// The root's own ld.so, with its symbolic links resolved inside the root.
fn root_ldso(root: &Path) -> PathBuf {
    let mut p = PathBuf::from("/lib64/ld-linux-x86-64.so.2");
    for _ in 0..8 {
        let inside = root.join(p.strip_prefix("/").unwrap());
        match std::fs::read_link(&inside) {
            Ok(t) if t.is_absolute() => p = t,
            Ok(t) => p = p.parent().unwrap().join(t),
            Err(_) => return inside,
        }
    }
    panic!("too many links for ld.so in {}", root.display());
}

fn sh(line: &str) -> common::Outcome {
    common::run(Command::new("sh").arg("-c").arg(line).env_clear().env("PATH", "/usr/bin:/bin").env("LANG", "C"))
}

fn check_root(suite: &str) {
    let root = root(suite);
    let r = root.display().to_string();
    let ldso = root_ldso(&root);
    let libs = format!("{r}/lib/x86_64-linux-gnu:{r}/usr/lib/x86_64-linux-gnu");
    let shimld = common::shimld();
    let mut failures = Vec::new();
    for (prog, args) in PROGRAMS {
        let args = args.replace("ROOT", &r);
        let reference = sh(&format!("{} --library-path {libs} {r}{prog} {args}", ldso.display()));
        let ours = sh(&format!("{} --root {r} {r}{prog} {args}", shimld.display()));
        if reference.status != Some(0) {
            failures.push(format!("{prog}: the reference run fails ({}): {}", reference.describe(), reference.stderr));
        } else if reference != ours {
            failures.push(format!(
                "{prog} {args}\n  root's ld.so ({}):\n{}{}\n  shimld --root ({}):\n{}{}",
                reference.describe(),
                reference.stdout,
                reference.stderr,
                ours.describe(),
                ours.stdout,
                ours.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{suite}: {} of {} programs differ:\n{}",
        failures.len(),
        PROGRAMS.len(),
        failures.join("\n")
    );
}

/// Debian 13, glibc 2.41: newer than the host's.
#[test]
fn trixie() {
    check_root("trixie");
    // The host's ld.so cannot run these programs; shimld's point is that
    // it runs them with the root's own.
    let r = root("trixie");
    let host = common::run(Command::new(format!("{}/usr/bin/ls", r.display())).arg("/"));
    assert_ne!(host.status, Some(0), "the host's ld.so ran a trixie program: the test proves nothing");
}

/// Debian 11, glibc 2.31: older, with a separate libpthread and a program
/// start-up (crt1) from before glibc 2.34.
#[test]
fn bullseye() {
    check_root("bullseye");
}

/// `--list` with `--root` finds the root's libraries, as the root's ld.so
/// does.
#[test]
fn list_in_root() {
    let root = root("trixie");
    let r = root.display().to_string();
    let libs = format!("{r}/lib/x86_64-linux-gnu:{r}/usr/lib/x86_64-linux-gnu");
    let ours = sh(&format!("{} --root {r} --list {r}/usr/bin/ls", common::shimld().display()));
    assert_eq!(ours.status, Some(0), "{}", ours.stderr);
    let reference = sh(&format!("{} --library-path {libs} --list {r}/usr/bin/ls", root_ldso(&root).display()));
    // The libraries (ld.so's own line differs between a listing as a
    // command and as an interpreter).
    let names = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.contains("ld-linux"))
            .filter_map(|l| l.trim().split(" => ").nth(1))
            .map(|p| p.rsplit_once(" (").map_or(p, |x| x.0).to_string())
            .collect()
    };
    let (a, b) = (names(&ours.stdout), names(&reference.stdout));
    assert!(!a.is_empty() && a.iter().all(|p| p.starts_with(&r)), "{}", ours.stdout);
    let file = |p: &str| Path::new(p).file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(a.iter().map(|p| file(p)).collect::<Vec<_>>(), b.iter().map(|p| file(p)).collect::<Vec<_>>());
}

/// With --follow-exec, a child's absolute path is looked up inside the root
/// first: a trixie shell starting `/usr/bin/ls` runs trixie's ls (the host's
/// is older), through shimld with the same root.
#[test]
fn exec_follows_into_the_root() {
    let root = root("trixie");
    let r = root.display().to_string();
    let ours = sh(&format!(
        "{} --root {r} --follow-exec {r}/bin/sh -c '/usr/bin/ls --version | head -1'",
        common::shimld().display()
    ));
    let theirs = sh(&format!(
        "{} --library-path {r}/lib/x86_64-linux-gnu {r}/usr/bin/ls --version | head -1",
        root_ldso(&root).display()
    ));
    assert_eq!(ours.status, Some(0), "{}", ours.stderr);
    assert_eq!(ours.stdout, theirs.stdout);
    let host = sh("ls --version | head -1");
    assert_ne!(ours.stdout, host.stdout, "the host's ls has the root's version: the test proves nothing");
}
