//! The rules of H1–H5: what counts for and against each, and the check that settles it.

use super::*;

// ---------------------------------------------------------------------------------------------
// H1

pub(super) const H1_CODES_HINT: &str =
    "origin not allowed, '*' with credentials, method or header not listed";

pub(super) fn h1_cors_config(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let probes = probes_for(e, Hypothesis::H1);
    let n = e.probes.count_hypothesis(Hypothesis::H1);
    if n > 0 {
        // Impact: one origin refused on one route is a finding; every origin refused on every
        // route is the outage.
        let sh = share(n, e.probes.total as u64);
        t.support(
            30 + (30.0 * sh).round() as i32,
            format!(
                "{n} of {} probe(s) refused by the CORS check ({H1_CODES_HINT}); origins: {}",
                e.probes.total,
                refused_origins(&probes)
            ),
        );
        for f in probes.iter().take(3) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    let firefox_only = e.probes.count_warning("works-in-firefox-not-chrome");
    if firefox_only > 0 {
        t.note(format!(
            "{firefox_only} probe(s) pass in Firefox but fail in Chrome ('Authorization' covered only by Access-Control-Allow-Headers: *)"
        ));
    }
    let missing = e.all.options_ok_acao.missing;
    if missing > 0 {
        let routes: Vec<_> = e.routes_by(|r| r.options_ok_acao.missing).collect();
        let sh = share(missing, e.all.options_ok_acao.logged());
        t.support(
            10 + (20.0 * sh).round() as i32,
            format!(
                "{missing} OPTIONS answered 2xx but logged without Access-Control-Allow-Origin ({} of the logged ones): {}",
                pct(sh),
                routes_list(&routes)
            ),
        );
    }
    let doubled_anywhere = e.probes.count_hypothesis(Hypothesis::H4) > 0
        || e.all.options_ok_acao.multiple + e.all.actual_ok_acao.multiple > 0;
    let rows = unfollowed_rows(e);
    if !rows.is_empty() && !doubled_anywhere {
        t.support(
            15,
            format!(
                "{} origin×route pair(s) where 2xx preflights were mostly not followed by the request (the browser refused the answer)",
                rows.len()
            ),
        );
        for r in rows.iter().take(2) {
            t.note(followup_line(r));
        }
    }
    if e.probes.total > 0 && e.probes.failing == 0 {
        t.weaken(
            25,
            format!(
                "all {} probes pass: origins, methods and headers are allowed",
                e.probes.total
            ),
        );
    }
    let acao = &e.all.options_ok_acao;
    if acao.single > 0 && acao.missing == 0 && acao.multiple == 0 {
        t.weaken(
            10,
            format!(
                "every logged OPTIONS 2xx ({}) carried one Access-Control-Allow-Origin",
                acao.single
            ),
        );
    }
    // A probe refused for an origin whose real preflights are followed in the logs.
    for f in &probes {
        if let Some(row) = e
            .followup
            .iter()
            .find(|r| r.origin == f.origin && r.route == f.route && r.preflight_2xx > 0)
            && row.followed_share >= 0.9
        {
            t.disagree(format!(
                "probe from {} to {} is refused ({}), yet the logs show that origin's 2xx preflights on {} followed by requests ({}): the failing clients may send another method or headers than the probe, or the probe's shape is wrong",
                f.origin, f.url, f.code, row.route, pct(row.followed_share)
            ));
        }
    }
    if missing > 0 && e.probes.total > 0 && e.probes.failing == 0 {
        t.disagree(format!(
            "logs show {missing} OPTIONS 2xx without Access-Control-Allow-Origin, but every probe passes: the failing origins or routes are not among the probed ones"
        ));
    }
    t
}

pub(super) fn check_h1(e: &Evidence) -> String {
    let (url, origin) = target(e, Hypothesis::H1, None);
    format!(
        "{} | grep -i '^access-control' — the Allow-Origin value must equal '{origin}' byte for byte (scheme, host, port) and Allow-Methods/Allow-Headers must list the method and headers; or run corstop check --url '{url}' --origin '{origin}'",
        preflight_curl(&url, &origin, "PUT")
    )
}

// ---------------------------------------------------------------------------------------------
// H2

pub(super) fn h2_preflight_auth(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let opt = &e.all.options;
    let denied = opt.auth();
    if denied > 0 {
        let sh = share(denied, opt.total);
        t.support(
            30 + (30.0 * sh).round() as i32,
            format!(
                "OPTIONS answered 401 ×{} and 403 ×{} of {} preflights ({})",
                opt.s401,
                opt.s403,
                opt.total,
                pct(sh)
            ),
        );
        let routes: Vec<_> = e.routes_by(|r| r.options.auth()).collect();
        for (r, n) in routes.iter().take(3) {
            t.note(format!(
                "OPTIONS {}: {n} denied of {}, first at {}{}",
                r.route,
                r.options.total,
                r.first_options_failure.map_or_else(|| "?".into(), at),
                if r.denied_origins.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", denied for {}",
                        r.denied_origins
                            .iter()
                            .map(|o| format!("{} ({})", o.key, o.count))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ));
            t.seen(r.first_options_failure);
            t.seen(r.last_options_failure);
        }
        let fine: u64 = routes.iter().map(|(r, _)| r.actual.s2xx).sum();
        if fine > 0 {
            t.support(
                10,
                format!(
                    "real requests on the same routes succeed {fine} times: the auth layer treats the preflight (which never carries a token) differently"
                ),
            );
        }
    }
    let probes = probes_for(e, Hypothesis::H2);
    if !probes.is_empty() {
        t.support(
            30,
            format!(
                "{} probe preflight(s) answered 401/403 behind the CORS error",
                probes.len()
            ),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    if e.options_auth_with_challenge > 0 {
        t.support(
            10,
            format!(
                "the auth log reports a missing or malformed token in {} of {} buckets with OPTIONS 401/403",
                e.options_auth_with_challenge, e.options_auth_buckets
            ),
        );
        if let Some(s) = sample_for(e, &[AuthClass::MalformedOrMissing]) {
            t.note(s);
        }
    }
    if opt.total >= 5 && opt.s2xx == opt.total {
        t.weaken(
            30,
            format!("OPTIONS consistently 2xx ({} of {})", opt.s2xx, opt.total),
        );
        let acao = &e.all.options_ok_acao;
        if acao.single > 0 && acao.missing == 0 && acao.multiple == 0 {
            t.weaken(
                10,
                format!(
                    "with one Access-Control-Allow-Origin on every logged preflight ({})",
                    acao.single
                ),
            );
        }
    }
    let passing_preflights = e
        .probes
        .facts
        .iter()
        .filter(|f| f.allowed || f.stage == crate::cors::Stage::Actual)
        .count();
    if probes.is_empty() && passing_preflights > 0 {
        t.weaken(
            10,
            format!("{passing_preflights} probe(s) get through the preflight without a token"),
        );
    }
    // Logs and probes on the same route.
    for r in e.routes.iter().filter(|r| r.options.auth() > 0) {
        if let Some(f) =
            e.probes.facts.iter().find(|f| {
                f.route == r.route && (f.allowed || f.stage == crate::cors::Stage::Actual)
            })
        {
            t.disagree(format!(
                "logs: OPTIONS {} denied {} times, but the probe {} from {} passes its preflight — the failing clients use another origin, path or instance",
                r.route,
                r.options.auth(),
                f.url,
                f.origin
            ));
        }
    }
    for f in &probes {
        if let Some(r) = e.route(&f.route)
            && r.options.total > 0
            && r.options.auth() == 0
        {
            t.disagree(format!(
                "probe {} sees {} on the preflight, but the logs show OPTIONS {} answered without 401/403 ({} of {} 2xx) — the probe may reach another host or instance",
                f.url,
                f.hidden_status.map_or_else(|| "a denial".into(), |s| s.to_string()),
                r.route,
                r.options.s2xx,
                r.options.total
            ));
        }
    }
    t
}

pub(super) fn check_h2(e: &Evidence) -> String {
    let worst = worst_options_route(e, |r| r.options.auth());
    let (url, origin) = target(e, Hypothesis::H2, worst.as_deref());
    format!(
        "{} (no Authorization header, as browsers send it) and look for 401/403 with WWW-Authenticate instead of 204 with Access-Control-Allow-* headers",
        preflight_curl(&url, &origin, "PUT")
    )
}

// ---------------------------------------------------------------------------------------------
// H3

/// Share of the buckets with 401/403 on real requests that must also hold an `expired`
/// signature for the two to count as one event.
pub(super) const H3_TOGETHER_MIN: f64 = 0.5;
/// Length a window needs before the absence of bursts says "steady failures": a refresh
/// outage lasts minutes, so a shorter window can sit entirely inside one burst.
pub(super) const H3_SHAPE_MIN_SPAN: EpochMs = 10 * MINUTE;

pub(super) fn h3_token_expiry(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let x = &e.expiry;
    if !x.bursts.is_empty() {
        let times: Vec<String> = x
            .bursts
            .iter()
            .rev()
            .take(4)
            .rev()
            .map(|b| {
                format!(
                    "{} ({}{})",
                    at(b.burst.start),
                    b.burst.count,
                    b.route
                        .as_ref()
                        .map_or_else(String::new, |r| format!(" on {r}"))
                )
            })
            .collect();
        t.support(
            15,
            format!(
                "{} bursts of 401/403 on real requests: {}",
                x.bursts.len(),
                times.join(", ")
            ),
        );
        t.seen(x.bursts.first().map(|b| b.burst.start));
        t.seen(x.bursts.last().map(|b| b.burst.end));
    }
    // A period is only claimed from three or more bursts with agreeing intervals, at a
    // confidence of 80 % or more; each client's own recurrence at a token lifetime is the same
    // signal for a fleet whose tokens expire at scattered times (Entra ID: 60–90 min).
    let clients = x.clients_text.as_ref();
    let fleet = x.period.as_ref().map(|p| {
        (
            p.matches_lifetime.is_some(),
            format!("{}; next due at {}", p.describe(), at(p.next_due)),
        )
    });
    match (fleet, clients) {
        (Some((true, text)), c) => {
            t.support(35, text);
            if let Some(c) = c {
                t.note(c.clone());
            }
        }
        (f, Some(c)) => {
            t.support(30, c.clone());
            if let Some((_, text)) = f {
                t.note(text);
            }
        }
        (Some((false, text)), None) => t.support(15, text),
        (None, None) => {}
    }
    if !x.bursts.is_empty() && x.correlation.expired_share >= 0.5 {
        t.support(
            25,
            format!(
                "{} of the burst volume is matched by 'expired' signatures in the auth log ({} in the window)",
                pct(x.correlation.expired_share),
                x.expired
            ),
        );
    } else if x.expired > 0 {
        t.support(
            10,
            format!("{} 'expired' signatures in the auth log", x.expired),
        );
    }
    // The token ran out at the moment the API refused it: strong on its own, before a second
    // burst can show a period.
    let together = share(e.actual_auth_with_expired, e.actual_auth_buckets);
    if e.actual_auth_with_expired > 0 && together >= H3_TOGETHER_MIN {
        t.support(
            30,
            format!(
                "401/403 on real requests and 'expired' signatures in the same buckets ({} of {})",
                e.actual_auth_with_expired, e.actual_auth_buckets
            ),
        );
    }
    if x.expired > 0
        && let Some(s) = sample_for(e, &[AuthClass::Expired])
    {
        t.note(s);
    }
    if let Some(c) = x.correlation.series_correlation
        && c > 0.5
        && x.expired > 0
    {
        t.support(
            5,
            format!("401/403 and 'expired' series correlate (r = {c:.2})"),
        );
    }
    let probes = probes_for(e, Hypothesis::H3);
    if !probes.is_empty() {
        // Weak on its own: the probe's token may be a placeholder the API rightly refuses.
        t.support(
            15,
            format!(
                "{} probe request(s) answered 401 with a challenge naming the token (invalid_token / expired); confirm with a real token",
                probes.len()
            ),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    let nonce = e.auth_count(AuthClass::NonceState);
    if nonce > 0 {
        t.support(
            5,
            format!("{nonce} lost nonce/state failures (the sign-in or refresh round trip breaks)"),
        );
    }
    let span = x.points as EpochMs * x.point_ms;
    if x.failures >= 10 && x.bursts.is_empty() && clients.is_none() && span >= H3_SHAPE_MIN_SPAN {
        t.weaken(
            15,
            format!(
                "{} 401/403 on real requests but no bursts: steady, not expiry-shaped",
                x.failures
            ),
        );
    }
    if x.bursts.len() >= 3 && x.period.is_none() && clients.is_none() {
        t.weaken(
            10,
            format!("{} bursts without a recurring period", x.bursts.len()),
        );
    }
    let auth_logged = e.auth_failures() + e.auth_ok > 0;
    if auth_logged && x.expired == 0 && x.failures > 0 {
        t.weaken(10, "the auth log holds no 'expired' signatures".into());
    }
    let options_denied = e.all.options.auth();
    if options_denied > 0 && options_denied > x.failures {
        t.weaken(
            15,
            format!(
                "most 401/403 are on preflights ({options_denied}) rather than on real requests ({})",
                x.failures
            ),
        );
    }
    if x.period_matches_lifetime() && auth_logged && x.expired == 0 {
        t.disagree(
            "401 bursts recur at the token lifetime, yet the auth log shows no 'expired' signature: the auth log may be another instance's, or the app validates tokens itself".into(),
        );
    }
    t
}

pub(super) fn check_h3(e: &Evidence) -> String {
    let due = e.expiry.next_due.map_or_else(String::new, |d| {
        format!(" Watch for the next burst around {}.", at(d))
    });
    format!(
        "Decode a failing request's token (jwt.ms, never paste production tokens elsewhere) and compare 'exp' with the 401 time; sign in fresh and retry: if a fresh token works and the failures return one lifetime later, the refresh path is broken.{due}"
    )
}

// ---------------------------------------------------------------------------------------------
// H4

pub(super) fn h4_double_headers(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let probes = probes_for(e, Hypothesis::H4);
    if !probes.is_empty() {
        t.support(
            55,
            format!(
                "{} probe(s) received several Access-Control-Allow-Origin values",
                probes.len()
            ),
        );
        for f in probes.iter().take(2) {
            t.note(probe_line(f));
            t.seen(Some(f.time));
        }
    }
    let logged = e.all.options_ok_acao.multiple + e.all.actual_ok_acao.multiple;
    if logged > 0 {
        let routes: Vec<_> = e
            .routes_by(|r| r.options_ok_acao.multiple + r.actual_ok_acao.multiple)
            .collect();
        t.support(
            45,
            format!(
                "{logged} responses logged with several Access-Control-Allow-Origin values: {}",
                routes_list(&routes)
            ),
        );
    }
    let rows = unfollowed_rows(e);
    if !rows.is_empty() {
        let extra = if logged > 0 || !probes.is_empty() {
            15
        } else {
            0
        };
        t.support(
            10 + extra,
            format!(
                "{} origin×route pair(s) with 2xx preflights mostly not followed by the request",
                rows.len()
            ),
        );
        for r in rows.iter().take(2) {
            t.note(followup_line(r));
        }
    }
    let acao = &e.all.options_ok_acao;
    let single = acao.single + e.all.actual_ok_acao.single;
    if single >= 10 && logged == 0 {
        t.weaken(
            25,
            format!("{single} responses logged with exactly one Access-Control-Allow-Origin"),
        );
    }
    let with_preflight: Vec<_> = e
        .probes
        .facts
        .iter()
        .filter(|f| f.preflight_acao_lines > 0)
        .collect();
    if probes.is_empty()
        && !with_preflight.is_empty()
        && with_preflight.iter().all(|f| f.preflight_acao_lines == 1)
    {
        t.weaken(
            15,
            format!(
                "{} probe preflight(s) carried exactly one Access-Control-Allow-Origin line",
                with_preflight.len()
            ),
        );
    }
    for f in &probes {
        if let Some(r) = e.route(&f.route)
            && r.options.s2xx > 0
            && r.options_ok_acao.multiple == 0
        {
            let what = if r.options_ok_acao.logged() == 0 {
                "the log format does not record the header".to_string()
            } else {
                format!(
                    "the log records {} single value(s)",
                    r.options_ok_acao.single
                )
            };
            t.disagree(format!(
                "logs show OPTIONS {} answered 2xx ({} times) and look healthy ({what}), but the probe {} sees a doubled Access-Control-Allow-Origin the browser rejects",
                r.route, r.options.s2xx, f.url
            ));
        }
    }
    t
}

pub(super) fn check_h4(e: &Evidence) -> String {
    let (url, origin) = target(e, Hypothesis::H4, None);
    format!(
        "{} | grep -ci '^access-control-allow-origin' — must print 1; then list every layer that adds CORS headers (App Service CORS blade, API Management, nginx add_header, app middleware)",
        preflight_curl(&url, &origin, "PUT")
    )
}

// ---------------------------------------------------------------------------------------------
// H5

pub(super) fn h5_domain_mismatch(e: &Evidence) -> Tally {
    let mut t = Tally::default();
    let aud = e.auth_count(AuthClass::Audience);
    let iss = e.auth_count(AuthClass::Issuer);
    if aud + iss > 0 {
        t.support(
            40 + ((aud + iss) as i32 / 2).min(20),
            format!(
                "{aud} audience and {iss} issuer failures in the auth log (IDX10214 / IDX10205 family)"
            ),
        );
        if let Some(s) = sample_for(e, &[AuthClass::Audience, AuthClass::Issuer]) {
            t.note(s);
        }
        for s in &e.auth_samples {
            if matches!(s.class, AuthClass::Audience | AuthClass::Issuer) {
                t.seen(Some(s.time));
            }
        }
    }
    let default_failing: Vec<_> = e
        .origins
        .iter()
        .filter(|o| o.default_domain && o.options_failed + o.actual_failed > 0)
        .collect();
    if !default_failing.is_empty() {
        t.support(
            20,
            format!(
                "requests from default-domain origin(s) fail: {}",
                default_failing
                    .iter()
                    .take(3)
                    .map(|o| format!(
                        "{} ({} failed)",
                        o.origin,
                        o.options_failed + o.actual_failed
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let default_origins = e.origins.iter().filter(|o| o.default_domain).count();
    let custom_origins = e.origins.len() - default_origins;
    let default_hosts = e
        .probes
        .hosts
        .iter()
        .filter(|h| crate::analysis::evidence::is_default_domain(h))
        .count();
    let custom_hosts = e.probes.hosts.len() - default_hosts;
    let mixed = (default_origins > 0 && custom_origins > 0)
        || (default_hosts > 0 && custom_hosts > 0)
        || (default_origins > 0 && custom_hosts > 0 && default_hosts == 0);
    if mixed {
        t.support(
            10,
            format!(
                "default and custom domains are both in use: {default_origins} default-domain and {custom_origins} custom origin(s); {default_hosts} default and {custom_hosts} custom API host(s) probed"
            ),
        );
    }
    if e.auth_failures() + e.auth_ok > 0 && aud + iss == 0 {
        t.weaken(15, "the auth log shows no audience or issuer errors".into());
    }
    t
}

pub(super) fn check_h5(_e: &Evidence) -> String {
    "Decode a failing token and compare 'aud' and 'iss' with the API's configured audience (Application ID URI or client id) and issuer (v1 sts.windows.net vs v2 login.microsoftonline.com/<tenant>/v2.0); compare the host the SPA calls (custom domain vs *.azurewebsites.net) with the one the token was requested for.".into()
}
