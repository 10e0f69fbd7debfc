use super::*;
use crate::alerting::Severity;
use crate::analysis::alerts::{Alert, AlertKind, AlertState};
use crate::analysis::status::{self, ProbeInput, SourceInput, StatusInputs};

fn alert(kind: AlertKind, route: &str) -> Alert {
    Alert {
        kind,
        route: route.into(),
        since: 1_000,
        for_ms: 11 * MINUTE,
        value: 0.2,
        message: format!("{route} failing"),
    }
}

#[test]
fn one_signal_per_reason_at_its_worst_severity() {
    let state = AlertState {
        now: 5_000,
        objective: 0.999,
        slis: Vec::new(),
        alerts: vec![
            alert(AlertKind::Slo, "/api/orders"),
            alert(AlertKind::Page, "/api/orders"),
            alert(AlertKind::PagePending, "/api/profile"),
        ],
        critical_routes: Vec::new(),
    };
    // Blocked probes and a source that cannot be read are notified like the badge shows them.
    let status = status::decide(&StatusInputs {
        alerts: Some(&state),
        probes: vec![ProbeInput {
            endpoint: "/api/orders".into(),
            origin: "https://app.example".into(),
            critical: true,
            allowed: false,
            not_judged: false,
        }],
        sources: vec![SourceInput {
            label: "http.log".into(),
            problem: None,
            state: "error: cannot open: Permission denied (os error 13)".into(),
        }],
        supported: None,
    });
    let snap = crate::alerting::snapshot_of_status(&status, 5_000);
    assert_eq!(snap.at, 5_000);
    let keys: Vec<(&str, Severity)> = snap
        .alerts
        .iter()
        .map(|a| (a.key.as_str(), a.severity))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("probes", Severity::Degraded),
            ("route:/api/orders", Severity::Page),
            ("route:/api/profile", Severity::Degraded),
            ("source:http.log", Severity::Degraded),
        ]
    );
    let source = snap.alerts.iter().find(|a| a.key == "source:http.log");
    assert_eq!(
        source.map(|a| a.summary.as_str()),
        Some("http.log: cannot open: Permission denied (os error 13)")
    );
}
