//! Search paths: splitting path lists, expanding `$ORIGIN`, `$LIB` and
//! `$PLATFORM`, and the subdirectories ld.so tries inside each directory.

use alloc::vec::Vec;

/// Where a library was found, for traces and `shimctl list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The executable itself.
    Program,
    /// The name contains a slash and was used as a path.
    Path,
    /// DT_RPATH of the object with this index in the closure.
    Rpath(usize),
    /// LD_LIBRARY_PATH or `--library-path`.
    LibraryPath,
    /// DT_RUNPATH of the requesting object.
    Runpath(usize),
    /// `ld.so.cache`.
    Cache,
    /// The built-in default directories.
    Default,
    /// LD_PRELOAD or `--preload`.
    Preload,
    /// The dynamic linker itself (shimld stands in for it).
    Rtld,
}

impl Source {
    /// ld.so's wording in `LD_DEBUG=libs` search lines.
    pub fn label(&self) -> &'static str {
        match self {
            Source::Program => "program",
            Source::Path => "path",
            Source::Rpath(_) => "RPATH",
            Source::LibraryPath => "LD_LIBRARY_PATH",
            Source::Runpath(_) => "RUNPATH",
            Source::Cache => "ld.so.cache",
            Source::Default => "system search path",
            Source::Preload => "preload",
            Source::Rtld => "dynamic linker",
        }
    }
}

/// The default directories of Debian's ld.so on x86-64, in its order.
pub const DEFAULT_DIRS: [&[u8]; 4] = [b"/lib/x86_64-linux-gnu", b"/usr/lib/x86_64-linux-gnu", b"/lib", b"/usr/lib"];
/// The library cache.
pub const LD_SO_CACHE: &[u8] = b"/etc/ld.so.cache";
/// The dynamic linker's soname and default PT_INTERP.
pub const RTLD_SONAME: &[u8] = b"ld-linux-x86-64.so.2";
pub const RTLD_PATH: &[u8] = b"/lib64/ld-linux-x86-64.so.2";

/// Values of the dynamic string tokens.
#[derive(Clone, Debug)]
pub struct Tokens {
    /// `$LIB` (Debian: `lib/x86_64-linux-gnu`).
    pub lib: Vec<u8>,
    /// `$PLATFORM` (`x86_64`).
    pub platform: Vec<u8>,
    /// In secure mode `$ORIGIN` is not expanded, and entries using it drop.
    pub secure: bool,
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens { lib: b"lib/x86_64-linux-gnu".to_vec(), platform: b"x86_64".to_vec(), secure: false }
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// If `s` starts with token `name` (after the `$`), as `NAME` or `{NAME}`,
/// returns the length consumed.
fn token_len(s: &[u8], name: &[u8]) -> Option<usize> {
    if s.starts_with(b"{") {
        let inner = &s[1..];
        if inner.starts_with(name) && inner.get(name.len()) == Some(&b'}') {
            return Some(name.len() + 2);
        }
        return None;
    }
    if s.starts_with(name) && !s.get(name.len()).is_some_and(|&c| is_ident(c)) {
        return Some(name.len());
    }
    None
}

/// Expands the dynamic string tokens of one path entry. `origin` is the
/// directory of the object the entry belongs to (`None` when unknown).
/// Returns `None` when a known token cannot be expanded: ld.so then drops
/// the whole entry. Unknown `$NAME`s stay as they are.
pub fn expand(entry: &[u8], origin: Option<&[u8]>, t: &Tokens) -> Option<Vec<u8>> {
    if !entry.contains(&b'$') {
        return Some(entry.to_vec());
    }
    let mut out = Vec::with_capacity(entry.len() + 32);
    let mut i = 0;
    while i < entry.len() {
        let c = entry[i];
        if c != b'$' {
            out.push(c);
            i += 1;
            continue;
        }
        let rest = &entry[i + 1..];
        if let Some(n) = token_len(rest, b"ORIGIN") {
            if t.secure {
                return None;
            }
            out.extend_from_slice(origin?);
            i += 1 + n;
        } else if let Some(n) = token_len(rest, b"PLATFORM") {
            out.extend_from_slice(&t.platform);
            i += 1 + n;
        } else if let Some(n) = token_len(rest, b"LIB") {
            out.extend_from_slice(&t.lib);
            i += 1 + n;
        } else {
            out.push(b'$');
            i += 1;
        }
    }
    Some(out)
}

/// Splits a search path (`:`-separated; LD_LIBRARY_PATH also takes `;`) into
/// directories, expanding tokens. An empty entry means the current directory.
pub fn split_dirs(list: &[u8], seps: &[u8], origin: Option<&[u8]>, t: &Tokens) -> Result<Vec<Vec<u8>>, &'static str> {
    if list.split(|c| seps.contains(c)).nth(MAX_SEARCH_DIRS).is_some() {
        return Err(TOO_MANY_DIRS);
    }
    let mut dirs = Vec::new();
    let mut seen = alloc::collections::BTreeSet::new();
    for entry in list.split(|c| seps.contains(c)) {
        let Some(mut d) = expand(entry, origin, t) else {
            continue;
        };
        // ld.so keeps directories with a trailing slash and joins names
        // directly; an empty entry becomes "./".
        while d.len() > 1 && d.ends_with(b"/") {
            d.pop();
        }
        if d.is_empty() {
            d.push(b'.');
        }
        if seen.insert(d.clone()) {
            dirs.push(d);
        }
    }
    Ok(dirs)
}

