//! Peak resident memory of the live path (the dashboard's: follower → parser → batches →
//! queue → store) against inputs built to blow it up, beside `report`'s path on the same
//! files, and a 24-hour soak replayed at full speed with the resident size printed every
//! simulated hour.
//!
//! `cargo bench --bench memory` (Linux: reads /proc/self/status; resets the peak between
//! cases through /proc/self/clear_refs). Prints a table; asserts nothing: the README quotes it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use corstop::model::time::{HOUR, format_rfc3339, now_ms};
use corstop::sources::formats::FormatOptions;
use corstop::sources::live::{LogSourceSpec, spawn_log_source};
use corstop::store::reader::read_to_end;
use corstop::store::{Store, StoreConfig, TimeMode};

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

const T0: i64 = 1_775_296_800_000; // 2026-04-04T10:00:00Z

/// Writes `n` App Service text lines, `path_of(i)` as each path, one per `step_ms`.
fn write_log(file: &Path, n: u64, step_ms: i64, path_of: impl Fn(u64) -> String) -> u64 {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(file).unwrap());
    let mut bytes = 0;
    for i in 0..n {
        let t = T0 + i as i64 * step_ms;
        let status = [204, 200, 401, 200, 500][(i % 5) as usize];
        let method = ["OPTIONS", "GET", "PUT", "GET", "POST"][(i % 5) as usize];
        let line = format!(
            "{} {method} {} {status} {}\n",
            format_rfc3339(t),
            path_of(i),
            i % 300
        );
        bytes += line.len() as u64;
        w.write_all(line.as_bytes()).unwrap();
    }
    w.flush().unwrap();
    bytes
}

/// Follows `file` from its start through the live path until `lines` were counted; calls
/// `each` with the store after every batch.
fn live(rt: &tokio::runtime::Runtime, file: &Path, lines: u64, mut each: impl FnMut(&Store)) {
    rt.block_on(async {
        let mut store = Store::new(StoreConfig::default(), TimeMode::EventTime);
        let id = store.register_source("bench");
        let mut spec = LogSourceSpec::new(file.display().to_string());
        spec.from_start = true;
        let (tx, mut rx) = tokio::sync::mpsc::channel(corstop::app::CHANNEL_CAPACITY);
        let task = spawn_log_source(spec, id, FormatOptions::default(), tx);
        let deadline = Instant::now() + Duration::from_secs(600);
        while store.sources()[0].lines < lines && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
                Ok(Some(ev)) => {
                    store.apply(ev, now_ms());
                    each(&store);
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
        task.abort();
    });
}

fn report_path(file: &Path) {
    let mut store = Store::new(
        corstop::app::report_store_config(StoreConfig::default()),
        TimeMode::EventTime,
    );
    let mut spec = LogSourceSpec::new(file.display().to_string());
    spec.from_start = true;
    read_to_end(&[spec], &FormatOptions::default(), &mut store).unwrap();
}

/// The request path of line `i`.
type PathOf = Box<dyn Fn(u64) -> String>;

/// Options: none but `--help`; cargo passes `--bench` to every harness-less benchmark.
fn check_args() {
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--bench" => {}
            "-h" | "--help" => {
                print!(
                    "cargo bench --bench memory\n\nPeak resident memory of the live path and of report's path on inputs built to blow it\nup, then a 24-hour soak at full speed (Linux: /proc/self/status). Files go to\n$CORSTOP_BENCH_DIR (default /tmp). Takes no options.\n"
                );
                std::process::exit(0);
            }
            other => {
                eprintln!("memory: unknown argument '{other}'");
                eprint!(
                    "cargo bench --bench memory\n\nPeak resident memory of the live path and of report's path on inputs built to blow it\nup, then a 24-hour soak at full speed (Linux: /proc/self/status). Files go to\n$CORSTOP_BENCH_DIR (default /tmp). Takes no options.\n"
                );
                std::process::exit(2);
            }
        }
    }
}

fn main() {
    check_args();
    let dir =
        tempfile::tempdir_in(std::env::var("CORSTOP_BENCH_DIR").unwrap_or("/tmp".into())).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let long_path = "/seg".repeat(2000);
    let cases: Vec<(&str, u64, PathOf)> = vec![
        (
            "1 GB of 8 KB-path lines",
            125_000,
            Box::new(move |i| format!("/api/{i}{long_path}")),
        ),
        (
            "10 M short lines",
            10_000_000,
            Box::new(|i| format!("/api/orders/{}", i % 1000)),
        ),
        (
            "100 k distinct routes",
            1_000_000,
            Box::new(|i| format!("/r{}/x", i % 100_000)),
        ),
    ];
    println!(
        "{:<28} {:>9} {:>12} {:>12}",
        "input", "size", "live peak", "report peak"
    );
    for (name, n, path_of) in &cases {
        let file = dir.path().join("case.log");
        let bytes = write_log(&file, *n, 10, path_of);
        reset_peak();
        let before = status_kb("VmRSS:");
        live(&rt, &file, *n, |_| {});
        let live_peak = status_kb("VmHWM:");
        reset_peak();
        report_path(&file);
        let report_peak = status_kb("VmHWM:");
        println!(
            "{name:<28} {:>7.0} MB {:>9.1} MB {:>9.1} MB   (resident before: {:.1} MB)",
            bytes as f64 / 1e6,
            mb(live_peak),
            mb(report_peak),
            mb(before)
        );
        let _ = std::fs::remove_file(&file);
    }

    // Soak: 24 h of mixed traffic (20 lines/s of event time), replayed as fast as it reads.
    let file = dir.path().join("soak.log");
    let n = 24 * 3600 * 20;
    write_log(&file, n, 50, |i| match i % 7 {
        0 => format!("/api/orders/{}", i % 5000),
        1 => format!("/api/users/{:x}/profile", i * 2654435761 % 1_000_000),
        _ => "/api/products".to_string(),
    });
    reset_peak();
    println!("\nsoak: 24 h of event time, {n} lines, resident size every simulated hour");
    let mut next_hour = T0 + HOUR;
    let mut samples = Vec::new();
    live(&rt, &file, n, |store| {
        if store.now() >= next_hour {
            samples.push(status_kb("VmRSS:"));
            next_hour += HOUR;
        }
    });
    let line: Vec<String> = samples.iter().map(|kb| format!("{:.1}", mb(*kb))).collect();
    println!("  MB: {}", line.join(" "));
    // After the 6 h window has filled, the size should stay within a band.
    if samples.len() > 8 {
        let settled = &samples[6..];
        let lo = *settled.iter().min().unwrap() as f64;
        let hi = *settled.iter().max().unwrap() as f64;
        println!(
            "  after the window filled: {:.1}..{:.1} MB ({:+.1} % spread)",
            mb(lo as u64),
            mb(hi as u64),
            (hi - lo) / lo * 100.0
        );
    }
}
