//! Log files the demo API writes, in the shapes App Service produces: the HTTP log as one Azure
//! diagnostic record per line (`AppServiceHTTPLogs`) and the authentication log as text lines.
//!
//! One writer task per file owns the file; request handlers only format a line and hand it over
//! a bounded channel, so lines never interleave and a slow disk never blocks a request (lines are
//! dropped and counted instead).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::model::redact;
use crate::model::time::{EpochMs, format_rfc3339, format_rfc3339_millis};

/// Lines waiting for the writer; beyond this, new lines are dropped.
const CHANNEL_CAPACITY: usize = 8192;
/// Buffered bytes that force a write before the next flush tick.
const WRITE_THRESHOLD: usize = 64 * 1024;
/// Tailers should see lines promptly.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Sending side of one log file.
#[derive(Clone)]
pub struct LogLine {
    tx: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
}

impl LogLine {
    /// Queues one line (without its newline). Never blocks.
    pub fn send(&self, line: String) {
        if self.tx.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped because the writer fell behind or was gone.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A log file past this size is renamed to `<name>.1` (replacing an older one) and started
/// afresh, as App Service rotates its logs; disk use stays bounded however long the demo runs.
pub const ROTATE_BYTES: u64 = 32 * 1024 * 1024;

/// Creates (truncates) the file now, so a tailer can open it as soon as the demo is up, and
/// spawns its writer task. The task ends when `stop` flips to true or every sender is gone,
/// writing out whatever is queued first.
pub fn spawn_writer(
    path: &Path,
    stop: watch::Receiver<bool>,
) -> std::io::Result<(LogLine, JoinHandle<()>)> {
    spawn_rotating_writer(path, stop, ROTATE_BYTES)
}

/// [`spawn_writer`] with a chosen rotation size.
pub fn spawn_rotating_writer(
    path: &Path,
    stop: watch::Receiver<bool>,
    rotate_bytes: u64,
) -> std::io::Result<(LogLine, JoinHandle<()>)> {
    let file = create(path)?;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let out = Output {
        path: path.to_path_buf(),
        file: tokio::fs::File::from_std(file),
        written: 0,
        rotate_bytes: rotate_bytes.max(1),
    };
    let handle = tokio::spawn(write_loop(out, rx, stop));
    Ok((
        LogLine {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        },
        handle,
    ))
}

fn create(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
}

struct Output {
    path: PathBuf,
    file: tokio::fs::File,
    written: u64,
    rotate_bytes: u64,
}

impl Output {
    /// Writes whole lines only; returns false when the file became unwritable.
    async fn write_out(&mut self, buf: &mut Vec<u8>) -> bool {
        if buf.is_empty() {
            return true;
        }
        if self.written > 0
            && self.written + buf.len() as u64 > self.rotate_bytes
            && let Err(e) = self.rotate().await
        {
            tracing::warn!(error = %e, path = %self.path.display(), "demo log rotation failed");
        }
        let res = async {
            self.file.write_all(buf).await?;
            self.file.flush().await
        }
        .await;
        self.written += buf.len() as u64;
        buf.clear();
        match res {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "demo log file write failed; writer stops");
                false
            }
        }
    }

    async fn rotate(&mut self) -> std::io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        tokio::fs::rename(&self.path, &old).await?;
        self.file = tokio::fs::File::from_std(create(&self.path)?);
        self.written = 0;
        Ok(())
    }
}

async fn write_loop(
    mut out: Output,
    mut rx: mpsc::Receiver<String>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_THRESHOLD);
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some(line) => {
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                    if buf.len() >= WRITE_THRESHOLD && !out.write_out(&mut buf).await {
                        return;
                    }
                }
                None => break,
            },
            _ = tick.tick() => {
                if !out.write_out(&mut buf).await {
                    return;
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    while let Ok(line) = rx.try_recv() {
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
    }
    out.write_out(&mut buf).await;
}

/// What one served request contributes to the HTTP log.
pub struct HttpLogEntry<'a> {
    pub time: EpochMs,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub status: u16,
    pub time_taken_ms: u32,
    pub host: &'a str,
    pub referer: &'a str,
    pub user_agent: &'a str,
    pub computer: &'a str,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Real exports sometimes carry numbers as strings; the writer varies it by record.
    pub numbers_as_strings: bool,
}

/// One `AppServiceHTTPLogs` record as a single JSON line. Cookie and authorization values never
/// reach the log: the record has no column for them and the query string is redacted.
pub fn http_record(e: &HttpLogEntry<'_>) -> String {
    let num = |n: u64| -> Value {
        if e.numbers_as_strings {
            Value::String(n.to_string())
        } else {
            Value::from(n)
        }
    };
    let result = if e.status < 400 { "Success" } else { "Fail" };
    let rec = json!({
        "time": format_rfc3339_millis(e.time),
        "resourceId": "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/CONTOSO-RG/PROVIDERS/MICROSOFT.WEB/SITES/CONTOSO-API",
        "category": "AppServiceHTTPLogs",
        "operationName": "Microsoft.Web/sites/log",
        "properties": {
            "CsMethod": e.method,
            "CsUriStem": e.path,
            "CsUriQuery": redact::text(e.query),
            "SPort": "443",
            "CIp": "127.0.0.1",
            "UserAgent": redact::text(e.user_agent),
            "Cookie": "-",
            "Referer": redact::text(e.referer),
            "CsHost": e.host,
            "ScStatus": num(u64::from(e.status)),
            "ScSubStatus": "0",
            "ScWin32Status": "0",
            "ScBytes": num(e.bytes_sent),
            "CsBytes": num(e.bytes_received),
            "TimeTaken": num(u64::from(e.time_taken_ms)),
            "Result": result,
            "ComputerName": e.computer,
        }
    });
    rec.to_string()
}

