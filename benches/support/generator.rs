//! Log generators shared by the benchmarks: deterministic (seeded) access logs in every
//! supported shape, with several routes with numeric, UUID and invoice ids, preflights, 2xx–5xx
//! statuses, several origins and skewed latencies.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use corstop::model::time::to_datetime;

/// Small deterministic PRNG (splitmix64): the same seed gives the same files on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: unbiased enough for log generation and branch-free.
        ((self.next() >> 32) * n) >> 32
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const ORIGINS: &[&str] = &[
    "https://app.contoso.com",
    "https://app.contoso.com",
    "https://app.contoso.com",
    "https://admin.contoso.com",
    "https://app.contoso.com:8443",
    "http://localhost:3000",
    "https://partner.fabrikam.com",
    "https://staging-app.contoso.com",
];

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "okhttp/4.12.0",
    "curl/8.5.0",
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// One generated request, independent of the format it is written in.
#[derive(Default)]
struct Req {
    method: &'static str,
    /// Path without the query.
    stem: String,
    /// Query without `?`, empty when none.
    query: String,
    status: u16,
    latency_ms: u32,
    bytes: u32,
    origin: Option<&'static str>,
    acao: Option<&'static str>,
    acao_doubled: bool,
    ip: [u8; 4],
    port: u16,
    agent: &'static str,
    user: Option<&'static str>,
}

pub struct Generator {
    rng: Rng,
    /// Event time, ms since the epoch.
    t: i64,
    /// With a step of its own ([`Generator::starting_at`]): event time in µs, and the
    /// longest step between lines.
    t_us: i64,
    max_step_us: Option<u64>,
    /// Cached calendar fields of `t`'s second.
    sec: i64,
    ymd: (i64, u32, u32),
    hms: (u32, u32, u32),
    req: Req,
    lines_since_header: u64,
}

fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_pad(buf: &mut Vec<u8>, v: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut n = v;
    let mut i = tmp.len();
    while n > 0 {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = tmp.len() - width.max(tmp.len() - i);
    buf.extend_from_slice(&tmp[start..]);
}

fn push_hex(buf: &mut Vec<u8>, v: u64, digits: usize) {
    for i in (0..digits).rev() {
        let d = ((v >> (i * 4)) & 0xf) as u8;
        buf.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
    }
}

fn push_ip(buf: &mut Vec<u8>, ip: [u8; 4]) {
    for (i, o) in ip.iter().enumerate() {
        if i > 0 {
            buf.push(b'.');
        }
        push_u64(buf, *o as u64);
    }
}

/// Pushes a JSON string body; generated values never need escaping except the agents' quotes.
fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' {
            buf.push(b'\\');
        }
        buf.push(b);
    }
}

impl Generator {
    fn new(seed: u64) -> Generator {
        // 2026-04-04T00:00:00Z
        let t = 1_775_260_800_000;
        let mut g = Generator {
            rng: Rng(seed),
            t,
            t_us: t * 1000,
            max_step_us: None,
            sec: i64::MIN,
            ymd: (0, 0, 0),
            hms: (0, 0, 0),
            req: Req::default(),
            lines_since_header: 0,
        };
        g.calendar();
        g
    }

    /// Lines from `t0` on, each a uniform `0..=max_step_us` after the previous one.
    pub fn starting_at(seed: u64, t0: i64, max_step_us: u64) -> Generator {
        let mut g = Generator::new(seed);
        g.t = t0;
        g.t_us = t0 * 1000;
        g.max_step_us = Some(max_step_us);
        g.sec = i64::MIN;
        g.calendar();
        g
    }

    /// The time of the line written last, ms since the epoch.
    pub fn time(&self) -> i64 {
        self.t
    }

    fn calendar(&mut self) {
        let sec = self.t.div_euclid(1000);
        if sec == self.sec {
            return;
        }
        self.sec = sec;
        let date = to_datetime(sec * 1000).expect("generated times are in chrono's range");
        self.ymd = {
            use chrono::Datelike;
            (i64::from(date.year()), date.month(), date.day())
        };
        let s = sec.rem_euclid(86_400) as u32;
        self.hms = (s / 3600, (s / 60) % 60, s % 60);
    }

