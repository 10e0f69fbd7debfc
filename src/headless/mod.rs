//! The modes without a terminal: [`report`] reads logs to their end and writes what the
//! store holds ([`markdown`]: its postmortem form); [`check`] runs one probe round and exits with its verdict.
//! [`agent`] exports what a running pipeline holds to Prometheus.

pub mod agent;
pub mod check;
mod check_json;
pub mod markdown;
pub mod report;
