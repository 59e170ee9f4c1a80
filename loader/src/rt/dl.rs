//! The dl* family as the program sees it: shimld's own implementations,
//! which know the objects shimld loaded and defer to glibc's for the core.

use super::loader;
use super::object::{Kind, Object};
use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};
use shimld::elf;

/// The public part of glibc's `struct link_map`, which shimld gives each of
/// its objects so that handles and `dlfo_link_map` point at something real.
#[repr(C)]
pub struct LinkMap {
    pub l_addr: usize,
    pub l_name: *const u8,
    pub l_ld: usize,
    pub l_next: *const LinkMap,
    pub l_prev: *const LinkMap,
}

impl Default for LinkMap {
    fn default() -> Self {
        LinkMap { l_addr: 0, l_name: b"\0".as_ptr(), l_ld: 0, l_next: core::ptr::null(), l_prev: core::ptr::null() }
    }
}

/// `struct dl_phdr_info`.
#[repr(C)]
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

type PhdrCallback = extern "C" fn(*mut DlPhdrInfo, usize, *mut c_void) -> i32;

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
    !matches!(o.kind, Kind::Core | Kind::Rtld)
}

/// A function of the glibc core, looked up once: the first core object
/// that defines `name`.
fn core_fn(cache: &AtomicUsize, name: &[u8]) -> Option<usize> {
    let v = cache.load(Ordering::Acquire);
    if v != 0 {
        return Some(v);
    }
    let ld = loader::get()?;
    let def = (0..ld.objs.len()).filter(|&i| ld.objs[i].kind == Kind::Core).find_map(|i| ld.lookup_in(i, name))?;
    let f = ld.value(&def);
    cache.store(f, Ordering::Release);
    Some(f)
}

/// The address of an object's TLS block in the calling thread.
fn tls_data(o: &Object) -> *mut c_void {
    match o.tls {
        Some(t) if t.offset != 0 => {
            let tp: usize;
            // SAFETY: reads the thread pointer.
            unsafe { core::arch::asm!("mov {}, fs:0", out(reg) tp) };
            tp.wrapping_sub(t.offset) as *mut c_void
        }
        _ => core::ptr::null_mut(),
    }
}

/// `dl_iterate_phdr`: shimld's objects (the program first), then glibc's,
/// leaving out the stub that glibc thinks is the program.
pub extern "C" fn dl_iterate_phdr(cb: PhdrCallback, data: *mut c_void) -> i32 {
    let Some(ld) = loader::get() else { return 0 };
    let count = ld.objs.len() as u64;
    for o in ld.objs.iter().filter(|o| own(o)) {
        let mut info = DlPhdrInfo {
            addr: o.base,
            name: if o.kind == Kind::Exec { b"\0".as_ptr() } else { o.cpath.as_ptr() },
            phdr: o.phdr_addr as *const elf::Phdr,
            phnum: o.phdrs.len() as u16,
            adds: count,
            subs: 0,
            tls_modid: o.tls.map_or(0, |t| t.modid),
            tls_data: tls_data(o),
        };
        let r = cb(&mut info, core::mem::size_of::<DlPhdrInfo>(), data);
        if r != 0 {
            return r;
        }
    }
    static GLIBC: AtomicUsize = AtomicUsize::new(0);
    let Some(f) = core_fn(&GLIBC, b"dl_iterate_phdr") else { return 0 };
    struct Ctx {
        cb: PhdrCallback,
        data: *mut c_void,
        skip: usize,
    }
    extern "C" fn filter(info: *mut DlPhdrInfo, size: usize, data: *mut c_void) -> i32 {
        // SAFETY: data is the Ctx below, alive for the call.
        let ctx = unsafe { &*(data as *const Ctx) };
        // SAFETY: glibc passes a valid info.
        if unsafe { (*info).phdr } as usize == ctx.skip {
            return 0;
        }
        (ctx.cb)(info, size, ctx.data)
    }
    let ctx = Ctx { cb, data, skip: ld.stub_phdr };
    // SAFETY: glibc's dl_iterate_phdr, relocated by ld.so.
    let g: extern "C" fn(PhdrCallback, *mut c_void) -> i32 = unsafe { core::mem::transmute(f) };
    g(filter, &ctx as *const Ctx as *mut c_void)
}

/// `_dl_find_object`: the object containing `pc`, with its unwinding data
/// (the PT_GNU_EH_FRAME segment); glibc's answer for the core.
pub extern "C" fn _dl_find_object(pc: usize, result: *mut DlFindObject) -> i32 {
    let Some(ld) = loader::get() else { return -1 };
    if let Some(o) = ld.objs.iter().find(|o| own(o) && pc >= o.map_start && pc < o.map_end) {
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
    static GLIBC: AtomicUsize = AtomicUsize::new(0);
    match core_fn(&GLIBC, b"_dl_find_object") {
        Some(f) => {
            // SAFETY: glibc's _dl_find_object, relocated by ld.so.
            let g: extern "C" fn(usize, *mut DlFindObject) -> i32 = unsafe { core::mem::transmute(f) };
            g(pc, result)
        }
        None => -1,
    }
}
