//! The demo's browser population, written once for both drivers: the live demo
//! ([`super::traffic`], real HTTP on loopback) and the virtual-time replay ([`super::replay`],
//! the server's decision called directly). Each browser is a single-page app on some origin
//! that signs in at the demo identity provider, sends preflights as a browser does (with a
//! preflight cache), lets [`crate::cors::judge`] decide whether the browser would go on, and
//! only then sends the real request with its bearer token.
//!
//! The model does no I/O: a step is a short exchange where the model says what to send next
//! and the driver hands back what came of it. Random draws happen in the model, in one fixed
//! order, from the generator the driver passes in, so a seeded replay is the same on every run.

use std::collections::HashMap;

use super::server::{ALLOWED_ORIGINS, UNLISTED_ORIGIN};
use crate::cors::{Credentials, RawResponse, RequestShape, judge, preflight_request_headers};
use crate::model::time::{EpochMs, SECOND};

/// A browser retries a failed grant after this much demo time (plus up to 10 s of jitter).
const GRANT_RETRY_MS: EpochMs = 30 * SECOND;
/// After this many failed refreshes in a row the app falls back to a full sign-in.
const REFRESHES_BEFORE_SIGN_IN: u32 = 5;
/// Preflight cache entries per browser before expired ones are dropped (and, if that is not
/// enough, all of them).
const PREFLIGHT_CACHE_CAP: usize = 64;
/// Chromium's cap on `Access-Control-Max-Age`.
const MAX_AGE_CAP_SECS: i64 = 7200;
/// Without `Access-Control-Max-Age` a preflight result is kept this long.
const DEFAULT_MAX_AGE_SECS: i64 = 5;

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
const FIREFOX: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

const APP_PAGES: &[&str] = &["/orders", "/orders/1042", "/dashboard", "/checkout"];
const ADMIN_PAGES: &[&str] = &["/admin/orders", "/admin/users"];
const PORTAL_PAGES: &[&str] = &["/", "/account"];
const PARTNER_PAGES: &[&str] = &["/catalog"];

/// Who one simulated browser is: its page's origin and paths, its user and its user agent.
#[derive(Clone, Debug)]
pub struct Profile {
    pub origin: &'static str,
    pub pages: &'static [&'static str],
    pub user: &'static str,
    pub agent: &'static str,
}

/// The population: users of the three listed origins and one partner page the CORS policy
/// never admitted.
pub fn population() -> Vec<Profile> {
    let [app, admin, portal] = ALLOWED_ORIGINS;
    let p = |origin, pages, user, agent| Profile {
        origin,
        pages,
        user,
        agent,
    };
    vec![
        p(app, APP_PAGES, "alice", CHROME),
        p(app, APP_PAGES, "bruno", EDGE),
        p(app, APP_PAGES, "chen", FIREFOX),
        p(app, APP_PAGES, "dana", CHROME),
        p(app, APP_PAGES, "emeka", SAFARI),
        p(app, APP_PAGES, "fatima", CHROME),
        p(admin, ADMIN_PAGES, "gustav", EDGE),
        p(admin, ADMIN_PAGES, "hana", CHROME),
        p(admin, ADMIN_PAGES, "ivan", FIREFOX),
        p(portal, PORTAL_PAGES, "jade", CHROME),
        p(portal, PORTAL_PAGES, "kofi", SAFARI),
        p(UNLISTED_ORIGIN, PARTNER_PAGES, "partner", CHROME),
    ]
}

/// One request as the browser puts it on the wire (the driver adds nothing but transport).
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub method: &'static str,
    /// Path on the API, starting with `/`.
    pub path: String,
    pub origin: &'static str,
    pub referer: String,
    pub agent: &'static str,
    /// Every header besides Origin, Referer and User-Agent, in the order a browser sends them.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Outgoing {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the page's code asks `fetch` to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub authorized: bool,
    pub json_body: Option<&'static str>,
}

/// A call under way: the page it is made from and the shape the CORS check judges.
#[derive(Clone, Debug)]
pub struct Fetch {
    pub call: Call,
    page: String,
    shape: RequestShape,
    url: String,
    preflight_key: Option<String>,
}

/// How a call ended, as the driver counts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The browser blocked it (at the preflight or at the response).
    pub blocked_by_cors: bool,
    /// The API answered 401.
    pub unauthorized: bool,
}

struct Session {
    access: String,
    refresh: String,
    expires: EpochMs,
}

