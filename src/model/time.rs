//! Timestamps as milliseconds since the Unix epoch (UTC).
//!
//! Log timestamps are parsed by hand because the hot path sees millions of them per second and
//! they come in a handful of fixed shapes; a general date library would cost more than the
//! whole rest of a line's parsing.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type EpochMs = i64;

pub const SECOND: EpochMs = 1_000;
pub const MINUTE: EpochMs = 60 * SECOND;
pub const HOUR: EpochMs = 60 * MINUTE;

/// Wall-clock now.
pub fn now_ms() -> EpochMs {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as EpochMs,
        Err(e) => -(e.duration().as_millis() as EpochMs),
    }
}

/// Days since the epoch for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[inline]
fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Builds a timestamp from calendar fields, validating ranges.
pub fn from_parts(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    millis: u32,
) -> Option<EpochMs> {
    // chrono says which calendar dates exist (2026-02-30 does not); a log's second 60 is not
    // one a clock shows either, so it is refused rather than shifted into the next minute.
    if hour > 23 || min > 59 || sec > 59 || millis > 999 {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let days = days_from_civil(year, month, day);
    Some(
        days * 86_400_000
            + hour as i64 * 3_600_000
            + min as i64 * 60_000
            + sec as i64 * 1_000
            + millis as i64,
    )
}

/// Parses the fraction digits after a '.' and returns (millis, bytes consumed).
fn fraction(b: &[u8]) -> (u32, usize) {
    let mut n = 0;
    let mut ms = 0u32;
    while n < b.len() && b[n].is_ascii_digit() {
        if n < 3 {
            ms = ms * 10 + (b[n] - b'0') as u32;
        }
        n += 1;
    }
    let mut k = n.min(3);
    while k < 3 {
        ms *= 10;
        k += 1;
    }
    (ms, n)
}

/// Parses RFC 3339 / ISO 8601 timestamps as logs write them:
/// `2026-04-04T10:31:02Z`, `2026-04-04T10:31:02.1234567Z`, `2026-04-04 10:31:02`,
/// `2026-04-04T10:31:02+02:00`. A missing zone means UTC (App Service and W3C logs are UTC).
pub fn parse_rfc3339(s: &[u8]) -> Option<EpochMs> {
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    if s[10] != b'T' && s[10] != b' ' && s[10] != b't' {
        return None;
    }
    let year = digits(&s[0..4])? as i64;
    let month = digits(&s[5..7])?;
    let day = digits(&s[8..10])?;
    let hour = digits(&s[11..13])?;
    let min = digits(&s[14..16])?;
    let sec = digits(&s[17..19])?;
    let mut rest = &s[19..];
    let mut ms = 0;
    if let Some((&b'.', tail)) = rest.split_first() {
        let (m, n) = fraction(tail);
        if n == 0 {
            return None;
        }
        ms = m;
        rest = &tail[n..];
    }
    let base = from_parts(year, month, day, hour, min, sec, ms)?;
    match rest {
        [] | [b'Z'] | [b'z'] => Some(base),
        [sign @ (b'+' | b'-'), tz @ ..] => {
            let (h, m) = match tz {
                [a, b, b':', c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                [a, b, c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                [a, b] => (digits(&[*a, *b])?, 0),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let off = (h as i64 * 60 + m as i64) * 60_000;
            Some(if *sign == b'+' {
                base - off
            } else {
                base + off
            })
        }
        _ => None,
    }
}

/// Formats as `2026-04-04T10:31:02Z` (seconds precision).
pub fn format_rfc3339(t: EpochMs) -> String {
    let days = t.div_euclid(86_400_000);
    let rem = t.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Formats as `2026-04-04T10:31:02.123Z`.
pub fn format_rfc3339_millis(t: EpochMs) -> String {
    let base = format_rfc3339(t);
    format!("{}.{:03}Z", &base[..base.len() - 1], t.rem_euclid(1000))
}

/// `HH:MM:SS` of the UTC time of day, for compact axis labels.
pub fn format_hms(t: EpochMs) -> String {
    let rem = t.rem_euclid(86_400_000) / 1000;
    format!("{:02}:{:02}:{:02}", rem / 3600, (rem / 60) % 60, rem % 60)
}

/// `HH:MM` of the UTC time of day.
pub fn format_hm(t: EpochMs) -> String {
    let rem = t.rem_euclid(86_400_000) / 1000;
    format!("{:02}:{:02}", rem / 3600, (rem / 60) % 60)
}

/// Human duration: `850ms`, `42s`, `5m`, `1h 5m`, `2d 3h`.
pub fn format_duration(ms: EpochMs) -> String {
    let ms = ms.max(0);
    if ms < SECOND {
        format!("{ms}ms")
    } else if ms < MINUTE {
        format!("{}s", ms / SECOND)
    } else if ms < HOUR {
        let s = (ms % MINUTE) / SECOND;
        if s == 0 {
            format!("{}m", ms / MINUTE)
        } else {
            format!("{}m {}s", ms / MINUTE, s)
        }
    } else if ms < 24 * HOUR {
        let m = (ms % HOUR) / MINUTE;
        if m == 0 {
            format!("{}h", ms / HOUR)
        } else {
            format!("{}h {}m", ms / HOUR, m)
        }
    } else {
        format!("{}d {}h", ms / (24 * HOUR), (ms % (24 * HOUR)) / HOUR)
    }
}

/// Parses durations written in configs and flags: `250ms`, `10s`, `5m`, `6h`, `1d`, `1h30m`.
pub fn parse_duration(s: &str) -> Option<EpochMs> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total: EpochMs = 0;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return None;
        }
        let n: EpochMs = s[start..i].parse().ok()?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = match &s[ustart..i] {
            "ms" => 1,
            "s" | "" => SECOND,
            "m" | "min" => MINUTE,
            "h" => HOUR,
            "d" => 24 * HOUR,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(total)
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses the common log format time `10/Oct/2000:13:55:36 -0700` (without brackets).
pub fn parse_clf(s: &[u8]) -> Option<EpochMs> {
    if s.len() < 20 || s[2] != b'/' || s[6] != b'/' || s[11] != b':' {
        return None;
    }
    let day = digits(&s[0..2])?;
    let mon = MONTHS.iter().position(|m| &s[3..6] == *m)? as u32 + 1;
    let year = digits(&s[7..11])? as i64;
    let hour = digits(&s[12..14])?;
    let min = digits(&s[15..17])?;
    let sec = digits(&s[18..20])?;
    let base = from_parts(year, mon, day, hour, min, sec, 0)?;
    let rest = &s[20..];
    match rest {
        [] => Some(base),
        [b' ', sign @ (b'+' | b'-'), a, b, c, d] => {
            let (h, m) = (digits(&[*a, *b])?, digits(&[*c, *d])?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = (h as i64 * 60 + m as i64) * 60_000;
            Some(if *sign == b'+' {
                base - off
            } else {
                base + off
            })
        }
        _ => None,
    }
}

/// The last timestamp text a parser read and its value. Busy logs write many lines within one
/// second, all with the same time text, and comparing bytes is cheaper than reading a date.
#[derive(Clone, Debug)]
pub struct TimeCache {
    text: [u8; 40],
    /// Length of `text`; 0 while empty (an empty time text is never valid).
    len: usize,
    value: EpochMs,
}

impl Default for TimeCache {
    fn default() -> Self {
        TimeCache {
            text: [0; 40],
            len: 0,
            value: 0,
        }
    }
}

impl TimeCache {
    /// `parse(text)`, or the remembered value when `text` is the last text parsed.
    #[inline]
    pub fn parse(&mut self, text: &[u8], parse: fn(&[u8]) -> Option<EpochMs>) -> Option<EpochMs> {
        if self.len != 0
            && text.len() == self.len
            && crate::model::bytes::same(text, &self.text[..self.len])
        {
            return Some(self.value);
        }
        let value = parse(text)?;
        if !text.is_empty() && text.len() <= self.text.len() {
            self.text[..text.len()].copy_from_slice(text);
            self.len = text.len();
            self.value = value;
        }
        Some(value)
    }
}

impl TimeCache {
    /// [`parse_rfc3339`] with the whole seconds remembered: `2026-04-04T10:31:02.250Z` shares
    /// its first 19 bytes with every other line of that second, and only the milliseconds
    /// differ.
    #[inline]
    pub fn rfc3339(&mut self, text: &[u8]) -> Option<EpochMs> {
        if let [head @ .., b'.', a, b, c, b'Z'] = text
            && head.len() == 19
            && a.is_ascii_digit()
            && b.is_ascii_digit()
            && c.is_ascii_digit()
        {
            let ms = i64::from(a - b'0') * 100 + i64::from(b - b'0') * 10 + i64::from(c - b'0');
            if self.len == 19 && crate::model::bytes::same(head, &self.text[..19]) {
                return Some(self.value + ms);
            }
            let full = parse_rfc3339(text)?;
            // The seconds alone, which is also what `parse` would remember for these 19 bytes.
            self.text[..19].copy_from_slice(head);
            self.len = 19;
            self.value = full - ms;
            return Some(full);
        }
        parse_rfc3339(text)
    }
}

/// A shareable clock: the wall clock live, a compressed clock in the demo.
pub type Clock = std::sync::Arc<dyn Fn() -> EpochMs + Send + Sync>;

/// The wall clock as a [`Clock`].
pub fn wall_clock() -> Clock {
    std::sync::Arc::new(now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_cache_agrees_with_the_parser() {
        let mut cache = TimeCache::default();
        let texts: [&[u8]; 10] = [
            b"2026-04-04T10:31:02.250Z",
            b"2026-04-04T10:31:02.999Z",
            b"2026-04-04T10:31:02.000Z",
            b"2026-04-04T10:31:03.001Z",
            b"2026-04-04T10:31:03Z",
            b"2026-04-04T10:31:03.5Z",
            b"2026-04-04T10:31:03.001+02:00",
            b"2026-04-04T10:31:03.0x1Z",
            b"2026-13-04T10:31:03.001Z",
            b"2026-04-04T10:31:03.001Z",
        ];
        for _ in 0..2 {
            for t in texts {
                assert_eq!(
                    cache.rfc3339(t),
                    parse_rfc3339(t),
                    "{}",
                    String::from_utf8_lossy(t)
                );
                // The same cache serves `parse` for the 19-byte seconds text.
                assert_eq!(
                    cache.parse(&t[..19], parse_rfc3339),
                    parse_rfc3339(&t[..19])
                );
            }
        }
    }

    #[test]
    fn time_cache_remembers_only_valid_texts() {
        let mut cache = TimeCache::default();
        let a = b"10/Oct/2000:13:55:36 -0700";
        let b = b"10/Oct/2000:13:55:37 -0700";
        assert_eq!(cache.parse(a, parse_clf), parse_clf(a));
        assert_eq!(cache.parse(a, parse_clf), parse_clf(a));
        assert_eq!(cache.parse(b, parse_clf), parse_clf(b));
        assert_eq!(cache.parse(b"", parse_clf), None);
        assert_eq!(cache.parse(b"junk", parse_clf), None);
        assert_eq!(cache.parse(b, parse_clf), parse_clf(b));
        assert_ne!(parse_clf(a), parse_clf(b));
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 19_000, 20_547, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rfc3339_shapes() {
        let base = parse_rfc3339(b"2026-04-04T10:31:02Z").unwrap();
        assert_eq!(format_rfc3339(base), "2026-04-04T10:31:02Z");
        let cases: &[(&[u8], Option<EpochMs>)] = &[
            (b"2026-04-04T10:31:02", Some(base)),
            (b"2026-04-04 10:31:02", Some(base)),
            (b"2026-04-04T10:31:02.5Z", Some(base + 500)),
            (b"2026-04-04T10:31:02.1234567Z", Some(base + 123)),
            (b"2026-04-04T12:31:02+02:00", Some(base)),
            (b"2026-04-04T09:31:02-0100", Some(base)),
            (b"2026-04-04T10:31:02.Z", None),
            (b"2026-13-04T10:31:02Z", None),
            (b"2026-04-04T25:31:02Z", None),
            (b"2026-04-04T10:31:02Q", None),
            // Dates that do not exist are refused, not shifted into the next month.
            (b"2026-02-30T10:31:02Z", None),
            (b"2026-02-29T10:31:02Z", None),
            (b"2028-02-29T00:00:00Z", Some(1_835_395_200_000)),
            (b"2026-04-31T10:31:02Z", None),
            (b"2026-04-04T10:31:60Z", None),
            (b"2026-04-04T10:31:02+99:99", None),
            (b"2026-04-04T10:31:02+24:00", None),
            (b"garbage", None),
            (b"", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_rfc3339(input),
                *want,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn clf_time() {
        let t = parse_clf(b"10/Oct/2000:13:55:36 -0700").unwrap();
        assert_eq!(format_rfc3339(t), "2000-10-10T20:55:36Z");
        assert_eq!(parse_clf(b"10/Foo/2000:13:55:36 -0700"), None);
        assert_eq!(parse_clf(b"31/Apr/2026:13:55:36 +0000"), None);
        assert_eq!(parse_clf(b"10/Oct/2000:13:55:36 +9999"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(10_000));
        assert_eq!(parse_duration("6h"), Some(6 * HOUR));
        assert_eq!(parse_duration("1h30m"), Some(90 * MINUTE));
        assert_eq!(parse_duration("250ms"), Some(250));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(format_duration(59 * MINUTE), "59m");
        assert_eq!(format_duration(HOUR + 5 * MINUTE), "1h 5m");
        assert_eq!(format_duration(1500), "1s");
    }
}
