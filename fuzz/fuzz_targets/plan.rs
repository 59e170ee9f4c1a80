//! The whole loading plan over files that are the fuzz input: the input is
//! split on "\xffFUZ" into a program and libraries (in /lib, each under its
//! soname when it has one); the closure is searched, every version
//! requirement checked, and every relocation of every object bound by the
//! loader's rule (shimld::bind), as shimld plans a start-up before it maps
//! anything for real.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shimld::bind::{self, Candidate, Class};
use shimld::closure::{Closure, Config, FileId, Host, Meta, OpenError};
use shimld::dynamic::{self, DynInfo};
use shimld::elf::{self, Phdr, Rela};
use shimld::image::Image;
use shimld::search::{Source, Tokens};
use shimld::symtab::{Name, SymTab, Want};

struct Obj<'a> {
    image: Image<'a>,
    d: DynInfo,
    syms: SymTab<'a>,
}

fn parse(data: &[u8]) -> Result<(Obj<'_>, Meta), OpenError> {
    let eh = elf::check_header(data).map_err(|e| OpenError::Bad(e.message()))?;
    let phdrs: Vec<Phdr> = elf::phdrs_at(&eh, data, 0).map_err(|e| OpenError::Bad(e.message()))?.to_vec();
    let image = Image::from_file(data, &phdrs);
    let Some(p) = phdrs.iter().find(|p| p.p_type == elf::PT_DYNAMIC) else {
        return Err(OpenError::Bad("no dynamic section"));
    };
    let d = DynInfo::parse(&image, p).map_err(|e| OpenError::Bad(e.message()))?;
    let strtab = d.strtab(&image).map_err(|e| OpenError::Bad(e.message()))?;
    let syms = SymTab::new(&image, &d, strtab).map_err(|e| OpenError::Bad(e.message()))?;
    let s = |o: Option<u32>| o.and_then(|o| dynamic::string(strtab, o)).map(|b| b.to_vec());
    let meta = Meta {
        needed: d.needed.iter().filter_map(|&o| dynamic::string(strtab, o)).map(|b| b.to_vec()).collect(),
        soname: s(d.soname),
        rpath: s(d.rpath),
        runpath: s(d.runpath),
        nodeflib: false,
    };
    Ok((Obj { image, d, syms }, meta))
}

struct FuzzHost<'a> {
    files: Vec<(Vec<u8>, &'a [u8])>,
}

impl<'a> Host for FuzzHost<'a> {
    type Probe = usize;
    type Handle = Obj<'a>;
    fn probe(&mut self, path: &[u8]) -> Result<(usize, FileId), OpenError> {
        match self.files.iter().position(|(p, _)| p == path) {
            Some(i) => Ok((i, FileId { dev: 1, ino: i as u64 })),
            None => Err(OpenError::NotFound(2)),
        }
    }
    fn load(&mut self, i: usize, _path: &[u8]) -> Result<(Obj<'a>, Meta), OpenError> {
        parse(self.files[i].1)
    }
    fn rtld(&mut self) -> Option<Obj<'a>> {
        None
    }
    fn is_dir(&mut self, path: &[u8]) -> bool {
        path == b"/lib"
    }
    fn hwcaps(&mut self) -> Vec<&'static [u8]> {
        Vec::new()
    }
}

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() < 8 {
        match rest.windows(4).position(|w| w == b"\xffFUZ") {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + 4..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}

fuzz_target!(|data: &[u8]| {
    let parts = split(data);
    let mut files: Vec<(Vec<u8>, &[u8])> = vec![(b"/prog".to_vec(), parts[0])];
    for (k, p) in parts.iter().enumerate().skip(1) {
        let name = parse(p).ok().and_then(|(_, m)| m.soname).unwrap_or_else(|| format!("lib{k}.so").into_bytes());
        let mut path = b"/lib/".to_vec();
        path.extend_from_slice(&name);
        files.push((path, p));
    }
    let mut host = FuzzHost { files };
    let Ok((exe, meta)) = parse(parts[0]) else { return };
    let mut cfg = Config::host(vec![b"/lib".to_vec()], None, Tokens::default(), Some(b"/".to_vec()), b"/lib/ld.so");
    cfg.default_dirs = vec![b"/lib".to_vec()];
    let mut c: Closure<Obj> = Closure::new();
    c.add(b"/prog".to_vec(), Vec::new(), Source::Program, Some((exe, meta)), None, &cfg);
    let _ = c.load_needed(&mut host, &cfg, 0, true);
    let objs: Vec<&Obj> = c.nodes.iter().filter_map(|n| n.handle.as_ref()).collect();
    // Versions: each requirement against the definitions of every object.
    for o in &objs {
        for v in o.syms.requirements() {
            let _ = objs.iter().any(|d| d.syms.defines_version(v.name, v.hash));
        }
    }
    // The relocation plan: every symbol reference bound over the scope.
    for (i, o) in objs.iter().enumerate() {
        for t in [o.d.rela, o.d.jmprel] {
            let Some(relas) = o.image.table::<Rela>(t.addr, t.size / 24) else { continue };
            for r in relas.iter().take(1 << 16) {
                let idx = r.sym();
                let Some(name) = o.syms.name(idx) else { continue };
                let class = Class::of(r.kind());
                let want = Want { version: o.syms.wanted_version(idx), plt: class == Class::Plt, newest: false };
                let scope = objs.iter().enumerate().map(|(j, x)| Candidate { idx: j, syms: &x.syms, exec: j == 0 });
                let _ = bind::first_definition(scope, &mut Name::new(name), &want, class, i % 2 == 1, |_| None);
            }
        }
    }
});
