//! Symbol tables, hash tables and versions of arbitrary bytes, and lookups
//! in them (every walk must end).
#![no_main]
use libfuzzer_sys::fuzz_target;
use shimld::symtab::{Name, SymTab, Want};
use shimld::{dynamic::DynInfo, elf, image::Image};

fuzz_target!(|data: &[u8]| {
    let Ok(eh) = elf::check_header(data) else { return };
    let Ok(phdrs) = elf::phdrs_at(&eh, data, 0) else { return };
    let image = Image::from_file(data, &phdrs);
    let Some(p) = phdrs.iter().find(|p| p.p_type == elf::PT_DYNAMIC) else { return };
    let Ok(d) = DynInfo::parse(&image, p) else { return };
    let Ok(strtab) = d.strtab(&image) else { return };
    let Ok(t) = SymTab::new(&image, &d, strtab) else { return };
    // Every defined name, looked up as itself, with and without versions.
    for i in 0..t.syms.len().min(4096) as u32 {
        let Some(name) = t.name(i) else { continue };
        let version = t.wanted_version(i);
        for want in [Want { version, plt: false, newest: false }, Want { version: None, plt: true, newest: true }] {
            let _ = t.lookup(&mut Name::new(name), &want);
        }
    }
    let _ = t.requirements().count();
    let _ = t.lookup(&mut Name::new(b"absent_name"), &Want { version: None, plt: false, newest: false });
});
