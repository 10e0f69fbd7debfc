//! Ingestion benchmark: generates access logs in every supported shape, runs the release
//! binary's `corstop report --format json` on them and prints lines per second (one core and
//! both cores) and the child's peak RSS, next to goaccess on the same combined file and the
//! append-to-store latency of the live tailing pipeline.
//!
//! ```text
//! cargo bench --bench ingest                                   # 1 M lines, every format
//! cargo bench --bench ingest -- --lines 5M --formats appservice-http,combined
//! cargo bench --bench ingest -- --full                         # 5 M and 20 M, every format
//! ```
//!
//! It prints figures and judges them against the targets; it never fails on them (the exit
//! status is non-zero only when a run could not be measured or parsed the wrong line count).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corstop::model::time::{format_rfc3339_millis, now_ms};
use corstop::sources::event::Event;
use corstop::sources::formats::FormatOptions;
use corstop::sources::live::{LogSourceSpec, spawn_log_source};
use corstop::store::{Store, StoreConfig, TimeMode};

#[allow(dead_code)] // each benchmark uses part of the shared generators
#[path = "support/generator.rs"]
mod generator;
#[allow(dead_code)]
#[path = "support/measure.rs"]
mod measure;
use generator::generate;
use measure::{have, load_average, measure};

const TEXT_FORMATS: &[&str] = &["appservice-http", "combined", "w3c", "envoy"];
/// Splittable formats (`reader::is_splittable`) are split across cores; the others are read on one thread.
const ALL_FORMATS: &[&str] = &[
    "appservice-http",
    "combined",
    "w3c",
    "envoy",
    "azure-json",
    "caddy",
    "traefik",
];

const TEXT_TARGET_1: f64 = 1_500_000.0;
const TEXT_TARGET_2: f64 = 2_500_000.0;
const JSON_TARGET_PER_CORE: f64 = 400_000.0;
const RSS_TARGET_MB: f64 = 64.0;
const TAIL_P99_TARGET_MS: f64 = 250.0;
/// Peak RSS counts as "the same" across sizes within this much.
const RSS_SAME_TOLERANCE_MB: f64 = 4.0;

// ---------------------------------------------------------------------------------------------
// Arguments

struct Args {
    lines: Vec<u64>,
    formats: Vec<String>,
    repeat: usize,
    seed: u64,
    force_format: bool,
    goaccess: bool,
    goaccess_timeout: Duration,
    goaccess_max_lines: u64,
    tail: bool,
    tail_rate: u64,
    tail_secs: u64,
    dir: Option<PathBuf>,
    generate_only: bool,
}

fn usage() -> &'static str {
    "cargo bench --bench ingest -- [options]\n\
     \n  --lines N[,N...]       lines per generated file; K and M suffixes (default 1M)\
     \n  --formats a,b          formats to run (default: all of them)\
     \n                         appservice-http combined w3c envoy azure-json caddy traefik\
     \n  --full                 5M and 20M lines for every format\
     \n  --repeat N             runs per measurement, the fastest is kept (default 1)\
     \n  --seed N               generator seed (default 42)\
     \n  --force-format         pass --log-format instead of relying on detection\
     \n  --no-goaccess          skip the goaccess comparison\
     \n  --goaccess-timeout S   stop goaccess after S seconds (default 900)\
     \n  --goaccess-max-lines N only run goaccess on files up to N lines (default 5M; it\
     \n                         parses tens of thousands of lines per second)\
     \n  --no-tail              skip the tailing latency measurement\
     \n  --tail-rate N          lines per second appended while tailing (default 50000)\
     \n  --tail-secs S          how long the tailing writer runs (default 10)\
     \n  --dir PATH             where files are generated (default: a temporary directory)\
     \n  --generate-only        write the files into --dir (or the current directory) and stop\n"
}

