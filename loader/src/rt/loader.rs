//! The loader's state after the closure is mapped: symbol lookup over the
//! global scope, ld.so's dependency sort, errors in ld.so's words, and the
//! file side of the closure search.

use super::append::AppendVec;
use super::map::{self, ElfFile};
use super::object::{Kind, Object};
use super::out::{cat, B};
use super::sys::{self, Errno};
use super::tls;
use crate::debug;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use shimld::bind;
use shimld::closure::{FileId, Host, Meta, OpenError, Trace};
use shimld::elf::{self, Sym};
use shimld::symtab::{Name, Version, Want};

/// The most objects a process may have.
pub const MAX_OBJECTS: usize = shimld::closure::MAX_OBJECTS;

/// The loaded objects, in load order; indices are stable.
pub type Objects = AppendVec<Box<Object>>;

/// Relocation and lookup counts for SHIMLD_DEBUG=statistics.
pub struct Stats {
    pub by_type: [u64; 40],
    pub lookups: u64,
    /// Whether lookups are timed (SHIMLD_DEBUG=statistics), and the TSC
    /// ticks they took.
    pub timed: bool,
    pub lookup_ticks: u64,
    /// The object being relocated: its bindings so far.
    /// The last reference resolved while relocating an object, and its
    /// binding (see rt::memo).
    pub last: Option<(u32, super::memo::Binding)>,
    /// How many references found their binding in the memo.
    pub memo_hits: u64,
    /// References answered by the resolution cache.
    pub cached: u64,
    /// The object being relocated: its bindings in the resolution cache
    /// (in the order relocation asks for them), and how many are used.
    pub stream: &'static [shimld::bind::Entry],
    pub pos: usize,
    /// Its bindings as found, for the cache file; and whether every
    /// object's are kept (the cache missed).
    pub rec: Option<Vec<shimld::bind::Entry>>,
    pub record_all: bool,
    /// Bind lazily bound PLT entries at start-up where the binding is known
    /// (see x86_64::prebind): set when the resolution cache is in use.
    pub prebind: bool,
    /// The object being relocated: its leading RELATIVE relocations in
    /// DT_RELR form, for the cache file (when recording), and how many of
    /// them the cache's copy applied.
    pub relr: Option<shimld::bind::RelrEncoder>,
    pub relr_done: usize,
    /// The object being relocated: the IFUNC definitions its lazily bound
    /// PLT entries bind to (by symbol index), for their first call
    /// (see x86_64::prebind).
    pub ifuncs: Vec<(u32, super::memo::Binding)>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            by_type: [0; 40],
            lookups: 0,
            timed: super::timing::enabled(),
            lookup_ticks: 0,
            last: None,
            memo_hits: 0,
            cached: 0,
            stream: &[],
            pos: 0,
            rec: None,
            record_all: false,
            prebind: false,
            relr: None,
            relr_done: 0,
            ifuncs: Vec::new(),
        }
    }
}

