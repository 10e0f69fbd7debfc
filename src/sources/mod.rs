//! Producers: log sources (files, stdin) and their format parsers.

pub mod formats;
pub mod glob;
pub mod lines;
pub mod live;
<<<<<<< HEAD
=======
pub mod reader;
>>>>>>> wip/tail
pub mod stdin;
pub mod tail;
