//! Simulated browsers calling the demo API: each one is a single-page app on some origin that
//! signs in at the demo identity provider, sends preflights exactly as a browser does, lets
//! [`crate::cors::judge`] decide whether the browser would continue, and only then sends the
//! real request with its bearer token.
//!
//! Pacing is in real time (a few requests per second per browser); token lifetimes and the
//! preflight cache follow demo time, like everything the server sees.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::server::{ALLOWED_ORIGINS, UNLISTED_ORIGIN};
use crate::cors::{Credentials, RawResponse, RequestShape, judge, preflight_request_headers};
use crate::model::time::{Clock, EpochMs, SECOND};

/// Pause between one browser's actions, real milliseconds.
const STEP_PAUSE_MS: std::ops::RangeInclusive<u64> = 220..=560;
/// A browser retries a failed grant after this much demo time (plus jitter).
const GRANT_RETRY_MS: EpochMs = 30 * SECOND;
/// After this many failed refreshes in a row the app falls back to a full sign-in.
const REFRESHES_BEFORE_SIGN_IN: u32 = 5;
/// Preflight cache entries per browser before the cache is emptied.
const PREFLIGHT_CACHE_CAP: usize = 64;
/// Chromium's cap on `Access-Control-Max-Age`.
const MAX_AGE_CAP_SECS: i64 = 7200;
/// Without `Access-Control-Max-Age` a preflight result is kept this long.
const DEFAULT_MAX_AGE_SECS: i64 = 5;
/// Per-request time limit; the server is local, so anything slower is a fault.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// Counters across all simulated browsers.
#[derive(Debug, Default)]
pub struct TrafficStats {
    pub requests: AtomicU64,
    pub preflights: AtomicU64,
    pub blocked_by_cors: AtomicU64,
    pub unauthorized: AtomicU64,
    pub grants_failed: AtomicU64,
    pub transport_errors: AtomicU64,
}

impl TrafficStats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

struct Profile {
    origin: &'static str,
    pages: &'static [&'static str],
    user: &'static str,
    agent: &'static str,
}

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
const FIREFOX: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0";
const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

const APP_PAGES: &[&str] = &["/orders", "/orders/1042", "/dashboard", "/checkout"];
const ADMIN_PAGES: &[&str] = &["/admin/orders", "/admin/users"];
const PORTAL_PAGES: &[&str] = &["/", "/account"];
const PARTNER_PAGES: &[&str] = &["/catalog"];

