use std::io::Write;

use super::*;
use crate::model::time::SECOND;

/// Lines as the tests write them: `<ms> GET /x padding`, or text without a time.
fn time_of(line: &[u8]) -> Option<EpochMs> {
    let text = std::str::from_utf8(line).ok()?;
    text.split(' ').next()?.parse().ok()
}

const T0: EpochMs = 1_775_260_800_000;

/// `n` lines one second apart from `T0`, each `(time, text)`.
fn sorted(n: i64) -> Vec<(Option<EpochMs>, String)> {
    (0..n)
        .map(|i| {
            let t = T0 + i * SECOND;
            (
                Some(t),
                format!("{t} GET /api/orders/{i} 200 {}", "x".repeat(20)),
            )
        })
        .collect()
}

/// Writes the lines (and `tail` after them, without a newline) to a file.
fn file_of(lines: &[(Option<EpochMs>, String)], tail: &str) -> (tempfile::NamedTempFile, u64) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let mut text = String::new();
    for (_, l) in lines {
        text.push_str(l);
        text.push('\n');
    }
    text.push_str(tail);
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
    (f, text.len() as u64)
}

/// Offsets of each line's start.
fn offsets(lines: &[(Option<EpochMs>, String)]) -> Vec<u64> {
    let mut at = 0u64;
    lines
        .iter()
        .map(|(_, l)| {
            let o = at;
            at += l.len() as u64 + 1;
            o
        })
        .collect()
}

enum Want {
    /// Read from the start of the file.
    Zero,
    /// No line stamped at or after the window start is before the answer, and the answer
    /// is within a search chunk and a probe of the first line stamped after `aim`.
    Covers,
}

struct Case {
    name: &'static str,
    lines: Vec<(Option<EpochMs>, String)>,
    /// Window start.
    from: EpochMs,
    /// An incomplete last line.
    tail: &'static str,
    want: Want,
}