/// One authentication-log text line: `<time> <operation> <message>`.
pub fn auth_line(time: EpochMs, operation: &str, message: &str) -> String {
    format!(
        "{} {} {}",
        format_rfc3339(time),
        operation,
        redact::text(message)
    )
}

/// The Microsoft.IdentityModel lifetime failure, as the validator logs it.
pub fn expired_message(valid_to: EpochMs, now: EpochMs) -> String {
    format!(
        "IDX10223: Lifetime validation failed. The token is expired. ValidTo: '{}', Current time: '{}'.",
        format_rfc3339(valid_to),
        format_rfc3339(now)
    )
}

/// The same failure as an exception with its stack, spread over several lines the way .NET
/// writes it; continuation lines start with whitespace.
pub fn expired_exception_block(valid_to: EpochMs, now: EpochMs) -> String {
    format!(
        "{}\n{}",
        auth_line(
            now,
            "ValidateToken",
            &format!(
                "Microsoft.IdentityModel.Tokens.SecurityTokenExpiredException: {}",
                expired_message(valid_to, now)
            )
        ),
        [
            "   at Microsoft.IdentityModel.Tokens.Validators.ValidateLifetime(Nullable`1 notBefore, Nullable`1 expires, SecurityToken securityToken, TokenValidationParameters validationParameters)",
            "   at Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler.ValidateTokenPayloadAsync(JsonWebToken jsonWebToken, TokenValidationParameters validationParameters, BaseConfiguration configuration)",
            "   at Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerHandler.HandleAuthenticateAsync()",
        ]
        .join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::parse_rfc3339;

    fn entry(numbers_as_strings: bool) -> HttpLogEntry<'static> {
        HttpLogEntry {
            time: 1_775_298_662_123,
            method: "OPTIONS",
            path: "/api/orders",
            query: "access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            status: 401,
            time_taken_ms: 3,
            host: "127.0.0.1:8080",
            referer: "https://app.contoso.com/orders",
            user_agent: "Mozilla/5.0",
            computer: "web-1",
            bytes_sent: 0,
            bytes_received: 310,
            numbers_as_strings,
        }
    }

    #[test]
    fn http_record_shape() {
        let v: Value = serde_json::from_str(&http_record(&entry(false))).unwrap();
        assert_eq!(v["time"], "2026-04-04T10:31:02.123Z");
        assert_eq!(v["category"], "AppServiceHTTPLogs");
        let p = &v["properties"];
        assert_eq!(p["CsMethod"], "OPTIONS");
        assert_eq!(p["CsUriStem"], "/api/orders");
        assert_eq!(p["ScStatus"], 401);
        assert_eq!(p["TimeTaken"], 3);
        assert_eq!(p["Referer"], "https://app.contoso.com/orders");
        assert_eq!(p["ComputerName"], "web-1");
        assert!(!p["CsUriQuery"].as_str().unwrap().contains("eyJ"));

        let v: Value = serde_json::from_str(&http_record(&entry(true))).unwrap();
        assert_eq!(v["properties"]["ScStatus"], "401");
        assert_eq!(v["properties"]["TimeTaken"], "3");
    }

    #[test]
    fn auth_lines() {
        let now = 1_775_298_662_000;
        let line = auth_line(now, "ValidateToken", &expired_message(now - 60_000, now));
        assert_eq!(
            line,
            "2026-04-04T10:31:02Z ValidateToken IDX10223: Lifetime validation failed. The token is expired. ValidTo: '2026-04-04T10:30:02Z', Current time: '2026-04-04T10:31:02Z'."
        );
        let block = expired_exception_block(now - 60_000, now);
        let mut lines = block.lines();
        let first = lines.next().unwrap();
        assert!(parse_rfc3339(first.split(' ').next().unwrap().as_bytes()).is_some());
        assert!(first.contains("IDX10223"));
        let rest: Vec<&str> = lines.collect();
        assert_eq!(rest.len(), 3);
        assert!(rest.iter().all(|l| l.starts_with("   at ")));
    }

    #[tokio::test]
    async fn writer_rotates_by_renaming() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.log");
        let (stop_tx, stop_rx) = watch::channel(false);
        let (line, task) = spawn_rotating_writer(&path, stop_rx, 1).unwrap();
        line.send("first".into());
        // Wait (bounded) until the first batch is on disk so the second is a separate write.
        for _ in 0..100 {
            if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        line.send("second".into());
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let rotated = std::fs::read_to_string(dir.path().join("r.log.1")).unwrap();
        assert_eq!(rotated, "first\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second\n");
    }

    #[tokio::test]
    async fn writer_flushes_whole_lines_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let (stop_tx, stop_rx) = watch::channel(false);
        let (line, task) = spawn_writer(&path, stop_rx).unwrap();
        assert!(path.exists());
        for i in 0..100 {
            line.send(format!("line {i}"));
        }
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 100);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[99], "line 99");
        assert!(text.ends_with('\n'));
    }
}
