//! Probe rounds: every target (and, when enabled, every security candidate) once per interval,
//! with bounded concurrency, results streamed to the ingest task as they complete.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use super::client::{ProbeClient, Token, load_token, probe_once};
use super::security::{self, SecurityCandidate};
use super::settings::{ProbeSettings, ProbeTarget};
use crate::cors::{RequestShape, Warning};
use crate::model::time::Clock;
use crate::sources::event::{Event, Hypothesis, ProbeResult};

/// One unit of work in a round.
#[derive(Clone, Debug)]
enum Job {
    Target(ProbeTarget),
    Security {
        url: String,
        candidate: SecurityCandidate,
    },
}

fn jobs(settings: &ProbeSettings, nonce: &str) -> Vec<Job> {
    let targets = settings.targets();
    let mut out: Vec<Job> = targets.iter().cloned().map(Job::Target).collect();
    if settings.security {
        let mut seen: Vec<(String, String)> = Vec::new();
        for t in &targets {
            for candidate in security::candidates(&t.origin, nonce) {
                let key = (t.url.clone(), candidate.origin.clone());
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                out.push(Job::Security {
                    url: t.url.clone(),
                    candidate,
                });
            }
        }
    }
    out
}

/// Probes a target `repeat` times (each over a fresh connection) and folds the answers into
/// one result: the first failing answer when any failed, marked when the answers disagree.
async fn probe_repeated(
    client: &ProbeClient,
    target: &ProbeTarget,
    clock: &Clock,
    token: Option<&Token>,
    repeat: u32,
) -> ProbeResult {
    let mut results = Vec::with_capacity(repeat.max(1) as usize);
    for _ in 0..repeat.max(1) {
        results.push(probe_once(client, target, clock, token).await);
    }
    fold_repeats(results)
}

/// Folds repeated results of one target. Pure, so the consistency rule is testable without a
/// network.
pub fn fold_repeats(mut results: Vec<ProbeResult>) -> ProbeResult {
    let pick = results.iter().position(|r| !r.verdict.allowed).unwrap_or(0);
    let summary = if crate::cors::inconsistent(results.iter().map(|r| &r.verdict)) {
        let mut seen: Vec<(String, &'static str, usize)> = Vec::new();
        for r in &results {
            let fp = r.instance.clone().unwrap_or_else(|| "unknown".to_string());
            match seen
                .iter_mut()
                .find(|(f, c, _)| *f == fp && *c == r.verdict.code)
            {
                Some(entry) => entry.2 += 1,
                None => seen.push((fp, r.verdict.code, 1)),
            }
        }
        let listed: Vec<String> = seen
            .iter()
            .map(|(fp, code, n)| format!("{fp} -> {code} (x{n})"))
            .collect();
        Some(format!(
            "{} answers disagree: {}",
            results.len(),
            listed.join("; ")
        ))
    } else {
        None
    };
    if results.is_empty() {
        // Unreachable through `probe_repeated` (repeat >= 1); kept total for the pure API.
        return empty_result();
    }
    let mut chosen = results.swap_remove(pick);
    if let Some(message) = summary {
        chosen.verdict.warnings.push(Warning {
            code: "inconsistent-instances",
            message,
        });
        chosen.verdict.hypothesis = Some(Hypothesis::InconsistentInstances);
    }
    chosen
}

fn empty_result() -> ProbeResult {
    let shape = RequestShape::spa_default();
    ProbeResult {
        time: 0,
        url: String::new(),
        origin: String::new(),
        verdict: crate::cors::judge("", "", &shape, None, None),
        shape,
        critical: false,
        preflight_request: None,
        preflight: None,
        actual_request: None,
        actual: None,
        transport: None,
        instance: None,
        redirects: Vec::new(),
    }
}

async fn probe_security(
    client: &ProbeClient,
    url: &str,
    candidate: &SecurityCandidate,
    clock: &Clock,
) -> ProbeResult {
    let target = ProbeTarget {
        url: url.to_string(),
        origin: candidate.origin.clone(),
        shape: security::security_shape(candidate.kind),
        critical: false,
        allow_unsafe_actual: false,
    };
    // GET needs no preflight, so this sends exactly one credential-less GET with the origin.
    let mut result = probe_once(client, &target, clock, None).await;
    if let Some(resp) = &result.actual {
        let finding = security::assess(candidate, resp);
        security::attach(&mut result, &finding);
    }
    result
}

fn nonce() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..4)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// One round as a stream of `(job index, result)` in completion order.
fn round<'a>(
    settings: &'a ProbeSettings,
    client: &'a ProbeClient,
    clock: &'a Clock,
    token: Option<&'a Token>,
    nonce: &str,
) -> impl Stream<Item = (usize, ProbeResult)> + 'a {
    let jobs = jobs(settings, nonce);
    stream::iter(jobs.into_iter().enumerate())
        .map(move |(i, job)| async move {
            let r = match &job {
                Job::Target(t) => probe_repeated(client, t, clock, token, settings.repeat).await,
                Job::Security { url, candidate } => {
                    probe_security(client, url, candidate, clock).await
                }
            };
            (i, r)
        })
        .buffer_unordered(settings.concurrency.max(1))
}

