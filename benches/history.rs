//! Time to history: how long after start the dashboard holds the last hours of a big log file,
//! beside lnav and goaccess on the same file.
//!
//! ```text
//! cargo bench --bench history                       # 1 GB App Service and combined logs over 36 h
//! cargo bench --bench history -- --size 256M --formats combined --no-peers
//! cargo bench --bench history -- --help
//! ```
//!
//! Files end at the time they are generated, so their last hours are the store's retention
//! window (6 h by default). corstop runs in a child process started fresh for each run: it
//! starts the store and runs the dashboard's history load (`store::history::load`: window
//! search, parallel read, merge into the shared store) and exits once the store holds the
//! window; the child's wall time, CPU time and peak RSS are measured, and the events it holds
//! are checked against what was generated in the window. The peers load the whole file (they
//! have no time window) and answer one question about it; what each measures is printed
//! beside it. A peer that is not installed is reported and skipped.
//!
//! It prints figures and the target (corstop under 1 s); it never fails on them. The files are
//! freshly written, so they are read from the page cache, as a log being written is.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corstop::model::time::{HOUR, now_ms};
use corstop::sources::formats::FormatOptions;
use corstop::sources::live::LogSourceSpec;
use corstop::store::history::{load, window_from};
use corstop::store::reader::Parallelism;
use corstop::store::{Store, StoreConfig, TimeMode};

#[allow(dead_code)] // each benchmark uses part of the shared generators
#[path = "support/generator.rs"]
mod generator;
#[allow(dead_code)]
#[path = "support/measure.rs"]
mod measure;

use generator::Generator;
use measure::{have, load_average, measure};

const FORMATS: &[&str] = &["appservice-http", "combined"];
const TARGET_SECS: f64 = 1.0;

struct Args {
    size: u64,
    span_hours: f64,
    formats: Vec<String>,
    repeat: usize,
    seed: u64,
    peers: bool,
    peer_timeout: Duration,
    dir: Option<PathBuf>,
}

