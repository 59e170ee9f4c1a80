//! Shared test support: building shimld and the test programs, running commands
//! with a timeout, and the differential runner for `testprogs/*/cases`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The system's dynamic linker, the reference for every differential test.
pub const LDSO: &str = "/lib64/ld-linux-x86-64.so.2";

/// How long any one command may run before the test calls it hung.
pub const TIMEOUT: Duration = Duration::from_secs(120);

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

/// The release build of the loader, built once per test process.
pub fn shimld() -> PathBuf {
    static SHIMLD: OnceLock<PathBuf> = OnceLock::new();
    SHIMLD
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--release", "-p", "shimld", "--bin", "shimld"])
                .current_dir(root())
                .status()
                .expect("run cargo build for shimld");
            assert!(status.success(), "building shimld failed");
            let path = target_dir().join("release/shimld");
            assert!(path.exists(), "{} missing after build", path.display());
            path
        })
        .clone()
}

pub fn shimctl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shimctl"))
}

/// Builds `testprogs/FEATURE` into `target/testprogs/FEATURE` and returns that
/// directory. Builds are serialised: make output from parallel tests would
/// interleave, and the programs are small.
pub fn build_testprog(feature: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = target_dir().join("testprogs").join(feature);
    let shimld = shimld();
    let result = run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(root().join("testprogs").join(feature))
        .arg(format!("OUT={}", out.display()))
        .arg(format!("SHIMLD={}", shimld.display())));
    assert!(result.status == Some(0), "building testprogs/{feature} failed:\n{}{}", result.stdout, result.stderr);
    out
}

/// What a finished command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    /// The exit status, or None if a signal ended the process.
    pub status: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
}

impl Outcome {
    pub fn describe(&self) -> String {
        match (self.status, self.signal, self.timed_out) {
            (_, _, true) => "timed out".into(),
            (Some(s), _, _) => format!("exit status {s}"),
            (None, Some(sig), _) => format!("killed by signal {sig}"),
            _ => "unknown end".into(),
        }
    }
}

/// Runs a command to completion (or TIMEOUT), capturing stdout and stderr.
pub fn run(cmd: &mut Command) -> Outcome {
    run_with_timeout(cmd, TIMEOUT)
}

/// Starts `cmd`. A test that has just written an executable (a copy made
/// with std::fs) can find its exec refused with ETXTBSY: a child that
/// another test thread forked at that moment holds the written file open
/// until its own exec closes it. That lasts microseconds, so the spawn is
/// tried again, a bounded number of times; any other error ends the test.
fn spawn(cmd: &mut Command) -> std::process::Child {
    const ETXTBSY: i32 = 26;
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Ok(child) => return child,
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("spawn {cmd:?}: {e}"),
        }
    }
}

/// Runs a command to completion or until `timeout`, capturing its output.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = spawn(cmd);
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    Outcome { stdout, stderr, status: status.code(), signal: status.signal(), timed_out }
}

/// One line of a `cases` file.
#[derive(Debug)]
pub struct Case {
    pub line: String,
    pub env: Vec<(String, String)>,
    pub native: Vec<String>,
    pub shimld: Vec<String>,
}

/// Parses a `cases` file; see testprogs/README.md for the format.
pub fn parse_cases(text: &str, shimld: &Path) -> Vec<Case> {
    let subst = |w: &str| -> String { w.replace("$SHIMLD", &shimld.display().to_string()).replace("$LDSO", LDSO) };
    let mut cases = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words: Vec<&str> = line.split_whitespace().collect();
        let mut env = Vec::new();
        while let Some(w) = words.first() {
            match w.split_once('=') {
                Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                    env.push((k.to_string(), subst(v)));
                    words.remove(0);
                }
                _ => break,
            }
        }
        let (native, shim) = match words.iter().position(|w| *w == "|||") {
            Some(i) => (
                words[..i].iter().map(|w| subst(w)).collect::<Vec<_>>(),
                words[i + 1..].iter().map(|w| subst(w)).collect::<Vec<_>>(),
            ),
            None => {
                let native: Vec<String> = words.iter().map(|w| subst(w)).collect();
                let mut shim = vec![shimld.display().to_string()];
                shim.extend(native.iter().cloned());
                (native, shim)
            }
        };
        assert!(!native.is_empty() && !shim.is_empty(), "bad case line: {line}");
        cases.push(Case { line: line.to_string(), env, native, shimld: shim });
    }
    cases
}

/// Runs `argv` in `dir` with a clean environment plus `env`.
pub fn run_in(dir: &Path, argv: &[String], env: &[(String, String)]) -> Outcome {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).current_dir(dir).env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()));
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// Builds `testprogs/FEATURE` and runs each of its cases natively and under
/// shimld. Fails with every difference found.
pub fn differential(feature: &str) {
    let out = build_testprog(feature);
    let shimld = shimld();
    let text = std::fs::read_to_string(root().join("testprogs").join(feature).join("cases"))
        .unwrap_or_else(|e| panic!("testprogs/{feature}/cases: {e}"));
    let cases = parse_cases(&text, &shimld);
    assert!(!cases.is_empty(), "testprogs/{feature}/cases lists no case");
    // shimld runs each case twice, with a resolution cache of its own:
    // first without the case's cache entry (it is written), then with it.
    let cache = target_dir().join("test-cache").join(feature);
    let _ = std::fs::remove_dir_all(&cache);
    let mut failures = Vec::new();
    for case in &cases {
        // The native run sees the same environment.
        let mut env = case.env.clone();
        if !env.iter().any(|(k, _)| k == "XDG_CACHE_HOME") {
            env.push(("XDG_CACHE_HOME".into(), cache.display().to_string()));
        }
        let native = run_in(&out, &case.native, &env);
        assert!(!native.timed_out, "native run of `{}` timed out", case.line);
        for run in ["first run", "second run"] {
            let shim = run_in(&out, &case.shimld, &env);
            if let Some(msg) = compare(&case.line, run, &native, &shim) {
                failures.push(msg);
            }
        }
    }
    if !failures.is_empty() {
        panic!("testprogs/{feature}: {} of {} runs differ\n{}", failures.len(), 2 * cases.len(), failures.join("\n"));
    }
}

/// The differences between a native and a shimld run, if any.
fn compare(line: &str, run: &str, native: &Outcome, shim: &Outcome) -> Option<String> {
    let mut diffs = BTreeMap::new();
    if native.stdout != shim.stdout {
        diffs.insert("stdout", (native.stdout.clone(), shim.stdout.clone()));
    }
    if native.stderr != shim.stderr {
        diffs.insert("stderr", (native.stderr.clone(), shim.stderr.clone()));
    }
    if native.describe() != shim.describe() {
        diffs.insert("end", (native.describe(), shim.describe()));
    }
    if diffs.is_empty() {
        return None;
    }
    let mut msg = format!("case `{line}` ({run}):\n");
    for (what, (n, s)) in diffs {
        msg += &format!("  {what} differs\n  --- native\n{}\n  --- shimld\n{}\n", indent(&n), indent(&s));
    }
    Some(msg)
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")
}
