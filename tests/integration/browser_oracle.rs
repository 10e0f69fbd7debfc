//! corstop's verdicts and console messages against real headless Chromium and Firefox ESR.
//!
//! Every server behaviour × request shape in `oracle/scenarios.rs` is fetched by a page on a
//! second loopback origin, in each browser; the page reports whether it could read the
//! response, and the browser's console gives the message it printed. corstop probes the same
//! server with the same shapes, and both must agree on every case: the verdict, the Chrome
//! message and the Firefox message, character for character.
//!
//! A browser that is not installed is reported and skipped; with `CORSTOP_REQUIRE_BROWSERS=1`
//! (set by `.ci/run` once it has installed them) a missing browser fails the test.
//!
//! `CORSTOP_ORACLE_RECORD=1` writes what each browser did to `tests/fixtures/oracle/`, with the
//! loopback origins replaced by `{api}`, `{other}` and `{page}`; the second test here replays
//! those recordings against corstop on every run, browsers or not, so the message templates
//! are always checked against the browsers' own output.

use std::collections::HashMap;
use std::sync::Arc;

use crate::oracle::browsers::{self, BrowserRun};
use crate::oracle::scenarios::{self, ApiServer, Behaviour, Case, PageServer, Shape};
use corstop::sources::event::ProbeResult;
use corstop::sources::probe::{ProbeClient, ProbeSettings, ProbeTarget, probe_once};
use futures_util::StreamExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn settings() -> ProbeSettings {
    let mut s: ProbeSettings = toml::from_str("timeout = \"5s\"\nactual = true").expect("settings");
    s.concurrency = 8;
    s
}

/// corstop's verdict on every case, probing from `origin`.
async fn judge_all(
    cases: &[Case],
    shapes: &[Shape],
    api: &ApiServer,
    origin: &str,
) -> HashMap<String, ProbeResult> {
    let client = ProbeClient::new(&settings());
    let clock: corstop::model::time::Clock = Arc::new(corstop::model::time::now_ms);
    futures_util::stream::iter(cases)
        .map(|c| {
            let target = ProbeTarget {
                url: api.url(c),
                origin: origin.to_string(),
                shape: shapes[c.shape].request_shape(),
                critical: true,
                allow_unsafe_actual: true,
            };
            let (client, clock) = (&client, &clock);
            async move { (c.id.clone(), probe_once(client, &target, clock, None).await) }
        })
        .buffer_unordered(8)
        .collect()
        .await
}

/// The URL a console line is about, when it is a CORS line (the first URL of a redirected
/// request: the one the page fetched).
fn chrome_url(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("Access to fetch at '")?;
    let at = &rest[..rest.find(" from origin '")?];
    Some(match at.split_once("' (redirected from '") {
        Some((_, first)) => first.strip_suffix("')")?,
        None => at.strip_suffix('\'')?,
    })
}

/// The case a URL belongs to: `/c/<case>` or the second hop `/f/<case>`.
fn case_of(url: &str) -> Option<&str> {
    let at = url.find("/c/").or_else(|| url.find("/f/"))?;
    Some(&url[at + 3..])
}

fn firefox_url(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ",
    )?;
    let url = &rest[..rest.find(". (Reason:")?];
    Some(
        url.trim_start_matches('\u{2018}')
            .trim_end_matches('\u{2019}'),
    )
}

/// Each case's first CORS console line.
fn first_lines(run: &BrowserRun) -> HashMap<&str, &str> {
    let mut first_line: HashMap<&str, &str> = HashMap::new();
    for line in &run.console {
        let url = if run.name == "Chromium" {
            chrome_url(line)
        } else {
            firefox_url(line)
        };
        if let Some(case) = url.and_then(case_of) {
            first_line.entry(case).or_insert(line.as_str());
        }
    }
    first_line
}

struct Disagreement {
    case: String,
    what: &'static str,
    browser: String,
    corstop: String,
}

