//! One file per view, and [`panels`] for what several draw. Each view reads only the view model and the UI state, and draws with the
//! pieces in [`super::widgets`]; none does I/O or analysis.

pub mod auth;
pub mod fleet;
pub mod log;
pub mod origins;
pub mod overview;
pub mod panels;
pub mod probes;
pub mod trend;
pub mod triage;

pub use auth::auth;
pub use log::log;
pub use origins::origins;
pub use overview::overview;
pub use probes::{probe_detail_lines, probes};
pub use trend::trend;
pub use triage::triage;
