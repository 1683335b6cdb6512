//! `termtape-manual DIR`: writes termtape's man pages and shell completions
//! under DIR as they go under `/usr/share` (`man/man1/termtape.1`,
//! `bash-completion/completions/termtape` …), and lists the files.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!(
            "usage: termtape-manual DIR   (writes DIR/man/manN/*, DIR/bash-completion/…, DIR/zsh/…, DIR/fish/…)"
        );
        return ExitCode::from(2);
    };
    match termtape_manual::write_all(&PathBuf::from(dir)) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("termtape-manual: {e:#}");
            ExitCode::from(2)
        }
    }
}