fn parse_count(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1_000.0),
        'm' | 'M' => (&s[..s.len() - 1], 1_000_000.0),
        _ => (s, 1.0),
    };
    let v: f64 = num.parse().ok()?;
    (v > 0.0).then(|| (v * mul).round() as u64)
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        lines: vec![1_000_000],
        formats: ALL_FORMATS
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        repeat: 1,
        seed: 42,
        force_format: false,
        goaccess: true,
        goaccess_timeout: Duration::from_secs(900),
        goaccess_max_lines: 5_000_000,
        tail: true,
        tail_rate: 50_000,
        tail_secs: 10,
        dir: None,
        generate_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            // cargo bench passes --bench to harness-less benchmarks.
            "--bench" => {}
            "--full" => a.lines = vec![5_000_000, 20_000_000],
            "--lines" => {
                let v = value("--lines")?;
                a.lines = v
                    .split(',')
                    .map(|s| parse_count(s).ok_or_else(|| format!("bad line count '{s}'")))
                    .collect::<Result<_, _>>()?;
            }
            "--formats" => {
                let v = value("--formats")?;
                a.formats = Vec::new();
                for f in v.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    if !ALL_FORMATS.contains(&f) {
                        return Err(format!("unknown format '{f}'"));
                    }
                    a.formats.push(f.to_string());
                }
            }
            "--repeat" => {
                a.repeat = value("--repeat")?
                    .parse::<usize>()
                    .map_err(|e| e.to_string())?
                    .max(1);
            }
            "--seed" => a.seed = value("--seed")?.parse().map_err(|_| "bad --seed")?,
            "--force-format" => a.force_format = true,
            "--no-goaccess" => a.goaccess = false,
            "--goaccess-timeout" => {
                let s: u64 = value("--goaccess-timeout")?
                    .parse()
                    .map_err(|_| "bad --goaccess-timeout")?;
                a.goaccess_timeout = Duration::from_secs(s);
            }
            "--goaccess-max-lines" => {
                a.goaccess_max_lines = parse_count(&value("--goaccess-max-lines")?)
                    .ok_or("bad --goaccess-max-lines")?;
            }
            "--no-tail" => a.tail = false,
            "--tail-rate" => {
                a.tail_rate = parse_count(&value("--tail-rate")?).ok_or("bad --tail-rate")?;
            }
            "--tail-secs" => {
                a.tail_secs = value("--tail-secs")?
                    .parse()
                    .map_err(|_| "bad --tail-secs")?;
            }
            "--dir" => a.dir = Some(PathBuf::from(value("--dir")?)),
            "--generate-only" => a.generate_only = true,
            "-h" | "--help" => return Err(HELP.to_string()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(a)
}

/// What one `corstop report` run read, checked against what was generated.
struct Run {
    secs: f64,
    cpu_secs: f64,
    rss_mb: f64,
    load: String,
}

struct Expect<'a> {
    format: &'a str,
    lines: u64,
    headers: u64,
}