fn profiles() -> Vec<Profile> {
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

/// Number of browsers [`spawn`] starts.
pub fn browser_count() -> usize {
    profiles().len()
}

struct Session {
    access: String,
    refresh: String,
    expires: EpochMs,
}

struct Browser {
    profile: Profile,
    rng: fastrand::Rng,
    session: Option<Session>,
    /// Set when an API call came back 401: the app asks for a new token before the next call.
    needs_refresh: bool,
    next_grant_at: EpochMs,
    failed_refreshes: u32,
    /// Preflight results by (method, url, request headers): demo time they stop being valid.
    preflight_cache: HashMap<String, EpochMs>,
}

struct Ctx {
    http: reqwest::Client,
    base: String,
    clock: Clock,
    stats: Arc<TrafficStats>,
}

/// Starts the simulated browsers. They stop when `stop` turns true or its sender is dropped.
pub fn spawn(
    base: String,
    clock: Clock,
    stats: Arc<TrafficStats>,
    stop: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, reqwest::Error> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .pool_max_idle_per_host(16)
        .build()?;
    let ctx = Arc::new(Ctx {
        http,
        base,
        clock,
        stats,
    });
    let seed = fastrand::u64(..);
    Ok(profiles()
        .into_iter()
        .enumerate()
        .map(|(i, profile)| {
            let browser = Browser {
                profile,
                rng: fastrand::Rng::with_seed(seed.wrapping_add(i as u64)),
                session: None,
                needs_refresh: false,
                next_grant_at: EpochMs::MIN,
                failed_refreshes: 0,
                preflight_cache: HashMap::new(),
            };
            tokio::spawn(run(browser, ctx.clone(), stop.clone()))
        })
        .collect())
}

/// Sleeps unless told to stop; false means stop.
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

async fn run(mut b: Browser, ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let first = Duration::from_millis(b.rng.u64(0..=400));
    if !pause(&mut stop, first).await {
        return;
    }
    loop {
        tokio::select! {
            _ = b.step(&ctx) => {}
            _ = stop.changed() => return,
        }
        let d = Duration::from_millis(b.rng.u64(STEP_PAUSE_MS));
        if !pause(&mut stop, d).await {
            return;
        }
    }
}

fn to_raw(resp: &reqwest::Response, started: Instant) -> RawResponse {
    RawResponse {
        status: resp.status().as_u16(),
        headers: resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        elapsed_ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
    }
}

/// What the app asks fetch to do.
struct Call {
    method: &'static str,
    path: String,
    authorized: bool,
    json_body: Option<&'static str>,
}

impl Browser {
    fn page(&mut self) -> String {
        let pages = self.profile.pages;
        let i = self.rng.usize(..pages.len());
        format!("{}{}", self.profile.origin, pages[i])
    }

    fn is_partner(&self) -> bool {
        self.profile.origin == UNLISTED_ORIGIN
    }

    async fn step(&mut self, ctx: &Ctx) {
        if self.is_partner() {
            // The partner page sends its header before it ever got a token; its preflight is
            // what fails, every time.
            let call = Call {
                method: "GET",
                path: "/api/products".into(),
                authorized: true,
                json_body: None,
            };
            self.fetch(ctx, &call).await;
            return;
        }
        let now = (ctx.clock)();
        let expired = self.session.as_ref().is_some_and(|s| now >= s.expires);
        if (self.session.is_none() || expired || self.needs_refresh) && now >= self.next_grant_at {
            self.grant(ctx, now).await;
        }
        let roll = self.rng.u32(0..100);
        if self.session.is_none() || roll < 10 {
            // Anonymous simple GET: no preflight.
            let path = if self.rng.bool() {
                "/api/health"
            } else {
                "/api/products"
            };
            let call = Call {
                method: "GET",
                path: path.into(),
                authorized: false,
                json_body: None,
            };
            self.fetch(ctx, &call).await;
            return;
        }
        let id = 1000 + self.rng.u32(0..120);
        let call = match roll {
            10..=39 => Call {
                method: "GET",
                path: "/api/orders".into(),
                authorized: true,
                json_body: None,
            },
            40..=57 => Call {
                method: "GET",
                path: format!("/api/orders/{id}"),
                authorized: true,
                json_body: None,
            },
            58..=71 => Call {
                method: "PUT",
                path: format!("/api/orders/{id}"),
                authorized: true,
                json_body: Some(r#"{"status":"confirmed","quantity":2}"#),
            },
            72..=75 => Call {
                method: "PUT",
                path: "/api/orders".into(),
                authorized: true,
                json_body: Some(r#"{"items":[{"sku":"HL-2040","quantity":1}]}"#),
            },
            76..=77 => Call {
                method: "DELETE",
                path: format!("/api/orders/{id}"),
                authorized: true,
                json_body: None,
            },
            78..=88 => Call {
                method: "GET",
                path: "/api/profile".into(),
                authorized: true,
                json_body: None,
            },
            _ => Call {
                method: "GET",
                path: "/api/products".into(),
                authorized: true,
                json_body: None,
            },
        };
        self.fetch(ctx, &call).await;
    }

    /// Signs in or refreshes at the token endpoint (a simple form POST: no preflight).
    async fn grant(&mut self, ctx: &Ctx, now: EpochMs) {
        let refresh = self
            .session
            .as_ref()
            .filter(|_| self.failed_refreshes < REFRESHES_BEFORE_SIGN_IN)
            .map(|s| s.refresh.clone());
        let body = match &refresh {
            Some(rt) => format!("grant_type=refresh_token&refresh_token={rt}"),
            None => format!("grant_type=password&username={}", self.profile.user),
        };
        let page = self.page();
        TrafficStats::bump(&ctx.stats.requests);
        let sent = ctx
            .http
            .post(format!("{}/auth/token", ctx.base))
            .header("Origin", self.profile.origin)
            .header("Referer", page)
            .header("User-Agent", self.profile.agent)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        let granted = match sent {
            Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                Ok(bytes) => parse_grant(&bytes, now),
                Err(_) => None,
            },
            Ok(_) => None,
            Err(_) => {
                TrafficStats::bump(&ctx.stats.transport_errors);
                None
            }
        };
        match granted {
            Some(session) => {
                self.session = Some(session);
                self.needs_refresh = false;
                self.failed_refreshes = 0;
            }
            None => {
                TrafficStats::bump(&ctx.stats.grants_failed);
                if refresh.is_some() {
                    self.failed_refreshes += 1;
                } else {
                    // A failed sign-in starts the refresh count over once a session exists.
                    self.failed_refreshes = 0;
                }
                let jitter = self.rng.i64(0..=10 * SECOND);
                self.next_grant_at = now + GRANT_RETRY_MS + jitter;
            }
        }
    }

    /// Sends one request as a browser would: preflight first when the shape needs it (unless
    /// a cached preflight covers it), the real request only when the browser would allow it.
    async fn fetch(&mut self, ctx: &Ctx, call: &Call) {
        let url = format!("{}{}", ctx.base, call.path);
        let origin = self.profile.origin;
        let page = self.page();
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
        let (needed, request_headers) = preflight_request_headers(&shape);
        let now = (ctx.clock)();
        if needed {
            let key = format!("{} {} {}", call.method, url, request_headers);
            let cached = self
                .preflight_cache
                .get(&key)
                .is_some_and(|&until| now < until);
            if !cached {
                let mut req = ctx
                    .http
                    .request(reqwest::Method::OPTIONS, &url)
                    .header("Origin", origin)
                    .header("Accept", "*/*")
                    .header("Access-Control-Request-Method", call.method)
                    .header("Referer", &page)
                    .header("User-Agent", self.profile.agent)
                    .header("Sec-Fetch-Mode", "cors");
                if !request_headers.is_empty() {
                    req = req.header("Access-Control-Request-Headers", &request_headers);
                }
                TrafficStats::bump(&ctx.stats.requests);
                TrafficStats::bump(&ctx.stats.preflights);
                let started = Instant::now();
                let raw = match req.send().await {
                    Ok(resp) => to_raw(&resp, started),
                    Err(_) => {
                        TrafficStats::bump(&ctx.stats.transport_errors);
                        return;
                    }
                };
                let verdict = judge(origin, &url, &shape, Some(&raw), None);
                if !verdict.allowed {
                    TrafficStats::bump(&ctx.stats.blocked_by_cors);
                    return;
                }
                if self.preflight_cache.len() >= PREFLIGHT_CACHE_CAP {
                    self.preflight_cache.retain(|_, until| now < *until);
                    if self.preflight_cache.len() >= PREFLIGHT_CACHE_CAP {
                        self.preflight_cache.clear();
                    }
                }
                let max_age = raw
                    .first("access-control-max-age")
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .unwrap_or(DEFAULT_MAX_AGE_SECS)
                    .clamp(0, MAX_AGE_CAP_SECS);
                self.preflight_cache.insert(key, now + max_age * SECOND);
            }
        }

        let method = match reqwest::Method::from_bytes(call.method.as_bytes()) {
            Ok(m) => m,
            Err(_) => return,
        };
        let mut req = ctx
            .http
            .request(method, &url)
            .header("Origin", origin)
            .header("Accept", "application/json")
            .header("Referer", &page)
            .header("User-Agent", self.profile.agent)
            .header("Sec-Fetch-Mode", "cors");
        if call.authorized {
            // The partner page has no token and sends what its code produces.
            let bearer = self
                .session
                .as_ref()
                .map(|s| s.access.as_str())
                .unwrap_or("undefined");
            req = req.header("Authorization", format!("Bearer {bearer}"));
        }
        if let Some(body) = call.json_body {
            req = req.header("Content-Type", "application/json").body(body);
        }
        TrafficStats::bump(&ctx.stats.requests);
        let started = Instant::now();
        let raw = match req.send().await {
            Ok(resp) => to_raw(&resp, started),
            Err(_) => {
                TrafficStats::bump(&ctx.stats.transport_errors);
                return;
            }
        };
        if raw.status == 401 {
            // Whether or not the browser lets the page read this 401, the app's token cache
            // knows the token is stale or rejected and asks for a new one.
            TrafficStats::bump(&ctx.stats.unauthorized);
            self.needs_refresh = true;
        }
        if !judge(origin, &url, &shape, None, Some(&raw)).allowed {
            TrafficStats::bump(&ctx.stats.blocked_by_cors);
        }
    }
}

fn parse_grant(body: &[u8], now: EpochMs) -> Option<Session> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let access = v.get("access_token")?.as_str()?.to_string();
    let refresh = v.get("refresh_token")?.as_str()?.to_string();
    let expires_in = v.get("expires_in")?.as_i64()?;
    Some(Session {
        access,
        refresh,
        expires: now + expires_in.max(0) * SECOND,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_cover_every_origin() {
        let ps = profiles();
        for o in ALLOWED_ORIGINS {
            assert!(ps.iter().any(|p| p.origin == o), "{o}");
        }
        assert_eq!(ps.iter().filter(|p| p.origin == UNLISTED_ORIGIN).count(), 1);
        assert_eq!(browser_count(), 12);
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
}