fn usage() -> &'static str {
    "cargo bench --bench history -- [options]\n\
     \n  --size N[K|M|G]       bytes per generated file (default 1G)\
     \n  --span HOURS          time the file spans, ending now (default 36)\
     \n  --formats a,b         appservice-http, combined (default both)\
     \n  --repeat N            corstop runs per file, the fastest is kept (default 3)\
     \n  --seed N              generator seed (default 42)\
     \n  --no-peers            skip lnav and goaccess\
     \n  --peer-timeout S      stop a peer after S seconds (default 900)\
     \n  --dir PATH            where files are generated (default: a temporary directory)\
     \n  -h, --help            this text\n"
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let v: f64 = num.parse().ok()?;
    (v > 0.0).then_some((v * mul as f64) as u64)
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        size: 1 << 30,
        span_hours: 36.0,
        formats: FORMATS.iter().map(ToString::to_string).collect(),
        repeat: 3,
        seed: 42,
        peers: true,
        peer_timeout: Duration::from_secs(900),
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            // cargo bench passes --bench to harness-less benchmarks.
            "--bench" => {}
            "--size" => {
                let v = value("--size")?;
                a.size = parse_size(&v).ok_or_else(|| format!("bad size '{v}'"))?;
            }
            "--span" => {
                let v = value("--span")?;
                a.span_hours = v
                    .parse()
                    .ok()
                    .filter(|h: &f64| *h > 0.0)
                    .ok_or_else(|| format!("bad span '{v}'"))?;
            }
            "--formats" => {
                let v = value("--formats")?;
                a.formats = Vec::new();
                for f in v.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    if !FORMATS.contains(&f) {
                        return Err(format!("unknown format '{f}'"));
                    }
                    a.formats.push(f.to_string());
                }
            }
            "--repeat" => {
                let v = value("--repeat")?;
                a.repeat = v.parse().map_err(|_| format!("bad count '{v}'"))?;
                a.repeat = a.repeat.max(1);
            }
            "--seed" => {
                let v = value("--seed")?;
                a.seed = v.parse().map_err(|_| format!("bad seed '{v}'"))?;
            }
            "--no-peers" => a.peers = false,
            "--peer-timeout" => {
                let v = value("--peer-timeout")?;
                let s: u64 = v.parse().map_err(|_| format!("bad seconds '{v}'"))?;
                a.peer_timeout = Duration::from_secs(s);
            }
            "--dir" => a.dir = Some(PathBuf::from(value("--dir")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(a)
}

/// A generated file and how many of its lines fall in each second.
struct Generated {
    bytes: u64,
    lines: u64,
    first: i64,
    last: i64,
    per_second: BTreeMap<i64, u64>,
}

impl Generated {
    /// Lines stamped at or after `from` (ms).
    fn lines_since(&self, from: i64) -> u64 {
        self.per_second
            .range(from.div_euclid(1000)..)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Writes about `size` bytes of `format` spanning `span_ms` and ending now.
fn generate(
    path: &Path,
    format: &str,
    size: u64,
    span_ms: i64,
    seed: u64,
) -> std::io::Result<Generated> {
    // Bytes per line from a sample, so that the file's lines spread over the whole span.
    let mut sample = Generator::starting_at(seed, 0, 10_000);
    let mut buf = Vec::with_capacity(1 << 20);
    for _ in 0..20_000 {
        sample.line(format, &mut buf);
    }
    let per_line = buf.len() as f64 / 20_000.0;
    let lines = (size as f64 / per_line).max(1.0);
    let mean_step_us = span_ms as f64 * 1000.0 / lines;
    let end = now_ms();
    let mut g = Generator::starting_at(seed, end - span_ms, (2.0 * mean_step_us) as u64);
    let mut out = BufWriter::with_capacity(8 << 20, File::create(path)?);
    buf.clear();
    let mut done = Generated {
        bytes: 0,
        lines: 0,
        first: i64::MAX,
        last: i64::MIN,
        per_second: BTreeMap::new(),
    };
    while done.bytes + (buf.len() as u64) < size {
        let n = g.line(format, &mut buf);
        let t = g.time();
        // No line in the future: the store would hold it back.
        if t > end {
            let cut = buf[..buf.len() - 1]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            buf.truncate(cut);
            break;
        }
        done.lines += n;
        done.first = done.first.min(t);
        done.last = t;
        *done.per_second.entry(t.div_euclid(1000)).or_insert(0) += n;
        if buf.len() >= (1 << 20) - 4096 {
            out.write_all(&buf)?;
            done.bytes += buf.len() as u64;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    done.bytes += buf.len() as u64;
    out.flush()?;
    Ok(done)
}

/// What the child prints: in-process seconds, window start, events in the window, bytes read.
fn child(path: &str) -> Result<(), String> {
    let start = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let store = Arc::new(Mutex::new(Store::new(
        StoreConfig::default(),
        TimeMode::Live,
    )));
    let spec = LogSourceSpec::new(path);
    let source = store
        .lock()
        .map_err(|_| "poisoned")?
        .register_source(&spec.display_label());
    let resume = rt.block_on(load(
        &spec,
        source,
        &FormatOptions::default(),
        &store,
        Parallelism::Auto,
    ));
    let secs = start.elapsed().as_secs_f64();
    let s = store.lock().map_err(|_| "poisoned")?;
    let from = window_from(s.config(), s.now());
    let in_window = s.sum_window(s.config().retention_ms, |_| true);
    let read = s.sources()[source as usize].bytes;
    let format = s.sources()[source as usize].format.unwrap_or("?");
    println!(
        "{secs:.4} {from} {in_window} {read} {format} {}",
        resume.first().map_or(0, |r| r.offset)
    );
    Ok(())
}

struct CorstopRun {
    wall: f64,
    in_process: f64,
    cpu: f64,
    rss_mb: f64,
    in_window: u64,
    expected: u64,
    read: u64,
    format: String,
}

fn run_corstop(path: &Path, generated: &Generated) -> Result<CorstopRun, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.arg("--child-corstop").arg(path);
    let m = measure(&mut cmd, Some(Duration::from_secs(300))).map_err(|e| e.to_string())?;
    if m.exit_code != Some(0) {
        return Err(format!(
            "child failed: {}",
            String::from_utf8_lossy(&m.stderr).trim()
        ));
    }
    let out = String::from_utf8_lossy(&m.stdout);
    let f: Vec<&str> = out.split_whitespace().collect();
    let num = |i: usize| -> Result<f64, String> {
        f.get(i)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("unexpected child output: {out}"))
    };
    let from = num(1)? as i64;
    Ok(CorstopRun {
        wall: m.secs,
        in_process: num(0)?,
        cpu: m.cpu_secs,
        rss_mb: m.max_rss_kb as f64 / 1024.0,
        in_window: num(2)? as u64,
        expected: generated.lines_since(from),
        read: num(3)? as u64,
        format: f.get(4).unwrap_or(&"?").to_string(),
    })
}

struct PeerRun {
    tool: &'static str,
    measures: String,
    result: Result<(f64, f64, f64, String), String>,
}

fn run_lnav(path: &Path, home: &Path, timeout: Duration, hours: i64) -> PeerRun {
    let measures = format!(
        "loads and indexes the whole file, then counts the last {hours} h with SQL \
         (`lnav -n -c ';SELECT count(*) FROM all_logs WHERE log_time >= ...'`)"
    );
    if !have("lnav") {
        return PeerRun {
            tool: "lnav",
            measures,
            result: Err("not installed, skipped".into()),
        };
    }
    let query = format!(
        ";SELECT count(*) AS n FROM all_logs WHERE log_time >= datetime('now', '-{hours} hours')"
    );
    let mut cmd = Command::new("lnav");
    cmd.arg("-n")
        .arg("-c")
        .arg(query)
        .arg(path)
        .env("HOME", home);
    PeerRun {
        tool: "lnav",
        measures,
        result: run_peer(&mut cmd, timeout, |out| {
            let n = out
                .lines()
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .next_back()?;
            Some(format!("{n} lines in the window"))
        }),
    }
}

fn run_goaccess(path: &Path, format: &str, out: &Path, timeout: Duration) -> PeerRun {
    let measures = "parses the whole file and writes its JSON report (it has no time window) \
                    (`goaccess FILE --log-format=COMBINED -o report.json`)"
        .to_string();
    let result = if !have("goaccess") {
        Err("not installed, skipped".into())
    } else if format != "combined" {
        Err("cannot read this format (it needs a client address on every line), skipped".into())
    } else {
        let mut cmd = Command::new("goaccess");
        cmd.arg(path)
            .arg("--log-format=COMBINED")
            .arg("--no-global-config")
            .arg("-o")
            .arg(out);
        run_peer(&mut cmd, timeout, |_| {
            let text = std::fs::read_to_string(out).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            let n = v["general"]["total_requests"].as_u64()?;
            Some(format!("{n} requests in the whole file"))
        })
    };
    PeerRun {
        tool: "goaccess",
        measures,
        result,
    }
}

fn run_peer(
    cmd: &mut Command,
    timeout: Duration,
    check: impl Fn(&str) -> Option<String>,
) -> Result<(f64, f64, f64, String), String> {
    let m = measure(cmd, Some(timeout)).map_err(|e| e.to_string())?;
    if m.timed_out {
        return Err(format!("stopped after {} s", timeout.as_secs()));
    }
    if m.exit_code != Some(0) {
        return Err(format!(
            "exit {:?}: {}",
            m.exit_code,
            String::from_utf8_lossy(&m.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    let note = check(&String::from_utf8_lossy(&m.stdout)).unwrap_or_else(|| "?".into());
    Ok((m.secs, m.cpu_secs, m.max_rss_kb as f64 / 1024.0, note))
}

fn main() {
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some("--child-corstop") {
        let code = match raw.get(2).map(|p| child(p)) {
            Some(Ok(())) => 0,
            Some(Err(e)) => {
                eprintln!("{e}");
                1
            }
            None => 2,
        };
        std::process::exit(code);
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            print!("{}", usage());
            return;
        }
        Err(e) => {
            eprintln!("{e}\n\n{}", usage());
            std::process::exit(2);
        }
    };
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let _ = std::fs::create_dir_all(&dir);
    let window_h = StoreConfig::default().retention_ms / HOUR;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!(
        "time to history: the last {window_h} h of a {:.2} GB file spanning {} h, {cores} cores, \
         warm page cache, load {}",
        args.size as f64 / (1u64 << 30) as f64,
        args.span_hours,
        load_average()
    );
    let mut missed = false;
    for format in &args.formats {
        let path = dir.join(format!("history-{format}.log"));
        let span_ms = (args.span_hours * HOUR as f64) as i64;
        let started = Instant::now();
        let generated = match generate(&path, format, args.size, span_ms, args.seed) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{format}: cannot generate {}: {e}", path.display());
                std::process::exit(1);
            }
        };
        println!(
            "\n{format}: {} lines, {:.2} GB, {:.1} h of traffic (generated in {:.0} s)",
            generated.lines,
            generated.bytes as f64 / (1u64 << 30) as f64,
            (generated.last - generated.first) as f64 / HOUR as f64,
            started.elapsed().as_secs_f64()
        );
        println!(
            "  {:<9} {:>7} {:>7} {:>7}  what it measured",
            "tool", "wall s", "cpu s", "RSS MB"
        );
        let mut best: Option<CorstopRun> = None;
        for _ in 0..args.repeat {
            match run_corstop(&path, &generated) {
                Ok(r) => {
                    if best.as_ref().is_none_or(|b| r.wall < b.wall) {
                        best = Some(r);
                    }
                }
                Err(e) => {
                    println!("  corstop   {e}");
                    missed = true;
                }
            }
        }
        if let Some(r) = &best {
            let ok = r.in_window == r.expected;
            println!(
                "  {:<9} {:>7.3} {:>7.3} {:>7.1}  starts, reads the last {window_h} h into the store \
                 and holds it ({:.3} s in-process, best of {}); read {:.0} MB as {}; {} events in \
                 the window, {} generated there: {}",
                "corstop",
                r.wall,
                r.cpu,
                r.rss_mb,
                r.in_process,
                args.repeat,
                r.read as f64 / (1u64 << 20) as f64,
                r.format,
                r.in_window,
                r.expected,
                if ok { "exact" } else { "MISMATCH" }
            );
            let met = r.wall < TARGET_SECS;
            println!(
                "  target: corstop under {TARGET_SECS} s of wall time: {}",
                if met { "met" } else { "missed" }
            );
            missed |= !ok;
        }
        if args.peers {
            let home = dir.join("peer-home");
            let _ = std::fs::create_dir_all(&home);
            let peers = [
                run_lnav(&path, &home, args.peer_timeout, window_h),
                run_goaccess(&path, format, &dir.join("goaccess.json"), args.peer_timeout),
            ];
            for p in peers {
                match p.result {
                    Ok((wall, cpu, rss, note)) => println!(
                        "  {:<9} {wall:>7.3} {cpu:>7.3} {rss:>7.1}  {}; {note}",
                        p.tool, p.measures
                    ),
                    Err(e) => println!("  {:<9} {e}", p.tool),
                }
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    if missed {
        std::process::exit(1);
    }
}
