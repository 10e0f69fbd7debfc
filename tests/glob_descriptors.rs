//! A glob over many files does not take a descriptor per file: at most
//! `MAX_OPEN_FILES` are open at once, the quiet ones closed and reopened when they grow, and
//! nothing is lost. (One test in its own binary, so the process's descriptor count is its own.)

use std::fs;
use std::io::Write;
use std::time::{Duration, Instant};

use corstop::event::Event;
use corstop::sources::formats::FormatOptions;
use corstop::sources::live::{LogSourceSpec, MAX_OPEN_FILES, spawn_log_source};
use corstop::store::{Store, StoreConfig, TimeMode};
use corstop::time::now_ms;

const FILES: usize = 300;

fn open_descriptors() -> usize {
    fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
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
    let baseline = open_descriptors();
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
        peak = peak.max(open_descriptors());
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
    // The watcher, the runtime and a few sockets come on top of the files; far fewer than
    // one per file.
    const { assert!(MAX_OPEN_FILES * 4 <= FILES) };
    assert!(
        peak <= baseline + MAX_OPEN_FILES + 16,
        "peak {peak} descriptors, baseline {baseline}, cap {MAX_OPEN_FILES}"
    );
}
