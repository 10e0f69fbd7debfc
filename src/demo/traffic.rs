//! The live demo's browsers: the population of [`super::browser`] driven over real HTTP on
//! loopback, one task per browser.
//!
//! Pacing is in real time (a few requests per second per browser); token lifetimes and the
//! preflight cache follow demo time, like everything the server sees.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::browser::{Browser, Outgoing, population};
use crate::cors::RawResponse;
use crate::model::time::Clock;

/// Pause between one browser's actions, real milliseconds.
const STEP_PAUSE_MS: std::ops::RangeInclusive<u64> = 220..=560;
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

/// Number of browsers [`spawn`] starts.
pub fn browser_count() -> usize {
    population().len()
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
    Ok(population()
        .into_iter()
        .enumerate()
        .map(|(i, profile)| {
            let browser = Browser::new(profile);
            let rng = fastrand::Rng::with_seed(seed.wrapping_add(i as u64));
            tokio::spawn(run(browser, rng, ctx.clone(), stop.clone()))
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

async fn run(
    mut b: Browser,
    mut rng: fastrand::Rng,
    ctx: Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
) {
    let first = Duration::from_millis(rng.u64(0..=400));
    if !pause(&mut stop, first).await {
        return;
    }
    loop {
        tokio::select! {
            _ = step(&mut b, &mut rng, &ctx) => {}
            _ = stop.changed() => return,
        }
        let d = Duration::from_millis(rng.u64(STEP_PAUSE_MS));
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

/// One step of one browser over real HTTP: the sign-in or refresh when due, then the app's
/// call (preflight first when the browser sends one, the actual request only when the
/// browser lets it go).
async fn step(b: &mut Browser, rng: &mut fastrand::Rng, ctx: &Ctx) {
    let now = (ctx.clock)();
    if let Some(grant) = b.grant_request(now, rng) {
        let answer = send(ctx, &grant).await;
        let answer = answer
            .as_ref()
            .map(|(raw, body)| (raw.status, body.as_slice()));
        if !b.on_grant(answer, now, rng) {
            TrafficStats::bump(&ctx.stats.grants_failed);
        }
    }
    let call = b.choose_call(rng);
    let fetch = b.begin(call, &ctx.base, rng);
    let now = (ctx.clock)();
    if let Some(preflight) = b.preflight(&fetch, now) {
        TrafficStats::bump(&ctx.stats.preflights);
        let Some((raw, _)) = send(ctx, &preflight).await else {
            return;
        };
        if !b.on_preflight(&fetch, &raw, now) {
            TrafficStats::bump(&ctx.stats.blocked_by_cors);
            return;
        }
    }
    let Some((raw, _)) = send(ctx, &b.actual(&fetch)).await else {
        return;
    };
    let outcome = b.on_actual(&fetch, &raw);
    if outcome.unauthorized {
        TrafficStats::bump(&ctx.stats.unauthorized);
    }
    if outcome.blocked_by_cors {
        TrafficStats::bump(&ctx.stats.blocked_by_cors);
    }
}

/// Sends one request and reads its answer; `None` (counted) when nothing came back.
async fn send(ctx: &Ctx, req: &Outgoing) -> Option<(RawResponse, Vec<u8>)> {
    TrafficStats::bump(&ctx.stats.requests);
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).ok()?;
    let mut builder = ctx
        .http
        .request(method, format!("{}{}", ctx.base, req.path))
        .header("Origin", req.origin)
        .header("Referer", &req.referer)
        .header("User-Agent", req.agent);
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    if !req.body.is_empty() {
        builder = builder.body(req.body.clone());
    }
    let started = Instant::now();
    match builder.send().await {
        Ok(resp) => {
            let raw = to_raw(&resp, started);
            let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            Some((raw, body))
        }
        Err(_) => {
            TrafficStats::bump(&ctx.stats.transport_errors);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_gets_a_browser() {
        assert_eq!(browser_count(), 12);
    }
}
