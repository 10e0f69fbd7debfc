//! What a browser does with a 3xx answer to the actual request (`fetch`'s default `redirect:
//! follow`), as the Fetch standard's HTTP-redirect fetch describes it and Chromium and Firefox
//! do it: at most 20 hops; a hop to another origin taints the request's origin, which is then
//! sent as `null`; 301/302 turn POST into GET and 303 turns anything but GET/HEAD into GET,
//! dropping the body and its headers. Every hop's response passes the CORS check, and a hop
//! whose request is not simple gets its own preflight.

use super::{RawResponse, RequestShape};

/// Redirects a browser follows before it gives up with a network error.
pub const MAX_REDIRECTS: usize = 20;

/// The request the browser sends next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextHop {
    pub url: String,
    pub method: String,
    /// The method became GET: body and body headers are gone.
    pub body_dropped: bool,
    /// The request's origin is tainted: `Origin: null` from here on.
    pub tainted: bool,
    /// The hop went to another origin than the one before: `Authorization` is not carried
    /// over (the Fetch standard removes it on such a redirect).
    pub origin_changed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Not a redirect the browser follows (not 301/302/303/307/308, or no `Location`): the
    /// response is the answer.
    Final,
    Next(NextHop),
    /// The browser ends with a network error (the reason says why).
    NetworkError(String),
}

fn origin_of(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// The browser's next step after `resp`, the answer to `method current_url`. `tainted` is the
/// request's flag so far.
pub fn follow(
    page_origin: &str,
    current_url: &str,
    method: &str,
    tainted: bool,
    resp: &RawResponse,
) -> Follow {
    if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
        return Follow::Final;
    }
    let Some(location) = resp.first("location") else {
        return Follow::Final;
    };
    let Ok(current) = url::Url::parse(current_url) else {
        return Follow::NetworkError(format!("the URL '{current_url}' does not parse"));
    };
    let Ok(next) = current.join(location.trim()) else {
        return Follow::NetworkError(format!(
            "the Location '{}' is not a URL",
            crate::model::redact::text(location)
        ));
    };
    if !matches!(next.scheme(), "http" | "https") {
        return Follow::NetworkError(format!(
            "the redirect goes to a '{}:' URL, which fetch does not follow",
            next.scheme()
        ));
    }
    // A CORS request may not be redirected to a URL carrying credentials.
    if !next.username().is_empty() || next.password().is_some() {
        return Follow::NetworkError("the redirect URL carries user credentials".into());
    }
    let page = url::Url::parse(page_origin)
        .map(|u| origin_of(&u))
        .unwrap_or_else(|_| page_origin.to_string());
    let origin_changed = origin_of(&current) != origin_of(&next);
    let tainted = tainted || (origin_changed && page != origin_of(&current));
    let upper = method.to_ascii_uppercase();
    let to_get = (matches!(resp.status, 301 | 302) && upper == "POST")
        || (resp.status == 303 && upper != "GET" && upper != "HEAD");
    Follow::Next(NextHop {
        url: next.to_string(),
        method: if to_get {
            "GET".into()
        } else {
            method.to_string()
        },
        body_dropped: to_get,
        tainted,
        origin_changed,
    })
}