fn check_report(stdout: &[u8], e: &Expect<'_>) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_slice(stdout).map_err(|err| format!("report is not JSON: {err}"))?;
    let src = &v["sources"][0];
    let get = |k: &str| src[k].as_u64().unwrap_or(u64::MAX);
    let (lines, http, skipped, errors) = (
        get("lines"),
        get("http_events"),
        get("skipped"),
        get("parse_errors"),
    );
    let format = src["format"].as_str().unwrap_or("(none)");
    let total = v["requests"]["total"].as_u64().unwrap_or(u64::MAX);
    let mut problems = Vec::new();
    if format != e.format {
        problems.push(format!("format {format}, expected {}", e.format));
    }
    if lines != e.lines {
        problems.push(format!("lines {lines}, expected {}", e.lines));
    }
    if errors != 0 {
        problems.push(format!(
            "{errors} parse errors (last: {})",
            src["last_error"]
        ));
    }
    if http != e.lines - e.headers || total != http {
        problems.push(format!(
            "http events {http}, request total {total}, expected {}",
            e.lines - e.headers
        ));
    }
    if skipped != e.headers {
        problems.push(format!("skipped {skipped}, expected {}", e.headers));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn run_corstop(
    bin: &Path,
    file: &Path,
    e: &Expect<'_>,
    one_core: bool,
    force_format: bool,
    repeat: usize,
) -> Result<Run, String> {
    let mut best: Option<Run> = None;
    for _ in 0..repeat {
        let mut cmd = if one_core {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        cmd.args(["report", "--format", "json"]);
        if force_format {
            cmd.args(["--log-format", e.format]);
        }
        cmd.arg(file);
        // Keep diagnostics out of the user's state directory.
        cmd.env("CORSTOP_LOG_FILE", "/dev/null");
        let load = load_average();
        let m = measure(&mut cmd, None).map_err(|err| format!("cannot run corstop: {err}"))?;
        if m.exit_code != Some(0) {
            return Err(format!(
                "corstop exited with {:?}: {}",
                m.exit_code,
                String::from_utf8_lossy(&m.stderr).trim()
            ));
        }
        check_report(&m.stdout, e)?;
        let run = Run {
            secs: m.secs,
            cpu_secs: m.cpu_secs,
            rss_mb: m.max_rss_kb as f64 / 1024.0,
            load,
        };
        if best.as_ref().is_none_or(|b| run.secs < b.secs) {
            best = Some(run);
        }
    }
    best.ok_or_else(|| "no run".into())
}

// ---------------------------------------------------------------------------------------------
// Tail latency

struct TailFigures {
    written: u64,
    received: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// Appends App Service lines at `rate` per second for `secs` while the live pipeline follows the
/// file; each line carries its write instant (ns since the start) as its order id, so the
/// latency of every line is known once its batch has been applied to the store.
fn tail_latency(dir: &Path, rate: u64, secs: u64) -> Result<TailFigures, String> {
    let path = dir.join("tail.log");
    File::create(&path).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let total = rate * secs;
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));

    let result = rt.block_on(async {
        let store = Arc::new(Mutex::new(Store::new(
            StoreConfig::default(),
            TimeMode::Live,
        )));
        let source = store
            .lock()
            .map_err(|_| "store lock poisoned")?
            .register_source("tail.log");
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Event>(corstop::app::CHANNEL_CAPACITY);
        let spec = LogSourceSpec {
            path: path.display().to_string(),
            label: None,
            format: Some("appservice-http".into()),
            from_start: true,
            history: false,
            poll: false,
            rotation_grace: corstop::sources::live::ROTATION_GRACE,
        };
        let producer = spawn_log_source(spec, source, FormatOptions::default(), tx);

        let lat = latencies.clone();
        let ingest_store = store.clone();
        let ingest = tokio::spawn(async move {
            let mut buf = Vec::with_capacity(256);
            let mut stamps: Vec<u64> = Vec::with_capacity(8192);
            let mut received = 0u64;
            while rx.recv_many(&mut buf, 256).await > 0 {
                stamps.clear();
                for ev in &buf {
                    if let Event::Batch(b) = ev {
                        for r in &b.http {
                            if let Some(ns) = r
                                .path
                                .rsplit('/')
                                .next()
                                .and_then(|s| s.parse::<u64>().ok())
                            {
                                stamps.push(ns);
                            }
                        }
                    }
                }
                let wall = now_ms();
                {
                    let mut s = ingest_store
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    for ev in buf.drain(..) {
                        s.apply(ev, wall);
                    }
                }
                let applied = start.elapsed().as_nanos() as u64;
                received += stamps.len() as u64;
                let mut l = lat
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                l.extend(stamps.iter().map(|s| applied.saturating_sub(*s)));
                if received >= total {
                    break;
                }
            }
            received
        });

        // The writer runs on its own thread at a steady pace, like a busy web server.
        let writer_path = path.clone();
        let writer = std::thread::spawn(move || -> io::Result<u64> {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&writer_path)?;
            let mut buf = Vec::with_capacity(1 << 20);
            let mut written = 0u64;
            let paths = ["/api/orders/", "/api/customers/", "/api/invoices/"];
            let methods = ["GET", "OPTIONS", "POST"];
            while written < total {
                let due = ((start.elapsed().as_secs_f64() - 0.0) * rate as f64) as u64;
                let due = due.min(total);
                if due > written {
                    buf.clear();
                    let stamp = start.elapsed().as_nanos() as u64;
                    let ts = format_rfc3339_millis(now_ms());
                    for i in written..due {
                        let _ = writeln!(
                            buf,
                            "{ts} {} {}{stamp} {} {}",
                            methods[(i % 3) as usize],
                            paths[(i % 3) as usize],
                            if i % 11 == 0 { 401 } else { 200 },
                            i % 40 + 1
                        );
                    }
                    f.write_all(&buf)?;
                    written = due;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(written)
        });
        let written = tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|_| "writer thread panicked".to_string())?
            .map_err(|e| e.to_string())?;
        // Give the pipeline a bounded time to catch up, then stop it.
        let received = match tokio::time::timeout(Duration::from_secs(30), ingest).await {
            Ok(Ok(n)) => n,
            _ => latencies.lock().map(|l| l.len() as u64).unwrap_or(0),
        };
        producer.abort();
        let _ = producer.await;
        Ok::<_, String>((written, received))
    });
    rt.shutdown_timeout(Duration::from_secs(2));
    let (written, received) = result?;
    let mut l = latencies.lock().map_err(|_| "poisoned")?.clone();
    if l.is_empty() {
        return Err("no line reached the store".into());
    }
    l.sort_unstable();
    let pct = |p: f64| l[((l.len() - 1) as f64 * p).round() as usize] as f64 / 1e6;
    Ok(TailFigures {
        written,
        received,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: *l.last().unwrap_or(&0) as f64 / 1e6,
    })
}

// ---------------------------------------------------------------------------------------------
// Report

fn mark(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISS" }
}

fn fmt_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else {
        format!("{:.0} k", v / 1e3)
    }
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_corstop"))
}

struct Row {
    format: String,
    lines: u64,
    mb: f64,
    one: Option<Run>,
    two: Run,
}

/// What `parse_args` returns for `--help`: the usage is asked for, not a mistake.
const HELP: &str = "\u{0}help";

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e == HELP => {
            print!("{}", usage());
            return;
        }
        Err(e) => {
            eprintln!("ingest: {e}");
            eprint!("{}", usage());
            std::process::exit(2);
        }
    };
    if args.generate_only {
        let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
        for &n in &args.lines {
            for format in &args.formats {
                let file = dir.join(format!("{format}-{n}.log"));
                match generate(&file, format, n, args.seed) {
                    Ok(b) => println!("{} ({:.0} MB)", file.display(), b as f64 / 1e6),
                    Err(e) => {
                        eprintln!("ingest: generating {}: {e}", file.display());
                        std::process::exit(1);
                    }
                }
            }
        }
        return;
    }
    let bin = binary();
    if !bin.is_file() {
        eprintln!(
            "ingest: {} is missing; run `cargo build --release` first",
            bin.display()
        );
        std::process::exit(2);
    }
    let tmp = match &args.dir {
        Some(d) => tempfile::Builder::new()
            .prefix("corstop-bench-")
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix("corstop-bench-").tempdir(),
    };
    let tmp = match tmp {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ingest: cannot create a temporary directory: {e}");
            std::process::exit(2);
        }
    };
    // The target directory may be shared with other checkouts building the same binary name:
    // run a private copy so that every figure comes from the same build.
    let bin = {
        let copy = tmp.path().join("corstop");
        match std::fs::copy(&bin, &copy) {
            Ok(_) => copy,
            Err(e) => {
                eprintln!("ingest: cannot copy {}: {e}", bin.display());
                std::process::exit(2);
            }
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let taskset = have("taskset");
    println!(
        "corstop ingest benchmark — {} ({} cores, load {}), seed {}{}",
        bin.display(),
        cores,
        load_average(),
        args.seed,
        if args.force_format {
            ", --log-format forced"
        } else {
            ", format detected"
        }
    );
    if !taskset {
        println!("note: taskset not found; the one-core figures are skipped");
    }
    let mut failed = false;
    let mut rows: Vec<Row> = Vec::new();
    print_header();
    let mut goaccess_rows: Vec<String> = Vec::new();
    let goaccess = args.goaccess && have("goaccess");
    if args.goaccess && !goaccess {
        println!("note: goaccess is not installed (apt-get install goaccess); comparison skipped");
    }

    for &n in &args.lines {
        for format in &args.formats {
            let file = tmp.path().join(format!("{format}-{n}.log"));
            let g0 = Instant::now();
            let bytes = match generate(&file, format, n, args.seed) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("ingest: generating {}: {e}", file.display());
                    failed = true;
                    continue;
                }
            };
            let headers = if format == "w3c" {
                4 * n.div_ceil(1_000_000)
            } else {
                0
            };
            eprintln!(
                "generated {format} {n} lines, {:.0} MB in {:.1}s",
                bytes as f64 / 1e6,
                g0.elapsed().as_secs_f64()
            );
            let e = Expect {
                format,
                lines: n,
                headers,
            };
            let one = if taskset {
                match run_corstop(&bin, &file, &e, true, args.force_format, args.repeat) {
                    Ok(r) => Some(r),
                    Err(err) => {
                        eprintln!("ingest: {format} {n} (1 core): {err}");
                        failed = true;
                        None
                    }
                }
            } else {
                None
            };
            let two = match run_corstop(&bin, &file, &e, false, args.force_format, args.repeat) {
                Ok(r) => r,
                Err(err) => {
                    eprintln!("ingest: {format} {n} (all cores): {err}");
                    failed = true;
                    let _ = std::fs::remove_file(&file);
                    continue;
                }
            };
            if goaccess && format == "combined" && n > args.goaccess_max_lines {
                goaccess_rows.push(format!(
                    "  {n:>9} lines: goaccess not run (over --goaccess-max-lines {})",
                    args.goaccess_max_lines
                ));
            } else if goaccess && format == "combined" {
                goaccess_rows.push(run_goaccess(&file, n, &two, &args, tmp.path()));
            }
            let _ = std::fs::remove_file(&file);
            let row = Row {
                format: format.clone(),
                lines: n,
                mb: bytes as f64 / 1e6,
                one,
                two,
            };
            print_row(&row);
            rows.push(row);
        }
    }

    print_summary(&rows);
    if !goaccess_rows.is_empty() {
        println!(
            "\ngoaccess 1-core comparison on the same combined file (goaccess parses on one thread):"
        );
        for r in &goaccess_rows {
            println!("{r}");
        }
    }
    if args.tail {
        println!(
            "\nappend-to-store latency while tailing (appservice-http, {} lines/s for {} s):",
            args.tail_rate, args.tail_secs
        );
        match tail_latency(tmp.path(), args.tail_rate, args.tail_secs) {
            Ok(t) => {
                println!(
                    "  written {}  applied {}  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  p99 target < {TAIL_P99_TARGET_MS} ms: {}",
                    t.written,
                    t.received,
                    t.p50_ms,
                    t.p99_ms,
                    t.max_ms,
                    mark(t.p99_ms < TAIL_P99_TARGET_MS && t.received == t.written)
                );
                if t.received != t.written {
                    println!(
                        "  MISS: {} lines never reached the store",
                        t.written - t.received
                    );
                }
            }
            Err(e) => {
                eprintln!("ingest: tail latency: {e}");
                failed = true;
            }
        }
    }
    println!("\nload average at the end: {}", load_average());
    if failed {
        std::process::exit(1);
    }
}

