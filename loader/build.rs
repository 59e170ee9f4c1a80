//! Link the `shimld` binary as a self-relocating static PIE without libc,
//! exporting the dynamic linker's symbols under their glibc versions.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let exports = format!("{dir}/exports.map");
    println!("cargo:rerun-if-changed={exports}");
    // The functions start-up runs, ahead of the rest (bench/startup_order.py).
    let startup = format!("{dir}/startup.ld");
    println!("cargo:rerun-if-changed={startup}");
    // Where the writable data goes: iced-x86's tables apart, relocated
    // only when used; the allocator's first chunk after the rest of .bss.
    let data = format!("{dir}/data.ld");
    println!("cargo:rerun-if-changed={data}");
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static-pie",
        "-Wl,-soname,ld-linux-x86-64.so.2",
        &format!("-Wl,--version-script={exports}"),
        "-Wl,--export-dynamic-symbol=__tls_get_addr",
        "-Wl,--export-dynamic-symbol=__libc_stack_end",
        "-Wl,--export-dynamic-symbol=dl*",
        "-Wl,--export-dynamic-symbol=_dl_find_object",
        "-Wl,--export-dynamic-symbol=readlink*",
        "-Wl,--export-dynamic-symbol=backtrace_symbols*",
        // The replicas (rt/replica.rs).
        "-Wl,--export-dynamic-symbol=uname",
        "-Wl,--export-dynamic-symbol=get*name",
        "-Wl,--export-dynamic-symbol=time",
        "-Wl,--export-dynamic-symbol=gettimeofday",
        "-Wl,--export-dynamic-symbol=clock_gettime",
        "-Wl,--export-dynamic-symbol=timespec_get",
        "-Wl,--export-dynamic-symbol=ftime",
        "-Wl,--export-dynamic-symbol=get*id",
        "-Wl,--export-dynamic-symbol=sysconf",
        "-Wl,--export-dynamic-symbol=get_nprocs*",
        "-Wl,--export-dynamic-symbol=sched_getaffinity",
        "-Wl,--export-dynamic-symbol=exec*",
        "-Wl,--export-dynamic-symbol=posix_spawn*",
        "-Wl,--hash-style=both",
        &format!("-Wl,-T,{startup}"),
        &format!("-Wl,-T,{data}"),
        "-Wl,-z,pack-relative-relocs",
        "-Wl,-z,norelro",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
