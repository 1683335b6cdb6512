//! `termtape verify`: each recording of a source checked against its hash
//! chain and seals (see `termtape_format::verify`), from a file, the
//! journal, `journal:DIR` or an archive alike: every source gives the same
//! lines.

use std::io::{self, BufRead};
use std::path::Path;

use termtape_format::chain::PublicKey;
use termtape_format::verify::{Report, Verifier};
use termtape_format::{LineEnd, MAX_LINE_LEN, read_line};

use crate::source::{Filter, Source, SourceError};

/// Where the recorder's public key is by default (`termtape keys
/// generate`).
pub const DEFAULT_PUBLIC_KEY: &str = "/etc/termtape/signing.pub";

/// The trusted key `--key` names (a file holding one, or the key itself),
/// or without it the default file's if it can be read (`None`: no key is
/// trusted, and intact recordings are reported as not checked).
pub fn trusted_key(key: Option<&str>) -> Result<Option<PublicKey>, String> {
    match key {
        Some(text) if text.starts_with("ed25519:") => PublicKey::parse(text).map(Some),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("--key {path}: {e}"))?;
            PublicKey::parse(&text)
                .map(Some)
                .map_err(|e| format!("--key {path}: {e}"))
        }
        None => Ok(std::fs::read_to_string(Path::new(DEFAULT_PUBLIC_KEY))
            .ok()
            .and_then(|text| PublicKey::parse(&text).ok())),
    }
}

/// A report as `ls --json --verify` and `verify --json` give it: the
/// report's fields, and `ok` (intact) and `text` (the verdict in words).
pub fn report_json(report: &Report) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("ok".into(), report.verdict.is_intact().into());
        object.insert("text".into(), report.verdict.describe().into());
    }
    value
}

/// Checks every recording `filter` selects in `source` (only `filter.rec`'s,
/// if it names one), trusting `trusted`.
pub fn verify_source(
    source: &dyn Source,
    filter: &Filter,
    trusted: Option<PublicKey>,
) -> Result<Vec<Report>, SourceError> {
    let input = source.open(filter)?;
    verify(input, filter.rec.clone(), trusted).map_err(|source_error| SourceError::Io {
        name: source.name(),
        source: source_error,
    })
}

/// [`verify_source`] over lines read from `input`.
pub fn verify(
    mut input: impl BufRead,
    only: Option<String>,
    trusted: Option<PublicKey>,
) -> io::Result<Vec<Report>> {
    let mut verifier = Verifier::new(trusted, only);
    let mut line = Vec::new();
    let mut n = 0u64;
    loop {
        n += 1;
        line.clear();
        match read_line(&mut input, &mut line, MAX_LINE_LEN)? {
            LineEnd::Eof => break,
            LineEnd::TooLong => {
                verifier.damage(n, format!("a line longer than {MAX_LINE_LEN} bytes"));
                termtape_format::skip_line(&mut input)?;
                continue;
            }
            LineEnd::Newline | LineEnd::Unterminated => {}
        }
        let text = line.trim_ascii();
        if !text.is_empty() {
            verifier.line(text, n);
        }
    }
    Ok(verifier.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use termtape_format::verify::Verdict;

    #[test]
    fn keys_come_from_the_option_as_text_or_file() {
        assert_eq!(
            trusted_key(Some("/nonexistent/key"))
                .map(|_| ())
                .unwrap_err(),
            "--key /nonexistent/key: No such file or directory (os error 2)"
        );
        assert!(trusted_key(Some("ed25519:AAAA")).is_err());
        let reports = verify(
            &b"{\"rec\":\"a\",\"id\":1}\n{\"rec\":\"b\",\"id\":1\n"[..],
            None,
            None,
        )
        .expect("read");
        assert_eq!(reports.len(), 2);
        assert!(matches!(
            reports[0].verdict,
            Verdict::Unsigned { chained: false, .. }
        ));
        assert!(matches!(
            reports[1].verdict,
            Verdict::Damaged { line: 2, .. }
        ));
    }
}