/// Compares one browser's run with corstop's verdicts; returns the cases compared and every
/// disagreement.
fn compare(
    run: &BrowserRun,
    readable: &HashMap<String, bool>,
    cases: &[Case],
    verdicts: &HashMap<String, ProbeResult>,
) -> Vec<Disagreement> {
    let chrome = run.name == "Chromium";
    let first_line = first_lines(run);
    let mut out = Vec::new();
    for c in cases {
        let v = &verdicts[&c.id].verdict;
        match readable.get(&c.id) {
            None => out.push(Disagreement {
                case: c.id.clone(),
                what: "page result",
                browser: "no result reported".into(),
                corstop: String::new(),
            }),
            Some(&read) if read != v.allowed => out.push(Disagreement {
                case: c.id.clone(),
                what: "verdict",
                browser: if read { "readable" } else { "blocked" }.into(),
                corstop: format!(
                    "{} ({})",
                    if v.allowed { "allowed" } else { "blocked" },
                    v.code
                ),
            }),
            _ => {}
        }
        let ours = if chrome {
            v.chrome_message.as_deref()
        } else {
            v.firefox_message.as_deref()
        };
        let theirs = first_line.get(c.id.as_str()).copied();
        if ours != theirs {
            out.push(Disagreement {
                case: c.id.clone(),
                what: if chrome {
                    "Chrome message"
                } else {
                    "Firefox message"
                },
                browser: theirs.unwrap_or("(none)").to_string(),
                corstop: ours.unwrap_or("(none)").to_string(),
            });
        }
    }
    out
}

async fn run_browser(
    name: &'static str,
    path: &str,
    behaviours: &Arc<Vec<Behaviour>>,
    shapes: &[Shape],
    cases: &[Case],
) -> Result<(BrowserRun, Vec<Disagreement>), String> {
    let page_origin = Arc::new(std::sync::Mutex::new(String::new()));
    let api = ApiServer::start(behaviours.clone(), page_origin.clone()).await;
    let page = PageServer::start(scenarios::page(cases, shapes, &api)).await;
    let origin = format!("http://localhost:{}", page.addr.port());
    *page_origin.lock().unwrap() = origin.clone();
    let verdicts = judge_all(cases, shapes, &api, &origin).await;
    let url = format!("{origin}/");
    let run = match name {
        "Chromium" => browsers::run_chromium(path, &url, page.done.clone()).await?,
        _ => browsers::run_firefox(path, &url, page.done.clone()).await?,
    };
    if std::env::var("CORSTOP_ORACLE_DUMP").is_ok_and(|v| v == "1") {
        for line in &run.console {
            eprintln!("{name} console: {line}");
        }
    }
    let readable = page.readable.lock().unwrap().clone();
    if std::env::var("CORSTOP_ORACLE_RECORD").is_ok_and(|v| v == "1") {
        let names = Placeholders::of(&api, &origin);
        record(&run, &readable, cases, &names).map_err(|e| format!("recording: {e}"))?;
    }
    let disagreements = compare(&run, &readable, cases, &verdicts);
    Ok((run, disagreements))
}

/// The loopback origins of one run, and their placeholders in a recording.
struct Placeholders {
    api: String,
    other: String,
    page: String,
}

impl Placeholders {
    /// The origins of `api` (under both loopback names) and the page's.
    fn of(api: &ApiServer, page: &str) -> Placeholders {
        Placeholders {
            api: format!("http://{}", api.addr),
            other: format!("http://localhost:{}", api.addr.port()),
            page: page.to_string(),
        }
    }

    fn to_template(&self, text: &str) -> String {
        text.replace(&self.page.to_ascii_uppercase(), "{page-upper}")
            .replace(&self.api, "{api}")
            .replace(&self.other, "{other}")
            .replace(&self.page, "{page}")
    }
    fn fill_in(&self, text: &str) -> String {
        text.replace("{api}", &self.api)
            .replace("{other}", &self.other)
            .replace("{page}", &self.page)
            .replace("{page-upper}", &self.page.to_ascii_uppercase())
    }
}

fn recording_path(browser: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oracle")
        .join(format!("{}.tsv", browser.to_ascii_lowercase()))
}

/// Writes `# version`, then one line per case: id, whether the page could read the response,
/// and the browser's first CORS console line for it (empty when none).
fn record(
    run: &BrowserRun,
    readable: &HashMap<String, bool>,
    cases: &[Case],
    names: &Placeholders,
) -> std::io::Result<()> {
    let lines = first_lines(run);
    let mut out = format!("# {}\n", run.version);
    for c in cases {
        let read = readable.get(&c.id).copied().unwrap_or(false);
        let message = lines.get(c.id.as_str()).map(|m| names.to_template(m));
        out.push_str(&format!(
            "{}\t{}\t{}\n",
            c.id,
            u8::from(read),
            message.unwrap_or_default()
        ));
    }
    let path = recording_path(run.name);
    std::fs::create_dir_all(path.parent().unwrap())?;
    std::fs::write(path, out)
}

