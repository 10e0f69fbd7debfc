//! The Prometheus rules and Alertmanager configuration in `deploy/`, checked by the real tools:
//! `promtool check rules`, the rules' unit tests (`promtool test rules`), `promtool check
//! config`, `amtool check-config` and amtool's routing test; the shipped recording rules on
//! agents' metrics scraped by a real Prometheus; the shipped inhibition in a running
//! Alertmanager; and the test harness itself (`common::prometheus`), with a Prometheus
//! scraping its own /metrics and an alert reaching a loopback webhook through Alertmanager.
//!
//! Skipped, saying so, when the tools are not installed; with `CORSTOP_REQUIRE_PROMETHEUS=1`
//! (set by `.ci/run` once it has installed them) their absence fails instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::common::prometheus::{
    self as prom, AlertInfo, Alertmanager, Prometheus, PrometheusSetup, SELF, Target, Webhook,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files in `dir` whose name ends with `suffix`, sorted.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    v.sort();
    v
}

fn rule_files() -> Vec<PathBuf> {
    let v = files(&repo().join("deploy/prometheus"), ".rules.yml");
    assert!(v.len() >= 2, "rule files in deploy/prometheus: {v:?}");
    v
}

/// Runs a tool from the repository root; fails the test with its output unless it succeeds.
fn run(tool: &Path, args: &[&str], files: &[PathBuf]) -> String {
    let out = Command::new(tool)
        .args(args)
        .args(files)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{} {} failed ({}):\n{text}",
        tool.display(),
        args.join(" "),
        out.status
    );
    text
}

#[test]
fn shipped_rules_and_configs_pass_promtool_and_amtool() {
    let (promtool, amtool) = (prom::promtool_bin(), prom::amtool_bin());
    if !prom::available(
        "shipped_rules_and_configs_pass_promtool_and_amtool",
        &[("promtool", promtool.clone()), ("amtool", amtool.clone())],
    ) {
        return;
    }
    let (promtool, amtool) = (promtool.unwrap(), amtool.unwrap());
    let rules = rule_files();
    let out = run(&promtool, &["check", "rules"], &rules);
    assert_eq!(out.matches("SUCCESS").count(), rules.len(), "{out}");

    let tests = files(&repo().join("deploy/prometheus/tests"), ".yml");
    assert!(
        !tests.is_empty(),
        "no rule tests in deploy/prometheus/tests"
    );
    let out = run(&promtool, &["test", "rules"], &tests);
    assert_eq!(out.matches("SUCCESS").count(), tests.len(), "{out}");
    assert!(!out.contains("FAILED"), "{out}");

    let out = run(
        &promtool,
        &["check", "config"],
        &[repo().join("deploy/prometheus/prometheus.yml")],
    );
    assert!(out.contains("2 rule files found"), "{out}");

    let am = repo().join("deploy/alertmanager/alertmanager.yml");
    let out = run(&amtool, &["check-config"], std::slice::from_ref(&am));
    assert!(out.contains("1 inhibit rules"), "{out}");

    // Pages go to the paging receiver, everything else to the ticket queue.
    let config = format!("--config.file={}", am.display());
    for (labels, receiver) in [
        (
            &["severity=page", "alertname=CorstopCrossOriginFailuresPage"][..],
            "corstop-page",
        ),
        (
            &[
                "severity=ticket",
                "alertname=CorstopPreflightBudgetBurnSlow",
            ][..],
            "corstop-tickets",
        ),
        (
            &["severity=warning", "alertname=CorstopAgentDown"][..],
            "corstop-tickets",
        ),
    ] {
        let verify = format!("--verify.receivers={receiver}");
        let mut args = vec!["config", "routes", "test", config.as_str(), verify.as_str()];
        args.extend_from_slice(labels);
        run(&amtool, &args, &[]);
    }
}

/// Every alert of the shipped rules has unit tests where it fires and where it must stay
/// quiet (not firing yet, resolved, or never firing on data that looks like it should).
#[test]
fn every_shipped_alert_has_firing_and_quiet_unit_tests() {
    let mut alerts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for f in rule_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        for name in text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- alert: "))
        {
            alerts.insert(name.trim().to_string(), (0, 0));
        }
    }
    assert!(alerts.len() >= 8, "{alerts:?}");
    for f in files(&repo().join("deploy/prometheus/tests"), ".yml") {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, l) in lines.iter().enumerate() {
            let Some(name) = l.strip_prefix("alertname: ") else {
                continue;
            };
            let entry = alerts.get_mut(name.trim()).unwrap_or_else(|| {
                panic!("{} tests an alert no rule defines: {name}", f.display())
            });
            match lines.get(i + 1) {
                Some(&"exp_alerts: []") => entry.1 += 1,
                Some(&"exp_alerts:") => entry.0 += 1,
                other => panic!("{}: alertname {name} followed by {other:?}", f.display()),
            }
        }
    }
    for (name, (firing, quiet)) in &alerts {
        assert!(
            *firing >= 1 && *quiet >= 2,
            "{name}: {firing} firing and {quiet} quiet cases in deploy/prometheus/tests"
        );
    }
}

