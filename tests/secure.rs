//! Secure mode. A set-user-ID copy of testprogs/secure's program, owned by
//! nobody and started by root, runs with AT_SECURE set: natively glibc's
//! ld.so then ignores LD_LIBRARY_PATH, LD_PRELOAD (with a slash) and
//! $ORIGIN, and removes the unsafe variables from the environment. shimld
//! must do the same, as the program's interpreter (the kernel sets
//! AT_SECURE) and as a command running a set-user-ID or set-group-ID file,
//! ignore SHIMLD_DEBUG, and refuse the options that would redirect the
//! program. A copy without the bit shows that the environment does steer
//! the program otherwise. (The tests need root, as CI runs them.)
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOBODY: u32 = 65534;

fn chown(path: &Path, uid: Option<u32>, gid: Option<u32>) {
    std::os::unix::fs::chown(path, uid, gid)
        .unwrap_or_else(|e| panic!("chown {} (the secure-mode tests run as root): {e}", path.display()));
}

/// testprogs/secure, built, in a directory the privileged copies can
/// reach: they run as nobody with root's groups still theirs, so every
/// directory above must be searchable by its group and by others. The
/// checkout's own directories are made so (a clone in `mktemp -d` is mode
/// 0700); one above it that is not is an error that says so.
fn fixture() -> PathBuf {
    const SEARCH: u32 = 0o011;
    let dir = common::build_testprog("secure");
    let root = common::root();
    for d in dir.ancestors() {
        let mode = std::fs::metadata(d).unwrap().permissions().mode();
        if mode & SEARCH == SEARCH {
            continue;
        }
        assert!(
            d.starts_with(&root),
            "{} is not searchable by its group and others: the secure-mode tests run programs as nobody from {}",
            d.display(),
            dir.display()
        );
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | SEARCH)).unwrap();
    }
    dir
}

/// A copy of `src` named `name`, owned by nobody, with `mode`.
fn privileged_copy(dir: &Path, src: &str, name: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    std::fs::copy(dir.join(src), &p).unwrap();
    if mode & 0o4000 != 0 {
        chown(&p, Some(NOBODY), None);
    } else {
        chown(&p, None, Some(NOBODY));
    }
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// The environment an unprivileged user would try to steer the program
/// with.
fn hostile_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("PATH".into(), "/usr/bin:/bin".into()),
        ("LD_LIBRARY_PATH".into(), dir.join("evil").display().to_string()),
        ("LD_PRELOAD".into(), dir.join("evil/libpre.so").display().to_string()),
        ("TMPDIR".into(), "/tmp/elsewhere".into()),
        ("GCONV_PATH".into(), "/tmp/gconv".into()),
        ("SHIMLD_DEBUG".into(), "all".into()),
        ("SHIMLD_DEBUG_OUTPUT".into(), dir.join("trace").display().to_string()),
        ("KEPT".into(), "1".into()),
        // LD_AUDIT loading an object into a privileged program (the
        // CVE-2010-3856 family), and the shape of CVE-2023-4911's
        // GLIBC_TUNABLES (glibc's ld.so parses it; shimld only passes it).
        ("LD_AUDIT".into(), dir.join("evil/libpre.so").display().to_string()),
        ("GLIBC_TUNABLES".into(), format!("glibc.malloc.mxfast=glibc.malloc.mxfast={}", "A".repeat(4000))),
    ]
}

fn run(dir: &Path, argv: &[&str], env: &[(String, String)]) -> common::Outcome {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).current_dir(dir).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::run(&mut cmd)
}

