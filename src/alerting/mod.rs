//! Alert delivery: the terminal bell and webhooks (Slack, Teams workflows, PagerDuty Events v2).
//!
//! The status rule ([`crate::analysis::status`]) is level-triggered: every evaluation hands over
//! each of its reasons active right now as an [`AlertSignal`] ([`snapshot_of_status`]), so what
//! is notified is exactly what the badge shows. [`Notifier`] turns that stream of snapshots into
//! edge-triggered [`Notification`]s (trigger once, remind while active, resolve once), so a
//! webhook sees one message per incident and not one per evaluation. The payload builders in
//! [`payload`] are pure; [`deliver`] runs the notifier in a task and does the HTTP.
//!
//! Configured under `[notify]`:
//!
//! ```toml
//! [notify]
//! bell = true
//! reminder = "30m"          # "0s" turns reminders off
//! resolve-after = "2m"      # absence needed before a resolve is sent
//! slack-webhook = "https://hooks.slack.com/services/..."
//! teams-webhook = "https://....logic.azure.com/workflows/.../invoke?...&sig=..."
//! pagerduty-routing-key = "..."
//! timeout = "5s"
//! ```
//!
//! The bell is not rung here: the UI owns the terminal, so it asks
//! [`Notification::wants_bell`] (or [`DeliveryStatus::take_bell`] when the delivery task runs
//! the notifier) and writes the BEL byte itself between frames.

pub mod deliver;
pub mod payload;

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::model::time::{EpochMs, MINUTE, SECOND};

pub use deliver::{
    AlertSnapshot, DeliveryOptions, DeliveryStatus, DeliveryTotals, NotifyHandle, spawn, spawn_with,
};

/// Most alert keys tracked at once; alerts beyond this are counted and ignored.
pub const MAX_TRACKED_KEYS: usize = 64;
/// Default interval between reminders while an alert stays active.
pub const DEFAULT_REMINDER_MS: EpochMs = 30 * MINUTE;
/// Default time an alert must stay absent before it is resolved (damps flapping).
pub const DEFAULT_RESOLVE_AFTER_MS: EpochMs = 2 * MINUTE;
/// Default per-request timeout for webhooks.
pub const DEFAULT_TIMEOUT_MS: EpochMs = 5 * SECOND;
pub const DEFAULT_PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// How bad an alert is. Ordered: `Page` is more severe than `Degraded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Degraded,
    Page,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Degraded => "DEGRADED",
            Severity::Page => "PAGE",
        }
    }
}

/// The reasons of a status as the notifier takes them: one signal per stable key at its worst
/// level, so DEGRADED → PAGE on the same route is an escalation rather than a second incident.
pub fn snapshot_of_status(
    status: &crate::analysis::status::StatusSummary,
    at: EpochMs,
) -> AlertSnapshot {
    use crate::analysis::status::Status;
    let mut by_key: BTreeMap<&str, AlertSignal> = BTreeMap::new();
    for r in &status.reasons {
        let severity = match r.level {
            Status::Page => Severity::Page,
            Status::Degraded => Severity::Degraded,
            Status::Ok => continue,
        };
        let signal = AlertSignal {
            key: r.key.clone(),
            severity,
            summary: r.text.clone(),
            detail: match r.for_ms {
                Some(f) => format!(
                    "{} for {}: {}",
                    severity.label(),
                    crate::model::time::format_duration(f),
                    r.text
                ),
                None => format!("{}: {}", severity.label(), r.text),
            },
            since: r.since.unwrap_or(at),
        };
        match by_key.get(r.key.as_str()) {
            Some(existing) if existing.severity >= severity => {}
            _ => {
                by_key.insert(&r.key, signal);
            }
        }
    }
    AlertSnapshot {
        at,
        alerts: by_key.into_values().collect(),
    }
}

/// One alert active at evaluation time, as the status rule reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertSignal {
    /// Stable identity across evaluations, e.g. `page:/api/orders`. Severity changes for the
    /// same key are escalations, not new alerts.
    pub key: String,
    pub severity: Severity,
    /// One line: what is wrong.
    pub summary: String,
    /// A few lines of evidence.
    pub detail: String,
    /// When the condition started, as the evaluation measured it.
    pub since: EpochMs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// The key became active, or escalated to a higher severity.
    Trigger,
    /// Still active after another reminder interval.
    Reminder,
    /// No longer active.
    Resolve,
}

