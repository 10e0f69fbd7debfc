//! Producers: log sources (files, stdin) and their format parsers.

pub mod formats;
pub mod glob;
pub mod lines;
pub mod live;
pub mod reader;
pub mod stdin;
pub mod tail;
