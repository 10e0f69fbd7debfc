//! Step 12: telling instances apart. Behind a load balancer one instance may answer a
//! preflight correctly and another not; repeating the probe over fresh connections and
//! comparing verdicts per instance fingerprint shows it.

use std::hash::BuildHasher;

use super::{RawResponse, Verdict, verdict_key};

/// A short, stable label of the instance that answered, built from the headers that usually
/// name it: `Server`, `Via`, `X-Served-By`, the App Service ARR affinity cookie and the
/// Cloudflare colo (the part of `CF-Ray` after the dash; the ray id itself changes per
/// request). The affinity cookie's value is hashed, never shown. `None` when nothing
/// identifies the instance.
pub fn instance_fingerprint(resp: &RawResponse) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for name in ["server", "via", "x-served-by"] {
        if let Some(v) = resp.first(name).map(str::trim).filter(|v| !v.is_empty()) {
            parts.push(format!("{name}={}", clip(v)));
        }
    }
    for cookie in resp.all("set-cookie") {
        let first = cookie.split(';').next().unwrap_or("");
        let Some((name, value)) = first.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("ARRAffinity")
            || name.eq_ignore_ascii_case("ARRAffinitySameSite")
        {
            let h = rustc_hash::FxBuildHasher.hash_one(value.trim());
            parts.push(format!("{name}=#{:08x}", h as u32));
            break;
        }
    }
    if let Some(colo) = resp
        .first("cf-ray")
        .and_then(|r| r.trim().rsplit_once('-'))
        .map(|(_, colo)| colo)
        .filter(|c| !c.is_empty())
    {
        parts.push(format!("cf-colo={}", clip(colo)));
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("; "))
    }
}

/// Keeps labels short and printable whatever a server sends.
fn clip(v: &str) -> String {
    v.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// Whether repeated verdicts for the same URL, origin and shape disagree (some instances
/// allow, others block, or they block for different reasons).
pub fn inconsistent<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> bool {
    let mut it = verdicts.into_iter().map(verdict_key);
    let Some(first) = it.next() else {
        return false;
    };
    it.any(|k| k != first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::{Credentials, RequestShape, judge};

    fn r(headers: &[(&str, &str)]) -> RawResponse {
        RawResponse {
            status: 204,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            elapsed_ms: 0,
        }
    }

    #[test]
    fn fingerprints() {
        assert_eq!(instance_fingerprint(&r(&[])), None);
        assert_eq!(
            instance_fingerprint(&r(&[
                ("Server", "nginx/1.25.3"),
                ("CF-Ray", "8a1b2c3d4e5f6789-FRA"),
            ]))
            .as_deref(),
            Some("server=nginx/1.25.3; cf-colo=FRA")
        );
        let a = instance_fingerprint(&r(&[(
            "Set-Cookie",
            "ARRAffinity=4f1c0ffee; Path=/; HttpOnly; Secure",
        )]))
        .unwrap_or_default();
        let b = instance_fingerprint(&r(&[("Set-Cookie", "ARRAffinity=beef0001; Path=/")]))
            .unwrap_or_default();
        assert!(a.starts_with("ARRAffinity=#"), "{a}");
        assert!(!a.contains("4f1c0ffee"), "cookie value leaked: {a}");
        assert_ne!(a, b);
    }

    #[test]
    fn inconsistency() {
        let shape = RequestShape {
            credentials: Credentials::Omit,
            ..RequestShape::spa_default()
        };
        let good = r(&[
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", "PUT"),
            (
                "Access-Control-Allow-Headers",
                "authorization, content-type",
            ),
        ]);
        let bad = r(&[]);
        let o = "https://app.example.com";
        let u = "https://api.example.com/x";
        let pass = judge(o, u, &shape, Some(&good), None);
        let fail = judge(o, u, &shape, Some(&bad), None);
        assert!(!inconsistent([&pass, &pass.clone()]));
        assert!(inconsistent([&pass, &fail, &pass]));
        assert!(!inconsistent(std::iter::empty::<&Verdict>()));
    }
}
