//! termtape player.
