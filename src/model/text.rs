//! Plain-text layout for headless output (tables and reports that must fit 80 columns), and
//! making text from logs and servers inert.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

/// Largest configuration, theme or token file read whole. Real ones are a few kilobytes; a
/// path to `/dev/zero` or a log file by mistake must not allocate gigabytes.
pub const MAX_SMALL_FILE: u64 = 1 << 20;

/// Reads a small text file whole, refusing one over `limit` bytes with an error that says so
/// (as `InvalidData`, with the limit in the message).
pub fn read_small_file(path: &Path, limit: u64) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is a directory",
        ));
    }
    let mut buf = Vec::new();
    file.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes: not a file corstop reads whole"),
        ));
    }
    String::from_utf8(buf)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Text from a log or a server made safe to print on a terminal: every control character
/// (ESC, BEL, CR, the C1 range...) is written as a visible escape (`\x1b`), so a request path
/// cannot clear the reader's screen, set its title or write its clipboard (OSC 52).
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            let n = c as u32;
            if n < 0x100 {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{{{n:04x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Cuts to `max` characters, marking the cut with `…`.
pub fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Greedy word wrap to `width` characters; words longer than a line are split.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let wlen = word.len();
            let need = if cur_len == 0 {
                wlen
            } else {
                cur_len + 1 + wlen
            };
            if need <= width {
                if cur_len > 0 {
                    cur.push(' ');
                }
                cur.extend(word.iter());
                cur_len = need;
                break;
            }
            if cur_len > 0 {
                lines.push(std::mem::take(&mut cur));
                cur_len = 0;
                continue;
            }
            let rest = word.split_off(width.min(word.len()));
            lines.push(word.iter().collect());
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if cur_len > 0 {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_splits_long_words() {
        let lines = wrap("aaaa bbbbbbbbbb c", 4);
        assert_eq!(lines, vec!["aaaa", "bbbb", "bbbb", "bb c"]);
        assert_eq!(fit("abcdef", 4), "abc…");
    }
}

#[cfg(test)]
mod inert_tests {
    use super::*;

    #[test]
    fn small_files_are_capped() {
        let err = read_small_file(Path::new("/dev/zero"), 4096).unwrap_err();
        assert!(err.to_string().contains("larger than 4096 bytes"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.toml");
        std::fs::write(&f, "a = 1\n").unwrap();
        assert_eq!(read_small_file(&f, 4096).unwrap(), "a = 1\n");
        assert!(read_small_file(dir.path(), 4096).is_err());
    }

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(inert("/api/orders"), "/api/orders");
        assert_eq!(inert("/a\u{1b}[2J"), "/a\\x1b[2J");
        assert_eq!(inert("\u{1b}]52;c;SGk=\u{7}"), "\\x1b]52;c;SGk=\\x07");
        assert_eq!(inert("a\rb\u{9b}c"), "a\\x0db\\x9bc");
    }
}
