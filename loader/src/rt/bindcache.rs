//! The persistent resolution cache: for one closure of objects, the binding
//! of every symbol reference that start-up relocation resolved, as
//! (defining object, symbol index, symbol value), so that the next start of
//! the same closure looks nothing up.
//!
//! Bindings hold no addresses, so the cache is independent of where ASLR
//! puts the objects. An entry is used only for exactly the closure it was
//! made from: its key lists every object in load order with its device,
//! inode, size, modification and change times and GNU build-id, plus what
//! else steers lookups (the replicas in force, LD_DYNAMIC_WEAK, shimld's
//! own build). The file is found by a hash of the key and holds the whole
//! key, compared byte for byte, and a checksum of its contents.
//!
//! Each object's bindings are kept in the order relocation asks for them,
//! each with its reference: a cached start-up reads them front to back
//! (no hashing, no symbol table reads for plain definitions) and checks
//! each reference as it goes; at the first that differs it looks up the
//! rest itself. A binding read from the file is bounds-checked before use.
//!
//! Files live in `$XDG_CACHE_HOME/shimld` (or `~/.cache/shimld`), one per
//! closure, written to a temporary name and renamed into place. `--no-cache`
//! or SHIMLD_NO_CACHE turns the cache off.
//!
//! With the bindings go the object's leading RELATIVE relocations in
//! DT_RELR form (when the locations hold their addends, `*loc += base` is
//! the same relocation), so that a cached start-up reads a few percent of
//! the RELA table those take: most of a large C++ library's relocations.
//!
//! For a glibc program the file also keeps where the handover's scan for
//! interposers found a definition outside the glibc core: which of the
//! core's references it must look up in earnest (see rt::handover). The
//! scan puts a few hundred names to every other object's Bloom filter,
//! memory it otherwise never touches; a cached start-up looks up those
//! few references alone, in the same order, with the same outcome.
//!
//! And it keeps what the handover decided from the core's own tables
//! (`Facts`): which objects are the core, the program's copy relocations
//! that go to the core, and the definitions outside the core that
//! interpose on it. With those a cached start-up reads none of the core's
//! tables before ld.so maps it: the core is only described
//! (`Object::describe`), not viewed, which for libc alone saved its view's
//! mapping, page faults and unmapping. They are kept only from a start-up
//! that printed no version or IFUNC warning, so a cached one repeats none.
//!
//! Layout (little-endian): magic (8 bytes), key length (u32), object count
//! (u32), the key (padded to 8 bytes), per object three u32 counts
//! (bindings, RELR words, RELATIVE relocations those cover; padded to 8
//! bytes), then object by object its bindings (`shimld::bind::Entry`, 16
//! bytes) and RELR words, then the count of the scan's references (u32,
//! then 4 bytes of padding) and each as two u32 (core object, relocation),
//! then the facts: a u32 flag (1: present), and if present three u32
//! counts (objects, copies, interposers), one byte
//! per object (1: core; padded to 8 bytes), each copy's location as u64
//! and each interposer as two u32 (object, symbol index); and a u64
//! checksum of everything before it.

use super::object::{Kind, Object};
use super::out::{cat, B};
use super::sys;
use crate::debug;
use alloc::vec::Vec;
use shimld::bind::Entry;

const MAGIC: &[u8; 8] = b"SHIMLDB\x09";
const ENTRY: usize = core::mem::size_of::<Entry>();
/// The most cache files kept: past this, writing one clears the others
/// (entries of closures that changed are never read again).
const MAX_FILES: usize = 256;
/// The most bindings a cache file may hold (a bound on what is read).
const MAX_BINDINGS: usize = 1 << 24;

/// A 64-bit hash of `data` (not cryptographic: it names files and detects
/// damage), 32 bytes at a time in four independent lanes, so that checking
/// a large cache file costs little next to what the file saves.
pub(crate) fn hash(data: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let word = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    let mut lanes = [K ^ data.len() as u64, K.rotate_left(17), K.rotate_left(31), K.rotate_left(47)];
    let mut blocks = data.chunks_exact(32);
    for b in &mut blocks {
        for (l, lane) in lanes.iter_mut().enumerate() {
            *lane = (*lane ^ word(&b[8 * l..])).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
        }
    }
    let mut h = lanes.iter().fold(K, |h, &l| (h ^ l).wrapping_mul(0x0100_0000_01b3).rotate_left(23));
    for &b in blocks.remainder() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h ^ (h >> 31)
}

