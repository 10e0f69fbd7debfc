//! `corstop agent`'s exporter: the store and its analysis as Prometheus metrics
//! ([`metrics`]), served with health and readiness ([`server`]). The process around it
//! (sources, probes, signals, reload) is wired in `app::agent`.

pub mod metrics;
pub mod server;

pub use metrics::{Caps, Format};
pub use server::{AgentState, router};
