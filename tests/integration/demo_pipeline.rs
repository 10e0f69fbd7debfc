//! The whole pipeline on the demo incident, headless: the demo API serves and writes its logs,
//! corstop tails those files and probes the API, and the store must reflect the H2 phase.

use std::time::{Duration, Instant};

use corstop::app::{lock, start_demo_pipeline};
use corstop::demo::{DemoOptions, Phase};
use corstop::model::time::MINUTE;
use corstop::sources::event::Method;

fn options_count(store: &corstop::store::Store, route: &str, status: u16) -> u64 {
    let Some(id) = store.routes.lookup(route) else {
        return 0;
    };
    store.sum_window(store.config().retention_ms, |k| {
        k.route == id && k.method == Method::Options && k.status == status
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_phase_shows_options_401_on_the_challenged_route_only() {
    // Ten demo minutes per real second: the healthy phase and ten minutes of H2 take about
    // three real seconds.
    let opts = DemoOptions {
        speed: 600.0,
        healthy_ms: 10 * MINUTE,
        ..DemoOptions::default()
    };
    let demo = corstop::demo::start(opts).await.expect("demo starts");
    let pipeline =
        start_demo_pipeline(&demo, corstop::model::time::SECOND).expect("pipeline starts");

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (phase, since) = demo.phase();
        if phase == Phase::PreflightAuth && (demo.clock)() - since >= 15 * MINUTE {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the demo never reached 15 minutes into H2 (phase {phase:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the tailers catch up with what was written so far.
    tokio::time::sleep(Duration::from_millis(800)).await;

    {
        let store = lock(&pipeline.store);
        let sources = store.sources();
        let http = sources
            .iter()
            .find(|s| s.label == "http.log")
            .expect("http source");
        assert_eq!(http.format, Some("azure-json"), "{http:?}");
        assert!(http.http_events > 50, "{http:?}");
        assert_eq!(http.parse_errors, 0, "{:?}", http.last_error);
        let auth = sources
            .iter()
            .find(|s| s.label == "auth.log")
            .expect("auth source");
        assert_eq!(auth.format, Some("appservice-auth"), "{auth:?}");

        let challenged = options_count(&store, "/api/orders", 401);
        let healthy_401 = options_count(&store, "/api/products", 401);
        let healthy_2xx = options_count(&store, "/api/products", 204);
        assert!(challenged >= 5, "OPTIONS 401 on /api/orders: {challenged}");
        assert_eq!(healthy_401, 0, "OPTIONS 401 on /api/products");
        assert!(
            healthy_2xx > 0,
            "OPTIONS 204 on /api/products: {healthy_2xx}"
        );

        // The auth log carries the missing-token signature at preflight times.
        let missing = store
            .sources()
            .iter()
            .map(|s| {
                s.auth_by_class[corstop::sources::event::AuthClass::MalformedOrMissing as usize]
            })
            .sum::<u64>();
        assert!(missing > 0, "malformed-or-missing auth events: {missing}");

        // The prober saw the same thing the browser would: the preflight on /api/orders fails,
        // with the 401 hidden behind a CORS message, and points at H2.
        let orders = store
            .probe_latest()
            .iter()
            .find(|r| r.url.ends_with("/api/orders") && r.verdict.hidden_status == Some(401))
            .expect("a probe of /api/orders answered 401");
        assert!(!orders.verdict.allowed);
        assert_eq!(
            orders.verdict.hypothesis,
            Some(corstop::sources::event::Hypothesis::H2)
        );
    }
    pipeline.shutdown().await;
    demo.shutdown().await;
}
