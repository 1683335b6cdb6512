//! Pseudo-terminals, the user's terminal mode, and the recorded child process.