/// The shipped alertmanager.yml in a real Alertmanager: a page on a route silences the
/// DEGRADED and ticket alerts of that route, and nothing else.
#[test]
fn shipped_inhibition_silences_the_paged_route_only() {
    if !prom::available(
        "shipped_inhibition_silences_the_paged_route_only",
        &[("prometheus-alertmanager", prom::alertmanager_bin())],
    ) {
        return;
    }
    crate::common::runtime().block_on(async {
        let hook = Webhook::start().await;
        let shipped =
            std::fs::read_to_string(repo().join("deploy/alertmanager/alertmanager.yml")).unwrap();
        let mut config = shipped.clone();
        for (from, to) in [
            ("http://127.0.0.1:5001/page", hook.url("/page")),
            ("http://127.0.0.1:5001/tickets", hook.url("/tickets")),
            ("group_wait: 30s", "group_wait: 1s".to_string()),
            ("group_wait: 10s", "group_wait: 1s".to_string()),
        ] {
            assert!(
                config.contains(from),
                "alertmanager.yml no longer has {from}"
            );
            config = config.replace(from, &to);
        }
        let am = Alertmanager::start(&config).await;

        let x = "/api/orders/{id}";
        let page = vec![
            ("alertname", "CorstopCrossOriginFailuresPage"),
            ("severity", "page"),
            ("route", x),
        ];
        let degraded_x = vec![
            ("alertname", "CorstopInstanceDegraded"),
            ("severity", "warning"),
            ("instance", "a:9464"),
            ("route", x),
        ];
        let ticket_x = vec![
            ("alertname", "CorstopPreflightBudgetBurnSlow"),
            ("severity", "ticket"),
            ("route", x),
        ];
        am.post_alerts(&[
            (page, vec![("summary", "page")]),
            (degraded_x, vec![]),
            (ticket_x, vec![]),
        ])
        .await
        .unwrap();
        // Both silenced, before the alerts that must get through are even sent: their groups
        // would be flushed first.
        prom::wait_for(
            "the route's DEGRADED and ticket alerts to be inhibited",
            || am.log(),
            || async {
                let alerts = am.alerts().await.ok()?;
                let suppressed: Vec<&str> = alerts
                    .iter()
                    .filter(|a| a.state == "suppressed" && !a.inhibited_by.is_empty())
                    .map(AlertInfo::name)
                    .collect();
                (suppressed.len() == 2).then(|| {
                    assert!(
                        suppressed.contains(&"CorstopInstanceDegraded"),
                        "{alerts:?}"
                    );
                    assert!(
                        suppressed.contains(&"CorstopPreflightBudgetBurnSlow"),
                        "{alerts:?}"
                    );
                })
            },
        )
        .await;

        am.post_alerts(&[
            (
                vec![
                    ("alertname", "CorstopInstanceDegraded"),
                    ("severity", "warning"),
                    ("instance", "b:9464"),
                    ("route", "/api/reports"),
                ],
                vec![],
            ),
            (
                vec![
                    ("alertname", "CorstopAgentDown"),
                    ("severity", "warning"),
                    ("instance", "c:9464"),
                ],
                vec![],
            ),
        ])
        .await
        .unwrap();

        let paged = hook
            .wait("the page", || am.log(), |n| n.path == "/page")
            .await;
        assert_eq!(
            paged.alerts(),
            vec![(
                "CorstopCrossOriginFailuresPage".to_string(),
                "firing".to_string()
            )]
        );
        for name in ["CorstopInstanceDegraded", "CorstopAgentDown"] {
            hook.wait(
                &format!("{name} at the ticket receiver"),
                || am.log(),
                |n| n.path == "/tickets" && n.alerts().iter().any(|(a, _)| a == name),
            )
            .await;
        }
        let alerts = am.alerts().await.unwrap();
        let active: Vec<(&str, &str)> = alerts
            .iter()
            .filter(|a| a.state == "active")
            .map(|a| (a.name(), a.label("route")))
            .collect();
        assert_eq!(active.len(), 3, "{alerts:#?}");
        // Nothing about the paged route reached the ticket queue.
        for n in hook.received() {
            if n.path == "/tickets" {
                assert!(
                    !n.label_of_each("route").iter().any(|r| r == x),
                    "an inhibited alert was sent: {n:#?}"
                );
            }
        }
    });
}

