//! Reading a Prometheus server over its HTTP API (`/api/v1/query`, `/api/v1/query_range`): the
//! fleet view's source, where every agent's metrics meet.
//!
//! Answers are decoded into plain samples and series. A server that does not answer, answers
//! slowly or answers too much is an error naming the server (credentials in its URL redacted),
//! never a hang: each request has a deadline and each body a size cap, so the memory a query
//! can take is bounded whatever the server sends.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::model::redact;
use crate::model::time::EpochMs;

/// Largest answer read, in bytes: a fleet of a few thousand series over a few hundred steps.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// Labels of one series, `__name__` included when the server sends it.
pub type Labels = BTreeMap<String, String>;

/// One series' value at the query's instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub time: EpochMs,
    pub value: f64,
}

/// One series over a range, oldest point first.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(EpochMs, f64)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PromError {
    #[error("Prometheus at {server}: {message}")]
    Transport { server: String, message: String },
    #[error("Prometheus at {server} answered HTTP {status}: {body}")]
    Http {
        server: String,
        status: u16,
        body: String,
    },
    #[error("Prometheus refused the query ({kind}): {message}")]
    Query { kind: String, message: String },
    #[error("Prometheus answer not understood: {0}")]
    Decode(String),
    #[error("Prometheus answer over {limit} bytes; narrow the query or the range")]
    TooLarge { limit: usize },
}

/// The API's envelope: `status` and either `data` or `errorType` / `error`.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<VectorEntry>),
    Matrix(Vec<MatrixEntry>),
    Scalar((f64, String)),
    /// Only to say it is not understood.
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct VectorEntry {
    metric: Labels,
    value: (f64, String),
}

#[derive(Deserialize)]
struct MatrixEntry {
    metric: Labels,
    values: Vec<(f64, String)>,
}

/// A sample value as the API writes it: a decimal string, or `NaN`, `+Inf`, `-Inf`.
fn value(s: &str) -> Result<f64, PromError> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s
            .parse()
            .map_err(|_| PromError::Decode(format!("sample value {s:?} is not a number"))),
    }
}

/// Seconds with a fraction, as the API gives times, to milliseconds.
fn time_ms(seconds: f64) -> EpochMs {
    (seconds * 1000.0).round() as EpochMs
}

fn envelope(body: &[u8]) -> Result<Data, PromError> {
    let env: Envelope =
        serde_json::from_slice(body).map_err(|e| PromError::Decode(e.to_string()))?;
    if env.status != "success" {
        return Err(PromError::Query {
            kind: env.error_type.unwrap_or_else(|| "error".into()),
            message: redact::text(&env.error.unwrap_or_default()).into_owned(),
        });
    }
    env.data
        .ok_or_else(|| PromError::Decode("a successful answer without data".into()))
}

/// An instant query's answer: a vector, or a scalar as one sample without labels.
pub fn decode_instant(body: &[u8]) -> Result<Vec<Sample>, PromError> {
    match envelope(body)? {
        Data::Vector(v) => v
            .into_iter()
            .map(|e| {
                Ok(Sample {
                    labels: e.metric,
                    time: time_ms(e.value.0),
                    value: value(&e.value.1)?,
                })
            })
            .collect(),
        Data::Scalar((t, v)) => Ok(vec![Sample {
            labels: Labels::new(),
            time: time_ms(t),
            value: value(&v)?,
        }]),
        Data::Matrix(_) => Err(PromError::Decode(
            "a range vector where an instant one was expected (the query selects a range)".into(),
        )),
        Data::String(_) => Err(PromError::Decode("a string result".into())),
    }
}

/// A range query's answer.
pub fn decode_range(body: &[u8]) -> Result<Vec<Series>, PromError> {
    match envelope(body)? {
        Data::Matrix(m) => m
            .into_iter()
            .map(|e| {
                let points = e
                    .values
                    .iter()
                    .map(|(t, v)| Ok((time_ms(*t), value(v)?)))
                    .collect::<Result<_, PromError>>()?;
                Ok(Series {
                    labels: e.metric,
                    points,
                })
            })
            .collect(),
        _ => Err(PromError::Decode(
            "an instant result where a range was expected".into(),
        )),
    }
}

/// A Prometheus server's query API.
#[derive(Clone)]
pub struct Client {
    base: url::Url,
    /// The base URL as errors and screens show it: credentials redacted.
    shown: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for the server at `base` (`http://host:9090`, or with a path prefix), each
    /// request bounded by `timeout`.
    pub fn new(base: &str, timeout: Duration) -> Result<Client, PromError> {
        let shown = redact::text(base).into_owned();
        let mut url = url::Url::parse(base).map_err(|e| PromError::Transport {
            server: shown.clone(),
            message: format!("not a URL: {e}"),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PromError::Transport {
                server: shown,
                message: "the URL must start with http:// or https://".into(),
            });
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("corstop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PromError::Transport {
                server: shown.clone(),
                message: e.to_string(),
            })?;
        Ok(Client {
            base: url,
            shown,
            http,
        })
    }

    /// The server as shown to people (credentials redacted).
    pub fn server(&self) -> &str {
        &self.shown
    }

    /// `promql` evaluated at `at` (the server's now when `None`).
    pub async fn query(&self, promql: &str, at: Option<EpochMs>) -> Result<Vec<Sample>, PromError> {
        let mut form = vec![("query", promql.to_string())];
        if let Some(t) = at {
            form.push(("time", seconds(t)));
        }
        decode_instant(&self.post("api/v1/query", &form).await?)
    }

