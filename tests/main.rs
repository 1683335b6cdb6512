//! termtape end-to-end tests.
