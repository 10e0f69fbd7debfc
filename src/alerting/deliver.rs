//! The delivery task: runs the [`Notifier`] over alert snapshots and POSTs the payloads.
//!
//! Each webhook target has its own worker and bounded queue, so a hanging Slack endpoint
//! delays neither PagerDuty nor the next evaluation; order is kept per target (a resolve never
//! overtakes its trigger). When a queue is full the notification is dropped and counted rather
//! than waited for.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{
    AlertSignal, Notification, NotificationKind, Notifier, NotifyError, NotifySettings, Target,
    payload, url_for_logs,
};
use crate::model::redact;
use crate::model::time::EpochMs;

/// The alerts active at one evaluation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertSnapshot {
    /// Evaluation time (the store's notion of now, so event-time replays behave the same).
    pub at: EpochMs,
    pub alerts: Vec<AlertSignal>,
}

/// Retries and queueing of webhook deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// Tries per notification, the first included.
    pub attempts: u32,
    pub first_backoff: Duration,
    /// Cap for the doubling backoff and for a server's `Retry-After`.
    pub max_backoff: Duration,
    /// Notifications waiting per target before new ones are dropped.
    pub queue: usize,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            attempts: 3,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            queue: 32,
        }
    }
}

/// Shared counters of the delivery task, for the status line and `--debug` output.
#[derive(Debug, Default)]
pub struct DeliveryStatus {
    delivered: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
    dropped: AtomicU64,
    skipped: AtomicU64,
    bell: AtomicBool,
    last_error: Mutex<Option<String>>,
}

/// A copy of the [`DeliveryStatus`] counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryTotals {
    /// Webhook posts answered 2xx.
    pub delivered: u64,
    /// Notifications given up on after the last attempt or a non-retryable answer.
    pub failed: u64,
    /// Extra attempts made.
    pub retries: u64,
    /// Notifications dropped because a target's queue was full.
    pub dropped: u64,
    /// Alerts not tracked because the alert table was full.
    pub untracked_alerts: u64,
    /// Last failure, as `target (scheme://host): reason`; never contains the webhook secret.
    pub last_error: Option<String>,
}

impl DeliveryStatus {
    /// True once per bell request since the last call: the UI rings the terminal bell when it
    /// sees true (only requested when `bell = true`).
    pub fn take_bell(&self) -> bool {
        self.bell.swap(false, Ordering::Relaxed)
    }

    pub fn totals(&self) -> DeliveryTotals {
        DeliveryTotals {
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            untracked_alerts: self.skipped.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    fn fail(&self, message: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(message);
        }
    }
}

/// The running delivery task.
#[derive(Debug)]
pub struct NotifyHandle {
    /// Ends after the snapshot sender is dropped and every queued notification is delivered
    /// or given up on. Alerts still active then are left open (shutting down resolves nothing).
    pub task: JoinHandle<()>,
    pub status: Arc<DeliveryStatus>,
}

/// Starts the delivery task with default retries. Must be called inside a Tokio runtime.
///
/// The evaluation loop should hand snapshots over with `try_send` on a small channel: a full
/// channel means the task is behind, and the next snapshot carries the full state anyway.
pub fn spawn(
    settings: &NotifySettings,
    rx: mpsc::Receiver<AlertSnapshot>,
) -> Result<NotifyHandle, NotifyError> {
    spawn_with(settings, DeliveryOptions::default(), rx)
}

/// [`spawn`] with explicit retry and queue options.
pub fn spawn_with(
    settings: &NotifySettings,
    options: DeliveryOptions,
    rx: mpsc::Receiver<AlertSnapshot>,
) -> Result<NotifyHandle, NotifyError> {
    let targets = settings.targets()?;
    let timeout = Duration::from_millis(settings.timeout_ms().max(1) as u64);
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // Webhook endpoints answer directly; following a redirect would forward the body
        // (and any secret in it) to wherever it points.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("corstop/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| NotifyError::Client(e.without_url().to_string()))?;

    let status = Arc::new(DeliveryStatus::default());
    let mut queues = Vec::with_capacity(targets.len());
    let mut workers = Vec::with_capacity(targets.len());
    for target in targets {
        let (tx, wrx) = mpsc::channel::<Job>(options.queue.max(1));
        workers.push(tokio::spawn(worker(
            client.clone(),
            target.clone(),
            wrx,
            options,
            status.clone(),
        )));
        queues.push((target, tx));
    }
    let notifier = Notifier::new(settings.notifier_config());
    let task = tokio::spawn(run(
        notifier,
        settings.bell,
        rx,
        queues,
        workers,
        status.clone(),
    ));
    Ok(NotifyHandle { task, status })
}

struct Job {
    kind: NotificationKind,
    key: String,
    body: Value,
}

async fn run(
    mut notifier: Notifier,
    bell: bool,
    mut rx: mpsc::Receiver<AlertSnapshot>,
    queues: Vec<(Target, mpsc::Sender<Job>)>,
    workers: Vec<JoinHandle<()>>,
    status: Arc<DeliveryStatus>,
) {
    while let Some(snapshot) = rx.recv().await {
        let out = notifier.update(snapshot.at, &snapshot.alerts);
        status
            .skipped
            .store(notifier.ignored_keys(), Ordering::Relaxed);
        for n in out {
            dispatch(&n, bell, &queues, &status);
        }
    }
    drop(queues);
    for w in workers {
        if let Err(e) = w.await {
            tracing::warn!(error = %e, "webhook worker ended abnormally");
        }
    }
}

fn dispatch(
    n: &Notification,
    bell: bool,
    queues: &[(Target, mpsc::Sender<Job>)],
    status: &DeliveryStatus,
) {
    let key = redact::text(&n.key).into_owned();
    tracing::info!(kind = ?n.kind, key = %key, severity = n.severity.label(), "alert notification");
    if bell && n.wants_bell() {
        status.bell.store(true, Ordering::Relaxed);
    }
    for (target, tx) in queues {
        let Some(body) = payload::for_target(target, n) else {
            continue;
        };
        let job = Job {
            kind: n.kind,
            key: key.clone(),
            body,
        };
        if tx.try_send(job).is_err() {
            status.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                target = target.name(),
                key = %key,
                "webhook queue full or closed; notification dropped"
            );
        }
    }
}