/// Why loading failed, in ld.so's categories.
#[derive(Debug)]
pub enum Error {
    /// `PROG: error while loading shared libraries: NAME: WHAT[: strerror]`
    Load { name: Vec<u8>, what: &'static str, errno: Option<Errno> },
    /// `PROG: symbol lookup error: OBJ: undefined symbol: NAME[, version V]`
    Undefined { obj: Vec<u8>, name: Vec<u8>, version: Option<Vec<u8>> },
    /// A relocation-time error with a formatted detail:
    /// `PROG: error while loading shared libraries: OBJ: DETAIL`
    Reloc { obj: Vec<u8>, detail: alloc::string::String },
}

impl Error {
    pub fn load(name: &[u8], what: &'static str) -> Error {
        Error::Load { name: name.to_vec(), what, errno: None }
    }
}

/// An error as dlerror words it: the object, then what is wrong.
pub fn message(e: &Error) -> alloc::string::String {
    match e {
        Error::Load { name, what, errno: Some(er) } => alloc::format!("{}: {}: {}", B(name), what, er),
        Error::Load { name, what, errno: None } => alloc::format!("{}: {}", B(name), what),
        Error::Undefined { obj, name, version: Some(v) } => {
            alloc::format!("{}: undefined symbol: {}, version {}", B(obj), B(name), B(v))
        }
        Error::Undefined { obj, name, version: None } => alloc::format!("{}: undefined symbol: {}", B(obj), B(name)),
        Error::Reloc { obj, detail } => alloc::format!("{}: {}", B(obj), detail),
    }
}

/// Prints an error as ld.so would and exits with status 127.
pub fn fail(prog: &[u8], e: &Error) -> ! {
    match e {
        Error::Load { name, what, errno } => match errno {
            Some(er) => {
                crate::eprint!("{}: error while loading shared libraries: {}: {}: {}\n", B(prog), B(name), what, er)
            }
            None => crate::eprint!("{}: error while loading shared libraries: {}: {}\n", B(prog), B(name), what),
        },
        Error::Undefined { obj, name, version } => match version {
            Some(v) => crate::eprint!(
                "{}: symbol lookup error: {}: undefined symbol: {}, version {}\n",
                B(prog),
                B(obj),
                B(name),
                B(v)
            ),
            None => crate::eprint!("{}: symbol lookup error: {}: undefined symbol: {}\n", B(prog), B(obj), B(name)),
        },
        Error::Reloc { obj, detail } => {
            crate::eprint!("{}: error while loading shared libraries: {}: {}\n", B(prog), B(obj), detail)
        }
    }
    sys::exit_group(127)
}

/// A symbol definition: the defining object and its symbol, or nothing
/// (an undefined weak reference, whose value is 0).
#[derive(Clone, Copy)]
pub struct Def {
    pub obj: usize,
    pub sym: Option<&'static Sym>,
}

/// Where a lookup searches.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    /// The scope of an object's own relocations.
    Of(usize),
    /// These objects, in this order (a dlopen handle's dependencies).
    List(&'a [usize]),
    /// RTLD_NEXT: the objects after this one.
    After(usize),
}

pub use shimld::bind::Class;

pub struct Loader {
    pub objs: Objects,
    /// The global scope: the executable, the preloads, then the DT_NEEDED
    /// closure breadth first.
    pub scope: AppendVec<usize>,
    /// The program's name for messages (its argv[0]).
    pub prog: Vec<u8>,
    pub bind_now: bool,
    /// LD_DYNAMIC_WEAK: a weak definition yields to a later global one
    /// (otherwise the first definition wins, weak or not).
    pub dynamic_weak: bool,
    /// Init order: dependencies first.
    pub init_order: Vec<usize>,
    pub tls: Option<tls::Block>,
    pub stats: Stats,
    /// For glibc programs: which objects are the core, which ld.so loaded.
    pub core: Vec<bool>,
    /// The executable's COPY relocations that ld.so performed (through the
    /// stub), by offset.
    pub skip_copies: alloc::collections::BTreeSet<u64>,
    /// The stub's program headers, which glibc reports as the program's.
    pub stub_phdr: usize,
    /// shimld's own object, whose exports replace the glibc core's dl*
    /// functions for the objects shimld loads (glibc programs only).
    pub me: Option<usize>,
    /// Started as a command (not as the program's PT_INTERP).
    pub direct: bool,
    /// For debuggers, when shimld is started as a command: a first entry
    /// standing for shimld (the debugger's main executable, which it skips)
    /// and a copy of the program's entry under its path.
    pub debug_head: Option<Box<[super::dl::LinkMap; 2]>>,
    /// A copy of glibc's link_map for the vDSO, for shimld's lists.
    pub vdso: Option<Box<super::dl::LinkMap>>,
    /// What dlopen needs, behind the dl lock.
    pub dl: super::lock::RecursiveMutex<Option<super::dl::DlState>>,
    /// Where resolution cache files live (None: no caching).
    pub cache_dir: Option<Vec<u8>>,
    /// The resolution cache that matched this start-up, while relocating.
    pub bindcache: Option<super::bindcache::Cache>,
    /// Set once the cache has been looked for (the handover does it before
    /// relocation, for its scan), with the key it was looked for under.
    pub cache_looked: Option<Option<Vec<u8>>>,
    /// The handover's interposer scan: the core's references it looked up
    /// in earnest, as (core object, relocation), for the cache file.
    pub scan: Vec<[u32; 2]>,
    /// What the handover decided from the core's tables, for the cache file
    /// (None: not to be kept).
    pub facts: Option<super::bindcache::Facts>,
    /// ld.so, mapped before the handover (by `handover::preflight`), and
    /// the core set the cache was then looked for with.
    pub ldso_early: Option<(Vec<u8>, Box<Object>, Vec<bool>)>,
    /// check_versions printed nothing.
    pub versions_clean: bool,
    /// The Bloom filters of the global scope's objects, entry k for
    /// `scope[k]` (see `index_scope`); empty until relocation starts.
    pub probes: AppendVec<Probe>,
}

/// One global-scope object's Bloom filter, kept in one contiguous list: a
/// lookup walks the whole scope, and rejecting an object from here touches
/// one cache line for several objects instead of each object's own
/// structures (half of a cache-free start-up's lookup time).
pub struct Probe {
    obj: u32,
    shift: u32,
    /// The filter's word count less one (a power of two).
    mask: u32,
    words: usize,
    /// SKIPPABLE (with CORE) or DEAD.
    flags: AtomicU8,
}

/// A rejected name means the object is passed over without a look.
const SKIPPABLE: u8 = 1;
/// The object was unloaded: always passed over (as a removed object is).
const DEAD: u8 = 2;
/// An object of the glibc core: passed over only by a lookup for which the
/// core is no different from any object (see Loader::lookup_scoped).
const CORE: u8 = 4;

/// How many global-scope objects `probes` covers (a larger scope is
/// searched without it past this).
pub const MAX_PROBES: usize = 2048;

impl Probe {
    /// Whether the object can be passed over for a name of GNU hash `h`
    /// without changing the outcome of a lookup; an object of the glibc
    /// core only with `core_too`.
    #[inline]
    fn passes_over(&self, h: u32, core_too: bool) -> bool {
        let f = self.flags.load(Ordering::Acquire);
        if f & DEAD != 0 {
            return true;
        }
        if f & SKIPPABLE == 0 || (f & CORE != 0 && !core_too) {
            return false;
        }
        // SAFETY: `words` is the object's filter of mask + 1 words, mapped
        // while the object is not DEAD (checked above; unloading marks it
        // before unmapping).
        let word = unsafe { *(self.words as *const u64).add(((h / 64) & self.mask) as usize) };
        let bits = shimld::symtab::bloom_bits(h, self.shift);
        word & bits != bits
    }
}

/// The loader state, published for the lazy-binding resolver and the fini
/// function, which run on program threads after start-up.
static LOADER: AtomicPtr<Loader> = AtomicPtr::new(core::ptr::null_mut());

pub fn publish(l: Box<Loader>) -> &'static Loader {
    let p = Box::into_raw(l);
    LOADER.store(p, Ordering::Release);
    // SAFETY: the box is leaked and never freed or mutated through another
    // path after this point.
    unsafe { &*p }
}

