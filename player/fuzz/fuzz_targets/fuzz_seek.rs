//! Seeking in a file: any bytes, as a log file, seeked in at several
//! moments, for the first recording and for one chosen by id, stopping at
//! damage and passing it over, end (the fuzzer's time limit finds a seek
//! that does not) without a panic. Built with `--cfg fuzzing`, the seek
//! reads 16 bytes at a time, so that a line of a few dozen bytes takes the
//! paths that lines longer than the reads take.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termtape_player::seek::{At, screen_at};
use termtape_player::source::File;
use termtape_player::{Damage, Query, Selection};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("termtape-fuzz-seek-{}.log", std::process::id()));
    std::fs::write(&path, data).expect("writing the input to a file");
    let source = File::new(path.clone());
    let mut selections = vec![Selection::First];
    // The first recording id in the input, if any, chosen by `--rec`.
    let text = String::from_utf8_lossy(data);
    if let Some(rest) = text.split("\"rec\":\"").nth(1)
        && let Some(id) = rest.split('"').next()
    {
        selections.push(Selection::Rec(id.to_owned()));
    }
    for selection in selections {
        for damage in [Damage::Stop, Damage::Skip] {
            let query = Query {
                filter: termtape_player::source::Filter {
                    rec: match &selection {
                        Selection::First => None,
                        Selection::Rec(id) | Selection::Only(id) => Some(id.clone()),
                    },
                    ..Default::default()
                },
                selection: selection.clone(),
                damage,
            };
            for at in [At::Ms(0), At::Ms(1), At::Ms(100), At::Ms(5_000), At::End] {
                let _ = screen_at(&source, &query, at, |_| {});
            }
        }
    }
    let _ = std::fs::remove_file(&path);
});