/// One simulated browser: its session, what its app knows about the token, and its preflight
/// cache. Token lifetimes and the cache follow demo time.
pub struct Browser {
    pub profile: Profile,
    session: Option<Session>,
    /// Set when an API call came back 401: the app asks for a new token before the next call.
    needs_refresh: bool,
    next_grant_at: EpochMs,
    failed_refreshes: u32,
    grant_was_refresh: bool,
    /// Preflight results by (method, url, request headers): demo time they stop being valid.
    preflight_cache: HashMap<String, EpochMs>,
}

impl Browser {
    pub fn new(profile: Profile) -> Browser {
        Browser {
            profile,
            session: None,
            needs_refresh: false,
            next_grant_at: EpochMs::MIN,
            failed_refreshes: 0,
            grant_was_refresh: false,
            preflight_cache: HashMap::new(),
        }
    }

    /// The partner page: never admitted by the CORS policy, it never signs in either.
    pub fn is_partner(&self) -> bool {
        self.profile.origin == UNLISTED_ORIGIN
    }

    fn page(&self, rng: &mut fastrand::Rng) -> String {
        let pages = self.profile.pages;
        format!("{}{}", self.profile.origin, pages[rng.usize(..pages.len())])
    }

    /// The sign-in or refresh (a simple form POST: no preflight) that opens this step, when
    /// the app needs a token and may ask for one now. Answer with [`Browser::on_grant`].
    pub fn grant_request(&mut self, now: EpochMs, rng: &mut fastrand::Rng) -> Option<Outgoing> {
        if self.is_partner() {
            return None;
        }
        let expired = self.session.as_ref().is_some_and(|s| now >= s.expires);
        if !((self.session.is_none() || expired || self.needs_refresh) && now >= self.next_grant_at)
        {
            return None;
        }
        let refresh = self
            .session
            .as_ref()
            .filter(|_| self.failed_refreshes < REFRESHES_BEFORE_SIGN_IN)
            .map(|s| s.refresh.clone());
        self.grant_was_refresh = refresh.is_some();
        let body = match &refresh {
            Some(rt) => format!("grant_type=refresh_token&refresh_token={rt}"),
            None => format!("grant_type=password&username={}", self.profile.user),
        };
        Some(Outgoing {
            method: "POST",
            path: "/auth/token".into(),
            origin: self.profile.origin,
            referer: self.page(rng),
            agent: self.profile.agent,
            headers: vec![(
                "Content-Type",
                "application/x-www-form-urlencoded".to_string(),
            )],
            body: body.into_bytes(),
        })
    }

    /// The identity provider's answer: status and body, or `None` when nothing came back.
    /// Returns whether a token was granted.
    pub fn on_grant(
        &mut self,
        answer: Option<(u16, &[u8])>,
        now: EpochMs,
        rng: &mut fastrand::Rng,
    ) -> bool {
        let granted = answer
            .filter(|(status, _)| (200..300).contains(status))
            .and_then(|(_, body)| parse_grant(body, now));
        match granted {
            Some(session) => {
                self.session = Some(session);
                self.needs_refresh = false;
                self.failed_refreshes = 0;
                true
            }
            None => {
                if self.grant_was_refresh {
                    self.failed_refreshes += 1;
                } else {
                    // A failed sign-in starts the refresh count over once a session exists.
                    self.failed_refreshes = 0;
                }
                self.next_grant_at = now + GRANT_RETRY_MS + rng.i64(0..=10 * SECOND);
                false
            }
        }
    }

