//! The terminal dashboard: seven views over one view model, a theme per element, and a loop
//! that owns the terminal.
//!
//! - [`state`]: UI state and the pure key / mouse handlers; [`keys`]: configurable bindings;
//! - [`draw`], [`views`] and [`triage_view`]: rendering, usable with any ratatui backend (tests use
//!   `TestBackend`);
//! - [`theme`]: styles per element from TOML, five built in;
//! - [`app`] and [`terminal`]: the event loop and terminal ownership;
//! - [`svg`]: screenshots of a rendered buffer; [`screenshots`] draws every view in every
//!   theme from [`replay`], the demo incident replayed in virtual time.

pub mod app;
pub mod draw;
pub mod glyphs;
pub mod keys;
pub mod replay;
pub mod screenshots;
pub mod state;
pub mod svg;
pub mod terminal;
pub mod theme;
pub mod triage_view;
pub mod views;

pub use app::{Snapshotter, UiOptions, run};
pub use draw::draw;
pub use keys::{KeyAction, KeyBindings, KeyCombo, KeyError};
pub use state::{Action, UiState, View, handle_key, handle_mouse};
pub use svg::render_svg;
pub use theme::{Theme, ThemeError};
