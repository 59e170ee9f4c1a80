//! Per-process replicas: what a program sees of the hostname, the clock,
//! its ids and the CPU count comes from shimld's options, per process,
//! while every real system call still goes to the kernel.
mod common;

use std::process::Command;

fn shimld(args: &[&str]) -> common::Outcome {
    common::run(Command::new(common::shimld()).args(args))
}

fn native(args: &[&str]) -> common::Outcome {
    common::run(Command::new(args[0]).args(&args[1..]))
}

fn ok(o: &common::Outcome) -> String {
    assert_eq!(o.status, Some(0), "{}", o.stderr);
    o.stdout.trim().to_string()
}

#[test]
fn hostname_per_process_side_by_side() {
    // Two processes at the same moment, each seeing its own name many
    // times over.
    let script = "for i in $(seq 1 40); do uname -n; hostname; done";
    let a = Command::new(common::shimld())
        .args(["--follow-exec", "--hostname", "alpha", "/bin/sh", "-c", script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = Command::new(common::shimld())
        .args(["--follow-exec", "--hostname", "beta", "/bin/sh", "-c", script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (a, b) = (String::from_utf8(a.stdout).unwrap(), String::from_utf8(b.stdout).unwrap());
    assert_eq!(a.lines().count(), 80);
    assert!(a.lines().all(|l| l == "alpha"), "{a}");
    assert!(b.lines().all(|l| l == "beta"), "{b}");
    // gethostname and uname from Python too.
    let py = ok(&shimld(&[
        "--hostname",
        "gamma",
        "--domainname",
        "example.org",
        "/usr/bin/python3",
        "-c",
        "import os, socket; u = os.uname(); print(u.nodename, socket.gethostname(), os.uname().release == os.popen('uname -r').read().strip())",
    ]));
    assert_eq!(py, "gamma gamma True");
    let dom = ok(&shimld(&["--domainname", "example.org", "/usr/bin/python3", "-c", "import ctypes; b = ctypes.create_string_buffer(64); ctypes.CDLL(None).getdomainname(b, 64); print(b.value.decode())"]));
    assert_eq!(dom, "example.org");
    // Not set, it is the real one.
    assert_eq!(ok(&shimld(&["uname", "-n"])), ok(&native(&["uname", "-n"])));
}

#[test]
fn clock_offset() {
    let now: i64 = ok(&native(&["date", "+%s"])).parse().unwrap();
    let ahead: i64 = ok(&shimld(&["--clock-offset", "86400", "date", "+%s"])).parse().unwrap();
    assert!((ahead - now - 86400).abs() <= 5, "{now} {ahead}");
    let behind: f64 =
        ok(&shimld(&["--clock-offset", "-3600.5", "/usr/bin/python3", "-c", "import time; print(time.time())"]))
            .parse()
            .unwrap();
    assert!((behind - now as f64 + 3600.5).abs() <= 5.0, "{now} {behind}");
    // Monotonic clocks are untouched: a 0.2 s sleep measures 0.2 s, or a
    // little more on a loaded machine, and nowhere near the offset.
    let mono: f64 = ok(&shimld(&[
        "--clock-offset",
        "1000000",
        "/usr/bin/python3",
        "-c",
        "import time; a = time.monotonic(); time.sleep(0.2); print(time.monotonic() - a)",
    ]))
    .parse()
    .unwrap();
    assert!((0.2..30.0).contains(&mono), "{mono}");
}

#[test]
fn ids_and_cpu_count() {
    assert_eq!(ok(&shimld(&["--uid", "1234", "id", "-u"])), "1234");
    assert_eq!(ok(&shimld(&["--gid", "4321", "id", "-g"])), "4321");
    assert_eq!(
        ok(&shimld(&[
            "--uid",
            "7",
            "--gid",
            "8",
            "/usr/bin/python3",
            "-c",
            "import os; print(os.getuid(), os.geteuid(), os.getresuid(), os.getgid(), os.getresgid())"
        ])),
        "7 7 (7, 7, 7) 8 (8, 8, 8)"
    );
    assert_eq!(ok(&shimld(&["--nproc", "3", "nproc"])), "3");
    assert_eq!(
        ok(&shimld(&[
            "--nproc",
            "5",
            "/usr/bin/python3",
            "-c",
            "import os; print(os.cpu_count(), len(os.sched_getaffinity(0)))"
        ])),
        "5 5"
    );
}

#[test]
fn exec_following() {
    // Without --follow-exec the child is a native process and sees the real
    // name; with it, the child starts through shimld with the same options.
    let real = ok(&native(&["uname", "-n"]));
    assert_eq!(ok(&shimld(&["--hostname", "parent", "/bin/sh", "-c", "uname -n"])), real);
    assert_eq!(ok(&shimld(&["--follow-exec", "--hostname", "parent", "/bin/sh", "-c", "uname -n"])), "parent");
    // posix_spawn (Python's subprocess) and execvp (env) follow too.
    assert_eq!(
        ok(&shimld(&[
            "--follow-exec",
            "--uid",
            "99",
            "/usr/bin/python3",
            "-c",
            "import subprocess; print(subprocess.run(['id', '-u'], capture_output=True, text=True).stdout.strip())"
        ])),
        "99"
    );
    assert_eq!(ok(&shimld(&["--follow-exec", "--nproc", "2", "env", "nproc"])), "2");
    // A static child runs natively: ldconfig is static on Debian.
    if std::path::Path::new("/sbin/ldconfig").exists() {
        let o = shimld(&["--follow-exec", "/bin/sh", "-c", "/sbin/ldconfig -p | head -1"]);
        assert_eq!(o.stdout, common::run(Command::new("/bin/sh").args(["-c", "/sbin/ldconfig -p | head -1"])).stdout);
    }
}

#[test]
fn proc_self_exe_is_the_program() {
    let py = ["/usr/bin/python3", "-c", "import os; print(os.readlink('/proc/self/exe'))"];
    assert_eq!(ok(&shimld(&py)), ok(&native(&py)));
    assert_eq!(ok(&shimld(&["readlink", "/proc/self/exe"])), ok(&native(&["readlink", "-f", "/usr/bin/readlink"])));
    // Re-executing /proc/self/exe re-runs the program (through shimld).
    let re = ok(&shimld(&[
        "--hostname",
        "again",
        "/usr/bin/python3",
        "-c",
        "import os, sys\nif len(sys.argv) > 1: print(os.uname().nodename)\nelse: os.execv('/proc/self/exe', ['python3', '-c', 'import os; print(os.uname().nodename)', 'x'])",
    ]));
    assert_eq!(re, "again");
}

#[test]
fn no_tracer() {
    let status = ok(&shimld(&["grep", "TracerPid", "/proc/self/status"]));
    assert_eq!(status, "TracerPid:\t0");
}

#[test]
fn profile_file() {
    let dir = std::env::temp_dir().join(format!("shimld-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("app.toml");
    std::fs::write(
        &p,
        "# the build host's view\nhostname = \"build-7\"   # a comment\nuid = 1000\nnproc = 2\nfollow_exec = true\n",
    )
    .unwrap();
    let ps = p.to_str().unwrap();
    assert_eq!(ok(&shimld(&["--profile", ps, "/bin/sh", "-c", "uname -n; id -u; nproc"])), "build-7\n1000\n2");
    // The command line overrides the profile.
    assert_eq!(ok(&shimld(&["--profile", ps, "--hostname", "cli", "uname", "-n"])), "cli");
    std::fs::write(&p, "hostname = build\n").unwrap();
    let bad = shimld(&["--profile", ps, "true"]);
    assert_eq!(bad.status, Some(1));
    assert!(bad.stderr.contains("line 1: expected a string in double quotes"), "{}", bad.stderr);
    std::fs::write(&p, "colour = \"red\"\n").unwrap();
    assert!(shimld(&["--profile", ps, "true"]).stderr.contains("unknown key `colour'"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// --replicas=deep: libc's own calls reach the replicas. glibc's
/// gethostname calls its internal uname; reached directly (through a
/// pointer dlsym takes from libc itself, so shimld's binding is not in the
/// way), it shows the replica only when libc's uname is patched.
#[test]
fn deep_replicas_reach_libc_internal_callers() {
    let code = "import ctypes\nlibc = ctypes.CDLL('libc.so.6')\nb = ctypes.create_string_buffer(64)\nlibc.gethostname(b, 64)\nprint(b.value.decode())";
    let real = ok(&native(&["uname", "-n"]));
    // Through the libc handle, gethostname is libc's own; only uname is
    // replicated here, so the name comes through libc's internal call.
    let shallow = shimld(&["--hostname", "deep-host", "/usr/bin/python3", "-c", code]);
    let deep = shimld(&["--hostname", "deep-host", "--replicas=deep", "/usr/bin/python3", "-c", code]);
    assert_eq!(ok(&deep), "deep-host", "{}", deep.stderr);
    assert_eq!(ok(&shallow), real);
}

/// /proc/self/exe names the program as the kernel would: every symbolic
/// link in the path resolved, `.` and `..` taken physically.
#[test]
fn proc_self_exe_resolves_links_in_the_path() {
    let dir = std::env::temp_dir().join(format!("shimld-exe-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("a/b")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../../../bin/readlink", dir.join("a/b/rl")).unwrap();
    std::os::unix::fs::symlink("a/b", dir.join("ab")).unwrap();
    for path in ["/bin/readlink", "ab/rl", "./a/../a/b/rl", "ab/../b/rl", "ab/./rl"] {
        let native = common::run(Command::new(path).arg("/proc/self/exe").current_dir(&dir));
        let ours = common::run(Command::new(common::shimld()).arg(path).arg("/proc/self/exe").current_dir(&dir));
        assert_eq!(native.status, Some(0), "{path}: {}", native.stderr);
        assert_eq!(ours.stdout, native.stdout, "{path}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
