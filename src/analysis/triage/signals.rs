//! The rules of the other failure modes: redirected preflights, OPTIONS not routed, a
//! missing `Vary: Origin`, instances that disagree, errors without CORS headers, signing-key
//! rollover and clock skew.

use super::*;

pub(super) fn redirect_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let opt = &e.all.options;
    if opt.s3xx > 0 {
        let routes: Vec<_> = e.routes_by(|r| r.options.s3xx).collect();
        t.support(
            50 + (20.0 * share(opt.s3xx, opt.total)).round() as i32,
            format!(
                "OPTIONS answered 3xx {} times of {} (a redirected preflight always fails): {}",
                opt.s3xx,
                opt.total,
                routes_list(&routes)
            ),
        );
        for (r, _) in routes.iter().take(3) {
            t.seen(r.first_options_failure);
            t.seen(r.last_options_failure);
        }
    }
    let probes = probes_for(e, Hypothesis::PreflightRedirect);
    if !probes.is_empty() {
        t.support(
            45,
            format!("{} probe preflight(s) redirected", probes.len()),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if opt.total >= 5 && opt.s3xx == 0 && probes.is_empty() {
        t.weaken(10, format!("no OPTIONS redirected among {}", opt.total));
    }
    t
}

pub(super) fn check_redirect(e: &Evidence) -> String {
    let worst = worst_options_route(e, |r| r.options.s3xx);
    let (url, origin) = target(e, Hypothesis::PreflightRedirect, worst.as_deref());
    format!(
        "{} and read the Location header: http→https, a trailing slash, or a load balancer sending the browser to a backend host",
        preflight_curl(&url, &origin, "PUT")
    )
}

pub(super) fn not_routed_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let opt = &e.all.options;
    let n = opt.s404 + opt.s405;
    if n > 0 {
        let routes: Vec<_> = e.routes_by(|r| r.options.s404 + r.options.s405).collect();
        t.support(
            50 + (20.0 * share(n, opt.total)).round() as i32,
            format!(
                "OPTIONS answered 404 ×{} and 405 ×{} of {}: {}",
                opt.s404,
                opt.s405,
                opt.total,
                routes_list(&routes)
            ),
        );
        for (r, _) in routes.iter().take(3) {
            t.seen(r.first_options_failure);
            t.seen(r.last_options_failure);
        }
    }
    let probes = probes_for(e, Hypothesis::OptionsNotRouted);
    if !probes.is_empty() {
        t.support(
            45,
            format!("{} probe preflight(s) answered 404/405", probes.len()),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if opt.total >= 5 && n == 0 && probes.is_empty() {
        t.weaken(
            10,
            format!("no OPTIONS answered 404/405 among {}", opt.total),
        );
    }
    t
}

pub(super) fn check_not_routed(e: &Evidence) -> String {
    let worst = worst_options_route(e, |r| r.options.s404 + r.options.s405);
    let (url, origin) = target(e, Hypothesis::OptionsNotRouted, worst.as_deref());
    format!(
        "{} — expect 200/204 with Access-Control-Allow-* headers, not 404/405; check whether the framework routes OPTIONS for this path",
        preflight_curl(&url, &origin, "PUT")
    )
}

pub(super) fn vary_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let n = e.probes.count_warning("missing-vary-origin");
    if n > 0 {
        t.support(
            45,
            format!("{n} probe(s) got an origin-specific Access-Control-Allow-Origin without 'Vary: Origin'"),
        );
        for f in e
            .probes
            .facts
            .iter()
            .filter(|f| f.has_warning("missing-vary-origin"))
            .take(2)
        {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
        let origins = e
            .origins
            .iter()
            .filter(|o| o.requests > 0 && !o.derived)
            .count();
        if origins > 1 {
            t.support(
                10,
                format!(
                    "{origins} origins call the API, so a cached answer for one reaches another"
                ),
            );
        }
    }
    t
}

pub(super) fn check_vary(e: &Evidence) -> String {
    let (url, _) = target(e, Hypothesis::MissingVary, None);
    format!(
        "Request '{url}' twice with two different Origin headers (through the CDN/proxy) and compare Access-Control-Allow-Origin and Vary: the second origin must not receive the first one's value"
    )
}

pub(super) fn instances_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let n = e.probes.count_warning("inconsistent-instances");
    if n > 0 {
        t.support(
            50,
            format!("{n} probe(s) got different answers over fresh connections"),
        );
        for f in e
            .probes
            .facts
            .iter()
            .filter(|f| f.has_warning("inconsistent-instances"))
            .take(2)
        {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if !e.probes.flapping.is_empty() {
        t.support(
            30,
            format!(
                "{} probe(s) changed verdict between runs",
                e.probes.flapping.len()
            ),
        );
        for f in e.probes.flapping.iter().take(3) {
            t.note(f.clone());
        }
    }
    if t.supported && e.probes.instances.len() > 1 {
        t.support(
            5,
            format!(
                "{} instance fingerprints seen: {}",
                e.probes.instances.len(),
                e.probes.instances.join("; ")
            ),
        );
    }
    t
}

pub(super) fn check_instances(e: &Evidence) -> String {
    let (url, origin) = target(e, Hypothesis::InconsistentInstances, None);
    format!(
        "Repeat the preflight 10 times over fresh connections ({} , no cookie) and group the answers by Server / X-Served-By / ARRAffinity: one instance answering differently is the culprit",
        preflight_curl(&url, &origin, "PUT")
    )
}

pub(super) fn error_without_cors_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let err = &e.all.actual_error_acao;
    let ok = &e.all.actual_ok_acao;
    if err.missing > 0 && ok.single > 0 {
        let routes: Vec<_> = e
            .routes_by(|r| {
                if r.actual_ok_acao.single > 0 {
                    r.actual_error_acao.missing
                } else {
                    0
                }
            })
            .collect();
        let derived = if e.all.error_missing_derived > 0 {
            format!(
                " ({} of them with the origin taken from the Referer)",
                e.all.error_missing_derived
            )
        } else {
            String::new()
        };
        t.support(
            45,
            format!(
                "{} cross-origin error responses logged without Access-Control-Allow-Origin{derived} while {} cross-origin successes carry it: {}",
                err.missing,
                ok.single,
                routes_list(&routes)
            ),
        );
        for (r, _) in routes.iter().take(3) {
            t.seen(r.first_actual_auth_failure);
        }
    }
    // Every refused error response counts, whatever the verdict blames for the error itself
    // (a 401 naming the token is also an H3 signal).
    let probes: Vec<&ProbeFact> = e
        .probes
        .facts
        .iter()
        .filter(|f| {
            f.implicated() == Some(Hypothesis::ErrorWithoutCors)
                || (!f.allowed
                    && f.stage == crate::cors::Stage::Actual
                    && matches!(f.code, "actual-acao-missing" | "acao-missing")
                    && f.hidden_status.is_some_and(|s| s >= 400))
        })
        .collect();
    if !probes.is_empty() {
        t.support(
            40,
            format!(
                "{} probe(s) got an error response without CORS headers",
                probes.len()
            ),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if err.single > 0 && err.missing == 0 {
        t.weaken(
            15,
            format!(
                "{} error responses logged with Access-Control-Allow-Origin",
                err.single
            ),
        );
    }
    t
}

pub(super) fn check_error_without_cors(e: &Evidence) -> String {
    let worst = e
        .routes_by(|r| r.actual.errors())
        .next()
        .map(|(r, _)| r.route.clone());
    let (url, origin) = target(e, Hypothesis::ErrorWithoutCors, worst.as_deref());
    format!(
        "curl -si '{url}' -H 'Origin: {origin}' (with an expired or no token) | grep -i '^access-control-allow-origin' — an error response must carry it too"
    )
}

pub(super) fn key_rollover_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let n = e.auth_count(AuthClass::KeyNotFound);
    if n > 0 {
        t.support(
            50 + (n as i32).min(20),
            format!("{n} 'signature key not found' failures (IDX10503/IDX10501 family)"),
        );
        if let Some(s) = sample_for(e, &[AuthClass::KeyNotFound]) {
            t.note(s);
        }
    }
    let bad = e.auth_count(AuthClass::BadSignature);
    if bad > 0 {
        t.support(15, format!("{bad} invalid-signature failures"));
    }
    for s in &e.auth_samples {
        if matches!(s.class, AuthClass::KeyNotFound | AuthClass::BadSignature) {
            t.seen(Some(s.time));
        }
    }
    t
}

pub(super) fn check_keys(_e: &Evidence) -> String {
    "Compare the 'kid' in a failing token's header with the keys at the issuer's jwks_uri (from /.well-known/openid-configuration); a kid missing from the validator's cached keys means a rollover it has not picked up.".into()
}

pub(super) fn clock_skew_rule(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let n = e.auth_count(AuthClass::NotYetValid);
    if n > 0 {
        t.support(
            50 + (n as i32).min(20),
            format!("{n} 'token not yet valid' failures (IDX10222 family)"),
        );
        if let Some(s) = sample_for(e, &[AuthClass::NotYetValid]) {
            t.note(s);
        }
        for s in &e.auth_samples {
            if s.class == AuthClass::NotYetValid {
                t.seen(Some(s.time));
            }
        }
    }
    t
}

pub(super) fn check_skew(_e: &Evidence) -> String {
    "Compare 'nbf'/'iat' of a failing token with the validator's clock (date -u on the host, or the Date header of its responses); more than a few minutes apart is skew.".into()
}
