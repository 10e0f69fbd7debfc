//! Plain-text layout for headless output (tables and reports that must fit 80 columns), and
//! making text from logs and servers inert.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

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

/// Columns `s` takes on a terminal: wide characters (CJK, most emoji) count two, combining
/// marks none. Every fit and wrap in corstop measures with this, so a line never overflows.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Cuts `s` to at most `max` columns, ending the cut text with `ellipsis` (itself counted).
pub fn cut(s: &str, max: usize, ellipsis: &str) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(width(ellipsis));
    if max == 0 {
        return String::new();
    }
    let mut out = String::with_capacity(max + ellipsis.len());
    let mut used = 0;
    for c in s.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push_str(ellipsis);
    out
}

/// Cuts to `max` columns, marking the cut with `…`.
pub fn fit(s: &str, max: usize) -> String {
    cut(s, max, "…")
}

/// Greedy word wrap to `width` columns; words longer than a line are split.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut cur_w = 0;
    for word in text.split_whitespace() {
        let mut word = word;
        loop {
            let ww = width(word);
            let need = if cur_w == 0 { ww } else { cur_w + 1 + ww };
            if need <= max {
                if cur_w > 0 {
                    cur.push(' ');
                }
                cur.push_str(word);
                cur_w = need;
                break;
            }
            if cur_w > 0 {
                lines.push(std::mem::take(&mut cur));
                cur_w = 0;
                continue;
            }
            // A word wider than the line: as many characters as fit (at least one, so a
            // character wider than the line still moves on).
            let mut split = 0;
            let mut used = 0;
            for (i, c) in word.char_indices() {
                let w = UnicodeWidthChar::width(c).unwrap_or(0);
                if used + w > max && i > 0 {
                    break;
                }
                used += w;
                split = i + c.len_utf8();
            }
            lines.push(word[..split].to_string());
            word = &word[split..];
            if word.is_empty() {
                break;
            }
        }
    }
    if cur_w > 0 {
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

    #[test]
    fn widths_are_display_columns() {
        // Wide characters take two columns, combining marks none.
        assert_eq!(width("東京"), 4);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(fit("東京都庁", 5), "東京…");
        assert_eq!(cut("/api/東京/orders", 8, "~"), "/api/東~");
        assert_eq!(fit("abc", 0), "");
        for line in wrap("注文 API の東京リージョン orders", 6) {
            assert!(width(&line) <= 6, "{line}");
        }
        assert_eq!(wrap("東京東京", 3), vec!["東", "京", "東", "京"]);
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
