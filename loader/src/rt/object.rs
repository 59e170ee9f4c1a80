//! A loaded object: where it is mapped and what its dynamic section says.

use super::map::{self, ElfFile, MapError, Mapping};
use alloc::boxed::Box;
use alloc::vec::Vec;
use shimld::closure::Meta;
use shimld::dynamic::{self, DynInfo};
use shimld::elf::{self, Ehdr, Phdr};
use shimld::image::Image;
use shimld::symtab::SymTab;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The main program.
    Exec,
    /// A shared object.
    Lib,
    /// shimld itself, standing in for the dynamic linker.
    Rtld,
    /// An object of the glibc core, which glibc's own ld.so loaded,
    /// relocated and initialised (the handover).
    Core,
}

/// An object's PT_TLS segment and, once laid out, its module id and offset.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tls {
    pub image: usize,
    pub filesz: usize,
    pub memsz: usize,
    pub align: usize,
    /// `p_vaddr % p_align`: where the block starts within its alignment.
    pub firstbyte: usize,
    pub modid: usize,
    /// Distance of the block below the thread pointer.
    pub offset: usize,
    /// Where the object's block starts inside its module's block: 0, except
    /// in the handover, where every library's block lies inside module 1.
    pub block_off: usize,
}

pub struct Object {
    /// Index in the loader's object list.
    pub idx: usize,
    pub kind: Kind,
    pub path: Vec<u8>,
    /// The file's canonical path when it came from a `--root` (what the
    /// root's ld.so is told to open), else `path`.
    pub file: Vec<u8>,
    /// The path with a terminating NUL, for C callers.
    pub cpath: Vec<u8>,
    /// The public link_map fields, for handles and dl_find_object.
    pub lm: super::dl::LinkMap,
    /// The entry for debuggers' list, when it is not `lm` (see
    /// rt::debugger).
    pub dbg: super::dl::LinkMap,
    /// Load bias: an address in the object is `base + vaddr`.
    pub base: usize,
    pub map_start: usize,
    pub map_end: usize,
    /// Whether shimld mapped it (and may unmap it).
    pub owned: bool,
    pub phdrs: Vec<Phdr>,
    /// The address of the program headers in memory, if mapped.
    pub phdr_addr: usize,
    pub entry: usize,
    pub image: Image<'static>,
    pub dynamic: Option<Phdr>,
    pub d: DynInfo,
    pub syms: SymTab<'static>,
    pub tls: Option<Tls>,
    pub relro: Option<(usize, usize)>,
    pub interp: Option<Vec<u8>>,
    pub exec_stack: bool,
    /// Direct dependencies (indices into the loader's object list).
    pub deps: Vec<usize>,
    /// For a core object: glibc's link_map for it (its handle for glibc).
    pub glibc_map: usize,
    /// Set when dlclose unloads it: lookups pass it by.
    pub removed: core::sync::atomic::AtomicBool,
    /// Loaded by dlopen (not at start-up).
    pub dlopened: bool,
    /// Open count from dlopen.
    pub opens: core::sync::atomic::AtomicUsize,
    /// Never unloaded (DF_1_NODELETE or RTLD_NODELETE).
    pub nodelete: core::sync::atomic::AtomicBool,
    /// For objects loaded by dlopen: the dependencies of the object dlopen
    /// was asked for, searched after (with RTLD_DEEPBIND, before) the
    /// global scope.
    pub local_scope: Vec<usize>,
    pub deepbind: bool,
    /// Objects loaded by dlopen that this one binds symbols to, outside
    /// its own dependencies: they stay loaded while it does.
    pub reldeps: super::lock::RecursiveMutex<Vec<usize>>,
    /// Set once its relocations are applied.
    pub relocated: core::sync::atomic::AtomicBool,
    /// The file's identity when it was opened (None: not known, as for
    /// shimld itself).
    pub stamp: Option<super::map::Stamp>,
    /// Only a view of the file (`Object::view`): not mapped to run.
    pub view: bool,
    /// Only described (`Object::describe`): nothing of the file is mapped,
    /// and its tables are not read until `materialize` or `rebase`.
    pub described: Option<Box<Described>>,
    /// The IFUNC definitions its lazily bound PLT entries bind to, by
    /// symbol index, known at start-up (x86_64::prebind): the first call
    /// runs the resolver without a lookup.
    pub ifuncs: Vec<(u32, super::memo::Binding)>,
    /// Set once its initialisers have run (or, for the executable, once
    /// they would have: libc runs those); its finalisers run only if set.
    pub init_called: core::sync::atomic::AtomicBool,
}