fn round_token(settings: &ProbeSettings) -> Option<Token> {
    match load_token(settings) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "probe token unavailable; actual requests go without it");
            None
        }
    }
}

/// Runs every probe once and returns the results in configuration order (targets first,
/// then security candidates). For headless use.
pub async fn run_once(settings: &ProbeSettings, clock: Clock) -> Vec<ProbeResult> {
    let client = ProbeClient::new(settings);
    let token = round_token(settings);
    let mut out: Vec<(usize, ProbeResult)> =
        round(settings, &client, &clock, token.as_ref(), &nonce())
            .collect()
            .await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// The pause before the next round: the interval moved by up to ±`jitter` of itself.
pub fn next_delay(settings: &ProbeSettings, unit_random: f64) -> Duration {
    let base = settings.interval.ms().max(100) as f64;
    let jitter = settings.jitter.clamp(0.0, 1.0);
    let factor = 1.0 + jitter * (2.0 * unit_random.clamp(0.0, 1.0) - 1.0);
    Duration::from_millis((base * factor).max(100.0) as u64)
}

/// Probes every interval (± jitter) until the receiver is dropped. `probe_now` starts a round
/// at once (a notification during a round starts the next one right after it).
pub fn spawn(
    settings: ProbeSettings,
    clock: Clock,
    tx: mpsc::Sender<Event>,
    probe_now: Arc<Notify>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = ProbeClient::new(&settings);
        // One subdomain label for the scheduler's life: the store keeps the latest result per
        // origin, and a new label every round would fill it with one-off origins.
        let nonce = nonce();
        loop {
            let token = round_token(&settings);
            let mut results =
                std::pin::pin!(round(&settings, &client, &clock, token.as_ref(), &nonce));
            while let Some((_, r)) = results.next().await {
                if tx.send(Event::Probe(Box::new(r))).await.is_err() {
                    return;
                }
            }
            let delay = next_delay(&settings, fastrand::f64());
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = probe_now.notified() => {}
                _ = tx.closed() => return,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::RawResponse;

    fn result_with(code: &'static str, allowed: bool, instance: &str) -> ProbeResult {
        let mut r = empty_result();
        r.verdict.code = code;
        r.verdict.allowed = allowed;
        r.instance = Some(instance.to_string());
        r.preflight = Some(RawResponse::default());
        r
    }

    #[test]
    fn consistent_repeats_stay_quiet() {
        let r = fold_repeats(vec![
            result_with("ok", true, "server=a"),
            result_with("ok", true, "server=b"),
        ]);
        assert!(r.verdict.warnings.is_empty());
        assert_eq!(r.instance.as_deref(), Some("server=a"));
    }

    #[test]
    fn disagreeing_repeats_are_flagged_with_the_failure() {
        let r = fold_repeats(vec![
            result_with("ok", true, "server=a"),
            result_with("acao-missing", false, "server=b"),
            result_with("ok", true, "server=a"),
        ]);
        assert!(!r.verdict.allowed);
        assert_eq!(r.verdict.code, "acao-missing");
        assert_eq!(
            r.verdict.hypothesis,
            Some(Hypothesis::InconsistentInstances)
        );
        let w = &r.verdict.warnings[0];
        assert_eq!(w.code, "inconsistent-instances");
        assert!(w.message.contains("server=a -> ok (x2)"), "{}", w.message);
        assert!(w.message.contains("server=b -> acao-missing (x1)"));
    }

    #[test]
    fn jitter_bounds() {
        let s = ProbeSettings::default();
        assert_eq!(next_delay(&s, 0.0), Duration::from_millis(27_000));
        assert_eq!(next_delay(&s, 1.0), Duration::from_millis(33_000));
        assert_eq!(next_delay(&s, 0.5), Duration::from_millis(30_000));
    }
}