    /// Advances time and draws the next request.
    fn next_req(&mut self) {
        // Mean step 5 ms: 5 M lines cover about 7 hours and 20 M about 28, both longer than the
        // store's 6 h retention, so that the two sizes compare memory with the window full.
        match self.max_step_us {
            None => self.t += self.rng.below(11) as i64,
            Some(max) => {
                self.t_us += self.rng.below(max + 1) as i64;
                self.t = self.t_us.div_euclid(1000);
            }
        }
        self.calendar();
        let rng = &mut self.rng;
        let r = &mut self.req;
        r.stem.clear();
        r.query.clear();
        let route = rng.below(100);
        let api = route < 88;
        let id = 1000 + rng.below(90_000);
        match route {
            0..=17 => r.stem.push_str("/api/orders"),
            18..=39 => {
                let _ = write!(r.stem, "/api/orders/{id}");
            }
            40..=49 => {
                let _ = write!(r.stem, "/api/orders/{id}/lines");
                r.query.push_str("expand=product");
            }
            50..=59 => {
                let _ = write!(r.stem, "/api/customers/{}/addresses", id * 7);
            }
            60..=69 => {
                r.stem.push_str("/api/products");
                let _ = write!(r.query, "page={}&size=50", rng.below(40) + 1);
            }
            70..=77 => {
                let _ = write!(r.stem, "/api/invoices/INV-2026-{:05}", rng.below(100_000));
            }
            78..=82 => {
                let a = rng.next();
                let b = rng.next();
                let _ = write!(
                    r.stem,
                    "/api/users/{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                    a >> 32,
                    (a >> 16) & 0xffff,
                    a & 0xfff,
                    b >> 52,
                    b & 0xffff_ffff_ffff
                );
            }
            83..=87 => r.stem.push_str("/api/auth/token"),
            88..=93 => r.stem.push_str("/health"),
            _ => {
                let _ = write!(
                    r.stem,
                    "/static/js/app.{:08x}.js",
                    rng.below(4) * 0x01f3_a5c7 + 0x3f9c_2e1b
                );
            }
        }
        let m = rng.below(100);
        r.method = if !api {
            "GET"
        } else {
            match m {
                0..=17 => "OPTIONS",
                18..=69 => "GET",
                70..=84 => "POST",
                85..=92 => "PUT",
                93..=96 => "DELETE",
                _ => "PATCH",
            }
        };
        let s = rng.below(1000);
        r.status = if r.method == "OPTIONS" {
            match s {
                0..=849 => 204,
                850..=919 => 401,
                920..=959 => 403,
                960..=979 => 404,
                _ => 500,
            }
        } else {
            match s {
                0..=699 if r.method == "POST" => 201,
                0..=699 => 200,
                700..=749 => 304,
                750..=829 => 401,
                830..=869 => 403,
                870..=909 => 404,
                910..=949 => 400,
                950..=979 => 500,
                980..=989 => 502,
                _ => 200,
            }
        };
        let l = rng.below(1000);
        r.latency_ms = match l {
            0..=899 => 1 + rng.below(40) as u32,
            900..=994 => 100 + rng.below(1000) as u32,
            _ => 1000 + rng.below(4000) as u32,
        };
        r.bytes = match r.status {
            204 | 304 => 0,
            _ if r.method == "OPTIONS" => 0,
            _ => 80 + rng.below(40_000) as u32,
        };
        r.origin = if api && rng.below(100) >= 25 {
            Some(rng.pick(ORIGINS))
        } else {
            None
        };
        r.acao = match r.origin {
            Some(o) if r.status < 400 && rng.below(100) < 97 => Some(o),
            _ => None,
        };
        r.acao_doubled = r.acao.is_some() && rng.below(1000) == 0;
        let pool = rng.below(100);
        r.ip = match pool {
            0..=59 => [203, 0, 113, rng.below(254) as u8 + 1],
            60..=89 => [198, 51, 100, rng.below(254) as u8 + 1],
            _ => [10, 1, rng.below(16) as u8, rng.below(254) as u8 + 1],
        };
        r.port = 1024 + rng.below(60_000) as u16;
        r.agent = rng.pick(AGENTS);
        r.user = (rng.below(100) < 3).then_some("alice");
    }

