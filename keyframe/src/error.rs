//! Errors of decoding keyframes.

use termtape_format::Location;

/// What is wrong with a keyframe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `kf` value is not a keyframe object this reader understands.
    #[error("{at}: invalid keyframe: {reason}")]
    Invalid {
        /// The message it rides on.
        at: Location,
        /// What is wrong.
        reason: String,
    },
    /// The keyframe has a version this reader does not know.
    #[error("{at}: keyframe version {version} is not supported (this reader knows 1)")]
    Version {
        /// The message it rides on.
        at: Location,
        /// The version found.
        version: u64,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