/// The page's request as the next hop sends it: the method rewritten, the body's headers
/// dropped with the body, and `Authorization` dropped on a hop to another origin.
pub fn next_shape(shape: &RequestShape, hop: &NextHop) -> RequestShape {
    let mut next = shape.clone();
    next.method = hop.method.clone();
    if hop.origin_changed {
        next.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
    }
    if hop.body_dropped {
        next.headers.retain(|(n, _)| {
            ![
                "content-encoding",
                "content-language",
                "content-location",
                "content-type",
            ]
            .iter()
            .any(|b| n.eq_ignore_ascii_case(b))
        });
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, location: Option<&str>) -> RawResponse {
        RawResponse {
            status,
            headers: location
                .map(|l| vec![("Location".to_string(), l.to_string())])
                .unwrap_or_default(),
            elapsed_ms: 1,
        }
    }

    const PAGE: &str = "https://app.example";
    const API: &str = "https://api.example/v1/orders";

    #[test]
    fn redirect_rules_table() {
        struct Case {
            name: &'static str,
            method: &'static str,
            status: u16,
            location: Option<&'static str>,
            tainted_before: bool,
            want: Follow,
        }
        let next = |url: &str, method: &str, body_dropped: bool, tainted: bool| {
            Follow::Next(NextHop {
                url: url.into(),
                method: method.into(),
                body_dropped,
                tainted,
                origin_changed: !url.starts_with("https://api.example/"),
            })
        };
        let cases = [
            Case {
                name: "200 is the answer",
                method: "GET",
                status: 200,
                location: None,
                tainted_before: false,
                want: Follow::Final,
            },
            Case {
                name: "302 without Location is the answer",
                method: "GET",
                status: 302,
                location: None,
                tainted_before: false,
                want: Follow::Final,
            },
            Case {
                name: "304 is not followed",
                method: "GET",
                status: 304,
                location: Some("/x"),
                tainted_before: false,
                want: Follow::Final,
            },
            Case {
                name: "same-origin relative hop keeps the origin",
                method: "GET",
                status: 302,
                location: Some("/v2/orders"),
                tainted_before: false,
                want: next("https://api.example/v2/orders", "GET", false, false),
            },
            Case {
                name: "a hop to another origin taints it",
                method: "GET",
                status: 302,
                location: Some("https://login.example/authorize?x=1"),
                tainted_before: false,
                want: next("https://login.example/authorize?x=1", "GET", false, true),
            },
            Case {
                name: "a tainted origin stays tainted",
                method: "GET",
                status: 307,
                location: Some("/again"),
                tainted_before: true,
                want: next("https://api.example/again", "GET", false, true),
            },
            Case {
                name: "302 turns POST into GET",
                method: "POST",
                status: 302,
                location: Some("/done"),
                tainted_before: false,
                want: next("https://api.example/done", "GET", true, false),
            },
            Case {
                name: "301 keeps PUT",
                method: "PUT",
                status: 301,
                location: Some("/done"),
                tainted_before: false,
                want: next("https://api.example/done", "PUT", false, false),
            },
            Case {
                name: "303 turns PUT into GET",
                method: "PUT",
                status: 303,
                location: Some("/done"),
                tainted_before: false,
                want: next("https://api.example/done", "GET", true, false),
            },
            Case {
                name: "303 keeps HEAD",
                method: "HEAD",
                status: 303,
                location: Some("/done"),
                tainted_before: false,
                want: next("https://api.example/done", "HEAD", false, false),
            },
            Case {
                name: "307 keeps POST and its body",
                method: "POST",
                status: 307,
                location: Some("/done"),
                tainted_before: false,
                want: next("https://api.example/done", "POST", false, false),
            },
            Case {
                name: "a data: URL is a network error",
                method: "GET",
                status: 302,
                location: Some("data:text/plain,x"),
                tainted_before: false,
                want: Follow::NetworkError(
                    "the redirect goes to a 'data:' URL, which fetch does not follow".into(),
                ),
            },
            Case {
                name: "credentials in the URL are a network error",
                method: "GET",
                status: 302,
                location: Some("https://u:p@api.example/x"),
                tainted_before: false,
                want: Follow::NetworkError("the redirect URL carries user credentials".into()),
            },
        ];
        for c in cases {
            let got = follow(
                PAGE,
                API,
                c.method,
                c.tainted_before,
                &resp(c.status, c.location),
            );
            assert_eq!(got, c.want, "{}", c.name);
        }
    }

    #[test]
    fn a_dropped_body_takes_its_headers() {
        let shape = RequestShape {
            name: "post".into(),
            method: "POST".into(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Authorization".into(), "Bearer t".into()),
            ],
            credentials: crate::cors::Credentials::SameOrigin,
        };
        let Follow::Next(hop) = follow(PAGE, API, "POST", false, &resp(303, Some("/x"))) else {
            panic!("not followed");
        };
        let next = next_shape(&shape, &hop);
        assert_eq!(next.method, "GET");
        assert_eq!(
            next.headers,
            vec![("Authorization".into(), "Bearer t".into())]
        );

        let Follow::Next(hop) = follow(
            PAGE,
            API,
            "GET",
            false,
            &resp(302, Some("https://login.example/")),
        ) else {
            panic!("not followed");
        };
        assert!(hop.origin_changed && hop.tainted);
        assert!(
            next_shape(&shape, &hop)
                .headers
                .iter()
                .all(|(n, _)| n != "Authorization")
        );
    }
}
