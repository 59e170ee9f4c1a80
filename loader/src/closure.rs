//! The closure of a program: its preloads and DT_NEEDED libraries, found in
//! ld.so's search order and ordered breadth first.
//!
//! The search order for a name without a slash, as in ld.so:
//! 1. DT_RPATH of the requesting object, then of the object that loaded it,
//!    and so on up to the executable (only if the requester has no
//!    DT_RUNPATH);
//! 2. LD_LIBRARY_PATH (or `--library-path`);
//! 3. DT_RUNPATH of the requesting object;
//! 4. `ld.so.cache`, unless inhibited;
//! 5. the default directories, unless the requester says DF_1_NODEFLIB.
//!
//! Every directory is tried with its glibc-hwcaps subdirectories first.
//!
//! The builder does no I/O itself: a [`Host`] opens files (mapping them, in
//! the loader; reading them, in shimctl), so both see the same closure.

use crate::cache::Cache;
use crate::search::{self, Source, Tokens};
use alloc::vec::Vec;

/// Limits on the closure, so a hostile file cannot make the search unbounded.
pub const MAX_OBJECTS: usize = 4096;

/// A file's identity, to recognise one object reached by two paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// What the closure needs to know about an object.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    pub needed: Vec<Vec<u8>>,
    pub soname: Option<Vec<u8>>,
    /// DT_RPATH, unless the object also has DT_RUNPATH.
    pub rpath: Option<Vec<u8>>,
    pub runpath: Option<Vec<u8>>,
    pub nodeflib: bool,
}

/// Why a candidate file could not be used.
#[derive(Clone, Debug)]
pub enum OpenError {
    /// No such file, or not accessible: try the next candidate.
    NotFound(i32),
    /// An ELF object for another class or machine: ld.so skips these
    /// silently during a search, and names the reason only if nothing else
    /// is found.
    Skip(&'static str),
    /// Not a usable object; ends the search with this error.
    Bad(&'static str),
}

/// A search step, for SHIMLD_DEBUG=files (cf. LD_DEBUG=libs).
pub enum Trace<'a> {
    Find { name: &'a [u8], requester: &'a [u8] },
    SearchPath { dirs: &'a [Vec<u8>], source: Source, owner: &'a [u8] },
    SearchCache,
    Trying { path: &'a [u8] },
}

/// The side of the closure builder that touches files.
pub trait Host {
    /// An opened file whose headers were checked.
    type Probe;
    /// A loaded object.
    type Handle;
    /// Opens `path` and checks that it is an object for this machine.
    fn probe(&mut self, path: &[u8]) -> Result<(Self::Probe, FileId), OpenError>;
    /// Loads a probed file (maps it, in the loader) and reads its dynamic
    /// section. A probe that is not loaded is simply dropped.
    fn load(&mut self, probe: Self::Probe, path: &[u8]) -> Result<(Self::Handle, Meta), OpenError>;
    /// The dynamic linker's own object, when something needs it by name.
    fn rtld(&mut self) -> Option<Self::Handle>;
    /// Whether `path` is an existing directory (results may be cached).
    fn is_dir(&mut self, path: &[u8]) -> bool;
    /// The active glibc-hwcaps subdirectories, best first. Called only when a
    /// directory has a `glibc-hwcaps` subdirectory, or the cache has such
    /// entries, so the CPU need not be probed otherwise.
    fn hwcaps(&mut self) -> Vec<&'static [u8]>;
    /// Reports a search step.
    fn trace(&mut self, _t: Trace) {}
}

/// The search configuration, fixed for one process.
pub struct Config<'c> {
    /// LD_LIBRARY_PATH or `--library-path`, already split and expanded.
    pub library_path: Vec<Vec<u8>>,
    pub cache: Option<Cache<'c>>,
    /// The default directories (Debian: the multiarch ones, then /lib and
    /// /usr/lib).
    pub default_dirs: Vec<Vec<u8>>,
    /// Try glibc's legacy `tls/` and `x86_64/` subdirectories (glibc 2.36 and
    /// older do).
    pub legacy_subdirs: bool,
    pub tokens: Tokens,
    /// The current directory, for the origin of relatively named objects.
    pub cwd: Option<Vec<u8>>,
    /// `--root`: the cache paths, default directories and absolute RPATH and
    /// RUNPATH entries resolve inside this directory.
    pub root: Option<Vec<u8>>,
    /// The names of the dynamic linker: the program's PT_INTERP and the
    /// soname. An object that needs one of them gets the dynamic linker.
    pub rtld_names: Vec<Vec<u8>>,
}

impl Config<'_> {
    /// The configuration of this host's ld.so (Debian's glibc 2.36): its
    /// default directories and legacy subdirectories, for a program with
    /// PT_INTERP `interp`.
    pub fn host<'c>(
        library_path: Vec<Vec<u8>>,
        cache: Option<Cache<'c>>,
        tokens: Tokens,
        cwd: Option<Vec<u8>>,
        interp: &[u8],
    ) -> Config<'c> {
        Config {
            library_path,
            cache,
            default_dirs: search::DEFAULT_DIRS.iter().map(|d| d.to_vec()).collect(),
            legacy_subdirs: true,
            tokens,
            cwd,
            root: None,
            rtld_names: alloc::vec![interp.to_vec(), search::RTLD_SONAME.to_vec()],
        }
    }
}

