//! Mapping ELF files into memory, as the kernel and ld.so do.
//!
//! The checks follow ld.so's `_dl_map_segments`, plus the ones it lacks:
//! every PT_LOAD must lie inside the file, in ascending non-overlapping
//! order, with `p_filesz <= p_memsz`, so a damaged header ends in a message
//! rather than a SIGBUS.

use super::out::cat;
use super::sys::{self, page_down, page_up, Errno, PAGE};
use crate::debug;
use alloc::vec::Vec;
use shimld::elf::{self, Ehdr, Phdr, PhdrList, PF_R, PF_W, PF_X, PT_LOAD};

/// The most bytes one object may map (a bound against hostile memsz).
pub const MAX_MAP: u64 = 1 << 36;
/// The most bytes all the objects shimld maps may span together.
pub const MAX_TOTAL_MAP: usize = 1 << 38;

/// What the objects shimld mapped span now (see `map_segments`, `unmapped`).
static MAPPED: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Accounts for `len` bytes of an object being unmapped.
pub fn unmapped(len: usize) {
    MAPPED
        .fetch_sub(len.min(MAPPED.load(core::sync::atomic::Ordering::Relaxed)), core::sync::atomic::Ordering::Relaxed);
}

/// An open ELF file whose headers have been read and checked.
pub struct ElfFile {
    pub fd: i32,
    pub ehdr: Ehdr,
    pub phdrs: PhdrList,
    pub size: u64,
    pub dev: u64,
    pub ino: u64,
    /// What identifies this version of the file (see rt::bindcache).
    pub stamp: Stamp,
    /// Its mode bits (set-user-ID and set-group-ID matter).
    pub mode: u32,
    /// Where the notes lie within the first bytes read: the build-id found
    /// there (length 0: none there, or notes elsewhere; see `note_id`).
    pub head_id: ([u8; 64], u8),
    /// Whether every PT_NOTE lay within those bytes.
    pub notes_in_head: bool,
}

impl ElfFile {
    /// The build-id, if the notes were within the first bytes read (the
    /// outer None: they were not, read them).
    pub fn note_id(&self) -> Option<Option<&[u8]>> {
        self.notes_in_head.then(|| (self.head_id.1 > 0).then(|| &self.head_id.0[..self.head_id.1 as usize]))
    }
}

/// A file's identity and version: device, inode, size, and the
/// modification and change times (ctime cannot be set back by a user, so
/// a file rewritten in place with its old mtime still differs).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: [u64; 2],
    pub ctime: [u64; 2],
}

impl Stamp {
    pub fn of(st: &sys::Stat) -> Stamp {
        Stamp { dev: st.st_dev, ino: st.st_ino, size: st.st_size as u64, mtime: st.st_mtime, ctime: st.st_ctime }
    }

    /// Its fields in one order, as the cache files keep them.
    pub fn words(&self) -> [u64; 7] {
        [self.dev, self.ino, self.size, self.mtime[0], self.mtime[1], self.ctime[0], self.ctime[1]]
    }
}

impl Drop for ElfFile {
    fn drop(&mut self) {
        if self.fd >= 0 {
            sys::close(self.fd);
        }
    }
}

