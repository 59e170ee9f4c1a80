//! Real Debian programs, natively and under shimld: stdout, stderr and the
//! exit status must agree. Each case is a shell command line in which `{S}`
//! stands for shimld (empty in the native run), so a case can prefix one
//! command of a pipeline. The commands run in a scratch directory with a
//! few fixture files.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// (name, command line, programs it needs).
const CASES: &[(&str, &str, &[&str])] = &[
    ("ls", "{S} ls -la --time-style=+ fixture | sed 's/  */ /g'", &["ls"]),
    ("ls-color", "{S} ls --color=always -R fixture", &["ls"]),
    ("sort-parallel", "{S} sort --parallel=4 -S 1M -n numbers.txt | md5sum", &["sort"]),
    ("sha256sum", "{S} sha256sum fixture/a.txt fixture/sub/b.txt", &["sha256sum"]),
    ("date", "{S} date -u -d @1234567890 '+%Y-%m-%d %H:%M:%S %A'", &["date"]),
    ("id", "{S} id", &["id"]),
    ("stat", "{S} stat -c '%n %s %F %a' fixture/a.txt fixture", &["stat"]),
    ("du", "{S} du -s --apparent-size -b fixture", &["du"]),
    ("bash", "{S} bash -c 'x=0; for i in $(seq 1 100); do x=$((x+i)); done; echo $x; declare -A m; m[k]=v; echo ${m[k]}'", &["bash"]),
    ("bash-script", "{S} ./script.sh one two", &["bash"]),
    ("dash", "{S} dash -c 'echo $((6*7)); case x in x) echo matched;; esac'", &["dash"]),
    ("grep", "{S} grep -rn line fixture", &["grep"]),
    ("grep-pcre", "{S} grep -P '\\d{3}-\\d{4}' phones.txt", &["grep"]),
    ("sed", "{S} sed -E 's/([a-z]+) ([a-z]+)/\\2 \\1/' fixture/a.txt", &["sed"]),
    ("mawk", "{S} mawk '{ s += $1 } END { print s, NR }' numbers.txt", &["mawk"]),
    ("find", "{S} find fixture -type f -name '*.txt' | sort", &["find"]),
    ("tar", "{S} tar cf t.tar fixture && {S} tar tvf t.tar --numeric-owner | awk '{print $1, $3, $6}'", &["tar"]),
    ("gzip", "{S} gzip -9 -c numbers.txt | {S} gzip -dc | md5sum", &["gzip"]),
    ("xz", "{S} xz -c numbers.txt | {S} xz -dc | md5sum", &["xz"]),
    (
        "perl-xs",
        "{S} perl -MPOSIX=floor -MList::Util=sum,max -MData::Dumper -MDigest::MD5=md5_hex -MStorable=dclone -e '$Data::Dumper::Sortkeys=1; print floor(3.7), \" \", sum(1..10), \" \", max(3,9,2), \" \", md5_hex(\"x\"), \"\\n\", Dumper(dclone({a=>[1,2]}))'",
        &["perl"],
    ),
    (
        "python3-modules",
        "{S} /usr/bin/python3 -c 'import ssl, sqlite3, ctypes, decimal, hashlib, json; print(decimal.Decimal(1)/7, hashlib.sha256(b\"x\").hexdigest()[:16], json.dumps({\"a\":[1,2]}), sqlite3.connect(\":memory:\").execute(\"select 6*7\").fetchone(), ctypes.CDLL(None).abs(-5), ssl.OPENSSL_VERSION.split()[0])'",
        &["/usr/bin/python3"],
    ),
    (
        "python3-threads",
        "{S} /usr/bin/python3 -c 'import threading, concurrent.futures as f; print(sorted(f.ThreadPoolExecutor(8).map(lambda x: x*x, range(20))))'",
        &["/usr/bin/python3"],
    ),
    (
        "python3-subprocess",
        "{S} /usr/bin/python3 -c 'import subprocess; print(subprocess.run([\"echo\", \"child\"], capture_output=True, text=True).stdout.strip())'",
        &["/usr/bin/python3"],
    ),
    ("git", "{S} git --version && {S} git -C repo log --format=%s && {S} git -C repo status --short", &["git"]),
    ("gcc", "{S} gcc -O2 -o hello-c hello.c && ./hello-c", &["gcc"]),
    ("g++", "{S} g++ -O2 -o hello-cc hello.cc && ./hello-cc", &["g++"]),
    ("gdb", "{S} gdb -nx --batch -ex 'print 6*7' -ex 'print sizeof(long)'", &["gdb"]),
    ("openssl", "{S} openssl dgst -sha256 numbers.txt && {S} openssl enc -aes-128-cbc -K 00112233445566778899aabbccddeeff -iv 0 -in numbers.txt | md5sum", &["openssl"]),
    ("curl", "{S} curl -s file://$PWD/fixture/a.txt", &["curl"]),
    ("file", "{S} file fixture/a.txt hello.c", &["file"]),
    ("make", "{S} make -s -f build.mk", &["make"]),
    ("node", "{S} node -e 'console.log([1,2,3].map(x => x*2).join(\",\"), require(\"crypto\").createHash(\"sha1\").update(\"x\").digest(\"hex\"))'", &["node"]),
    ("java", "{S} java -Xshare:off Hello.java", &["java"]),
];

fn have(p: &str) -> bool {
    if p.starts_with('/') {
        return Path::new(p).is_file();
    }
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).is_file()))
}

