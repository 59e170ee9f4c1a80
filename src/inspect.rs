//! `shimctl inspect`: what start-up costs, object by object: every
//! relocation, the object each symbol reference binds to, counts by type,
//! the pages relocation dirties, and the cost of the lookups.
//!
//! The closure, the symbol tables and the binding rule are the loader's
//! own (`shimld::closure`, `shimld::symtab`, `shimld::bind`), so the
//! bindings shown are the ones shimld makes: for a glibc program, the
//! objects of the glibc core are bound by glibc's ld.so (by the same rule,
//! without shimld's replacements), and every other object's references to
//! the dl* family and the replicas go to shimld.

use crate::host::ElfMap;
use crate::list;
use serde::Serialize;
use shimld::bind::{self, Candidate, Class};
use shimld::dynamic::DynInfo;
use shimld::elf::{self, Rela};
use shimld::image::Image;
use shimld::symtab::{Name, SymTab, Want};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON: every symbol relocation with its binding.
    #[arg(long)]
    json: bool,
    /// Also list every symbol relocation in the text output.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    search: list::Search,
    /// The program.
    prog: PathBuf,
}

/// One symbol relocation and what it binds to.
#[derive(Serialize)]
pub struct Binding {
    pub offset: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub symbol: String,
    pub version: Option<String>,
    /// The defining object's path, "shimld" for shimld's replacements,
    /// null for a weak reference left undefined.
    pub bound_to: Option<String>,
    /// Resolved when the program calls it (lazy PLT binding), not at start-up.
    pub lazy: bool,
    /// Bound by glibc's ld.so (an object of the glibc core).
    pub by_ldso: bool,
    /// Found by a lookup (not a local or hidden symbol of the object).
    pub lookup: bool,
}

#[derive(Serialize, Default)]
pub struct ObjectReport {
    pub path: String,
    pub core: bool,
    pub relocations: u64,
    pub by_type: BTreeMap<&'static str, u64>,
    /// Pages that relocation writes to (copy-on-write faults at start-up).
    pub pages_dirtied: usize,
    /// Of those, pages in the RELRO region (made read-only afterwards).
    pub relro_pages: usize,
    /// Distinct (symbol, class) references: the lookups the loader makes.
    pub lookups: u64,
    /// Objects whose tables were searched, over all lookups.
    pub objects_searched: u64,
    /// The time all lookups took here (measured in this tool).
    pub lookup_us: f64,
    pub undefined: Vec<String>,
    pub bindings: Vec<Binding>,
}

#[derive(Serialize)]
pub struct Report {
    pub program: String,
    pub glibc_program: bool,
    /// The program needs only the glibc core and imports nothing shimld
    /// replaces: its ld.so binds it too.
    pub ldso_alone: bool,
    /// The program's ld.so: its CPUID instructions, and how many of them
    /// shimld answers from memory (the loader's rt::cpuid).
    pub ldso_cpuid: Option<CpuidReport>,
    pub objects: Vec<ObjectReport>,
    pub by_type: BTreeMap<&'static str, u64>,
    /// (referring object, defining object) -> references.
    pub bindings_between: Vec<(String, String, u64)>,
}

#[derive(Serialize)]
pub struct CpuidReport {
    pub path: String,
    pub instructions: usize,
    pub answered: usize,
}

/// What shimld makes of the CPUID instructions of ld.so's file `map`
/// (shimld::cpuid_sites, as the loader plans them).
fn ldso_cpuid(path: &str, map: &ElfMap) -> Option<CpuidReport> {
    let segments = |exec: bool| -> Vec<(u64, &[u8])> {
        map.phdrs
            .iter()
            .filter(|p| p.p_type == elf::PT_LOAD && p.p_filesz > 0 && (!exec || p.p_flags & elf::PF_X != 0))
            .filter_map(|p| {
                let end = p.p_offset.checked_add(p.p_filesz)? as usize;
                Some((p.p_vaddr, map.map.get(p.p_offset as usize..end)?))
            })
            .collect()
    };
    let text = segments(true);
    let instructions = shimld::cpuid_sites::count(&text)?;
    let answered = shimld::cpuid_sites::plan(&text, &segments(false), -4096)?.len();
    Some(CpuidReport { path: path.to_string(), instructions, answered })
}

