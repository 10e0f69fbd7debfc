//! Which backend instance answered: the verdict module's fingerprint (`Server`, `Via`,
//! `X-Served-By`, hashed ARR affinity, Cloudflare colo) plus the instance-naming headers
//! other stacks add.

use crate::cors::{self, RawResponse};

/// Headers some proxies and frameworks use to name the backend that answered, with the short
/// label used in the fingerprint.
const EXTRA_HEADERS: [(&str, &str); 6] = [
    ("x-instance", "x-instance"),
    ("x-instance-id", "x-instance"),
    ("x-backend", "x-backend"),
    ("x-backend-server", "x-backend"),
    ("x-upstream", "x-upstream"),
    ("x-server", "x-server"),
];

/// Other load balancers' affinity cookies: only the name is shown (it says which balancer
/// pins sessions); the value never is.
const AFFINITY_COOKIES: [&str; 3] = ["AWSALB", "AWSALBCORS", "SERVERID"];

const MAX_PART: usize = 48;
const MAX_FINGERPRINT: usize = 200;

fn clip(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// A short `label=value; ...` list, or `None` when the response names nothing. Must see the
/// response before cookie values are redacted (the affinity value is hashed, never shown).
pub fn instance_fingerprint(resp: &RawResponse) -> Option<String> {
    let mut parts: Vec<String> = cors::instance_fingerprint(resp).into_iter().collect();
    for (header, label) in EXTRA_HEADERS {
        if let Some(v) = resp.first(header).map(str::trim).filter(|v| !v.is_empty()) {
            let part = format!("{label}={}", clip(v, MAX_PART));
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
    for cookie in resp.all("set-cookie") {
        let name = cookie.split(['=', ';']).next().unwrap_or("").trim();
        if let Some(known) = AFFINITY_COOKIES
            .iter()
            .find(|a| a.eq_ignore_ascii_case(name))
        {
            let part = format!("cookie={known}");
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(clip(&parts.join("; "), MAX_FINGERPRINT))
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
                &[("server", "Kestrel"), ("x-backend", "api-2")],
                Some("server=Kestrel; x-backend=api-2"),
            ),
            (
                &[
                    ("set-cookie", "AWSALB=abc; Path=/"),
                    ("x-instance-id", "i-1"),
                ],
                Some("x-instance=i-1; cookie=AWSALB"),
            ),
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
    fn affinity_values_tell_instances_apart_without_showing() {
        let a = instance_fingerprint(&resp(&[("set-cookie", "ARRAffinity=aaa111; Path=/")]))
            .unwrap_or_default();
        let b = instance_fingerprint(&resp(&[("set-cookie", "ARRAffinity=bbb222; Path=/")]))
            .unwrap_or_default();
        assert_ne!(a, b);
        assert!(!a.contains("aaa111"), "{a}");
    }

    #[test]
    fn long_values_are_clipped() {
        let long = "é".repeat(200);
        let fp = instance_fingerprint(&resp(&[("x-backend", &long)])).unwrap_or_default();
        assert_eq!(fp.chars().count(), MAX_PART + "x-backend=".len());
    }
}
