//! The live log's rows: the newest kept lines with their parsed fields and outcome, and the
//! filter that matches columns (`status:4xx origin:contoso`) as well as text.

use crate::model::time::EpochMs;
use crate::sources::event::AcaoSeen;
use crate::store::{LineFields, Store};

/// Most raw lines copied into one view model; the log view shows the newest of them.
pub const MAX_LOG_LINES: usize = 1000;

/// A kept line with its source label resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub seq: u64,
    pub source: String,
    /// When the line was read.
    pub wall: EpochMs,
    /// Redacted, control characters escaped.
    pub text: String,
    pub fields: Option<LineFields>,
    pub outcome: Outcome,
}

impl LogLine {
    /// The event's time when the line parsed.
    pub fn time(&self) -> Option<EpochMs> {
        self.fields.as_ref().map(LineFields::time)
    }
}

/// What a line says happened, worst first where several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// 1xx/2xx.
    Ok,
    /// 3xx: a redirect (fatal for a preflight).
    Redirect,
    /// 4xx other than 401/403.
    ClientError,
    /// 401/403, or a token-validation failure in an auth log.
    AuthFailure,
    /// 5xx.
    ServerError,
    /// A browser refuses the answer: `Access-Control-Allow-Origin` doubled, or absent on a
    /// request that sent an Origin (in a log that records the header).
    CorsRefused,
    /// An auth log event that is not a failure.
    Info,
    /// A line without a record (malformed, header, another kind of log line).
    Text,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Ok,
        Outcome::Redirect,
        Outcome::ClientError,
        Outcome::AuthFailure,
        Outcome::ServerError,
        Outcome::CorsRefused,
        Outcome::Info,
        Outcome::Text,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn of(fields: Option<&LineFields>) -> Outcome {
        match fields {
            None => Outcome::Text,
            Some(LineFields::Auth(a)) => match a.class {
                Some(_) => Outcome::AuthFailure,
                None => Outcome::Info,
            },
            Some(LineFields::Http(h)) => {
                let cross_origin = h.origin.is_some() && !h.origin_derived;
                match h.status {
                    _ if h.acao_seen == AcaoSeen::Multiple => Outcome::CorsRefused,
                    401 | 403 => Outcome::AuthFailure,
                    500..=599 => Outcome::ServerError,
                    _ if cross_origin && h.acao_seen == AcaoSeen::Missing => Outcome::CorsRefused,
                    400..=499 => Outcome::ClientError,
                    300..=399 => Outcome::Redirect,
                    _ => Outcome::Ok,
                }
            }
        }
    }
}

/// The newest kept lines, oldest first, at most [`MAX_LOG_LINES`].
pub fn lines(store: &Store) -> Vec<LogLine> {
    let labels: Vec<&str> = store.sources().iter().map(|s| s.label.as_str()).collect();
    let mut log: Vec<LogLine> = store
        .raw_lines()
        .rev()
        .take(MAX_LOG_LINES)
        .map(|l| LogLine {
            seq: l.seq,
            source: labels
                .get(l.source as usize)
                .copied()
                .unwrap_or("?")
                .to_string(),
            wall: l.wall,
            text: l.text.clone(),
            outcome: Outcome::of(l.fields.as_ref()),
            fields: l.fields.clone(),
        })
        .collect();
    log.reverse();
    log
}

/// One term of a log filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// Anywhere in the text or the source label, any case.
    Text(String),
    /// `status:401`, `status:4xx`, `status:40x`: one pattern digit per position, `x` any.
    Status([Option<u8>; 3]),
    Method(String),
    Route(String),
    Origin(String),
    Acao(String),
    Source(String),
}

/// The column names a filter term may start with, for the prompt's hint and the README.
pub const FILTER_KEYS: &[&str] = &["status", "method", "route", "origin", "acao", "source"];

/// Splits a filter into terms (separated by spaces, all must match). `key:value` with a known
/// key matches that column; anything else is text.
pub fn parse_filter(filter: &str) -> Vec<Term> {
    filter
        .split_whitespace()
        .map(|word| {
            let Some((key, value)) = word.split_once(':') else {
                return Term::Text(word.to_lowercase());
            };
            let v = value.to_lowercase();
            match key.to_ascii_lowercase().as_str() {
                "status" => match status_pattern(value) {
                    Some(p) => Term::Status(p),
                    None => Term::Text(word.to_lowercase()),
                },
                "method" => Term::Method(v),
                "route" | "path" => Term::Route(v),
                "origin" => Term::Origin(v),
                "acao" => Term::Acao(v),
                "source" => Term::Source(v),
                _ => Term::Text(word.to_lowercase()),
            }
        })
        .collect()
}

fn status_pattern(s: &str) -> Option<[Option<u8>; 3]> {
    let b = s.as_bytes();
    if b.len() != 3 {
        return None;
    }
    let mut out = [None; 3];
    for (o, c) in out.iter_mut().zip(b) {
        *o = match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'x' | b'X' => None,
            _ => return None,
        };
    }
    Some(out)
}

fn contains(hay: &str, lower_needle: &str) -> bool {
    hay.to_lowercase().contains(lower_needle)
}

