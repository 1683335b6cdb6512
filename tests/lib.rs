//! Helpers for termtape end-to-end tests.
