//! `shimctl disasm PROG SYMBOL`: disassembles a function, or the PLT entry
//! `NAME@plt`, of a program or of any object of its closure (the first that
//! has it, in load order), with iced-x86. Branch targets and RIP-relative
//! operands are named: functions, PLT entries, and the GOT slots that
//! relocations fill.

use crate::host::ElfMap;
use crate::list;
use iced_x86::{Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, OpKind};
use object::{Object, ObjectSection, ObjectSymbol};
use shimld::elf::{self, Rela};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Only look in the object whose file name or path is this.
    #[arg(long)]
    object: Option<String>,
    /// The program.
    prog: PathBuf,
    /// A function name, or NAME@plt for the PLT entry that calls NAME.
    symbol: String,
}

/// What an object's addresses are called.
struct Names {
    /// Functions: start -> (end, name).
    funcs: BTreeMap<u64, (u64, String)>,
    /// PLT entries: start -> name@plt.
    plt: BTreeMap<u64, String>,
    /// GOT slots (relocation targets with a symbol) -> symbol.
    slots: BTreeMap<u64, String>,
}

fn names(m: &ElfMap, file: &object::File) -> Names {
    let mut funcs = BTreeMap::new();
    for s in file.symbols().chain(file.dynamic_symbols()) {
        if s.kind() == object::SymbolKind::Text && s.address() != 0 {
            if let Ok(n) = s.name() {
                let e = funcs.entry(s.address()).or_insert((s.address() + s.size(), n.to_string()));
                // Of several names at one address, the public one.
                if e.1.starts_with('_') && !n.starts_with('_') {
                    *e = (s.address() + s.size(), n.to_string());
                }
            }
        }
    }
    let mut slots = BTreeMap::new();
    let image = m.image();
    if let Some(Ok(d)) = m.dynamic() {
        let strtab = d.strtab(&image).unwrap_or(&[]);
        if let Ok(syms) = shimld::symtab::SymTab::new(&image, &d, strtab) {
            for t in [d.rela, d.jmprel] {
                for r in image.table::<Rela>(t.addr, t.size / 24).unwrap_or(&[]) {
                    if r.sym() != 0 {
                        if let Some(n) = syms.name(r.sym()) {
                            slots.insert(r.r_offset, String::from_utf8_lossy(n).into_owned());
                        }
                    }
                }
            }
        }
    }
    // A PLT entry is the code that jumps through a JUMP_SLOT's GOT slot.
    let mut plt = BTreeMap::new();
    for sec in file.sections() {
        let Ok(name) = sec.name() else { continue };
        if !matches!(name, ".plt" | ".plt.sec" | ".plt.got") {
            continue;
        }
        let Ok(data) = sec.data() else { continue };
        let mut dec = Decoder::with_ip(64, data, sec.address(), DecoderOptions::NONE);
        let mut entry = sec.address();
        while dec.can_decode() {
            let ins = dec.decode();
            if ins.ip() % 16 == 0 {
                entry = ins.ip();
            }
            if ins.is_ip_rel_memory_operand() {
                if let Some(n) = slots.get(&ins.ip_rel_memory_address()) {
                    plt.entry(entry).or_insert_with(|| format!("{n}@plt"));
                }
            }
        }
    }
    Names { funcs, plt, slots }
}

fn name_at(n: &Names, addr: u64) -> Option<String> {
    if let Some(p) = n.plt.get(&addr) {
        return Some(p.clone());
    }
    let (start, (end, name)) = n.funcs.range(..=addr).next_back()?;
    (addr < *end || addr == *start).then(|| {
        if addr == *start {
            name.clone()
        } else {
            format!("{name}+{:#x}", addr - start)
        }
    })
}

/// Where SYMBOL is in this object: (start, end, what it is).
fn find(n: &Names, symbol: &str) -> Option<(u64, u64)> {
    if symbol.ends_with("@plt") {
        let (&start, _) = n.plt.iter().find(|(_, v)| *v == symbol)?;
        return Some((start, start + 16));
    }
    n.funcs.iter().find(|(_, (_, name))| name == symbol).map(|(&s, (e, _))| (s, (*e).max(s + 1)))
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    let c = list::closure(&a.prog, &list::Search::default())?;
    for node in &c.nodes {
        let path = String::from_utf8_lossy(&node.path).into_owned();
        if let Some(o) = &a.object {
            if &path != o && path.rsplit('/').next() != Some(o.as_str()) {
                continue;
            }
        }
        let opened;
        let m = match &node.handle {
            Some(m) => m,
            None => match ElfMap::open(&node.path) {
                Ok((m, _)) => {
                    opened = m;
                    &opened
                }
                Err(_) => continue,
            },
        };
        let Ok(file) = object::File::parse(&*m.map) else { continue };
        let n = names(m, &file);
        let Some((start, end)) = find(&n, &a.symbol) else { continue };
        // The bytes, from the PT_LOAD that holds them.
        let Some(p) =
            m.phdrs.iter().find(|p| p.p_type == elf::PT_LOAD && start >= p.p_vaddr && start < p.p_vaddr + p.p_filesz)
        else {
            return Err(format!("{path}: {} has no bytes in the file", a.symbol));
        };
        let end = end.min(p.p_vaddr + p.p_filesz);
        let off = (start - p.p_vaddr + p.p_offset) as usize;
        let code = m.map.get(off..off + (end - start) as usize).ok_or("symbol outside the file")?;
        println!("{path}: {} at {start:#x}, {} bytes", a.symbol, end - start);
        let mut dec = Decoder::with_ip(64, code, start, DecoderOptions::NONE);
        let mut fmt = IntelFormatter::new();
        let mut text = String::new();
        let mut ins = Instruction::default();
        while dec.can_decode() {
            dec.decode_out(&mut ins);
            text.clear();
            fmt.format(&ins, &mut text);
            let at = (ins.ip() - start) as usize;
            let bytes: String = code[at..at + ins.len()].iter().map(|b| format!("{b:02x}")).collect();
            let mut note = String::new();
            if matches!(ins.op0_kind(), OpKind::NearBranch64) {
                if let Some(t) = name_at(&n, ins.near_branch64()) {
                    note = format!("  <{t}>");
                }
            } else if ins.is_ip_rel_memory_operand() {
                let target = ins.ip_rel_memory_address();
                if let Some(sym) = n.slots.get(&target) {
                    note = format!("  ; GOT slot of {sym}");
                } else if let Some(t) = name_at(&n, target) {
                    note = format!("  ; {t}");
                }
            }
            println!("  {:x}:  {bytes:<24} {text}{note}", ins.ip());
        }
        return Ok(ExitCode::SUCCESS);
    }
    Err(format!("{}: no object of its closure has {}", a.prog.display(), a.symbol))
}