fn put_u32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put_u64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn get_u32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// Below these many relocations in the objects shimld relocates, the cache
/// is not used: a closure that small gains nothing from it (a program with
/// one small library, 11 symbolic references: 1.001 [0.994-1.006] cached
/// against uncached), and each such program would add a file to the cache
/// directory. PLT entries count as symbolic, bound at start-up from the
/// cache even when lazy (x86_64::prebind), and with the interposer scan
/// kept too (rt::handover), small closures gain: grep with 126 PLT entries
/// and 168 RELATIVE relocations starts 1.5% faster cached (0.985
/// [0.975-0.994]), tar (263 and 942) 0.956 [0.947-0.966], bash (377 and
/// 3.9K) 0.951 [0.945-0.959], git (325 and 4.4K) 0.990 [0.985-0.994].
/// RELATIVE ones count for the cache's DT_RELR form of them.
pub const CACHE_MIN_SYMBOLIC: usize = 100;
pub const CACHE_MIN_RELATIVE: usize = 1000;

/// Whether the cache pays for a closure whose objects outside the glibc
/// core have these many symbolic and RELATIVE relocations.
pub fn worth(symbolic: usize, relative: usize) -> bool {
    symbolic >= CACHE_MIN_SYMBOLIC || relative >= CACHE_MIN_RELATIVE
}

/// The directory of cache files, from the environment (None: no cache).
pub fn directory(xdg_cache_home: Option<&[u8]>, home: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut d = match (xdg_cache_home, home) {
        (Some(x), _) if x.starts_with(b"/") => x.to_vec(),
        (_, Some(h)) if h.starts_with(b"/") => {
            let mut d = h.to_vec();
            d.extend_from_slice(b"/.cache");
            d
        }
        _ => return None,
    };
    d.extend_from_slice(b"/shimld");
    Some(d)
}

/// What identifies the closure of `n` objects, in load order: see the
/// module comment. None if an object cannot be identified (then there is
/// no caching).
pub fn key_of<'a>(objs: impl Iterator<Item = &'a Object>, n: usize, dynamic_weak: bool) -> Option<Vec<u8>> {
    let mut k = Vec::with_capacity(64 + n * 80);
    k.extend_from_slice(b"shimld bindings 1\0");
    let r = super::replica::settings();
    let flags = r.hostname.is_some() as u32
        | (r.domainname.is_some() as u32) << 1
        | (r.clock_offset_ns.is_some() as u32) << 2
        | (r.uid.is_some() as u32) << 3
        | (r.gid.is_some() as u32) << 4
        | (r.nproc.is_some() as u32) << 5
        | (dynamic_weak as u32) << 6;
    put_u32(&mut k, flags);
    put_u32(&mut k, n as u32);
    for o in objs {
        k.push(o.kind as u8);
        match o.stamp {
            Some(s) => {
                for x in s.words() {
                    put_u64(&mut k, x);
                }
            }
            // shimld itself is known by its build-id alone.
            None if o.kind == Kind::Rtld => {}
            None => return None,
        }
        match o.build_id() {
            Some(id) if id.len() <= 64 => {
                k.push(id.len() as u8);
                k.extend_from_slice(id);
            }
            _ if o.kind == Kind::Rtld => return None,
            _ => k.push(0),
        }
    }
    Some(k)
}

/// The cache file for a key.
fn file_name(dir: &[u8], key: &[u8]) -> Vec<u8> {
    hashed_name(dir, b"", key, b".bind")
}

/// `dir/PREFIX<hash of key, 16 hex digits>EXT`: how the files in the cache
/// directory are named.
pub fn hashed_name(dir: &[u8], prefix: &[u8], key: &[u8], ext: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    p.push(b'/');
    p.extend_from_slice(prefix);
    let h = hash(key);
    for i in (0..16).rev() {
        p.push(b"0123456789abcdef"[(h >> (i * 4)) as usize & 15]);
    }
    p.extend_from_slice(ext);
    p
}