/// The published loader state, if start-up got that far.
pub fn get() -> Option<&'static Loader> {
    let p = LOADER.load(Ordering::Acquire);
    // SAFETY: set once by `publish` from a leaked box.
    unsafe { p.as_ref() }
}

impl Loader {
    pub fn empty() -> Loader {
        Loader {
            objs: AppendVec::with_capacity(MAX_OBJECTS),
            scope: AppendVec::with_capacity(MAX_OBJECTS),
            prog: Vec::new(),
            bind_now: false,
            dynamic_weak: false,
            init_order: Vec::new(),
            tls: None,
            stats: Stats::default(),
            core: Vec::new(),
            skip_copies: Default::default(),
            stub_phdr: 0,
            me: None,
            direct: false,
            debug_head: None,
            vdso: None,
            cache_dir: None,
            bindcache: None,
            cache_looked: None,
            scan: Vec::new(),
            facts: None,
            ldso_early: None,
            versions_clean: false,
            probes: AppendVec::with_capacity(0),
            dl: super::lock::RecursiveMutex::new(None),
        }
    }

    /// Records that object `from` uses a definition in `to`, as ld.so's
    /// `add_dependency` does, so that dlclose does not unload `to` under
    /// it: an object that is never unloaded makes `to` permanent too;
    /// another object loaded by dlopen keeps `to` while it stays.
    pub fn add_dependency(&self, from: usize, to: usize) {
        let (f, t) = (&self.objs[from], &self.objs[to]);
        if from == to || !t.dlopened || t.nodelete.load(Ordering::Acquire) {
            return;
        }
        if !f.dlopened || f.nodelete.load(Ordering::Acquire) {
            t.nodelete.store(true, Ordering::Release);
            return;
        }
        if f.local_scope.contains(&to) {
            return;
        }
        let r = f.reldeps.lock();
        if !r.get().contains(&to) {
            r.get().push(to);
        }
    }

