//! Terminal views.
