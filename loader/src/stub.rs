//! The stub main program of the ld.so handover.
//!
//! glibc's libc is welded to glibc's own ld.so, so for a glibc program
//! shimld lets that ld.so load and initialise the glibc core, handing it a
//! small main program built in memory. ld.so sees the stub as the
//! executable: it loads the stub's DT_NEEDED (the core objects, by path),
//! applies its COPY relocations (copying initial values of the program's
//! copy-relocated variables from libc into the program), binds the core's
//! references to the symbols the stub exports (the program's definitions,
//! which interpose libc's as they would natively), gives module 1 of TLS
//! the stub's PT_TLS (the program's and the libraries' blocks), and finally
//! jumps to the stub's entry point, which is shimld's continuation.
//!
//! This module only lays out the bytes; it runs nowhere near the stub.

use crate::elf::{self, Dyn, Ehdr, Phdr, Rela, Sym, Vernaux, Verneed};
use crate::symtab::sysv_hash;
use alloc::vec::Vec;

/// A symbol the stub defines.
#[derive(Clone, Debug)]
pub struct Export {
    pub name: Vec<u8>,
    /// The absolute address it stands for.
    pub addr: usize,
    pub size: u64,
    /// STT_FUNC or STT_OBJECT (or STT_TLS is never exported).
    pub kind: u8,
    /// The version it carries: (file, version name), as a requirement, so
    /// that ld.so binds exactly the versioned references.
    pub version: Option<(Vec<u8>, Vec<u8>)>,
}

/// A COPY relocation the stub carries: ld.so copies the initial value of
/// export `sym` from the core object that defines it to `addr`.
#[derive(Clone, Copy, Debug)]
pub struct Copy {
    pub sym: usize,
    pub addr: usize,
}

/// The stub's TLS segment: module 1 for ld.so.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    pub memsz: usize,
    pub align: usize,
    /// The length of the initialisation image (p_filesz). The stub leaves
    /// it zero: the caller copies the blocks' data into the loaded stub.
    pub filesz: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub interp: Vec<u8>,
    pub needed: Vec<Vec<u8>>,
    pub exports: Vec<Export>,
    pub copies: Vec<Copy>,
    /// Absolute addresses: the entry point and one init and one fini
    /// function (each called with ld.so's/libc's usual arguments).
    pub entry: usize,
    pub init: usize,
    pub fini: usize,
    pub tls: Option<Tls>,
    pub exec_stack: bool,
}

/// Where things are in a built stub (offsets from its start).
#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    /// The stub's size in memory. The bytes built are its start; the rest
    /// (the TLS image) is zero, so a fresh mapping need not be written
    /// there (each page written is a page fault at start-up).
    pub size: usize,
    pub phdr: usize,
    pub phnum: usize,
    pub dynamic: usize,
    /// Index of the DT_DEBUG entry in the dynamic section.
    pub debug_index: usize,
    pub tls_image: usize,
    /// The symbols (after the null one) and the COPY relocations, whose
    /// values are addresses relative to the stub (see `rebase`).
    pub symtab: usize,
    pub nsyms: usize,
    pub rela: usize,
    pub nrela: usize,
}

/// Where the stub's bytes go: a vector, or memory given to fill in place
/// (which then must be zero, and is left as it is past what fits).
enum Out<'a> {
    Grow(Vec<u8>),
    Fixed(&'a mut [u8]),
}

struct Buf<'a> {
    out: Out<'a>,
    /// Bytes written so far (also those that did not fit in `Fixed`).
    len: usize,
}

impl Buf<'_> {
    fn align(&mut self, a: usize) -> usize {
        let to = self.len.div_ceil(a) * a;
        if let Out::Grow(v) = &mut self.out {
            v.resize(to, 0);
        }
        self.len = to;
        to
    }
    fn put<T: elf::Pod>(&mut self, v: &T) -> usize {
        // SAFETY: T is plain old data; its bytes are read as they are.
        let b = unsafe { core::slice::from_raw_parts(v as *const T as *const u8, core::mem::size_of::<T>()) };
        self.put_bytes(b)
    }
    fn put_bytes(&mut self, b: &[u8]) -> usize {
        let at = self.len;
        self.write(at, b);
        self.len += b.len();
        at
    }
    fn patch<T: elf::Pod>(&mut self, at: usize, v: &T) {
        // SAFETY: as in put.
        let b = unsafe { core::slice::from_raw_parts(v as *const T as *const u8, core::mem::size_of::<T>()) };
        self.write(at, b);
    }
    fn write(&mut self, at: usize, b: &[u8]) {
        match &mut self.out {
            Out::Grow(v) if at == v.len() => v.extend_from_slice(b),
            Out::Grow(v) => v[at..at + b.len()].copy_from_slice(b),
            Out::Fixed(m) => {
                if let Some(d) = m.get_mut(at..at + b.len()) {
                    d.copy_from_slice(b);
                }
            }
        }
    }
}

