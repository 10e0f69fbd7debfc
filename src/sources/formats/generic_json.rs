//! JSON lines of any shape, read through a user-supplied field mapping (dotted paths).
//!
//! The mapping is compiled into a trie of keys; one pass walks the document guided by it,
//! skipping every subtree no path enters and borrowing the values it keeps, so a line costs
//! one scan and no allocation (unless a kept string carries escapes).

use std::borrow::Cow;

use super::common::{self, MAX_JSON_DOC, err, origin_fields, prepare};
use super::jsonval::{JsonError, MAX_DEPTH, Scan, epoch_any, time_str};
use super::{Fed, JsonFieldMap, LogParser, ParseError};
use crate::sources::event::{HttpRecord, Method, Sink};

/// Output slots, one per mapped field.
#[derive(Clone, Copy)]
enum Slot {
    Time = 0,
    Method,
    Path,
    Status,
    Latency,
    Host,
    Origin,
    Referer,
    Acao,
    Instance,
    Client,
}
const SLOTS: usize = 11;

/// A value kept from the document.
#[derive(Debug, Clone, PartialEq, Default)]
enum Leaf<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    Num(f64),
    /// Present but not a string or number (object, bool, null).
    Other,
}

impl<'a> Leaf<'a> {
    fn str(&self) -> Option<&str> {
        match self {
            Leaf::Str(s) => common::present(s),
            _ => None,
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            Leaf::Num(n) => Some(*n),
            Leaf::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
struct Node {
    children: Vec<(String, usize)>,
    slot: Option<usize>,
}

/// The mapped paths as a key trie; node 0 is the document root.
#[derive(Debug)]
struct Trie {
    nodes: Vec<Node>,
}

impl Trie {
    fn new() -> Trie {
        Trie {
            nodes: vec![Node::default()],
        }
    }

    fn insert(&mut self, path: &str, slot: Slot) -> Result<(), String> {
        if path.trim().is_empty() || path.split('.').any(str::is_empty) {
            return Err(format!("bad field path '{path}'"));
        }
        let mut node = 0;
        for part in path.split('.') {
            node = match self.nodes[node].children.iter().find(|(k, _)| k == part) {
                Some((_, n)) => *n,
                None => {
                    self.nodes.push(Node::default());
                    let n = self.nodes.len() - 1;
                    self.nodes[node].children.push((part.to_string(), n));
                    n
                }
            };
        }
        self.nodes[node].slot = Some(slot as usize);
        Ok(())
    }

    fn child(&self, node: usize, key: &[u8]) -> Option<usize> {
        self.nodes[node]
            .children
            .iter()
            .find(|(k, _)| k.as_bytes() == key)
            .map(|(_, n)| *n)
    }
}

/// Slot names for error reasons, in `Slot` order.
const SLOT_NAMES: [&str; SLOTS] = [
    "time", "method", "path", "status", "latency", "host", "origin", "referer", "acao", "instance",
    "client",
];

/// Reads the value at the cursor, which sits at trie `node`, filling the slots it reaches.
fn walk<'a>(
    s: &mut Scan<'a>,
    trie: &Trie,
    node: usize,
    out: &mut [Leaf<'a>; SLOTS],
    depth: u32,
) -> Result<(), JsonError> {
    let slot = trie.nodes[node].slot;
    let name = slot.map_or("field", |i| SLOT_NAMES[i]);
    match s.peek()? {
        b'{' => {
            if depth >= MAX_DEPTH {
                return Err(JsonError::TooDeep);
            }
            if let Some(i) = slot {
                out[i] = Leaf::Other;
            }
            let mut o = s.object()?;
            while let Some(k) = s.key(&mut o)? {
                match trie.child(node, k) {
                    Some(child) => walk(s, trie, child, out, depth + 1)?,
                    None => s.skip()?,
                }
            }
        }
        b'[' => {
            if let Some(i) = slot {
                // A header logged as an array of values: several values are joined as a
                // browser joins repeated header lines.
                out[i] = s.joined(name)?.map_or(Leaf::Other, Leaf::Str);
                return Ok(());
            }
            if depth >= MAX_DEPTH {
                return Err(JsonError::TooDeep);
            }
            let mut a = s.array()?;
            let mut idx = 0usize;
            while s.elem(&mut a)? {
                let child = trie.child(node, itoa_small(idx).as_str().as_bytes());
                // `a.b` over an array reads `b` from its first element.
                match child.or((idx == 0).then_some(node)) {
                    Some(n) => walk(s, trie, n, out, depth + 1)?,
                    None => s.skip()?,
                }
                idx += 1;
            }
        }
        b'"' => match slot {
            Some(i) => out[i] = Leaf::Str(s.string(name)?),
            None => s.skip()?,
        },
        b'-' | b'0'..=b'9' => match slot {
            Some(i) => out[i] = s.num(name)?.0.map_or(Leaf::Other, Leaf::Num),
            None => s.skip()?,
        },
        b't' | b'f' => {
            s.skip()?;
            if let Some(i) = slot {
                out[i] = Leaf::Other;
            }
        }
        _ => s.skip()?,
    }
    Ok(())
}

/// Array index as text without allocating (paths index arrays with small numbers).
struct SmallNum {
    buf: [u8; 20],
    len: usize,
}

impl SmallNum {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[20 - self.len..]).unwrap_or("")
    }
}

fn itoa_small(mut i: usize) -> SmallNum {
    let mut n = SmallNum {
        buf: [0; 20],
        len: 0,
    };
    loop {
        n.len += 1;
        n.buf[20 - n.len] = b'0' + (i % 10) as u8;
        i /= 10;
        if i == 0 || n.len == 20 {
            return n;
        }
    }
}

pub struct GenericJson {
    trie: Trie,
    logs_origin: bool,
    logs_acao: bool,
}

impl GenericJson {
    pub fn new(m: &JsonFieldMap) -> Result<GenericJson, String> {
        let mut trie = Trie::new();
        trie.insert(&m.time, Slot::Time)?;
        trie.insert(&m.method, Slot::Method)?;
        trie.insert(&m.path, Slot::Path)?;
        trie.insert(&m.status, Slot::Status)?;
        let optional = [
            (&m.latency_ms, Slot::Latency),
            (&m.host, Slot::Host),
            (&m.origin, Slot::Origin),
            (&m.referer, Slot::Referer),
            (&m.acao, Slot::Acao),
            (&m.instance, Slot::Instance),
            (&m.client, Slot::Client),
        ];
        for (path, slot) in optional {
            if let Some(p) = path {
                trie.insert(p, slot)?;
            }
        }
        Ok(GenericJson {
            trie,
            logs_origin: m.origin.is_some(),
            logs_acao: m.acao.is_some(),
        })
    }
}

impl LogParser for GenericJson {
    fn name(&self) -> &'static str {
        "json"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_JSON_DOC)?;
        let t = line.trim_ascii();
        if t.is_empty() {
            return Ok(Fed::Skipped);
        }
        if t[0] != b'{' {
            return Err(err("not a JSON object"));
        }
        let mut out: [Leaf<'_>; SLOTS] = Default::default();
        let mut s = Scan::new(t);
        walk(&mut s, &self.trie, 0, &mut out, 0)
            .and_then(|()| s.end())
            .map_err(|e| err(&e.reason(t)))?;
        let get = |s: Slot| &out[s as usize];
        let time = match get(Slot::Time) {
            Leaf::Absent => return Err(err("missing time field")),
            Leaf::Str(s) => time_str(s),
            Leaf::Num(n) => epoch_any(*n),
            Leaf::Other => None,
        }
        .ok_or_else(|| err("bad time"))?;
        let method = get(Slot::Method)
            .str()
            .ok_or_else(|| err("missing method field"))?;
        let path = get(Slot::Path)
            .str()
            .ok_or_else(|| err("missing path field"))?;
        let status = get(Slot::Status)
            .num()
            .ok_or_else(|| err("missing status field"))?;
        if status.fract() != 0.0 || status < 0.0 {
            return Err(err("bad status"));
        }
        let status = common::status_num(status as u64)?;
        let text = |s: Slot| get(s).str().map(Cow::Borrowed);
        let (origin, origin_derived) = origin_fields(
            self.logs_origin,
            get(Slot::Origin).str(),
            get(Slot::Referer).str(),
        );
        sink.http(&HttpRecord {
            time,
            method: Method::parse(method.as_bytes()),
            path: Cow::Borrowed(path),
            status,
            latency_ms: get(Slot::Latency)
                .num()
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| ms.round().min(u32::MAX as f64) as u32),
            host: text(Slot::Host),
            origin,
            origin_derived,
            acao: self
                .logs_acao
                .then(|| Cow::Borrowed(get(Slot::Acao).str().unwrap_or("-"))),
            instance: text(Slot::Instance),
            client: text(Slot::Client),
        });
        Ok(Fed::Records(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::event::VecSink;

    fn map() -> JsonFieldMap {
        JsonFieldMap {
            time: "ts".into(),
            method: "req.method".into(),
            path: "req.path".into(),
            status: "res.status".into(),
            origin: Some("req.headers.Origin".into()),
            acao: Some("res.headers.Access-Control-Allow-Origin".into()),
            client: Some("hops.0".into()),
            instance: Some("pods.name".into()),
            ..Default::default()
        }
    }

    #[test]
    fn paths_arrays_and_escapes() {
        let mut p = GenericJson::new(&map()).unwrap();
        let mut s = VecSink::default();
        let line = br#"{"ts":1775298662,"skip":{"req":{"method":"NO"}},"req":{"method":"GET","path":"/a\"b","headers":{"Origin":["https://x.example"]}},"res":{"status":204,"headers":{"Access-Control-Allow-Origin":["https://x.example","https://x.example"]}},"hops":["10.0.0.1","10.0.0.2"],"pods":[{"name":"p1"},{"name":"p2"}]}"#;
        assert_eq!(p.feed(line, &mut s), Ok(Fed::Records(1)));
        let r = &s.http[0];
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.path, "/a\"b");
        assert_eq!(r.status, 204);
        assert_eq!(r.origin.as_deref(), Some("https://x.example"));
        assert_eq!(
            r.acao.as_deref(),
            Some("https://x.example, https://x.example")
        );
        assert_eq!(r.client.as_deref(), Some("10.0.0.1"));
        assert_eq!(r.instance.as_deref(), Some("p1"));
        assert!(
            p.feed(br#"{"ts":1775298662,"req":{"method":"GET"}}"#, &mut s)
                .is_err()
        );
        assert!(p.feed(br#"{"ts":1775298662} trailing"#, &mut s).is_err());
        assert!(GenericJson::new(&JsonFieldMap::default()).is_err());
    }
}
