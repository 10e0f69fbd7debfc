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

/// `s` cut to exactly its first `max` columns (a wide character that would straddle the
/// limit is left out).
fn head(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max {
            return &s[..i];
        }
        used += w;
    }
    s
}

/// `s` cut to its last `max` columns.
fn tail(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max {
            return &s[i + c.len_utf8()..];
        }
        used += w;
    }
    s
}

/// Shortens `s` to `max` columns by taking out its middle: the start and the end stay, which
/// is where a host keeps its name and its domain (`https://contoso-p…ites.net`).
pub fn shorten_middle(s: &str, max: usize, ellipsis: &str) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(width(ellipsis));
    if room == 0 {
        return cut(s, max, ellipsis);
    }
    let front = head(s, room.div_ceil(2));
    let back = tail(s, room - width(front));
    format!("{front}{ellipsis}{back}")
}

/// An origin without its `https://`: the scheme a reader assumes. Any other scheme
/// (`http://`, `null`) is kept, as it is the telling part.
pub fn drop_https(origin: &str) -> &str {
    origin.strip_prefix("https://").unwrap_or(origin)
}

/// Fits a column of origins into `max` columns: when any is too wide, every one loses its
/// `https://` (the same way down the column, so rows compare), and those still too wide lose
/// their middle.
pub fn fit_origins<'a>(
    origins: impl IntoIterator<Item = &'a str>,
    max: usize,
    ellipsis: &str,
) -> Vec<String> {
    let origins: Vec<&str> = origins.into_iter().collect();
    let drop = origins.iter().any(|o| width(o) > max);
    origins
        .into_iter()
        .map(|o| {
            let o = if drop { drop_https(o) } else { o };
            shorten_middle(o, max, ellipsis)
        })
        .collect()
}

/// One origin in `max` columns (see [`fit_origins`]).
pub fn fit_origin(origin: &str, max: usize, ellipsis: &str) -> String {
    fit_origins([origin], max, ellipsis).remove(0)
}