fn run_goaccess(file: &Path, n: u64, corstop: &Run, args: &Args, dir: &Path) -> String {
    let out = dir.join("goaccess.json");
    let mut cmd = Command::new("goaccess");
    cmd.arg(file)
        .args([
            "--log-format=COMBINED",
            "--no-global-config",
            "--no-progress",
            "-o",
        ])
        .arg(&out);
    let load = load_average();
    let m = match measure(&mut cmd, Some(args.goaccess_timeout)) {
        Ok(m) => m,
        Err(e) => return format!("  {n} lines: goaccess could not run: {e}"),
    };
    let _ = std::fs::remove_file(&out);
    let corstop_rate = n as f64 / corstop.secs;
    if m.timed_out {
        let bound = n as f64 / m.secs;
        return format!(
            "  {n:>9} lines: goaccess stopped after {:.0} s (< {} lines/s), peak RSS {:.0} MB so far; corstop {} lines/s, {:.0} MB → ratio > {:.0}×",
            m.secs,
            fmt_rate(bound),
            m.max_rss_kb as f64 / 1024.0,
            fmt_rate(corstop_rate),
            corstop.rss_mb,
            corstop_rate / bound
        );
    }
    if m.exit_code != Some(0) {
        return format!(
            "  {n} lines: goaccess exited with {:?}: {}",
            m.exit_code,
            String::from_utf8_lossy(&m.stderr).trim()
        );
    }
    let rate = n as f64 / m.secs;
    format!(
        "  {n:>9} lines: goaccess {:.1} s {} lines/s, peak RSS {:.0} MB (load {load}) | corstop (2 cores) {:.2} s {} lines/s, {:.0} MB | speed ×{:.1}, memory ÷{:.1}",
        m.secs,
        fmt_rate(rate),
        m.max_rss_kb as f64 / 1024.0,
        corstop.secs,
        fmt_rate(corstop_rate),
        corstop.rss_mb,
        corstop_rate / rate,
        (m.max_rss_kb as f64 / 1024.0) / corstop.rss_mb.max(0.1)
    )
}