/// The most entries one search path (LD_LIBRARY_PATH, an RPATH or RUNPATH)
/// may have.
pub const MAX_SEARCH_DIRS: usize = 4096;
/// The error for a longer one.
pub const TOO_MANY_DIRS: &str = "search path has more than 4096 entries";

/// The directory part of `path`, as ld.so computes an object's origin: a
/// relative path is taken from `cwd` (which is not normalised, so `./a.out`
/// in `/tmp` gives `/tmp/.`).
pub fn origin_of(path: &[u8], cwd: Option<&[u8]>) -> Option<Vec<u8>> {
    let slash = path.iter().rposition(|&c| c == b'/');
    let dir: &[u8] = match slash {
        Some(0) => b"/",
        Some(n) => &path[..n],
        None => b"",
    };
    if path.first() == Some(&b'/') {
        return Some(dir.to_vec());
    }
    let cwd = cwd?;
    let mut out = cwd.to_vec();
    if !dir.is_empty() {
        if !out.ends_with(b"/") {
            out.push(b'/');
        }
        out.extend_from_slice(dir);
    }
    Some(out)
}

/// Joins a directory and a file name.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
    p.extend_from_slice(dir);
    if !p.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// The glibc-hwcaps subdirectories of x86-64, best first, with the level
/// each needs.
pub const HWCAPS_SUBDIRS: [(&[u8], u8); 3] = [(b"x86-64-v4", 4), (b"x86-64-v3", 3), (b"x86-64-v2", 2)];

/// The legacy hwcaps subdirectories glibc before 2.37 tries after the
/// glibc-hwcaps ones, in its order (it tries two of them twice).
pub const LEGACY_SUBDIRS: [&[u8]; 5] = [b"tls/x86_64/x86_64", b"tls/x86_64", b"tls", b"x86_64/x86_64", b"x86_64"];

/// The x86-64 micro-architecture level a set of CPU features supports.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuFeatures {
    pub level: u8,
}

impl CpuFeatures {
    /// The active glibc-hwcaps subdirectories, best first.
    pub fn hwcaps(&self) -> Vec<&'static [u8]> {
        HWCAPS_SUBDIRS.iter().filter(|(_, l)| *l <= self.level).map(|(n, _)| *n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let t = Tokens::default();
        assert_eq!(expand(b"$ORIGIN/lib", Some(b"/o"), &t).unwrap(), b"/o/lib");
        assert_eq!(expand(b"${ORIGIN}/x", Some(b"/o"), &t).unwrap(), b"/o/x");
        assert_eq!(expand(b"/a/$LIB/$PLATFORM", None, &t).unwrap(), b"/a/lib/x86_64-linux-gnu/x86_64");
        assert_eq!(expand(b"/a/$ORIGINX", Some(b"/o"), &t).unwrap(), b"/a/$ORIGINX");
        assert_eq!(expand(b"/a/$FOO", None, &t).unwrap(), b"/a/$FOO");
        assert!(expand(b"$ORIGIN", None, &t).is_none());
        let s = Tokens { secure: true, ..Tokens::default() };
        assert!(expand(b"$ORIGIN/x", Some(b"/o"), &s).is_none());
    }

    #[test]
    fn dirs() {
        let t = Tokens::default();
        let d = split_dirs(b"/a/::/b/;/c", b":;", None, &t).unwrap();
        assert_eq!(d, [b"/a".to_vec(), b".".to_vec(), b"/b".to_vec(), b"/c".to_vec()]);
    }

    #[test]
    fn origins() {
        assert_eq!(origin_of(b"/usr/lib/x.so", None).unwrap(), b"/usr/lib");
        assert_eq!(origin_of(b"/x.so", None).unwrap(), b"/");
        assert_eq!(origin_of(b"./m", Some(b"/tmp")).unwrap(), b"/tmp/.");
        assert_eq!(origin_of(b"m", Some(b"/tmp")).unwrap(), b"/tmp");
        assert!(origin_of(b"m", None).is_none());
    }
}
