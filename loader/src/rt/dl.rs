//! The dl* family as the program sees it: shimld's own implementations,
//! bound into every object shimld loads. They know shimld's objects and
//! defer to glibc's for the glibc core (whose handles are glibc's).

use super::loader::{self, Class, Def, Loader, RtHost, Scope};
use super::lock;
use super::object::{Kind, Object};
use super::out::{cat, B};
use crate::debug;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use shimld::closure::{self, Closure, Config};
use shimld::elf;
use shimld::search::Source;

pub const RTLD_LAZY: i32 = 0x1;
pub const RTLD_NOW: i32 = 0x2;
pub const RTLD_NOLOAD: i32 = 0x4;
pub const RTLD_DEEPBIND: i32 = 0x8;
pub const RTLD_GLOBAL: i32 = 0x100;
pub const RTLD_NODELETE: i32 = 0x1000;
const RTLD_NEXT: usize = usize::MAX;
const RTLD_DEFAULT: usize = 0;

/// The public part of glibc's `struct link_map`, which shimld gives each of
/// its objects: its address is the object's dlopen handle.
///
/// The fields are atomics (the same layout as the C fields) because dlopen
/// and dlclose re-chain them while other threads may read them.
#[repr(C)]
pub struct LinkMap {
    pub l_addr: AtomicUsize,
    pub l_name: AtomicPtr<u8>,
    pub l_ld: AtomicUsize,
    pub l_next: AtomicPtr<LinkMap>,
    pub l_prev: AtomicPtr<LinkMap>,
}

impl LinkMap {
    pub fn copy_of(addr: usize, name: *const u8, ld: usize) -> LinkMap {
        let lm = LinkMap::default();
        lm.l_addr.store(addr, Ordering::Relaxed);
        lm.l_name.store(name as *mut u8, Ordering::Relaxed);
        lm.l_ld.store(ld, Ordering::Relaxed);
        lm
    }
}

impl Default for LinkMap {
    fn default() -> Self {
        LinkMap {
            l_addr: AtomicUsize::new(0),
            l_name: AtomicPtr::new(b"\0".as_ptr() as *mut u8),
            l_ld: AtomicUsize::new(0),
            l_next: AtomicPtr::new(core::ptr::null_mut()),
            l_prev: AtomicPtr::new(core::ptr::null_mut()),
        }
    }
}

/// `struct dl_phdr_info`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct DlPhdrInfo {
    pub addr: usize,
    pub name: *const u8,
    pub phdr: *const elf::Phdr,
    pub phnum: u16,
    pub adds: u64,
    pub subs: u64,
    pub tls_modid: usize,
    pub tls_data: *mut c_void,
}

/// `struct dl_find_object` (glibc 2.35).
#[repr(C)]
pub struct DlFindObject {
    pub flags: u64,
    pub map_start: usize,
    pub map_end: usize,
    pub link_map: *const LinkMap,
    pub eh_frame: usize,
    pub reserved: [u64; 7],
}

/// `Dl_info`.
#[repr(C)]
pub struct DlInfo {
    pub fname: *const u8,
    pub fbase: usize,
    pub sname: *const u8,
    pub saddr: usize,
}

type PhdrCallback = extern "C" fn(*mut DlPhdrInfo, usize, *mut c_void) -> i32;

/// One thread's dlerror state.
struct ThreadError {
    thread: usize,
    pending: Option<Vec<u8>>,
    /// The string dlerror last returned, kept until the next call.
    shown: Option<Vec<u8>>,
}

/// What dlopen needs, kept behind the dl lock: the closure's search state
/// (the objects' names and search paths, one node per object) and the
/// per-thread error strings.
pub struct DlState {
    pub closure: Closure<Box<Object>>,
    pub cfg: Config<'static>,
    pub host: RtHost,
    errors: Vec<ThreadError>,
    /// Static TLS space for objects loaded later.
    pub tls: Option<super::tls::Reserve>,
    /// Counts for dl_iterate_phdr.
    adds: u64,
    subs: u64,
}

impl DlState {
    pub fn new(closure: Closure<Box<Object>>, cfg: Config<'static>, host: RtHost) -> DlState {
        DlState { closure, cfg, host, errors: Vec::new(), tls: None, adds: 0, subs: 0 }
    }

    fn error_slot(&mut self) -> &mut ThreadError {
        let t = lock::thread_id();
        match self.errors.iter().position(|e| e.thread == t) {
            Some(i) => &mut self.errors[i],
            None => {
                self.errors.push(ThreadError { thread: t, pending: None, shown: None });
                self.errors.last_mut().unwrap()
            }
        }
    }
}

fn loader() -> Option<&'static Loader> {
    loader::get()
}

/// Records the calling thread's dlerror text.
fn set_error(ld: &Loader, args: core::fmt::Arguments) {
    let mut s = alloc::string::String::new();
    let _ = s.write_fmt(args);
    let g = ld.dl.lock();
    if let Some(st) = g.get().as_mut() {
        let mut v = s.into_bytes();
        v.push(0);
        st.error_slot().pending = Some(v);
    }
}

/// The functions shimld puts in place of the glibc core's for the objects
/// it loads.
pub use shimld::bind::OVERRIDES;

