//! Producers: log sources (files, stdin) and their format parsers.
//!
//! - [`tail`]: following one file across rotations; [`glob`]: file-name patterns;
//!   [`lines`]: the line splitter with its length cap; [`stdin`]: standard input.
//! - [`live`]: one task per configured source, sending batches to the store's ingest task.
//! - [`event`]: the typed events every producer sends; [`probe`]: the synthetic prober.
//! - [`window`]: where a time window starts in a log file (the start-up history read).
//! - [`prometheus`]: a Prometheus server's query API, where the fleet's agents meet.

pub mod event;
pub mod fleet;
pub mod formats;
pub mod glob;
pub mod lines;
pub mod live;
pub mod probe;
pub mod prometheus;
pub mod stdin;
pub mod tail;
pub mod window;
