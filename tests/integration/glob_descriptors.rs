//! A glob over many files does not take a descriptor per file: at most
//! `MAX_OPEN_FILES` are open at once, the quiet ones closed and reopened when they grow, and
//! nothing is lost. Only descriptors open on the test's own directory are counted, so tests
//! running beside it in the same process do not change the figure.

use std::fs;
use std::io::Write;
use std::time::{Duration, Instant};

use corstop::model::time::now_ms;
use corstop::sources::event::Event;
use corstop::sources::formats::FormatOptions;
use corstop::sources::live::{LogSourceSpec, MAX_OPEN_FILES, spawn_log_source};
use corstop::store::{Store, StoreConfig, TimeMode};

const FILES: usize = 300;

/// Descriptors of this process open on a file under `dir`.
fn open_descriptors(dir: &std::path::Path) -> usize {
    let Ok(fds) = fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| fs::read_link(fd.path()).ok())
        .filter(|target| target.starts_with(dir))
        .count()
}

fn line(file: usize, n: usize) -> String {
    format!(
        "2026-04-04T10:{:02}:{:02}Z GET /api/f{file} 200 {n}\n",
        n / 60 % 60,
        n % 60
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_matching_files_are_followed_with_a_bounded_number_of_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    for f in 0..FILES {
        fs::write(dir.path().join(format!("app-{f:03}.log")), line(f, 0)).unwrap();
    }
    let baseline = open_descriptors(dir.path());
    let mut spec = LogSourceSpec::new(dir.path().join("*.log").display().to_string());
    spec.from_start = true;
    spec.format = Some("appservice-http".into());
    let mut store = Store::new(StoreConfig::default(), TimeMode::EventTime);
    let id = store.register_source("glob");
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let task = spawn_log_source(spec, id, FormatOptions::default(), tx);

    let mut peak = 0;
    let mut want = FILES as u64;
    let mut appended = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        peak = peak.max(open_descriptors(dir.path()));
        if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
            store.apply(ev, now_ms());
        }
        let lines = store.sources()[0].lines;
        if lines >= want && !appended {
            // Every file grows once more, after its descriptor was given back.
            for f in 0..FILES {
                let mut w = fs::OpenOptions::new()
                    .append(true)
                    .open(dir.path().join(format!("app-{f:03}.log")))
                    .unwrap();
                w.write_all(line(f, 1).as_bytes()).unwrap();
            }
            appended = true;
            want = 2 * FILES as u64;
        } else if lines >= want {
            break;
        }
    }
    while let Ok(ev) = rx.try_recv() {
        if !matches!(ev, Event::SourceState { .. }) {
            store.apply(ev, now_ms());
        }
    }
    task.abort();
    let src = &store.sources()[0];
    assert_eq!(src.lines, 2 * FILES as u64, "every line of every file");
    assert_eq!(src.parse_errors, 0);
    // The files themselves, plus the directory while the glob is listed; far fewer than one
    // per file. A peak of zero would mean the count saw nothing, not that nothing was open.
    const { assert!(MAX_OPEN_FILES * 4 <= FILES) };
    assert!(
        peak > 0,
        "no descriptor on {} was ever seen",
        dir.path().display()
    );
    assert!(
        peak <= baseline + MAX_OPEN_FILES + 2,
        "peak {peak} descriptors, baseline {baseline}, cap {MAX_OPEN_FILES}"
    );
}
