//! The shared vocabulary every layer speaks: time, hypothesis ids, transport failure kinds,
//! byte searches, plain-text layout and secret redaction. Depends on nothing else in corstop.

pub mod bytes;
pub mod hypothesis;
pub mod redact;
pub mod text;
pub mod time;
pub mod transport;
