//! Errors of naming a charset and of restoring original bytes.

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The name is not a charset termtape knows.
    #[error(
        "unknown charset {name:?} (known: UTF-8, KOI8-R, ISO-8859-5, SHIFT_JIS, EUC-JP, GB18030, BIG5, EUC-KR, CP1251, ISO-2022-JP, …)"
    )]
    UnknownCharset {
        /// The name as given.
        name: String,
    },
    /// The name is known, but its encoding cannot be decoded (encoding_rs
    /// maps ISO-2022-KR, ISO-2022-CN and HZ to a "replacement" encoding
    /// that turns any input into one U+FFFD).
    #[error("charset {name:?} is not supported: its text cannot be decoded")]
    UnsupportedCharset {
        /// The name as given.
        name: String,
    },
    /// An original field is not valid base64.
    #[error("original bytes: invalid base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// An original field does not decompress (not a zstd frame, or damaged).
    #[error("original bytes: invalid zstd data: {0}")]
    Zstd(#[source] std::io::Error),
    /// An original field claims more bytes than any message can hold.
    #[error("original bytes: {size} bytes is more than the limit of {limit}")]
    TooLarge {
        /// The size the frame claims (or the size it reached).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A message has no original, and its text cannot be encoded back into
    /// the charset (so the recording is damaged, or was not written by
    /// termtape).
    #[error("original bytes missing, and the text does not encode back into {charset}")]
    NotReproducible {
        /// The charset's name.
        charset: &'static str,
    },
}

/// This crate's result.
pub type Result<T> = std::result::Result<T, Error>;
