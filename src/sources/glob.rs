//! File-name patterns for log sources (`/var/log/nginx/*.log`).
//!
//! Wildcards are allowed in the last path component only: log directories are fixed, the
//! file names inside them rotate. `*` and `?` never match a leading dot, as in a shell.

use std::io;
use std::path::{Path, PathBuf};

/// True when the last component of `path` holds a wildcard (`*`, `?` or `[`).
pub fn is_pattern(path: &str) -> bool {
    let name = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    name.bytes().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// Splits a path into its directory (`.` when none) and its last component.
pub fn split(path: &str) -> (PathBuf, String) {
    let p = Path::new(path);
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

/// Matches one file name against a pattern with `*`, `?` and `[...]` classes (`[!...]` negates,
/// `a-z` ranges).
pub fn matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    match_from(pattern.as_bytes(), name.as_bytes())
}

fn match_from(p: &[u8], n: &[u8]) -> bool {
    // Iterative matching with a single backtrack point for the latest `*`.
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = class(&p[pi..], n[ni]) {
                        if ok {
                            pi += next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == b'[' {
                        // An unclosed `[` is a literal.
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Evaluates a `[...]` class at the start of `p` against `c`: `(matched, pattern bytes used)`,
/// or `None` when the class is not closed.
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        let b = p[i];
        if b == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
            let hi = p[i + 2];
            if b <= c && c <= hi {
                hit = true;
            }
            i += 3;
        } else {
            if b == c {
                hit = true;
            }
            i += 1;
        }
    }
    None
}

/// The regular files matching a pattern, sorted by name. A directory that does not exist yet
/// yields no files (it may appear later).
pub fn expand(pattern: &str) -> io::Result<Vec<PathBuf>> {
    let (dir, name_pat) = split(pattern);
    if dir
        .to_string_lossy()
        .bytes()
        .any(|b| matches!(b, b'*' | b'?' | b'['))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("wildcards are supported in file names only, not in directories: {pattern}"),
        ));
    }
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !matches(&name_pat, name) {
            continue;
        }
        // Follows symlinks: a link to a log file is a log file.
        if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let cases: &[(&str, &str, bool)] = &[
            ("*.log", "app.log", true),
            ("*.log", "app.log.1", false),
            ("app.log*", "app.log.1", true),
            ("*.log", ".hidden.log", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[ab]*", "beta", true),
            ("[!ab]*", "beta", false),
            ("x[0-9].log", "x7.log", true),
            ("x[0-9].log", "xa.log", false),
            ("*a*b*c", "xxaxxbxxc", true),
            ("*a*b*c", "xxaxxcxxb", false),
            ("[oops", "[oops", true),
            ("**", "", true),
        ];
        for (p, n, want) in cases {
            assert_eq!(matches(p, n), *want, "{p} vs {n}");
        }
        assert!(is_pattern("/var/log/*.log"));
        assert!(!is_pattern("/var/log/app.log"));
    }

    #[test]
    fn expands_sorted_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.log", "a.log", "c.txt"] {
            std::fs::write(dir.path().join(n), b"x\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("d.log")).unwrap();
        let pat = format!("{}/*.log", dir.path().display());
        let got = expand(&pat).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, vec!["a.log", "b.log"]);
        assert!(expand("/nonexistent-dir-xyz/*.log").unwrap().is_empty());
    }
}