    /// Looks `name` up (unversioned) in object `i` alone.
    pub fn lookup_in(&self, i: usize, name: &[u8]) -> Option<Def> {
        let j = self.index_in(i, name)?;
        Some(Def { obj: i, sym: Some(&self.objs[i].syms.syms[j as usize]) })
    }

    /// The symbol index of `name` (unversioned) in object `i`.
    fn index_in(&self, i: usize, name: &[u8]) -> Option<u32> {
        self.objs[i].syms.lookup(&mut Name::new(name), &Want { version: None, plt: false, newest: true })
    }

    /// The address a definition stands for, calling an IFUNC resolver if
    /// the symbol is one.
    pub fn value(&self, def: &Def) -> usize {
        let Some(s) = def.sym else { return 0 };
        let o = &self.objs[def.obj];
        if s.st_shndx == elf::SHN_ABS {
            return s.st_value as usize;
        }
        let addr = o.addr(s.st_value);
        if s.kind() == elf::STT_GNU_IFUNC && s.st_shndx != elf::SHN_UNDEF {
            return call_ifunc(addr);
        }
        addr
    }

    /// The value of a definition for a relocation of object `from` at
    /// start-up. An IFUNC resolver in an object not yet relocated is a
    /// problem, as in ld.so: fatal if that object is the executable (it is
    /// relocated last, so the dependency cannot be satisfied), a warning
    /// otherwise. `ref_name` names the symbol for the messages.
    pub fn value_for(&self, from: usize, def: &Def, ref_name: impl Fn() -> &'static [u8]) -> usize {
        if let Some(s) = def.sym {
            let d = &self.objs[def.obj];
            if s.kind() == elf::STT_GNU_IFUNC
                && s.st_shndx != elf::SHN_UNDEF
                && def.obj != from
                && !d.relocated.load(Ordering::Acquire)
            {
                let o = &self.objs[from];
                if d.kind == Kind::Exec {
                    crate::eprint!(
                        "{}: IFUNC symbol '{}' referenced in '{}' is defined in the executable and creates an unsatisfiable circular dependency.\n",
                        B(&self.prog),
                        B(ref_name()),
                        B(&o.path)
                    );
                    sys::exit_group(127);
                }
                crate::eprint!(
                    "{}: Relink `{}' with `{}' for IFUNC symbol `{}'\n",
                    B(&self.prog),
                    B(&o.path),
                    B(&d.path),
                    B(ref_name())
                );
            }
        }
        self.value(def)
    }