    /// `promql` evaluated every `step_ms` from `start` to `end`.
    pub async fn query_range(
        &self,
        promql: &str,
        start: EpochMs,
        end: EpochMs,
        step_ms: EpochMs,
    ) -> Result<Vec<Series>, PromError> {
        let form = [
            ("query", promql.to_string()),
            ("start", seconds(start)),
            ("end", seconds(end)),
            ("step", seconds(step_ms.max(1))),
        ];
        decode_range(&self.post("api/v1/query_range", &form).await?)
    }

    async fn post(&self, path: &str, form: &[(&str, String)]) -> Result<Vec<u8>, PromError> {
        let transport = |e: reqwest::Error| PromError::Transport {
            server: self.shown.clone(),
            message: redact::text(&error_chain(&e)).into_owned(),
        };
        let url = self.base.join(path).map_err(|e| PromError::Transport {
            server: self.shown.clone(),
            message: e.to_string(),
        })?;
        let mut resp = self
            .http
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(PromError::TooLarge { limit: MAX_BODY });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(PromError::TooLarge { limit: MAX_BODY });
            }
            body.extend_from_slice(&chunk);
        }
        // The API answers query errors with 400/422 and a JSON body that says why.
        if !(200..300).contains(&status) && !matches!(status, 400 | 422 | 503) {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(PromError::Http {
                server: self.shown.clone(),
                status,
                body: crate::model::text::inert(&redact::text(&text)).into_owned(),
            });
        }
        Ok(body)
    }
}

fn seconds(ms: EpochMs) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// The error with its causes, which is where "connection refused" or "timed out" is said.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected samples: labels, time, value.
    type Want = Vec<(&'static [(&'static str, &'static str)], EpochMs, f64)>;

    #[test]
    fn instant_answers() {
        let cases: &[(&str, Result<Want, &str>)] = &[
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[
                    {"metric":{"__name__":"up","instance":"a:9464"},"value":[1700000000.5,"1"]},
                    {"metric":{"instance":"b:9464"},"value":[1700000000.5,"0"]}]}}"#,
                Ok(vec![
                    (
                        &[("__name__", "up"), ("instance", "a:9464")],
                        1_700_000_000_500,
                        1.0,
                    ),
                    (&[("instance", "b:9464")], 1_700_000_000_500, 0.0),
                ]),
            ),
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
                Ok(vec![]),
            ),
            (
                r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"+Inf"]}}"#,
                Ok(vec![(&[], 1_700_000_000_000, f64::INFINITY)]),
            ),
            (
                r#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#,
                Err("Prometheus refused the query (bad_data): parse error at char 4"),
            ),
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[
                    {"metric":{},"value":[1,"twelve"]}]}}"#,
                Err("sample value \"twelve\" is not a number"),
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
                Err("range vector where an instant one"),
            ),
            (r#"<html>"#, Err("answer not understood")),
        ];
        for (body, want) in cases {
            let got = decode_instant(body.as_bytes());
            match (want, got) {
                (Ok(want), Ok(got)) => {
                    assert_eq!(got.len(), want.len(), "{body}");
                    for (g, (labels, t, v)) in got.iter().zip(want) {
                        let labels: Labels = labels
                            .iter()
                            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                            .collect();
                        assert_eq!((&g.labels, g.time, g.value), (&labels, *t, *v), "{body}");
                    }
                }
                (Err(want), Err(got)) => {
                    assert!(got.to_string().contains(want), "{body}: {got}");
                }
                (want, got) => panic!("{body}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn range_answers() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"route":"/api/orders"},"values":[[1700000000,"3"],[1700000060,"NaN"]]}]}}"#;
        let got = decode_range(body.as_bytes()).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].labels["route"], "/api/orders");
        assert_eq!(got[0].points[0], (1_700_000_000_000, 3.0));
        assert!(got[0].points[1].1.is_nan());
        let instant = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(decode_range(instant.as_bytes()).is_err());
    }

    #[test]
    fn bad_servers_are_named_without_their_credentials() {
        let e = Client::new("ftp://prom:9090", Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(e.to_string().contains("http://"), "{e}");
        let c = Client::new(
            "http://user:s3cret@prom.example:9090/prefix",
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!c.server().contains("s3cret"), "{}", c.server());
        assert_eq!(
            c.base.as_str(),
            "http://user:s3cret@prom.example:9090/prefix/"
        );
    }

    #[test]
    fn times_are_sent_in_seconds() {
        assert_eq!(seconds(1_700_000_000_500), "1700000000.500");
        assert_eq!(seconds(15_000), "15.000");
    }

    /// A loopback server that reads a request and answers with `answer` (or never, if `None`).
    async fn server(answer: Option<&'static [u8]>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                match answer {
                    Some(a) => {
                        let _ = conn.write_all(a).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_silent_server_times_out_and_a_huge_answer_is_refused() {
        let silent = server(None).await;
        let c = Client::new(&silent, Duration::from_millis(300)).unwrap();
        let started = std::time::Instant::now();
        let e = c.query("up", None).await.unwrap_err();
        assert!(matches!(e, PromError::Transport { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));

        let huge = server(Some(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 900000000\r\n\r\n{",
        ))
        .await;
        let c = Client::new(&huge, Duration::from_secs(5)).unwrap();
        let e = c.query("up", None).await.unwrap_err();
        assert_eq!(e, PromError::TooLarge { limit: MAX_BODY });

        let broken = server(Some(
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 9\r\n\r\nno \x1b[31mway",
        ))
        .await;
        let c = Client::new(&broken, Duration::from_secs(5)).unwrap();
        let e = c.query("up", None).await.unwrap_err().to_string();
        assert!(e.contains("HTTP 500") && !e.contains('\x1b'), "{e}");
    }
}