#[test]
fn privileged_programs_run_in_secure_mode() {
    let dir = fixture();
    let shimld = common::shimld();
    let shimld = shimld.to_str().unwrap();
    let env = hostile_env(&dir);
    for (mode, what) in [(0o4755, "set-user-ID"), (0o2755, "set-group-ID")] {
        let native_prog = privileged_copy(&dir, "sec-main", "sec-main-priv", mode);
        let via_shimld = privileged_copy(&dir, "sec-main-via-shimld", "sec-via-priv", mode);
        let native = run(&dir, &[native_prog.to_str().unwrap()], &env);
        // The reference really is glibc's secure mode.
        assert_eq!(native.status, Some(0), "{}", native.stderr);
        for line in [
            "libsec: trusted",
            "LD_LIBRARY_PATH=(unset)",
            "LD_PRELOAD=(unset)",
            "LD_AUDIT=(unset)",
            "TMPDIR=(unset)",
            "KEPT=1",
        ] {
            assert!(native.stdout.contains(line), "native {what} run lacks {line:?}:\n{}", native.stdout);
        }
        assert!(!native.stdout.contains("preloaded object ran"));
        // shimld as the program's interpreter: the kernel sets AT_SECURE.
        let interp = run(&dir, &[via_shimld.to_str().unwrap()], &env);
        assert_eq!(
            (&interp.stdout, &interp.stderr, interp.status),
            (&native.stdout, &native.stderr, native.status),
            "{what}, shimld as interpreter"
        );
        // shimld as a command, running the privileged file.
        let direct = run(&dir, &[shimld, native_prog.to_str().unwrap()], &env);
        assert_eq!(
            (&direct.stdout, &direct.stderr, direct.status),
            (&native.stdout, &native.stderr, native.status),
            "{what}, shimld as a command"
        );
    }
}

#[test]
fn the_same_environment_steers_an_ordinary_program() {
    // The control: without the bit, LD_LIBRARY_PATH, LD_PRELOAD and
    // $ORIGIN all act, natively and under shimld alike (SHIMLD_DEBUG off
    // here, so that stderr compares).
    let dir = fixture();
    let env: Vec<(String, String)> = hostile_env(&dir).into_iter().filter(|(k, _)| k != "SHIMLD_DEBUG").collect();
    let native = run(&dir, &["./sec-main"], &env);
    assert!(
        native.stdout.contains("libsec: evil") && native.stdout.contains("preloaded object ran"),
        "{}",
        native.stdout
    );
    let ours = run(&dir, &[common::shimld().to_str().unwrap(), "./sec-main"], &env);
    assert_eq!((ours.stdout, ours.stderr, ours.status), (native.stdout, native.stderr, native.status));
    let no_path: Vec<(String, String)> = vec![("PATH".into(), "/usr/bin:/bin".into())];
    let native = run(&dir, &["./sec-main"], &no_path);
    assert!(native.stdout.contains("libsec: origin"), "$ORIGIN is not used: {}", native.stdout);
}

#[test]
fn secure_mode_refuses_options_that_redirect_the_program() {
    let dir = fixture();
    let prog = privileged_copy(&dir, "sec-main", "sec-main-refuse", 0o4755);
    let profile = dir.join("profile.toml");
    std::fs::write(&profile, "hostname = \"x\"\n").unwrap();
    let p = profile.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["--root", "/"],
        &["--library-path", "evil"],
        &["--preload", "evil/libpre.so"],
        &["--profile", p],
        &["--hostname", "h"],
        &["--domainname", "d"],
        &["--clock-offset", "10"],
        &["--uid", "0"],
        &["--gid", "0"],
        &["--nproc", "1"],
        &["--follow-exec"],
        &["--replicas=deep"],
    ];
    let shimld = common::shimld();
    for args in cases {
        let mut argv = vec![shimld.to_str().unwrap()];
        argv.extend_from_slice(args);
        argv.push(prog.to_str().unwrap());
        let out = run(&dir, &argv, &[("PATH".into(), "/usr/bin:/bin".into())]);
        assert_eq!(out.status, Some(1), "{args:?}: {}", out.stdout);
        assert_eq!(
            out.stderr,
            format!("shimld: {} is not allowed for a set-user-ID or set-group-ID program (secure mode)\n", args[0]),
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?} ran the program");
    }
    // Options that cannot redirect it stay allowed.
    let out = run(
        &dir,
        &[shimld.to_str().unwrap(), "--argv0", "x", prog.to_str().unwrap()],
        &[("PATH".into(), "/usr/bin:/bin".into())],
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
}
