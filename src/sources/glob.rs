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

/// A compiled file-name pattern (`*`, `?`, `[a-z]`, `[!0-9]`), matched per character;
/// a name starting with `.` is only matched by a pattern that spells the dot out, as in a
/// shell.
pub struct NamePattern(glob::Pattern);

const MATCH_OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

impl NamePattern {
    pub fn new(pattern: &str) -> io::Result<NamePattern> {
        glob::Pattern::new(pattern).map(NamePattern).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid file-name pattern `{pattern}`: {}", e.msg),
            )
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        self.0.matches_with(name, MATCH_OPTIONS)
    }
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
    let name_pat = NamePattern::new(&name_pat)?;
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name_pat.matches(name) {
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
            ("**", "", true),
            // Per character, not per byte.
            ("??.log", "東京.log", true),
            ("?.log", "東.log", true),
            // An unclosed class is an error, so it matches nothing.
            ("[oops", "[oops", false),
        ];
        for (p, n, want) in cases {
            let got = NamePattern::new(p).is_ok_and(|pat| pat.matches(n));
            assert_eq!(got, *want, "{p} vs {n}");
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
        let err = expand(&format!("{}/[oops*.log", dir.path().display())).unwrap_err();
        assert!(
            err.to_string().contains("invalid file-name pattern"),
            "{err}"
        );
    }
}
