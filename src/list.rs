//! `shimctl list`: the closure as a tree, with where and why each object
//! was found.

use crate::host::{ElfMap, FileHost};
use serde::Serialize;
use shimld::cache::Cache;
use shimld::closure::{Closure, Config, Node};
use shimld::search::{self, Source, Tokens};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The program (or shared object) to list.
    prog: PathBuf,
    #[command(flatten)]
    search: Search,
    /// Print JSON instead of a tree.
    #[arg(long)]
    json: bool,
}

/// How the closure is searched: the options shimctl's commands share
/// (the default: as shimld searches with no options).
#[derive(clap::Args, Default)]
pub struct Search {
    /// Search PATH instead of LD_LIBRARY_PATH (as shimld --library-path).
    #[arg(long)]
    library_path: Option<String>,
    /// Do not use /etc/ld.so.cache.
    #[arg(long)]
    inhibit_cache: bool,
    /// Objects to preload (colon- or space-separated), before LD_PRELOAD's.
    #[arg(long)]
    preload: Option<String>,
}

#[derive(Serialize)]
struct JsonNode {
    name: String,
    path: Option<String>,
    found_by: String,
    found_in: Option<String>,
    needed_by: Option<usize>,
    deps: Vec<usize>,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Why a node was found, in words.
fn reason<H>(c: &Closure<H>, n: &Node<H>) -> String {
    if n.missing {
        return "not found".into();
    }
    match n.source {
        Source::Program => "program".into(),
        Source::Path => "path named in DT_NEEDED".into(),
        Source::Rpath(i) => format!("DT_RPATH of {}", s(&c.nodes[i].path)),
        Source::LibraryPath => "LD_LIBRARY_PATH".into(),
        Source::Runpath(i) => format!("DT_RUNPATH of {}", s(&c.nodes[i].path)),
        Source::Cache => "ld.so.cache".into(),
        Source::Default => "default directory".into(),
        Source::Preload => "preload".into(),
        Source::Rtld => "dynamic linker (PT_INTERP)".into(),
    }
}

fn dir_of(path: &[u8]) -> Option<String> {
    let i = path.iter().rposition(|&c| c == b'/')?;
    Some(s(&path[..i.max(1)]))
}

/// The closure of `prog` as shimld would find it (files read, nothing run).
pub fn closure(prog: &std::path::Path, search: &Search) -> Result<Closure<ElfMap>, String> {
    let (library_path, inhibit_cache, preload) =
        (search.library_path.as_deref(), search.inhibit_cache, search.preload.as_deref());
    let prog_b = prog.as_os_str().as_bytes().to_vec();
    let (exe, _) = ElfMap::open(&prog_b).map_err(|e| format!("{}: {:?}", prog.display(), e))?;
    let meta = exe.meta().map_err(|e| format!("{}: {e}", prog.display()))?;
    let interp = exe.interp().unwrap_or_else(|| search::RTLD_PATH.to_vec());
    let cwd = std::env::current_dir().ok().map(|d| d.as_os_str().as_bytes().to_vec());
    let origin = search::origin_of(&prog_b, cwd.as_deref());
    let tokens = Tokens::default();
    let env_path = std::env::var_os("LD_LIBRARY_PATH").map(|v| v.as_bytes().to_vec());
    let library_path = library_path
        .map(|p| p.as_bytes().to_vec())
        .or(env_path)
        .map(|p| search::split_dirs(&p, b":;", origin.as_deref(), &tokens))
        .unwrap_or(Ok(Vec::new()))
        .map_err(|what| format!("LD_LIBRARY_PATH: {what}"))?;
    let cache_data =
        if inhibit_cache { None } else { std::fs::read(std::ffi::OsStr::from_bytes(search::LD_SO_CACHE)).ok() };
    // The cache is parsed from this buffer; it must outlive the search.
    let cache_data: &'static [u8] = Box::leak(cache_data.unwrap_or_default().into_boxed_slice());
    let cache = Cache::parse(cache_data).ok();
    let cfg = Config::host(library_path, cache, tokens, cwd, &interp);
    let mut host = FileHost::new();
    let mut c: Closure<ElfMap> = Closure::new();
    c.add(prog_b.clone(), Vec::new(), Source::Program, Some((exe, meta)), None, &cfg);
    c.nodes[0].origin = origin;
    let mut preloads: Vec<Vec<u8>> = Vec::new();
    if let Some(v) = std::env::var_os("LD_PRELOAD") {
        preloads.extend(v.as_bytes().split(|&b| b == b':' || b == b' ').filter(|p| !p.is_empty()).map(|p| p.to_vec()));
    }
    if let Some(p) = preload {
        preloads.extend(p.as_bytes().split(|&b| b == b':' || b == b' ').filter(|p| !p.is_empty()).map(|p| p.to_vec()));
    }
    for p in &preloads {
        if c.find_loaded(p).is_none() {
            match c.load(&mut host, &cfg, p, 0, Source::Preload) {
                Ok(Some(_)) => {}
                Ok(None) => eprintln!("shimctl: preload {} not found", s(p)),
                Err(e) => eprintln!("shimctl: preload {}: {e:?}", s(p)),
            }
        }
    }
    c.load_needed(&mut host, &cfg, 0, true).map_err(|e| format!("{e:?}"))?;
    Ok(c)
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    let c = closure(&a.prog, &a.search)?;
    if a.json {
        let nodes: Vec<JsonNode> = c
            .nodes
            .iter()
            .map(|n| JsonNode {
                name: s(n.names.first().map(|v| &v[..]).unwrap_or(&n.path)),
                path: (!n.missing).then(|| s(&n.path)),
                found_by: reason(&c, n),
                found_in: (!n.missing).then(|| dir_of(&n.path)).flatten(),
                needed_by: n.loader,
                deps: n.deps.clone(),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&nodes).map_err(|e| e.to_string())?);
    } else {
        let mut out = String::new();
        let mut shown = vec![false; c.nodes.len()];
        tree(&c, 0, "", true, true, &mut shown, &mut out);
        print!("{out}");
    }
    let missing = c.nodes.iter().filter(|n| n.missing).count();
    Ok(if missing > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn tree<H>(c: &Closure<H>, i: usize, prefix: &str, last: bool, root: bool, shown: &mut [bool], out: &mut String) {
    let n = &c.nodes[i];
    let name = s(n.names.first().map(|v| &v[..]).unwrap_or(&n.path));
    let branch = if root {
        ""
    } else if last {
        "└── "
    } else {
        "├── "
    };
    let line = if root {
        format!("{}", s(&n.path))
    } else if n.missing {
        format!("{name} => not found")
    } else if shown[i] {
        format!("{name} (see above)")
    } else if name.as_bytes() == &n.path[..] {
        format!("{name}  [{}]", reason(c, n))
    } else {
        format!("{name} => {}  [{}]", s(&n.path), reason(c, n))
    };
    out.push_str(&format!("{prefix}{branch}{line}\n"));
    if shown[i] && !root {
        return;
    }
    shown[i] = true;
    let child_prefix = if root { String::new() } else { format!("{prefix}{}", if last { "    " } else { "│   " }) };
    let deps = &n.deps;
    for (k, &d) in deps.iter().enumerate() {
        tree(c, d, &child_prefix, k + 1 == deps.len(), false, shown, out);
    }
}
