//! shimctl: shimld's companion tool. It inspects what shimld would load,
//! using the loader's own parsing and search code.

mod bench;
mod disasm;
mod host;
mod inspect;
mod list;
mod syscalls;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "shimctl", version, about = "Inspect what shimld loads")]
struct Cli {
    /// Log what the tool does (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "warn")]
    log: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show a program's closure as a tree, with the reason each library was
    /// found (which RPATH or RUNPATH entry, the cache, a default directory).
    List(list::Args),
    /// The syscall census: every `syscall` instruction in the closure, with
    /// its function and number, and whether shimld replicates it.
    Syscalls(syscalls::Args),
    /// glibc's ld.so against shimld on one program, interleaved, as ratios.
    Bench(bench::Args),
    /// Every relocation of a program's closure: what each symbol reference
    /// binds to, counts by type, the pages relocation dirties, the cost of
    /// the lookups.
    Inspect(inspect::Args),
    /// Disassemble a function, or a PLT entry (NAME@plt), of a program or
    /// any object of its closure.
    Disasm(disasm::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .without_time()
        .init();
    let r = match cli.cmd {
        Cmd::List(a) => list::run(a),
        Cmd::Syscalls(a) => syscalls::run(a),
        Cmd::Bench(a) => bench::run(a),
        Cmd::Inspect(a) => inspect::run(a),
        Cmd::Disasm(a) => disasm::run(a),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("shimctl: {e}");
            ExitCode::from(1)
        }
    }
}