/// The harness end to end: a real Prometheus scraping itself with an extra label, loading the
/// shipped rules and a rule written for the test, and the test alert reaching a loopback
/// webhook through a real Alertmanager.
#[test]
fn harness_prometheus_scrapes_evaluates_and_alerts_through_alertmanager() {
    if !prom::servers_available(
        "harness_prometheus_scrapes_evaluates_and_alerts_through_alertmanager",
    ) {
        return;
    }
    crate::common::runtime().block_on(async {
        let hook = Webhook::start().await;
        let am = Alertmanager::start(&prom::webhook_config(&hook.url("/hook"))).await;
        let test_rules = r#"groups:
  - name: harness
    rules:
      - record: harness:up:sum
        expr: sum by (region) (up{job="self-test"})
      - alert: HarnessAlwaysFiring
        expr: vector(1)
        for: 0s
        labels:
          severity: warning
        annotations:
          summary: the harness alert
"#;
        let setup = PrometheusSetup {
            job: "self-test".to_string(),
            targets: vec![Target::new(SELF).label("region", "loopback")],
            rule_files: rule_files(),
            extra_rules: vec![("harness.rules.yml".to_string(), test_rules.to_string())],
            alertmanager: Some(am.addr),
            ..PrometheusSetup::default()
        };
        let p = Prometheus::start(&setup).await;
        let instance = p.addr.to_string();
        p.wait_target_up(&instance).await;

        let up = p.query(r#"up{job="self-test"}"#).await.unwrap();
        assert_eq!(up.len(), 1, "{up:?}");
        assert_eq!(up[0].label("instance"), instance);
        assert_eq!(up[0].label("region"), "loopback");
        assert_eq!(up[0].value, 1.0);
        // Prometheus's own metrics, scraped: its build, with the target's label.
        let build = p
            .wait_query(r#"prometheus_build_info{job="self-test"}"#, |v| {
                v.len() == 1
            })
            .await;
        assert!(!build[0].label("version").is_empty(), "{build:?}");
        assert_eq!(build[0].label("region"), "loopback");
        // The recording rule, evaluated.
        let rec = p.wait_query("harness:up:sum", |v| !v.is_empty()).await;
        assert_eq!(rec.len(), 1, "{rec:?}");
        assert_eq!(rec[0].label("region"), "loopback");
        assert_eq!(rec[0].value, 1.0);

        // Every rule loaded and evaluated without error, the shipped ones included.
        let rules = prom::wait_for(
            "every rule to be evaluated",
            || p.log(),
            || async {
                let r = p.rules().await.ok()?;
                (!r.is_empty() && r.iter().all(|(_, _, health, _)| health != "unknown"))
                    .then_some(r)
            },
        )
        .await;
        let bad: Vec<_> = rules.iter().filter(|r| r.2 != "ok").collect();
        assert!(bad.is_empty(), "rules in error: {bad:#?}");
        let names: Vec<&str> = rules.iter().map(|r| r.1.as_str()).collect();
        for name in [
            "route:corstop_preflight_sli:ratio_rate5m",
            "CorstopCrossOriginFailuresPage",
            "CorstopProbeInconsistentInstances",
            "HarnessAlwaysFiring",
        ] {
            assert!(names.contains(&name), "{name} not loaded: {names:?}");
        }

        let firing = p.wait_firing("HarnessAlwaysFiring").await;
        assert_eq!(firing.label("severity"), "warning");
        let n = hook
            .wait(
                "the harness alert at the webhook",
                || format!("{}\n{}", am.log(), p.log()),
                |n| {
                    n.alerts()
                        .iter()
                        .any(|(a, s)| a == "HarnessAlwaysFiring" && s == "firing")
                },
            )
            .await;
        assert_eq!(n.path, "/hook");
        assert_eq!(n.status(), "firing");
        assert_eq!(
            n.body["alerts"][0]["annotations"]["summary"],
            "the harness alert"
        );
        let in_am = am.alerts().await.unwrap();
        assert!(
            in_am
                .iter()
                .any(|a| a.name() == "HarnessAlwaysFiring" && a.state == "active"),
            "{in_am:?}"
        );
    });
}

