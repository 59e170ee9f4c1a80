//! The ELF header and program headers of arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shimld::elf;

fuzz_target!(|data: &[u8]| {
    if let Ok(eh) = elf::check_header(data) {
        let _ = elf::phdr_range(&eh);
        if let Ok(phdrs) = elf::phdrs_at(&eh, data, 0) {
            let _ = phdrs.iter().filter(|p| p.p_type == elf::PT_NOTE).count();
        }
    }
    let _ = elf::build_id(data);
    let _ = elf::cstr(data, data.len() / 2);
    let _ = elf::nul_position(data);
});