/// Why a file cannot be opened or mapped.
#[derive(Clone, Copy, Debug)]
pub enum MapError {
    Open(Errno),
    /// The file opened but cannot be read (a directory).
    Read(Errno),
    Header(elf::HeaderError),
    Bad(&'static str),
    Mmap(&'static str, Errno),
}

impl MapError {
    pub fn message(&self) -> &'static str {
        match self {
            MapError::Open(_) => "cannot open shared object file",
            MapError::Read(_) => "cannot read file data",
            MapError::Header(h) => h.message(),
            MapError::Bad(s) => s,
            MapError::Mmap(s, _) => s,
        }
    }
}

fn prot_of(flags: u32) -> usize {
    let mut p = 0;
    if flags & PF_R != 0 {
        p |= sys::PROT_READ;
    }
    if flags & PF_W != 0 {
        p |= sys::PROT_WRITE;
    }
    if flags & PF_X != 0 {
        p |= sys::PROT_EXEC;
    }
    p
}

/// Opens `path` and reads and checks its ELF and program headers.
pub fn open_elf(path: &[u8]) -> Result<ElfFile, MapError> {
    let fd = super::root::open(path, sys::O_RDONLY).map_err(MapError::Open)?;
    elf_file(fd)
}

/// How much of a file's start `elf_file` reads for its headers.
pub const HEAD_READ: usize = 1024;

/// As `open_elf`, for a file already open (the ElfFile owns `fd`).
pub fn elf_file(fd: i32) -> Result<ElfFile, MapError> {
    elf_file_read(fd, None)
}

/// As `elf_file`, for a file whose first bytes (up to HEAD_READ, fewer
/// only at its end) `head` holds already.
pub fn elf_file_read(fd: i32, head: Option<&[u8]>) -> Result<ElfFile, MapError> {
    let mut f = ElfFile {
        fd,
        ehdr: Ehdr::default(),
        phdrs: PhdrList::new(),
        size: 0,
        dev: 0,
        ino: 0,
        stamp: Stamp::default(),
        mode: 0,
        head_id: ([0; 64], 0),
        notes_in_head: false,
    };
    let st = sys::fstat(fd).map_err(MapError::Open)?;
    if st.st_mode & sys::S_IFMT == sys::S_IFDIR {
        return Err(MapError::Read(Errno(21)));
    }
    f.size = st.st_size as u64;
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    f.stamp = Stamp::of(&st);
    f.mode = st.st_mode;
    // One read covers the headers of almost every object.
    let mut buf = [0u8; HEAD_READ];
    let head = match head {
        Some(h) => h,
        None => {
            let n = sys::pread_full(fd, &mut buf, 0).map_err(|_| MapError::Bad("cannot read file data"))?;
            &buf[..n]
        }
    };
    let n = head.len();
    if n < elf::EHDR_SIZE {
        // As ld.so: anything shorter than an ELF header is "file too short".
        return Err(MapError::Header(elf::HeaderError::TooShort));
    }
    f.ehdr = elf::check_header(&head[..n]).map_err(MapError::Header)?;
    let (start, end) = elf::phdr_range(&f.ehdr).map_err(MapError::Header)?;
    if end as u64 > f.size {
        return Err(MapError::Header(elf::HeaderError::PhdrsOutOfFile));
    }
    f.phdrs = if end <= n {
        elf::phdrs_at(&f.ehdr, &head[..n], 0).map_err(MapError::Header)?
    } else {
        let mut buf = alloc::vec![0u8; end - start];
        let got = sys::pread_full(fd, &mut buf, start as u64).map_err(|_| MapError::Bad("cannot read file data"))?;
        if got != buf.len() {
            return Err(MapError::Bad("cannot read file data"));
        }
        elf::phdrs_at(&f.ehdr, &buf, start).map_err(MapError::Header)?
    };
    // The build-id, as the first note segment holding one gives it.
    f.notes_in_head = true;
    for p in f.phdrs.iter().filter(|p| p.p_type == elf::PT_NOTE) {
        let range = (p.p_offset as usize).checked_add(p.p_filesz as usize).map(|end| p.p_offset as usize..end);
        let Some(notes) = range.and_then(|r| head.get(r)) else {
            f.notes_in_head = false;
            break;
        };
        if let Some(id) = elf::build_id(notes) {
            // (A longer one than any linker writes: read as for notes
            // elsewhere, the same way the cache's key reads it.)
            if id.len() > 64 {
                f.notes_in_head = false;
            } else {
                f.head_id.0[..id.len()].copy_from_slice(id);
                f.head_id.1 = id.len() as u8;
            }
            break;
        }
    }
    Ok(f)
}

/// The canonical path of an open file.
pub fn fd_path(fd: i32) -> Option<Vec<u8>> {
    use core::fmt::Write;
    let mut link = alloc::string::String::new();
    let _ = write!(link, "/proc/self/fd/{fd}");
    let mut buf = alloc::vec![0u8; 4096];
    let n = sys::readlink(link.as_bytes(), &mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// The most symbolic links `real_path` follows.
const MAX_LINKS: usize = 40;

/// The canonical path of `path` (relative to `cwd` unless absolute): every
/// symbolic link resolved, `.` and `..` removed, as /proc/self/exe would
/// show it. One readlink per component: cheaper than reading the path of
/// an open file back from /proc, whose first use in a process is slow.
pub fn real_path(path: &[u8], cwd: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut pending: Vec<u8> = if path.starts_with(b"/") {
        path.to_vec()
    } else {
        let mut p = cwd?.to_vec();
        p.push(b'/');
        p.extend_from_slice(path);
        p
    };
    let mut out: Vec<u8> = Vec::new();
    let mut links = 0;
    let mut at = 0;
    let mut buf = [0u8; 4096];
    while at < pending.len() {
        let end = pending[at..].iter().position(|&c| c == b'/').map_or(pending.len(), |i| at + i);
        let comp = &pending[at..end];
        let next = end + 1;
        match comp {
            b"" | b"." => {}
            b".." => {
                let cut = out.iter().rposition(|&c| c == b'/').unwrap_or(0);
                out.truncate(cut);
            }
            _ => {
                let mut cand = out.clone();
                cand.push(b'/');
                cand.extend_from_slice(comp);
                match sys::readlink(&cand, &mut buf) {
                    Ok(n) => {
                        links += 1;
                        if links > MAX_LINKS || n >= buf.len() {
                            return None;
                        }
                        // The link's target, then what followed it.
                        let mut p = buf[..n].to_vec();
                        if next < pending.len() {
                            p.push(b'/');
                            p.extend_from_slice(&pending[next..]);
                        }
                        if p.starts_with(b"/") {
                            out.clear();
                        }
                        pending = p;
                        at = 0;
                        continue;
                    }
                    Err(sys::Errno(sys::EINVAL)) => out = cand,
                    Err(_) => return None,
                }
            }
        }
        at = next;
    }
    if out.is_empty() {
        out.push(b'/');
    }
    Some(out)
}

/// The address span of an object's PT_LOAD segments.
pub struct Span {
    pub lo: u64,
    pub hi: u64,
    pub max_align: u64,
}

/// Checks the PT_LOAD headers against each other and the file size.
pub fn check_loads(phdrs: &[Phdr], file_size: Option<u64>) -> Result<Span, MapError> {
    let mut span: Option<Span> = None;
    let mut prev_end = 0u64;
    for p in phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
        if p.p_align > 1 && (p.p_align & (PAGE as u64 - 1)) != 0 {
            return Err(MapError::Bad("ELF load command alignment not page-aligned"));
        }
        if p.p_align > 1 && !p.p_align.is_power_of_two() {
            return Err(MapError::Bad("ELF load command alignment not a power of two"));
        }
        if (p.p_vaddr.wrapping_sub(p.p_offset)) & (PAGE as u64 - 1) != 0 {
            return Err(MapError::Bad("ELF load command address/offset not page-aligned"));
        }
        if p.p_filesz > p.p_memsz {
            return Err(MapError::Bad("ELF load command file size exceeds memory size"));
        }
        let end = p.p_vaddr.checked_add(p.p_memsz).ok_or(MapError::Bad("ELF load command address out of range"))?;
        if end > (1u64 << 47) {
            return Err(MapError::Bad("ELF load command address out of range"));
        }
        if let Some(size) = file_size {
            if p.p_offset.checked_add(p.p_filesz).is_none_or(|e| e > size) {
                return Err(MapError::Bad("ELF load command past end of file"));
            }
        }
        if span.is_some() && page_down(p.p_vaddr as usize) < page_up(prev_end as usize) && p.p_vaddr < prev_end {
            return Err(MapError::Bad("ELF load commands overlap or are out of order"));
        }
        prev_end = end;
        match &mut span {
            None => span = Some(Span { lo: p.p_vaddr, hi: end, max_align: p.p_align.max(1) }),
            Some(s) => {
                s.hi = s.hi.max(end);
                s.max_align = s.max_align.max(p.p_align);
            }
        }
    }
    let s = span.ok_or(MapError::Bad("object has no loadable segments"))?;
    if s.hi - s.lo > MAX_MAP {
        return Err(MapError::Bad("object is too large to map (over 64 GiB)"));
    }
    Ok(s)
}

/// A mapped object: the load bias and the mapped address range.
#[derive(Clone, Copy, Debug)]
pub struct Mapping {
    pub base: usize,
    pub start: usize,
    pub end: usize,
}

/// The transparent huge page size (x86-64).
const HUGE: usize = 2 << 20;
/// A writable segment is read into huge pages (see `data_copy`) by whole
/// huge pages, and a last partial one when it would hold at least this much
/// of the segment.
const DATA_COPY_PARTIAL: u64 = 1 << 20;

/// Whole huge pages of a writable segment read into anonymous memory
/// (see `data_copy`).
#[derive(Clone, Copy)]
struct DataCopy {
    /// Link-time address of the first page (put on a huge page boundary).
    start: u64,
    /// Bytes from `start` that hold file data, read from file offset `off`.
    file_len: u64,
    off: u64,
    /// Length of the anonymous range: whole huge pages.
    len: u64,
    /// End of the segment's memory (its zero-fill included), page-rounded,
    /// when the huge pages reach past it: the rest is no object's and loses
    /// all access.
    mem_end: u64,
    /// The protection of the segment.
    prot: usize,
}

/// The huge pages of a large writable segment, if the object has one.
///
/// Relocation writes to nearly every page of RELRO and of a large data
/// section full of pointers (a C++ library's vtables, CPython's type
/// objects), and the first write to each page of a private file mapping is
/// a copy-on-write fault: about 1.5-2.5 us a page on this kind of machine,
/// 0.6 ms for the 366 pages of libpython's. Reading the bytes into
/// anonymous memory advised for transparent huge pages costs less: one
/// fault per 2 MiB and a copy of the file's bytes (~0.1 ms each for
/// libpython). But allocating and zeroing a huge page costs as much as a
/// few hundred small faults (from 384 KiB, libcrypto's and libnode's
/// segments measured slower than their faults), and without a huge page
/// reading is no faster than the faults: hence whole huge pages, and a
/// last partial one only when it would hold DATA_COPY_PARTIAL bytes of the
/// segment; what lies past a partial huge page stays mapped from the file.
/// The segment's zero-fill comes with the anonymous memory.
fn data_copy(phdrs: &[Phdr]) -> Option<DataCopy> {
    let page = PAGE as u64;
    let loads = || phdrs.iter().filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0);
    let seg = loads().find(|p| p.p_flags & elf::PF_W != 0 && p.p_filesz > 0)?;
    let mut start = seg.p_vaddr & !(page - 1);
    // A first page shared with another segment stays mapped from the file.
    let others = || loads().filter(|p| !core::ptr::eq(*p, seg));
    if others().any(|p| p.p_vaddr < start.saturating_add(page) && p.p_vaddr.saturating_add(p.p_memsz) > start) {
        start += page;
    }
    let file_end = seg.p_vaddr.checked_add(seg.p_filesz)?;
    let mem_end = seg.p_vaddr.checked_add(seg.p_memsz)?.checked_add(page - 1)? & !(page - 1);
    let size = mem_end.checked_sub(start)?;
    let huge = HUGE as u64;
    let mut len = size / huge * huge;
    if size % huge >= DATA_COPY_PARTIAL {
        len += huge;
    }
    // Past the segment, only address space no segment uses.
    if len > size
        && others().any(|p| p.p_vaddr.saturating_add(p.p_memsz) > mem_end && p.p_vaddr < start.saturating_add(len))
    {
        len = size / huge * huge;
    }
    if len == 0 || file_end <= start {
        return None;
    }
    // The segment maps file offsets congruent to addresses (check_loads),
    // so the first page starts at a whole page of the file.
    let off = if start >= seg.p_vaddr {
        seg.p_offset.checked_add(start - seg.p_vaddr)?
    } else {
        seg.p_offset.checked_sub(seg.p_vaddr - start)?
    };
    Some(DataCopy { start, file_len: (file_end - start).min(len), off, len, mem_end, prot: prot_of(seg.p_flags) })
}

/// Maps the PT_LOAD segments of `f`. ET_EXEC objects go to their link-time
/// addresses (which must be free); ET_DYN objects wherever the kernel puts
/// them, aligned to their largest segment alignment (and a large writable
/// segment on a huge page boundary, read rather than mapped: see
/// `data_copy`).
pub fn map_segments(f: &ElfFile) -> Result<Mapping, MapError> {
    let span = check_loads(&f.phdrs, Some(f.size))?;
    let lo = page_down(span.lo as usize);
    let hi = page_up(span.hi as usize);
    let len = hi - lo;
    if MAPPED.load(core::sync::atomic::Ordering::Relaxed) + len > MAX_TOTAL_MAP {
        return Err(MapError::Bad("the loaded objects would span more than 256 GiB"));
    }
    let fixed = f.ehdr.e_type == elf::ET_EXEC;
    let align = (span.max_align as usize).max(PAGE);
    // A large writable segment starts on a huge page boundary where the
    // segments' alignment allows it.
    let copy = data_copy(&f.phdrs)
        .filter(|c| !fixed && align <= HUGE && (c.start as usize).wrapping_sub(lo).is_multiple_of(align));
    let huge_at = copy.map(|c| c.start as usize);
    let extra = if huge_at.is_some() { HUGE } else { 0 };
    // The huge pages may reach past the object's last page.
    let tail = copy.map_or(0, |c| ((c.start + c.len) as usize).saturating_sub(hi));
    // Where no alignment beyond the page's is asked for, the first segment's
    // own mapping, stretched over the whole span, is the reservation (one
    // system call fewer per object, as glibc maps); the other segments
    // replace the rest of it, and holes between segments lose all access.
    let first = f.phdrs.iter().find(|p| p.p_type == PT_LOAD && p.p_memsz > 0).copied();
    let first_maps = first
        .filter(|p| !fixed && align == PAGE && extra == 0 && p.p_filesz > 0 && page_down(p.p_vaddr as usize) == lo);
    // Reserve the whole span first, so the segments land together and the
    // holes between them stay inaccessible.
    // SAFETY: an anonymous PROT_NONE reservation: at a fixed address only
    // with MAP_FIXED_NOREPLACE, which never replaces an existing mapping.
    // Or a fresh private mapping of the file, at an address of the kernel's
    // choosing.
    let reserve = unsafe {
        if let Some(p) = first_maps {
            let off = page_down(p.p_offset as usize);
            sys::mmap(0, len, prot_of(p.p_flags), sys::MAP_PRIVATE, f.fd, off as u64)
        } else if fixed {
            sys::mmap(
                lo,
                len,
                sys::PROT_NONE,
                sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_FIXED_NOREPLACE | sys::MAP_NORESERVE,
                -1,
                0,
            )
        } else {
            sys::mmap(
                0,
                len + tail + align - PAGE + extra,
                sys::PROT_NONE,
                sys::MAP_PRIVATE | sys::MAP_ANONYMOUS | sys::MAP_NORESERVE,
                -1,
                0,
            )
        }
    };
    let start = match reserve {
        Ok(a) if fixed && a != lo => {
            // SAFETY: an old kernel without MAP_FIXED_NOREPLACE put our own
            // fresh reservation elsewhere; undo it.
            let _ = unsafe { sys::munmap(a, len) };
            return Err(MapError::Bad("cannot map segment at its fixed address"));
        }
        Ok(a) if fixed => a,
        Ok(a) => {
            let aligned = match huge_at {
                // base + t on a huge page boundary: start = a + the distance
                // to the next address congruent to lo - t (a multiple of
                // align, as lo - t is).
                Some(t) => a + (lo.wrapping_sub(t).wrapping_sub(a) % HUGE),
                None => (a + align - 1) & !(align - 1),
            };
            // SAFETY: trimming our own fresh reservation to the aligned span.
            unsafe {
                if aligned > a {
                    let _ = sys::munmap(a, aligned - a);
                }
                let end = a + len + tail + align - PAGE + extra;
                if end > aligned + len + tail {
                    let _ = sys::munmap(aligned + len + tail, end - (aligned + len + tail));
                }
            }
            aligned
        }
        Err(e) if fixed => return Err(MapError::Mmap("cannot map segment at its fixed address", e)),
        Err(e) => return Err(MapError::Mmap("failed to map segment from shared object", e)),
    };
    let base = start.wrapping_sub(lo);
    let m = Mapping { base, start, end: start + len + tail };
    let result = map_each(f, base, first_maps.as_ref()).and_then(|_| match copy {
        Some(c) => copy_data(f, base, c),
        None => Ok(()),
    });
    if let Err(e) = result {
        // SAFETY: the reservation and everything mapped into it is ours.
        let _ = unsafe { sys::munmap(m.start, len + tail) };
        return Err(e);
    }
    MAPPED.fetch_add(len + tail, core::sync::atomic::Ordering::Relaxed);
    Ok(m)
}

/// Replaces the mapping of a large writable segment's pages (see
/// `data_copy`) with huge-page anonymous memory holding the same bytes,
/// read from the file.
fn copy_data(f: &ElfFile, base: usize, c: DataCopy) -> Result<(), MapError> {
    let at = base.wrapping_add(c.start as usize);
    let (len, file_len) = (c.len as usize, c.file_len as usize);
    // SAFETY: the range lies inside this object's reservation (its
    // segments, just mapped, which nothing uses yet, and the reserved
    // address space past them).
    unsafe {
        sys::mmap(
            at,
            len,
            sys::PROT_READ | sys::PROT_WRITE,
            sys::MAP_PRIVATE | sys::MAP_FIXED | sys::MAP_ANONYMOUS,
            -1,
            0,
        )
    }
    .map_err(|e| MapError::Mmap("failed to map segment from shared object", e))?;
    let _ = sys::madvise(at, len, sys::MADV_HUGEPAGE);
    // Each huge page is faulted in while the mapping still covers it whole
    // (a zero store to zeroed memory), before the read fills it and before
    // any protection change splits the mapping.
    for h in (at..at + len).step_by(HUGE) {
        // SAFETY: inside the fresh read-write mapping above.
        unsafe { core::ptr::write_volatile(h as *mut u8, 0) };
    }
    // SAFETY: the anonymous mapping just made spans [at, at + len).
    let buf = unsafe { core::slice::from_raw_parts_mut(at as *mut u8, file_len) };
    match sys::pread_full(f.fd, buf, c.off) {
        Ok(n) if n == file_len => {}
        Ok(_) => return Err(MapError::Bad("file too short")),
        Err(e) => return Err(MapError::Mmap("cannot read segment from shared object", e)),
    }
    let mem_end = base.wrapping_add(c.mem_end as usize).min(at + len);
    if mem_end < at + len {
        // SAFETY: the part of the fresh mapping past the segment, which
        // belongs to no segment.
        unsafe { sys::mprotect(mem_end, at + len - mem_end, sys::PROT_NONE) }
            .map_err(|e| MapError::Mmap("cannot set segment protection", e))?;
    }
    if c.prot != sys::PROT_READ | sys::PROT_WRITE {
        // SAFETY: as above; the segment's own protection.
        unsafe { sys::mprotect(at, mem_end - at, c.prot) }
            .map_err(|e| MapError::Mmap("cannot set segment protection", e))?;
    }
    sys::name_anon(at, mem_end - at, b"shimld data\0");
    debug!(
        cat::FILES,
        "writable data of {} bytes at 0x{:x} read into anonymous memory ({} huge pages)",
        file_len,
        at,
        len / HUGE
    );
    Ok(())
}

/// Maps each segment into the reservation; `first`, when the first
/// segment's own mapping is the reservation (see `map_segments`).
fn map_each(f: &ElfFile, base: usize, first: Option<&Phdr>) -> Result<(), MapError> {
    // The end of what earlier segments mapped, to spot a partial first page
    // that a zero-fill-only segment shares with its predecessor.
    let mut mapped_end = 0usize;
    // Where the first segment's mapping is the reservation, it maps the
    // file at one distance between address and offset over the whole span.
    let delta = |p: &Phdr| p.p_vaddr.wrapping_sub(p.p_offset);
    let first_delta = first.map(delta);
    let first_prot = first.map_or(0, |p| prot_of(p.p_flags));
    for (k, p) in f.phdrs.iter().filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0).enumerate() {
        let prot = prot_of(p.p_flags);
        let vaddr = base.wrapping_add(p.p_vaddr as usize);
        let file_end = vaddr + p.p_filesz as usize;
        let mem_end = vaddr + p.p_memsz as usize;
        // Zero-filled memory after the file data: the rest of the last file
        // page is cleared in place, whole pages come from anonymous memory.
        let (mut zero_from, mut anon_from) = (file_end, page_up(file_end));
        // A hole before this segment (in a reservation that maps the first
        // segment over the whole span) keeps no access.
        if first.is_some() && k > 0 && page_down(vaddr) > mapped_end {
            // SAFETY: the hole lies inside this object's own mapping.
            unsafe { sys::mprotect(mapped_end, page_down(vaddr) - mapped_end, sys::PROT_NONE) }
                .map_err(|e| MapError::Mmap("failed to map segment from shared object", e))?;
        }
        if p.p_filesz > 0 && first_delta == Some(delta(p)) {
            // The reservation maps it already: the first segment, and a
            // later one at the same distance (ld.so's own, and a program's
            // or library's code and read-only data), for which a change of
            // protection is all it takes and costs less than a mapping
            // over it; none for one with the first's protection and no
            // page of an earlier segment.
            let seg_start = page_down(vaddr);
            if first_prot != prot || seg_start < mapped_end {
                // SAFETY: the range lies inside the reservation made for
                // this object, which maps these file pages already.
                unsafe { sys::mprotect(seg_start, page_up(file_end) - seg_start, prot) }
                    .map_err(|e| MapError::Mmap("failed to map segment from shared object", e))?;
            }
        } else if p.p_filesz > 0 {
            let seg_start = page_down(vaddr);
            let off = page_down(p.p_offset as usize) as u64;
            // SAFETY: the range lies inside the reservation made for this
            // object, which nothing else uses.
            unsafe {
                sys::mmap(seg_start, page_up(file_end) - seg_start, prot, sys::MAP_PRIVATE | sys::MAP_FIXED, f.fd, off)
            }
            .map_err(|e| MapError::Mmap("failed to map segment from shared object", e))?;
        } else if page_down(vaddr) >= mapped_end {
            zero_from = vaddr;
            anon_from = page_down(vaddr);
        }
        if mem_end > file_end {
            // Clear to the end of the page, as the kernel and ld.so do: ld.so's
            // early allocator takes memory after its bss on that page as zero.
            let zero_to = anon_from;
            if zero_to > zero_from {
                let writable = prot & sys::PROT_WRITE != 0;
                let page = page_down(zero_from);
                // SAFETY: the page belongs to this object and is mapped (by
                // this segment or the one before); it is made writable for
                // the moment if it is not.
                unsafe {
                    if !writable {
                        sys::mprotect(page, PAGE, prot | sys::PROT_WRITE)
                            .map_err(|e| MapError::Mmap("cannot map zero-fill pages", e))?;
                    }
                    core::ptr::write_bytes(zero_from as *mut u8, 0, zero_to - zero_from);
                    if !writable {
                        sys::mprotect(page, PAGE, prot).map_err(|e| MapError::Mmap("cannot map zero-fill pages", e))?;
                    }
                }
            }
            let anon_end = page_up(mem_end);
            if anon_end > anon_from {
                // SAFETY: inside this object's reservation.
                unsafe {
                    sys::mmap(
                        anon_from,
                        anon_end - anon_from,
                        prot,
                        sys::MAP_PRIVATE | sys::MAP_FIXED | sys::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                }
                .map_err(|e| MapError::Mmap("cannot map zero-fill pages", e))?;
            }
        }
        mapped_end = page_up(mem_end);
    }
    Ok(())
}

/// Where the program headers of a mapped object are, if a segment holds
/// them.
pub fn phdr_vaddr(ehdr: &Ehdr, phdrs: &[Phdr]) -> Option<u64> {
    if let Some(p) = phdrs.iter().find(|p| p.p_type == elf::PT_PHDR) {
        return Some(p.p_vaddr);
    }
    let len = phdrs.len() as u64 * elf::PHDR_SIZE as u64;
    phdrs
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .find(|p| ehdr.e_phoff >= p.p_offset && ehdr.e_phoff + len <= p.p_offset + p.p_filesz)
        .map(|p| p.p_vaddr + (ehdr.e_phoff - p.p_offset))
}