/// Serves OpenMetrics on 127.0.0.1 as an agent would, per the metric schema: every scrape adds
/// one step of traffic to the counters, so rates exist from the second scrape on and keep
/// their proportions whatever the scrape times.
async fn metrics_server(render: fn(u64) -> String) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let scrapes = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let scrapes = scrapes.clone();
            async move {
                let n = scrapes.fetch_add(1, Ordering::SeqCst) + 1;
                (
                    [(
                        "content-type",
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    render(n),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

/// After `n` scrapes: 10 % of the SPA's preflights answered 401, as many GETs as preflights,
/// and Origin-less OPTIONS failing in bulk (which no fleet figure may count).
fn agent_metrics(n: u64) -> String {
    let r = r#"route="/api/orders/{id}""#;
    let app = r#"origin="https://app.example""#;
    format!(
        "# TYPE corstop_http_requests counter\n\
         corstop_http_requests_total{{{r},{app},method_class=\"preflight\",status_class=\"2xx\",status=\"204\"}} {}\n\
         corstop_http_requests_total{{{r},{app},method_class=\"preflight\",status_class=\"4xx\",status=\"401\"}} {}\n\
         corstop_http_requests_total{{{r},{app},method_class=\"actual\",status_class=\"2xx\",status=\"\"}} {}\n\
         corstop_http_requests_total{{{r},origin=\"(none)\",method_class=\"preflight\",status_class=\"5xx\",status=\"503\"}} {}\n\
         # TYPE corstop_http_failed counter\n\
         corstop_http_failed_total{{{r},{app},method_class=\"preflight\",reason=\"status\"}} {}\n\
         # TYPE corstop_route_critical gauge\n\
         corstop_route_critical{{{r}}} 1\n\
         # TYPE corstop_status_code gauge\n\
         corstop_status_code 1\n\
         # EOF\n",
        9 * n,
        n,
        10 * n,
        50 * n,
        n
    )
}

/// The shipped recording rules on two agents scraped over HTTP in the OpenMetrics format, in
/// two regions: the fleet figures come out of the series as the schema names them.
#[test]
fn shipped_recording_rules_on_scraped_agents() {
    if !prom::available(
        "shipped_recording_rules_on_scraped_agents",
        &[("prometheus", prom::prometheus_bin())],
    ) {
        return;
    }
    crate::common::runtime().block_on(async {
        let (a, _a) = metrics_server(agent_metrics).await;
        let (b, _b) = metrics_server(agent_metrics).await;
        let setup = PrometheusSetup {
            targets: vec![
                Target::new(a.to_string()).label("region", "eu"),
                Target::new(b.to_string()).label("region", "us"),
            ],
            rule_files: rule_files(),
            ..PrometheusSetup::default()
        };
        let p = Prometheus::start(&setup).await;
        p.wait_target_up(&a.to_string()).await;
        p.wait_target_up(&b.to_string()).await;

        let close = |v: f64, want: f64| (v - want).abs() < 1e-9;
        // Both agents counted (each one's rates need two of its scrapes first).
        let per_region = p
            .wait_query(
                r#"sum by (region) (rate(corstop_http_requests_total{job="corstop"}[1m]))"#,
                |v| v.len() == 2,
            )
            .await;
        let regions: Vec<&str> = per_region.iter().map(|s| s.label("region")).collect();
        assert!(
            regions.contains(&"eu") && regions.contains(&"us"),
            "{per_region:?}"
        );
        for (rule, want) in [
            // 9 of 10 preflights 2xx; the Origin-less 503s left out.
            ("route:corstop_preflight_sli:ratio_rate5m", 0.9),
            ("route:corstop_preflight_errors:ratio_rate1h", 0.1),
            ("route:corstop_preflight_errors:ratio_rate3d", 0.1),
            // 1 failure in 20 cross-origin requests (10 preflights, 10 GETs).
            ("route:corstop_cross_origin_failed:ratio_rate10m", 0.05),
            ("route:corstop_route_critical:max", 1.0),
        ] {
            let v = p
                .wait_query(rule, |v| {
                    v.len() == 1
                        && v[0].label("route") == "/api/orders/{id}"
                        && close(v[0].value, want)
                })
                .await;
            assert_eq!(
                v[0].labels.len(),
                2,
                "{rule}: only the route (and the name): {v:?}"
            );
        }
        // Both agents scraped, still: the fleet SLI stands for two instances.
        let instances = p
            .query(r#"count(corstop_status_code{job="corstop"} == 1)"#)
            .await
            .unwrap();
        assert_eq!(instances[0].value, 2.0, "{instances:?}");
    });
}
