//! The zone times are shown in. Event times stay UTC milliseconds everywhere inside; only the
//! text a person reads is converted.
//!
//! The zone is chosen once per process (`--tz`, the `tz` key, or the machine's own zone) and
//! every view, sentence and report formats through it, so it is held process-wide instead of
//! being handed down through each of the builders that word a time. Machine-read outputs
//! (JSON reports, webhook payloads, generated logs) stay in UTC and use
//! [`crate::model::time::format_rfc3339`].

use std::fmt;
use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Milliseconds since the Unix epoch: `model::time::EpochMs`, named here without importing it
/// because `model::time` formats through this module.
type EpochMs = i64;

/// A zone to show times in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Zone {
    #[default]
    Utc,
    Named(Tz),
}

/// Why a `--tz` value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {given:?}: use local, utc or an IANA name such as Europe/Paris{hint}")]
pub struct ZoneError {
    pub given: String,
    hint: String,
}

/// What `local` resolved to, and from where (shown in the help and in `--tz` errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalZone {
    pub zone: Zone,
    /// `TZ`, `/etc/localtime`... or `None` when nothing named a zone and UTC was assumed.
    pub from: Option<String>,
}

impl Zone {
    /// Reads `utc`, `local` or an IANA name (any letter case). `local` is resolved by
    /// [`Zone::local`].
    pub fn parse(spec: &str) -> Result<Zone, ZoneError> {
        let s = spec.trim();
        if s.eq_ignore_ascii_case("local") {
            return Ok(Zone::local().zone);
        }
        Zone::named(s).ok_or_else(|| ZoneError {
            given: spec.to_string(),
            hint: suggestion(s).map_or_else(String::new, |n| format!(" (did you mean {n}?)")),
        })
    }

    /// A zone by name, without `local`.
    fn named(s: &str) -> Option<Zone> {
        if ["utc", "z", "gmt", "etc/utc", "zulu", "universal"]
            .iter()
            .any(|u| s.eq_ignore_ascii_case(u))
        {
            return Some(Zone::Utc);
        }
        let tz = s.parse::<Tz>().ok().or_else(|| {
            chrono_tz::TZ_VARIANTS
                .iter()
                .copied()
                .find(|t| t.name().eq_ignore_ascii_case(s))
        })?;
        Some(if is_utc(tz) {
            Zone::Utc
        } else {
            Zone::Named(tz)
        })
    }

    /// The machine's zone: `TZ` when it names one, else the system's (`/etc/localtime`,
    /// `/etc/timezone`), else UTC.
    pub fn local() -> LocalZone {
        let system = iana_time_zone::get_timezone().ok();
        Zone::local_from(std::env::var("TZ").ok().as_deref(), system.as_deref())
    }

    /// [`Zone::local`] on given values, for tests.
    pub fn local_from(tz_env: Option<&str>, system: Option<&str>) -> LocalZone {
        if let Some(v) = tz_env.map(str::trim).filter(|v| !v.is_empty()) {
            // `TZ=:Europe/Paris` and `TZ=/usr/share/zoneinfo/Europe/Paris` name a zone too.
            let v = v.strip_prefix(':').unwrap_or(v);
            let v = v.rsplit_once("zoneinfo/").map_or(v, |(_, name)| name);
            if let Some(zone) = Zone::named(v) {
                return LocalZone {
                    zone,
                    from: Some("TZ".into()),
                };
            }
        }
        if let Some(zone) = system.and_then(|s| Zone::named(s.trim())) {
            return LocalZone {
                zone,
                from: Some("the system zone".into()),
            };
        }
        LocalZone {
            zone: Zone::Utc,
            from: None,
        }
    }

