//! The screenshot generator is deterministic: two runs write byte-identical files, one per
//! view and theme, and none of them carries the machine's clock.

use corstop::demo::screenshots::generate;
use corstop::ui::theme::BUILTIN_NAMES;

#[test]
fn two_runs_write_identical_svgs() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    // Two independent runs side by side (each replays the incident from scratch).
    let (first, second) = std::thread::scope(|s| {
        let one = s.spawn(|| generate(a.path()).unwrap());
        let two = s.spawn(|| generate(b.path()).unwrap());
        (one.join().unwrap(), two.join().unwrap())
    });
    // Ten views at 120x36 plus the overview at 80x24, in every theme; the fleet's overview and
    // probes in the default theme.
    assert_eq!(first.len(), 11 * BUILTIN_NAMES.len() + 2);
    assert_eq!(first.len(), second.len());
    for (pa, pb) in first.iter().zip(&second) {
        assert_eq!(pa.file_name(), pb.file_name());
        let sa = std::fs::read(pa).unwrap();
        let sb = std::fs::read(pb).unwrap();
        assert!(sa == sb, "{} differs between runs", pa.display());
        let text = String::from_utf8(sa).unwrap();
        assert!(text.starts_with("<svg "), "{}", pa.display());
        // The replayed incident is in April 2026 whenever this runs (at 80 columns the header
        // keeps only the time of day).
        let name = pa.to_string_lossy();
        let stamp = if name.contains("fleet-") {
            // The fleet is read at the end of the replay, on a whole minute.
            "2026-04-04T15:05:00Z"
        } else if text.contains("width=\"80") || name.contains("80x24") {
            "15:04:58Z"
        } else {
            "2026-04-04T15:04:58Z"
        };
        assert!(text.contains(stamp), "{}", pa.display());
    }
    for theme in BUILTIN_NAMES {
        for view in [
            "overview",
            "trend",
            "origins",
            "auth",
            "probes",
            "probe-detail",
            "triage",
            "triage-detail",
            "log",
            "help",
        ] {
            let name = format!("{view}-{theme}.svg");
            assert!(
                first
                    .iter()
                    .any(|p| p.file_name().unwrap() == name.as_str()),
                "{name} missing"
            );
        }
    }
    for name in ["fleet-overview-default.svg", "fleet-probes-default.svg"] {
        assert!(
            first.iter().any(|p| p.file_name().unwrap() == name),
            "{name} missing"
        );
    }
    for theme in BUILTIN_NAMES {
        let name = format!("overview-{theme}-80x24.svg");
        assert!(
            first
                .iter()
                .any(|p| p.file_name().unwrap() == name.as_str()),
            "{name} missing"
        );
    }
}

/// The auth view marks the replay's token-expiry bursts (the H3 waves) under its chart and
/// lists when they started; 401s answered to preflights (the H2 phase) are not bursts of
/// expiring tokens and stay out.
#[test]
fn auth_view_marks_bursts_of_the_replay() {
    use corstop::analysis::TimeRange;
    use corstop::demo::screenshots::{demo_model, render_view};
    use corstop::ui::{Theme, View};

    let model = demo_model().unwrap();
    let theme = Theme::builtin("default").unwrap();
    let svg = render_view(&model, &theme, 120, 36, |s| {
        s.switch_to(View::Auth);
        s.range = TimeRange::H6;
    })
    .unwrap();
    assert!(svg.contains("bursts"), "{svg}");
    assert!(svg.contains('▲'), "no burst marks");
    // Three expiry waves an hour apart, and only they: the H2 phase (from 11:15) is not
    // among them.
    assert!(
        svg.contains("started 12:31, 13:31, 14:31 UTC"),
        "wave starts missing, or a preflight challenge taken for a burst"
    );
    // Three bursts with two agreeing intervals: a period, with how sure it is.
    assert!(
        svg.contains("every 1h ±1s (96 % confidence), the 1h token lifetime"),
        "{svg}"
    );
}

/// The committed `screenshots/` are what the code draws today: regenerate them with
/// `cargo run --release -- screenshots --out screenshots/` after a visible change.
#[test]
fn committed_screenshots_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = generate(dir.path()).unwrap();
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    let mut stale = Vec::new();
    for path in &fresh {
        let name = path.file_name().unwrap();
        let old = std::fs::read(committed.join(name)).unwrap_or_default();
        if old != std::fs::read(path).unwrap() {
            stale.push(name.to_string_lossy().into_owned());
        }
    }
    let extra: Vec<String> = std::fs::read_dir(&committed)
        .unwrap()
        .filter_map(std::result::Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.ends_with(".svg") && !fresh.iter().any(|p| p.file_name().unwrap() == n.as_str())
        })
        .collect();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "screenshots/ is stale (regenerate with `cargo run --release -- screenshots --out \
         screenshots/`): changed {stale:?}, no longer generated {extra:?}"
    );
}
