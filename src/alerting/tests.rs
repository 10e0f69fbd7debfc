use super::*;

const T0: EpochMs = 1_780_000_000_000;

fn sig(key: &str, severity: Severity) -> AlertSignal {
    AlertSignal {
        key: key.into(),
        severity,
        summary: format!("{key} failing"),
        detail: "detail".into(),
        since: T0 - 10 * MINUTE,
    }
}

fn cfg(reminder: Option<EpochMs>, resolve_after: EpochMs) -> NotifierConfig {
    NotifierConfig {
        reminder_ms: reminder,
        resolve_after_ms: resolve_after,
        max_keys: 4,
    }
}

fn kinds(out: &[Notification]) -> Vec<(NotificationKind, String, Severity)> {
    out.iter()
        .map(|n| (n.kind, n.key.clone(), n.severity))
        .collect()
}

use NotificationKind::{Reminder, Resolve, Trigger};
use Severity::{Degraded, Page};

/// Each step: minutes after T0, active keys with severities, expected output.
type Step<'a> = (
    i64,
    &'a [(&'a str, Severity)],
    &'a [(NotificationKind, &'a str, Severity)],
);

fn run(c: NotifierConfig, steps: &[Step]) {
    let mut n = Notifier::new(c);
    for (i, (min, active, want)) in steps.iter().enumerate() {
        let signals: Vec<AlertSignal> = active.iter().map(|(k, s)| sig(k, *s)).collect();
        let got = n.update(T0 + min * MINUTE, &signals);
        let want: Vec<_> = want
            .iter()
            .map(|(k, key, s)| (*k, key.to_string(), *s))
            .collect();
        assert_eq!(kinds(&got), want, "step {i} at +{min}m");
    }
}

#[test]
fn triggers_once_while_active() {
    let a: &[(&str, Severity)] = &[("page:/api/orders", Page)];
    run(
        cfg(None, 0),
        &[
            (0, a, &[(Trigger, "page:/api/orders", Page)]),
            (1, a, &[]),
            (2, a, &[]),
            (90, a, &[]),
        ],
    );
}

#[test]
fn reminders_every_interval_while_active() {
    let a: &[(&str, Severity)] = &[("k", Page)];
    run(
        cfg(Some(30 * MINUTE), 0),
        &[
            (0, a, &[(Trigger, "k", Page)]),
            (29, a, &[]),
            (30, a, &[(Reminder, "k", Page)]),
            (31, a, &[]),
            (59, a, &[]),
            (60, a, &[(Reminder, "k", Page)]),
            // A stalled evaluation yields one reminder, not a catch-up burst.
            (200, a, &[(Reminder, "k", Page)]),
            (201, a, &[]),
        ],
    );
}

#[test]
fn resolves_once_when_gone() {
    let a: &[(&str, Severity)] = &[("k", Degraded)];
    run(
        cfg(Some(30 * MINUTE), 0),
        &[
            (0, a, &[(Trigger, "k", Degraded)]),
            (5, &[], &[(Resolve, "k", Degraded)]),
            (6, &[], &[]),
            (40, &[], &[]),
        ],
    );
}

#[test]
fn escalation_triggers_again_and_deescalation_is_quiet() {
    run(
        cfg(Some(30 * MINUTE), 0),
        &[
            (0, &[("k", Degraded)], &[(Trigger, "k", Degraded)]),
            (5, &[("k", Page)], &[(Trigger, "k", Page)]),
            (6, &[("k", Page)], &[]),
            (7, &[("k", Degraded)], &[]),
            // Back to Page within the same incident: already announced.
            (8, &[("k", Page)], &[]),
            // The reminder clock restarted at the escalation (+5m).
            (34, &[("k", Page)], &[]),
            (35, &[("k", Page)], &[(Reminder, "k", Page)]),
            (36, &[], &[(Resolve, "k", Page)]),
            (37, &[("k", Degraded)], &[(Trigger, "k", Degraded)]),
        ],
    );
}

#[test]
fn flapping_inside_the_hold_down_is_one_incident() {
    let a: &[(&str, Severity)] = &[("k", Page)];
    run(
        cfg(None, 2 * MINUTE),
        &[
            (0, a, &[(Trigger, "k", Page)]),
            (1, &[], &[]),
            (2, a, &[]),
            (3, &[], &[]),
            (4, a, &[]),
            (5, &[], &[]),
            (6, &[], &[]),
            (7, &[], &[(Resolve, "k", Page)]),
            (8, a, &[(Trigger, "k", Page)]),
        ],
    );
}

#[test]
fn flapping_without_hold_down_pairs_every_edge() {
    let a: &[(&str, Severity)] = &[("k", Page)];
    run(
        cfg(None, 0),
        &[
            (0, a, &[(Trigger, "k", Page)]),
            (1, &[], &[(Resolve, "k", Page)]),
            (2, a, &[(Trigger, "k", Page)]),
            (3, &[], &[(Resolve, "k", Page)]),
        ],
    );
}

#[test]
fn several_keys_are_independent_and_ordered() {
    run(
        cfg(None, 0),
        &[
            (
                0,
                &[("b", Degraded), ("a", Page)],
                &[(Trigger, "a", Page), (Trigger, "b", Degraded)],
            ),
            (
                1,
                &[("b", Degraded), ("c", Page)],
                &[(Resolve, "a", Page), (Trigger, "c", Page)],
            ),
            // Duplicate key in one snapshot: the most severe wins.
            (
                2,
                &[("b", Page), ("b", Degraded), ("c", Page)],
                &[(Trigger, "b", Page)],
            ),
        ],
    );
}

