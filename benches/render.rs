//! Frame cost per view on the replayed demo incident (the store the screenshots use):
//! `analysis::snapshot` once per store change, then drawing a 200x60 frame. Prints mean and
//! p99 per view; run with `cargo bench --bench render`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use corstop::analysis::{TimeRange, snapshot};
use corstop::demo::replay::{REPLAY_SEED, REPLAY_SPAN, demo_store};
use corstop::ui::{Theme, UiState, View, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const FRAMES: usize = 300;
const SNAPSHOTS: usize = 60;
const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;

struct Stats {
    mean: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let n = samples.len().max(1);
    let total: Duration = samples.iter().sum();
    let p99 = samples[((n * 99).div_ceil(100)).saturating_sub(1).min(n - 1)];
    Stats {
        mean: total / n as u32,
        p99,
        max: samples.last().copied().unwrap_or_default(),
    }
}

fn print(label: &str, s: &Stats) {
    println!(
        "{label:<22} mean {:>9.1} µs   p99 {:>9.1} µs   max {:>9.1} µs",
        s.mean.as_secs_f64() * 1e6,
        s.p99.as_secs_f64() * 1e6,
        s.max.as_secs_f64() * 1e6
    );
}

/// Options: none but `--help`; cargo passes `--bench` to every harness-less benchmark.
fn check_args() {
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--bench" => {}
            "-h" | "--help" => {
                print!(
                    "cargo bench --bench render\n\nReplays the demo incident and prints per-view frame times (mean, p99, max) and the\ncost of a view model; takes no options.\n"
                );
                std::process::exit(0);
            }
            other => {
                eprintln!("render: unknown argument '{other}'");
                eprint!(
                    "cargo bench --bench render\n\nReplays the demo incident and prints per-view frame times (mean, p99, max) and the\ncost of a view model; takes no options.\n"
                );
                std::process::exit(2);
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    check_args();
    let started = Instant::now();
    let store = demo_store(REPLAY_SPAN, REPLAY_SEED)?;
    println!(
        "replayed {} minutes of the demo incident in {:.2} s ({} log lines kept, {} probes)",
        REPLAY_SPAN / 60_000,
        started.elapsed().as_secs_f64(),
        store.raw_lines().count(),
        store.probe_latest().len()
    );
    println!("{FRAMES} frames per view at {WIDTH}x{HEIGHT}, {SNAPSHOTS} snapshots\n");

    let wall = store.now();
    let samples: Vec<Duration> = (0..SNAPSHOTS)
        .map(|_| {
            let t = Instant::now();
            black_box(snapshot(black_box(&store), wall));
            t.elapsed()
        })
        .collect();
    print("analysis::snapshot", &stats(samples));

    let model = snapshot(&store, wall);
    let theme = Theme::builtin("default")?;
    let cases: Vec<(&str, View, Option<TimeRange>, bool, bool)> = vec![
        ("overview", View::Overview, None, false, false),
        ("trend 1h", View::Trend, Some(TimeRange::H1), false, false),
        ("trend 6h", View::Trend, Some(TimeRange::H6), false, false),
        ("origins", View::Origins, None, false, false),
        ("auth 6h", View::Auth, Some(TimeRange::H6), false, false),
        ("probes", View::Probes, None, false, false),
        ("probe detail", View::Probes, None, true, false),
        ("log", View::Log, None, false, false),
        ("help overlay", View::Overview, None, false, true),
    ];
    for (label, view, range, detail, help) in cases {
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT))?;
        let mut state = UiState::new("DEMO", false);
        state.switch_to(view);
        if let Some(r) = range {
            state.range = r;
        }
        state.detail = detail;
        state.help = help;
        // Warm-up frame: the first one also allocates the buffers.
        terminal.draw(|f| draw(f, &mut state, &model, &theme))?;
        let mut samples = Vec::with_capacity(FRAMES);
        for _ in 0..FRAMES {
            let t = Instant::now();
            terminal.draw(|f| draw(f, &mut state, black_box(&model), &theme))?;
            samples.push(t.elapsed());
        }
        print(label, &stats(samples));
    }
    println!("\ntotal {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