    /// Resolves symbol `idx` of object `from` for a relocation of `class`.
    pub fn resolve(&self, from: usize, idx: u32, class: Class, stats: &mut Stats) -> Result<Def, Error> {
        let o = &self.objs[from];
        let Some(sym) = o.syms.syms.get(idx as usize) else {
            return Err(Error::Reloc {
                obj: o.path.clone(),
                detail: alloc::format!("symbol index {idx} out of range"),
            });
        };
        // The null symbol, local symbols and hidden ones bind to the object
        // itself without a lookup: an undefined one to nothing, if weak (a
        // strong one is a damaged table: ld.so would bind it to address 0 of
        // the object).
        if idx == 0 || sym.bind() == elf::STB_LOCAL || matches!(sym.visibility(), elf::STV_HIDDEN | elf::STV_INTERNAL) {
            if idx != 0 && sym.st_shndx == elf::SHN_UNDEF {
                if sym.bind() == elf::STB_WEAK {
                    return Ok(Def { obj: from, sym: None });
                }
                let name = o.syms.name(idx).unwrap_or(b"?");
                return Err(Error::Reloc {
                    obj: o.path.clone(),
                    detail: alloc::format!("undefined symbol `{}' is local to the object", B(name)),
                });
            }
            return Ok(Def { obj: from, sym: Some(sym) });
        }
        let Some(name) = o.syms.name(idx) else {
            return Err(Error::Reloc {
                obj: o.path.clone(),
                detail: alloc::format!("symbol name of index {idx} out of range"),
            });
        };
        if o.syms.version_missing(idx) {
            return Err(Error::Reloc {
                obj: o.path.clone(),
                detail: alloc::format!(
                    "symbol `{}' has version index {}, which no version table gives",
                    B(name),
                    o.syms.version_index(idx) & elf::VERSYM_VERSION
                ),
            });
        }
        let version = o.syms.wanted_version(idx);
        stats.lookups += 1;
        let t0 = if stats.timed { super::timing::ticks() } else { 0 };
        let found = self.lookup(name, version, from, class);
        if stats.timed {
            stats.lookup_ticks += super::timing::ticks() - t0;
        }
        let def = match found {
            Some(d) => {
                self.check_value(&d, name)?;
                self.add_dependency(from, d.obj);
                d
            }
            None if sym.bind() == elf::STB_WEAK => {
                debug!(cat::BINDINGS, "binding file {} to nothing: weak symbol `{}'", B(&o.path), B(name));
                return Ok(Def { obj: from, sym: None });
            }
            None => {
                return Err(Error::Undefined {
                    obj: o.path.clone(),
                    name: name.to_vec(),
                    version: version.map(|v| v.name.to_vec()),
                })
            }
        };
        // An object's reference to its own protected symbol stays inside the
        // object (glibc 2.36 semantics).
        let def = if sym.visibility() == elf::STV_PROTECTED && sym.st_shndx != elf::SHN_UNDEF && def.obj != from {
            if class == Class::Plt {
                Def { obj: from, sym: Some(sym) }
            } else {
                match self.lookup(name, version, from, Class::Plt) {
                    Some(d) if d.obj != from => Def { obj: from, sym: Some(sym) },
                    _ => def,
                }
            }
        } else {
            def
        };
        if super::out::enabled(cat::BINDINGS) {
            let v = version.map(|v| v.name).unwrap_or(b"");
            // shimld's own definitions (replacing the glibc core's) are
            // named as shimld's, whatever name its object stands under.
            let to = if Some(def.obj) == self.me { &b"shimld"[..] } else { &self.objs[def.obj].path[..] };
            debug!(cat::BINDINGS, "binding file {} to {}: normal symbol `{}' [{}]", B(&o.path), B(to), B(name), B(v));
        }
        Ok(def)
    }

    /// A definition's value must lie in its object (a damaged symbol table
    /// would send the program to a wild address), unless it is absolute or
    /// thread-local (an offset in the TLS block).
    pub fn check_value(&self, d: &Def, name: &[u8]) -> Result<(), Error> {
        let Some(s) = d.sym else { return Ok(()) };
        let o = &self.objs[d.obj];
        if s.st_shndx == elf::SHN_ABS || s.kind() == elf::STT_TLS || o.in_segments(s.st_value) {
            return Ok(());
        }
        Err(Error::Reloc {
            obj: o.path.clone(),
            detail: alloc::format!("symbol `{}' lies outside the loaded segments", B(name)),
        })
    }

    /// Looks `name` up in the scope of object `from`.
    pub fn lookup(&self, name: &[u8], version: Option<Version>, from: usize, class: Class) -> Option<Def> {
        self.lookup_scoped(name, version, from, class, false, Scope::Of(from))
    }

