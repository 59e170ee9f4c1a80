//! `--profile FILE`: replica settings kept with an application.
//!
//! A small subset of TOML: one `key = value` per line, `#` comments,
//! strings in double quotes, numbers, and `true`/`false`:
//!
//! ```toml
//! hostname = "build-7"
//! clock_offset = -3600.5
//! nproc = 2
//! follow_exec = true
//! ```
//!
//! Keys: hostname, domainname, clock_offset, uid, gid, nproc, follow_exec,
//! replicas ("shallow" or "deep"), root. An unknown key or a malformed line
//! is an error naming the file and the line.

use super::options::{parse_seconds, parse_u32};
use super::out::B;
use super::replica::Settings;
use super::sys;
use alloc::vec::Vec;

/// What a profile sets (None where it says nothing).
#[derive(Default)]
pub struct Profile {
    pub settings: Settings,
    pub follow_exec: Option<bool>,
    pub deep: Option<bool>,
    pub root: Option<Vec<u8>>,
}

fn unquote(v: &[u8]) -> Option<&[u8]> {
    if v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"' {
        let inner = &v[1..v.len() - 1];
        return (!inner.contains(&b'"') && !inner.contains(&b'\\')).then_some(inner);
    }
    None
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// Reads and parses a profile; an error message on failure.
pub fn load(path: &[u8]) -> Result<Profile, alloc::string::String> {
    let fd = sys::open(path, sys::O_RDONLY, 0).map_err(|e| alloc::format!("{}: {}", B(path), e.text()))?;
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match sys::pread(fd, &mut buf, text.len() as u64) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) => {
                sys::close(fd);
                return Err(alloc::format!("{}: {}", B(path), e.text()));
            }
        }
        if text.len() > 1 << 20 {
            sys::close(fd);
            return Err(alloc::format!("{}: too large for a profile", B(path)));
        }
    }
    sys::close(fd);
    parse(path, &text)
}

pub fn parse(path: &[u8], text: &[u8]) -> Result<Profile, alloc::string::String> {
    let mut p = Profile::default();
    for (n, raw) in text.split(|&c| c == b'\n').enumerate() {
        let line = match raw.iter().position(|&c| c == b'#') {
            // A '#' inside a quoted string is part of it.
            Some(i) if raw[..i].iter().filter(|&&c| c == b'"').count() % 2 == 0 => &raw[..i],
            _ => raw,
        };
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        let err = |what: &str| alloc::format!("{}: line {}: {}", B(path), n + 1, what);
        let Some(eq) = line.iter().position(|&c| c == b'=') else { return Err(err("expected `key = value'")) };
        let (key, value) = (trim(&line[..eq]), trim(&line[eq + 1..]));
        let string = || unquote(value).map(|v| v.to_vec()).ok_or_else(|| err("expected a string in double quotes"));
        let number = || parse_u32(value).ok_or_else(|| err("expected a number"));
        let boolean = || match value {
            b"true" => Ok(true),
            b"false" => Ok(false),
            _ => Err(err("expected true or false")),
        };
        match key {
            b"hostname" => p.settings.hostname = Some(string()?),
            b"domainname" => p.settings.domainname = Some(string()?),
            b"clock_offset" => {
                p.settings.clock_offset_ns = Some(parse_seconds(value).ok_or_else(|| err("expected seconds"))?)
            }
            b"uid" => p.settings.uid = Some(number()?),
            b"gid" => p.settings.gid = Some(number()?),
            b"nproc" => p.settings.nproc = Some(number()?.max(1)),
            b"follow_exec" => p.follow_exec = Some(boolean()?),
            b"replicas" => {
                p.deep = Some(match &string()?[..] {
                    b"deep" => true,
                    b"shallow" => false,
                    _ => return Err(err("replicas is \"shallow\" or \"deep\"")),
                })
            }
            b"root" => p.root = Some(string()?),
            _ => return Err(err(&alloc::format!("unknown key `{}'", B(key)))),
        }
    }
    Ok(p)
}
