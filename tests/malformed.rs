//! Damaged ELF files: a generator of malformed variants of a small program
//! and its library (testprogs/malformed), each run under shimld in `--list`
//! mode and in run mode, and each variant of the library also dlopened by a
//! glibc program. shimld must never die by a signal, hang or panic; a
//! variant it rejects is named in the message (`shimld`'s or ld.so-style
//! `PROG: error while loading shared libraries: FILE: ...`), with status 127
//! (1 for version errors, as ld.so), and dlopen returns NULL with the text
//! in dlerror. Variants that are certainly invalid must be rejected.
//!
//! The generator changes headers and tables only (and random bytes among
//! them), never code or the values relocation computes: a program whose
//! code or addends are damaged may crash natively and under any loader.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const EXE: &str = "mal-main";
const LIB: &str = "libmal.so";

/// A file being damaged, with the offsets of what it holds.
#[derive(Clone)]
struct Elf {
    b: Vec<u8>,
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PT_TLS: u32 = 7;

const DT_NEEDED: i64 = 1;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_RELA: i64 = 7;
const DT_RELASZ: i64 = 8;
const DT_RELAENT: i64 = 9;
const DT_STRSZ: i64 = 10;
const DT_INIT: i64 = 12;
const DT_JMPREL: i64 = 23;
const DT_PLTREL: i64 = 20;
const DT_INIT_ARRAY: i64 = 25;
const DT_INIT_ARRAYSZ: i64 = 27;
const DT_GNU_HASH: i64 = 0x6fff_fef5;
const DT_VERSYM: i64 = 0x6fff_fff0;
const DT_RELACOUNT: i64 = 0x6fff_fff9;
const DT_VERDEF: i64 = 0x6fff_fffc;
const DT_VERDEFNUM: i64 = 0x6fff_fffd;
const DT_VERNEED: i64 = 0x6fff_fffe;
const DT_VERNEEDNUM: i64 = 0x6fff_ffff;

impl Elf {
    fn u16(&self, o: usize) -> u16 {
        u16::from_le_bytes(self.b[o..o + 2].try_into().unwrap())
    }
    fn u32(&self, o: usize) -> u32 {
        u32::from_le_bytes(self.b[o..o + 4].try_into().unwrap())
    }
    fn u64(&self, o: usize) -> u64 {
        u64::from_le_bytes(self.b[o..o + 8].try_into().unwrap())
    }
    fn set16(&mut self, o: usize, v: u16) {
        self.b[o..o + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn set32(&mut self, o: usize, v: u32) {
        self.b[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn set64(&mut self, o: usize, v: u64) {
        self.b[o..o + 8].copy_from_slice(&v.to_le_bytes());
    }
    /// File offsets of the program headers.
    fn phdrs(&self) -> Vec<usize> {
        let (off, n) = (self.u64(32) as usize, self.u16(56) as usize);
        (0..n).map(|i| off + 56 * i).collect()
    }
    fn phdrs_of(&self, t: u32) -> Vec<usize> {
        self.phdrs().into_iter().filter(|&p| self.u32(p) == t).collect()
    }
    fn vaddr_to_off(&self, v: u64) -> Option<usize> {
        self.phdrs_of(PT_LOAD).into_iter().find_map(|p| {
            let (off, va, fsz) = (self.u64(p + 8), self.u64(p + 16), self.u64(p + 32));
            (v >= va && v < va + fsz).then(|| (off + (v - va)) as usize)
        })
    }
    /// File offsets of the dynamic entries.
    fn dynamic(&self) -> Vec<usize> {
        let Some(&p) = self.phdrs_of(PT_DYNAMIC).first() else { return Vec::new() };
        let (off, sz) = (self.u64(p + 8) as usize, self.u64(p + 32) as usize);
        let mut v = Vec::new();
        for e in (off..off + sz).step_by(16) {
            if self.u64(e) == 0 {
                break;
            }
            v.push(e);
        }
        v
    }
    /// The file offset of the entry for `tag`.
    fn dyn_entry(&self, tag: i64) -> Option<usize> {
        self.dynamic().into_iter().find(|&e| self.u64(e) as i64 == tag)
    }
    fn dyn_val(&self, tag: i64) -> Option<u64> {
        self.dyn_entry(tag).map(|e| self.u64(e + 8))
    }
    fn set_dyn(&mut self, tag: i64, v: u64) -> bool {
        match self.dyn_entry(tag) {
            Some(e) => {
                self.set64(e + 8, v);
                true
            }
            None => false,
        }
    }
    /// The file offset of what dynamic tag `tag` points at.
    fn table(&self, tag: i64) -> Option<usize> {
        self.vaddr_to_off(self.dyn_val(tag)?)
    }
    /// File offsets of the dynamic symbols (counted up to the string table).
    fn syms(&self) -> Vec<usize> {
        let (Some(s), Some(t)) = (self.table(DT_SYMTAB), self.table(DT_STRTAB)) else { return Vec::new() };
        (s..t.max(s)).step_by(24).take_while(|&o| o + 24 <= t).collect()
    }
    fn sym_named(&self, name: &str) -> Option<usize> {
        let strtab = self.table(DT_STRTAB)?;
        self.syms().into_iter().find(|&s| {
            let at = strtab + self.u32(s) as usize;
            self.b.get(at..at + name.len() + 1) == Some(&[name.as_bytes(), b"\0"].concat()[..])
        })
    }
    /// File offsets of the RELA entries (DT_RELA and DT_JMPREL).
    fn relas(&self) -> Vec<usize> {
        let mut v = Vec::new();
        if let (Some(t), Some(sz)) = (self.table(DT_RELA), self.dyn_val(DT_RELASZ)) {
            v.extend((t..t + sz as usize).step_by(24));
        }
        v
    }
    /// Byte ranges of headers and tables (not code, not relocation addends,
    /// not symbol values), for random damage.
    fn metadata(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..64).filter(|o| !(24..32).contains(o)).collect();
        for p in self.phdrs() {
            let t = self.u32(p);
            // Where a loadable segment lies stays, or code moves.
            let keep = if t == PT_LOAD { 8..24 } else { 0..0 };
            v.extend((p..p + 56).filter(|o| !keep.contains(&(o - p))));
        }
        v.extend(self.dynamic().into_iter().flat_map(|e| e..e + 16));
        for s in self.syms() {
            v.extend(s..s + 8); // st_name, st_info, st_other, st_shndx
        }
        if let (Some(t), Some(sz)) = (self.table(DT_STRTAB), self.dyn_val(DT_STRSZ)) {
            v.extend(t..t + sz as usize);
        }
        for r in self.relas() {
            v.extend(r..r + 16); // r_offset, r_info
        }
        for tag in [DT_GNU_HASH, DT_VERSYM, DT_VERDEF, DT_VERNEED] {
            if let Some(t) = self.table(tag) {
                v.extend(t..(t + 64).min(self.b.len()));
            }
        }
        v.retain(|&o| o < self.b.len());
        v
    }
}

/// What a variant must lead to.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    /// Certainly invalid, and seen as soon as the file is loaded: rejected
    /// in every mode, with the file named.
    Reject,
    /// Certainly invalid, but seen only when relocating or starting it:
    /// `--list` (which does neither, as with ld.so) may accept it.
    RejectRun,
    /// A definition is damaged: rejected by a program that uses it; a
    /// listing, and a dlopen that does not use it, may accept it.
    RejectUse,
    /// Perhaps harmless: anything but a signal, a hang or an unnamed error.
    Any,
}

struct Variant {
    name: String,
    /// Which file is damaged.
    file: &'static str,
    bytes: Vec<u8>,
    expect: Expect,
}

fn variants(exe: &Elf, lib: &Elf) -> Vec<Variant> {
    use Expect::*;
    let mut out = Vec::new();
    for (file, orig) in [(EXE, exe), (LIB, lib)] {
        let mut add = |name: &str, expect: Expect, f: &dyn Fn(&mut Elf) -> bool| {
            let mut e = orig.clone();
            if f(&mut e) {
                out.push(Variant { name: format!("{file}: {name}"), file, bytes: e.b, expect });
            }
        };
        let len = orig.b.len();
        // Truncation (harmless past the end of the loaded part: section
        // headers and symbols for debuggers).
        let loaded = orig.phdrs_of(PT_LOAD).into_iter().map(|p| orig.u64(p + 8) + orig.u64(p + 32)).max().unwrap();
        for cut in [0, 4, 16, 63, 64, 64 + 56 + 20, len / 2, len - 1] {
            let expect = if cut as u64 >= loaded { Any } else { Reject };
            add(&format!("truncated to {cut} bytes"), expect, &|e| {
                e.b.truncate(cut);
                true
            });
        }
        add("cut inside the last segment", Reject, &|e| {
            let last = e.phdrs_of(PT_LOAD).into_iter().map(|p| e.u64(p + 8) + e.u64(p + 32)).max().unwrap();
            let first_rw = e.phdrs_of(PT_LOAD).into_iter().map(|p| e.u64(p + 8)).max().unwrap();
            e.b.truncate(((first_rw + last) / 2) as usize);
            true
        });
        // The ELF header.
        let header: &[(&str, Expect, usize, u64, usize)] = &[
            ("32-bit class", Reject, 4, 1, 1),
            ("bad class", Reject, 4, 9, 1),
            ("big-endian", Reject, 5, 2, 1),
            ("no data encoding", Reject, 5, 0, 1),
            ("bad ELF version", Reject, 6, 0, 1),
            ("relocatable type", Reject, 16, 1, 2),
            ("core type", Reject, 16, 4, 2),
            ("i386 machine", Reject, 18, 3, 2),
            ("aarch64 machine", Reject, 18, 183, 2),
            ("program headers past the end", Reject, 32, 0xffff_ffff_0000_0000, 8),
            ("program headers at the end of file", Reject, 32, len as u64, 8),
            ("program headers unaligned", Any, 32, 65, 8),
            ("no program headers", Reject, 56, 0, 2),
            ("65535 program headers", Reject, 56, 0xffff, 2),
            ("program header size 32", Reject, 54, 32, 2),
            ("section headers past the end", Any, 40, 0xffff_ffff_ffff_0000, 8),
            ("65535 section headers", Any, 60, 0xffff, 2),
            ("bad section name index", Any, 62, 0xfff0, 2),
        ];
        for &(name, expect, off, v, w) in header {
            add(name, expect, &|e| {
                match w {
                    1 => e.b[off] = v as u8,
                    2 => e.set16(off, v as u16),
                    _ => e.set64(off, v),
                }
                true
            });
        }
        // Loadable segments.
        let first_load = |e: &Elf| e.phdrs_of(PT_LOAD)[0];
        let rw_load = |e: &Elf| *e.phdrs_of(PT_LOAD).iter().find(|&&p| e.u32(p + 4) & 2 != 0).unwrap();
        // One field of the writable segment.
        type Field = fn(&Elf, usize) -> u64;
        let rw_fields: &[(&str, usize, Field)] = &[
            ("segment offset past the end", 8, |e, p| {
                ((e.b.len() as u64 + 0x10_0000) & !0xfff) + (e.u64(p + 16) & 0xfff)
            }),
            ("file size over memory size", 32, |e, p| e.u64(p + 40) + 0x1000),
            ("huge memory size", 40, |_, _| 1 << 46),
            ("address near the top", 16, |e, p| 0xffff_ffff_ffff_0000 | (e.u64(p + 8) & 0xfff)),
            ("misaligned segment", 16, |e, p| e.u64(p + 16) + 0x10),
        ];
        for &(name, off, value) in rw_fields {
            add(name, Reject, &|e| {
                let p = rw_load(e);
                let v = value(e, p);
                e.set64(p + off, v);
                true
            });
        }
        add("segment file size past the end", Reject, &|e| {
            let p = rw_load(e);
            e.set64(p + 32, len as u64 * 4);
            e.set64(p + 40, len as u64 * 4);
            true
        });
        add("alignment 3", Reject, &|e| {
            let p = first_load(e);
            e.set64(p + 48, 3);
            true
        });
        add("overlapping segments", Reject, &|e| {
            let loads = e.phdrs_of(PT_LOAD);
            let va0 = e.u64(loads[0] + 16);
            let off1 = e.u64(loads[1] + 8);
            e.set64(loads[1] + 16, va0 + (off1 & 0xfff));
            true
        });
        add("no loadable segment", Reject, &|e| {
            for p in e.phdrs_of(PT_LOAD) {
                e.set32(p, 0);
            }
            true
        });
        add("segments out of order", Reject, &|e| {
            let loads = e.phdrs_of(PT_LOAD);
            let (a, b) = (loads[0], loads[1]);
            let tmp = e.b[a..a + 56].to_vec();
            let other = e.b[b..b + 56].to_vec();
            e.b[a..a + 56].copy_from_slice(&other);
            e.b[b..b + 56].copy_from_slice(&tmp);
            true
        });
        // The dynamic segment.
        add("dynamic segment outside the segments", Reject, &|e| {
            let p = e.phdrs_of(PT_DYNAMIC)[0];
            e.set64(p + 16, 0x7fff_0000_0000);
            true
        });
        add("huge dynamic segment", Any, &|e| {
            let p = e.phdrs_of(PT_DYNAMIC)[0];
            e.set64(p + 32, 1 << 40);
            e.set64(p + 40, 1 << 40);
            true
        });
        add("no dynamic segment", Any, &|e| {
            let p = e.phdrs_of(PT_DYNAMIC)[0];
            e.set32(p, 0);
            true
        });
        add("interpreter outside the file", Any, &|e| match e.phdrs_of(PT_INTERP).first() {
            Some(&p) => {
                e.set64(p + 8, 0xffff_0000);
                true
            }
            None => false,
        });
        // TLS.
        let tls: &[(&str, Expect, usize, u64)] = &[
            ("TLS alignment 0", Any, 48, 0),
            ("TLS alignment 3", Reject, 48, 3),
            ("TLS alignment 2^40", Reject, 48, 1 << 40),
            ("huge TLS", Reject, 40, 1 << 44),
            ("TLS file size over memory size", Reject, 32, 0x10_0000),
        ];
        for &(name, expect, off, v) in tls {
            add(name, expect, &|e| match e.phdrs_of(PT_TLS).first() {
                Some(&p) => {
                    e.set64(p + off, v);
                    true
                }
                None => false,
            });
        }
        // Dynamic entries.
        let wild: &[(&str, Expect, i64, u64)] = &[
            ("string table outside the segments", Reject, DT_STRTAB, 0x7fff_dead_0000),
            ("symbol table outside the segments", Reject, DT_SYMTAB, 0x7fff_dead_0000),
            ("huge string table size", Any, DT_STRSZ, 1 << 40),
            ("string table size 1", Reject, DT_STRSZ, 1),
            ("GNU hash outside the segments", Reject, DT_GNU_HASH, 0x7fff_dead_0000),
            ("relocations outside the segments", RejectRun, DT_RELA, 0x7fff_dead_0000),
            ("huge relocation table", RejectRun, DT_RELASZ, 1 << 40),
            ("relocation entry size 16", RejectRun, DT_RELAENT, 16),
            ("PLT relocations outside the segments", RejectRun, DT_JMPREL, 0x7fff_dead_0000),
            ("PLT relocations of type REL", RejectRun, DT_PLTREL, 17),
            ("huge RELATIVE count", Any, DT_RELACOUNT, u32::MAX as u64),
            ("version needs outside the segments", Reject, DT_VERNEED, 0x7fff_dead_0000),
            ("version definitions outside the segments", Reject, DT_VERDEF, 0x7fff_dead_0000),
            ("version symbols outside the segments", Reject, DT_VERSYM, 0x7fff_dead_0000),
            ("init array outside the segments", RejectRun, DT_INIT_ARRAY, 0x7fff_dead_0000),
            ("huge init array", RejectRun, DT_INIT_ARRAYSZ, 1 << 40),
            ("init function outside the code", RejectRun, DT_INIT, 0x7fff_dead_0000),
        ];
        for &(name, expect, tag, v) in wild {
            add(name, expect, &|e| e.set_dyn(tag, v));
        }
        add("needed name outside the string table", Reject, &|e| e.set_dyn(DT_NEEDED, 0xff_ffff));
        add("needed name without its NUL", Reject, &|e| {
            let (Some(strtab), Some(sz), Some(n)) = (e.table(DT_STRTAB), e.dyn_val(DT_STRSZ), e.dyn_val(DT_NEEDED))
            else {
                return false;
            };
            // Make the name run to the end of the table.
            let start = strtab + n as usize;
            for o in start..strtab + sz as usize {
                e.b[o] = b'x';
            }
            true
        });
        // GNU hash table.
        let gnu: &[(&str, Expect, usize, u32)] = &[
            ("GNU hash with 2^31 buckets", Reject, 0, 0x8000_0000),
            // Found by the symtab fuzz target: a division by zero buckets.
            ("GNU hash with no buckets", Any, 0, 0),
            ("GNU hash symbol offset past the symbols", Any, 4, 0x00ff_ffff),
            ("GNU hash with a huge Bloom filter", Reject, 8, 0x0fff_ffff),
            ("GNU hash with no Bloom filter", Any, 8, 0),
            ("GNU hash shift 200", Any, 12, 200),
        ];
        for &(name, expect, off, v) in gnu {
            add(name, expect, &|e| match e.table(DT_GNU_HASH) {
                Some(t) => {
                    e.set32(t + off, v);
                    true
                }
                None => false,
            });
        }
        add("GNU hash chains without an end", Any, &|e| {
            let Some(t) = e.table(DT_GNU_HASH) else { return false };
            let (nb, bloom) = (e.u32(t) as usize, e.u32(t + 8) as usize);
            let chains = t + 16 + 8 * bloom + 4 * nb;
            let nsyms = e.syms().len();
            let symoffset = e.u32(t + 4) as usize;
            for i in 0..nsyms.saturating_sub(symoffset) {
                let o = chains + 4 * i;
                if o + 4 <= e.b.len() {
                    let v = e.u32(o);
                    e.set32(o, v & !1);
                }
            }
            true
        });
        add("GNU hash buckets past the symbols", Any, &|e| {
            let Some(t) = e.table(DT_GNU_HASH) else { return false };
            let (nb, bloom) = (e.u32(t) as usize, e.u32(t + 8) as usize);
            for i in 0..nb {
                e.set32(t + 16 + 8 * bloom + 4 * i, 0x0fff_ffff);
            }
            true
        });
        // Relocations.
        add("relocation outside the segments", RejectRun, &|e| match e.relas().first() {
            Some(&r) => {
                e.set64(r, 0x7fff_dead_0000);
                true
            }
            None => false,
        });
        add("unknown relocation type", RejectRun, &|e| match e.relas().first() {
            Some(&r) => {
                let info = e.u64(r + 8);
                e.set64(r + 8, (info & !0xffff_ffff) | 0xfe);
                true
            }
            None => false,
        });
        add("relocation symbol index out of range", RejectRun, &|e| {
            let Some(&r) = e.relas().iter().find(|&&r| e.u64(r + 8) >> 32 != 0) else { return false };
            let info = e.u64(r + 8);
            e.set64(r + 8, (info & 0xffff_ffff) | (0x00ff_ffff << 32));
            true
        });
        // Versions.
        add("version needs in a loop", Any, &|e| {
            let Some(t) = e.table(DT_VERNEED) else { return false };
            e.set32(t + 12, 0); // vn_next: stays on the first entry
            e.set_dyn(DT_VERNEEDNUM, u32::MAX as u64)
        });
        add("version need auxiliaries in a loop", Any, &|e| {
            let Some(t) = e.table(DT_VERNEED) else { return false };
            e.set16(t + 2, 0xffff); // vn_cnt
            let aux = t + e.u32(t + 8) as usize;
            e.set32(aux + 12, 0); // vna_next
            true
        });
        add("version definitions in a loop", Any, &|e| {
            let Some(t) = e.table(DT_VERDEF) else { return false };
            e.set32(t + 16, 0); // vd_next
            e.set_dyn(DT_VERDEFNUM, u32::MAX as u64)
        });
        add("version need names outside the strings", Reject, &|e| {
            let Some(t) = e.table(DT_VERNEED) else { return false };
            let aux = t + e.u32(t + 8) as usize;
            e.set32(aux + 8, 0xff_ffff); // vna_name
            true
        });
        add("symbol versions past the definitions", Any, &|e| {
            let Some(t) = e.table(DT_VERSYM) else { return false };
            for i in 1..e.syms().len() {
                e.set16(t + 2 * i, 0x7ff0);
            }
            true
        });
        // Symbols.
        add("symbol names outside the strings", RejectRun, &|e| {
            let syms = e.syms();
            for &s in &syms[1..] {
                e.set32(s, 0xff_ffff);
            }
            !syms.is_empty()
        });
        add("function value outside the segments", RejectUse, &|e| match e.sym_named("mal_value") {
            Some(s) if e.u16(s + 6) != 0 => {
                e.set64(s + 8, 0x7fff_dead_0000);
                true
            }
            _ => false,
        });
        add("entry point outside the code", RejectRun, &|e| {
            if e.u16(16) != 3 || e.dyn_val(DT_NEEDED).is_none() || e.phdrs_of(PT_INTERP).is_empty() {
                return false;
            }
            e.set64(24, 0x7fff_dead_0000);
            true
        });
        // Random damage to headers and tables.
        let meta = orig.metadata();
        let mut seed = 0x2545_f491_4f6c_dd1du64 ^ file.len() as u64;
        for k in 0..40 {
            let mut e = orig.clone();
            let n = 1 + (k % 8);
            for _ in 0..n {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = meta[(seed as usize) % meta.len()];
                e.b[at] ^= 1 << (seed >> 59) as u8 % 8;
            }
            out.push(Variant {
                name: format!("{file}: random damage #{k} ({n} bytes)"),
                file,
                bytes: e.b,
                expect: Any,
            });
        }
    }
    out
}

/// How one run ended.
struct Ended {
    out: common::Outcome,
}

fn run(dir: &Path, args: &[&str]) -> Ended {
    let mut cmd = Command::new(args[0]);
    cmd.args(&args[1..]).current_dir(dir).env_clear().env("PATH", "/usr/bin:/bin");
    Ended { out: common::run_with_timeout(&mut cmd, Duration::from_secs(20)) }
}

/// A failure line: which variant and run (`label`), what went wrong, and
/// what the run printed.
fn failure(label: &str, problem: &str, o: &common::Outcome) -> String {
    format!("{label}: {problem}\n  stdout: {}\n  stderr: {}", o.stdout.trim(), o.stderr.trim())
}

/// What ended a run badly whatever the file: a hang, a signal, a panic.
fn crashed(o: &common::Outcome) -> Option<String> {
    if o.timed_out {
        Some("hung".to_string())
    } else if let Some(sig) = o.signal {
        Some(format!("died by signal {sig}"))
    } else if o.stderr.contains("panicked") || o.stderr.contains("internal error") {
        Some("panicked".into())
    } else {
        None
    }
}

/// An empty directory at `dir`.
/// A program and its library, read from `exe` and `lib`, their damaged
/// variants (at least 100), and `dir` made empty for them.
fn variant_set(exe: &Path, lib: &Path, dir: &Path) -> (Elf, Elf, Vec<Variant>) {
    let exe = Elf { b: std::fs::read(exe).unwrap() };
    let lib = Elf { b: std::fs::read(lib).unwrap() };
    let vs = variants(&exe, &lib);
    assert!(vs.len() >= 100, "only {} variants", vs.len());
    fresh_dir(dir);
    (exe, lib, vs)
}

fn fresh_dir(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
}

/// Writes an executable file.
fn write_exe(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Puts variant `v` of one of a program and its library into `dir`, the
/// other file undamaged.
fn write_variant(dir: &Path, v: &Variant, (exe_name, exe): (&str, &Elf), (lib_name, lib): (&str, &Elf)) {
    write_exe(&dir.join(exe_name), if v.file == EXE { &v.bytes } else { &exe.b });
    std::fs::write(dir.join(lib_name), if v.file == LIB { &v.bytes } else { &lib.b }).unwrap();
}

/// MALFORMED_KEEP=DIR keeps the files of a variant that failed, for a look.
fn keep_failed(dir: &Path, name: &str, files: &[&str]) {
    if let Some(keep) = std::env::var_os("MALFORMED_KEEP") {
        let d = PathBuf::from(keep).join(name.replace([' ', ':', '/', '#', '(', ')'], "_"));
        std::fs::create_dir_all(&d).unwrap();
        for f in files {
            std::fs::copy(dir.join(f), d.join(f)).unwrap();
        }
    }
}

fn check(v: &Variant, what: &str, e: &Ended, dlopen: bool, failures: &mut Vec<String>) {
    let o = &e.out;
    // The damaged file, or the program whose reference it fails (as ld.so
    // words an undefined symbol).
    let named = [EXE, LIB].iter().any(|f| o.stderr.contains(f) || o.stdout.contains(f));
    let must_reject = match v.expect {
        Expect::Reject => true,
        Expect::RejectRun => what != "--list",
        Expect::RejectUse => what == "run",
        Expect::Any => false,
    };
    let problem = if let Some(p) = crashed(o) {
        Some(p)
    } else if dlopen {
        let failed = o.stdout.lines().find(|l| l.starts_with("dlopen failed: "));
        match (o.status, failed) {
            (Some(0), _) if must_reject => Some("dlopen accepted it".into()),
            (Some(0), _) => None,
            (Some(3), Some(l)) if l.contains(LIB) => None,
            (Some(3), _) => Some("dlerror does not name the file".into()),
            (s, _) => Some(format!("the dlopening program ended with {s:?}")),
        }
    } else {
        let listed_missing = o.stdout.contains(&format!("{} => not found", v.file));
        let not_program = o.stderr == "\tnot a dynamic executable\n" && v.name.ends_with(" type");
        match o.status {
            // `--list` shows a library it cannot use as not found, and a
            // well-formed object that is no program as ldd does.
            Some(0) if what == "--list" && listed_missing => None,
            Some(1) if what == "--list" && not_program => None,
            Some(0) if must_reject => Some("accepted".into()),
            Some(0) => None,
            Some(127) | Some(1) if named => None,
            Some(127) | Some(1) => Some("the message does not name the file".into()),
            s => Some(format!("status {s:?}")),
        }
    };
    if let Some(p) = problem {
        failures.push(failure(&format!("{} [{what}]", v.name), &p, &o));
    }
}

#[test]
fn malformed_files_never_crash_shimld() {
    let built = common::build_testprog("malformed");
    let shimld = common::shimld();
    let shimld = shimld.to_str().unwrap();
    let dir: PathBuf = built.parent().unwrap().join("malformed-variants");
    let (exe, lib, vs) = variant_set(&built.join(EXE), &built.join(LIB), &dir);
    for f in ["gmal-main", "libgmal.so"] {
        std::fs::copy(built.join(f), dir.join(f)).unwrap();
    }
    let mut failures = Vec::new();
    let mut native_signals = 0;
    let mut rejected = 0;
    for v in &vs {
        write_variant(&dir, v, (EXE, &exe), (LIB, &lib));
        let ran = run(&dir, &[shimld, "./mal-main"]);
        if ran.out.status != Some(0) {
            rejected += 1;
        }
        let before = failures.len();
        check(v, "run", &ran, false, &mut failures);
        check(v, "--list", &run(&dir, &[shimld, "--list", "./mal-main"]), false, &mut failures);
        if v.file == LIB {
            check(v, "dlopen", &run(&dir, &[shimld, "./gmal-main", "./libmal.so"]), true, &mut failures);
        }
        if failures.len() > before {
            keep_failed(&dir, &v.name, &[EXE, LIB, "gmal-main", "libgmal.so"]);
        }
        if run(&dir, &[common::LDSO, "./mal-main"]).out.signal.is_some() {
            native_signals += 1;
        }
    }
    eprintln!("{} variants: shimld rejected {rejected}; glibc's ld.so died by a signal on {native_signals}", vs.len());
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

/// A damaged program that needs only the glibc core is not handed to its
/// ld.so whole (which would crash on it, natively too): shimld relocates
/// it itself and rejects it with a message naming the file. (A COPY
/// relocation outside the program's segments crashed the full handover
/// too, in ld.so, which performs those: the program's tables are checked
/// before it.)
#[test]
fn damaged_core_only_programs_are_not_handed_to_ldso() {
    let built = common::build_testprog("ldso_alone");
    let shimld = common::shimld();
    let exe = Elf { b: std::fs::read(built.join("alone")).unwrap() };
    let rela = exe.relas();
    let last = *rela.last().expect("the program has RELA relocations");
    let symbolic = *rela.iter().find(|&&r| exe.u32(r + 12) != 0).expect("a symbolic relocation");
    let plt = exe.table(DT_JMPREL).expect("the program has PLT relocations");
    let mut variants: Vec<(&str, Elf)> = Vec::new();
    let mut v = exe.clone();
    v.set64(last, 0x7fff_ffff_0000);
    variants.push(("last relocation's offset outside the segments", v));
    let mut v = exe.clone();
    v.set64(symbolic, 0x10);
    variants.push(("symbolic relocation's offset in the headers", v));
    let mut v = exe.clone();
    v.set32(last + 8, 0xee);
    variants.push(("unknown relocation type", v));
    let mut v = exe.clone();
    v.set32(symbolic + 12, 0x00ff_ffff);
    variants.push(("symbol index out of range", v));
    let mut v = exe.clone();
    v.set32(plt + 8, 8); // R_X86_64_RELATIVE in .rela.plt
    variants.push(("RELATIVE among the PLT relocations", v));
    let dir = built.parent().unwrap().join("damaged-alone");
    fresh_dir(&dir);
    let mut failures = Vec::new();
    for (name, v) in &variants {
        write_exe(&dir.join("alone"), &v.b);
        let mut cmd = Command::new(&shimld);
        cmd.arg("./alone").current_dir(&dir).env_clear().env("PATH", "/usr/bin:/bin").env("SHIMLD_DEBUG", "files");
        let o = common::run_with_timeout(&mut cmd, Duration::from_secs(20));
        let trace_alone = o.stderr.contains("runs it alone");
        if o.signal.is_some() || o.timed_out || o.status != Some(127) || !o.stderr.contains("alone") || trace_alone {
            failures.push(format!("{name}: {:?} signal {:?}, alone: {trace_alone}\n{}", o.status, o.signal, o.stderr));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same damage to a glibc program and its library, which go through
/// the handover to glibc's ld.so: shimld must not die by a signal, hang or
/// panic, nor let ld.so crash on what it passes on; a damaged file it
/// rejects is named. (Only run mode: `--list` and dlopen are the libc-free
/// test's.)
#[test]
fn malformed_glibc_programs_never_crash_shimld() {
    let built = common::build_testprog("malformed");
    glibc_variants(&built, "gmal-main", &built, "libgmal.so");
}

/// The same for a program that needs only the glibc core, which would go
/// to its ld.so whole (its library variants are never loaded).
#[test]
fn malformed_core_only_programs_never_crash_shimld() {
    let alone = common::build_testprog("ldso_alone");
    glibc_variants(&alone, "alone", &common::build_testprog("malformed"), "libgmal.so");
}

fn glibc_variants(exe_dir: &Path, exe_name: &str, lib_dir: &Path, lib_name: &str) {
    let shimld = common::shimld();
    let shimld = shimld.to_str().unwrap();
    let dir: PathBuf = exe_dir.parent().unwrap().join(format!("malformed-variants-{exe_name}"));
    let (exe, lib, vs) = variant_set(&exe_dir.join(exe_name), &lib_dir.join(lib_name), &dir);
    let prog = format!("./{exe_name}");
    let mut failures = Vec::new();
    let mut native_signals = 0;
    for v in &vs {
        let file = if v.file == EXE { exe_name } else { lib_name };
        write_variant(&dir, v, (exe_name, &exe), (lib_name, &lib));
        let o = run(&dir, &[shimld, &prog]).out;
        let named = o.stderr.contains(exe_name) || o.stderr.contains(lib_name);
        let must_reject = matches!(v.expect, Expect::Reject | Expect::RejectRun | Expect::RejectUse);
        let problem = crashed(&o).or_else(|| match o.status {
            Some(0) if must_reject && v.file == EXE => Some("accepted".into()),
            Some(0) => None,
            Some(127) | Some(1) if named => None,
            s => Some(format!("status {s:?}, the message does not name the file")),
        });
        if let Some(p) = problem {
            failures.push(failure(&format!("{} ({file})", v.name), &p, &o));
            keep_failed(&dir, &format!("{exe_name}-{}", v.name), &[exe_name, lib_name]);
        }
        if run(&dir, &[common::LDSO, &prog]).out.signal.is_some() {
            native_signals += 1;
        }
    }
    eprintln!("{exe_name}: {} variants: glibc's ld.so died by a signal on {native_signals}", vs.len());
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{} problems:\n{}", failures.len(), failures.join("\n"));
}

/// The glibc core is glibc's ld.so to load, and ld.so crashes on much of a
/// damaged dynamic section (a tag that should come with another, a version
/// index outside the version tables, no soname): shimld checks the core's
/// objects before the handover. Each dynamic entry of the host's libc.so.6
/// in turn loses its tag, or has a byte of its value changed; a glibc
/// program run with that copy first in the library path must run or be
/// refused with a message (status 127, or 1 for a version ld.so-style),
/// never die by a signal or fail an assertion in ld.so (`/bin/true`, which
/// `--library-path` keeps from going to ld.so alone). (Except a changed
/// DT_PLTGOT: only the code that uses the GOT knows where it should be.)
#[test]
fn a_damaged_glibc_core_never_crashes() {
    const DT_PLTGOT: i64 = 3;
    let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    let dir = common::target_dir().join("malformed-libc");
    fresh_dir(&dir);
    let good = Elf { b: std::fs::read(libc).unwrap() };
    let mut failures = Vec::new();
    let entries = good.dynamic();
    assert!(entries.len() > 20, "libc.so.6 has {} dynamic entries", entries.len());
    for (k, &e) in entries.iter().enumerate() {
        let tag = good.u64(e) as i64;
        let mut lost = good.clone();
        lost.set64(e, 0x7fff_0000 + k as u64);
        let mut moved = good.clone();
        moved.b[e + 9] ^= 0x55;
        for (what, v) in [("loses its tag", lost), ("has its value changed", moved)] {
            if tag == DT_PLTGOT && what != "loses its tag" {
                continue;
            }
            std::fs::write(dir.join("libc.so.6"), &v.b).unwrap();
            let mut cmd = Command::new(common::shimld());
            cmd.arg("--library-path").arg(&dir).arg("/bin/true").env_clear().env("HOME", &dir);
            let o = common::run_with_timeout(&mut cmd, Duration::from_secs(20));
            let label = format!("entry {k} (tag {tag:#x}) {what}");
            if let Some(bad) = crashed(&o) {
                failures.push(failure(&label, &bad, &o));
            } else if o.status != Some(0)
                && !(o.status == Some(127) && o.stderr.contains("error while loading shared libraries"))
                && !(o.status == Some(1) && o.stderr.contains("' not found (required by"))
            {
                failures.push(failure(&label, "neither ran nor was refused with a message", &o));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} runs:\n{}", failures.len(), 2 * entries.len(), failures.join("\n"));
}
