use super::*;
use crate::store::{StoreConfig, TimeMode};

fn store() -> (Store, SourceId) {
    let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime);
    let id = s.register_source("stdin");
    (s, id)
}

#[test]
fn streams_detect_from_buffered_lines_then_parse_them() {
    let mut text = String::new();
    for i in 0..45 {
        text.push_str(&format!(
            "2026-04-04T10:31:{:02}Z OPTIONS /api/orders 401 {i}\n",
            i
        ));
    }
    text.push_str("oops\n2026-04-04T10:32:00Z GET /api/orders 200 3");
    let (mut s, id) = store();
    let mut input = io::Cursor::new(text.clone().into_bytes());
    let (c, used) = read_stream(&mut input, None, &FormatOptions::default(), id, &mut s).unwrap();
    assert_eq!(used, Some("appservice-http"));
    assert_eq!(
        (c.lines, c.parse_errors, c.bytes),
        (47, 1, text.len() as u64)
    );
    assert_eq!(s.totals().values().sum::<u64>(), 46);
    assert_eq!(s.sources()[0].lines, 47);
}

#[test]
fn short_undetectable_streams_are_decided_at_end_of_input() {
    let (mut s, id) = store();
    let mut input = io::Cursor::new(b"hello\nworld\n".to_vec());
    let (c, used) = read_stream(&mut input, None, &FormatOptions::default(), id, &mut s).unwrap();
    assert_eq!(used, None);
    assert_eq!((c.lines, c.parse_errors), (2, 2));
    let (_, reason) = s.sources()[0].last_error.clone().unwrap();
    assert_eq!(reason, NOT_RECOGNISED);
}

/// A w3c parser seeded at the end of `text`, fed one 6-column line: parsed only if the seed
/// was the 6-column directive.
fn seeded_reads_six_columns(text: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u_ex.log");
    std::fs::write(&path, text).unwrap();
    let file = File::open(&path).unwrap();
    let mut parser = formats::parser("w3c", &FormatOptions::default()).unwrap();
    seed_header(&file, text.len() as u64, &mut *parser).unwrap();
    let mut sink = crate::sources::event::VecSink::default();
    let fed = parser.feed(b"2026-04-04 10:31:02 GET /a 200 x", &mut sink);
    matches!(fed, Ok(Fed::Records(1)))
}

#[test]
fn the_seed_is_found_across_block_edges() {
    let five = b"#Fields: date time cs-method cs-uri-stem sc-status\n";
    let six = b"#Fields: date time cs-method cs-uri-stem sc-status x-extra\n";
    let filler = b"2026-04-04 10:31:02 GET /filler 200\n";
    for bom in [false, true] {
        // The directive's `#` from a few bytes before to a few bytes after where the first
        // block read backwards begins, with the bytes before it in the other block.
        for shift in 0..12 {
            let mut text = five.to_vec();
            while text.len() < 3 * SEEK_BLOCK {
                text.extend_from_slice(filler);
            }
            if bom {
                text.extend_from_slice(BOM);
            }
            let hash_at = text.len() as u64;
            text.extend_from_slice(six);
            let mut tail = Vec::new();
            while tail.len() + 200 < SEEK_BLOCK {
                tail.extend_from_slice(filler);
            }
            // Pad one line so that the end lands at the wanted distance from the `#`.
            let want_end = hash_at + SEEK_BLOCK as u64 - 6 + shift;
            let have = text.len() + tail.len();
            let pad = want_end as usize - have - 1;
            tail.extend(std::iter::repeat_n(b'x', pad));
            tail.push(b'\n');
            text.extend_from_slice(&tail);
            assert_eq!(text.len() as u64, want_end);
            assert!(seeded_reads_six_columns(&text), "bom {bom} shift {shift}");
        }
    }
    // Comments, a look-alike and a directive over the line cap are passed over.
    let mut text = six.to_vec();
    text.extend_from_slice(b"#Software: IIS\n#fields: date\n \n");
    text.extend_from_slice(b"#Fields: date time cs-method cs-uri-stem sc-status ");
    text.extend(std::iter::repeat_n(b'y', MAX_LINE + 10));
    text.extend_from_slice(b"\r\n#Date: 2026-04-04\r\n");
    text.extend_from_slice(filler);
    assert!(seeded_reads_six_columns(&text));
    // No directive at all: no seed.
    assert!(!seeded_reads_six_columns(filler));
}

#[test]
fn split_points_fall_after_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, b"aaaa\nbb\ncccccccc\nd\n").unwrap();
    let f = File::open(&path).unwrap();
    let pts = split_points(&f, 0, 20, 3).unwrap();
    assert_eq!(pts, vec![0, 8, 17, 20]);
    // No newline at all: one range.
    std::fs::write(&path, b"xxxxxxxxxx").unwrap();
    let f = File::open(&path).unwrap();
    assert_eq!(split_points(&f, 0, 10, 4).unwrap(), vec![0, 10]);
}
