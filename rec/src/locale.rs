//! The charset of the recorded program's locale, as the C library resolves
//! it: `setlocale(LC_CTYPE, "")` looks at LC_ALL, then LC_CTYPE, then LANG,
//! and `nl_langinfo(CODESET)` names the charset of the locale it found (for
//! a locale that is not installed, the C library falls back to the C
//! locale, whose codeset `ANSI_X3.4-1968` termtape records as UTF-8; the
//! recorded program, started with the same environment, falls back alike).

use std::ffi::CStr;

use termtape_charset::Charset;

/// The codeset name of the locale the environment selects, e.g. `UTF-8`,
/// `KOI8-R`, `EUC-JP`.
///
/// Call it while the process has one thread: `setlocale` is not
/// thread-safe. The process' own locale is put back as it was.
pub fn codeset() -> String {
    // SAFETY: a null locale argument only queries; the returned string is
    // copied at once, before any other setlocale call can change it.
    let previous = unsafe { libc::setlocale(libc::LC_CTYPE, std::ptr::null()) };
    let previous = (!previous.is_null())
        // SAFETY: setlocale returned a non-null, NUL-terminated string.
        .then(|| unsafe { CStr::from_ptr(previous) }.to_owned());
    // SAFETY: "" asks for the locale from the environment; the argument is a
    // valid C string. A null result (no such locale) leaves the locale as it
    // was, the C locale at start-up.
    unsafe { libc::setlocale(libc::LC_CTYPE, c"".as_ptr()) };
    // SAFETY: nl_langinfo returns a pointer to a NUL-terminated string that
    // stays valid until the next setlocale call; it is copied at once.
    let codeset = unsafe { libc::nl_langinfo(libc::CODESET) };
    let name = if codeset.is_null() {
        String::new()
    } else {
        // SAFETY: checked non-null; NUL-terminated per nl_langinfo(3).
        unsafe { CStr::from_ptr(codeset) }
            .to_string_lossy()
            .into_owned()
    };
    if let Some(previous) = previous {
        // SAFETY: a valid C string naming a locale the process had.
        unsafe { libc::setlocale(libc::LC_CTYPE, previous.as_ptr()) };
    }
    name
}

/// The charset of the locale the environment selects, or an error naming
/// it if termtape does not know it (before the session starts).
pub fn charset() -> Result<Charset, termtape_charset::Error> {
    let name = codeset();
    if name.is_empty() {
        return Ok(Charset::UTF_8);
    }
    Charset::for_name(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_library_names_a_codeset_termtape_knows() {
        // Whatever locale the tests run in (C, C.UTF-8, …), its codeset is
        // a name termtape resolves; the end-to-end tests set real legacy
        // locales in child processes.
        let name = codeset();
        assert!(!name.is_empty());
        assert!(charset().is_ok(), "{name}");
    }
}