/// One message to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub kind: NotificationKind,
    pub key: String,
    /// Current severity (for a resolve: the last severity seen while active).
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    /// When the condition started.
    pub since: EpochMs,
    /// When this notification was produced.
    pub at: EpochMs,
}

impl Notification {
    /// Whether the UI should ring the terminal bell for this notification (when `bell` is on):
    /// every trigger, and reminders of paging alerts. Resolves stay quiet.
    pub fn wants_bell(&self) -> bool {
        match self.kind {
            NotificationKind::Trigger => true,
            NotificationKind::Reminder => self.severity == Severity::Page,
            NotificationKind::Resolve => false,
        }
    }
}

/// Timing of the [`Notifier`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifierConfig {
    /// Interval between reminders; `None` disables them.
    pub reminder_ms: Option<EpochMs>,
    /// How long a key must stay absent before it is resolved. A key that comes back sooner
    /// continues the same incident without any message.
    pub resolve_after_ms: EpochMs,
    pub max_keys: usize,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            reminder_ms: Some(DEFAULT_REMINDER_MS),
            resolve_after_ms: DEFAULT_RESOLVE_AFTER_MS,
            max_keys: MAX_TRACKED_KEYS,
        }
    }
}

#[derive(Clone, Debug)]
struct Tracked {
    /// Severity last seen while active.
    severity: Severity,
    /// Highest severity announced by a trigger in this incident; escalation compares to it,
    /// so flapping between Page and Degraded triggers at most once.
    announced: Severity,
    summary: String,
    detail: String,
    since: EpochMs,
    /// Last trigger or reminder sent.
    last_sent: EpochMs,
    /// Set while the key is missing from evaluations but not yet resolved.
    absent_since: Option<EpochMs>,
}

/// Turns level snapshots of active alerts into trigger / reminder / resolve edges.
#[derive(Debug)]
pub struct Notifier {
    cfg: NotifierConfig,
    tracked: BTreeMap<String, Tracked>,
    ignored_keys: u64,
}

impl Notifier {
    pub fn new(cfg: NotifierConfig) -> Self {
        Notifier {
            cfg,
            tracked: BTreeMap::new(),
            ignored_keys: 0,
        }
    }

    /// Number of keys currently tracked (active or waiting to resolve).
    pub fn tracked(&self) -> usize {
        self.tracked.len()
    }

    /// New alerts that were not tracked because [`NotifierConfig::max_keys`] was reached.
    pub fn ignored_keys(&self) -> u64 {
        self.ignored_keys
    }

