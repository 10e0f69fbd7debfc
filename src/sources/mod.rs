//! Producers: log sources (files, stdin) and their format parsers.
//!
//! - [`tail`]: following one file across rotations; [`glob`]: file-name patterns;
//!   [`lines`]: the line splitter with its length cap; [`stdin`]: standard input.
//! - [`live`]: one task per configured source, sending batches to the store's ingest task.
//! - [`reader`]: the headless path that reads files to their end straight into a store.

pub mod formats;
pub mod glob;
pub mod lines;
pub mod live;
pub mod reader;
pub mod stdin;
pub mod tail;
