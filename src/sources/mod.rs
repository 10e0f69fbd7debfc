//! Producers: log sources (files, stdin) and their format parsers.

pub mod formats;