    /// Feeds the alerts active at `now` and returns what to send. Output order: resolves,
    /// then triggers, then reminders, each sorted by key, so deliveries are deterministic.
    pub fn update(&mut self, now: EpochMs, active: &[AlertSignal]) -> Vec<Notification> {
        // Collapse duplicate keys to their most severe signal.
        let mut current: BTreeMap<&str, &AlertSignal> = BTreeMap::new();
        for s in active {
            current
                .entry(s.key.as_str())
                .and_modify(|prev| {
                    if s.severity > prev.severity {
                        *prev = s;
                    }
                })
                .or_insert(s);
        }

        let mut resolves = Vec::new();
        let mut triggers = Vec::new();
        let mut reminders = Vec::new();

        // Keys that went missing: start or finish their hold-down.
        let resolve_after = self.cfg.resolve_after_ms.max(0);
        let mut finished = Vec::new();
        for (key, t) in &mut self.tracked {
            if current.contains_key(key.as_str()) {
                continue;
            }
            let gone_at = *t.absent_since.get_or_insert(now);
            if now.saturating_sub(gone_at) >= resolve_after {
                finished.push(key.clone());
            }
        }
        for key in finished {
            if let Some(t) = self.tracked.remove(&key) {
                resolves.push(resolve_of(key, t, now));
            }
        }

        // New keys, most severe first, so a full table keeps the pages.
        let mut fresh: Vec<&AlertSignal> = current
            .values()
            .filter(|s| !self.tracked.contains_key(&s.key))
            .copied()
            .collect();
        fresh.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.key.cmp(&b.key)));

        for (key, s) in &current {
            let Some(t) = self.tracked.get_mut(*key) else {
                continue;
            };
            t.absent_since = None;
            t.severity = s.severity;
            t.summary.clone_from(&s.summary);
            t.detail.clone_from(&s.detail);
            if s.severity > t.announced {
                t.announced = s.severity;
                t.last_sent = now;
                triggers.push(notification(NotificationKind::Trigger, key, t, now));
            } else if let Some(every) = self.cfg.reminder_ms.filter(|&r| r > 0)
                && now.saturating_sub(t.last_sent) >= every
            {
                // Counted from now rather than from the due time: after a stall, one reminder,
                // not a burst of catch-up reminders.
                t.last_sent = now;
                reminders.push(notification(NotificationKind::Reminder, key, t, now));
            }
        }

        for s in fresh {
            if self.tracked.len() >= self.cfg.max_keys && !self.evict_one_absent(now, &mut resolves)
            {
                self.ignored_keys += 1;
                tracing::debug!(key = %s.key, "alert table full; alert not tracked");
                continue;
            }
            let t = Tracked {
                severity: s.severity,
                announced: s.severity,
                summary: s.summary.clone(),
                detail: s.detail.clone(),
                since: s.since,
                last_sent: now,
                absent_since: None,
            };
            triggers.push(notification(NotificationKind::Trigger, &s.key, &t, now));
            self.tracked.insert(s.key.clone(), t);
        }

        triggers.sort_by(|a, b| a.key.cmp(&b.key));
        let mut out = resolves;
        out.extend(triggers);
        out.extend(reminders);
        out
    }

    /// Frees a slot by resolving early the key that has been absent longest.
    fn evict_one_absent(&mut self, now: EpochMs, resolves: &mut Vec<Notification>) -> bool {
        let oldest = self
            .tracked
            .iter()
            .filter_map(|(k, t)| t.absent_since.map(|a| (a, k.clone())))
            .min();
        match oldest.and_then(|(_, k)| self.tracked.remove_entry(&k)) {
            Some((key, t)) => {
                resolves.push(resolve_of(key, t, now));
                true
            }
            None => false,
        }
    }
}

fn notification(kind: NotificationKind, key: &str, t: &Tracked, now: EpochMs) -> Notification {
    Notification {
        kind,
        key: key.to_string(),
        severity: t.severity,
        summary: t.summary.clone(),
        detail: t.detail.clone(),
        since: t.since,
        at: now,
    }
}

fn resolve_of(key: String, t: Tracked, now: EpochMs) -> Notification {
    Notification {
        kind: NotificationKind::Resolve,
        key,
        severity: t.severity,
        summary: t.summary,
        detail: t.detail,
        since: t.since,
        at: now,
    }
}

/// The `[notify]` section of the config file. Everything is off unless set.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NotifySettings {
    /// Ring the terminal bell on triggers (and on reminders of paging alerts).
    #[serde(default)]
    pub bell: bool,
    /// Reminder interval while an alert stays active (default 30m; "0s" disables reminders).
    #[serde(default, deserialize_with = "duration_text")]
    pub reminder: Option<EpochMs>,
    /// How long an alert must stay absent before it is resolved (default 2m).
    #[serde(default, deserialize_with = "duration_text")]
    pub resolve_after: Option<EpochMs>,
    /// Slack incoming-webhook URL.
    pub slack_webhook: Option<String>,
    /// Teams workflow URL ("When a Teams webhook request is received"); gets an Adaptive Card.
    pub teams_webhook: Option<String>,
    /// PagerDuty Events v2 integration (routing) key.
    pub pagerduty_routing_key: Option<String>,
    /// Events v2 endpoint (default `https://events.pagerduty.com/v2/enqueue`).
    pub pagerduty_url: Option<String>,
    /// Per-request timeout (default 5s).
    #[serde(default, deserialize_with = "duration_text")]
    pub timeout: Option<EpochMs>,
}

fn duration_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<EpochMs>, D::Error> {
    crate::model::time::DurationSetting::deserialize(d).map(|t| Some(t.0))
}

