use super::*;

/// Reads `{"v": <value>}` with one typed reader.
fn field<'d, T>(
    doc: &'d str,
    read: impl Fn(&mut Scan<'d>) -> Result<T, JsonError>,
) -> Result<T, JsonError> {
    let mut s = Scan::new(doc.as_bytes());
    let mut o = s.object()?;
    let mut out = None;
    while let Some(k) = s.key(&mut o)? {
        if k == b"v" {
            out = Some(read(&mut s)?);
        } else {
            s.skip()?;
        }
    }
    s.end()?;
    out.ok_or(JsonError::Shape("v", Want::Text))
}

fn str_of(doc: &str) -> Result<Option<String>, JsonError> {
    field(doc, |s| s.str_val("v")).map(|v| v.map(Cow::into_owned))
}

#[test]
fn strings_and_escapes() {
    let cases: &[(&str, Result<Option<&str>, JsonError>)] = &[
        (r#"{"v":"plain"}"#, Ok(Some("plain"))),
        (r#"{"v":"a\"b"}"#, Ok(Some("a\"b"))),
        (r#"{"v":"a\\b\/c"}"#, Ok(Some("a\\b/c"))),
        (r#"{"v":"\n\t\r\b\f"}"#, Ok(Some("\n\t\r\u{8}\u{c}"))),
        (r#"{"v":"caf\u00e9 \u20AC"}"#, Ok(Some("café €"))),
        (r#"{"v":"\ud83d\ude00"}"#, Ok(Some("😀"))),
        (r#"{"v":"\ud83d"}"#, Err(JsonError::Escape)),
        (r#"{"v":"\ude00x"}"#, Err(JsonError::Escape)),
        (r#"{"v":"\x"}"#, Err(JsonError::Syntax(7))),
        (r#"{"v":"\u12g4"}"#, Err(JsonError::Syntax(10))),
        (r#"{"v":"{[\"]}"}"#, Ok(Some("{[\"]}"))),
        (r#"{"v":""}"#, Ok(Some(""))),
        (r#"{"v":null}"#, Ok(None)),
        (r#"{"v":true}"#, Ok(None)),
        (r#"{"v":1.5}"#, Ok(None)),
        (r#"{"v":42}"#, Ok(Some("42"))),
        (r#"{"v":-7}"#, Ok(Some("-7"))),
        (r#"{"v":123456789012345678901234}"#, Ok(None)),
        (r#"{"v":{}}"#, Err(JsonError::Shape("v", Want::Text))),
        // An escaped key still matches.
        (r#"{"\u0076":"k"}"#, Ok(Some("k"))),
    ];
    for (doc, want) in cases {
        let want = want.map(|o| o.map(str::to_string));
        assert_eq!(str_of(doc), want, "{doc}");
    }
    // Borrowed unless escaped.
    let mut s = Scan::new(br#""abc""#);
    assert!(matches!(s.str_val("v"), Ok(Some(Cow::Borrowed("abc")))));
    let mut s = Scan::new(br#""a\nc""#);
    assert!(matches!(s.str_val("v"), Ok(Some(Cow::Owned(_)))));
}

#[test]
fn numbers_as_numbers_or_strings() {
    let cases: &[(&str, Result<Option<f64>, JsonError>)] = &[
        (r#"{"v":200}"#, Ok(Some(200.0))),
        (r#"{"v":"200"}"#, Ok(Some(200.0))),
        (r#"{"v":" 17.5 "}"#, Ok(Some(17.5))),
        (r#"{"v":-1.25e2}"#, Ok(Some(-125.0))),
        (r#"{"v":1775298662.123}"#, Ok(Some(1775298662.123))),
        (
            r#"{"v":12345678901234567890}"#,
            Ok(Some(12345678901234567890.0)),
        ),
        (r#"{"v":"-"}"#, Ok(None)),
        (r#"{"v":""}"#, Ok(None)),
        (r#"{"v":null}"#, Ok(None)),
        (r#"{"v":"\u0032\u0030\u0034"}"#, Ok(Some(204.0))),
        (r#"{"v":"abc"}"#, Err(JsonError::Shape("v", Want::Number))),
        (r#"{"v":true}"#, Err(JsonError::Shape("v", Want::Number))),
        (r#"{"v":01}"#, Err(JsonError::Syntax(6))),
        (r#"{"v":1.}"#, Err(JsonError::Syntax(7))),
        (r#"{"v":-}"#, Err(JsonError::Syntax(6))),
        (r#"{"v":1e}"#, Err(JsonError::Syntax(7))),
        (r#"{"v":+1}"#, Err(JsonError::Syntax(5))),
    ];
    for (doc, want) in cases {
        assert_eq!(field(doc, |s| s.num("v")).map(|n| n.0), *want, "{doc}");
    }
    assert_eq!(Num(Some(200.0)).as_u64(), Some(200));
    assert_eq!(Num(Some(-1.0)).as_u64(), None);
}

#[test]
fn times_durations_and_headers() {
    assert_eq!(
        field(r#"{"v":1775298662.5}"#, |s| s.ts("v")),
        Ok(Ts(Some(1_775_298_662_500)))
    );
    assert_eq!(
        field(r#"{"v":"2026-04-04T10:31:02Z"}"#, |s| s.ts("v")),
        Ok(Ts(Some(1_775_298_662_000)))
    );
    assert_eq!(field(r#"{"v":"soon"}"#, |s| s.ts("v")), Ok(Ts(None)));
    assert!(field(r#"{"v":[]}"#, |s| s.ts("v")).is_err());
    let dur = |doc: &str| field(doc, |s| s.dur("v")).map(|d| d.0);
    assert_eq!(dur(r#"{"v":"1.5ms"}"#), Ok(Some(1.5)));
    assert_eq!(dur(r#"{"v":"1m2.5s"}"#), Ok(Some(62_500.0)));
    assert!((dur(r#"{"v":"812µs"}"#).unwrap().unwrap() - 0.812).abs() < 1e-9);
    assert_eq!(dur(r#"{"v":0.25}"#), Ok(Some(250.0)));
    assert_eq!(dur(r#"{"v":"soon"}"#), Ok(None));
    let hdr = |doc: &str| field(doc, |s| s.header("v")).map(|h| h.map(Cow::into_owned));
    assert_eq!(
        hdr(r#"{"v":["https://a", "https://a"]}"#),
        Ok(Some("https://a, https://a".into()))
    );
    assert_eq!(hdr(r#"{"v":["https://a"]}"#), Ok(Some("https://a".into())));
    assert_eq!(hdr(r#"{"v":"https://a"}"#), Ok(Some("https://a".into())));
    assert_eq!(hdr(r#"{"v":[null, "x", 1.5]}"#), Ok(Some("x".into())));
    assert_eq!(hdr(r#"{"v":[]}"#), Ok(None));
    assert!(hdr(r#"{"v":[["x"]]}"#).is_err());
    assert!(hdr(r#"{"v":{"x":1}}"#).is_err());
    let mut s = Scan::new(br#"["https://a"]"#);
    assert!(matches!(
        s.header("v"),
        Ok(Some(Cow::Borrowed("https://a")))
    ));
}

#[test]
fn skipping_checks_syntax_but_not_content() {
    let ok = [
        r#"{"skip":{"a":[1,{"b":"}]{["},[],{}],"c":null},"v":"x"}"#,
        r#"{"skip":"brace } bracket ] quote \" backslash \\","v":"x"}"#,
        r#"{"skip":[true,false,null,-0.5e-3,"\u0000"],"v":"x"}"#,
        "{ \"skip\" : [ 1 , 2 ] ,\n \"v\" : \"x\" }\n",
        "{\"skip\":\"caf\u{e9}\",\"v\":\"x\"}",
        "{\"skip\":\"tab\tinside\",\"v\":\"x\"}",
    ];
    for doc in ok {
        assert_eq!(str_of(doc), Ok(Some("x".into())), "{doc}");
    }
    // Bytes that are not UTF-8 only matter in a decoded field.
    let mut doc = br#"{"skip":"caf?","v":"x"}"#.to_vec();
    doc[12] = 0xE9;
    let mut s = Scan::new(&doc);
    let mut o = s.object().unwrap();
    while let Some(k) = s.key(&mut o).unwrap() {
        if k == b"v" {
            assert_eq!(s.str_val("v").unwrap().as_deref(), Some("x"));
        } else {
            s.skip().unwrap();
        }
    }
    let mut doc = br#"{"v":"caf?"}"#.to_vec();
    doc[9] = 0xE9;
    let mut s = Scan::new(&doc);
    let mut o = s.object().unwrap();
    s.key(&mut o).unwrap();
    assert_eq!(s.str_val("v"), Err(JsonError::Utf8("v")));

    let bad: &[(&str, JsonError)] = &[
        (r#"{"skip":[1 2],"v":"x"}"#, JsonError::Syntax(11)),
        (r#"{"skip":{"a" 1},"v":"x"}"#, JsonError::Syntax(13)),
        (r#"{"skip":{"a":1,},"v":"x"}"#, JsonError::Syntax(15)),
        (r#"{"skip":[1,],"v":"x"}"#, JsonError::Syntax(11)),
        (r#"{"skip":{1:2},"v":"x"}"#, JsonError::Syntax(9)),
        (r#"{"skip":[1},"v":"x"}"#, JsonError::Syntax(10)),
        (r#"{"skip":nul,"v":"x"}"#, JsonError::Syntax(8)),
        (r#"{"skip":tru"#, JsonError::Truncated),
        (r#"{"skip":"abc"#, JsonError::Truncated),
        (r#"{"skip":"abc\"#, JsonError::Truncated),
        (r#"{"skip":"\u12"#, JsonError::Truncated),
        (r#"{"skip":[{"a":[1,2"#, JsonError::Truncated),
        (r#"{"skip":12"#, JsonError::Truncated),
        (r#"{"skip":1."#, JsonError::Truncated),
        (r#"{"skip""#, JsonError::Truncated),
        (r#"{"#, JsonError::Truncated),
        ("", JsonError::Truncated),
        (r#"{"v":"x",}"#, JsonError::Syntax(9)),
        (r#"{"v":"x"} trailing"#, JsonError::Syntax(10)),
        (r#"{"v":"x""w":1}"#, JsonError::Syntax(8)),
        (r#"{"v":"x"}}"#, JsonError::Syntax(9)),
        (r#"["v"]"#, JsonError::Syntax(0)),
    ];
    for (doc, want) in bad {
        assert_eq!(str_of(doc), Err(*want), "{doc}");
    }
    let deep = format!(
        "{{\"skip\":{}{},\"v\":\"x\"}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    assert_eq!(str_of(&deep), Err(JsonError::TooDeep));
    let ok_deep = format!(
        "{{\"skip\":{}{},\"v\":\"x\"}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(str_of(&ok_deep), Ok(Some("x".into())));
}

#[test]
fn mixed_nesting_depth_is_tracked_per_kind() {
    // Objects and arrays alternate for 120 levels; the checker must know which is which.
    let mut doc = String::from("{\"skip\":");
    for i in 0..120 {
        doc.push_str(if i % 2 == 0 { "{\"k\":" } else { "[0," });
    }
    doc.push('1');
    for i in (0..120).rev() {
        doc.push(if i % 2 == 0 { '}' } else { ']' });
    }
    doc.push_str(",\"v\":\"x\"}");
    assert_eq!(str_of(&doc), Ok(Some("x".into())));
}

#[test]
fn duplicates_and_reasons() {
    let mut seen = 0;
    assert_eq!(once(&mut seen, 3, "ts"), Ok("ts"));
    assert_eq!(once(&mut seen, 3, "ts"), Err(JsonError::Duplicate("ts")));
    let doc = b"{\n  \"a\": x\n}";
    assert_eq!(JsonError::Syntax(9).reason(doc), "invalid JSON at column 8");
    assert_eq!(JsonError::Truncated.reason(doc), "truncated JSON");
}

/// Mutated log lines (ASCII only, where the reader claims no leniency): the reader
/// accepts exactly what a full JSON parser accepts.
#[test]
fn skipping_agrees_with_a_full_parser() {
    let seeds: &[&str] = &[
        r#"{"level":"info","ts":1775298662.123,"request":{"remote_ip":"203.0.113.7","headers":{"Origin":["https://a"],"X":[]}},"duration":0.000812,"status":204,"resp_headers":{"Server":["Caddy"]},"ok":true,"no":false,"n":null}"#,
        r#"{"ClientHost":"203.0.113.7","DownstreamStatus":401,"Duration":-4.5e-3,"msg":"a "q" \ \/ é {[]}","list":[1,[2,[3,{}]],{"k":[]}]}"#,
    ];
    let alphabet = b"{}[]\\\",:0123456789-+.eEtrufalsn \tx\n";
    let mut rng = fastrand::Rng::with_seed(7);
    let mut checked = 0;
    for seed in seeds {
        for _ in 0..4000 {
            let mut m = seed.as_bytes().to_vec();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..m.len());
                match rng.u8(..3) {
                    0 => m[i] = alphabet[rng.usize(..alphabet.len())],
                    1 => m.insert(i, alphabet[rng.usize(..alphabet.len())]),
                    _ => {
                        m.remove(i);
                    }
                }
                if m.is_empty() {
                    m.push(b'{');
                }
            }
            let ours = {
                let mut s = Scan::new(&m);
                s.skip().and_then(|()| s.end())
            };
            let theirs = serde_json::from_slice::<serde_json::Value>(&m);
            // The documented leniencies.
            if theirs.as_ref().is_err_and(|e| {
                let e = e.to_string();
                e.contains("control character") || e.contains("out of range")
            }) {
                continue;
            }
            assert_eq!(
                ours.is_ok(),
                theirs.is_ok(),
                "{}: {ours:?} / {theirs:?}",
                String::from_utf8_lossy(&m)
            );
            if let Err(e) = theirs {
                let eof = e.classify() == serde_json::error::Category::Eof;
                assert_eq!(
                    ours == Err(JsonError::Truncated),
                    eof,
                    "{}",
                    String::from_utf8_lossy(&m)
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 6000);
}

#[test]
fn plain_decimals_round_like_the_standard_parser() {
    let mut rng = fastrand::Rng::with_seed(11);
    for _ in 0..200_000 {
        let len = rng.usize(1..17);
        let mut t: Vec<u8> = (0..len).map(|_| b'0' + rng.u8(..10)).collect();
        if rng.bool() && len > 1 {
            let dot = rng.usize(1..len);
            t.insert(dot, b'.');
        }
        if rng.u8(..4) == 0 {
            t.insert(0, b'-');
        }
        let text = std::str::from_utf8(&t).unwrap();
        let want: f64 = text.parse().unwrap();
        if let Some(got) = plain_decimal(&t) {
            assert_eq!(got.to_bits(), want.to_bits(), "{text}");
        }
        assert_eq!(number_f64(&t).to_bits(), want.to_bits(), "{text}");
    }
    assert_eq!(plain_decimal(b"1775298662.123"), Some(1775298662.123));
    assert_eq!(plain_decimal(b"1e3"), None);
    assert_eq!(plain_decimal(b"12345678901234567"), None);
    assert_eq!(number_f64(b"-1.25e2"), -125.0);
}

#[test]
fn quote_search_at_every_offset() {
    for len in 0..80 {
        for at in 0..len {
            for c in [b'"', b'\\'] {
                // High bytes around the target must not confuse the word test.
                let mut b = vec![0xE9u8; len];
                b[at] = c;
                for start in 0..=at {
                    assert_eq!(quote_or_backslash(&b, start), Some(at), "{len} {at}");
                }
                assert_eq!(quote_or_backslash(&b, at + 1), None);
            }
        }
    }
    assert_eq!(quote_or_backslash(b"ab", 5), None);
    assert_eq!(quote_or_backslash(br#"a\"b"#, 0), Some(1));
}

#[test]
fn depth_follows_pieces() {
    let mut d = Depth::default();
    d.feed(br#"{"a":"{[","#);
    assert_eq!(d.depth, 1);
    d.feed(br#""b\"}":[1,"#);
    assert_eq!(d.depth, 2);
    d.feed(b"2]}");
    assert_eq!(d.depth, 0);
    let mut d = Depth::default();
    assert_eq!(d.close(br#"{"x":"}"}, {"#), Some(9));
    let mut d = Depth::default();
    assert_eq!(d.close(br#"{"x":"a\"#), None);
    assert_eq!(d.close(br#""}"}"#), Some(4));
}
