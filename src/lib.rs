//! corstop: a terminal dashboard for CORS and token incidents.
//!
//! The modules are listed in the order data flows through them, and each imports only from
//! those above it (checked by `tests/integration/layers.rs`):
//!
//! - [`model`]: the shared vocabulary (time, hypothesis ids, redaction);
//! - [`cors`]: the browser's CORS algorithm, pure;
//! - [`sources`]: producers of typed events: log tailers and parsers, the prober;
//! - [`store`]: events counted in time buckets, memory-bounded;
//! - [`analysis`]: the store turned into answers (view models, bursts, triage, status);
//! - [`ui`]: the views that draw those answers;
//! - [`alerting`], [`headless`], [`demo`]: consumers of the same core (webhooks, `report` and
//!   `check`, the built-in incident);
//! - [`app`]: the command line, the configuration and the wiring of all of the above.
//!
//! Producers never touch rendering; views never do I/O.

pub mod model;

pub mod cors;

pub mod sources;

pub mod store;

pub mod analysis;

pub mod ui;

pub mod alerting;
pub mod demo;
pub mod headless;

pub mod app;
