//! Terminal views.
pub mod theme;
pub mod glyphs;
pub mod state;
pub mod draw;
pub mod views;
