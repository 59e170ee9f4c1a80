//! The persistent resolution cache: for one closure of objects, the binding
//! of every symbol reference that start-up relocation resolved, as
//! (defining object, symbol index), so that the next start of the same
//! closure looks nothing up.
//!
//! Bindings hold no addresses, so the cache is independent of where ASLR
//! puts the objects. An entry is used only for exactly the closure it was
//! made from: its key lists every object in load order with its device,
//! inode, size, modification and change times and GNU build-id, plus what
//! else steers lookups (the replicas in force, LD_DYNAMIC_WEAK, shimld's
//! own build). The file is found by a hash of the key and holds the whole
//! key, compared byte for byte, and a checksum of its contents. A binding
//! read from it is bounds-checked before use (`memo::Binding::def`).
//!
//! Files live in `$XDG_CACHE_HOME/shimld` (or `~/.cache/shimld`), one per
//! closure, written to a temporary name and renamed into place. `--no-cache`
//! or SHIMLD_NO_CACHE turns the cache off.
//!
//! Layout (little-endian): magic (8 bytes), key length (u32), object count
//! (u32), the key (padded to 4 bytes), one u32 binding count per object,
//! the bindings (key u32, object u32, symbol u32) object by object, and a
//! u64 checksum of everything before it.

use super::loader::Loader;
use super::memo::{Binding, Memo};
use super::object::Kind;
use super::out::{cat, B};
use super::sys;
use crate::debug;
use alloc::vec::Vec;

const MAGIC: &[u8; 8] = b"SHIMLDB\x01";
/// The most cache files kept: past this, writing one clears the others
/// (entries of closures that changed are never read again).
const MAX_FILES: usize = 256;
/// The most bindings a cache file may hold (a bound on what is read).
const MAX_BINDINGS: usize = 1 << 24;

