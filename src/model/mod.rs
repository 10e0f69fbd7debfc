//! The shared vocabulary every layer speaks: time, hypothesis ids, transport failure kinds,
//! byte searches, plain-text layout, secret redaction and the zone times are shown in.
//! Depends on nothing else in corstop.

pub mod bytes;
pub mod hypothesis;
pub mod redact;
pub mod text;
pub mod time;
pub mod transport;
pub mod zone;