async fn worker(
    client: reqwest::Client,
    target: Target,
    mut rx: mpsc::Receiver<Job>,
    options: DeliveryOptions,
    status: Arc<DeliveryStatus>,
) {
    let host = url_for_logs(target.url());
    while let Some(job) = rx.recv().await {
        deliver(&client, &target, &host, &job, &options, &status).await;
    }
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    GiveUp(String),
}

async fn deliver(
    client: &reqwest::Client,
    target: &Target,
    host: &str,
    job: &Job,
    options: &DeliveryOptions,
    status: &DeliveryStatus,
) {
    let body = match serde_json::to_vec(&job.body) {
        Ok(b) => b,
        Err(e) => {
            status.fail(format!(
                "{} ({host}): cannot encode payload: {e}",
                target.name()
            ));
            return;
        }
    };
    let attempts = options.attempts.max(1);
    let mut backoff = options.first_backoff;
    for attempt in 1..=attempts {
        let result = client
            .post(target.url())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        let outcome = match result {
            Ok(resp) if resp.status().is_success() => Attempt::Delivered,
            Ok(resp) => judge_status(resp).await,
            // Connect failures and timeouts are usually passing; worth another try.
            Err(e) => Attempt::Retry {
                reason: error_chain(&e.without_url()),
                after: None,
            },
        };
        match outcome {
            Attempt::Delivered => {
                status.delivered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(target = target.name(), host, kind = ?job.kind, key = %job.key, attempt, "webhook delivered");
                return;
            }
            Attempt::Retry { reason, after } if attempt < attempts => {
                status.retries.fetch_add(1, Ordering::Relaxed);
                let wait = after
                    .unwrap_or_else(|| jitter(backoff))
                    .min(options.max_backoff);
                tracing::info!(target = target.name(), host, attempt, reason = %reason, wait_ms = wait.as_millis() as u64, "webhook failed; retrying");
                tokio::time::sleep(wait).await;
                backoff = backoff.saturating_mul(2).min(options.max_backoff);
            }
            Attempt::Retry { reason, .. } | Attempt::GiveUp(reason) => {
                tracing::warn!(target = target.name(), host, kind = ?job.kind, key = %job.key, attempt, reason = %reason, "webhook delivery failed");
                status.fail(format!("{} ({host}): {reason}", target.name()));
                return;
            }
        }
    }
}

/// Longest piece of an error response body kept for the log (Slack explains rejections there).
const ERROR_BODY_CHARS: usize = 200;

async fn judge_status(mut resp: reqwest::Response) -> Attempt {
    let code = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    // Only the first chunk: enough for an error message, bounded whatever the server sends.
    let snippet = match resp.chunk().await {
        Ok(Some(bytes)) => {
            let text = String::from_utf8_lossy(&bytes);
            let cut: String = text.chars().take(ERROR_BODY_CHARS).collect();
            redact::text(cut.trim()).into_owned()
        }
        _ => String::new(),
    };
    let reason = if snippet.is_empty() {
        format!("HTTP {code}")
    } else {
        format!("HTTP {code}: {snippet}")
    };
    if code.is_server_error() || code.as_u16() == 429 || code.as_u16() == 408 {
        Attempt::Retry {
            reason,
            after: retry_after,
        }
    } else {
        Attempt::GiveUp(reason)
    }
}

/// The error and its causes on one line ("error sending request: operation timed out").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let s = src.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = src.source();
    }
    redact::text(&out).into_owned()
}

/// Up to +25 % so several corstop instances do not retry in lockstep.
fn jitter(d: Duration) -> Duration {
    let extra = d.as_millis() as u64 / 4;
    if extra == 0 {
        return d;
    }
    d + Duration::from_millis(fastrand::u64(0..=extra))
}