/// What a described object's file says, read with a few small reads: what
/// the closure and the resolution cache's key need of a glibc core object
/// that ld.so will map.
pub struct Described {
    pub meta: Meta,
    pub build_id: Option<Vec<u8>>,
    /// The file, open until `materialize` or `release`.
    pub file: Option<ElfFile>,
}

/// How many views this process made (SHIMLD_DEBUG=statistics).
pub static VIEWS: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// The most bytes read for a described object's string or notes.
const DESCRIBE_MAX: usize = 4096;

/// The largest TLS alignment accepted (a page table's worth; compilers
/// ask for a cache line at most).
const MAX_TLS_ALIGN: u64 = 1 << 21;

impl Object {
    /// Describes an object that is already mapped at `base`.
    ///
    /// # Safety
    /// Every PT_LOAD of `phdrs` must be mapped at `base + p_vaddr` for its
    /// memory size, readable, for the rest of the process.
    pub unsafe fn from_mapped(
        kind: Kind,
        path: Vec<u8>,
        base: usize,
        ehdr: Ehdr,
        phdrs: Vec<Phdr>,
        phdr_addr: usize,
    ) -> Result<Box<Object>, &'static str> {
        let image = Image::mapped(base, &phdrs);
        Object::blank(kind, path, base, ehdr, phdrs, phdr_addr, image)?.with_headers()
    }

    /// A view of an opened file, for reading its tables without mapping its
    /// segments: for an object of the glibc core, which ld.so maps (see
    /// rt::handover). Its addresses mean nothing until `rebase`.
    pub fn view(kind: Kind, path: Vec<u8>, f: &ElfFile) -> Result<Box<Object>, MapError> {
        VIEWS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        let size = f.size as usize;
        // SAFETY: a fresh private read-only mapping of the whole file, kept
        // until `unmap`.
        let p = unsafe { super::sys::mmap(0, size.max(1), super::sys::PROT_READ, super::sys::MAP_PRIVATE, f.fd, 0) }
            .map_err(|e| MapError::Mmap("cannot map file data", e))?;
        // SAFETY: the mapping covers `size` readable bytes until `unmap`.
        let bytes: &'static [u8] = unsafe { core::slice::from_raw_parts(p as *const u8, size) };
        let image = Image::from_file(bytes, &f.phdrs);
        let mut o = Object::blank(kind, path, 0, f.ehdr, f.phdrs.clone(), 0, image)
            .and_then(|o| o.with_headers())
            .map_err(MapError::Bad);
        match &mut o {
            Ok(o) => {
                o.owned = true;
                o.view = true;
                o.stamp = Some(f.stamp);
                o.map_start = p;
                o.map_end = p + super::sys::page_up(size.max(1));
            }
            // SAFETY: nothing refers to the mapping.
            Err(_) => unsafe {
                let _ = super::sys::munmap(p, size.max(1));
            },
        }
        o
    }

    /// Describes an opened file of the glibc core without mapping it: its
    /// program headers, dynamic section and the strings the closure needs,
    /// read with `pread`. ld.so maps such an object; shimld reads its
    /// tables from there (`rebase`), or first from a view (`materialize`)
    /// where it needs them before the handover. None if anything is out of
    /// the ordinary (the caller then makes a view, which reports it).
    pub fn describe(kind: Kind, path: Vec<u8>, f: &ElfFile) -> Option<Box<Object>> {
        let read = |off: u64, len: usize| -> Option<Vec<u8>> {
            let mut b = alloc::vec![0u8; len];
            let n = super::sys::pread_full(f.fd, &mut b, off).ok()?;
            b.truncate(n);
            Some(b)
        };
        // A file offset for an address, in a segment's file data.
        let offset = |vaddr: u64| -> Option<u64> {
            f.phdrs
                .iter()
                .find(|p| p.p_type == elf::PT_LOAD && vaddr >= p.p_vaddr && vaddr - p.p_vaddr < p.p_filesz)
                .map(|p| vaddr - p.p_vaddr + p.p_offset)
        };
        let dynamic = *f.phdrs.iter().find(|p| p.p_type == elf::PT_DYNAMIC)?;
        let len = (dynamic.p_filesz as usize).min((dynamic::MAX_DYN + 1) * 16) & !15;
        let bytes = read(dynamic.p_offset, len)?;
        let entries: &[elf::Dyn] = elf::slice(&bytes, 0, bytes.len() / 16)?;
        let d = DynInfo::from_entries(entries).ok()?;
        let strtab = offset(d.strtab.addr)?;
        // The strings, with one read where they lie close together (libc's
        // soname and its one DT_NEEDED do).
        let offs = d.needed.iter().copied().chain(d.soname).chain(d.rpath).chain(d.runpath);
        let (lo, hi) = offs.fold((u32::MAX, 0), |(lo, hi), o| (lo.min(o), hi.max(o)));
        let span = (lo <= hi && ((hi - lo) as usize) < DESCRIBE_MAX / 2)
            .then(|| {
                let left = d.strtab.size.checked_sub(lo as u64)? as usize;
                Some((lo, read(strtab + lo as u64, left.min(hi as usize - lo as usize + 256))?))
            })
            .flatten();
        let string = |off: u32| -> Option<Vec<u8>> {
            if let Some((lo, s)) = &span {
                if let Some(end) = s.get((off - lo) as usize..).and_then(|t| t.iter().position(|&c| c == 0)) {
                    let at = (off - lo) as usize;
                    return Some(s[at..at + end].to_vec());
                }
            }
            let left = d.strtab.size.checked_sub(off as u64)? as usize;
            let s = read(strtab + off as u64, left.min(DESCRIBE_MAX))?;
            let end = s.iter().position(|&c| c == 0)?;
            Some(s[..end].to_vec())
        };
        let opt = |o: Option<u32>| -> Option<Option<Vec<u8>>> { o.map_or(Some(None), |o| string(o).map(Some)) };
        let mut needed = Vec::with_capacity(d.needed.len());
        for &n in &d.needed {
            needed.push(string(n)?);
        }
        let meta = Meta {
            needed,
            soname: opt(d.soname)?,
            rpath: if d.runpath.is_some() { None } else { opt(d.rpath)? },
            runpath: opt(d.runpath)?,
            nodeflib: d.flags_1 & elf::DF_1_NODEFLIB != 0,
        };
        // The build-id, as the resolution cache's key takes it from a view:
        // from the header's read where the notes lay there.
        let build_id = match f.note_id() {
            Some(id) => id.map(<[u8]>::to_vec),
            None => {
                let mut id = None;
                for p in f.phdrs.iter().filter(|p| p.p_type == elf::PT_NOTE) {
                    if p.p_filesz as usize > DESCRIBE_MAX {
                        return None;
                    }
                    if let Some(b) = read(p.p_offset, p.p_filesz as usize).as_deref().and_then(elf::build_id) {
                        id = Some(b.to_vec());
                        break;
                    }
                }
                id
            }
        };
        let mut o = Object::blank(kind, path, 0, f.ehdr, f.phdrs.clone(), 0, Image::from_file(&[], &[])).ok()?;
        o.described = Some(alloc::boxed::Box::new(Described { meta, build_id, file: None }));
        o.stamp = Some(f.stamp);
        o.view = true;
        o.read_phdrs().ok()?;
        o.dynamic = Some(dynamic);
        o.d = d;
        Some(o)
    }

    /// Makes a described object a view of its file (see `view`): the file
    /// it was described from, or else opened again by its path, the same
    /// file or an error.
    pub fn materialize(&mut self) -> Result<(), MapError> {
        let Some(d) = self.described.as_mut() else { return Ok(()) };
        let f = match d.file.take() {
            Some(f) => f,
            None => map::open_elf(&self.path)?,
        };
        if self.stamp != Some(f.stamp) {
            return Err(MapError::Bad("file changed while loading"));
        }
        let mut v = Object::view(self.kind, self.path.clone(), &f)?;
        v.idx = self.idx;
        v.deps = core::mem::take(&mut self.deps);
        v.file = core::mem::take(&mut self.file);
        *self = *v;
        Ok(())
    }

    /// Closes a described object's file (its tables are read once ld.so
    /// has mapped it: `rebase`).
    pub fn release(&mut self) {
        if let Some(d) = self.described.as_mut() {
            d.file = None;
        }
    }

    /// The object with its headers and tables read (see `blank`).
    fn with_headers(mut self: Box<Self>) -> Result<Box<Object>, &'static str> {
        self.read_headers(None)?;
        Ok(self)
    }

    /// An object of these headers, its tables not yet read (made in its
    /// box: an object is large, and every copy of it on the way is stack
    /// that start-up touches).
    #[inline(never)]
    fn blank(
        kind: Kind,
        path: Vec<u8>,
        base: usize,
        ehdr: Ehdr,
        phdrs: Vec<Phdr>,
        phdr_addr: usize,
        image: Image<'static>,
    ) -> Result<Box<Object>, &'static str> {
        let span = map::check_loads(&phdrs, None).map_err(|e| e.message())?;
        let mut cpath = path.clone();
        cpath.push(0);
        let o = Box::new(Object {
            idx: 0,
            kind,
            file: path.clone(),
            path,
            cpath,
            lm: super::dl::LinkMap::default(),
            dbg: super::dl::LinkMap::default(),
            base,
            map_start: base.wrapping_add(sys_page_down(span.lo as usize)),
            map_end: base.wrapping_add(super::sys::page_up(span.hi as usize)),
            owned: false,
            phdrs,
            phdr_addr,
            entry: base.wrapping_add(ehdr.e_entry as usize),
            image,
            dynamic: None,
            d: DynInfo::default(),
            syms: SymTab::empty(&[]),
            tls: None,
            relro: None,
            interp: None,
            exec_stack: false,
            deps: Vec::new(),
            glibc_map: 0,
            removed: core::sync::atomic::AtomicBool::new(false),
            dlopened: false,
            opens: core::sync::atomic::AtomicUsize::new(0),
            nodelete: core::sync::atomic::AtomicBool::new(false),
            local_scope: Vec::new(),
            deepbind: false,
            reldeps: super::lock::RecursiveMutex::new(Vec::new()),
            relocated: core::sync::atomic::AtomicBool::new(false),
            init_called: core::sync::atomic::AtomicBool::new(false),
            stamp: None,
            view: false,
            described: None,
            ifuncs: Vec::new(),
        });
        Ok(o)
    }

    /// Describes this object as mapped again at `base` (by ld.so, for the
    /// handover), keeping the dynamic section decoded from the file: ld.so
    /// rewrites a writable `.dynamic` in place, so it is not read again.
    ///
    /// # Safety
    /// As for `from_mapped`, for the new base.
    pub unsafe fn rebase(&mut self, kind: Kind, base: usize) -> Result<(), &'static str> {
        let span = map::check_loads(&self.phdrs, None).map_err(|e| e.message())?;
        self.kind = kind;
        self.entry = base.wrapping_add(self.entry.wrapping_sub(self.base));
        if self.phdr_addr != 0 {
            self.phdr_addr = base.wrapping_add(self.phdr_addr.wrapping_sub(self.base));
        }
        self.base = base;
        self.map_start = base.wrapping_add(sys_page_down(span.lo as usize));
        self.map_end = base.wrapping_add(super::sys::page_up(span.hi as usize));
        self.owned = false;
        self.view = false;
        self.image = Image::mapped(base, &self.phdrs);
        self.tls = None;
        self.relro = None;
        self.described = None;
        let d = core::mem::take(&mut self.d);
        self.read_headers(Some(d))
    }

    /// Unmaps an object shimld mapped. Its tables must not be used until it
    /// is rebased.
    ///
    /// # Safety
    /// Nothing may use the object's memory afterwards.
    pub unsafe fn unmap(&mut self) {
        if self.owned {
            let _ = super::sys::munmap(self.map_start, self.map_end - self.map_start);
            if !self.view {
                map::unmapped(self.map_end - self.map_start);
            }
            self.owned = false;
        }
        self.syms = SymTab::empty(&[]);
        self.image = Image::mapped(0, &[]);
    }

    /// Maps an opened file. The object takes the file's program headers
    /// (a copy would be a heap block more; the caller has no more use for
    /// them).
    pub fn map(kind: Kind, path: Vec<u8>, f: &mut ElfFile) -> Result<Box<Object>, MapError> {
        let m: Mapping = map::map_segments(f)?;
        let phdr_addr = map::phdr_vaddr(&f.ehdr, &f.phdrs).map_or(0, |v| m.base.wrapping_add(v as usize));
        let phdrs = core::mem::take(&mut f.phdrs);
        // SAFETY: map_segments mapped every PT_LOAD at base + p_vaddr, and
        // the mapping stays until the object is unloaded.
        let mut o =
            unsafe { Object::from_mapped(kind, path, m.base, f.ehdr, phdrs, phdr_addr) }.map_err(MapError::Bad)?;
        o.owned = true;
        o.stamp = Some(f.stamp);
        o.map_start = m.start;
        o.map_end = m.end;
        Ok(o)
    }

    fn read_headers(&mut self, known: Option<DynInfo>) -> Result<(), &'static str> {
        self.read_phdrs()?;
        if let Some(dynamic) = self.dynamic {
            self.d = match known {
                Some(d) => d,
                None => DynInfo::parse(&self.image, &dynamic).map_err(|e| e.message())?,
            };
            let strtab = self.d.strtab(&self.image).map_err(|e| e.message())?;
            self.syms = SymTab::new(&self.image, &self.d, strtab).map_err(|e| e.message())?;
            self.check_dynamic()?;
        } else if self.kind == Kind::Lib {
            return Err("object file has no dynamic section");
        }
        Ok(())
    }

    /// What the program headers say. (A described object has no image to
    /// check them against yet: `rebase` does, once ld.so mapped it.)
    fn read_phdrs(&mut self) -> Result<(), &'static str> {
        let checked = self.described.is_none();
        for p in &self.phdrs {
            match p.p_type {
                elf::PT_DYNAMIC => self.dynamic = Some(*p),
                elf::PT_TLS if p.p_memsz > 0 => {
                    let align = p.p_align.max(1);
                    if !align.is_power_of_two() {
                        return Err("TLS segment alignment is not a power of two");
                    }
                    if align > MAX_TLS_ALIGN {
                        return Err("TLS segment alignment is too large");
                    }
                    if p.p_filesz > p.p_memsz || p.p_memsz > (1 << 30) {
                        return Err("TLS segment has a bad size");
                    }
                    if checked && p.p_filesz > 0 && !self.image.contains(p.p_vaddr, p.p_filesz) {
                        return Err("TLS initialization image lies outside the loaded segments");
                    }
                    self.tls = Some(Tls {
                        image: self.base.wrapping_add(p.p_vaddr as usize),
                        filesz: p.p_filesz as usize,
                        memsz: p.p_memsz as usize,
                        align: align as usize,
                        firstbyte: (p.p_vaddr & (align - 1)) as usize,
                        modid: 0,
                        offset: 0,
                        block_off: 0,
                    });
                }
                elf::PT_GNU_RELRO if p.p_memsz > 0 => {
                    if checked && !self.image.contains(p.p_vaddr, p.p_memsz) {
                        return Err("PT_GNU_RELRO lies outside the loaded segments");
                    }
                    let start = super::sys::page_down(self.base.wrapping_add(p.p_vaddr as usize));
                    let end = super::sys::page_down(self.base.wrapping_add((p.p_vaddr + p.p_memsz) as usize));
                    if end > start {
                        self.relro = Some((start, end - start));
                    }
                }
                elf::PT_GNU_STACK => self.exec_stack = p.p_flags & elf::PF_X != 0,
                elf::PT_INTERP if checked => {
                    let b =
                        self.image.bytes(p.p_vaddr, p.p_filesz).ok_or("PT_INTERP lies outside the loaded segments")?;
                    let s = b.split(|&c| c == 0).next().unwrap_or(b);
                    self.interp = Some(s.to_vec());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// What the dynamic section names must be there: its strings in the
    /// string table, its function tables inside the loaded segments.
    fn check_dynamic(&self) -> Result<(), &'static str> {
        let d = &self.d;
        let names = d.needed.iter().copied().chain(d.soname).chain(d.rpath).chain(d.runpath);
        for off in names {
            if self.string(off).is_none() {
                return Err("dynamic section names a string outside the string table");
            }
        }
        for t in [d.init_array, d.fini_array, d.preinit_array] {
            if t.size != 0 && (t.size % 8 != 0 || self.image.table::<usize>(t.addr, t.size / 8).is_none()) {
                return Err("init or fini array lies outside the loaded segments");
            }
        }
        Ok(())
    }

    /// A string of the dynamic string table.
    pub fn string(&self, off: u32) -> Option<&'static [u8]> {
        dynamic::string(self.syms.strtab, off)
    }

    /// What the closure needs to know.
    pub fn meta(&self) -> Meta {
        if let Some(d) = &self.described {
            return d.meta.clone();
        }
        let s = |o: Option<u32>| o.and_then(|o| self.string(o)).map(|b| b.to_vec());
        Meta {
            needed: self.d.needed.iter().filter_map(|&o| self.string(o)).map(|b| b.to_vec()).collect(),
            soname: s(self.d.soname),
            rpath: if self.d.runpath.is_some() { None } else { s(self.d.rpath) },
            runpath: s(self.d.runpath),
            nodeflib: self.d.flags_1 & elf::DF_1_NODEFLIB != 0,
        }
    }

    /// Its symbolic relocations (PLT entries included) and its leading
    /// RELATIVE ones, as the resolution cache weighs them.
    pub fn reloc_weight(&self) -> (usize, usize) {
        let rela = self.d.rela.size as usize / 24;
        let lead = (self.d.relacount as usize).min(rela);
        (rela - lead + self.d.jmprel.size as usize / 24, lead)
    }

    /// Its GNU build-id, if it has one.
    pub fn build_id(&self) -> Option<&[u8]> {
        if let Some(d) = &self.described {
            return d.build_id.as_deref();
        }
        self.phdrs
            .iter()
            .filter(|p| p.p_type == elf::PT_NOTE)
            .find_map(|p| self.image.bytes(p.p_vaddr, p.p_filesz).and_then(elf::build_id))
    }

    /// Whether `vaddr` lies in one of the object's PT_LOAD segments (in
    /// memory, .bss included).
    pub fn in_segments(&self, vaddr: u64) -> bool {
        self.phdrs.iter().any(|p| p.p_type == elf::PT_LOAD && vaddr >= p.p_vaddr && vaddr - p.p_vaddr < p.p_memsz)
    }

    /// The address `vaddr` of this object maps to.
    pub fn addr(&self, vaddr: u64) -> usize {
        self.base.wrapping_add(vaddr as usize)
    }

    /// Whether `addr` lies in one of this object's executable segments.
    pub fn is_code(&self, addr: usize) -> bool {
        self.phdrs.iter().any(|p| {
            p.p_type == elf::PT_LOAD && p.p_flags & elf::PF_X != 0 && {
                let start = self.addr(p.p_vaddr);
                addr >= start && addr < start.wrapping_add(p.p_memsz as usize)
            }
        })
    }

    /// The soname, or else the last path component.
    pub fn short_name(&self) -> &[u8] {
        if let Some(s) = self.described.as_ref().and_then(|d| d.meta.soname.as_deref()) {
            return s;
        }
        if let Some(s) = self.d.soname.and_then(|o| self.string(o)) {
            return s;
        }
        self.path.rsplit(|&c| c == b'/').next().unwrap_or(&self.path)
    }
}

fn sys_page_down(x: usize) -> usize {
    super::sys::page_down(x)
}
