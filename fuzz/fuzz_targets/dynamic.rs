//! The dynamic section of arbitrary bytes, read as a file image.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shimld::{dynamic::DynInfo, elf, image::Image};

fuzz_target!(|data: &[u8]| {
    let Ok(eh) = elf::check_header(data) else { return };
    let Ok(phdrs) = elf::phdrs_at(&eh, data, 0) else { return };
    let image = Image::from_file(data, &phdrs);
    for p in phdrs.iter().filter(|p| p.p_type == elf::PT_DYNAMIC) {
        if let Ok(d) = DynInfo::parse(&image, p) {
            if let Ok(strtab) = d.strtab(&image) {
                for &n in &d.needed {
                    let _ = shimld::dynamic::string(strtab, n);
                }
            }
        }
    }
});