#[test]
fn table_is_bounded_and_keeps_pages() {
    let mut n = Notifier::new(cfg(None, 5 * MINUTE));
    let many: Vec<AlertSignal> = (0..6)
        .map(|i| sig(&format!("d{i}"), Degraded))
        .chain([sig("p", Page)])
        .collect();
    let out = n.update(T0, &many);
    assert_eq!(n.tracked(), 4);
    assert_eq!(n.ignored_keys(), 3);
    assert!(out.iter().any(|x| x.key == "p" && x.kind == Trigger));
    // An absent key waiting for its hold-down gives its slot to a new alert.
    let mut still: Vec<AlertSignal> = ["p", "d1", "d2"]
        .iter()
        .map(|k| sig(k, if *k == "p" { Page } else { Degraded }))
        .collect();
    assert!(n.update(T0 + MINUTE, &still).is_empty());
    still.push(sig("q", Page));
    let out = n.update(T0 + 2 * MINUTE, &still);
    assert_eq!(
        kinds(&out),
        vec![
            (Resolve, "d0".to_string(), Degraded),
            (Trigger, "q".to_string(), Page)
        ]
    );
    assert_eq!(n.tracked(), 4);
}

#[test]
fn latest_text_is_carried_into_reminders_and_resolves() {
    let mut n = Notifier::new(cfg(Some(MINUTE), 0));
    let mut s = sig("k", Page);
    n.update(T0, std::slice::from_ref(&s));
    s.summary = "now 40 % failing".into();
    let out = n.update(T0 + MINUTE, std::slice::from_ref(&s));
    assert_eq!(out[0].summary, "now 40 % failing");
    let out = n.update(T0 + 2 * MINUTE, &[]);
    assert_eq!(out[0].kind, Resolve);
    assert_eq!(out[0].summary, "now 40 % failing");
    assert_eq!(out[0].since, T0 - 10 * MINUTE);
    assert_eq!(out[0].at, T0 + 2 * MINUTE);
}

#[test]
fn bell_wishes() {
    let mut n = Notifier::new(cfg(Some(MINUTE), 0));
    let d = n.update(T0, &[sig("d", Degraded)]);
    assert!(d[0].wants_bell());
    let r = n.update(T0 + MINUTE, &[sig("d", Degraded)]);
    assert_eq!(r[0].kind, Reminder);
    assert!(!r[0].wants_bell());
    let p = n.update(T0 + 2 * MINUTE, &[sig("d", Page)]);
    assert!(p[0].wants_bell());
    let r = n.update(T0 + 3 * MINUTE, &[sig("d", Page)]);
    assert!(r[0].wants_bell());
    let gone = n.update(T0 + 4 * MINUTE, &[]);
    assert!(!gone[0].wants_bell());
}

#[test]
fn settings_parse_and_validate() {
    let s: NotifySettings = toml::from_str(
            r#"
            bell = true
            reminder = "15m"
            slack-webhook = "https://hooks.slack.com/services/T000/B000/XXXX"
            teams-webhook = "https://prod.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=s3cr3t"
            pagerduty-routing-key = "R0UTINGKEY"
            timeout = "3s"
            "#,
        )
        .unwrap();
    assert!(s.bell && s.enabled());
    assert_eq!(s.notifier_config().reminder_ms, Some(15 * MINUTE));
    assert_eq!(s.timeout_ms(), 3 * SECOND);
    let t = s.targets().unwrap();
    assert_eq!(t.len(), 3);
    assert_eq!(t[2].url(), DEFAULT_PAGERDUTY_URL);
    let shown = format!("{s:?} {t:?}");
    for secret in ["XXXX", "s3cr3t", "R0UTINGKEY", "workflows", "services"] {
        assert!(!shown.contains(secret), "{secret} leaked in {shown}");
    }

    let off: NotifySettings = toml::from_str("").unwrap();
    assert!(!off.enabled());
    assert_eq!(off.notifier_config(), NotifierConfig::default());
    assert_eq!(off.timeout_ms(), DEFAULT_TIMEOUT_MS);
    assert!(off.targets().unwrap().is_empty());

    let no_reminders: NotifySettings = toml::from_str(r#"reminder = "0s""#).unwrap();
    assert_eq!(no_reminders.notifier_config().reminder_ms, None);

    assert!(toml::from_str::<NotifySettings>(r#"reminder = "soon""#).is_err());
    assert!(toml::from_str::<NotifySettings>(r#"slack = "x""#).is_err());
}

#[test]
fn insecure_or_broken_urls_are_rejected() {
    let with = |slack: &str| NotifySettings {
        slack_webhook: Some(slack.into()),
        ..Default::default()
    };
    assert!(with("http://127.0.0.1:9000/hook").targets().is_ok());
    assert!(with("http://localhost/hook").targets().is_ok());
    assert!(with("http://hooks.slack.com/services/x").targets().is_err());
    assert!(with("ftp://hooks.slack.com/x").targets().is_err());
    assert!(with("not a url").targets().is_err());
    let pd_url_only = NotifySettings {
        pagerduty_url: Some("https://events.pagerduty.com/v2/enqueue".into()),
        ..Default::default()
    };
    assert!(pd_url_only.targets().is_err());
    let pd_blank = NotifySettings {
        pagerduty_routing_key: Some("  ".into()),
        ..Default::default()
    };
    assert!(pd_blank.targets().is_err());
}

#[test]
fn log_urls_keep_only_scheme_and_host() {
    assert_eq!(
        url_for_logs("https://hooks.slack.com/services/T/B/secret"),
        "https://hooks.slack.com"
    );
    assert_eq!(
        url_for_logs("http://127.0.0.1:4567/x?sig=abc"),
        "http://127.0.0.1:4567"
    );
    assert_eq!(url_for_logs("::"), "(unparsable url)");
}
