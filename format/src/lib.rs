//! The tlog-compatible JSON message format.