struct Obj<'a> {
    path: String,
    map: &'a ElfMap,
    d: DynInfo,
    syms: SymTab<'a>,
    image: Image<'a>,
    exec: bool,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The objects of the glibc core, as the loader's handover decides them.
fn core_set(objs: &[Obj], deps: &[Vec<usize>]) -> Vec<bool> {
    let private = |o: &Obj| o.syms.requirements().any(|v| v.name == b"GLIBC_PRIVATE");
    if !objs.iter().any(private) {
        return vec![false; objs.len()];
    }
    let short = |o: &Obj| o.path.rsplit('/').next().unwrap_or("").to_string();
    let mut core: Vec<bool> = objs
        .iter()
        .enumerate()
        .map(|(i, o)| i > 0 && (private(o) || bind::CORE_SONAMES.iter().any(|n| s(n) == short(o))))
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..objs.len() {
            if core[i] {
                for &d in &deps[i] {
                    if !core[d] {
                        core[d] = true;
                        changed = true;
                    }
                }
            }
        }
    }
    core
}

/// The object's relocations (DT_RELA, then DT_JMPREL), each with whether
/// it is a PLT relocation.
fn relocations<'a>(o: &Obj<'a>) -> Vec<(&'a Rela, bool)> {
    let mut v = Vec::new();
    if let Some(t) = o.image.table::<Rela>(o.d.rela.addr, o.d.rela.size / 24) {
        v.extend(t.iter().map(|r| (r, false)));
    }
    if let Some(t) = o.image.table::<Rela>(o.d.jmprel.addr, o.d.jmprel.size / 24) {
        v.extend(t.iter().map(|r| (r, true)));
    }
    v
}

/// The offsets DT_RELR relocates.
fn relr_offsets(o: &Obj) -> Vec<u64> {
    o.image.table::<u64>(o.d.relr.addr, o.d.relr.size / 8).map_or(Vec::new(), bind::relr_offsets)
}

