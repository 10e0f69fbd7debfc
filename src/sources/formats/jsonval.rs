//! Small serde helpers for log JSON: numbers that arrive as strings, header arrays reduced to
//! one (comma-joined) value, and timestamps as strings or epoch numbers.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::time::{EpochMs, parse_clf, parse_rfc3339};

/// A JSON number, or a string holding one (`"ScStatus":"200"`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Num(pub Option<f64>);

impl Num {
    pub fn as_u64(self) -> Option<u64> {
        self.0
            .filter(|v| v.is_finite() && *v >= 0.0 && *v < 1.8e19)
            .map(|v| v as u64)
    }
}

impl<'de> de::Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a numeric string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                let t = v.trim();
                if t.is_empty() || t == "-" {
                    return Ok(Num(None));
                }
                t.parse::<f64>()
                    .map(|n| Num(Some(n)))
                    .map_err(|_| E::custom("not a number"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration in seconds as a number (Caddy's default), or a Go duration string
/// (`812µs`, `1.5ms`, `2s`, as Caddy writes with `duration_format string`). Held in ms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dur(pub Option<f64>);

/// Parses Go's `time.Duration` text form into milliseconds.
pub fn go_duration_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1e-6,
            "us" | "µs" | "μs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3600e3,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    Some(total)
}

impl<'de> de::Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Ok(Dur(Some(v as f64 * 1e3)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Ok(Dur(Some(v as f64 * 1e3)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Ok(Dur(Some(v * 1e3)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                Ok(Dur(go_duration_ms(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Dur, E> {
                Ok(Dur(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A timestamp: RFC 3339 / CLF string, or epoch seconds (float) as Caddy writes `ts`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ts(pub Option<EpochMs>);

/// Epoch numbers: seconds, milliseconds, microseconds or nanoseconds by magnitude.
pub fn epoch_any(v: f64) -> Option<EpochMs> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let ms = if v < 1e11 {
        v * 1e3
    } else if v < 1e14 {
        v
    } else if v < 1e17 {
        v / 1e3
    } else {
        v / 1e6
    };
    Some(ms.round() as EpochMs)
}

pub fn time_str(s: &str) -> Option<EpochMs> {
    let b = s.trim().as_bytes();
    parse_rfc3339(b).or_else(|| parse_clf(b))
}

impl<'de> de::Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a timestamp")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ts, E> {
                Ok(Ts(epoch_any(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ts, E> {
                Ok(Ts(epoch_any(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ts, E> {
                Ok(Ts(epoch_any(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ts, E> {
                Ok(Ts(time_str(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Ts, E> {
                Ok(Ts(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A header as Go servers log it (`["v1", "v2"]`) or a plain string; several values are
/// joined with `", "` exactly as a browser would combine the lines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeaderVal<'a>(pub Option<Cow<'a, str>>);

impl<'de: 'a, 'a> de::Deserialize<'de> for HeaderVal<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = HeaderVal<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a header value or an array of them")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<HeaderVal<'a>, E> {
                Ok(HeaderVal(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HeaderVal<'a>, E> {
                Ok(HeaderVal(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<HeaderVal<'a>, E> {
                Ok(HeaderVal(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderVal<'a>, A::Error> {
                let mut first: Option<Cow<'a, str>> = None;
                // `Str` borrows from the input where serde's own `Cow` impl would copy.
                while let Some(Str(v)) = seq.next_element::<Str<'de>>()? {
                    let Some(v) = v else { continue };
                    first = Some(match first {
                        None => v,
                        Some(prev) => Cow::Owned(format!("{prev}, {v}")),
                    });
                }
                Ok(HeaderVal(first))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string that may be absent, null, or not a string at all (then ignored).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Str<'a>(pub Option<Cow<'a, str>>);

impl<'a> Str<'a> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Str<'a>, E> {
                Ok(Str(None))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Str<'a>, E> {
                Ok(Str(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Str<'a>, E> {
                Ok(Str(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Str<'a>, E> {
                Ok(Str(None))
            }
            fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Str<'a>, E> {
                Ok(Str(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Short reason for a serde_json failure (the full message can quote the input).
pub fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "truncated JSON".to_string(),
        Category::Syntax => format!("invalid JSON at column {}", e.column()),
        Category::Data => {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or("bad field");
            let mut cut = msg.len().min(120);
            while !msg.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("unexpected JSON shape: {}", &msg[..cut])
        }
        Category::Io => "I/O error in JSON".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_headers() {
        let n: Num = serde_json::from_str("\"200\"").unwrap();
        assert_eq!(n.as_u64(), Some(200));
        let n: Num = serde_json::from_str("17.5").unwrap();
        assert_eq!(n.0, Some(17.5));
        assert!(serde_json::from_str::<Num>("\"abc\"").is_err());
        let h: HeaderVal = serde_json::from_str(r#"["https://a", "https://a"]"#).unwrap();
        assert_eq!(h.0.as_deref(), Some("https://a, https://a"));
        let h: HeaderVal = serde_json::from_str(r#"["https://a"]"#).unwrap();
        assert!(matches!(h.0, Some(Cow::Borrowed("https://a"))));
        let t: Ts = serde_json::from_str("1775298662.5").unwrap();
        assert_eq!(t.0, Some(1_775_298_662_500));
        let d: Dur = serde_json::from_str("\"1.5ms\"").unwrap();
        assert_eq!(d.0, Some(1.5));
        let d: Dur = serde_json::from_str("\"1m2.5s\"").unwrap();
        assert_eq!(d.0, Some(62_500.0));
        let d: Dur = serde_json::from_str("\"812µs\"").unwrap();
        assert!((d.0.unwrap() - 0.812).abs() < 1e-9);
        let d: Dur = serde_json::from_str("0.25").unwrap();
        assert_eq!(d.0, Some(250.0));
        let d: Dur = serde_json::from_str("\"soon\"").unwrap();
        assert_eq!(d.0, None);
        let t: Ts = serde_json::from_str("\"2026-04-04T10:31:02Z\"").unwrap();
        assert_eq!(t.0, Some(1_775_298_662_000));
    }
}
