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

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The UTC date and time of `t`, when chrono can represent it.
pub fn to_datetime(t: EpochMs) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(t)
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
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let days = i64::from(chrono::Datelike::num_days_from_ce(&date)) - UNIX_EPOCH_DAYS_FROM_CE;
    Some(
        days * 86_400_000
            + hour as i64 * 3_600_000
            + min as i64 * 60_000
            + sec as i64 * 1_000
            + millis as i64,
    )
}

/// The UTC instant of local time `base` at offset `sign` `h`:`m` (`+01:00` is an hour ahead of
/// UTC, so an hour is taken off).
fn utc_from_offset(base: EpochMs, sign: u8, h: u32, m: u32) -> Option<EpochMs> {
    if h > 23 || m > 59 {
        return None;
    }
    let off = (i64::from(h) * 60 + i64::from(m)) * 60_000;
    Some(if sign == b'+' { base - off } else { base + off })
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
        [] | [b'Z' | b'z'] => Some(base),
        [sign @ (b'+' | b'-'), tz @ ..] => {
            let (h, m) = match tz {
                [a, b, b':', c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                [a, b, c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                [a, b] => (digits(&[*a, *b])?, 0),
                _ => return None,
            };
            utc_from_offset(base, *sign, h, m)
        }
        _ => None,
    }
}

/// Formats as `2026-04-04T10:31:02Z` (seconds precision, always UTC: for JSON, payloads and
/// generated logs).
pub fn format_rfc3339(t: EpochMs) -> String {
    match to_datetime(t) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => format!("@{t}ms"),
    }
}

/// Formats as `2026-04-04T10:31:02.123Z`.
pub fn format_rfc3339_millis(t: EpochMs) -> String {
    match to_datetime(t) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("@{t}ms"),
    }
}

/// `HH:MM:SS` of the time of day in the display zone, for compact axis labels and rows whose
/// zone is stated nearby (the header clock says it).
pub fn format_hms(t: EpochMs) -> String {
    crate::model::zone::display().hms(t)
}

/// `HH:MM` of the time of day in the display zone.
pub fn format_hm(t: EpochMs) -> String {
    crate::model::zone::display().hm(t)
}

/// A time of day in the display zone that says its zone: `10:31:02Z`, `16:01:02 IST`.
pub fn format_clock(t: EpochMs) -> String {
    crate::model::zone::display().clock(t)
}

/// Date and time for people, in the display zone: `2026-04-04T10:31:02Z`,
/// `2026-04-04T16:01:02+05:30`. Machine-read text uses [`format_rfc3339`] (always UTC).
pub fn format_datetime(t: EpochMs) -> String {
    crate::model::zone::display().datetime(t)
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

/// Examples quoted whenever a duration cannot be read.
pub const DURATION_EXAMPLES: &str = "250ms, 10s, 5m, 6h, 1h30m";

/// Parses durations written in configs and flags (`250ms`, `10s`, `5m`, `6h`, `1d`, `1h30m`,
/// `2h 15min`: humantime's syntax); a bare number is seconds. The one duration parser: every
/// flag, environment variable and config key goes through it.
pub fn parse_duration(s: &str) -> Option<EpochMs> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<EpochMs>().ok()?.checked_mul(SECOND);
    }
    let d = humantime::parse_duration(s).ok()?;
    EpochMs::try_from(d.as_millis()).ok()
}

/// A duration setting (`30s`, `250ms`, `5m`), read with [`parse_duration`] wherever it is
/// written: config file, flag or environment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct DurationSetting(pub EpochMs);

impl DurationSetting {
    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.max(0) as u64)
    }
    pub fn ms(self) -> EpochMs {
        self.0
    }
}

impl std::str::FromStr for DurationSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_duration(s)
            .map(DurationSetting)
            .ok_or_else(|| format!("invalid duration '{s}' (examples: {DURATION_EXAMPLES})"))
    }
}

impl<'de> serde::Deserialize<'de> for DurationSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for DurationSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", self.0))
    }
}

impl std::fmt::Display for DurationSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_duration(self.0))
    }
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
            utc_from_offset(base, *sign, h, m)
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
    fn calendar_fields_round_trip_through_chrono() {
        for t in [
            -800_000 * 86_400_000,
            -1,
            0,
            1_775_296_800_123,
            951_782_400_000, // 2000-02-29, a leap day of a century year
            2_000_000 * 86_400_000,
        ] {
            let dt = to_datetime(t).unwrap();
            use chrono::{Datelike, Timelike};
            let back = from_parts(
                dt.year().into(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second(),
                dt.timestamp_subsec_millis(),
            );
            assert_eq!(back, Some(t), "{dt}");
        }
        assert_eq!(from_parts(2026, 2, 29, 0, 0, 0, 0), None);
        assert_eq!(
            format_rfc3339_millis(1_775_296_800_123),
            "2026-04-04T10:00:00.123Z"
        );
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
        assert_eq!(parse_duration("2h 15min"), Some(135 * MINUTE));
        assert_eq!(parse_duration("1d"), Some(24 * HOUR));
        assert_eq!(parse_duration("30"), Some(30 * SECOND));
        assert_eq!(parse_duration("-5s"), None);
        let e = "10 parsecs".parse::<DurationSetting>().unwrap_err();
        assert!(
            e.contains("invalid duration '10 parsecs' (examples: 250ms"),
            "{e}"
        );
        assert_eq!(parse_duration(""), None);
        assert_eq!(format_duration(59 * MINUTE), "59m");
        assert_eq!(format_duration(HOUR + 5 * MINUTE), "1h 5m");
        assert_eq!(format_duration(1500), "1s");
    }
}