pub fn inspect(a: &Args) -> Result<Report, String> {
    let c = list::closure(&a.prog, &a.search)?;
    let mut extra: Vec<ElfMap> = Vec::new();
    let mut missing = Vec::new();
    for n in &c.nodes {
        if n.handle.is_none() {
            match ElfMap::open(&n.path) {
                Ok((m, _)) => extra.push(m),
                Err(_) => missing.push(s(n.names.first().unwrap_or(&n.path))),
            }
        }
    }
    if !missing.is_empty() {
        return Err(format!("{}: not found: {}", a.prog.display(), missing.join(", ")));
    }
    let mut extra_it = extra.iter();
    let mut objs: Vec<Obj> = Vec::new();
    let mut deps = Vec::new();
    for (i, n) in c.nodes.iter().enumerate() {
        let map = match &n.handle {
            Some(m) => m,
            None => extra_it.next().unwrap(),
        };
        let path = s(&n.path);
        let image = map.image();
        let d = match map.dynamic() {
            Some(d) => d.map_err(|e| format!("{path}: {e}"))?,
            None => DynInfo::default(),
        };
        let strtab = if d.strtab.addr != 0 { d.strtab(&image).map_err(|e| format!("{path}: {e:?}"))? } else { &[] };
        let syms = SymTab::new(&image, &d, strtab).map_err(|e| format!("{path}: {}", e.message()))?;
        objs.push(Obj { path, map, d, syms, image, exec: i == 0 });
        deps.push(n.deps.clone());
    }
    let core = core_set(&objs, &deps);
    let glibc = core.iter().any(|&c| c);
    // A program that needs only the core and imports nothing shimld
    // replaces goes to its ld.so whole (with no options that say otherwise).
    let ldso_alone = glibc && {
        let exe = &objs[0];
        let needed = exe.d.needed.iter().map(|&n| shimld::dynamic::string(exe.syms.strtab, n));
        bind::ldso_alone(needed, exe.d.has_filter, &exe.syms, |n| {
            shimld::replicas::ALWAYS.iter().any(|a| a.as_bytes() == n)
        })
    };
    let ldso_cpuid = if glibc {
        objs.iter()
            .find(|o| o.path.ends_with(&*s(shimld::search::RTLD_SONAME)))
            .and_then(|o| ldso_cpuid(&o.path, o.map))
    } else {
        None
    };
    let mut report = Report {
        program: a.prog.display().to_string(),
        glibc_program: glibc,
        ldso_alone,
        ldso_cpuid,
        objects: Vec::new(),
        by_type: BTreeMap::new(),
        bindings_between: Vec::new(),
    };
    let mut between: HashMap<(usize, Option<usize>), u64> = HashMap::new();
    const SHIMLD: usize = usize::MAX;
    for (i, o) in objs.iter().enumerate() {
        let mut r = ObjectReport { path: o.path.clone(), core: core[i], ..Default::default() };
        let mut pages = BTreeSet::new();
        let relro =
            o.map.phdrs.iter().find(|p| p.p_type == elf::PT_GNU_RELRO).map(|p| (p.p_vaddr, p.p_vaddr + p.p_memsz));
        for off in relr_offsets(o) {
            pages.insert(off >> 12);
            *r.by_type.entry("R_X86_64_RELATIVE").or_default() += 1;
        }
        let lazy_obj = !o.d.bind_now;
        let mut memo: HashMap<(u32, Class), (Option<usize>, Option<u32>)> = HashMap::new();
        for (rel, in_plt) in relocations(o) {
            let kind = rel.kind();
            let kname = elf::reloc_name(kind);
            *r.by_type.entry(kname).or_default() += 1;
            pages.insert(rel.r_offset >> 12);
            let idx = rel.sym();
            if idx == 0 || matches!(kind, elf::R_X86_64_RELATIVE | elf::R_X86_64_IRELATIVE) {
                continue;
            }
            let Some(sym) = o.syms.syms.get(idx as usize) else { continue };
            let name = o.syms.name(idx).unwrap_or(b"");
            let version = o.syms.wanted_version(idx);
            let class = Class::of(kind);
            let local = sym.bind() == elf::STB_LOCAL || matches!(sym.visibility(), elf::STV_HIDDEN | elf::STV_INTERNAL);
            let key = (idx, class);
            let bound = match memo.get(&key) {
                Some(&b) => b,
                None => {
                    let b = if local {
                        (Some(i), Some(idx))
                    } else {
                        r.lookups += 1;
                        let t = Instant::now();
                        let mut searched = 0u64;
                        let mut overridden = false;
                        let mut reached_core = false;
                        let visit = |j: usize| {
                            searched += 1;
                            if glibc && !core[i] && core[j] && !reached_core {
                                reached_core = true;
                                let n = std::str::from_utf8(name).unwrap_or("");
                                if bind::OVERRIDES.contains(&name) || shimld::replicas::ALWAYS.contains(&n) {
                                    overridden = true;
                                    return Some((SHIMLD, 0));
                                }
                            }
                            None
                        };
                        let mut scope: Vec<usize> = Vec::new();
                        if o.d.symbolic && !o.exec {
                            scope.push(i);
                        }
                        scope.extend(0..objs.len());
                        let cands =
                            scope.iter().map(|&j| Candidate { idx: j, syms: &objs[j].syms, exec: objs[j].exec });
                        let want = Want { version, plt: class == Class::Plt, newest: false };
                        let found = bind::first_definition(cands, &mut Name::new(name), &want, class, false, visit);
                        r.lookup_us += t.elapsed().as_secs_f64() * 1e6;
                        r.objects_searched += searched;
                        match found {
                            _ if overridden => (Some(SHIMLD), None),
                            Some((j, k)) => (Some(j), Some(k)),
                            None => {
                                if sym.bind() != elf::STB_WEAK {
                                    r.undefined.push(s(name));
                                }
                                (None, None)
                            }
                        }
                    };
                    memo.insert(key, b);
                    b
                }
            };
            *between.entry((i, bound.0)).or_default() += 1;
            r.bindings.push(Binding {
                offset: rel.r_offset,
                kind: kname,
                symbol: s(name),
                version: version.map(|v| s(v.name)),
                bound_to: bound.0.map(|j| if j == SHIMLD { "shimld".into() } else { objs[j].path.clone() }),
                lazy: lazy_obj && kind == elf::R_X86_64_JUMP_SLOT && in_plt,
                by_ldso: core[i] || (ldso_alone && i == 0),
                lookup: !local,
            });
        }
        r.relocations = r.by_type.values().sum();
        r.pages_dirtied = pages.len();
        r.relro_pages = relro.map_or(0, |(lo, hi)| pages.iter().filter(|&&p| p << 12 >= lo && p << 12 < hi).count());
        for (k, v) in &r.by_type {
            *report.by_type.entry(k).or_default() += v;
        }
        report.objects.push(r);
    }
    let name_of = |j: Option<usize>| match j {
        None => "(undefined weak)".to_string(),
        Some(SHIMLD) => "shimld".to_string(),
        Some(j) => objs[j].path.clone(),
    };
    let mut b: Vec<(String, String, u64)> =
        between.into_iter().map(|((i, j), n)| (objs[i].path.clone(), name_of(j), n)).collect();
    b.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
    report.bindings_between = b;
    Ok(report)
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    let r = inspect(&a)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?);
        return Ok(ExitCode::SUCCESS);
    }
    let how = match (r.glibc_program, r.ldso_alone) {
        (true, true) => " (needs only the glibc core and imports nothing shimld replaces: ld.so binds it all)",
        (true, false) => " (glibc program: the core is bound by ld.so)",
        _ => "",
    };
    println!("{}{}", r.program, how);
    if let Some(c) = &r.ldso_cpuid {
        println!(
            "{}: {} CPUID instructions, {} of them answered from memory by shimld (with its cache)",
            c.path, c.instructions, c.answered
        );
    }
    println!(
        "{:<48} {:>9} {:>9} {:>8} {:>7} {:>6} {:>9} {:>10}",
        "object", "relocs", "relative", "symbolic", "lookups", "pages", "searched", "lookup us"
    );
    for o in &r.objects {
        let rel = o.by_type.get("R_X86_64_RELATIVE").copied().unwrap_or(0);
        println!(
            "{:<48} {:>9} {:>9} {:>8} {:>7} {:>6} {:>9} {:>10.0}",
            short(&format!("{}{}", o.path, if o.core { " [core]" } else { "" }), 48),
            o.relocations,
            rel,
            o.bindings.len(),
            o.lookups,
            o.pages_dirtied,
            o.objects_searched,
            o.lookup_us
        );
    }
    println!("\nrelocations by type:");
    for (k, v) in &r.by_type {
        println!("  {k:<24} {v:>9}");
    }
    println!("\nreferences from one object to another (most first):");
    for (from, to, n) in r.bindings_between.iter().take(if a.all { usize::MAX } else { 20 }) {
        println!("  {n:>7}  {from} -> {to}");
    }
    let undefined: Vec<String> =
        r.objects.iter().flat_map(|o| o.undefined.iter().map(move |u| format!("{}: {u}", o.path))).collect();
    if !undefined.is_empty() {
        println!("\nundefined symbols:");
        for u in &undefined {
            println!("  {u}");
        }
    }
    if a.all {
        for o in &r.objects {
            println!("\n{}:", o.path);
            for b in &o.bindings {
                println!(
                    "  {:#010x} {:<22} {}{} -> {}{}",
                    b.offset,
                    b.kind,
                    b.symbol,
                    b.version.as_deref().map(|v| format!("@{v}")).unwrap_or_default(),
                    b.bound_to.as_deref().unwrap_or("(undefined)"),
                    if b.lazy { " (lazy)" } else { "" }
                );
            }
        }
    }
    Ok(if undefined.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn short(s: &str, n: usize) -> String {
    if s.len() <= n {
        s.to_string()
    } else {
        format!("...{}", &s[s.len() - (n - 3)..])
    }
}