    /// `UTC` or the IANA name.
    pub fn name(&self) -> &'static str {
        match self {
            Zone::Utc => "UTC",
            Zone::Named(tz) => tz.name(),
        }
    }

    /// The abbreviation in force at `t` (`CET`, `CEST`, `IST`; `+0530` where the database has
    /// none).
    pub fn abbreviation(&self, t: EpochMs) -> String {
        match self {
            Zone::Utc => "UTC".into(),
            Zone::Named(tz) => match at(*tz, t) {
                Some(dt) => dt.format("%Z").to_string(),
                None => tz.name().into(),
            },
        }
    }

    /// `HH:MM:SS` of the time of day in this zone.
    pub fn hms(&self, t: EpochMs) -> String {
        self.format(t, "%H:%M:%S", |rem| {
            format!("{:02}:{:02}:{:02}", rem / 3600, (rem / 60) % 60, rem % 60)
        })
    }

    /// `HH:MM` of the time of day in this zone.
    pub fn hm(&self, t: EpochMs) -> String {
        self.format(t, "%H:%M", |rem| {
            format!("{:02}:{:02}", rem / 3600, (rem / 60) % 60)
        })
    }

    /// A time of day that says its zone: `10:31:02Z`, `16:01:02 IST`.
    pub fn clock(&self, t: EpochMs) -> String {
        match self {
            Zone::Utc => format!("{}Z", self.hms(t)),
            Zone::Named(_) => format!("{} {}", self.hms(t), self.abbreviation(t)),
        }
    }

    /// Date and time that say their zone: `2026-04-04T10:31:02Z`,
    /// `2026-04-04T16:01:02+05:30`.
    pub fn datetime(&self, t: EpochMs) -> String {
        match self {
            Zone::Utc => match DateTime::<Utc>::from_timestamp_millis(t) {
                Some(dt) => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                None => format!("@{t}ms"),
            },
            Zone::Named(tz) => match at(*tz, t) {
                Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                None => format!("@{t}ms"),
            },
        }
    }

    /// UTC keeps its arithmetic fast path (axis labels and log rows format many times per
    /// frame); other zones go through the time zone database.
    fn format(&self, t: EpochMs, pattern: &str, utc: impl Fn(i64) -> String) -> String {
        match self {
            Zone::Utc => utc(t.rem_euclid(86_400_000) / 1000),
            Zone::Named(tz) => match at(*tz, t) {
                Some(dt) => dt.format(pattern).to_string(),
                None => utc(t.rem_euclid(86_400_000) / 1000),
            },
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn at(tz: Tz, t: EpochMs) -> Option<DateTime<Tz>> {
    DateTime::<Utc>::from_timestamp_millis(t).map(|dt| tz.from_utc_datetime(&dt.naive_utc()))
}

/// Zones that are UTC under another name are shown as UTC (`Z` suffix, no offset).
fn is_utc(tz: Tz) -> bool {
    matches!(
        tz,
        Tz::UTC
            | Tz::UCT
            | Tz::Universal
            | Tz::Zulu
            | Tz::Etc__UTC
            | Tz::Etc__UCT
            | Tz::Etc__Universal
            | Tz::Etc__Zulu
    )
}

/// The known name closest to a mistyped one: same last component (`Paris` → `Europe/Paris`).
fn suggestion(s: &str) -> Option<&'static str> {
    let last = s.rsplit('/').next().unwrap_or(s);
    if last.is_empty() {
        return None;
    }
    chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()).find(|n| {
        n.rsplit('/')
            .next()
            .is_some_and(|l| l.eq_ignore_ascii_case(last))
    })
}

static DISPLAY: OnceLock<Zone> = OnceLock::new();

/// Sets the zone every displayed time uses. The first call wins; later calls return `false`.
pub fn set_display(zone: Zone) -> bool {
    DISPLAY.set(zone).is_ok()
}