// Webhook URLs and the routing key are credentials: Debug shows only where they point.
impl fmt::Debug for NotifySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |u: &Option<String>| u.as_deref().map(url_for_logs);
        f.debug_struct("NotifySettings")
            .field("bell", &self.bell)
            .field("reminder", &self.reminder)
            .field("resolve_after", &self.resolve_after)
            .field("slack_webhook", &url(&self.slack_webhook))
            .field("teams_webhook", &url(&self.teams_webhook))
            .field(
                "pagerduty_routing_key",
                &self
                    .pagerduty_routing_key
                    .as_ref()
                    .map(|_| crate::model::redact::REDACTED),
            )
            .field("pagerduty_url", &url(&self.pagerduty_url))
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotifyError {
    #[error("notify.{key}: {message}")]
    Invalid { key: &'static str, message: String },
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
}

/// Where webhooks go, validated.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    Slack { url: String },
    Teams { url: String },
    PagerDuty { url: String, routing_key: String },
}

impl Target {
    pub fn name(&self) -> &'static str {
        match self {
            Target::Slack { .. } => "slack",
            Target::Teams { .. } => "teams",
            Target::PagerDuty { .. } => "pagerduty",
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Target::Slack { url } | Target::Teams { url } | Target::PagerDuty { url, .. } => url,
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), url_for_logs(self.url()))
    }
}

impl NotifySettings {
    /// Whether anything at all is switched on.
    pub fn enabled(&self) -> bool {
        self.bell
            || self.slack_webhook.is_some()
            || self.teams_webhook.is_some()
            || self.pagerduty_routing_key.is_some()
    }

    pub fn notifier_config(&self) -> NotifierConfig {
        NotifierConfig {
            reminder_ms: match self.reminder {
                Some(0) => None,
                Some(ms) => Some(ms),
                None => Some(DEFAULT_REMINDER_MS),
            },
            resolve_after_ms: self.resolve_after.unwrap_or(DEFAULT_RESOLVE_AFTER_MS),
            max_keys: MAX_TRACKED_KEYS,
        }
    }

    pub fn timeout_ms(&self) -> EpochMs {
        match self.timeout {
            Some(ms) if ms > 0 => ms,
            _ => DEFAULT_TIMEOUT_MS,
        }
    }

    /// Validates the URLs and returns the configured webhook targets. Plain `http` is accepted
    /// only for loopback hosts: these URLs carry their secret in the path or query.
    pub fn targets(&self) -> Result<Vec<Target>, NotifyError> {
        let mut out = Vec::new();
        if let Some(url) = &self.slack_webhook {
            check_url("slack-webhook", url)?;
            out.push(Target::Slack { url: url.clone() });
        }
        if let Some(url) = &self.teams_webhook {
            check_url("teams-webhook", url)?;
            out.push(Target::Teams { url: url.clone() });
        }
        match (&self.pagerduty_routing_key, &self.pagerduty_url) {
            (Some(key), url) => {
                if key.trim().is_empty() || key.chars().any(char::is_control) {
                    return Err(NotifyError::Invalid {
                        key: "pagerduty-routing-key",
                        message: "must be a non-empty integration key".into(),
                    });
                }
                let url = url.as_deref().unwrap_or(DEFAULT_PAGERDUTY_URL);
                check_url("pagerduty-url", url)?;
                out.push(Target::PagerDuty {
                    url: url.to_string(),
                    routing_key: key.trim().to_string(),
                });
            }
            (None, Some(_)) => {
                return Err(NotifyError::Invalid {
                    key: "pagerduty-url",
                    message: "set pagerduty-routing-key as well".into(),
                });
            }
            (None, None) => {}
        }
        Ok(out)
    }
}

fn check_url(key: &'static str, url: &str) -> Result<(), NotifyError> {
    let invalid = |message: String| NotifyError::Invalid { key, message };
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| invalid(format!("not a URL ({e}): {}", url_for_logs(url))))?;
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Err(invalid("URL has no host".into()));
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(invalid(format!(
            "plain http would send the webhook secret in clear; use https ({})",
            url_for_logs(url)
        ))),
        other => Err(invalid(format!("unsupported scheme `{other}`"))),
    }
}

/// Scheme, host and port of a URL, for logs: webhook paths and queries are secrets.
pub fn url_for_logs(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("?");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "(unparsable url)".to_string(),
    }
}

#[cfg(test)]
mod tests;
