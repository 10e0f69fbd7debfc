//! The screenshot generator is deterministic: two runs write byte-identical files, one per
//! view and theme, and none of them carries the machine's clock.

use corstop::ui::screenshots::generate;
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
    // Eight views at 120x36 plus the overview at 80x24, in every theme.
    assert_eq!(first.len(), 9 * BUILTIN_NAMES.len());
    assert_eq!(first.len(), second.len());
    for (pa, pb) in first.iter().zip(&second) {
        assert_eq!(pa.file_name(), pb.file_name());
        let sa = std::fs::read(pa).unwrap();
        let sb = std::fs::read(pb).unwrap();
        assert!(sa == sb, "{} differs between runs", pa.display());
        let text = String::from_utf8(sa).unwrap();
        assert!(text.starts_with("<svg "), "{}", pa.display());
        // The replayed incident is in April 2026 whenever this runs.
        assert!(text.contains("2026-04-04T15:39:55Z"), "{}", pa.display());
    }
    for theme in BUILTIN_NAMES {
        for view in [
            "overview",
            "trend",
            "origins",
            "auth",
            "probes",
            "probe-detail",
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
}

/// The auth view marks the replay's 401/403 bursts (the H2 preflight challenge and the H3
/// expiry waves) under its chart and lists when they started.
#[test]
fn auth_view_marks_bursts_of_the_replay() {
    use corstop::analysis::TimeRange;
    use corstop::ui::screenshots::{demo_model, render_view};
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
    // Three expiry waves an hour apart (11:04, 12:04, 13:04) and the second H2 at 15:14.
    for start in ["11:04", "12:04", "13:04", "15:14"] {
        assert!(svg.contains(start), "{start} missing");
    }
    assert!(svg.contains("no period yet"));
}