    /// The objects a lookup searches, in order: a DT_SYMBOLIC object
    /// itself first; then the global scope and, for an object that
    /// `dlopen` loaded, its own dependencies (first with RTLD_DEEPBIND).
    fn scope_of(&self, scope: Scope) -> Vec<usize> {
        let global = self.scope.iter().copied();
        match scope {
            Scope::Of(from) => {
                let o = &self.objs[from];
                let mut v = Vec::new();
                if o.d.symbolic && o.kind != Kind::Exec {
                    v.push(from);
                }
                if o.deepbind {
                    v.extend(o.local_scope.iter().copied());
                    v.extend(global);
                } else {
                    v.extend(global);
                    v.extend(o.local_scope.iter().copied());
                }
                v
            }
            Scope::List(l) => l.to_vec(),
            Scope::After(caller) => {
                let mut v: Vec<usize> = global.skip_while(|&i| i != caller).skip(1).collect();
                let local = &self.objs[caller].local_scope;
                v.extend(local.iter().copied().skip_while(|&i| i != caller).skip(1));
                v
            }
        }
    }

    /// Looks `name` up in `scope`. Objects that were unloaded are skipped.
    /// For a glibc program, where the search reaches the glibc core, the
    /// functions shimld replaces (the dl* family) are found first.
    pub fn lookup_scoped(
        &self,
        name: &[u8],
        version: Option<Version>,
        from: usize,
        class: Class,
        newest: bool,
        scope: Scope,
    ) -> Option<Def> {
        let want = Want { version, plt: class == Class::Plt, newest };
        let mut n = Name::new(name);
        let trace = super::out::enabled(cat::SYMBOLS);
        // For a glibc program, the functions shimld replaces are found where
        // the search reaches the glibc core, before the core's own.
        let mut overrides = self.me.filter(|_| self.objs[from].kind != Kind::Core);
        // The glibc core can be passed over as any object is unless the name
        // is one whose replacement `visit` puts where the search reaches it.
        let core_too = overrides.is_none() || !(super::dl::OVERRIDES.contains(&name) || super::replica::active(name));
        let visit = |i: usize| {
            let o = &self.objs[i];
            if o.kind == Kind::Core {
                if let Some(me) = overrides.take() {
                    if super::dl::OVERRIDES.contains(&name) || super::replica::active(name) {
                        if let Some(j) = self.index_in(me, name) {
                            return Some((me, j));
                        }
                    }
                }
            }
            if trace {
                debug!(cat::SYMBOLS, "symbol={};  lookup in file={} [0]", B(name), B(&o.path));
            }
            None
        };
        let candidate = |i: usize| {
            let o = &self.objs[i];
            (!o.removed.load(Ordering::Acquire)).then(|| bind::Candidate {
                idx: i,
                syms: &o.syms,
                exec: o.kind == Kind::Exec,
            })
        };
        // Most lookups search the global scope alone: no list to build.
        let plain = match scope {
            Scope::Of(f) => {
                let o = &self.objs[f];
                !(o.d.symbolic && o.kind != Kind::Exec) && o.local_scope.is_empty()
            }
            _ => false,
        };
        let found = if plain {
            // Objects whose Bloom filter rejects the name are passed over
            // from the contiguous index (not while tracing: the trace names
            // every object searched, as ld.so's does).
            let h = n.gnu;
            let n_scope = self.scope.len();
            let probes = self.probes.as_slice();
            if !trace && probes.len() >= n_scope {
                // probes[k] stands for scope[k] (index_scope).
                let order = probes[..n_scope]
                    .iter()
                    .filter(|p| !p.passes_over(h, core_too))
                    .filter_map(|p| candidate(p.obj as usize));
                bind::first_definition(order, &mut n, &want, class, self.dynamic_weak, visit)
            } else {
                let order = self.scope.iter().copied().filter_map(candidate);
                bind::first_definition(order, &mut n, &want, class, self.dynamic_weak, visit)
            }
        } else {
            let order = self.scope_of(scope);
            bind::first_definition(
                order.into_iter().filter_map(candidate),
                &mut n,
                &want,
                class,
                self.dynamic_weak,
                visit,
            )
        };
        let (i, j) = found?;
        Some(Def { obj: i, sym: Some(&self.objs[i].syms.syms[j as usize]) })
    }