#[test]
fn the_window_start_search() {
    let n = 40_000;
    let mid = T0 + n / 2 * SECOND;
    let cases = vec![
        Case {
            name: "sorted, window in the middle",
            lines: sorted(n),
            from: mid,
            tail: "",
            want: Want::Covers,
        },
        Case {
            name: "sorted, window near the end",
            lines: sorted(n),
            from: T0 + (n - 10) * SECOND,
            tail: "",
            want: Want::Covers,
        },
        Case {
            name: "out of order within the tolerance",
            lines: sorted(n)
                .into_iter()
                .enumerate()
                .map(|(i, (_, _))| {
                    // Up to four minutes early, as slow requests are written when they end.
                    let jitter = (i as i64 * 7919 % 240) * SECOND;
                    let t = T0 + i as i64 * SECOND - jitter;
                    (
                        Some(t),
                        format!("{t} GET /api/orders/{i} 200 {}", "x".repeat(20)),
                    )
                })
                .collect(),
            from: mid,
            tail: "",
            want: Want::Covers,
        },
        Case {
            name: "unsorted: two logs concatenated in the wrong order",
            lines: {
                let mut l = sorted(n);
                let second = l.split_off(n as usize / 2);
                second.into_iter().chain(l).collect()
            },
            from: T0 + n * 3 / 4 * SECOND,
            tail: "",
            want: Want::Zero,
        },
        Case {
            name: "no line has a time",
            lines: (0..n)
                .map(|i| (None, format!("starting worker {i} {}", "y".repeat(30))))
                .collect(),
            from: mid,
            tail: "",
            want: Want::Zero,
        },
        Case {
            name: "lines without times between timed ones",
            lines: sorted(n)
                .into_iter()
                .flat_map(|(t, l)| {
                    [
                        (t, l),
                        (None, "  at Contoso.Api.Orders.Get() in Orders.cs:42".into()),
                    ]
                })
                .collect(),
            from: mid,
            tail: "",
            want: Want::Covers,
        },
        Case {
            name: "a run of lines without times longer than a probe",
            lines: {
                let mut l = sorted(n);
                let noise: Vec<_> = (0..20_000)
                    .map(|i| (None, format!("stack frame {i} {}", "z".repeat(40))))
                    .collect();
                let at = n as usize / 2 + 100;
                l.splice(at..at, noise);
                l
            },
            from: mid + 50 * SECOND,
            tail: "",
            want: Want::Covers,
        },
        Case {
            name: "window older than the file",
            lines: sorted(n),
            from: T0 - 3_600 * SECOND,
            tail: "",
            want: Want::Zero,
        },
        Case {
            name: "window newer than the whole file",
            lines: sorted(n),
            from: T0 + 2 * n * SECOND,
            tail: "",
            want: Want::Covers,
        },
        Case {
            name: "file smaller than one search chunk",
            lines: sorted(200),
            from: T0 + 100 * SECOND,
            tail: "",
            want: Want::Zero,
        },
        Case {
            name: "partial last line",
            lines: sorted(n),
            from: T0 + (n - 5) * SECOND,
            tail: "1775300800000 GET /api/orders/half-writ",
            want: Want::Covers,
        },
        Case {
            name: "empty file",
            lines: Vec::new(),
            from: mid,
            tail: "",
            want: Want::Zero,
        },
    ];
    for c in cases {
        let (f, size) = file_of(&c.lines, c.tail);
        let file = f.reopen().unwrap();
        let end = complete_end(&file, size).unwrap();
        let offs = offsets(&c.lines);
        let full: u64 = offs
            .last()
            .map_or(0, |&o| o + c.lines.last().unwrap().1.len() as u64 + 1);
        assert_eq!(end, full, "{}: the partial line is not history", c.name);
        let start = window_start(&file, end, c.from, &mut |l| time_of(l)).unwrap();
        assert!(start <= end, "{}", c.name);
        assert!(
            start == 0 || offs.contains(&start),
            "{}: {start} is not a line start",
            c.name
        );
        match c.want {
            Want::Zero => assert_eq!(start, 0, "{}", c.name),
            Want::Covers => {
                let first_in_window = c
                    .lines
                    .iter()
                    .zip(&offs)
                    .find(|((t, _), _)| t.is_some_and(|t| t >= c.from))
                    .map_or(end, |(_, &o)| o);
                assert!(
                    start <= first_in_window,
                    "{}: starts at {start}, after a line of the window at {first_in_window}",
                    c.name
                );
                for ((t, l), &o) in c.lines.iter().zip(&offs) {
                    if t.is_some_and(|t| t >= c.from) {
                        assert!(o >= start, "{}: {l:?} at {o} is lost", c.name);
                    }
                }
                let aim = c.from - DISORDER_MS;
                let first_after_aim = c
                    .lines
                    .iter()
                    .zip(&offs)
                    .find(|((t, _), _)| t.is_some_and(|t| t >= aim))
                    .map_or(end, |(_, &o)| o);
                // Lines without a time right before the aim are read too: the search cannot
                // tell whether they belong to the window.
                let slack = SEARCH_CHUNK + PROBE_BYTES as u64 + 2 * 20_000 * 60;
                assert!(
                    start + slack >= first_after_aim,
                    "{}: starts at {start}, far before {first_after_aim}",
                    c.name
                );
            }
        }
    }
}

#[test]
fn a_probe_on_a_sorted_file_reads_little() {
    // The search must cost a few probes, not a read of the file.
    let lines = sorted(200_000);
    let (f, size) = file_of(&lines, "");
    let file = f.reopen().unwrap();
    let mut calls = 0;
    let start = window_start(&file, size, T0 + 150_000 * SECOND, &mut |l| {
        calls += 1;
        time_of(l)
    })
    .unwrap();
    assert!(start > 0);
    assert!(calls < 40, "{calls} lines parsed");
}

#[test]
fn complete_end_of_odd_files() {
    for (text, want) in [
        ("", 0),
        ("no newline at all", 0),
        ("one\n", 4),
        ("one\ntwo", 4),
        ("one\r\ntwo\r\n", 10),
    ] {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        let file = f.reopen().unwrap();
        assert_eq!(
            complete_end(&file, text.len() as u64).unwrap(),
            want,
            "{text:?}"
        );
    }
    // A size larger than the file (it was truncated since): nothing is history.
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"one\n").unwrap();
    let file = f.reopen().unwrap();
    assert_eq!(complete_end(&file, 100).unwrap(), 0);
}

#[test]
fn line_time_reads_a_real_format() {
    let mut p = crate::sources::formats::parser("combined", &Default::default()).unwrap();
    let line = b"203.0.113.7 - - [04/Apr/2026:10:00:00 +0000] \"GET /api/orders HTTP/1.1\" 200 12 \"-\" \"curl/8\"";
    assert_eq!(line_time(&mut *p, line), Some(1_775_296_800_000));
    assert_eq!(line_time(&mut *p, b"garbage"), None);
}
