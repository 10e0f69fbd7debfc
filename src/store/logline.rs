//! What the live log keeps of a line besides its text: the fields its record carried, each
//! bounded so that the ring's memory stays a fixed multiple of its line count.

use crate::model::redact;
use crate::model::time::EpochMs;
use crate::sources::event::{AcaoSeen, AuthClass, AuthRecord, HttpRecord, Method};

use super::route;

/// Longest route, origin or `Access-Control-Allow-Origin` value kept with a line, in bytes.
pub const MAX_LOG_FIELD: usize = 200;

/// The fields of a request line.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpFields {
    pub time: EpochMs,
    pub method: Method,
    pub status: u16,
    pub latency_ms: Option<u32>,
    /// The route template the store counts the request under (query dropped).
    pub route: String,
    pub origin: Option<String>,
    /// The origin came from the Referer (the log has no Origin field).
    pub origin_derived: bool,
    /// `Access-Control-Allow-Origin` as logged: comma-joined when the header was doubled.
    pub acao: Option<String>,
    pub acao_seen: AcaoSeen,
}

/// The fields of a token-validation line.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthFields {
    pub time: EpochMs,
    /// `None` for a validation that succeeded.
    pub class: Option<AuthClass>,
    pub status: Option<u16>,
}

/// What a kept line parsed into.
#[derive(Clone, Debug, PartialEq)]
pub enum LineFields {
    Http(HttpFields),
    Auth(AuthFields),
}

impl LineFields {
    pub fn of_http(rec: &HttpRecord<'_>) -> LineFields {
        LineFields::Http(HttpFields {
            time: rec.time,
            method: rec.method,
            status: rec.status,
            latency_ms: rec.latency_ms,
            route: field(&route::template(&rec.path)),
            origin: rec.origin.as_deref().map(field),
            origin_derived: rec.origin_derived,
            acao: rec.acao.as_deref().map(field),
            acao_seen: rec.acao_seen(),
        })
    }

    pub fn of_auth(rec: &AuthRecord<'_>) -> LineFields {
        LineFields::Auth(AuthFields {
            time: rec.time,
            class: rec.class,
            status: rec.status,
        })
    }

    /// The event's own time, as the log stamped it.
    pub fn time(&self) -> EpochMs {
        match self {
            LineFields::Http(h) => h.time,
            LineFields::Auth(a) => a.time,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            LineFields::Http(h) => Some(h.status),
            LineFields::Auth(a) => a.status,
        }
    }
}

/// Redacted, inert and at most [`MAX_LOG_FIELD`] bytes.
fn field(s: &str) -> String {
    let clean = crate::model::text::inert(&redact::text(s)).into_owned();
    if clean.len() <= MAX_LOG_FIELD {
        return clean;
    }
    let mut cut = MAX_LOG_FIELD - '…'.len_utf8();
    while !clean.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &clean[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn fields_are_templated_bounded_and_inert() {
        let long = format!("https://{}.example", "a".repeat(400));
        let rec = HttpRecord {
            time: 7,
            method: Method::Get,
            path: Cow::Borrowed("/api/orders/12345?access_token=secret"),
            status: 401,
            origin: Some(Cow::Owned(long)),
            acao: Some(Cow::Borrowed(
                "https://a.example\u{1b}[2J, https://a.example",
            )),
            ..Default::default()
        };
        let LineFields::Http(h) = LineFields::of_http(&rec) else {
            panic!("not http")
        };
        assert_eq!(h.route, "/api/orders/{id}");
        assert!(h.origin.as_ref().unwrap().len() <= MAX_LOG_FIELD);
        assert!(!h.acao.as_ref().unwrap().contains('\u{1b}'));
        assert_eq!(h.acao_seen, AcaoSeen::Multiple);
        assert_eq!(LineFields::of_http(&rec).time(), 7);
    }
}
