//! shimld's own layout: the functions start-up runs are linked ahead of the
//! rest (loader/startup.ld, written by bench/startup_order.py), so that
//! start-up takes few page faults on shimld's code. If the script stopped
//! applying (the linker changed, or the functions it names were renamed),
//! nothing would fail but start-up would slow down; this says so.
mod common;

use std::process::Command;

fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).arg(common::shimld()).output().expect(name);
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn start_up_code_is_linked_in_one_place() {
    // (name, address, size) of each section.
    let sections: Vec<(String, u64, u64)> = tool("readelf", &["-SW"])
        .lines()
        .filter_map(|l| {
            let l = l.split_once(']')?.1;
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.first()?.to_string(),
                u64::from_str_radix(f.get(2)?, 16).ok()?,
                u64::from_str_radix(f.get(4)?, 16).ok()?,
            ))
        })
        .collect();
    let find = |n: &str| sections.iter().find(|s| s.0 == n).unwrap_or_else(|| panic!("no {n} section: {sections:?}"));
    let (_, start, size) = find(".text.startup");
    assert!(*size >= 64 * 1024, ".text.startup holds only {size} bytes");
    find(".rodata.startup");
    // Functions every start-up runs, by their demangled names.
    let symbols = tool("nm", &["-C"]);
    for f in ["_start", "shimld::boot", "shimld::main", "shimld::rt::options::parse", "shimld::rt::map::map_segments"] {
        let addr = symbols
            .lines()
            .find_map(|l| {
                let (a, rest) = l.split_once(' ')?;
                let name = rest.get(2..)?;
                (name == f || name.starts_with(&format!("{f}::h"))).then(|| u64::from_str_radix(a, 16).ok())?
            })
            .unwrap_or_else(|| panic!("no symbol {f}"));
        assert!((*start..start + size).contains(&addr), "{f} at {addr:#x}, outside .text.startup");
    }
}