    /// Extends `probes` to the whole global scope. It runs once every
    /// object is mapped where it stays (after the handover, and after a
    /// dlopen, in which ld.so maps any object of the glibc core). The
    /// core's objects are passed over only by lookups of names shimld does
    /// not replace (see `lookup_scoped`); shimld's own object never is.
    /// Appends must be serialised as the scope's are.
    pub fn index_scope(&self) {
        for k in self.probes.len()..self.scope.len() {
            let Some(&i) = self.scope.get(k) else { break };
            let o = &self.objs[i];
            let filter = o.syms.bloom().filter(|(w, _)| w.len().is_power_of_two() && w.len() <= u32::MAX as usize);
            let (words, shift, mask, flags) = match filter {
                Some((w, shift)) if o.kind != Kind::Rtld => {
                    let core = if o.kind == Kind::Core { CORE } else { 0 };
                    (w.as_ptr() as usize, shift, (w.len() - 1) as u32, SKIPPABLE | core)
                }
                _ => (0, 0, 0, 0),
            };
            if !self.probes.push(Probe { obj: i as u32, shift, mask, words, flags: AtomicU8::new(flags) }) {
                break;
            }
        }
    }

    /// Marks object `i` unloaded in `probes` (before it is unmapped).
    pub fn unindex(&self, i: usize) {
        for p in self.probes.iter().filter(|p| p.obj as usize == i) {
            p.flags.store(DEAD, Ordering::Release);
        }
    }

    /// The main program (always object 0).
    pub fn main(&self) -> &Object {
        &self.objs[0]
    }
}

/// Calls an IFUNC resolver. x86-64 resolvers take no arguments.
pub fn call_ifunc(addr: usize) -> usize {
    // SAFETY: `addr` is the resolver of an STT_GNU_IFUNC symbol or
    // IRELATIVE relocation of a relocated object; the ABI makes it a
    // function taking nothing and returning the implementation's address.
    let f: extern "C" fn() -> usize = unsafe { core::mem::transmute(addr) };
    f()
}

/// ld.so's dependency sort (glibc 2.36 `_dl_sort_maps_dfs`): a depth-first
/// search from each object, last to first, giving a reverse postorder in
/// which every object comes before its dependencies. The main program (at
/// `list[0]`) is never entered as a dependency and stays first.
///
/// Only the objects of `list` take part: a dependency outside it (already
/// loaded before a dlopen, say) is neither entered nor returned.
pub fn sort(objs: &Objects, list: &[usize]) -> Vec<usize> {
    let mut visited = alloc::vec![true; objs.len()];
    for &i in list {
        visited[i] = false;
    }
    let mut post = Vec::with_capacity(list.len());
    let main = list.first().copied();
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for &start in list.iter().rev() {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        stack.push((start, 0));
        while let Some(top) = stack.last_mut() {
            let (m, next) = *top;
            if let Some(&dep) = objs[m].deps.get(next) {
                top.1 += 1;
                if !visited[dep] && Some(dep) != main {
                    visited[dep] = true;
                    stack.push((dep, 0));
                }
            } else {
                post.push(m);
                stack.pop();
            }
        }
    }
    post.reverse();
    if let Some(m) = main {
        if post.first() != Some(&m) {
            post.retain(|&x| x != m);
            post.insert(0, m);
        }
    }
    post
}

/// The file side of the closure search, for the loader: files are mapped
/// as they are found, as ld.so does.
pub struct RtHost {
    pub rtld: Option<Box<Object>>,
    pub cpu_level: Option<u8>,
    /// At start-up, objects named like the glibc core's are only viewed,
    /// not mapped: ld.so maps them (main remaps any that turn out not to
    /// be core).
    pub view_core: bool,
    /// And not even viewed, only described (`Object::describe`), where the
    /// resolution cache may make their tables unneeded before ld.so maps
    /// them.
    pub describe_core: bool,
    /// The relocations of the objects loaded so far outside the core
    /// (symbolic, RELATIVE): a core object is described only where they
    /// already make the closure worth caching (otherwise the description
    /// is read for nothing, and the object viewed after all).
    pub weight: (usize, usize),
}

impl Host for RtHost {
    type Probe = ElfFile;
    type Handle = Box<Object>;