    fn ms(&self) -> u64 {
        self.t.rem_euclid(1000) as u64
    }

    /// `2026-04-04T10:31:02` (no fraction, no zone).
    fn push_iso_seconds(&self, buf: &mut Vec<u8>, sep: u8) {
        let (y, mo, d) = self.ymd;
        let (h, mi, s) = self.hms;
        push_pad(buf, y as u64, 4);
        buf.push(b'-');
        push_pad(buf, mo as u64, 2);
        buf.push(b'-');
        push_pad(buf, d as u64, 2);
        buf.push(sep);
        push_pad(buf, h as u64, 2);
        buf.push(b':');
        push_pad(buf, mi as u64, 2);
        buf.push(b':');
        push_pad(buf, s as u64, 2);
    }

    fn push_rfc3339_ms(&self, buf: &mut Vec<u8>) {
        self.push_iso_seconds(buf, b'T');
        buf.push(b'.');
        push_pad(buf, self.ms(), 3);
        buf.push(b'Z');
    }

    fn push_path(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(self.req.stem.as_bytes());
        if !self.req.query.is_empty() {
            buf.push(b'?');
            buf.extend_from_slice(self.req.query.as_bytes());
        }
    }

    fn push_acao(&self, buf: &mut Vec<u8>, sep: &[u8]) {
        if let Some(a) = self.req.acao {
            buf.extend_from_slice(a.as_bytes());
            if self.req.acao_doubled {
                buf.extend_from_slice(sep);
                buf.extend_from_slice(a.as_bytes());
            }
        }
    }

    /// Appends one line of `format` (with its newline); returns how many lines were written
    /// (header blocks count).
    pub fn line(&mut self, format: &str, buf: &mut Vec<u8>) -> u64 {
        let mut extra = 0;
        if format == "w3c" && self.lines_since_header == 0 {
            extra = self.w3c_header(buf);
        }
        self.lines_since_header = (self.lines_since_header + 1 + extra) % 1_000_000;
        self.next_req();
        match format {
            "appservice-http" => self.appservice(buf),
            "combined" => self.combined(buf),
            "w3c" => self.w3c(buf),
            "envoy" => self.envoy(buf),
            "azure-json" => self.azure(buf),
            "caddy" => self.caddy(buf),
            _ => self.traefik(buf),
        }
        buf.push(b'\n');
        1 + extra
    }

    fn appservice(&self, buf: &mut Vec<u8>) {
        let r = &self.req;
        self.push_rfc3339_ms(buf);
        buf.push(b' ');
        buf.extend_from_slice(r.method.as_bytes());
        buf.push(b' ');
        self.push_path(buf);
        buf.push(b' ');
        push_u64(buf, r.status as u64);
        buf.push(b' ');
        push_u64(buf, r.latency_ms as u64);
    }

    fn combined(&self, buf: &mut Vec<u8>) {
        let r = &self.req;
        push_ip(buf, r.ip);
        buf.extend_from_slice(b" - ");
        buf.extend_from_slice(r.user.unwrap_or("-").as_bytes());
        buf.extend_from_slice(b" [");
        let (y, mo, d) = self.ymd;
        let (h, mi, s) = self.hms;
        push_pad(buf, d as u64, 2);
        buf.push(b'/');
        buf.extend_from_slice(MONTHS[(mo as usize).saturating_sub(1) % 12].as_bytes());
        buf.push(b'/');
        push_pad(buf, y as u64, 4);
        buf.push(b':');
        push_pad(buf, h as u64, 2);
        buf.push(b':');
        push_pad(buf, mi as u64, 2);
        buf.push(b':');
        push_pad(buf, s as u64, 2);
        buf.extend_from_slice(b" +0000] \"");
        buf.extend_from_slice(r.method.as_bytes());
        buf.push(b' ');
        self.push_path(buf);
        buf.extend_from_slice(b" HTTP/1.1\" ");
        push_u64(buf, r.status as u64);
        buf.push(b' ');
        push_u64(buf, r.bytes as u64);
        buf.extend_from_slice(b" \"");
        match r.origin {
            Some(o) => {
                buf.extend_from_slice(o.as_bytes());
                buf.extend_from_slice(b"/orders");
            }
            None => buf.push(b'-'),
        }
        buf.extend_from_slice(b"\" \"");
        buf.extend_from_slice(r.agent.as_bytes());
        buf.push(b'"');
    }