struct Strings {
    bytes: Vec<u8>,
}

impl Strings {
    fn add(&mut self, s: &[u8]) -> u32 {
        let at = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s);
        self.bytes.push(0);
        at
    }
}

const PHNUM_MAX: usize = 6;

/// Moves a stub built for `from` to `to`: what `build(spec, to)` would
/// give (the entry point, the symbol values and the COPY relocations'
/// offsets are the only addresses in it).
pub fn rebase(bytes: &mut [u8], lay: &Layout, from: usize, to: usize) {
    let delta = (from as u64).wrapping_sub(to as u64);
    let mut add = |at: usize| {
        if let Some(b) = bytes.get_mut(at..at + 8) {
            let v = u64::from_le_bytes(b.try_into().unwrap_or([0; 8])).wrapping_add(delta);
            b.copy_from_slice(&v.to_le_bytes());
        }
    };
    // e_entry, each symbol's st_value (after the null symbol), each
    // relocation's r_offset.
    add(24);
    for i in 1..lay.nsyms {
        add(lay.symtab + 24 * i + 8);
    }
    for i in 0..lay.nrela {
        add(lay.rela + 24 * i);
    }
}

/// Builds the stub for loading at `base`. Addresses in `spec` are absolute;
/// the stub stores them relative to `base` (wrapping), which is what ld.so
/// adds its load bias to.
pub fn build(spec: &Spec, base: usize) -> (Vec<u8>, Layout) {
    let mut b = Buf { out: Out::Grow(Vec::with_capacity(4096)), len: 0 };
    let lay = write(spec, base, &mut b);
    let Out::Grow(v) = b.out else { return (Vec::new(), lay) };
    (v, lay)
}

/// As `build`, writing the stub where it will be loaded, at `base`: `out`
/// (zero bytes). None if the stub, its TLS image included, needs more than
/// `out` holds (what was written is then garbage).
pub fn build_into(spec: &Spec, base: usize, out: &mut [u8]) -> Option<Layout> {
    let room = out.len();
    let mut b = Buf { out: Out::Fixed(out), len: 0 };
    let lay = write(spec, base, &mut b);
    // (The layout's size covers every byte written, rounded up to pages.)
    (lay.size <= room).then_some(lay)
}