/// The zone displayed times use (UTC until [`set_display`] is called).
pub fn display() -> Zone {
    DISPLAY.get().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-04-04T10:31:02Z
    const T: EpochMs = 1_775_298_662_000;
    // 2026-01-15T08:00:00Z, winter in Europe
    const WINTER: EpochMs = 1_768_464_000_000;

    #[test]
    fn names_are_read_in_any_case() {
        let cases: &[(&str, Option<&str>)] = &[
            ("utc", Some("UTC")),
            ("UTC", Some("UTC")),
            ("Etc/UTC", Some("UTC")),
            ("Z", Some("UTC")),
            ("Europe/Paris", Some("Europe/Paris")),
            ("europe/paris", Some("Europe/Paris")),
            ("Asia/Kolkata", Some("Asia/Kolkata")),
            (
                "America/Argentina/Buenos_Aires",
                Some("America/Argentina/Buenos_Aires"),
            ),
            ("Mars/Olympus", None),
            ("", None),
            ("+05:30", None),
        ];
        for (given, want) in cases {
            let got = Zone::parse(given).ok().map(|z| z.name());
            assert_eq!(got, *want, "{given}");
        }
    }

    #[test]
    fn a_mistyped_zone_gets_a_suggestion() {
        let e = Zone::parse("Paris").unwrap_err().to_string();
        assert!(e.contains("did you mean Europe/Paris?"), "{e}");
        let e = Zone::parse("Nowhere/Atall").unwrap_err().to_string();
        assert!(
            e.contains("IANA name") && !e.contains("did you mean"),
            "{e}"
        );
    }

    #[test]
    fn local_prefers_tz_then_the_system_then_utc() {
        // (TZ, system zone, zone chosen, where it came from)
        type Case<'a> = (Option<&'a str>, Option<&'a str>, &'a str, Option<&'a str>);
        let cases: &[Case] = &[
            (
                Some("Asia/Tokyo"),
                Some("Europe/Paris"),
                "Asia/Tokyo",
                Some("TZ"),
            ),
            (Some(":Asia/Tokyo"), None, "Asia/Tokyo", Some("TZ")),
            (
                Some("/usr/share/zoneinfo/America/New_York"),
                None,
                "America/New_York",
                Some("TZ"),
            ),
            (Some("UTC"), Some("Europe/Paris"), "UTC", Some("TZ")),
            // A POSIX rule names no zone: the system's is used.
            (
                Some("CET-1CEST"),
                Some("Europe/Paris"),
                "Europe/Paris",
                Some("the system zone"),
            ),
            (
                Some(""),
                Some("Europe/Paris"),
                "Europe/Paris",
                Some("the system zone"),
            ),
            (None, Some("Etc/UTC"), "UTC", Some("the system zone")),
            (None, None, "UTC", None),
            (None, Some("garbage"), "UTC", None),
        ];
        for (env, system, zone, from) in cases {
            let got = Zone::local_from(*env, *system);
            assert_eq!(got.zone.name(), *zone, "{env:?} {system:?}");
            assert_eq!(got.from.as_deref(), *from, "{env:?} {system:?}");
        }
    }

    #[test]
    fn times_say_their_zone() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        let cases: &[(Zone, EpochMs, &str, &str, &str, &str)] = &[
            (
                Zone::Utc,
                T,
                "10:31:02",
                "10:31",
                "10:31:02Z",
                "2026-04-04T10:31:02Z",
            ),
            (
                paris,
                T,
                "12:31:02",
                "12:31",
                "12:31:02 CEST",
                "2026-04-04T12:31:02+02:00",
            ),
            (
                paris,
                WINTER,
                "09:00:00",
                "09:00",
                "09:00:00 CET",
                "2026-01-15T09:00:00+01:00",
            ),
            (
                kolkata,
                T,
                "16:01:02",
                "16:01",
                "16:01:02 IST",
                "2026-04-04T16:01:02+05:30",
            ),
        ];
        for (zone, t, hms, hm, clock, datetime) in cases {
            assert_eq!(zone.hms(*t), *hms, "{zone}");
            assert_eq!(zone.hm(*t), *hm, "{zone}");
            assert_eq!(zone.clock(*t), *clock, "{zone}");
            assert_eq!(zone.datetime(*t), *datetime, "{zone}");
        }
    }

    #[test]
    fn the_date_line_is_crossed_correctly() {
        // 23:30 UTC is 05:00 the next day in Kolkata.
        let t = 1_775_345_400_000; // 2026-04-04T23:30:00Z
        let kolkata = Zone::parse("Asia/Kolkata").unwrap();
        assert_eq!(kolkata.datetime(t), "2026-04-05T05:00:00+05:30");
        assert_eq!(kolkata.hms(t), "05:00:00");
    }
}
