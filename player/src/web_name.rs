//! The names of the web front end's files (shared with player/build.rs,
//! which includes this file).

/// Whether `name` is one the build embeds and the server answers:
/// `[a-z0-9][a-z0-9._-]*`, flat, no dot first, nothing a URL or a shell
/// would read otherwise.
pub fn servable(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}
