//! corstop: a terminal dashboard for CORS and token incidents.
//!
//! Data flows one way: sources (log tailers, the prober) produce typed [`event`]s, the
//! [`store`] counts them in time buckets, [`analysis`] turns the store into answers, and the
//! views in [`ui`] draw those answers. Producers never touch rendering; views never do I/O.

pub mod analysis;
pub mod app;
pub mod bytes;
pub mod check;
pub mod cli;
pub mod config;
pub mod cors;
pub mod demo;
pub mod event;
pub mod notify;
pub mod probe;
pub mod redact;
pub mod report;
pub mod route;
pub mod sources;
pub mod store;
mod store_cache;
pub mod store_clients;
pub mod text;
pub mod time;
pub mod ui;
