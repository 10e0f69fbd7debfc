//! Which backend instance answered, from the headers proxies and platforms add.

use crate::cors::RawResponse;

/// Headers whose value names an instance, a proxy hop or a backend, with the short label used
/// in the fingerprint.
const NAMING_HEADERS: [(&str, &str); 9] = [
    ("server", "server"),
    ("via", "via"),
    ("x-served-by", "served-by"),
    ("x-instance", "instance"),
    ("x-instance-id", "instance"),
    ("x-backend", "backend"),
    ("x-backend-server", "backend"),
    ("x-upstream", "upstream"),
    ("x-server", "x-server"),
];

/// Affinity cookies set by load balancers; their presence says which balancer pins sessions.
const AFFINITY_COOKIES: [&str; 5] = [
    "ARRAffinity",
    "ARRAffinitySameSite",
    "AWSALB",
    "AWSALBCORS",
    "SERVERID",
];

const MAX_PART: usize = 48;
const MAX_FINGERPRINT: usize = 160;

fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A short `label=value` list, or `None` when the response names nothing.
///
/// Only cookie names are used, never their values: affinity values are per-user evidence and
/// the redaction rules treat every cookie value as secret.
pub fn instance_fingerprint(resp: &RawResponse) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for (header, label) in NAMING_HEADERS {
        for v in resp.all(header) {
            let v = v.trim();
            if !v.is_empty() {
                parts.push(format!("{label}={}", clip(v, MAX_PART)));
            }
        }
    }
    for cookie in resp.all("set-cookie") {
        let name = cookie.split(['=', ';']).next().unwrap_or("").trim();
        if AFFINITY_COOKIES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
        {
            let part = format!("cookie={name}");
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
    if let Some(ray) = resp.first("cf-ray") {
        // `8f2b6c1d9e0a1234-FRA`: the suffix is the Cloudflare colo.
        if let Some((_, colo)) = ray.trim().rsplit_once('-')
            && !colo.is_empty()
        {
            parts.push(format!("cf={}", clip(colo, 8)));
        }
    }
    if parts.is_empty() {
        return None;
    }
    let joined = parts.join(" ");
    Some(clip(&joined, MAX_FINGERPRINT).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(headers: &[(&str, &str)]) -> RawResponse {
        RawResponse {
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            elapsed_ms: 1,
        }
    }

    #[test]
    fn fingerprints() {
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: &[Case] = &[
            (&[("content-type", "text/plain")], None),
            (&[("server", "nginx/1.22")], Some("server=nginx/1.22")),
            (
                &[
                    ("server", "Kestrel"),
                    ("set-cookie", "ARRAffinity=[redacted]; Path=/; HttpOnly"),
                    (
                        "set-cookie",
                        "ARRAffinitySameSite=[redacted]; SameSite=None",
                    ),
                    ("set-cookie", "session=[redacted]"),
                ],
                Some("server=Kestrel cookie=ARRAffinity cookie=ARRAffinitySameSite"),
            ),
            (
                &[("cf-ray", "8f2b6c1d9e0a1234-FRA"), ("server", "cloudflare")],
                Some("server=cloudflare cf=FRA"),
            ),
            (
                &[("via", "1.1 varnish"), ("x-served-by", "cache-ams21")],
                Some("via=1.1 varnish served-by=cache-ams21"),
            ),
            (&[("x-backend", "api-2")], Some("backend=api-2")),
        ];
        for (headers, want) in cases {
            assert_eq!(
                instance_fingerprint(&resp(headers)).as_deref(),
                *want,
                "{headers:?}"
            );
        }
    }

    #[test]
    fn long_values_are_clipped() {
        let long = "é".repeat(200);
        let fp = instance_fingerprint(&resp(&[("server", &long)])).unwrap();
        assert!(fp.len() <= MAX_PART + "server=".len());
    }
}