/// One object of the closure.
pub struct Node<H> {
    /// The path it was opened by (for the executable: as given).
    pub path: Vec<u8>,
    /// Names it is known by: the names it was requested as, and its soname.
    pub names: Vec<Vec<u8>>,
    pub origin: Option<Vec<u8>>,
    pub source: Source,
    /// The object that first needed it (its `l_loader`).
    pub loader: Option<usize>,
    pub id: Option<FileId>,
    pub meta: Meta,
    /// Direct dependencies in DT_NEEDED order, duplicates removed.
    pub deps: Vec<usize>,
    /// `None` for a library that was not found (listing only) and for the
    /// dynamic linker stand-in.
    pub handle: Option<H>,
    pub missing: bool,
}

impl<H> Node<H> {
    /// A node that stands for no file (keeps indices aligned with a list of
    /// objects that has one more entry).
    pub fn placeholder() -> Node<H> {
        Node {
            path: Vec::new(),
            names: Vec::new(),
            origin: None,
            source: Source::Rtld,
            loader: None,
            id: None,
            meta: Meta::default(),
            deps: Vec::new(),
            handle: None,
            missing: true,
        }
    }
}

/// Why the closure could not be built.
#[derive(Clone, Debug)]
pub enum Error {
    /// `name` (needed by node `by`) was not found; `skipped` says why a
    /// candidate of another class or machine was passed over, if one was.
    NotFound {
        name: Vec<u8>,
        by: usize,
        skipped: Option<&'static str>,
    },
    /// `path` exists but cannot be used.
    Bad {
        path: Vec<u8>,
        what: &'static str,
    },
    TooMany,
}

/// The closure under construction.
pub struct Closure<H> {
    pub nodes: Vec<Node<H>>,
    /// Directory state cache: (dir, has glibc-hwcaps, has tls, has x86_64).
    dirs: Vec<(Vec<u8>, [bool; 3])>,
    hwcaps: Option<Vec<&'static [u8]>>,
    /// Why the last candidate was skipped in the current search.
    skipped: Option<&'static str>,
}

impl<H> Default for Closure<H> {
    fn default() -> Self {
        Closure { nodes: Vec::new(), dirs: Vec::new(), hwcaps: None, skipped: None }
    }
}

