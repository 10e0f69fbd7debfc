//! Why a probe got no response to judge: a kind the verdict maps to a code, and the message.

/// How a probe failed to get any response at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    Dns,
    Refused,
    Tls,
    Timeout,
    /// The response head was malformed.
    Protocol,
    /// corstop's own limit or resource ran out (descriptors, the HTTP client's header limit):
    /// nothing can be said about the server, and nothing is blamed on it.
    Local,
    Other,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Dns => "dns",
            TransportKind::Refused => "refused",
            TransportKind::Tls => "tls",
            TransportKind::Timeout => "timeout",
            TransportKind::Protocol => "protocol",
            TransportKind::Local => "local",
            TransportKind::Other => "other",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TransportError {
    pub kind: TransportKind,
    pub message: String,
}