fn fixture() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shimld-realprogs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let w = |p: &str, s: &str| {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, s).unwrap();
    };
    w("fixture/a.txt", "hello world\nsecond line\n");
    w("fixture/sub/b.txt", "another line\n");
    w("fixture/sub/c.dat", "data\n");
    w("numbers.txt", &(0..5000).map(|i| format!("{}\n", (i * 7919) % 10007)).collect::<String>());
    w("phones.txt", "call 555-1234\nnone here\n123-4567 ok\n");
    w(
        "script.sh",
        "#!/bin/bash\necho \"args: $# $1 $2\"\necho \"${BASH_VERSINFO[0]} > 3\" | bc 2>/dev/null || echo no-bc\n",
    );
    w("hello.c", "#include <stdio.h>\nint main(void){ printf(\"hello from c\\n\"); return 0; }\n");
    w("hello.cc", "#include <iostream>\n#include <vector>\nint main(){ std::vector<int> v{1,2,3}; int s=0; for(int x: v) s+=x; std::cout << \"sum \" << s << std::endl; }\n");
    w("build.mk", "all: out.txt\n\t@cat out.txt\nout.txt: fixture/a.txt\n\t@tr a-z A-Z < $< > $@\n");
    w("Hello.java", "public class Hello { public static void main(String[] a) { System.out.println(\"hello from java \" + (6*7)); } }\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("script.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir.join("repo"))
            .env("GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(ok, "git {args:?}");
    };
    if have("git") {
        std::fs::create_dir_all(dir.join("repo")).unwrap();
        git(&["init", "-q"]);
        std::fs::write(dir.join("repo/f"), "x\n").unwrap();
        git(&["add", "f"]);
        git(&["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "first commit"]);
        std::fs::write(dir.join("repo/f"), "y\n").unwrap();
    }
    dir
}

/// Where shimld's resolution cache goes: beside the fixture, not in it
/// (programs list the fixture).
fn cache_dir(fixture: &Path) -> PathBuf {
    let mut name = fixture.file_name().unwrap().to_os_string();
    name.push("-cache");
    fixture.with_file_name(name)
}

fn run_case(dir: &Path, line: &str, shimld: &str) -> common::Outcome {
    let cmd = line.replace("{S}", shimld);
    let mut c = Command::new("sh");
    c.arg("-c").arg(&cmd).current_dir(dir).env_clear();
    c.env("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()));
    c.env("HOME", dir).env("LANG", "C.UTF-8").env("TZ", "UTC");
    // shimld's resolution cache, outside the fixture that programs list.
    c.env("XDG_CACHE_HOME", cache_dir(dir));
    common::run(&mut c)
}

#[test]
fn real_programs_match_native() {
    let shimld = common::shimld();
    let dir = fixture();
    let mut failures = Vec::new();
    let mut ran = 0;
    for (name, line, needs) in CASES {
        if !needs.iter().all(|p| have(p)) {
            eprintln!("{name}: skipped, {needs:?} not installed");
            continue;
        }
        let native = run_case(&dir, line, "");
        ran += 1;
        if native.status != Some(0) {
            failures.push(format!("{name}: fails natively ({}): {}", native.describe(), native.stderr));
            continue;
        }
        // Twice: the first run writes the program's resolution cache entry
        // (in the fixture's $HOME), the second uses it.
        for run in ["first run", "second run"] {
            let ours = run_case(&dir, line, &format!("{} ", shimld.display()));
            if native != ours {
                failures.push(format!(
                    "{name} ({run}): `{line}`\n  native ({}):\n{}\n{}\n  shimld ({}):\n{}\n{}",
                    native.describe(),
                    native.stdout,
                    native.stderr,
                    ours.describe(),
                    ours.stdout,
                    ours.stderr
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(cache_dir(&dir));
    assert!(ran >= 20, "only {ran} real programs available");
    assert!(failures.is_empty(), "{} of {ran} real programs differ:\n{}", failures.len(), failures.join("\n"));
}

/// The shimld side really is shimld's: for a glibc program, shimld maps and
/// relocates every object outside the glibc core itself (SHIMLD_DEBUG shows
/// it), including the extension modules Python opens at run time.
#[test]
fn shimld_loads_the_non_core_objects() {
    assert!(Path::new("/usr/bin/python3").exists(), "Debian's python3 is part of the test environment");
    let out = common::run(
        Command::new(common::shimld())
            .args(["/usr/bin/python3", "-c", "import ssl, ctypes"])
            .env("SHIMLD_DEBUG", "files,reloc,statistics"),
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let mapped = |name: &str| out.stderr.lines().any(|l| l.contains("generating link map") && l.contains(name));
    let relocated = |name: &str| out.stderr.lines().any(|l| l.contains("relocation processing:") && l.contains(name));
    for lib in ["libssl.so", "libcrypto.so", "_ssl.cpython", "_ctypes.cpython", "libffi.so"] {
        assert!(mapped(lib) && relocated(lib), "{lib} was not mapped and relocated by shimld:\n{}", out.stderr);
    }
    // The glibc core is ld.so's.
    assert!(!relocated("libc.so.6"), "shimld relocated libc itself");
    assert!(out.stderr.contains("handover: stub at"), "no handover:\n{}", out.stderr);
    assert!(out.stderr.lines().any(|l| l.contains("number of relocations:")), "no statistics");
}