fn print_header() {
    println!(
        "\n{:<16} {:>9} {:>6} | {:>6} {:>6} {:>9} {:>9} {:>6} {:>5} | {:>6} {:>6} {:>9} {:>6} {:>5} | targets (wall; cpu)",
        "format",
        "lines",
        "MB",
        "1c s",
        "cpu s",
        "lines/s",
        "l/cpu-s",
        "RSS",
        "load",
        "2c s",
        "cpu s",
        "lines/s",
        "RSS",
        "load"
    );
    println!("{}", "-".repeat(150));
}

/// Prints one measured file as soon as it is done, so that a long run shows its figures as it
/// goes.
fn print_row(r: &Row) {
    {
        let text = TEXT_FORMATS.contains(&r.format.as_str());
        let (t1, t2) = if text {
            (TEXT_TARGET_1, TEXT_TARGET_2)
        } else {
            (JSON_TARGET_PER_CORE, 2.0 * JSON_TARGET_PER_CORE)
        };
        let n = r.lines as f64;
        let rate2 = n / r.two.secs;
        let mut verdicts = Vec::new();
        let (c1, one_cols) = match &r.one {
            Some(o) => {
                let rate1 = n / o.secs;
                let per_cpu = n / o.cpu_secs.max(1e-3);
                verdicts.push(format!(
                    "1c≥{}:{};{}",
                    fmt_rate(t1),
                    mark(rate1 >= t1),
                    mark(per_cpu >= t1)
                ));
                (
                    o.rss_mb,
                    format!(
                        "{:>6.2} {:>6.2} {:>9} {:>9} {:>5.1}M {:>5}",
                        o.secs,
                        o.cpu_secs,
                        fmt_rate(rate1),
                        fmt_rate(per_cpu),
                        o.rss_mb,
                        o.load
                    ),
                )
            }
            None => (
                0.0,
                format!(
                    "{:>6} {:>6} {:>9} {:>9} {:>6} {:>5}",
                    "-", "-", "-", "-", "-", "-"
                ),
            ),
        };
        // Both cores: the CPU-time figure is the rate the work would reach with the cores to
        // itself, i.e. lines divided by the CPU time spread over the threads used.
        let threads = if corstop::store::reader::is_splittable(&r.format) {
            2.0
        } else {
            1.0
        };
        let cpu_rate2 = n / (r.two.cpu_secs / threads).max(1e-3);
        verdicts.push(format!(
            "2c≥{}:{};{}",
            fmt_rate(t2),
            mark(rate2 >= t2),
            mark(cpu_rate2 >= t2)
        ));
        let rss = c1.max(r.two.rss_mb);
        verdicts.push(format!(
            "RSS≤{RSS_TARGET_MB:.0}M:{}",
            mark(rss <= RSS_TARGET_MB)
        ));
        println!(
            "{:<16} {:>9} {:>6.0} | {} | {:>6.2} {:>6.2} {:>9} {:>5.1}M {:>5} | {}",
            r.format,
            r.lines,
            r.mb,
            one_cols,
            r.two.secs,
            r.two.cpu_secs,
            fmt_rate(rate2),
            r.two.rss_mb,
            r.two.load,
            verdicts.join(" ")
        );
    }
}