    /// The call the app makes in this step.
    pub fn choose_call(&mut self, rng: &mut fastrand::Rng) -> Call {
        let call = |method, path: String, authorized, json_body| Call {
            method,
            path,
            authorized,
            json_body,
        };
        if self.is_partner() {
            // The partner page sends its header before it ever got a token; its preflight is
            // what fails, every time.
            return call("GET", "/api/products".into(), true, None);
        }
        let roll = rng.u32(0..100);
        if self.session.is_none() || roll < 10 {
            // Anonymous simple GET: no preflight.
            let path = if rng.bool() {
                "/api/health"
            } else {
                "/api/products"
            };
            return call("GET", path.into(), false, None);
        }
        let id = 1000 + rng.u32(0..120);
        let order = format!("/api/orders/{id}");
        match roll {
            10..=39 => call("GET", "/api/orders".into(), true, None),
            40..=57 => call("GET", order, true, None),
            58..=71 => call(
                "PUT",
                order,
                true,
                Some(r#"{"status":"confirmed","quantity":2}"#),
            ),
            72..=75 => call(
                "PUT",
                "/api/orders".into(),
                true,
                Some(r#"{"items":[{"sku":"HL-2040","quantity":1}]}"#),
            ),
            76..=77 => call("DELETE", order, true, None),
            78..=88 => call("GET", "/api/profile".into(), true, None),
            _ => call("GET", "/api/products".into(), true, None),
        }
    }

    /// Starts `call` against the API at `base` (scheme and host, no trailing slash).
    pub fn begin(&self, call: Call, base: &str, rng: &mut fastrand::Rng) -> Fetch {
        let page = self.page(rng);
        let mut headers: Vec<(String, String)> = Vec::new();
        if call.authorized {
            headers.push(("Authorization".into(), "Bearer <token>".into()));
        }
        if call.json_body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        let shape = RequestShape {
            name: format!("{} {}", call.method, call.path),
            method: call.method.into(),
            headers,
            credentials: Credentials::Include,
        };
        let url = format!("{base}{}", call.path);
        let (needed, request_headers) = preflight_request_headers(&shape);
        let preflight_key = needed.then(|| format!("{} {url} {request_headers}", call.method));
        Fetch {
            call,
            page,
            shape,
            url,
            preflight_key,
        }
    }

    /// The preflight `fetch` needs, unless its shape is simple or a cached preflight covers it.
    /// Answer with [`Browser::on_preflight`].
    pub fn preflight(&self, fetch: &Fetch, now: EpochMs) -> Option<Outgoing> {
        let key = fetch.preflight_key.as_ref()?;
        if self
            .preflight_cache
            .get(key)
            .is_some_and(|&until| now < until)
        {
            return None;
        }
        let (_, request_headers) = preflight_request_headers(&fetch.shape);
        let mut headers = vec![
            ("Accept", "*/*".to_string()),
            (
                "Access-Control-Request-Method",
                fetch.call.method.to_string(),
            ),
        ];
        if !request_headers.is_empty() {
            headers.push(("Access-Control-Request-Headers", request_headers));
        }
        headers.push(("Sec-Fetch-Mode", "cors".to_string()));
        Some(Outgoing {
            method: "OPTIONS",
            path: fetch.call.path.clone(),
            origin: self.profile.origin,
            referer: fetch.page.clone(),
            agent: self.profile.agent,
            headers,
            body: Vec::new(),
        })
    }

    /// Judges the preflight's response as the browser does and caches a pass for its
    /// `Access-Control-Max-Age`. Returns whether the browser goes on to the actual request.
    pub fn on_preflight(&mut self, fetch: &Fetch, response: &RawResponse, now: EpochMs) -> bool {
        let origin = self.profile.origin;
        if !judge(origin, &fetch.url, &fetch.shape, Some(response), None).allowed {
            return false;
        }
        let Some(key) = fetch.preflight_key.clone() else {
            return true;
        };
        if self.preflight_cache.len() >= PREFLIGHT_CACHE_CAP {
            self.preflight_cache.retain(|_, until| now < *until);
            if self.preflight_cache.len() >= PREFLIGHT_CACHE_CAP {
                self.preflight_cache.clear();
            }
        }
        let max_age = response
            .first("access-control-max-age")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(DEFAULT_MAX_AGE_SECS)
            .clamp(0, MAX_AGE_CAP_SECS);
        self.preflight_cache.insert(key, now + max_age * SECOND);
        true
    }

    /// The actual request, with the app's current token (the partner page, which has none,
    /// sends what its code produces). Answer with [`Browser::on_actual`].
    pub fn actual(&self, fetch: &Fetch) -> Outgoing {
        let mut headers = vec![("Accept", "application/json".to_string())];
        if fetch.call.authorized {
            let bearer = self
                .session
                .as_ref()
                .map_or("undefined", |s| s.access.as_str());
            headers.push(("Authorization", format!("Bearer {bearer}")));
        }
        if fetch.call.json_body.is_some() {
            headers.push(("Content-Type", "application/json".to_string()));
        }
        headers.push(("Sec-Fetch-Mode", "cors".to_string()));
        Outgoing {
            method: fetch.call.method,
            path: fetch.call.path.clone(),
            origin: self.profile.origin,
            referer: fetch.page.clone(),
            agent: self.profile.agent,
            headers,
            body: fetch.call.json_body.map(Vec::from).unwrap_or_default(),
        }
    }

    /// What the browser and the app make of the actual response.
    pub fn on_actual(&mut self, fetch: &Fetch, response: &RawResponse) -> Outcome {
        let unauthorized = response.status == 401;
        if unauthorized {
            // Whether or not the browser lets the page read this 401, the app's token cache
            // knows the token is stale or rejected and asks for a new one.
            self.needs_refresh = true;
        }
        Outcome {
            unauthorized,
            blocked_by_cors: !judge(
                self.profile.origin,
                &fetch.url,
                &fetch.shape,
                None,
                Some(response),
            )
            .allowed,
        }
    }
}

fn parse_grant(body: &[u8], now: EpochMs) -> Option<Session> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(Session {
        access: v.get("access_token")?.as_str()?.to_string(),
        refresh: v.get("refresh_token")?.as_str()?.to_string(),
        expires: now + v.get("expires_in")?.as_i64()?.max(0) * SECOND,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_population_covers_every_origin_and_one_partner() {
        let ps = population();
        for o in ALLOWED_ORIGINS {
            assert!(ps.iter().any(|p| p.origin == o), "{o}");
        }
        assert_eq!(ps.iter().filter(|p| p.origin == UNLISTED_ORIGIN).count(), 1);
        assert_eq!(ps.len(), 12);
    }

    #[test]
    fn grant_parsing() {
        let s = parse_grant(
            br#"{"access_token":"demo.a.5","refresh_token":"rt.a","expires_in":60,"token_type":"Bearer"}"#,
            1000,
        )
        .unwrap();
        assert_eq!(s.access, "demo.a.5");
        assert_eq!(s.expires, 61_000);
        assert!(parse_grant(b"{}", 0).is_none());
        assert!(parse_grant(b"not json", 0).is_none());
    }

    fn allowing(origin: &str, max_age: &str) -> RawResponse {
        RawResponse {
            status: 204,
            headers: vec![
                ("access-control-allow-origin".into(), origin.into()),
                ("access-control-allow-credentials".into(), "true".into()),
                (
                    "access-control-allow-methods".into(),
                    "GET, PUT, DELETE".into(),
                ),
                (
                    "access-control-allow-headers".into(),
                    "authorization, content-type".into(),
                ),
                ("access-control-max-age".into(), max_age.into()),
            ],
            elapsed_ms: 1,
        }
    }

    #[test]
    fn a_step_signs_in_preflights_once_and_sends_the_token() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut b = Browser::new(population()[0].clone());
        let grant = b
            .grant_request(0, &mut rng)
            .expect("no session yet: sign in");
        assert_eq!(grant.method, "POST");
        assert!(String::from_utf8_lossy(&grant.body).contains("username=alice"));
        let token = br#"{"access_token":"demo.alice.9","refresh_token":"rt","expires_in":3600}"#;
        assert!(b.on_grant(Some((200, token)), 0, &mut rng));
        assert!(b.grant_request(1, &mut rng).is_none(), "signed in");

        let call = Call {
            method: "PUT",
            path: "/api/orders/1001".into(),
            authorized: true,
            json_body: Some("{}"),
        };
        let fetch = b.begin(call.clone(), "http://api", &mut rng);
        let pre = b
            .preflight(&fetch, 10)
            .expect("PUT with Authorization is preflighted");
        assert_eq!(pre.header("Access-Control-Request-Method"), Some("PUT"));
        assert_eq!(
            pre.header("Access-Control-Request-Headers"),
            Some("authorization,content-type")
        );
        assert!(b.on_preflight(&fetch, &allowing(b.profile.origin, "60"), 10));
        let actual = b.actual(&fetch);
        assert_eq!(actual.header("Authorization"), Some("Bearer demo.alice.9"));
        // The cached preflight covers the same call for its max-age, not longer.
        let again = b.begin(call.clone(), "http://api", &mut rng);
        assert!(b.preflight(&again, 10 + 59 * SECOND).is_none());
        assert!(b.preflight(&again, 10 + 60 * SECOND).is_some());

        let mut denied = allowing(b.profile.origin, "60");
        denied.status = 401;
        let outcome = b.on_actual(&fetch, &denied);
        assert!(outcome.unauthorized);
        assert!(
            b.grant_request(20, &mut rng).is_some(),
            "a 401 asks for a new token"
        );
    }

    #[test]
    fn failed_refreshes_fall_back_to_a_sign_in() {
        let mut rng = fastrand::Rng::with_seed(1);
        let mut b = Browser::new(population()[0].clone());
        b.grant_request(0, &mut rng).unwrap();
        let token = br#"{"access_token":"a","refresh_token":"rt","expires_in":1}"#;
        b.on_grant(Some((200, token)), 0, &mut rng);
        let mut now = 2 * SECOND;
        for _ in 0..REFRESHES_BEFORE_SIGN_IN {
            let g = b.grant_request(now, &mut rng).unwrap();
            assert!(String::from_utf8_lossy(&g.body).contains("refresh_token=rt"));
            assert!(!b.on_grant(Some((400, b"{}")), now, &mut rng));
            assert!(
                b.grant_request(now + SECOND, &mut rng).is_none(),
                "waits to retry"
            );
            now += GRANT_RETRY_MS + 10 * SECOND;
        }
        let g = b.grant_request(now, &mut rng).unwrap();
        assert!(String::from_utf8_lossy(&g.body).contains("grant_type=password"));
    }
}
