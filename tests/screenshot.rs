//! Issue 17, screenshots of a moment: `termtape screen --format
//! svg|html|png` on a real recording with colours, attributes, CJK, an
//! emoji, a combining mark and hostile text. The text in the pictures is
//! held against `screen --format text`; HTML and SVG are opened in the
//! real Chromium (nothing in them runs, the HTML's grid is exact as laid
//! out); the PNG is decoded and its cells' colours checked.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use termtape_tests::browser::dir_until_exit;
use termtape_tests::{bin, run_ok};

use crate::web::BROWSER;

/// Set by the recorded text's markup, were it ever to run.
const PWNED: &str = "ttShotPwned";

/// What the recorded program prints (80×24): every kind of cell.
fn script() -> String {
    format!(
        "printf '\\033[1;31mred bold\\033[0m \\033[4munder\\033[0m \\033[7minv\\033[0m 中文 😀 e\\314\\201\\n\
         \\033[41m  \\033[0m<img src=x onerror=\"window.{PWNED}=1\"><script>window.{PWNED}=2</script>\\n\
         \\033[38;2;1;2;3m\\033[48;5;21mtrue\\033[0m\\n'"
    )
}

fn screen(log: &Path, format: &str) -> Vec<u8> {
    run_ok(
        Command::new(bin("termtape"))
            .args(["screen", "--format", format])
            .arg(log),
    )
}

#[test]
fn screenshots_hold_the_text_and_grid_and_run_nothing() {
    let dir = dir_until_exit();
    let log = dir.join("shot.log");
    run_ok(
        Command::new(bin("termtape"))
            .args(["rec", "-q", "--cols", "80", "--rows", "24", "-o"])
            .arg(&log)
            .args(["--", "sh", "-c", &script()])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let text = String::from_utf8(screen(&log, "text")).expect("UTF-8");
    let rows: Vec<&str> = text.lines().collect();
    assert!(
        rows[0].starts_with("red bold under inv 中文 😀 e\u{301}"),
        "{rows:?}"
    );
    let listed: Value = serde_json::from_slice(&run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json"])
            .arg(&log),
    ))
    .expect("ls --json");
    let rec = listed["rec"].as_str().expect("rec");

    // HTML in a real browser: nothing runs; each row's boxes sit on the
    // 10 px grid, the wide characters two cells each; the text is the
    // screen's.
    let html = dir.join("shot.html");
    std::fs::write(&html, screen(&log, "html")).expect("html");
    let page = BROWSER.drive(
        "picture",
        json!({"url": format!("file://{}", html.display()), "pwned": PWNED}),
    );
    assert_eq!(page["page_errors"], json!([]), "{page}");
    assert_eq!(
        page["pwned"],
        Value::Null,
        "the recorded markup ran: {page}"
    );
    let laid: &Vec<Value> = page["rows"].as_array().expect("rows");
    assert_eq!(laid.len(), 24, "{page}");
    for (r, boxes) in laid.iter().enumerate() {
        let mut col = 0.0;
        let mut line = String::new();
        for b in boxes.as_array().expect("boxes") {
            assert_eq!(b["left"].as_f64(), Some(col * 10.0), "row {r}: {b}");
            let width = b["width"].as_f64().expect("width");
            assert_eq!(width % 10.0, 0.0, "row {r}: {b}");
            col += width / 10.0;
            line.push_str(b["text"].as_str().expect("text"));
        }
        assert_eq!(col, 80.0, "row {r} covers the width: {boxes}");
        assert_eq!(line.trim_end(), rows[r], "row {r}");
    }
    let wide: Vec<&Value> = laid[0]
        .as_array()
        .expect("row 0")
        .iter()
        .filter(|b| ["中", "文", "😀"].contains(&b["text"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(wide.len(), 3, "{}", laid[0]);
    assert!(wide.iter().all(|b| b["width"] == 20.0), "{wide:?}");
    let caption = page["caption"].as_str().expect("a caption");
    assert!(caption.contains(rec) && caption.contains('@'), "{caption}");

    // SVG: opened as an image document, nothing runs; the text elements
    // give the rows back.
    let svg_text = String::from_utf8(screen(&log, "svg")).expect("UTF-8 SVG");
    assert!(
        !svg_text.contains("<script") && !svg_text.contains("<img"),
        "{svg_text}"
    );
    let svg = dir.join("shot.svg");
    std::fs::write(&svg, &svg_text).expect("svg");
    let opened = BROWSER.drive(
        "picture",
        json!({"url": format!("file://{}", svg.display()), "pwned": PWNED}),
    );
    assert_eq!(opened["pwned"], Value::Null, "{opened}");
    assert!(
        svg_text.contains("x=\"190\" y=\"15\" textLength=\"20\""),
        "中 at column 19, two cells: {svg_text}"
    );
    let no_caption = run_ok(
        Command::new(bin("termtape"))
            .args(["screen", "--format", "svg", "--no-caption"])
            .arg(&log),
    );
    assert!(!String::from_utf8_lossy(&no_caption).contains(rec));

    // PNG: 800×480 for the cells plus the caption; the red cells of row 1
    // and colour 21's background where the recording put them;
    // the wide characters inked in both of their cells.
    let bytes = screen(&log, "png");
    let decoder = png::Decoder::new(&bytes[..]);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).expect("its pixels");
    assert_eq!(info.width, 800);
    assert!(
        info.height > 480,
        "a caption under the cells: {}",
        info.height
    );
    let at = |x: u32, y: u32| {
        let i = ((y * info.width + x) * 3) as usize;
        (pixels[i], pixels[i + 1], pixels[i + 2])
    };
    assert_eq!(at(5, 25), (0xcd, 0, 0), "red background, row 1");
    assert_eq!(at(25, 21), (0, 0, 0), "default background after it");
    // The markup line wraps: "true" is on the row the text says.
    let true_row = rows
        .iter()
        .position(|l| l.starts_with("true"))
        .expect("the true row") as u32;
    assert_eq!(at(0, true_row * 20), (0, 0, 0xff), "colour 21's background");
    let inked = |col: u32| {
        (col * 10..col * 10 + 10)
            .flat_map(|x| (2..18).map(move |y| (x, y)))
            .any(|(x, y)| at(x, y) != (0, 0, 0))
    };
    for col in [19, 20, 21, 22, 24, 25] {
        assert!(inked(col), "column {col} of a wide character has ink");
    }
    assert!(!inked(23) && !inked(79), "blank cells stay blank");

    // A PNG is refused on a terminal (script gives the command one).
    let out = Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} screen --format png {}",
            bin("termtape").display(),
            log.display()
        ))
        .arg("/dev/null")
        .stdin(Stdio::null())
        .output()
        .expect("script");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("not for a terminal"),
        "{out:?}"
    );
}