impl Term {
    pub fn matches(&self, line: &LogLine) -> bool {
        let http = match &line.fields {
            Some(LineFields::Http(h)) => Some(h),
            _ => None,
        };
        match self {
            Term::Text(t) => contains(&line.text, t) || contains(&line.source, t),
            Term::Source(t) => contains(&line.source, t),
            Term::Status(p) => line
                .fields
                .as_ref()
                .and_then(LineFields::status)
                .is_some_and(|s| {
                    let digits = [(s / 100 % 10) as u8, (s / 10 % 10) as u8, (s % 10) as u8];
                    s < 1000
                        && p.iter()
                            .zip(digits)
                            .all(|(want, d)| want.is_none_or(|w| w == d))
                }),
            Term::Method(t) => http.is_some_and(|h| h.method.as_str().eq_ignore_ascii_case(t)),
            Term::Route(t) => http.is_some_and(|h| contains(&h.route, t)),
            Term::Origin(t) => {
                http.is_some_and(|h| h.origin.as_deref().is_some_and(|o| contains(o, t)))
            }
            Term::Acao(t) => {
                http.is_some_and(|h| h.acao.as_deref().is_some_and(|a| contains(a, t)))
            }
        }
    }
}

/// Indices of the lines every term of `filter` matches; all lines when it is empty.
pub fn filter_log(lines: &[LogLine], filter: &str) -> Vec<usize> {
    let terms = parse_filter(filter);
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| terms.iter().all(|t| t.matches(l)))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::event::{AuthClass, Method};
    use crate::store::logline::{AuthFields, HttpFields};

    fn http(
        method: Method,
        route: &str,
        status: u16,
        origin: Option<&str>,
        acao: Option<&str>,
    ) -> LogLine {
        let fields = LineFields::Http(HttpFields {
            time: 0,
            method,
            status,
            latency_ms: Some(3),
            route: route.into(),
            origin: origin.map(Into::into),
            origin_derived: false,
            acao: acao.map(Into::into),
            acao_seen: AcaoSeen::classify(acao),
        });
        LogLine {
            seq: 0,
            source: "web.log".into(),
            wall: 0,
            text: format!("{method} {route} {status}"),
            outcome: Outcome::of(Some(&fields)),
            fields: Some(fields),
        }
    }

    fn text(source: &str, text: &str) -> LogLine {
        LogLine {
            seq: 0,
            source: source.into(),
            wall: 0,
            text: text.into(),
            fields: None,
            outcome: Outcome::Text,
        }
    }

    fn sample() -> Vec<LogLine> {
        let mut auth = text("auth.log", "IDX10223: Lifetime validation failed");
        auth.fields = Some(LineFields::Auth(AuthFields {
            time: 0,
            class: Some(AuthClass::Expired),
            status: Some(401),
        }));
        auth.outcome = Outcome::of(auth.fields.as_ref());
        vec![
            // 0
            http(
                Method::Options,
                "/api/orders",
                401,
                Some("https://app.contoso.com"),
                Some("-"),
            ),
            // 1
            http(
                Method::Get,
                "/api/orders/{id}",
                200,
                Some("https://app.contoso.com"),
                Some("https://app.contoso.com"),
            ),
            // 2
            http(
                Method::Options,
                "/api/products",
                204,
                Some("https://admin.fabrikam.com"),
                Some("https://a, https://a"),
            ),
            // 3
            http(Method::Get, "/health", 503, None, None),
            // 4
            text("web.log", "#Fields: date time cs-method"),
            // 5
            auth,
        ]
    }

    #[test]
    fn filters_match_columns_and_text() {
        let lines = sample();
        let cases: &[(&str, &[usize])] = &[
            ("", &[0, 1, 2, 3, 4, 5]),
            ("status:401", &[0, 5]),
            ("status:4xx", &[0, 5]),
            ("status:2XX", &[1, 2]),
            ("status:20x", &[1, 2]),
            ("status:5xx", &[3]),
            ("method:options", &[0, 2]),
            ("METHOD:GET", &[1, 3]),
            ("route:/api/orders", &[0, 1]),
            ("route:{id}", &[1]),
            ("origin:contoso", &[0, 1]),
            ("origin:FABRIKAM", &[2]),
            ("acao:https://a,", &[2]),
            ("source:auth", &[5]),
            ("method:OPTIONS origin:contoso", &[0]),
            ("method:OPTIONS status:2xx", &[2]),
            ("#fields", &[4]),
            ("lifetime auth.log", &[5]),
            ("web.log", &[0, 1, 2, 3, 4]),
            ("orders 401", &[0]),
            // Not a pattern: looked for as text.
            ("status:abc", &[]),
            // An unknown key is text too.
            ("date:today", &[]),
            ("nosuchthing", &[]),
        ];
        for (filter, want) in cases {
            assert_eq!(filter_log(&lines, filter), *want, "filter {filter:?}");
        }
    }

    #[test]
    fn outcomes_say_what_the_browser_sees() {
        let outcomes: Vec<Outcome> = sample().iter().map(|l| l.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::AuthFailure,
                Outcome::Ok,
                Outcome::CorsRefused,
                Outcome::ServerError,
                Outcome::Text,
                Outcome::AuthFailure,
            ]
        );
        let cases = [
            (200, Some("https://x"), Some("-"), Outcome::CorsRefused),
            (200, Some("https://x"), None, Outcome::Ok),
            (200, None, Some("-"), Outcome::Ok),
            (302, None, None, Outcome::Redirect),
            (404, None, None, Outcome::ClientError),
            (403, None, None, Outcome::AuthFailure),
        ];
        for (status, origin, acao, want) in cases {
            let l = http(Method::Get, "/", status, origin, acao);
            assert_eq!(l.outcome, want, "{status} {origin:?} {acao:?}");
        }
    }
}