/// A file of the cache directory being written: a temporary file beside
/// it (named after the process), renamed over it by `commit`, so that no
/// reader ever sees it half written.
pub struct Pending {
    pub fd: i32,
    pub tmp: Vec<u8>,
}

/// Starts writing `path`, with permissions `mode`.
pub fn create(path: &[u8], mode: usize) -> sys::Result<Pending> {
    let mut tmp = path.to_vec();
    tmp.extend_from_slice(alloc::format!(".{}.tmp", sys::getpid()).as_bytes());
    let fd = sys::open(&tmp, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC | sys::O_CLOEXEC, mode)?;
    Ok(Pending { fd, tmp })
}

/// Completes `create`: `path` holds `data`. On failure the temporary file
/// is removed.
pub fn commit(p: Pending, path: &[u8], data: &[u8]) -> sys::Result<()> {
    let written = sys::write_all(p.fd, data);
    sys::close(p.fd);
    let done = written.and_then(|_| sys::rename(&p.tmp, path));
    if done.is_err() {
        let _ = sys::unlink(&p.tmp);
    }
    done
}

/// What the cache keeps for one object.
#[derive(Clone, Default)]
pub struct ObjectRecord {
    pub entries: Vec<Entry>,
    /// Its leading RELATIVE relocations as DT_RELR, and how many.
    pub relr: Option<(Vec<u64>, usize)>,
}

/// What the handover decided from the glibc core's tables (see the module
/// comment). Indices are into the objects before the handover adds ld.so.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub core: Vec<bool>,
    /// The program's R_X86_64_COPY relocations (r_offset) that the stub
    /// hands to ld.so.
    pub copies: Vec<u64>,
    /// (object, symbol index) of each definition exported to the core.
    pub interposers: Vec<[u32; 2]>,
}

/// One object's part of a cache file.
#[derive(Clone, Copy)]
struct Part {
    entries: &'static [Entry],
    relr: &'static [u64],
    covered: usize,
}

/// A cache file that matched, mapped.
pub struct Cache {
    data: &'static [u8],
    index: Vec<Part>,
    /// The interposer scan's references: (core object, relocation), flat.
    scan: &'static [u32],
    facts: Option<Facts>,
    /// `data` is a leaked heap block of u64s (a small file, read), not a
    /// mapping.
    read: bool,
}

/// Files up to this size are read into memory rather than mapped: for a
/// small file (git's is 7.5 KiB) the mapping and its unmapping cost more
/// than the copy; a large one's pages are better left to the page cache.
const READ_MAX: usize = 64 * 1024;

