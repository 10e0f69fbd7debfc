//! The browser oracle: a scenario server, a page that runs every case in a real browser, and
//! the browsers themselves.
pub mod browsers;
pub mod scenarios;