/// True for a route template's placeholder segment (`{id}`, `{guid}`...).
fn is_placeholder(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// Shortens a URL path or route template to `max` columns by whole segments: the first and
/// last segments stay and the ones between give way (`/api/orders/{id}` → `/api/…/{id}`), so a
/// template never loses a placeholder that still fits, nor the segment that names the
/// resource. A path that cannot keep even its last segment is cut in the middle.
pub fn shorten_path(path: &str, max: usize, ellipsis: &str) -> String {
    if width(path) <= max {
        return path.to_string();
    }
    let Some(rest) = path.strip_prefix('/') else {
        return shorten_middle(path, max, ellipsis);
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let n = segments.len();
    // (placeholders kept, segments kept, tail segments kept), the best first.
    let mut best: Option<((usize, usize, usize), String)> = None;
    for t in 1..n {
        for h in 0..(n - t) {
            let kept = segments[..h].iter().chain(&segments[n - t..]);
            let rank = (kept.clone().filter(|s| is_placeholder(s)).count(), h + t, t);
            if best.as_ref().is_some_and(|(r, _)| *r >= rank) {
                continue;
            }
            let mut out = String::from("/");
            for s in &segments[..h] {
                out.push_str(s);
                out.push('/');
            }
            out.push_str(ellipsis);
            for s in &segments[n - t..] {
                out.push('/');
                out.push_str(s);
            }
            if width(&out) <= max {
                best = Some((rank, out));
            }
        }
    }
    if let Some((_, out)) = best {
        return out;
    }
    // Not even `/…/last` fits: keep a trailing placeholder whole and cut what comes before it.
    if let Some(last) = segments.last().filter(|s| is_placeholder(s)) {
        let end = width(last) + 1;
        if max > end + width(ellipsis) {
            let before = &path[..path.len() - last.len() - 1];
            return format!("{}/{last}", cut(before, max - end, ellipsis));
        }
    }
    shorten_middle(path, max, ellipsis)
}

/// The scheme-less host part and the path of an endpoint written `host/path` or as a URL.
fn split_endpoint(endpoint: &str) -> (&str, &str) {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    }
}

/// Shortens an endpoint (`host/path`, or a URL) to `max` columns: the path comes first, cut
/// by [`shorten_path`] only when the host has no room left; the host loses its middle.
pub fn shorten_endpoint(endpoint: &str, max: usize, ellipsis: &str) -> String {
    if width(endpoint) <= max {
        return endpoint.to_string();
    }
    let (host, path) = split_endpoint(endpoint);
    if host.is_empty() {
        return shorten_path(path, max, ellipsis);
    }
    // The host keeps a dozen columns, or fewer where that lets the path keep its
    // placeholders; below a few it would say nothing.
    let placeholders = |p: &str| p.split('/').filter(|s| is_placeholder(s)).count();
    let mut shortened = String::new();
    for keep in [11, 6] {
        let host_min = width(host).min(width(ellipsis) + keep);
        shortened = shorten_path(path, max.saturating_sub(host_min).max(1), ellipsis);
        if placeholders(&shortened) == placeholders(path) {
            break;
        }
    }
    let path = shortened;
    let host = shorten_middle(host, max.saturating_sub(width(&path)), ellipsis);
    format!("{host}{path}")
}

/// Fits a column of host names (with their port, or a scheme) into `max` columns so that
/// different hosts still read differently: first the domain they all share goes
/// (`contoso-api-eu.…`), then the start they all share (`…eu.…`), and only then each loses its
/// middle.
pub fn fit_hosts(hosts: &[&str], max: usize, ellipsis: &str) -> Vec<String> {
    if hosts.iter().all(|h| width(h) <= max) {
        return hosts.iter().map(ToString::to_string).collect();
    }
    let mut distinct: Vec<&str> = hosts.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return hosts
            .iter()
            .map(|h| shorten_middle(h, max, ellipsis))
            .collect();
    }
    // Labels shared at the end by every host, leaving each at least one of its own.
    let labels: Vec<Vec<&str>> = distinct.iter().map(|h| h.split('.').collect()).collect();
    let fewest = labels.iter().map(Vec::len).min().unwrap_or(0);
    let mut shared = 0;
    while shared + 1 < fewest {
        let label = labels[0][labels[0].len() - 1 - shared];
        if labels.iter().all(|l| l[l.len() - 1 - shared] == label) {
            shared += 1;
        } else {
            break;
        }
    }
    let strip_domain = |h: &str| -> String {
        if shared == 0 {
            return h.to_string();
        }
        let l: Vec<&str> = h.split('.').collect();
        format!("{}.{ellipsis}", l[..l.len() - shared].join("."))
    };
    let short: Vec<String> = hosts.iter().map(|h| strip_domain(h)).collect();
    if short.iter().all(|h| width(h) <= max) {
        return short;
    }
    // The start they all share, in whole characters, leaving each something of its own.
    let first: Vec<char> = short[0].chars().collect();
    let mut prefix = first.len();
    for h in &short[1..] {
        prefix = prefix.min(h.chars().zip(&first).take_while(|(a, b)| a == *b).count());
    }
    let shortest = short.iter().map(|h| h.chars().count()).min().unwrap_or(0);
    prefix = prefix.min(shortest.saturating_sub(1));
    short
        .iter()
        .map(|h| {
            let h = if prefix > width(ellipsis) {
                format!("{ellipsis}{}", h.chars().skip(prefix).collect::<String>())
            } else {
                h.clone()
            };
            shorten_middle(&h, max, ellipsis)
        })
        .collect()
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

#[cfg(test)]
mod shorten_tests {
    use super::*;

    #[test]
    fn middles_go_first() {
        for (s, max, ell, want) in [
            (
                "https://contoso-portal.azurewebsites.net",
                26,
                "…",
                "https://conto…websites.net",
            ),
            ("short", 10, "…", "short"),
            ("abcdefghij", 5, "…", "ab…ij"),
            ("abcdefghij", 5, "~", "ab~ij"),
            ("abcdefghij", 1, "…", "…"),
            ("東京都庁舎の案内", 9, "…", "東京…案内"),
            ("東京都庁舎の案内", 8, "…", "東京…内"),
        ] {
            let got = shorten_middle(s, max, ell);
            assert_eq!(got, want, "{s} {max}");
            assert!(width(&got) <= max, "{got}");
        }
    }

    #[test]
    fn origins_drop_https_down_the_column_then_their_middle() {
        let col = [
            "https://contoso-portal.azurewebsites.net",
            "https://app.contoso.com",
            "http://app.contoso.com",
        ];
        assert_eq!(
            fit_origins(col, 30, "…"),
            [
                "contoso-portal.…rewebsites.net",
                "app.contoso.com",
                "http://app.contoso.com"
            ]
        );
        for (o, max, want) in [
            ("https://app.contoso.com", 30, "https://app.contoso.com"),
            ("https://app.contoso.com", 20, "app.contoso.com"),
            (
                "https://contoso-portal.azurewebsites.net",
                20,
                "contoso-po…sites.net",
            ),
            ("http://app.contoso.com:8080", 20, "http://app….com:8080"),
            ("null", 3, "n…l"),
        ] {
            let got = fit_origin(o, max, "…");
            assert_eq!(got, want, "{o} {max}");
            assert!(width(&got) <= max);
        }
        // Nothing too wide: the scheme stays on every row.
        assert_eq!(
            fit_origins(["https://a.com", "http://b.com"], 20, "…"),
            vec!["https://a.com".to_string(), "http://b.com".to_string()]
        );
    }

    #[test]
    fn paths_keep_placeholders_and_last_segments() {
        for (path, max, ell, want) in [
            ("/api/orders/{id}", 16, "…", "/api/orders/{id}"),
            ("/api/orders/{id}", 15, "…", "/…/orders/{id}"),
            ("/api/orders/{id}", 11, "…", "/api/…/{id}"),
            ("/api/orders/{id}", 10, "…", "/…/{id}"),
            ("/api/orders/{id}", 7, "…", "/…/{id}"),
            ("/api/orders/{id}", 11, "~", "/api/~/{id}"),
            ("/api/v2/orders/{id}/items", 20, "…", "/api/v2/…/{id}/items"),
            ("/api/v2/orders/{id}/items", 14, "…", "/…/{id}/items"),
            ("/api/v2/orders/{id}/items", 10, "…", "/…/items"),
            ("/api/orders", 8, "…", "/api…ers"),
            ("/api/orders", 9, "…", "/…/orders"),
            ("/api/customers/{customerId}", 18, "…", "/…/{customerId}"),
            ("/api/{tenant}/orders/{id}", 18, "…", "/api/…/orders/{id}"),
            ("/averyveryverylongsegment", 10, "…", "/aver…ment"),
            ("(other)", 5, "…", "(o…r)"),
            ("/api/東京/注文/{id}", 12, "…", "/…/注文/{id}"),
        ] {
            let got = shorten_path(path, max, ell);
            assert_eq!(got, want, "{path} {max}");
            assert!(width(&got) <= max, "{got} wider than {max}");
        }
        // A trailing placeholder outlives everything before it.
        let got = shorten_path("/a-very-long-first-segment/{id}", 14, "…");
        assert!(got.ends_with("/{id}"), "{got}");
        assert!(width(&got) <= 14);
    }

    #[test]
    fn endpoints_keep_their_path_and_a_distinct_host() {
        for (e, max, want) in [
            (
                "api.contoso.com/api/orders",
                40,
                "api.contoso.com/api/orders",
            ),
            (
                "contoso-api-eu.azurewebsites.net/api/orders/{id}",
                32,
                "contoso-…tes.net/api/orders/{id}",
            ),
            (
                "https://api.contoso.com/api/orders/{id}",
                20,
                "api.co…so.com/…/{id}",
            ),
            ("/api/orders/{id}", 11, "/api/…/{id}"),
        ] {
            let got = shorten_endpoint(e, max, "…");
            assert_eq!(got, want, "{e} {max}");
            assert!(width(&got) <= max, "{got}");
        }
    }

    #[test]
    fn hosts_stay_distinct() {
        let hosts = [
            "contoso-api-eu.azurewebsites.net",
            "contoso-api-us.azurewebsites.net",
            "contoso-api-eu.azurewebsites.net",
        ];
        assert_eq!(fit_hosts(&hosts, 40, "…"), hosts.map(String::from).to_vec());
        assert_eq!(
            fit_hosts(&hosts, 16, "…"),
            ["contoso-api-eu.…", "contoso-api-us.…", "contoso-api-eu.…"]
        );
        assert_eq!(fit_hosts(&hosts, 8, "…"), ["…eu.…", "…us.…", "…eu.…"]);
        assert_eq!(fit_hosts(&hosts, 8, "~"), ["~eu.~", "~us.~", "~eu.~"]);
        // Nothing shared: each loses its middle.
        assert_eq!(
            fit_hosts(&["api.contoso.com", "orders.fabrikam.net"], 10, "…"),
            ["api.c….com", "order….net"]
        );
        // One host only: its middle.
        assert_eq!(fit_hosts(&["api.contoso.com"], 9, "…"), ["api.….com"]);
        for max in 1..20 {
            for h in fit_hosts(&hosts, max, "…") {
                assert!(width(&h) <= max, "{h} {max}");
            }
        }
    }
}
