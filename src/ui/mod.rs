//! The terminal dashboard: seven views over one view model, a theme per element, and a loop
//! that owns the terminal.
//!
//! - [`state`]: UI state and the pure key / mouse handlers;
//! - [`draw`], [`views`] and [`triage_view`]: rendering, usable with any ratatui backend (tests use
//!   `TestBackend`);
//! - [`theme`]: styles per element from TOML, five built in;
//! - [`app`] and [`terminal`]: the event loop and terminal ownership;
//! - [`svg`]: screenshots of a rendered buffer.

pub mod app;
pub mod draw;
pub mod glyphs;
pub mod state;
pub mod svg;
pub mod terminal;
pub mod theme;
pub mod triage_view;
pub mod views;

pub use app::{Snapshotter, UiOptions, run};
pub use draw::draw;
pub use state::{Action, UiState, View, handle_key, handle_mouse};
pub use svg::render_svg;
pub use theme::{Theme, ThemeError};
