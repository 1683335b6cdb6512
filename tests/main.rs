//! termtape's end-to-end tests: one test binary, one module per area.

mod charset;
mod choose;
mod conformance;
mod damage;
mod exit_status;
mod hostile_logs;
mod interop;
mod journal;
mod json_api;
mod keyframes;
mod limits;
mod list_index;
mod numeric_args;
mod player;
mod redaction;
mod reviewer;
mod search;
mod seek;
mod serve;
mod session;
mod signals;
mod spool;
mod times;
mod trust;
mod usability;
