//! corstop's integration tests, in one binary so that the library and its dependencies are
//! linked once rather than once per file. Each module is one area, named as its file;
//! `common` holds the servers and fixtures several of them share, `oracle` the recorded
//! browser runs.
//!
//! Only `tests/formats_alloc.rs` stays a binary of its own: it installs a counting global
//! allocator, which would count every other test's allocations too.

mod common;
mod oracle;

mod agent;
mod browser_oracle;
mod bursts_scenarios;
mod check_cli;
mod cli;
mod demo_cycle;
mod demo_pipeline;
mod demo_server;
mod fleet_e2e;
mod fleet_pty;
mod formats;
mod glob_descriptors;
mod history;
mod history_pty;
mod hostile_text;
mod keys_config;
mod layers;
mod log_view;
mod log_view_pty;
mod notify_webhooks;
mod probe_axum;
mod probe_credentials;
mod probe_failures;
mod probe_nginx;
mod prometheus_rules;
mod reader;
mod report_incident;
mod secrets;
mod status_rule;
mod tail_rotation;
mod time_zones;
mod triage_scenarios;
mod tui_pty;
mod ui_analysis;
mod ui_fleet;
mod ui_panels;
mod ui_screenshots;
mod ui_sizes;
mod ui_themes;
mod ui_triage;
mod verdict_live;
