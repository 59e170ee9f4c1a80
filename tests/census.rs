//! `shimctl syscalls`: the syscall census of a closure.
mod common;

use std::process::Command;

fn census(prog: &std::path::Path, dir: &std::path::Path) -> serde_json::Value {
    let out = common::run(Command::new(common::shimctl()).args(["syscalls", "--json"]).arg(prog).current_dir(dir));
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// A library written in assembly, so the expected sites are known: each
/// function names the system call it makes.
#[test]
fn finds_each_site_with_its_function_and_number() {
    let dir = std::env::temp_dir().join(format!("shimld-census-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("sys.S"),
        r#"
        .text
        .globl do_write, do_getpid, do_exit, do_unknown
        .type do_write,@function
do_write: mov $1, %eax
        syscall
        ret
        .size do_write, .-do_write
        .type do_getpid,@function
do_getpid: xor %eax, %eax
        mov $39, %eax
        syscall
        ret
        .size do_getpid, .-do_getpid
        .type do_exit,@function
do_exit: mov $231, %rax
        syscall
        hlt
        .size do_exit, .-do_exit
        .type do_unknown,@function
do_unknown: mov %rdi, %rax
        syscall
        ret
        .size do_unknown, .-do_unknown
        .section .note.GNU-stack,"",@progbits
"#,
    )
    .unwrap();
    std::fs::write(dir.join("main.c"), "void do_exit(long); void _start(void) { do_exit(0); }\n").unwrap();
    let gcc = |args: &[&str]| {
        let out = common::run(Command::new("gcc").args(args).current_dir(&dir));
        assert_eq!(out.status, Some(0), "gcc {args:?}: {}", out.stderr);
    };
    gcc(&["-shared", "-nostdlib", "-o", "libsys.so", "sys.S"]);
    gcc(&["-nostdlib", "-o", "prog", "main.c", "-L.", "-lsys", "-Wl,-rpath,$ORIGIN"]);
    let r = census(&dir.join("prog"), &dir);
    let sites = r["sites"].as_array().unwrap();
    let found: Vec<(String, Option<u64>, Option<String>)> = sites
        .iter()
        .filter(|s| s["object"].as_str().unwrap().ends_with("libsys.so"))
        .map(|s| {
            (s["function"].as_str().unwrap().to_string(), s["number"].as_u64(), s["name"].as_str().map(str::to_string))
        })
        .collect();
    let want = vec![
        ("do_write".to_string(), Some(1), Some("write".to_string())),
        ("do_getpid".to_string(), Some(39), Some("getpid".to_string())),
        ("do_exit".to_string(), Some(231), Some("exit_group".to_string())),
        ("do_unknown".to_string(), None, None),
    ];
    assert_eq!(found, want);
    let counts: Vec<u64> = r["by_object"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.ends_with("libsys.so"))
        .map(|(_, v)| v.as_u64().unwrap())
        .collect();
    assert_eq!(counts, [4]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// In a glibc program, the sites inside libc functions shimld replicates are
/// marked with the option that replicates them; the rest go to the kernel.
#[test]
fn marks_replicated_libc_entry_points() {
    let r = census(std::path::Path::new("/bin/ls"), std::path::Path::new("/"));
    let sites = r["sites"].as_array().unwrap();
    assert!(sites.len() > 100);
    let mark = |f: &str| {
        sites
            .iter()
            .find(|s| s["function"].as_str() == Some(f) && s["object"].as_str().unwrap().contains("libc.so"))
            .map(|s| s["replicated_by"].clone())
    };
    assert_eq!(mark("uname"), Some(serde_json::json!("--hostname, --domainname")));
    assert_eq!(mark("getuid"), Some(serde_json::json!("--uid")));
    assert_eq!(mark("getppid"), Some(serde_json::Value::Null), "getppid is not replicated");
    assert_eq!(r["replicated_sites"].as_u64().unwrap() + r["kernel_sites"].as_u64().unwrap(), sites.len() as u64);
}
