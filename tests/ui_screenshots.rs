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
