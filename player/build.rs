//! Embeds the built web front end (`web/dist/` at the workspace root, made
//! by scripts/web-build) into the player, so that `termtape serve` and
//! `termtape cockpit install` are one file: `$OUT_DIR/web_files.rs` is a
//! table of (name, bytes), each through `include_bytes!`. Without a
//! `web/dist/` the table is empty and the server says how to build it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "src/web_name.rs"]
mod web_name;
use web_name::servable;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.parent().expect("the workspace root").join("web");
    let dist = web.join("dist");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    if dist.is_dir() {
        println!("cargo:rerun-if-changed={}", utf8(&dist));
        let entries =
            std::fs::read_dir(&dist).unwrap_or_else(|e| panic!("reading {}: {e}", dist.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("reading {}: {e}", dist.display()));
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            println!("cargo:rerun-if-changed={}", utf8(&path));
            if !path.is_file() || !servable(&name) {
                println!(
                    "cargo:warning=web/dist/{name} is not embedded: only files named \
                     [a-z0-9][a-z0-9._-]* are served"
                );
                continue;
            }
            files.push((name, path));
        }
    } else if web.is_dir() {
        // No build yet: rerun when one appears (a path that does not exist
        // would rerun the script at every build).
        println!("cargo:rerun-if-changed={}", utf8(&web));
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
    files.sort();
    let mut table = String::from("&[\n");
    for (name, path) in &files {
        let _ = writeln!(
            table,
            "    ({name:?}, include_bytes!({:?}) as &[u8]),",
            utf8(path)
        );
    }
    table.push(']');
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("web_files.rs"), table)
        .unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}

/// A path as the UTF-8 text cargo and `include_bytes!` take.
fn utf8(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8: build from a UTF-8 path", path.display()))
}
