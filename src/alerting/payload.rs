//! Webhook bodies, built from a [`Notification`]. Pure; every free-text field goes through
//! [`crate::model::redact::text`] because alert details quote log lines and headers.

use serde_json::{Value, json};

use super::{Notification, NotificationKind, Severity, Target};
use crate::model::redact;
use crate::model::time::{format_duration, format_rfc3339};

/// Longest summary sent (PagerDuty caps `payload.summary` at 1024 characters).
pub const MAX_SUMMARY_CHARS: usize = 300;
/// Longest detail sent (Slack caps a section's text at 3000 characters).
pub const MAX_DETAIL_CHARS: usize = 2_500;
/// PagerDuty caps `dedup_key` at 255 characters.
const MAX_DEDUP_KEY_CHARS: usize = 255;
pub const PAGERDUTY_SOURCE: &str = "corstop";

/// The body for `target`, or `None` when that target does not take this kind of notification
/// (PagerDuty gets no reminders: it keeps the incident open and de-duplicates by `dedup_key`
/// itself, and its own escalation policy does the re-notifying).
pub fn for_target(target: &Target, n: &Notification) -> Option<Value> {
    match target {
        Target::Slack { .. } => Some(slack(n)),
        Target::Teams { .. } => Some(teams(n)),
        Target::PagerDuty { routing_key, .. } => pagerduty(routing_key, n),
    }
}

/// One line saying what happened, e.g. `[PAGE] still active after 30m: ...`.
pub fn headline(n: &Notification) -> String {
    let summary = clean(&n.summary, MAX_SUMMARY_CHARS);
    let lasted = format_duration(n.at.saturating_sub(n.since));
    match n.kind {
        NotificationKind::Trigger => format!("[{}] {summary}", n.severity.label()),
        NotificationKind::Reminder => {
            format!(
                "[{}] still active after {lasted}: {summary}",
                n.severity.label()
            )
        }
        NotificationKind::Resolve => format!(
            "[RESOLVED] {summary} (was {}, lasted {lasted})",
            n.severity.label()
        ),
    }
}

fn context_line(n: &Notification) -> String {
    format!(
        "corstop · alert {} · since {}",
        clean(&n.key, MAX_SUMMARY_CHARS),
        format_rfc3339(n.since)
    )
}

/// Redacts, then cuts to at most `max` characters (on a character boundary).
fn clean(s: &str, max: usize) -> String {
    let red = redact::text(s);
    match red.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &red[..cut]),
        None => red.into_owned(),
    }
}

/// Slack mrkdwn treats `&`, `<` and `>` as control characters.
fn slack_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Slack incoming webhook: `text` is the notification fallback, `blocks` what is shown.
pub fn slack(n: &Notification) -> Value {
    let head = headline(n);
    let detail = clean(&n.detail, MAX_DETAIL_CHARS);
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": format!("*{}*", slack_escape(&head)) },
    })];
    if !detail.trim().is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": slack_escape(&detail) },
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [ { "type": "mrkdwn", "text": slack_escape(&context_line(n)) } ],
    }));
    json!({ "text": slack_escape(&head), "blocks": blocks })
}

/// Teams workflow ("When a Teams webhook request is received"): a message carrying one
/// Adaptive Card 1.4.
pub fn teams(n: &Notification) -> Value {
    let color = match (n.kind, n.severity) {
        (NotificationKind::Resolve, _) => "Good",
        (_, Severity::Page) => "Attention",
        (_, Severity::Degraded) => "Warning",
    };
    let detail = clean(&n.detail, MAX_DETAIL_CHARS);
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": headline(n),
        "weight": "Bolder",
        "size": "Medium",
        "color": color,
        "wrap": true,
    })];
    if !detail.trim().is_empty() {
        body.push(json!({ "type": "TextBlock", "text": detail, "wrap": true }));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": context_line(n),
        "isSubtle": true,
        "size": "Small",
        "wrap": true,
    }));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