    fn probe(&mut self, path: &[u8]) -> Result<(ElfFile, FileId), OpenError> {
        match map::open_elf(path) {
            Ok(f) => {
                let id = FileId { dev: f.dev, ino: f.ino };
                Ok((f, id))
            }
            Err(map::MapError::Open(e)) => Err(OpenError::NotFound(e.0)),
            // ld.so passes over objects for another machine as if absent,
            // and names only a wrong class if nothing else is found.
            Err(map::MapError::Header(shimld::elf::HeaderError::WrongMachine)) => Err(OpenError::NotFound(sys::ENOENT)),
            Err(map::MapError::Header(h)) if h.skip_in_search() => Err(OpenError::Skip(h.message())),
            Err(map::MapError::Read(_)) => Err(OpenError::Bad("cannot read file data: Error 21")),
            Err(e) => Err(OpenError::Bad(e.message())),
        }
    }

    fn load(&mut self, mut f: ElfFile, path: &[u8]) -> Result<(Box<Object>, Meta), OpenError> {
        let file = path.rsplit(|&c| c == b'/').next().unwrap_or(path);
        let core = self.view_core && shimld::bind::CORE_SONAMES.contains(&file);
        let described = if core && self.describe_core && super::bindcache::worth(self.weight.0, self.weight.1) {
            Object::describe(Kind::Lib, path.to_vec(), &f)
        } else {
            None
        };
        let root_file = if super::root::is_set() { map::fd_path(f.fd) } else { None };
        let mut o = if let Some(mut o) = described {
            // The file stays open until the object is viewed or released.
            if let Some(d) = o.described.as_mut() {
                d.file = Some(f);
            }
            Ok(o)
        } else if core {
            Object::view(Kind::Lib, path.to_vec(), &f)
        } else {
            Object::map(Kind::Lib, path.to_vec(), &mut f)
        }
        .map_err(|e| OpenError::Bad(e.message()))?;
        if let Some(p) = root_file {
            o.file = p;
        }
        if !core {
            let (s, r) = o.reloc_weight();
            self.weight = (self.weight.0 + s, self.weight.1 + r);
        }
        if o.d.has_filter {
            return Err(OpenError::Bad("filter objects (DT_FILTER, DT_AUXILIARY) are not supported"));
        }
        debug!(cat::FILES, "file={} [0];  generating link map", B(path));
        debug!(
            cat::FILES,
            "  dynamic: 0x{:016x}  base: 0x{:016x}   size: 0x{:016x}",
            o.dynamic.map_or(0, |d| o.addr(d.p_vaddr)),
            o.base,
            o.map_end - o.map_start
        );
        let meta = o.meta();
        Ok((o, meta))
    }

    fn rtld(&mut self) -> Option<Box<Object>> {
        self.rtld.take()
    }

    fn is_dir(&mut self, path: &[u8]) -> bool {
        super::root::is_dir(path)
    }

    fn hwcaps(&mut self) -> Vec<&'static [u8]> {
        let level = *self.cpu_level.get_or_insert_with(shimld::cpu::level);
        shimld::search::CpuFeatures { level }.hwcaps()
    }

    fn trace(&mut self, t: Trace) {
        if !super::out::enabled(cat::FILES) {
            return;
        }
        match t {
            Trace::Find { name, requester } => {
                debug!(cat::FILES, "file={} [0];  needed by {} [0]", B(name), B(requester));
                debug!(cat::FILES, "find library={} [0]; searching", B(name));
            }
            Trace::SearchPath { dirs, source, owner } => {
                let mut joined = Vec::new();
                for (i, d) in dirs.iter().enumerate() {
                    if i > 0 {
                        joined.push(b':');
                    }
                    joined.extend_from_slice(d);
                }
                if owner.is_empty() {
                    debug!(cat::FILES, " search path={}\t\t({})", B(&joined), source.label());
                } else {
                    debug!(cat::FILES, " search path={}\t\t({} from file {})", B(&joined), source.label(), B(owner));
                }
            }
            Trace::SearchCache => debug!(cat::FILES, " search cache=/etc/ld.so.cache"),
            Trace::Trying { path } => debug!(cat::FILES, "  trying file={}", B(path)),
        }
    }
}