/// A recording read back with this run's origins filled in.
fn replay(
    browser: &'static str,
    names: &Placeholders,
) -> Option<(BrowserRun, HashMap<String, bool>)> {
    let text = std::fs::read_to_string(recording_path(browser)).ok()?;
    let mut version = String::new();
    let mut console = Vec::new();
    let mut readable = HashMap::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("# ") {
            version = format!("{v} (recorded)");
            continue;
        }
        let mut fields = line.splitn(3, '\t');
        let (Some(id), Some(read), Some(message)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        readable.insert(id.to_string(), read == "1");
        if !message.is_empty() {
            console.push(names.fill_in(message));
        }
    }
    Some((
        BrowserRun {
            name: browser,
            version,
            console,
        },
        readable,
    ))
}

#[test]
fn verdicts_and_messages_agree_with_chromium_and_firefox() {
    let required = std::env::var("CORSTOP_REQUIRE_BROWSERS").is_ok_and(|v| v == "1");
    let rt = runtime();
    let behaviours = Arc::new(scenarios::behaviours());
    let shapes = scenarios::shapes();
    let cases = scenarios::cases(&behaviours, &shapes);
    let mut summary = Vec::new();
    let mut failures = Vec::new();
    for (name, path) in [
        ("Chromium", browsers::chromium_path()),
        ("Firefox", browsers::firefox_path()),
    ] {
        let Some(path) = path else {
            let note =
                format!("SKIPPED {name}: not installed (apt-get install chromium firefox-esr)");
            eprintln!("{note}");
            assert!(!required, "{note}");
            continue;
        };
        let (run, disagreements) = rt
            .block_on(run_browser(name, &path, &behaviours, &shapes, &cases))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let agreeing = cases.len()
            - disagreements
                .iter()
                .map(|d| d.case.as_str())
                .collect::<std::collections::HashSet<_>>()
                .len();
        summary.push(format!(
            "{}: {agreeing}/{} cases agree ({} behaviours x {} shapes)",
            run.version,
            cases.len(),
            behaviours.len(),
            shapes.len()
        ));
        failures.extend(disagreements.into_iter().map(|d| (run.name, d)));
    }
    for line in &summary {
        eprintln!("{line}");
    }
    for (browser, d) in &failures {
        eprintln!(
            "{browser} {} [{}]\n  browser: {}\n  corstop: {}",
            d.case, d.what, d.browser, d.corstop
        );
    }
    assert!(
        failures.is_empty(),
        "{} disagreements with the browsers (listed above)",
        failures.len()
    );
}

/// The recordings in `tests/fixtures/oracle/` replayed against corstop: runs everywhere,
/// needs no browser, and fails when a verdict or message template drifts from what the
/// browsers printed.
#[test]
fn recorded_browser_output_still_matches() {
    let rt = runtime();
    let behaviours = Arc::new(scenarios::behaviours());
    let shapes = scenarios::shapes();
    let cases = scenarios::cases(&behaviours, &shapes);
    let failures = rt.block_on(async {
        let page_origin = Arc::new(std::sync::Mutex::new("http://localhost:9".to_string()));
        let api = ApiServer::start(behaviours.clone(), page_origin.clone()).await;
        let names = Placeholders::of(&api, &page_origin.lock().unwrap());
        let verdicts = judge_all(&cases, &shapes, &api, &names.page).await;
        let mut failures = Vec::new();
        for browser in ["Chromium", "Firefox"] {
            let (run, readable) = replay(browser, &names)
                .unwrap_or_else(|| panic!("no recording for {browser} in tests/fixtures/oracle"));
            assert_eq!(
                readable.len(),
                cases.len(),
                "{browser}: the recording is of other cases; record again"
            );
            let found = compare(&run, &readable, &cases, &verdicts);
            eprintln!(
                "{}: {}/{} recorded cases agree",
                run.version,
                cases.len() - found.len(),
                cases.len()
            );
            failures.extend(found.into_iter().map(|d| (browser, d)));
        }
        failures
    });
    for (browser, d) in &failures {
        eprintln!(
            "{browser} {} [{}]\n  recorded: {}\n  corstop:  {}",
            d.case, d.what, d.browser, d.corstop
        );
    }
    assert!(
        failures.is_empty(),
        "{} disagreements with the recordings",
        failures.len()
    );
}