impl<H> Closure<H> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an object that is already loaded (the executable, a preload
    /// found elsewhere) or needs no file (the dynamic linker).
    pub fn add(
        &mut self,
        path: Vec<u8>,
        names: Vec<Vec<u8>>,
        source: Source,
        loaded: Option<(H, Meta)>,
        id: Option<FileId>,
        cfg: &Config,
    ) -> usize {
        let origin = search::origin_of(&path, cfg.cwd.as_deref());
        let (handle, meta) = match loaded {
            Some((h, m)) => (Some(h), m),
            None => (None, Meta::default()),
        };
        let mut names = names;
        if let Some(s) = &meta.soname {
            if !names.contains(s) {
                names.push(s.clone());
            }
        }
        self.nodes.push(Node {
            path,
            names,
            origin,
            source,
            loader: None,
            id,
            meta,
            deps: Vec::new(),
            handle,
            missing: false,
        });
        self.nodes.len() - 1
    }

    /// Why the last search passed over a candidate (another class), if it
    /// did.
    pub fn skipped_reason(&self) -> Option<&'static str> {
        self.skipped
    }

    /// The node already loaded under `name` (as a path or a known name).
    pub fn find_loaded(&self, name: &[u8]) -> Option<usize> {
        self.nodes.iter().position(|n| !n.missing && (n.path == name || n.names.iter().any(|m| m == name)))
    }

    /// Loads the preloads, then the DT_NEEDED closure of every node from
    /// `start` on, breadth first. With `keep_going`, a missing library becomes
    /// a `missing` node (as ldd shows it) instead of an error.
    pub fn load_needed<T: Host<Handle = H>>(
        &mut self,
        host: &mut T,
        cfg: &Config,
        start: usize,
        keep_going: bool,
    ) -> Result<(), Error> {
        let mut i = start;
        while i < self.nodes.len() {
            let needed = core::mem::take(&mut self.nodes[i].meta.needed);
            for name in &needed {
                let dep = match self.find_loaded(name).or_else(|| self.add_rtld(host, cfg, name)) {
                    Some(d) => d,
                    None => match self.load(host, cfg, name, i, Source::Path)? {
                        Some(d) => d,
                        None if keep_going => {
                            self.nodes.push(Node {
                                path: Vec::new(),
                                names: alloc::vec![name.clone()],
                                origin: None,
                                source: Source::Path,
                                loader: Some(i),
                                id: None,
                                meta: Meta::default(),
                                deps: Vec::new(),
                                handle: None,
                                missing: true,
                            });
                            self.nodes.len() - 1
                        }
                        None => return Err(Error::NotFound { name: name.clone(), by: i, skipped: self.skipped }),
                    },
                };
                if !self.nodes[i].deps.contains(&dep) {
                    self.nodes[i].deps.push(dep);
                }
            }
            self.nodes[i].meta.needed = needed;
            i += 1;
        }
        Ok(())
    }

    /// The dynamic linker's node, created the first time an object needs it
    /// by one of its names.
    fn add_rtld<T: Host<Handle = H>>(&mut self, host: &mut T, cfg: &Config, name: &[u8]) -> Option<usize> {
        if !cfg.rtld_names.iter().any(|n| n == name) {
            return None;
        }
        let handle = host.rtld();
        let path = cfg.rtld_names[0].clone();
        let idx = self.add(path, cfg.rtld_names.clone(), Source::Rtld, handle.map(|h| (h, Meta::default())), None, cfg);
        Some(idx)
    }

    /// Finds and loads `name` for node `by`; `Ok(None)` if not found.
    /// `source` is recorded for names with a slash (Path or Preload).
    pub fn load<T: Host<Handle = H>>(
        &mut self,
        host: &mut T,
        cfg: &Config,
        name: &[u8],
        by: usize,
        source: Source,
    ) -> Result<Option<usize>, Error> {
        if self.nodes.len() >= MAX_OBJECTS {
            return Err(Error::TooMany);
        }
        self.skipped = None;
        let requester = self.nodes[by].path.clone();
        host.trace(Trace::Find { name, requester: &requester });
        let found = if name.contains(&b'/') {
            let origin = self.nodes[by].origin.clone();
            match search::expand(name, origin.as_deref(), &cfg.tokens) {
                Some(path) => self.try_file(host, &path)?.map(|o| (path, o, source)),
                None => None,
            }
        } else {
            self.search(host, cfg, name, by)?
        };
        let Some((path, (probe, id), source)) = found else {
            return Ok(None);
        };
        // The same file under another name is the same object.
        if let Some(same) = self.nodes.iter().position(|n| n.id == Some(id) && !n.missing) {
            drop(probe);
            if !self.nodes[same].names.iter().any(|m| m == name) {
                self.nodes[same].names.push(name.to_vec());
            }
            return Ok(Some(same));
        }
        let loaded = match host.load(probe, &path) {
            Ok(l) => l,
            Err(OpenError::Bad(what)) | Err(OpenError::Skip(what)) => return Err(Error::Bad { path, what }),
            Err(OpenError::NotFound(_)) => return Err(Error::Bad { path, what: "cannot open shared object file" }),
        };
        let idx = self.add(path, alloc::vec![name.to_vec()], source, Some(loaded), Some(id), cfg);
        self.nodes[idx].loader = Some(by);
        Ok(Some(idx))
    }

    fn try_file<T: Host<Handle = H>>(
        &mut self,
        host: &mut T,
        path: &[u8],
    ) -> Result<Option<(T::Probe, FileId)>, Error> {
        host.trace(Trace::Trying { path });
        match host.probe(path) {
            Ok(o) => Ok(Some(o)),
            Err(OpenError::NotFound(_)) => Ok(None),
            Err(OpenError::Skip(why)) => {
                self.skipped = Some(why);
                Ok(None)
            }
            Err(OpenError::Bad(what)) => Err(Error::Bad { path: path.to_vec(), what }),
        }
    }

    /// Tries `name` in each directory of `dirs`, subdirectories first.
    fn search_dirs<T: Host<Handle = H>>(
        &mut self,
        host: &mut T,
        cfg: &Config,
        dirs: &[Vec<u8>],
        name: &[u8],
        rooted: bool,
    ) -> Result<Option<(Vec<u8>, (T::Probe, FileId))>, Error> {
        for dir in dirs {
            let dir = match (&cfg.root, rooted && dir.starts_with(b"/")) {
                (Some(root), true) => {
                    let mut d = root.clone();
                    d.extend_from_slice(dir);
                    d
                }
                _ => dir.clone(),
            };
            let state = self.dir_state(host, &dir, cfg.legacy_subdirs);
            if state[0] {
                for sub in self.active_hwcaps(host) {
                    let mut p = search::join(&dir, b"glibc-hwcaps");
                    p = search::join(&p, sub);
                    let p = search::join(&p, name);
                    if let Some(o) = self.try_file(host, &p)? {
                        return Ok(Some((p, o)));
                    }
                }
            }
            if cfg.legacy_subdirs {
                for sub in search::LEGACY_SUBDIRS {
                    let applies = if sub.starts_with(b"tls") { state[1] } else { state[2] };
                    if applies {
                        let p = search::join(&search::join(&dir, sub), name);
                        if let Some(o) = self.try_file(host, &p)? {
                            return Ok(Some((p, o)));
                        }
                    }
                }
            }
            let p = search::join(&dir, name);
            if let Some(o) = self.try_file(host, &p)? {
                return Ok(Some((p, o)));
            }
        }
        Ok(None)
    }

    fn active_hwcaps<T: Host<Handle = H>>(&mut self, host: &mut T) -> Vec<&'static [u8]> {
        self.hwcaps.get_or_insert_with(|| host.hwcaps()).clone()
    }

    fn dir_state<T: Host<Handle = H>>(&mut self, host: &mut T, dir: &[u8], legacy: bool) -> [bool; 3] {
        if let Some((_, s)) = self.dirs.iter().find(|(d, _)| d == dir) {
            return *s;
        }
        let s = [
            host.is_dir(&search::join(dir, b"glibc-hwcaps")),
            legacy && host.is_dir(&search::join(dir, b"tls")),
            legacy && host.is_dir(&search::join(dir, b"x86_64")),
        ];
        self.dirs.push((dir.to_vec(), s));
        s
    }

    /// The search for a name without a slash, in ld.so's order.
    fn search<T: Host<Handle = H>>(
        &mut self,
        host: &mut T,
        cfg: &Config,
        name: &[u8],
        by: usize,
    ) -> Result<Option<(Vec<u8>, (T::Probe, FileId), Source)>, Error> {
        // 1. DT_RPATH up the loader chain, if the requester has no RUNPATH.
        if self.nodes[by].meta.runpath.is_none() {
            let mut cur = Some(by);
            let mut steps = 0;
            while let Some(c) = cur {
                if let Some(rp) = self.nodes[c].meta.rpath.clone() {
                    let owner = self.nodes[c].path.clone();
                    let dirs = search::split_dirs(&rp, b":", self.nodes[c].origin.as_deref(), &cfg.tokens)
                        .map_err(|what| Error::Bad { path: owner.clone(), what })?;
                    host.trace(Trace::SearchPath { dirs: &dirs, source: Source::Rpath(c), owner: &owner });
                    if let Some((p, o)) = self.search_dirs(host, cfg, &dirs, name, true)? {
                        return Ok(Some((p, o, Source::Rpath(c))));
                    }
                }
                cur = self.nodes[c].loader;
                steps += 1;
                if steps > MAX_OBJECTS {
                    break;
                }
            }
        }
        // 2. LD_LIBRARY_PATH.
        if !cfg.library_path.is_empty() {
            host.trace(Trace::SearchPath { dirs: &cfg.library_path, source: Source::LibraryPath, owner: b"" });
            if let Some((p, o)) = self.search_dirs(host, cfg, &cfg.library_path, name, false)? {
                return Ok(Some((p, o, Source::LibraryPath)));
            }
        }
        // 3. DT_RUNPATH of the requester.
        if let Some(rp) = self.nodes[by].meta.runpath.clone() {
            let owner = self.nodes[by].path.clone();
            let dirs = search::split_dirs(&rp, b":", self.nodes[by].origin.as_deref(), &cfg.tokens)
                .map_err(|what| Error::Bad { path: owner.clone(), what })?;
            host.trace(Trace::SearchPath { dirs: &dirs, source: Source::Runpath(by), owner: &owner });
            if let Some((p, o)) = self.search_dirs(host, cfg, &dirs, name, true)? {
                return Ok(Some((p, o, Source::Runpath(by))));
            }
        }
        let nodeflib = self.nodes[by].meta.nodeflib;
        // 4. The cache.
        if let Some(cache) = &cfg.cache {
            host.trace(Trace::SearchCache);
            let hw = if cache.has_hwcaps() { self.active_hwcaps(host) } else { Vec::new() };
            if let Some(found) = cache.lookup(name, &hw) {
                let in_default =
                    cfg.default_dirs.iter().any(|d| found.starts_with(d) && found.get(d.len()) == Some(&b'/'));
                if !(nodeflib && in_default) {
                    let path = match &cfg.root {
                        Some(root) => {
                            let mut p = root.clone();
                            p.extend_from_slice(found);
                            p
                        }
                        None => found.to_vec(),
                    };
                    if let Some(o) = self.try_file(host, &path)? {
                        return Ok(Some((path, o, Source::Cache)));
                    }
                }
            }
        }
        // 5. The default directories.
        if !nodeflib {
            host.trace(Trace::SearchPath { dirs: &cfg.default_dirs, source: Source::Default, owner: b"" });
            if let Some((p, o)) = self.search_dirs(host, cfg, &cfg.default_dirs, name, true)? {
                return Ok(Some((p, o, Source::Default)));
            }
        }
        Ok(None)
    }
}
