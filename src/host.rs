//! The file side of the closure search for shimctl: files are read (memory
//! mapped), never run. The parsing is the loader's own (`shimld::elf`,
//! `shimld::dynamic`, `shimld::closure`), so the two cannot disagree.

use memmap2::Mmap;
use shimld::closure::{FileId, Host, Meta, OpenError, Trace};
use shimld::dynamic::{self, DynInfo};
use shimld::elf::{self, Phdr};
use shimld::image::Image;
use std::fs::File;
use std::os::unix::fs::MetadataExt;

/// A mapped ELF file with its headers.
pub struct ElfMap {
    pub map: Mmap,
    pub phdrs: Vec<Phdr>,
}

impl ElfMap {
    /// Maps `path` and checks its ELF and program headers.
    pub fn open(path: &[u8]) -> Result<(ElfMap, FileId), OpenError> {
        use std::os::unix::ffi::OsStrExt;
        let p = std::ffi::OsStr::from_bytes(path);
        let file = File::open(p).map_err(|e| OpenError::NotFound(e.raw_os_error().unwrap_or(2)))?;
        let md = file.metadata().map_err(|e| OpenError::NotFound(e.raw_os_error().unwrap_or(5)))?;
        if md.is_dir() {
            return Err(OpenError::NotFound(21));
        }
        // SAFETY: a read-only private mapping; shimctl only reads it, and a
        // file changed underneath only yields different bytes.
        let map = unsafe { Mmap::map(&file) }.map_err(|_| OpenError::Bad("cannot read file data"))?;
        let ehdr = match elf::check_header(&map) {
            Ok(e) => e,
            Err(h) if h.skip_in_search() => return Err(OpenError::Skip(h.message())),
            Err(h) => return Err(OpenError::Bad(h.message())),
        };
        let phdrs = elf::phdrs_at(&ehdr, &map, 0).map_err(|h| OpenError::Bad(h.message()))?;
        Ok((ElfMap { map, phdrs }, FileId { dev: md.dev(), ino: md.ino() }))
    }

    pub fn image(&self) -> Image<'_> {
        Image::from_file(&self.map, &self.phdrs)
    }

    pub fn dynamic(&self) -> Option<Result<DynInfo, &'static str>> {
        let d = self.phdrs.iter().find(|p| p.p_type == elf::PT_DYNAMIC)?;
        Some(DynInfo::parse(&self.image(), d).map_err(|e| e.message()))
    }

    pub fn interp(&self) -> Option<Vec<u8>> {
        let p = self.phdrs.iter().find(|p| p.p_type == elf::PT_INTERP)?;
        let b = self.map.get(p.p_offset as usize..(p.p_offset + p.p_filesz) as usize)?;
        Some(b.split(|&c| c == 0).next().unwrap_or(b).to_vec())
    }

    /// What the closure needs: DT_NEEDED, SONAME, RPATH, RUNPATH.
    pub fn meta(&self) -> Result<Meta, &'static str> {
        let Some(d) = self.dynamic() else {
            return Ok(Meta::default());
        };
        let d = d?;
        let image = self.image();
        let strtab = d.strtab(&image).map_err(|e| e.message())?;
        let s = |o: Option<u32>| o.and_then(|o| dynamic::string(strtab, o)).map(|b| b.to_vec());
        Ok(Meta {
            needed: d.needed.iter().filter_map(|&o| dynamic::string(strtab, o)).map(|b| b.to_vec()).collect(),
            soname: s(d.soname),
            rpath: if d.runpath.is_some() { None } else { s(d.rpath) },
            runpath: s(d.runpath),
            nodeflib: d.flags_1 & elf::DF_1_NODEFLIB != 0,
        })
    }
}

/// The closure host: maps candidates and parses them, tracing each step
/// through `tracing`.
pub struct FileHost {
    cpu_level: Option<u8>,
}

impl FileHost {
    pub fn new() -> FileHost {
        FileHost { cpu_level: None }
    }
}

impl Host for FileHost {
    type Probe = ElfMap;
    type Handle = ElfMap;

    fn probe(&mut self, path: &[u8]) -> Result<(ElfMap, FileId), OpenError> {
        ElfMap::open(path)
    }

    fn load(&mut self, m: ElfMap, _path: &[u8]) -> Result<(ElfMap, Meta), OpenError> {
        let meta = m.meta().map_err(OpenError::Bad)?;
        Ok((m, meta))
    }

    fn rtld(&mut self) -> Option<ElfMap> {
        None
    }

    fn is_dir(&mut self, path: &[u8]) -> bool {
        use std::os::unix::ffi::OsStrExt;
        std::path::Path::new(std::ffi::OsStr::from_bytes(path)).is_dir()
    }

    fn hwcaps(&mut self) -> Vec<&'static [u8]> {
        let level = *self.cpu_level.get_or_insert_with(shimld::cpu::level);
        shimld::search::CpuFeatures { level }.hwcaps()
    }

    fn trace(&mut self, t: Trace) {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match t {
            Trace::Find { name, requester } => {
                tracing::debug!("find {} needed by {}", s(name), s(requester))
            }
            Trace::SearchPath { dirs, source, owner } => {
                let dirs: Vec<String> = dirs.iter().map(|d| s(d)).collect();
                tracing::debug!("search {} ({} {})", dirs.join(":"), source.label(), s(owner))
            }
            Trace::SearchCache => tracing::debug!("search ld.so.cache"),
            Trace::Trying { path } => tracing::trace!("trying {}", s(path)),
        }
    }
}
