//! The synthetic prober: browser-faithful preflights (and optional actual requests) against the
//! configured endpoints, judged by [`crate::cors::judge`], plus origin-trust and consistency
//! probes.

pub mod client;
pub mod fingerprint;
pub mod scheduler;
pub mod security;
pub mod settings;

pub use client::{
    ProbeClient, Token, TokenError, classify_chain, classify_error, load_token, probe_once,
};
pub use fingerprint::instance_fingerprint;
pub use scheduler::{run_once, spawn};
pub use security::{SecurityFinding, SecurityKind, Severity};
pub use settings::{
    DurationSetting, EndpointSpec, ProbeSettings, ProbeTarget, SettingsError, ShapeSpec,
};
