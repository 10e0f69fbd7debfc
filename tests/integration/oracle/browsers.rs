//! Headless Chromium and Firefox ESR loading the oracle page, with every console line they
//! print: Chromium's from its stderr log (`--enable-logging=stderr`), Firefox's as WebDriver
//! BiDi `log.entryAdded` events (its stdout console does not carry CORS errors).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// What one browser did with the page.
pub struct BrowserRun {
    pub name: &'static str,
    pub version: String,
    /// Console lines, in the order printed.
    pub console: Vec<String>,
}

/// How long a browser gets to run every case.
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn find(candidates: &[&str]) -> Option<String> {
    candidates.iter().find_map(|c| {
        let path = std::path::Path::new(c);
        path.exists().then(|| c.to_string())
    })
}

pub fn chromium_path() -> Option<String> {
    find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"])
}

pub fn firefox_path() -> Option<String> {
    find(&["/usr/bin/firefox-esr", "/usr/bin/firefox"])
}

fn version(path: &str) -> String {
    Command::new(path)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Ends the browser's whole process group when dropped.
struct Reaper(Child);

impl Drop for Reaper {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        let pid = self.0.id() as i32;
        // SAFETY: kill(2) on a process group this test started.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_group(cmd: &mut Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0).spawn()
}

/// Chromium's console lines look like
/// `[pid:tid:date:INFO:CONSOLE:0] "text", source: http://… (0)`.
fn chromium_console_text(line: &str) -> Option<String> {
    let at = line.find(":CONSOLE")?;
    let rest = &line[at..];
    let start = rest.find("] \"")? + 3;
    let end = rest.rfind("\", source: ")?;
    (end >= start).then(|| rest[start..end].to_string())
}

pub async fn run_chromium(
    path: &str,
    url: &str,
    done: Arc<tokio::sync::Notify>,
) -> Result<BrowserRun, String> {
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(path);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg(url)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut child = spawn_group(&mut cmd).map_err(|e| format!("cannot start {path}: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let reaper = Reaper(child);
    let console = Arc::new(Mutex::new(Vec::new()));
    let sink = console.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(text) = chromium_console_text(&line) {
                sink.lock().unwrap().push(text);
            }
        }
    });
    let finished = tokio::time::timeout(RUN_LIMIT, done.notified()).await;
    // Console lines of the last cases may trail the page's report by a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(reaper);
    let _ = reader.join();
    if finished.is_err() {
        return Err(format!(
            "Chromium did not finish the page within {RUN_LIMIT:?}"
        ));
    }
    let console = console.lock().unwrap().clone();
    Ok(BrowserRun {
        name: "Chromium",
        version: version(path),
        console,
    })
}

pub async fn run_firefox(
    path: &str,
    url: &str,
    done: Arc<tokio::sync::Notify>,
) -> Result<BrowserRun, String> {
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        l.local_addr().map_err(|e| e.to_string())?.port()
    };
    let mut cmd = Command::new(path);
    cmd.args(["--headless", "--no-remote", "--remote-debugging-port"])
        .arg(port.to_string())
        .arg("--profile")
        .arg(profile.path())
        .env("MOZ_CRASHREPORTER_DISABLE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = spawn_group(&mut cmd).map_err(|e| format!("cannot start {path}: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let reaper = Reaper(child);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("WebDriver BiDi listening on") {
                let _ = ready_tx.send(());
            }
        }
    });
    tokio::task::spawn_blocking(move || ready_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "Firefox did not open WebDriver BiDi within 60 s".to_string())?;

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/session"))
        .await
        .map_err(|e| format!("WebDriver BiDi: {e}"))?;
    let console: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut next_id = 0u64;
    let mut version = String::new();
    // Commands are answered in order on this socket; events in between are collected.
    let mut call = async |ws: &mut _, method: &str, params: serde_json::Value| {
        next_id += 1;
        let id = next_id;
        bidi_call(ws, &console, id, method, params).await
    };
    let session = call(
        &mut ws,
        "session.new",
        serde_json::json!({"capabilities": {}}),
    )
    .await?;
    if let Some(v) = session["result"]["capabilities"]["browserVersion"].as_str() {
        version = format!("Mozilla Firefox {v}");
    }
    call(
        &mut ws,
        "session.subscribe",
        serde_json::json!({"events": ["log.entryAdded"]}),
    )
    .await?;
    let tree = call(&mut ws, "browsingContext.getTree", serde_json::json!({})).await?;
    let context = tree["result"]["contexts"][0]["context"]
        .as_str()
        .ok_or("no browsing context")?
        .to_string();
    call(
        &mut ws,
        "browsingContext.navigate",
        serde_json::json!({"context": context, "url": url, "wait": "none"}),
    )
    .await?;
    let deadline = tokio::time::Instant::now() + RUN_LIMIT;
    let finished = done.notified();
    tokio::pin!(finished);
    let mut grace: Option<tokio::time::Instant> = None;
    loop {
        let until = grace.unwrap_or(deadline);
        tokio::select! {
            _ = &mut finished, if grace.is_none() => {
                grace = Some(tokio::time::Instant::now() + Duration::from_millis(500));
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => collect_log(&console, &t),
                Some(Ok(_)) => {}
                _ => break,
            },
            _ = tokio::time::sleep_until(until) => break,
        }
    }
    drop(reaper);
    if grace.is_none() {
        return Err(format!(
            "Firefox did not finish the page within {RUN_LIMIT:?}"
        ));
    }
    let console = console.lock().unwrap().clone();
    Ok(BrowserRun {
        name: "Firefox",
        version,
        console,
    })
}

fn collect_log(console: &Mutex<Vec<String>>, text: &str) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    if v["method"] == "log.entryAdded"
        && let Some(t) = v["params"]["text"].as_str()
    {
        console.lock().unwrap().push(t.to_string());
    }
}

async fn bidi_call<S>(
    ws: &mut S,
    console: &Mutex<Vec<String>>,
    id: u64,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value, String>
where
    S: futures_util::Sink<Message>
        + futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    let msg = serde_json::json!({"id": id, "method": method, "params": params}).to_string();
    ws.send(Message::Text(msg.into()))
        .await
        .map_err(|_| format!("{method}: send failed"))?;
    while let Some(m) = ws.next().await {
        let Ok(Message::Text(t)) = m else { continue };
        let v: serde_json::Value = serde_json::from_str(&t).map_err(|e| e.to_string())?;
        if v["id"] == id {
            if v["type"] == "error" {
                return Err(format!("{method}: {}", v["message"]));
            }
            return Ok(v);
        }
        collect_log(console, &t);
    }
    Err(format!("{method}: connection closed"))
}