impl Cache {
    /// Reads the cache file for `key`, if there is one and it is intact.
    pub fn open(dir: &[u8], key: &[u8], nobjs: usize) -> Option<Cache> {
        let path = file_name(dir, key);
        let fd = sys::open(&path, sys::O_RDONLY | sys::O_CLOEXEC, 0).ok()?;
        let size = sys::fstat(fd).ok().map_or(0, |s| s.st_size as usize);
        let read = size <= READ_MAX;
        let m = if size < 24 || size > 40 + key.len() + 12 * nobjs + (ENTRY + 16) * MAX_BINDINGS {
            None
        } else if read {
            // (u64s, for the alignment of the tables read in place.)
            let mut words = alloc::vec![0u64; size.div_ceil(8)].into_boxed_slice();
            // SAFETY: the u64s, viewed as the `size` bytes they hold.
            let bytes = unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, size) };
            let whole = sys::pread_full(fd, bytes, 0).ok() == Some(size);
            whole.then(|| alloc::boxed::Box::into_raw(words) as *mut u64 as usize)
        } else {
            // SAFETY: a fresh private read-only mapping, unmapped only by
            // `close`, which takes the Cache.
            unsafe { sys::mmap(0, size, sys::PROT_READ, sys::MAP_PRIVATE, fd, 0).ok() }
        };
        sys::close(fd);
        // SAFETY: the block or mapping covers `size` readable bytes until
        // `close`.
        let data: &'static [u8] = unsafe { core::slice::from_raw_parts(m? as *const u8, size) };
        let c = Cache { data, index: Vec::new(), scan: &[], facts: None, read };
        match c.check(key, nobjs) {
            Some((index, scan, facts)) => {
                debug!(cat::FILES, "resolution cache: {}: hit", B(&path));
                Some(Cache { index, scan, facts, ..c })
            }
            None => {
                debug!(cat::FILES, "resolution cache: {}: does not match, ignored", B(&path));
                c.close();
                None
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn check(&self, key: &[u8], nobjs: usize) -> Option<(Vec<Part>, &'static [u32], Option<Facts>)> {
        let d = self.data;
        let body = d.len().checked_sub(8)?;
        if &d[..8] != MAGIC || hash(&d[..body]).to_le_bytes() != d[body..] {
            return None;
        }
        let klen = get_u32(d, 8)? as usize;
        if klen != key.len() || get_u32(d, 12)? as usize != nobjs || d.get(16..16 + klen)? != key {
            return None;
        }
        let counts = 16 + pad8(klen);
        let mut at = counts.checked_add(pad8(12 * nobjs))?;
        let mut index = Vec::with_capacity(nobjs);
        for i in 0..nobjs {
            let c = counts + 12 * i;
            let (n, r, covered) = (get_u32(d, c)? as usize, get_u32(d, c + 4)? as usize, get_u32(d, c + 8)? as usize);
            let entries = shimld::elf::slice::<Entry>(&d[..body], at, n)?;
            at = at.checked_add(n.checked_mul(ENTRY)?)?;
            let relr = shimld::elf::slice::<u64>(&d[..body], at, r)?;
            at = at.checked_add(r.checked_mul(8)?)?;
            index.push(Part { entries, relr, covered });
        }
        let n = get_u32(d, at)? as usize;
        at = at.checked_add(8)?;
        let scan = shimld::elf::slice::<u32>(&d[..body], at, n.checked_mul(2)?)?;
        at = at.checked_add(n.checked_mul(8)?)?;
        let facts = match get_u32(d, at)? {
            0 => {
                at = at.checked_add(4)?;
                None
            }
            1 => {
                let (n, c, x) =
                    (get_u32(d, at + 4)? as usize, get_u32(d, at + 8)? as usize, get_u32(d, at + 12)? as usize);
                if n > nobjs {
                    return None;
                }
                at = at.checked_add(16)?;
                let core = d[..body].get(at..at.checked_add(n)?)?.iter().map(|&b| b == 1).collect();
                at = at.checked_add(pad8(n))?;
                let copies = shimld::elf::slice::<u64>(&d[..body], at, c)?.to_vec();
                at = at.checked_add(c.checked_mul(8)?)?;
                let pairs = shimld::elf::slice::<u32>(&d[..body], at, x.checked_mul(2)?)?;
                at = at.checked_add(x.checked_mul(8)?)?;
                Some(Facts { core, copies, interposers: pairs.chunks_exact(2).map(|p| [p[0], p[1]]).collect() })
            }
            _ => return None,
        };
        (at == body).then_some((index, scan, facts))
    }

    /// What the handover decided from the core's tables, if the file keeps it.
    pub fn facts(&self) -> Option<&Facts> {
        self.facts.as_ref()
    }

    /// The interposer scan's references, as the start-up that wrote the
    /// file found them.
    pub fn scan(&self) -> impl Iterator<Item = [u32; 2]> {
        self.scan.chunks_exact(2).map(|p| [p[0], p[1]])
    }

    /// Object `i`'s bindings, in the order its relocation asked for them.
    pub fn stream(&self, i: usize) -> &'static [Entry] {
        self.index.get(i).map_or(&[], |p| p.entries)
    }

    /// Object `i`'s leading RELATIVE relocations as DT_RELR, and how many.
    pub fn relr(&self, i: usize) -> Option<(&'static [u64], usize)> {
        self.index.get(i).filter(|p| p.covered > 0).map(|p| (p.relr, p.covered))
    }

    /// What the file holds for object `i`.
    pub fn record(&self, i: usize) -> ObjectRecord {
        ObjectRecord { entries: self.stream(i).to_vec(), relr: self.relr(i).map(|(w, n)| (w.to_vec(), n)) }
    }

    /// Unmaps the file.
    pub fn close(self) {
        let (p, len) = (self.data.as_ptr(), self.data.len());
        if self.read {
            // SAFETY: the block `open` leaked, of len.div_ceil(8) u64s;
            // nothing borrows it after (relocation is over when the cache
            // is closed).
            drop(unsafe {
                alloc::boxed::Box::from_raw(core::ptr::slice_from_raw_parts_mut(p as *mut u64, len.div_ceil(8)))
            });
        } else {
            // SAFETY: the mapping is this Cache's own; as above.
            let _ = unsafe { sys::munmap(p as usize, len) };
        }
    }
}

fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// Writes the bindings of this start-up: `bindings[i]` are object i's;
/// `scan`, the interposer scan's references; `facts`, what the handover
/// decided from the core's tables, if they are to be kept. Failures only cost the next
/// start-up its shortcut; they are traced.
pub fn store(dir: &[u8], key: &[u8], objects: &[ObjectRecord], scan: &[[u32; 2]], facts: Option<&Facts>) {
    let total: usize = objects.iter().map(|o| o.entries.len()).sum();
    let words: usize = objects.iter().map(|o| o.relr.as_ref().map_or(0, |r| r.0.len())).sum();
    if total > MAX_BINDINGS || words > MAX_BINDINGS || scan.len() > MAX_BINDINGS {
        return;
    }
    let mut f = Vec::with_capacity(48 + key.len() + 12 * objects.len() + ENTRY * total + 8 * words);
    f.extend_from_slice(MAGIC);
    put_u32(&mut f, key.len() as u32);
    put_u32(&mut f, objects.len() as u32);
    f.extend_from_slice(key);
    f.resize(pad8(f.len()), 0);
    for o in objects {
        put_u32(&mut f, o.entries.len() as u32);
        put_u32(&mut f, o.relr.as_ref().map_or(0, |r| r.0.len() as u32));
        put_u32(&mut f, o.relr.as_ref().map_or(0, |r| r.1 as u32));
    }
    f.resize(pad8(f.len()), 0);
    for o in objects {
        for e in &o.entries {
            put_u32(&mut f, e.key);
            f.extend_from_slice(&e.obj.to_le_bytes());
            f.extend_from_slice(&e.flags.to_le_bytes());
            put_u32(&mut f, e.sym);
            put_u32(&mut f, e.value);
        }
        for &w in o.relr.as_ref().map_or(&[][..], |r| &r.0[..]) {
            put_u64(&mut f, w);
        }
    }
    put_u32(&mut f, scan.len() as u32);
    put_u32(&mut f, 0);
    for &[obj, rel] in scan {
        put_u32(&mut f, obj);
        put_u32(&mut f, rel);
    }
    match facts {
        Some(x) if x.copies.len() <= MAX_BINDINGS && x.interposers.len() <= MAX_BINDINGS => {
            put_u32(&mut f, 1);
            put_u32(&mut f, x.core.len() as u32);
            put_u32(&mut f, x.copies.len() as u32);
            put_u32(&mut f, x.interposers.len() as u32);
            f.extend(x.core.iter().map(|&c| c as u8));
            f.resize(pad8(f.len()), 0);
            for &c in &x.copies {
                put_u64(&mut f, c);
            }
            for &[o, s] in &x.interposers {
                put_u32(&mut f, o);
                put_u32(&mut f, s);
            }
        }
        _ => put_u32(&mut f, 0),
    }
    let h = hash(&f);
    put_u64(&mut f, h);

    // The directory, and its parent (~/.cache may not exist yet).
    if let Some(cut) = dir.iter().rposition(|&c| c == b'/') {
        let _ = sys::mkdir(&dir[..cut], 0o700);
    }
    let _ = sys::mkdir(dir, 0o700);
    let path = file_name(dir, key);
    let names = sys::dir_names(dir, 1 << 16);
    if names.len() > MAX_FILES {
        for n in names.iter().filter(|n| n.ends_with(b".bind")) {
            let mut p = dir.to_vec();
            p.push(b'/');
            p.extend_from_slice(n);
            let _ = sys::unlink(&p);
        }
        debug!(cat::FILES, "resolution cache: {}: more than {} files, cleared", B(dir), MAX_FILES);
    }
    match create(&path, 0o644).and_then(|p| commit(p, &path, &f)) {
        Ok(()) => debug!(cat::FILES, "resolution cache: {}: wrote {} bindings", B(&path), total),
        Err(e) => debug!(cat::FILES, "resolution cache: {}: cannot write: {}", B(&path), e.text()),
    }
}