fn print_summary(rows: &[Row]) {
    println!(
        "wall = lines / elapsed time; cpu = lines / CPU time (per thread when split), which is what \
         the machine would give without other load."
    );
    // Memory must not depend on the file size.
    let mut formats: Vec<&str> = rows.iter().map(|r| r.format.as_str()).collect();
    formats.dedup();
    formats.sort_unstable();
    formats.dedup();
    let mut lines = Vec::new();
    for f in formats {
        let of: Vec<&Row> = rows.iter().filter(|r| r.format == f).collect();
        if of.len() < 2 {
            continue;
        }
        let peak = |r: &Row| r.two.rss_mb.max(r.one.as_ref().map_or(0.0, |o| o.rss_mb));
        let lo = of.iter().map(|r| peak(r)).fold(f64::MAX, f64::min);
        let hi = of.iter().map(|r| peak(r)).fold(0.0, f64::max);
        lines.push(format!(
            "  {f:<16} {:.1}–{:.1} MB across {} sizes: {}",
            lo,
            hi,
            of.len(),
            mark(hi - lo <= RSS_SAME_TOLERANCE_MB)
        ));
    }
    if !lines.is_empty() {
        println!("\npeak RSS independent of file size (within {RSS_SAME_TOLERANCE_MB} MB):");
        for l in lines {
            println!("{l}");
        }
    }
    let single: Vec<&str> = rows
        .iter()
        .map(|r| r.format.as_str())
        .filter(|f| !corstop::store::reader::is_splittable(f))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !single.is_empty() {
        println!(
            "\nread on one thread by design (state across lines): {}",
            single.join(", ")
        );
    }
}