/// A 64-bit hash of `data`, eight bytes at a time (not cryptographic: it
/// names files and detects damage).
fn hash(data: &[u8]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ data.len() as u64;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    }
    for &b in chunks.remainder() {
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

/// What identifies the closure: see the module comment. None if an object
/// cannot be identified (then there is no caching).
pub fn key(ld: &Loader, dynamic_weak: bool) -> Option<Vec<u8>> {
    let mut k = Vec::with_capacity(64 + ld.objs.len() * 80);
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
    put_u32(&mut k, ld.objs.len() as u32);
    for o in ld.objs.iter() {
        k.push(o.kind as u8);
        match o.stamp {
            Some(s) => {
                for x in [s.dev, s.ino, s.size, s.mtime[0], s.mtime[1], s.ctime[0], s.ctime[1]] {
                    put_u64(&mut k, x);
                }
            }
            // shimld itself is known by its build-id alone.
            None if o.kind == Kind::Rtld => {}
            None => return None,
        }
        let id = o
            .phdrs
            .iter()
            .filter(|p| p.p_type == shimld::elf::PT_NOTE)
            .find_map(|p| o.image.bytes(p.p_vaddr, p.p_filesz).and_then(shimld::elf::build_id));
        match id {
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
    let mut p = dir.to_vec();
    p.push(b'/');
    let h = hash(key);
    for i in (0..16).rev() {
        p.push(b"0123456789abcdef"[(h >> (i * 4)) as usize & 15]);
    }
    p.extend_from_slice(b".bind");
    p
}

/// A cache file that matched, mapped.
pub struct Cache {
    data: &'static [u8],
    /// Per object: where its bindings start, and how many.
    index: Vec<(usize, usize)>,
}

impl Cache {
    /// Reads the cache file for `key`, if there is one and it is intact.
    pub fn open(dir: &[u8], key: &[u8], nobjs: usize) -> Option<Cache> {
        let path = file_name(dir, key);
        let fd = sys::open(&path, sys::O_RDONLY | sys::O_CLOEXEC, 0).ok()?;
        let size = sys::fstat(fd).ok().map_or(0, |s| s.st_size as usize);
        // SAFETY: a fresh private read-only mapping, unmapped only by
        // `close`, which takes the Cache.
        let m = if size >= 24 && size <= 16 + key.len() + 4 * nobjs + 12 * MAX_BINDINGS + 16 {
            unsafe { sys::mmap(0, size, sys::PROT_READ, sys::MAP_PRIVATE, fd, 0).ok() }
        } else {
            None
        };
        sys::close(fd);
        // SAFETY: the mapping covers `size` readable bytes until `close`.
        let data: &'static [u8] = unsafe { core::slice::from_raw_parts(m? as *const u8, size) };
        let c = Cache { data, index: Vec::new() };
        match c.check(key, nobjs) {
            Some(index) => {
                debug!(cat::FILES, "resolution cache: {}: hit", B(&path));
                Some(Cache { index, ..c })
            }
            None => {
                debug!(cat::FILES, "resolution cache: {}: does not match, ignored", B(&path));
                c.close();
                None
            }
        }
    }

    fn check(&self, key: &[u8], nobjs: usize) -> Option<Vec<(usize, usize)>> {
        let d = self.data;
        let body = d.len().checked_sub(8)?;
        if &d[..8] != MAGIC || hash(&d[..body]).to_le_bytes() != d[body..] {
            return None;
        }
        let klen = get_u32(d, 8)? as usize;
        if klen != key.len() || get_u32(d, 12)? as usize != nobjs || d.get(16..16 + klen)? != key {
            return None;
        }
        let counts = 16 + ((klen + 3) & !3);
        let mut at = counts.checked_add(4 * nobjs)?;
        let mut index = Vec::with_capacity(nobjs);
        for i in 0..nobjs {
            let n = get_u32(d, counts + 4 * i)? as usize;
            index.push((at, n));
            at = at.checked_add(n.checked_mul(12)?)?;
        }
        (at == body).then_some(index)
    }

    /// Object `i`'s cached bindings.
    pub fn entries(&self, i: usize) -> Vec<(u32, Binding)> {
        let Some(&(at, n)) = self.index.get(i) else { return Vec::new() };
        (0..n)
            .filter_map(|k| {
                let e = at + 12 * k;
                let (key, obj, sym) = (get_u32(self.data, e)?, get_u32(self.data, e + 4)?, get_u32(self.data, e + 8)?);
                (key != 0).then_some((key, Binding { obj, sym }))
            })
            .collect()
    }

    /// Puts object `i`'s cached bindings into `memo`. Returns how many.
    pub fn fill(&self, i: usize, memo: &mut Memo) -> usize {
        let Some(&(at, n)) = self.index.get(i) else { return 0 };
        for k in 0..n {
            let e = at + 12 * k;
            if let (Some(key), Some(obj), Some(sym)) =
                (get_u32(self.data, e), get_u32(self.data, e + 4), get_u32(self.data, e + 8))
            {
                if key != 0 {
                    memo.insert(key, Binding { obj, sym });
                }
            }
        }
        n
    }

    /// Unmaps the file.
    pub fn close(self) {
        // SAFETY: the mapping is this Cache's own; nothing borrows it after.
        let _ = unsafe { sys::munmap(self.data.as_ptr() as usize, self.data.len()) };
    }
}

/// Writes the bindings of this start-up: `bindings[i]` are object i's.
/// Failures only cost the next start-up its shortcut; they are traced.
pub fn store(dir: &[u8], key: &[u8], bindings: &[Vec<(u32, Binding)>]) {
    let total: usize = bindings.iter().map(|b| b.len()).sum();
    if total > MAX_BINDINGS {
        return;
    }
    let mut f = Vec::with_capacity(32 + key.len() + 4 * bindings.len() + 12 * total);
    f.extend_from_slice(MAGIC);
    put_u32(&mut f, key.len() as u32);
    put_u32(&mut f, bindings.len() as u32);
    f.extend_from_slice(key);
    while f.len() % 4 != 0 {
        f.push(0);
    }
    for b in bindings {
        put_u32(&mut f, b.len() as u32);
    }
    for b in bindings {
        for &(k, v) in b {
            put_u32(&mut f, k);
            put_u32(&mut f, v.obj);
            put_u32(&mut f, v.sym);
        }
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
    let mut tmp = path.clone();
    tmp.extend_from_slice(alloc::format!(".{}.tmp", sys::getpid()).as_bytes());
    let written = sys::open(&tmp, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC | sys::O_CLOEXEC, 0o644).and_then(|fd| {
        let r = sys::write_all(fd, &f);
        sys::close(fd);
        r
    });
    match written.and_then(|_| sys::rename(&tmp, &path)) {
        Ok(()) => debug!(cat::FILES, "resolution cache: {}: wrote {} bindings", B(&path), total),
        Err(e) => {
            let _ = sys::unlink(&tmp);
            debug!(cat::FILES, "resolution cache: {}: cannot write: {}", B(&path), e.text());
        }
    }
}