/// The functions the stub exports to the glibc core, so that the core's
/// unwinder (libgcc_s) and anything else bound through its PLT find
/// shimld's objects too.
pub fn core_exports() -> [(&'static [u8], usize); 2] {
    [
        (b"_dl_find_object", _dl_find_object as *const () as usize),
        (b"dl_iterate_phdr", dl_iterate_phdr as *const () as usize),
    ]
}

/// The objects shimld loaded and relocated itself: the program and its
/// non-core libraries.
fn own(o: &Object) -> bool {
    !matches!(o.kind, Kind::Core | Kind::Rtld) && !o.removed.load(Ordering::Acquire)
}

/// A function of the glibc core, looked up once: the first core object
/// that defines `name`.
fn core_fn(cache: &AtomicUsize, name: &[u8]) -> Option<usize> {
    let v = cache.load(Ordering::Acquire);
    if v != 0 {
        return Some(v);
    }
    let ld = loader()?;
    let def = (0..ld.objs.len()).filter(|&i| ld.objs[i].kind == Kind::Core).find_map(|i| ld.lookup_in(i, name))?;
    let f = ld.value(&def);
    cache.store(f, Ordering::Release);
    Some(f)
}

macro_rules! glibc {
    ($name:literal, $ty:ty) => {{
        static CACHE: AtomicUsize = AtomicUsize::new(0);
        // SAFETY: the named function of the glibc core, relocated by ld.so,
        // has this C signature.
        core_fn(&CACHE, $name).map(|f| unsafe { core::mem::transmute::<usize, $ty>(f) })
    }};
}

/// The object (of shimld's) containing `addr`.
fn object_at(ld: &Loader, addr: usize) -> Option<usize> {
    (0..ld.objs.len()).find(|&i| {
        let o = &ld.objs[i];
        o.kind != Kind::Rtld && !o.removed.load(Ordering::Acquire) && addr >= o.map_start && addr < o.map_end
    })
}

/// The object a handle names, if it is one of shimld's. (shimld's copies
/// of core objects' link_maps stand for glibc's handles: see
/// `glibc_handle`.)
fn handle_obj(ld: &Loader, h: usize) -> Option<usize> {
    (0..ld.objs.len())
        .find(|&i| &ld.objs[i].lm as *const LinkMap as usize == h && !ld.objs[i].removed.load(Ordering::Acquire))
        .filter(|&i| ld.objs[i].kind != Kind::Core)
}

/// glibc's handle for a handle the program passes.
fn glibc_handle(ld: &Loader, h: usize) -> usize {
    (0..ld.objs.len())
        .map(|i| &ld.objs[i])
        .find(|o| o.kind == Kind::Core && &o.lm as *const LinkMap as usize == h && o.glibc_map != 0)
        .map_or(h, |o| o.glibc_map)
}

/// The address of an object's TLS block in the calling thread.
fn tls_block(o: &Object) -> usize {
    match o.tls {
        Some(t) if t.offset != 0 => lock::thread_id().wrapping_sub(t.offset),
        _ => 0,
    }
}

/// The address a definition stands for in the calling thread: a TLS
/// symbol's address in this thread's block.
fn symbol_address(ld: &Loader, d: &Def) -> usize {
    let Some(s) = d.sym else { return 0 };
    if s.kind() == elf::STT_TLS {
        let o = &ld.objs[d.obj];
        if o.kind == Kind::Core {
            return 0;
        }
        return tls_block(o).wrapping_add(s.st_value as usize);
    }
    ld.value(d)
}

// ---------------------------------------------------------------------------
// dlopen and dlclose.

/// `dlopen(file, mode)`; the entry passes the caller's return address,
/// which says whose search path applies.
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn dlopen() {
    core::arch::naked_asm!("mov rdx, [rsp]", "jmp {imp}", imp = sym dlopen_impl)
}

/// Forgets the calling thread's pending error, as each dl* call that
/// reports through dlerror does first.
fn clear_error(ld: &Loader) {
    let g = ld.dl.lock();
    if let Some(st) = g.get().as_mut() {
        st.error_slot().pending = None;
    }
}

extern "C" fn dlopen_impl(file: *const u8, mode: i32, caller: usize) -> *mut c_void {
    let Some(ld) = loader() else { return core::ptr::null_mut() };
    clear_error(ld);
    if file.is_null() {
        return &ld.objs[0].lm as *const LinkMap as *mut c_void;
    }
    // SAFETY: the caller passes a C string.
    let name = unsafe { super::process::cstr(file) };
    match open(ld, name, mode, caller) {
        Ok(h) => h as *mut c_void,
        Err(()) => core::ptr::null_mut(),
    }
}

/// Whether an object belongs to the glibc core (by its soname, or because
/// it imports ld.so's private symbols).
fn is_core(o: &Object) -> bool {
    shimld::bind::CORE_SONAMES.contains(&o.short_name()) || o.syms.requirements().any(|v| v.name == b"GLIBC_PRIVATE")
}

fn glibc_dlopen(ld: &Loader, path: &[u8], mode: i32) -> Result<usize, ()> {
    let Some(f) = glibc!(b"dlopen", extern "C" fn(*const u8, i32) -> *mut c_void) else {
        set_error(ld, format_args!("{}: cannot open this glibc object without glibc's dlopen", B(path)));
        return Err(());
    };
    let mut c = path.to_vec();
    c.push(0);
    let h = f(c.as_ptr(), mode);
    if h.is_null() {
        // Carry glibc's message over to shimld's dlerror.
        if let Some(e) = glibc!(b"dlerror", extern "C" fn() -> *const u8) {
            let msg = e();
            // SAFETY: glibc's dlerror returns a C string or NULL.
            set_error(ld, format_args!("{}", B(unsafe { super::process::cstr(msg) })));
        }
        return Err(());
    }
    Ok(h as usize)
}

fn open(ld: &'static Loader, name: &[u8], mode: i32, caller: usize) -> Result<usize, ()> {
    let g = ld.dl.lock();
    let Some(st) = g.get().as_mut() else {
        set_error(ld, format_args!("{}: dlopen is not available here", B(name)));
        return Err(());
    };
    let by = object_at(ld, caller).unwrap_or(0);
    let start = st.closure.nodes.len();
    // The program's $ORIGIN, if start-up did not need it (see main).
    if st.closure.nodes[0].origin.is_none() {
        st.closure.nodes[0].origin = crate::program_origin();
    }
    let found = match st.closure.find_loaded(name) {
        Some(i) => Some(i),
        None if mode & RTLD_NOLOAD != 0 => return Err(()),
        None => {
            let by_node = if by < start { by } else { 0 };
            match st.closure.load(&mut st.host, &st.cfg, name, by_node, Source::Path) {
                Ok(x) => x,
                Err(e) => {
                    fail_open(ld, st, start, &e);
                    return Err(());
                }
            }
        }
    };
    let Some(root) = found else {
        let why = st.closure.skipped_reason();
        rollback(st, start);
        match why {
            Some(w) => set_error(ld, format_args!("{}: {}", B(name), w)),
            None => {
                set_error(ld, format_args!("{}: cannot open shared object file: No such file or directory", B(name)))
            }
        }
        return Err(());
    };
    if root < start {
        // Already loaded: count the open (a core object is glibc's).
        let o = &ld.objs[root];
        if o.kind == Kind::Core || o.kind == Kind::Rtld {
            let path = o.path.clone();
            drop(g);
            return glibc_dlopen(ld, &path, mode);
        }
        // Every successful dlopen counts, RTLD_NOLOAD ones too.
        o.opens.fetch_add(1, Ordering::AcqRel);
        if mode & RTLD_NODELETE != 0 {
            o.nodelete.store(true, Ordering::Release);
        }
        if mode & RTLD_GLOBAL != 0 {
            make_global(ld, root);
        }
        return Ok(&o.lm as *const LinkMap as usize);
    }
    if let Err(e) = st.closure.load_needed(&mut st.host, &st.cfg, start, false) {
        fail_open(ld, st, start, &e);
        return Err(());
    }
    // The glibc core is glibc's: a core object asked for by name goes to
    // glibc's dlopen; a new core dependency is loaded by glibc and used
    // from there.
    let root_core = st.closure.nodes[root].handle.as_ref().is_some_and(|o| is_core(o));
    if root_core {
        let path = st.closure.nodes[root].path.clone();
        rollback(st, start);
        drop(g);
        return glibc_dlopen(ld, &path, mode);
    }
    // Publish the new objects (their indices are their node indices).
    let end = st.closure.nodes.len();
    let mut local = Vec::new();
    bfs(&st.closure, root, &mut local);
    let deepbind = mode & RTLD_DEEPBIND != 0;
    for n in start..end {
        let node = &mut st.closure.nodes[n];
        let Some(mut o) = node.handle.take() else { continue };
        o.idx = n;
        o.deps = node.deps.clone();
        o.dlopened = true;
        o.local_scope = local.clone();
        o.deepbind = deepbind;
        if o.d.flags_1 & elf::DF_1_NODELETE != 0 {
            o.nodelete.store(true, Ordering::Relaxed);
        }
        link_map_fill(&o);
        let core = is_core(&o);
        if !ld.objs.push(o) {
            set_error(ld, format_args!("{}: too many objects", B(name)));
            return Err(());
        }
        st.adds += 1;
        if core {
            // SAFETY: nothing uses shimld's mapping of it; glibc maps it.
            let path = ld.objs[n].path.clone();
            let h = match glibc_dlopen(ld, &path, (mode & (RTLD_LAZY | RTLD_NOW)) | RTLD_NODELETE) {
                Ok(h) => h,
                Err(()) => return Err(()),
            };
            // SAFETY: h is a glibc link_map; l_addr is its first field. The
            // object is not shared with any other thread yet.
            let base = unsafe { *(h as *const usize) };
            let o = obj_mut(ld, n);
            unsafe {
                o.unmap();
                if let Err(e) = o.rebase(Kind::Core, base) {
                    set_error(ld, format_args!("{}: {}", B(&path), e));
                    return Err(());
                }
            }
            o.relocated.store(true, Ordering::Release);
        }
    }
    if ld.objs[root].d.flags_1 & elf::DF_1_NOOPEN != 0 {
        set_error(ld, format_args!("{}: shared object cannot be dlopen()ed", B(&ld.objs[root].path)));
        unload(ld, st, &(start..end).collect::<Vec<_>>());
        return Err(());
    }
    for n in start..end {
        if let Err(e) = super::tls::assign_dynamic(obj_mut(ld, n), st.tls.as_mut()) {
            set_error(ld, format_args!("{}: {}", B(&ld.objs[n].path), e));
            unload(ld, st, &(start..end).collect::<Vec<_>>());
            return Err(());
        }
    }
    // Relocate, dependencies first.
    let new: Vec<usize> = (start..end).collect();
    let mut order = loader::sort(&ld.objs, &new);
    order.reverse();
    let mut stats = loader::Stats::default();
    for &i in &order {
        let o = &ld.objs[i];
        if o.kind == Kind::Core {
            continue;
        }
        let lazy = mode & RTLD_NOW == 0 && !(ld.bind_now || o.d.bind_now);
        debug!(cat::RELOC, "relocation processing: {}{}", B(&o.path), if lazy { " (lazy)" } else { "" });
        // SAFETY: the object is mapped, unrelocated, and not yet visible to
        // any other thread; its dependencies are relocated.
        let relocated =
            unsafe { super::x86_64::relocate(ld, i, lazy, &mut stats) }.and_then(|_| crate::check_inits(ld, o));
        if let Err(e) = relocated {
            let msg = loader::message(&e);
            set_error(ld, format_args!("{}", msg));
            unload(ld, st, &new);
            return Err(());
        }
        o.relocated.store(true, Ordering::Release);
        super::tls::init_dynamic(o, st.tls.as_ref());
    }
    if mode & RTLD_GLOBAL != 0 {
        make_global(ld, root);
    }
    let r = &ld.objs[root];
    r.opens.fetch_add(1, Ordering::AcqRel);
    if mode & RTLD_NODELETE != 0 {
        r.nodelete.store(true, Ordering::Release);
    }
    super::debugger::state(super::debugger::RT_ADD, None, 0);
    relink(ld);
    let handle = &r.lm as *const LinkMap as usize;
    // Constructors, dependencies first, with the lock released: they may
    // dlopen in turn, and other threads may use what is loaded.
    drop(g);
    let args = crate::init_args();
    for &i in &order {
        crate::call_init(ld, &ld.objs[i], args);
    }
    Ok(handle)
}

/// Breadth-first list of `root` and its dependencies (a handle's scope).
fn bfs(c: &Closure<Box<Object>>, root: usize, out: &mut Vec<usize>) {
    out.push(root);
    let mut i = 0;
    while i < out.len() {
        for &d in &c.nodes[out[i]].deps {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        i += 1;
    }
}

/// Mutable access to an object dlopen is still setting up (or unloading),
/// under the dl lock.
#[allow(clippy::mut_from_ref)]
pub(crate) fn obj_mut(ld: &Loader, i: usize) -> &mut Object {
    // SAFETY: dlopen and dlclose call this under the dl lock for objects no
    // other code holds a reference to: ones not yet in any scope, or
    // removed from all of them.
    unsafe { ld.objs.get_mut_unchecked(i).expect("object index") }
}

fn link_map_fill(o: &Object) {
    let lm = &o.lm;
    lm.l_addr.store(o.base, Ordering::Relaxed);
    let name = if o.kind == Kind::Exec { b"\0".as_ptr() } else { o.cpath.as_ptr() };
    lm.l_name.store(name as *mut u8, Ordering::Relaxed);
    lm.l_ld.store(o.dynamic.map_or(0, |d| o.addr(d.p_vaddr)), Ordering::Relaxed);
}

/// Fills every object's link_map and chains them as ld.so chains its own:
/// the program, the vDSO, then every object in load order (the core ones
/// as copies of glibc's public fields, since glibc's own maps chain only
/// the core).
pub fn relink(ld: &Loader) {
    let mut chain: Vec<*const LinkMap> = Vec::new();
    for i in 0..ld.objs.len() {
        let o = &ld.objs[i];
        if o.removed.load(Ordering::Acquire) || (o.kind == Kind::Rtld && ld.me.is_some()) {
            continue;
        }
        link_map_fill(o);
        chain.push(&o.lm);
        if o.kind == Kind::Exec {
            if let Some(v) = &ld.vdso {
                chain.push(&**v);
            }
        }
    }
    for (k, &lm) in chain.iter().enumerate() {
        // SAFETY: every entry points at a LinkMap that lives as long as the
        // loader (objects are never freed; the vDSO copy is boxed in it).
        let lm = unsafe { &*lm };
        lm.l_prev.store(if k > 0 { chain[k - 1] as *mut LinkMap } else { core::ptr::null_mut() }, Ordering::Relaxed);
        lm.l_next.store(chain.get(k + 1).map_or(core::ptr::null_mut(), |&n| n as *mut LinkMap), Ordering::Release);
    }
    let ldbase = (0..ld.objs.len()).find(|&i| ld.objs[i].kind == Kind::Rtld).map_or(0, |i| ld.objs[i].base);
    // A debugger takes the first entry for its main executable and skips
    // it. When that is shimld (started as a command), the debugger's list
    // is a separate chain: an entry for shimld, then copies of every entry
    // with the program's under its own path.
    let first = match &ld.debug_head {
        Some(head) => {
            let mut dbg: Vec<*const LinkMap> = alloc::vec![&head[0] as *const LinkMap];
            for &lm in &chain {
                // SAFETY: as above.
                let lm = unsafe { &*lm };
                let copy: &LinkMap = match (0..ld.objs.len()).find(|&i| core::ptr::eq(&ld.objs[i].lm, lm)) {
                    Some(i) => &ld.objs[i].dbg,
                    None => &head[1],
                };
                copy.l_addr.store(lm.l_addr.load(Ordering::Relaxed), Ordering::Relaxed);
                copy.l_name.store(lm.l_name.load(Ordering::Relaxed), Ordering::Relaxed);
                copy.l_ld.store(lm.l_ld.load(Ordering::Relaxed), Ordering::Relaxed);
                dbg.push(copy);
            }
            let main = &ld.objs[0];
            main.dbg.l_name.store(main.cpath.as_ptr() as *mut u8, Ordering::Relaxed);
            for (k, &lm) in dbg.iter().enumerate() {
                // SAFETY: entries of the loader, alive as long as it.
                let lm = unsafe { &*lm };
                lm.l_prev
                    .store(if k > 0 { dbg[k - 1] as *mut LinkMap } else { core::ptr::null_mut() }, Ordering::Relaxed);
                lm.l_next
                    .store(dbg.get(k + 1).map_or(core::ptr::null_mut(), |&n| n as *mut LinkMap), Ordering::Release);
            }
            Some(&head[0] as *const LinkMap)
        }
        None => chain.first().copied(),
    };
    super::debugger::state(super::debugger::RT_CONSISTENT, first, ldbase);
}

/// Adds `root` and its dependencies to the global scope.
fn make_global(ld: &Loader, root: usize) {
    let local = ld.objs[root].local_scope.clone();
    let list = if local.is_empty() { alloc::vec![root] } else { local };
    for i in list {
        if !ld.scope.iter().any(|&s| s == i) {
            ld.scope.push(i);
        }
    }
    ld.index_scope();
}

fn fail_open(ld: &Loader, st: &mut DlState, start: usize, e: &closure::Error) {
    rollback(st, start);
    match e {
        closure::Error::NotFound { name, skipped: Some(w), .. } => set_error(ld, format_args!("{}: {}", B(name), w)),
        closure::Error::NotFound { name, .. } => {
            set_error(ld, format_args!("{}: cannot open shared object file: No such file or directory", B(name)))
        }
        closure::Error::Bad { path, what } => set_error(ld, format_args!("{}: {}", B(path), what)),
        closure::Error::TooMany => set_error(ld, format_args!("too many objects")),
    }
}

/// Forgets the nodes a failed dlopen added (unmapping what it mapped).
fn rollback(st: &mut DlState, start: usize) {
    for mut n in st.closure.nodes.drain(start..) {
        if let Some(o) = n.handle.as_mut() {
            // SAFETY: never published; nothing else knows the mapping.
            unsafe { o.unmap() };
        }
    }
}

/// Unloads objects that dlopen loaded: finalisers (dependents first),
/// then the mappings. Their nodes stay, marked missing, so indices keep
/// matching.
fn unload(ld: &'static Loader, st: &mut DlState, objs: &[usize]) {
    super::debugger::state(super::debugger::RT_DELETE, None, 0);
    let order = loader::sort(&ld.objs, objs);
    for &i in &order {
        crate::call_fini(ld, &ld.objs[i]);
    }
    for &i in &order {
        let o = &ld.objs[i];
        if o.removed.swap(true, Ordering::AcqRel) {
            continue;
        }
        st.subs += 1;
        super::tls::release_dynamic(o, st.tls.as_mut());
        let n = &mut st.closure.nodes[i];
        n.missing = true;
        n.names.clear();
        n.id = None;
        ld.unindex(i);
        if o.kind != Kind::Core {
            debug!(cat::FILES, "file={} [0];  destroying link map", B(&o.path));
            // SAFETY: the object is removed from every scope; its code and
            // data are not used any more (the program closed it).
            unsafe { obj_mut(ld, i).unmap() };
        }
    }
    relink(ld);
}

#[no_mangle]
pub extern "C" fn dlclose(handle: *mut c_void) -> i32 {
    let Some(ld) = loader() else { return -1 };
    clear_error(ld);
    let Some(root) = handle_obj(ld, handle as usize) else {
        if let Some(f) = glibc!(b"dlclose", extern "C" fn(*mut c_void) -> i32) {
            return f(glibc_handle(ld, handle as usize) as *mut c_void);
        }
        set_error(ld, format_args!("shared object not open"));
        return -1;
    };
    let g = ld.dl.lock();
    let Some(st) = g.get().as_mut() else { return -1 };
    let o = &ld.objs[root];
    if !o.dlopened {
        return 0;
    }
    let prev = o.opens.load(Ordering::Acquire);
    if prev == 0 {
        set_error(ld, format_args!("shared object not open"));
        return -1;
    }
    if o.opens.fetch_sub(1, Ordering::AcqRel) != 1 {
        return 0;
    }
    // Unload what nothing else still uses: objects of this handle's scope
    // that dlopen loaded, that are not NODELETE, not open themselves, and
    // not in the scope of another open handle.
    let candidates: Vec<usize> = o
        .local_scope
        .iter()
        .copied()
        .filter(|&i| {
            let c = &ld.objs[i];
            c.dlopened
                && !c.nodelete.load(Ordering::Acquire)
                && !c.removed.load(Ordering::Acquire)
                && (i == root || c.opens.load(Ordering::Acquire) == 0)
        })
        .collect();
    let victims: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&v| {
            !(0..ld.objs.len()).any(|j| {
                let h = &ld.objs[j];
                j != root
                    && h.opens.load(Ordering::Acquire) > 0
                    && !h.removed.load(Ordering::Acquire)
                    && handle_scope(ld, j).contains(&v)
            })
        })
        .collect();
    // Nor what a remaining object binds symbols to.
    let victims: Vec<usize> = victims
        .iter()
        .copied()
        .filter(|&v| {
            !(0..ld.objs.len()).any(|j| {
                let h = &ld.objs[j];
                !victims.contains(&j) && !h.removed.load(Ordering::Acquire) && h.reldeps.lock().get().contains(&v)
            })
        })
        .collect();
    unload(ld, st, &victims);
    0
}

// ---------------------------------------------------------------------------
// dlsym, dlvsym, dlerror.

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn dlsym() {
    core::arch::naked_asm!("mov rdx, [rsp]", "xor ecx, ecx", "jmp {imp}", imp = sym dlsym_impl)
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn dlvsym() {
    core::arch::naked_asm!("mov rcx, rdx", "mov rdx, [rsp]", "jmp {imp}", imp = sym dlsym_impl)
}

extern "C" fn dlsym_impl(handle: usize, name: *const u8, caller: usize, version: *const u8) -> *mut c_void {
    let Some(ld) = loader() else { return core::ptr::null_mut() };
    clear_error(ld);
    // SAFETY: the caller passes C strings.
    let (name, vname) =
        unsafe { (super::process::cstr(name), (!version.is_null()).then(|| super::process::cstr(version))) };
    let from = object_at(ld, caller).unwrap_or(0);
    let want = vname.map(|v| shimld::symtab::Version {
        name: v,
        hash: shimld::symtab::sysv_hash(v),
        file: None,
        hidden: true,
        weak: false,
    });
    let (def, what) = match handle {
        RTLD_DEFAULT => (ld.lookup_scoped(name, want, from, Class::Normal, true, Scope::Of(from)), from),
        RTLD_NEXT => (ld.lookup_scoped(name, want, from, Class::Normal, true, Scope::After(from)), from),
        h => match handle_obj(ld, h) {
            Some(0) => (ld.lookup_scoped(name, want, 0, Class::Normal, true, Scope::Of(0)), 0),
            Some(i) => {
                let list = handle_scope(ld, i);
                (ld.lookup_scoped(name, want, from, Class::Normal, true, Scope::List(&list)), i)
            }
            None => {
                // A glibc handle: glibc's answer.
                let mut n = name.to_vec();
                n.push(0);
                return match vname {
                    None => match glibc!(b"dlsym", extern "C" fn(usize, *const u8) -> *mut c_void) {
                        Some(f) => f(glibc_handle(ld, h), n.as_ptr()),
                        None => core::ptr::null_mut(),
                    },
                    Some(v) => {
                        let mut vv = v.to_vec();
                        vv.push(0);
                        match glibc!(b"dlvsym", extern "C" fn(usize, *const u8, *const u8) -> *mut c_void) {
                            Some(f) => f(glibc_handle(ld, h), n.as_ptr(), vv.as_ptr()),
                            None => core::ptr::null_mut(),
                        }
                    }
                };
            }
        },
    };
    match def {
        Some(d) => {
            // dlsym binds for the caller (RTLD_DEFAULT, RTLD_NEXT) or for
            // the handle's object.
            ld.add_dependency(what, d.obj);
            symbol_address(ld, &d) as *mut c_void
        }
        None => {
            let obj = if what == 0 { &ld.prog[..] } else { &ld.objs[what].path[..] };
            match vname {
                Some(v) => set_error(ld, format_args!("{}: undefined symbol: {}, version {}", B(obj), B(name), B(v))),
                None => set_error(ld, format_args!("{}: undefined symbol: {}", B(obj), B(name))),
            }
            core::ptr::null_mut()
        }
    }
}

/// The scope of a handle: the object and its dependencies, breadth first.
fn handle_scope(ld: &Loader, i: usize) -> Vec<usize> {
    let o = &ld.objs[i];
    if !o.local_scope.is_empty() && o.local_scope[0] == i {
        return o.local_scope.clone();
    }
    let mut out = alloc::vec![i];
    let mut k = 0;
    while k < out.len() {
        for &d in &ld.objs[out[k]].deps {
            if !out.contains(&d) {
                out.push(d);
            }
        }
        k += 1;
    }
    out
}

#[no_mangle]
pub extern "C" fn dlerror() -> *const u8 {
    let Some(ld) = loader() else { return core::ptr::null() };
    let g = ld.dl.lock();
    let Some(st) = g.get().as_mut() else { return core::ptr::null() };
    let slot = st.error_slot();
    slot.shown = slot.pending.take();
    match &slot.shown {
        Some(v) => v.as_ptr(),
        None => core::ptr::null(),
    }
}

// ---------------------------------------------------------------------------
// dladdr, dladdr1, dlinfo, dlmopen.

/// The symbol of `o` nearest below `addr` that covers it, as ld.so's
/// `_dl_addr` picks it.
fn nearest_symbol(o: &Object, addr: usize) -> Option<&'static elf::Sym> {
    let mut best: Option<&'static elf::Sym> = None;
    for s in o.syms.syms.iter() {
        if s.st_shndx == elf::SHN_UNDEF || s.st_value == 0 || s.kind() == elf::STT_TLS || s.bind() == elf::STB_LOCAL {
            continue;
        }
        let start = o.addr(s.st_value);
        let covers =
            addr >= start && (addr < start.wrapping_add(s.st_size as usize) || (s.st_size == 0 && addr == start));
        if covers && best.is_none_or(|b| s.st_value > b.st_value) {
            best = Some(s);
        }
    }
    best
}

#[no_mangle]
pub extern "C" fn dladdr(addr: usize, info: *mut DlInfo) -> i32 {
    dladdr1(addr, info, core::ptr::null_mut(), 0)
}

const RTLD_DL_SYMENT: i32 = 1;
const RTLD_DL_LINKMAP: i32 = 2;

#[no_mangle]
pub extern "C" fn dladdr1(addr: usize, info: *mut DlInfo, extra: *mut *const c_void, flags: i32) -> i32 {
    let Some(ld) = loader() else { return 0 };
    let Some(i) = object_at(ld, addr).filter(|&i| ld.objs[i].kind != Kind::Core) else {
        return match glibc!(b"dladdr1", extern "C" fn(usize, *mut DlInfo, *mut *const c_void, i32) -> i32) {
            Some(f) => f(addr, info, extra, flags),
            None => 0,
        };
    };
    let o = &ld.objs[i];
    let sym = nearest_symbol(o, addr);
    // SAFETY: the caller passes a Dl_info to fill, and for the flags a
    // pointer to store the extra result.
    unsafe {
        *info = DlInfo {
            // glibc names the program by its argv[0] here.
            fname: if o.kind == Kind::Exec { crate::argv0() } else { o.cpath.as_ptr() },
            fbase: o.map_start,
            sname: sym.and_then(|s| o.syms.strtab.get(s.st_name as usize..)).map_or(core::ptr::null(), |s| s.as_ptr()),
            saddr: sym.map_or(0, |s| o.addr(s.st_value)),
        };
        if !extra.is_null() {
            match flags {
                RTLD_DL_SYMENT => *extra = sym.map_or(core::ptr::null(), |s| s as *const elf::Sym as *const c_void),
                RTLD_DL_LINKMAP => *extra = &o.lm as *const LinkMap as *const c_void,
                _ => {}
            }
        }
    }
    1
}

const RTLD_DI_LMID: i32 = 1;
const RTLD_DI_LINKMAP: i32 = 2;
const RTLD_DI_ORIGIN: i32 = 6;
const RTLD_DI_TLS_MODID: i32 = 9;
const RTLD_DI_TLS_DATA: i32 = 10;
const RTLD_DI_PHDR: i32 = 11;

#[no_mangle]
pub extern "C" fn dlinfo(handle: *mut c_void, request: i32, arg: *mut c_void) -> i32 {
    let Some(ld) = loader() else { return -1 };
    clear_error(ld);
    let Some(i) = handle_obj(ld, handle as usize) else {
        return match glibc!(b"dlinfo", extern "C" fn(*mut c_void, i32, *mut c_void) -> i32) {
            Some(f) => f(glibc_handle(ld, handle as usize) as *mut c_void, request, arg),
            None => -1,
        };
    };
    let o = &ld.objs[i];
    // SAFETY: for each request the caller passes the documented pointer.
    unsafe {
        match request {
            RTLD_DI_LMID => *(arg as *mut isize) = 0,
            RTLD_DI_LINKMAP => *(arg as *mut *const LinkMap) = &o.lm,
            RTLD_DI_ORIGIN => {
                let origin = shimld::search::origin_of(&o.path, None)
                    .or_else(|| if o.kind == Kind::Exec { crate::program_origin() } else { None })
                    .unwrap_or_default();
                core::ptr::copy_nonoverlapping(origin.as_ptr(), arg as *mut u8, origin.len());
                *(arg as *mut u8).add(origin.len()) = 0;
            }
            RTLD_DI_TLS_MODID => *(arg as *mut usize) = o.tls.map_or(0, |t| t.modid),
            RTLD_DI_TLS_DATA => *(arg as *mut usize) = tls_block(o),
            RTLD_DI_PHDR => {
                *(arg as *mut usize) = o.phdr_addr;
                return o.phdrs.len() as i32;
            }
            r => {
                set_error(ld, format_args!("dlinfo: unsupported request {r}"));
                return -1;
            }
        }
    }
    0
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn dlmopen() {
    core::arch::naked_asm!("mov rcx, [rsp]", "jmp {imp}", imp = sym dlmopen_impl)
}

extern "C" fn dlmopen_impl(lmid: isize, file: *const u8, mode: i32, caller: usize) -> *mut c_void {
    let Some(ld) = loader() else { return core::ptr::null_mut() };
    clear_error(ld);
    if lmid == 0 {
        if file.is_null() {
            return &ld.objs[0].lm as *const LinkMap as *mut c_void;
        }
        // SAFETY: the caller passes a C string.
        let name = unsafe { super::process::cstr(file) };
        return match open(ld, name, mode, caller) {
            Ok(h) => h as *mut c_void,
            Err(()) => core::ptr::null_mut(),
        };
    }
    // A new namespace means separate copies of everything, glibc core
    // included, which only glibc can make: its dlmopen loads the lot.
    match glibc!(b"dlmopen", extern "C" fn(isize, *const u8, i32) -> *mut c_void) {
        Some(f) => f(lmid, file, mode),
        None => {
            set_error(ld, format_args!("dlmopen: new namespaces need glibc's dlmopen"));
            core::ptr::null_mut()
        }
    }
}

// ---------------------------------------------------------------------------
// dl_iterate_phdr and _dl_find_object.

/// `dl_iterate_phdr`: every object in ld.so's order (the program, the
/// vDSO, then load order), shimld's described by shimld, the core's as
/// glibc describes them, without the stub glibc takes for the program.
#[no_mangle]
pub extern "C" fn dl_iterate_phdr(cb: PhdrCallback, data: *mut c_void) -> i32 {
    let Some(ld) = loader() else { return 0 };
    let (adds, subs) = {
        let g = ld.dl.lock();
        g.get().as_ref().map_or((0, 0), |s| (s.adds, s.subs))
    };
    // glibc's entries, copied (its names and TLS data stay valid).
    let mut glibc: Vec<DlPhdrInfo> = Vec::new();
    if let Some(g) = glibc!(b"dl_iterate_phdr", extern "C" fn(PhdrCallback, *mut c_void) -> i32) {
        extern "C" fn collect(info: *mut DlPhdrInfo, _size: usize, data: *mut c_void) -> i32 {
            // SAFETY: data is the Vec below; glibc passes a valid info.
            unsafe { (*(data as *mut Vec<DlPhdrInfo>)).push(*info) };
            0
        }
        g(collect, &mut glibc as *mut Vec<DlPhdrInfo> as *mut c_void);
        glibc.retain(|i| i.phdr as usize != ld.stub_phdr);
    }
    let (gadds, gsubs) = glibc.first().map_or((0, 0), |i| (i.adds, i.subs));
    let mut taken = alloc::vec![false; glibc.len()];
    let mut order: Vec<DlPhdrInfo> = Vec::new();
    let own_info = |o: &Object| DlPhdrInfo {
        addr: o.base,
        name: if o.kind == Kind::Exec { b"\0".as_ptr() } else { o.cpath.as_ptr() },
        phdr: o.phdr_addr as *const elf::Phdr,
        phnum: o.phdrs.len() as u16,
        adds: 0,
        subs: 0,
        tls_modid: o.tls.map_or(0, |t| t.modid),
        tls_data: tls_block(o) as *mut c_void,
    };
    let mut take = |pred: &dyn Fn(&DlPhdrInfo) -> bool, order: &mut Vec<DlPhdrInfo>| {
        if let Some(k) = (0..glibc.len()).find(|&k| !taken[k] && pred(&glibc[k])) {
            taken[k] = true;
            order.push(glibc[k]);
        }
    };
    let vdso = ld.vdso.as_ref().map(|v| v.l_addr.load(Ordering::Relaxed));
    for i in 0..ld.objs.len() {
        let o = &ld.objs[i];
        if o.removed.load(Ordering::Acquire) || (o.kind == Kind::Rtld && ld.me.is_some()) {
            continue;
        }
        if o.kind == Kind::Core {
            take(&|g: &DlPhdrInfo| g.addr == o.base, &mut order);
            continue;
        }
        order.push(own_info(o));
        if o.kind == Kind::Exec {
            if let Some(v) = vdso {
                take(&|g: &DlPhdrInfo| g.addr == v, &mut order);
            }
        }
    }
    take_rest(&glibc, &taken, &mut order);
    for mut info in order {
        info.adds = gadds + adds;
        info.subs = gsubs + subs;
        let r = cb(&mut info, core::mem::size_of::<DlPhdrInfo>(), data);
        if r != 0 {
            return r;
        }
    }
    0
}

/// glibc's entries not placed yet (objects glibc loaded on its own).
fn take_rest(glibc: &[DlPhdrInfo], taken: &[bool], order: &mut Vec<DlPhdrInfo>) {
    order.extend(glibc.iter().zip(taken).filter(|(_, &t)| !t).map(|(i, _)| *i));
}

/// `_dl_find_object`: the object containing `pc`, with its unwinding data
/// (the PT_GNU_EH_FRAME segment); glibc's answer for the core.
#[no_mangle]
pub extern "C" fn _dl_find_object(pc: usize, result: *mut DlFindObject) -> i32 {
    let Some(ld) = loader() else { return -1 };
    if let Some(o) = (0..ld.objs.len()).map(|i| &ld.objs[i]).find(|o| own(o) && pc >= o.map_start && pc < o.map_end) {
        let eh = o.phdrs.iter().find(|p| p.p_type == elf::PT_GNU_EH_FRAME).map_or(0, |p| o.addr(p.p_vaddr));
        // SAFETY: the caller passes a struct dl_find_object to fill.
        unsafe {
            *result = DlFindObject {
                flags: 0,
                map_start: o.map_start,
                map_end: o.map_end,
                link_map: &o.lm,
                eh_frame: eh,
                reserved: [0; 7],
            };
        }
        return 0;
    }
    match glibc!(b"_dl_find_object", extern "C" fn(usize, *mut DlFindObject) -> i32) {
        Some(f) => f(pc, result),
        None => -1,
    }
}