/// The PagerDuty `dedup_key` for an alert key: one PagerDuty alert per corstop alert key, so
/// an escalation re-triggers the same alert and a resolve closes it.
pub fn pagerduty_dedup_key(key: &str) -> String {
    let full = format!("corstop:{}", redact::text(key));
    match full.char_indices().nth(MAX_DEDUP_KEY_CHARS) {
        Some((cut, _)) => full[..cut].to_string(),
        None => full,
    }
}

/// PagerDuty Events API v2. Triggers carry the full payload; resolves carry only the routing
/// and dedup keys, which is all the API reads for them. Reminders are not sent (`None`).
pub fn pagerduty(routing_key: &str, n: &Notification) -> Option<Value> {
    let dedup_key = pagerduty_dedup_key(&n.key);
    match n.kind {
        NotificationKind::Reminder => None,
        NotificationKind::Resolve => Some(json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        })),
        NotificationKind::Trigger => Some(json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": headline(n),
                "source": PAGERDUTY_SOURCE,
                "severity": match n.severity {
                    Severity::Page => "critical",
                    Severity::Degraded => "warning",
                },
                "timestamp": format_rfc3339(n.since),
                "custom_details": {
                    "alert_key": clean(&n.key, MAX_SUMMARY_CHARS),
                    "detail": clean(&n.detail, MAX_DETAIL_CHARS),
                    "since": format_rfc3339(n.since),
                    "notified_at": format_rfc3339(n.at),
                },
            },
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::MINUTE;

    const T0: i64 = 1_780_000_000_000;

    fn note(kind: NotificationKind, severity: Severity) -> Notification {
        Notification {
            kind,
            key: "page:/api/orders".into(),
            severity,
            summary: "/api/orders: 12.5 % cross-origin failures for 14m".into(),
            detail: "OPTIONS 401 from https://app.example <- Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln".into(),
            since: T0 - 14 * MINUTE,
            at: T0,
        }
    }

    fn no_secret(v: &Value) {
        let s = v.to_string();
        assert!(!s.contains("eyJ"), "token leaked: {s}");
    }

    #[test]
    fn headlines() {
        assert_eq!(
            headline(&note(NotificationKind::Trigger, Severity::Page)),
            "[PAGE] /api/orders: 12.5 % cross-origin failures for 14m"
        );
        assert_eq!(
            headline(&note(NotificationKind::Reminder, Severity::Degraded)),
            "[DEGRADED] still active after 14m: /api/orders: 12.5 % cross-origin failures for 14m"
        );
        assert_eq!(
            headline(&note(NotificationKind::Resolve, Severity::Page)),
            "[RESOLVED] /api/orders: 12.5 % cross-origin failures for 14m (was PAGE, lasted 14m)"
        );
    }

    #[test]
    fn slack_shape() {
        let v = slack(&note(NotificationKind::Trigger, Severity::Page));
        assert_eq!(
            v["text"],
            "[PAGE] /api/orders: 12.5 % cross-origin failures for 14m"
        );
        let blocks = v["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[0]["type"], "section");
        assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
        assert_eq!(
            blocks[0]["text"]["text"],
            "*[PAGE] /api/orders: 12.5 % cross-origin failures for 14m*"
        );
        // `<-` would start a Slack link; it is escaped.
        assert_eq!(
            blocks[1]["text"]["text"],
            "OPTIONS 401 from https://app.example &lt;- Authorization: Bearer [redacted]"
        );
        assert_eq!(blocks[2]["type"], "context");
        assert_eq!(
            blocks[2]["elements"][0]["text"],
            "corstop · alert page:/api/orders · since 2026-05-28T20:12:40Z"
        );
        no_secret(&v);
    }

    #[test]
    fn slack_escapes_control_characters_in_the_fallback_too() {
        let mut n = note(NotificationKind::Trigger, Severity::Page);
        n.summary = "<!channel> a & b".into();
        let v = slack(&n);
        assert_eq!(v["text"], "[PAGE] &lt;!channel&gt; a &amp; b");
    }

    #[test]
    fn slack_skips_empty_detail() {
        let mut n = note(NotificationKind::Resolve, Severity::Page);
        n.detail.clear();
        let v = slack(&n);
        assert_eq!(v["blocks"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn teams_shape() {
        let v = teams(&note(NotificationKind::Trigger, Severity::Degraded));
        assert_eq!(v["type"], "message");
        let att = &v["attachments"][0];
        assert_eq!(
            att["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &att["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        let body = card["body"].as_array().unwrap();
        assert_eq!(body.len(), 3);
        assert!(
            body.iter()
                .all(|b| b["type"] == "TextBlock" && b["wrap"] == true)
        );
        assert_eq!(body[0]["color"], "Warning");
        assert_eq!(body[0]["weight"], "Bolder");
        assert!(
            body[1]["text"]
                .as_str()
                .unwrap()
                .ends_with("Bearer [redacted]")
        );
        no_secret(&v);
        let resolved = teams(&note(NotificationKind::Resolve, Severity::Page));
        assert_eq!(
            resolved["attachments"][0]["content"]["body"][0]["color"],
            "Good"
        );
        let page = teams(&note(NotificationKind::Reminder, Severity::Page));
        assert_eq!(
            page["attachments"][0]["content"]["body"][0]["color"],
            "Attention"
        );
    }

    #[test]
    fn pagerduty_shape() {
        let v = pagerduty("RK", &note(NotificationKind::Trigger, Severity::Page)).unwrap();
        assert_eq!(v["routing_key"], "RK");
        assert_eq!(v["event_action"], "trigger");
        assert_eq!(v["dedup_key"], "corstop:page:/api/orders");
        let p = &v["payload"];
        assert_eq!(p["source"], "corstop");
        assert_eq!(p["severity"], "critical");
        assert_eq!(p["timestamp"], "2026-05-28T20:12:40Z");
        assert_eq!(
            p["summary"],
            "[PAGE] /api/orders: 12.5 % cross-origin failures for 14m"
        );
        assert_eq!(p["custom_details"]["alert_key"], "page:/api/orders");
        assert_eq!(p["custom_details"]["notified_at"], "2026-05-28T20:26:40Z");
        no_secret(&v);

        let warn = pagerduty("RK", &note(NotificationKind::Trigger, Severity::Degraded)).unwrap();
        assert_eq!(warn["payload"]["severity"], "warning");

        let res = pagerduty("RK", &note(NotificationKind::Resolve, Severity::Page)).unwrap();
        assert_eq!(
            res,
            json!({"routing_key": "RK", "event_action": "resolve", "dedup_key": "corstop:page:/api/orders"})
        );
        assert!(pagerduty("RK", &note(NotificationKind::Reminder, Severity::Page)).is_none());
    }

    #[test]
    fn long_text_is_cut_on_char_boundaries() {
        let mut n = note(NotificationKind::Trigger, Severity::Page);
        n.summary = "é".repeat(MAX_SUMMARY_CHARS + 50);
        n.detail = "ü".repeat(MAX_DETAIL_CHARS * 2);
        n.key = "k".repeat(400);
        let v = pagerduty("RK", &n).unwrap();
        let summary = v["payload"]["summary"].as_str().unwrap();
        assert_eq!(
            summary.chars().count(),
            "[PAGE] ".len() + MAX_SUMMARY_CHARS + 1
        );
        assert!(summary.ends_with('…'));
        let detail = v["payload"]["custom_details"]["detail"].as_str().unwrap();
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert_eq!(v["dedup_key"].as_str().unwrap().chars().count(), 255);
    }

    #[test]
    fn dispatch_by_target() {
        let n = note(NotificationKind::Reminder, Severity::Page);
        let slack_t = Target::Slack {
            url: "https://x".into(),
        };
        let pd = Target::PagerDuty {
            url: "https://x".into(),
            routing_key: "RK".into(),
        };
        assert!(for_target(&slack_t, &n).is_some());
        assert!(for_target(&pd, &n).is_none());
    }
}
