//! The terminal dashboard: seven views over one view model, a theme per element, and a loop
//! that owns the terminal.
//!
//! - [`state`]: UI state and the pure key / mouse handlers; [`keys`]: configurable bindings;
//! - [`draw`] and [`views`] (one file per view): rendering, usable with any ratatui backend (tests use
//!   `TestBackend`);
//! - [`widgets`]: panels, tables and formats shared by the views;
//! - [`legend`]: every mark, abbreviation and colour, drawn by the views and listed by the help;
//! - [`theme`]: styles per element from TOML, five built in;
//! - [`run`] and [`terminal`]: the event loop and terminal ownership.

pub mod draw;
pub mod glyphs;
pub mod keys;
pub mod legend;
pub mod run;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod views;
pub mod widgets;

pub use draw::draw;
pub use keys::{KeyAction, KeyBindings, KeyCombo, KeyError};
pub use run::{Snapshotter, UiOptions, run};
pub use state::{Action, UiState, View, handle_key, handle_mouse};
pub use theme::{Theme, ThemeError};