    fn w3c_header(&self, buf: &mut Vec<u8>) -> u64 {
        buf.extend_from_slice(
            b"#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: ",
        );
        self.push_iso_seconds(buf, b' ');
        buf.extend_from_slice(b"\n#Fields: date time s-sitename cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken\n");
        4
    }

    fn w3c(&self, buf: &mut Vec<u8>) {
        let r = &self.req;
        self.push_iso_seconds(buf, b' ');
        buf.extend_from_slice(b" CONTOSO-API ");
        buf.extend_from_slice(r.method.as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(r.stem.as_bytes());
        buf.push(b' ');
        if r.query.is_empty() {
            buf.push(b'-');
        } else {
            buf.extend_from_slice(r.query.as_bytes());
        }
        buf.extend_from_slice(b" 443 ");
        buf.extend_from_slice(r.user.unwrap_or("-").as_bytes());
        buf.push(b' ');
        push_ip(buf, r.ip);
        buf.push(b' ');
        for &c in r.agent.as_bytes() {
            buf.push(if c == b' ' { b'+' } else { c });
        }
        buf.extend_from_slice(if r.port.is_multiple_of(3) {
            b" ARRAffinity=4f1c2d9e8a7b6c5d "
        } else {
            b" - "
        });
        match r.origin {
            Some(o) => {
                buf.extend_from_slice(o.as_bytes());
                buf.extend_from_slice(b"/orders");
            }
            None => buf.push(b'-'),
        }
        buf.extend_from_slice(b" contoso-api.azurewebsites.net ");
        push_u64(buf, r.status as u64);
        buf.extend_from_slice(b" 0 0 ");
        push_u64(buf, r.bytes as u64 + 245);
        buf.push(b' ');
        push_u64(buf, 400 + (r.port % 900) as u64);
        buf.push(b' ');
        push_u64(buf, r.latency_ms as u64);
    }

    fn envoy(&self, buf: &mut Vec<u8>) {
        let r = &self.req;
        buf.push(b'[');
        self.push_rfc3339_ms(buf);
        buf.extend_from_slice(b"] \"");
        buf.extend_from_slice(r.method.as_bytes());
        buf.push(b' ');
        self.push_path(buf);
        buf.extend_from_slice(b" HTTP/1.1\" ");
        push_u64(buf, r.status as u64);
        buf.extend_from_slice(if r.status == 401 {
            b" UAEX 0 "
        } else {
            b" - 0 "
        });
        push_u64(buf, r.bytes as u64);
        buf.push(b' ');
        push_u64(buf, r.latency_ms as u64);
        buf.push(b' ');
        if r.status == 401 {
            buf.push(b'-');
        } else {
            push_u64(buf, r.latency_ms.saturating_sub(1) as u64);
        }
        buf.extend_from_slice(b" \"");
        push_ip(buf, r.ip);
        buf.extend_from_slice(b"\" \"");
        buf.extend_from_slice(r.agent.as_bytes());
        buf.extend_from_slice(b"\" \"");
        push_hex(buf, self.t as u64 & 0xffff_ffff, 8);
        buf.extend_from_slice(b"-0000-4000-8000-");
        push_hex(buf, (r.port as u64) << 20 | r.ip[3] as u64, 12);
        buf.extend_from_slice(b"\" \"api.contoso.com\" \"10.0.0.");
        push_u64(buf, 5 + (r.port % 3) as u64);
        buf.extend_from_slice(b":8080\" \"");
        buf.extend_from_slice(r.origin.unwrap_or("-").as_bytes());
        buf.push(b'"');
    }

    fn azure(&self, buf: &mut Vec<u8>) {
        let r = &self.req;
        buf.extend_from_slice(b"{\"time\":\"");
        self.push_iso_seconds(buf, b'T');
        buf.push(b'.');
        push_pad(buf, self.ms(), 3);
        buf.extend_from_slice(b"0000Z\",\"resourceId\":\"/SUBSCRIPTIONS/6A1E2B3C-0000-4000-8000-00000000ABCD/RESOURCEGROUPS/RG-CONTOSO/PROVIDERS/MICROSOFT.WEB/SITES/CONTOSO-API\",\"category\":\"AppServiceHTTPLogs\",\"operationName\":\"Microsoft.Web/sites/log\",\"properties\":{\"CsHost\":\"contoso-api.azurewebsites.net\",\"CIp\":\"");
        push_ip(buf, r.ip);
        buf.extend_from_slice(b"\",\"SPort\":\"443\",\"CsUriStem\":\"");
        buf.extend_from_slice(r.stem.as_bytes());
        buf.extend_from_slice(b"\",\"CsUriQuery\":\"");
        buf.extend_from_slice(r.query.as_bytes());
        buf.extend_from_slice(b"\",\"CsMethod\":\"");
        buf.extend_from_slice(r.method.as_bytes());
        buf.extend_from_slice(b"\",\"TimeTaken\":");
        push_u64(buf, r.latency_ms as u64);
        buf.extend_from_slice(b",\"ScStatus\":\"");
        push_u64(buf, r.status as u64);
        buf.extend_from_slice(if r.status < 400 {
            b"\",\"Result\":\"Success\",\"CsBytes\":\""
        } else {
            b"\",\"Result\":\"Fail\",\"CsBytes\":\""
        });
        push_u64(buf, 300 + (r.port % 900) as u64);
        buf.extend_from_slice(b"\",\"ScBytes\":\"");
        push_u64(buf, r.bytes as u64);
        buf.extend_from_slice(b"\",\"UserAgent\":\"");
        push_json_str(buf, r.agent);
        buf.extend_from_slice(b"\",\"Cookie\":\"-\",\"CsUsername\":\"\",\"Referer\":\"");
        match r.origin {
            Some(o) => {
                buf.extend_from_slice(o.as_bytes());
                buf.extend_from_slice(b"/orders");
            }
            None => buf.push(b'-'),
        }
        buf.extend_from_slice(b"\",\"ComputerName\":\"RD0003FF1A2B");
        push_hex(buf, (r.port % 4) as u64, 2);
        buf.extend_from_slice(b"\"}}");
    }

    fn caddy(&self, buf: &mut Vec<u8>) {
        let r = &self.req;
        buf.extend_from_slice(b"{\"level\":\"info\",\"ts\":");
        push_u64(buf, self.sec as u64);
        buf.push(b'.');
        push_pad(buf, self.ms(), 3);
        buf.extend_from_slice(b",\"logger\":\"http.log.access.log0\",\"msg\":\"handled request\",\"request\":{\"remote_ip\":\"");
        push_ip(buf, r.ip);
        buf.extend_from_slice(b"\",\"remote_port\":\"");
        push_u64(buf, r.port as u64);
        buf.extend_from_slice(b"\",\"client_ip\":\"");
        push_ip(buf, r.ip);
        buf.extend_from_slice(b"\",\"proto\":\"HTTP/2.0\",\"method\":\"");
        buf.extend_from_slice(r.method.as_bytes());
        buf.extend_from_slice(b"\",\"host\":\"api.contoso.com\",\"uri\":\"");
        self.push_path(buf);
        buf.extend_from_slice(b"\",\"headers\":{\"User-Agent\":[\"");
        push_json_str(buf, r.agent);
        buf.extend_from_slice(b"\"],\"Accept\":[\"application/json\"]");
        if let Some(o) = r.origin {
            buf.extend_from_slice(b",\"Origin\":[\"");
            buf.extend_from_slice(o.as_bytes());
            buf.extend_from_slice(b"\"],\"Referer\":[\"");
            buf.extend_from_slice(o.as_bytes());
            buf.extend_from_slice(b"/orders\"]");
        }
        if r.method == "OPTIONS" {
            buf.extend_from_slice(b",\"Access-Control-Request-Method\":[\"POST\"]");
        }
        buf.extend_from_slice(b"}},\"bytes_read\":0,\"user_id\":\"\",\"duration\":0.");
        push_pad(buf, r.latency_ms as u64 * 1000 + (r.port % 1000) as u64, 6);
        buf.extend_from_slice(b",\"size\":");
        push_u64(buf, r.bytes as u64);
        buf.extend_from_slice(b",\"status\":");
        push_u64(buf, r.status as u64);
        buf.extend_from_slice(
            b",\"resp_headers\":{\"Server\":[\"Caddy\"],\"Content-Type\":[\"application/json\"]",
        );
        if r.acao.is_some() {
            buf.extend_from_slice(b",\"Access-Control-Allow-Origin\":[\"");
            self.push_acao(buf, b"\",\"");
            buf.extend_from_slice(b"\"]");
        }
        buf.extend_from_slice(b"}}");
    }

    fn traefik(&self, buf: &mut Vec<u8>) {
        let r = &self.req;
        buf.extend_from_slice(b"{\"ClientAddr\":\"");
        push_ip(buf, r.ip);
        buf.push(b':');
        push_u64(buf, r.port as u64);
        buf.extend_from_slice(b"\",\"ClientHost\":\"");
        push_ip(buf, r.ip);
        buf.extend_from_slice(b"\",\"ClientPort\":\"");
        push_u64(buf, r.port as u64);
        buf.extend_from_slice(b"\",\"DownstreamContentSize\":");
        push_u64(buf, r.bytes as u64);
        buf.extend_from_slice(b",\"DownstreamStatus\":");
        push_u64(buf, r.status as u64);
        buf.extend_from_slice(b",\"Duration\":");
        push_u64(buf, r.latency_ms as u64 * 1_000_000 + r.port as u64);
        buf.extend_from_slice(b",\"OriginDuration\":");
        push_u64(buf, r.latency_ms as u64 * 1_000_000);
        buf.extend_from_slice(b",\"OriginStatus\":");
        push_u64(buf, r.status as u64);
        buf.extend_from_slice(b",\"RequestHost\":\"api.contoso.com\",\"RequestMethod\":\"");
        buf.extend_from_slice(r.method.as_bytes());
        buf.extend_from_slice(b"\",\"RequestPath\":\"");
        self.push_path(buf);
        buf.extend_from_slice(b"\",\"RequestProtocol\":\"HTTP/2.0\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"api@docker\",\"ServiceAddr\":\"10.0.0.");
        push_u64(buf, 5 + (r.port % 3) as u64);
        buf.extend_from_slice(b":8080\",\"ServiceName\":\"api@docker\",\"StartUTC\":\"");
        self.push_iso_seconds(buf, b'T');
        buf.push(b'.');
        push_pad(buf, self.ms(), 3);
        push_pad(buf, (r.port as u64 * 7919) % 1_000_000, 6);
        buf.extend_from_slice(b"Z\",\"entryPointName\":\"websecure\",\"request_Origin\":\"");
        buf.extend_from_slice(r.origin.unwrap_or("").as_bytes());
        buf.extend_from_slice(b"\",\"request_Referer\":\"");
        if let Some(o) = r.origin {
            buf.extend_from_slice(o.as_bytes());
            buf.extend_from_slice(b"/orders");
        }
        buf.extend_from_slice(b"\",\"downstream_Access-Control-Allow-Origin\":\"");
        self.push_acao(buf, b", ");
        buf.extend_from_slice(b"\",\"level\":\"info\",\"msg\":\"\",\"time\":\"");
        self.push_iso_seconds(buf, b'T');
        buf.extend_from_slice(b"Z\"}");
    }
}

/// Writes `lines` lines of `format` to `path`; returns the bytes written.
pub fn generate(path: &Path, format: &str, lines: u64, seed: u64) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(8 << 20, File::create(path)?);
    let mut g = Generator::new(seed);
    let mut buf = Vec::with_capacity(1 << 20);
    let mut written = 0u64;
    let mut bytes = 0u64;
    while written < lines {
        written += g.line(format, &mut buf);
        if buf.len() >= (1 << 20) - 4096 {
            out.write_all(&buf)?;
            bytes += buf.len() as u64;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    bytes += buf.len() as u64;
    out.flush()?;
    Ok(bytes)
}
