//! termtape's terminal emulator (under construction in its own issue).