/// Writes the stub for `base` into `b` (see `build`), and returns its
/// layout.
#[inline(never)]
fn write(spec: &Spec, base: usize, b: &mut Buf) -> Layout {
    let rel = |addr: usize| addr.wrapping_sub(base) as u64;
    let mut lay = Layout::default();
    b.put(&Ehdr::default());
    lay.phdr = b.len;
    for _ in 0..PHNUM_MAX {
        b.put(&Phdr::default());
    }
    let interp_off = b.put_bytes(&spec.interp);
    b.put_bytes(&[0]);

    // Strings: needed names, symbol names, version names.
    let mut strs = Strings { bytes: alloc::vec![0] };
    let needed: Vec<u32> = spec.needed.iter().map(|n| strs.add(n)).collect();
    let sym_names: Vec<u32> = spec.exports.iter().map(|e| strs.add(&e.name)).collect();
    // Version requirements, grouped by file: (file, [(name, index)]).
    let mut files: Vec<(Vec<u8>, Vec<(Vec<u8>, u16)>)> = Vec::new();
    let mut versym: Vec<u16> = alloc::vec![0];
    let mut next_index = 2u16;
    for e in &spec.exports {
        let ndx = match &e.version {
            None => 1,
            Some((file, name)) => {
                let fi = match files.iter().position(|(f, _)| f == file) {
                    Some(i) => i,
                    None => {
                        files.push((file.clone(), Vec::new()));
                        files.len() - 1
                    }
                };
                match files[fi].1.iter().find(|(n, _)| n == name) {
                    Some((_, i)) => *i,
                    None => {
                        files[fi].1.push((name.clone(), next_index));
                        next_index += 1;
                        next_index - 1
                    }
                }
            }
        };
        versym.push(ndx);
    }
    let file_strs: Vec<(u32, Vec<u32>)> =
        files.iter().map(|(f, vs)| (strs.add(f), vs.iter().map(|(n, _)| strs.add(n)).collect())).collect();

    let strtab_off = b.put_bytes(&strs.bytes);

    // Symbols: the null symbol, then the exports.
    let symtab_off = b.align(8);
    b.put(&Sym::default());
    for (e, &name) in spec.exports.iter().zip(&sym_names) {
        b.put(&Sym {
            st_name: name,
            st_info: (elf::STB_GLOBAL << 4) | e.kind,
            st_other: elf::STV_DEFAULT,
            // Any defined section: the value is relative to the stub.
            st_shndx: 1,
            st_value: rel(e.addr),
            st_size: e.size,
        });
    }
    let nsyms = spec.exports.len() + 1;
    lay.symtab = symtab_off;
    lay.nsyms = nsyms;

    // SysV hash table.
    let hash_off = b.align(8);
    let nbucket = (nsyms as u32 / 2).max(1);
    let mut buckets = alloc::vec![0u32; nbucket as usize];
    let mut chains = alloc::vec![0u32; nsyms];
    for (i, e) in spec.exports.iter().enumerate() {
        let idx = i as u32 + 1;
        let h = (sysv_hash(&e.name) % nbucket) as usize;
        chains[idx as usize] = buckets[h];
        buckets[h] = idx;
    }
    b.put(&nbucket);
    b.put(&(nsyms as u32));
    for x in buckets.iter().chain(chains.iter()) {
        b.put(x);
    }

    let versym_off = b.align(2);
    for v in &versym {
        b.put(v);
    }

    let verneed_off = b.align(8);
    for (fi, ((_, vers), (file_str, ver_strs))) in files.iter().zip(&file_strs).enumerate() {
        let last_file = fi + 1 == files.len();
        let aux_size = core::mem::size_of::<Vernaux>() as u32;
        let need_size = core::mem::size_of::<Verneed>() as u32;
        b.put(&Verneed {
            vn_version: 1,
            vn_cnt: vers.len() as u16,
            vn_file: *file_str,
            vn_aux: need_size,
            vn_next: if last_file { 0 } else { need_size + aux_size * vers.len() as u32 },
        });
        for (k, ((name, index), name_str)) in vers.iter().zip(ver_strs).enumerate() {
            b.put(&Vernaux {
                vna_hash: sysv_hash(name),
                vna_flags: 0,
                vna_other: *index,
                vna_name: *name_str,
                vna_next: if k + 1 == vers.len() { 0 } else { aux_size },
            });
        }
    }

    let rela_off = b.align(8);
    for c in &spec.copies {
        b.put(&Rela {
            r_offset: rel(c.addr),
            r_info: ((c.sym as u64 + 1) << 32) | elf::R_X86_64_COPY as u64,
            r_addend: 0,
        });
    }
    let rela_size = b.len - rela_off;
    lay.rela = rela_off;
    lay.nrela = spec.copies.len();

    let init_off = b.put(&(spec.init as u64));
    let fini_off = b.put(&(spec.fini as u64));

    // The dynamic section.
    let dyn_off = b.align(8);
    let mut dynv: Vec<Dyn> = Vec::new();
    for n in &needed {
        dynv.push(Dyn { d_tag: elf::DT_NEEDED, d_val: *n as u64 });
    }
    let mut d = |tag: i64, val: u64| dynv.push(Dyn { d_tag: tag, d_val: val });
    d(elf::DT_HASH, hash_off as u64);
    d(elf::DT_STRTAB, strtab_off as u64);
    d(elf::DT_SYMTAB, symtab_off as u64);
    d(elf::DT_STRSZ, strs.bytes.len() as u64);
    d(elf::DT_SYMENT, 24);
    d(elf::DT_VERSYM, versym_off as u64);
    if !files.is_empty() {
        d(elf::DT_VERNEED, verneed_off as u64);
        d(elf::DT_VERNEEDNUM, files.len() as u64);
    }
    if rela_size > 0 {
        d(elf::DT_RELA, rela_off as u64);
        d(elf::DT_RELASZ, rela_size as u64);
        d(elf::DT_RELAENT, 24);
    }
    d(elf::DT_INIT_ARRAY, init_off as u64);
    d(elf::DT_INIT_ARRAYSZ, 8);
    d(elf::DT_FINI_ARRAY, fini_off as u64);
    d(elf::DT_FINI_ARRAYSZ, 8);
    d(elf::DT_FLAGS_1, elf::DF_1_PIE);
    d(elf::DT_DEBUG, 0);
    d(elf::DT_NULL, 0);
    let debug_index = dynv.len() - 2;
    for e in &dynv {
        b.put(e);
    }
    let dyn_size = b.len - dyn_off;
    lay.dynamic = dyn_off;
    lay.debug_index = debug_index;

    // The TLS image.
    let mut tls_phdr = None;
    if let Some(t) = &spec.tls {
        let align = t.align.max(1);
        let at = b.len.div_ceil(align.max(64)) * align.max(64);
        lay.tls_image = at;
        tls_phdr = Some(Phdr {
            p_type: elf::PT_TLS,
            p_flags: elf::PF_R,
            p_offset: at as u64,
            p_vaddr: at as u64,
            p_paddr: at as u64,
            p_filesz: t.filesz as u64,
            p_memsz: t.memsz as u64,
            p_align: align as u64,
        });
    }
    let tls_end = spec.tls.as_ref().map_or(0, |t| lay.tls_image + t.filesz);
    let size = b.len.max(tls_end).div_ceil(4096) * 4096;
    lay.size = size;

    // Program headers and the ELF header, now that the sizes are known.
    let mut ph: Vec<Phdr> = Vec::new();
    let phdr_bytes = (PHNUM_MAX * elf::PHDR_SIZE) as u64;
    let seg = |t: u32, f: u32, off: u64, sz: u64, al: u64| Phdr {
        p_type: t,
        p_flags: f,
        p_offset: off,
        p_vaddr: off,
        p_paddr: off,
        p_filesz: sz,
        p_memsz: sz,
        p_align: al,
    };
    ph.push(seg(elf::PT_PHDR, elf::PF_R, lay.phdr as u64, phdr_bytes, 8));
    ph.push(seg(elf::PT_INTERP, elf::PF_R, interp_off as u64, spec.interp.len() as u64 + 1, 1));
    ph.push(seg(elf::PT_LOAD, elf::PF_R | elf::PF_W, 0, size as u64, 4096));
    ph.push(seg(elf::PT_DYNAMIC, elf::PF_R | elf::PF_W, dyn_off as u64, dyn_size as u64, 8));
    let stack_flags = elf::PF_R | elf::PF_W | if spec.exec_stack { elf::PF_X } else { 0 };
    ph.push(seg(elf::PT_GNU_STACK, stack_flags, 0, 0, 16));
    if let Some(t) = tls_phdr {
        ph.push(t);
    }
    lay.phnum = ph.len();
    for (i, p) in ph.iter().enumerate() {
        b.patch(lay.phdr + i * elf::PHDR_SIZE, p);
    }
    let mut ident = [0u8; 16];
    ident[..4].copy_from_slice(&elf::ELFMAG);
    ident[elf::EI_CLASS] = elf::ELFCLASS64;
    ident[elf::EI_DATA] = elf::ELFDATA2LSB;
    ident[elf::EI_VERSION] = elf::EV_CURRENT;
    b.patch(
        0,
        &Ehdr {
            e_ident: ident,
            e_type: elf::ET_DYN,
            e_machine: elf::EM_X86_64,
            e_version: 1,
            e_entry: rel(spec.entry),
            e_phoff: lay.phdr as u64,
            e_ehsize: elf::EHDR_SIZE as u16,
            e_phentsize: elf::PHDR_SIZE as u16,
            e_phnum: ph.len() as u16,
            ..Ehdr::default()
        },
    );
    lay
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamic::DynInfo;
    use crate::image::Image;
    use crate::symtab::{Name, SymTab, Want};

    /// The stub parses back with shimld's own reader: the headers, the
    /// needed list, the exports with their versions, the COPY relocations.
    #[test]
    fn stub_parses_back() {
        let spec = Spec {
            interp: b"/lib64/ld-linux-x86-64.so.2".to_vec(),
            needed: alloc::vec![b"/lib/x86_64-linux-gnu/libc.so.6".to_vec()],
            exports: alloc::vec![
                Export {
                    name: b"stdout".to_vec(),
                    addr: 0x5000_1000,
                    size: 8,
                    kind: elf::STT_OBJECT,
                    version: Some((b"libc.so.6".to_vec(), b"GLIBC_2.2.5".to_vec())),
                },
                Export { name: b"malloc".to_vec(), addr: 0x6000_0000, size: 0, kind: elf::STT_FUNC, version: None },
            ],
            copies: alloc::vec![Copy { sym: 0, addr: 0x5000_1000 }],
            entry: 0x7000_0000,
            init: 0x7000_0010,
            fini: 0x7000_0020,
            tls: Some(Tls { memsz: 256, align: 64, filesz: 16 }),
            exec_stack: false,
        };
        let base = 0x4000_0000;
        let (bytes, lay) = build(&spec, base);
        assert!(bytes.len() <= lay.tls_image && lay.tls_image + 16 <= lay.size && lay.size % 4096 == 0);
        // Built elsewhere and moved: the same bytes.
        let (mut moved, lay0) = build(&spec, 0x1234_5000);
        rebase(&mut moved, &lay0, 0x1234_5000, base);
        assert!(moved == bytes, "rebase differs from building in place");
        // Written into zero memory: the same bytes, the rest untouched; and
        // refused where the stub and its TLS image do not fit.
        let mut room = alloc::vec![0u8; lay.size];
        assert_eq!(build_into(&spec, base, &mut room).map(|l| l.size), Some(lay.size));
        assert!(room[..bytes.len()] == bytes[..] && room[bytes.len()..].iter().all(|&x| x == 0));
        let mut short = alloc::vec![0u8; lay.size - 1];
        assert!(build_into(&spec, base, &mut short).is_none());
        let mut tiny = alloc::vec![0u8; 64];
        assert!(build_into(&spec, base, &mut tiny).is_none());
        // As loaded: the rest of the mapping is zero.
        let mut bytes = bytes;
        bytes.resize(lay.size, 0);
        let eh = elf::check_header(&bytes).unwrap();
        let ph = elf::phdrs_at(&eh, &bytes, 0).unwrap();
        assert_eq!(eh.e_entry, 0x3000_0000);
        let image = Image::from_file(&bytes, &ph);
        let dynamic = ph.iter().find(|p| p.p_type == elf::PT_DYNAMIC).unwrap();
        let d = DynInfo::parse(&image, dynamic).unwrap();
        let strtab = d.strtab(&image).unwrap();
        assert_eq!(crate::dynamic::string(strtab, d.needed[0]).unwrap(), b"/lib/x86_64-linux-gnu/libc.so.6");
        assert_eq!(d.debug_index, Some(lay.debug_index));
        let t = SymTab::new(&image, &d, strtab).unwrap();
        let req = t.requirements().next().unwrap();
        assert_eq!((req.file.unwrap(), req.name), (&b"libc.so.6"[..], &b"GLIBC_2.2.5"[..]));
        let i = t.lookup(&mut Name::new(b"stdout"), &Want { version: Some(req), plt: false, newest: false }).unwrap();
        assert_eq!(t.syms[i as usize].st_value, 0x1000_1000);
        assert!(t.lookup(&mut Name::new(b"malloc"), &Want { version: None, plt: true, newest: false }).is_some());
        assert!(t.lookup(&mut Name::new(b"free"), &Want { version: None, plt: false, newest: false }).is_none());
        let tls = ph.iter().find(|p| p.p_type == elf::PT_TLS).unwrap();
        assert_eq!((tls.p_memsz, tls.p_filesz, tls.p_align, tls.p_vaddr % 64), (256, 16, 64, 0));
        let rela: &[Rela] = image.table(d.rela.addr, d.rela.size / 24).unwrap();
        assert_eq!(
            (rela.len(), rela[0].kind(), rela[0].sym(), rela[0].r_offset),
            (1, elf::R_X86_64_COPY, 1, 0x1000_1000)
        );
    }
}
