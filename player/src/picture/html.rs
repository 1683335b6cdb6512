//! A [`Picture`] as a self-contained HTML page: each run a box of its
//! cells' exact width, so the grid holds for wide characters whatever font
//! the browser picks. The page's Content-Security-Policy allows its own
//! inline style and nothing else: no script runs, nothing is fetched.

use std::fmt::Write as _;

use termtape_emu::Underline;

use super::svg::{CELL_H, CELL_W, escape};
use super::{Picture, Run};

/// The HTML document.
pub fn render(p: &Picture) -> String {
    let title = p.caption.as_deref().unwrap_or("termtape screen");
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>\n\
         .tt {{ display: inline-block; background: {bg}; padding: 0; margin: 0; \
         font: 16px/{CELL_H}px 'DejaVu Sans Mono', 'Liberation Mono', monospace; }}\n\
         .tt div {{ height: {CELL_H}px; width: {w}px; white-space: pre; overflow: hidden; }}\n\
         .tt span {{ display: inline-block; height: {CELL_H}px; overflow: hidden; vertical-align: top; }}\n\
         figcaption {{ font: 13px 'DejaVu Sans', sans-serif; color: #606060; padding: 6px 2px; }}\n\
         </style></head><body>\n<figure>\n<div class=\"tt\">\n",
        escape(title),
        bg = p.background.hex(),
        w = u32::from(p.cols) * CELL_W,
    );
    for runs in &p.rows {
        out.push_str("<div>");
        for run in runs {
            span(&mut out, run);
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
    if let Some(caption) = &p.caption {
        let _ = writeln!(out, "<figcaption>{}</figcaption>", escape(caption));
    }
    out.push_str("</figure>\n</body></html>\n");
    out
}

fn span(out: &mut String, run: &Run) {
    let s = &run.style;
    let _ = write!(
        out,
        "<span style=\"width:{}px;color:{};background:{}",
        u32::from(run.cells) * CELL_W,
        s.fg.hex(),
        s.bg.hex()
    );
    if s.bold {
        out.push_str(";font-weight:bold");
    }
    if s.italic {
        out.push_str(";font-style:italic");
    }
    let line = match s.underline {
        Underline::None => None,
        Underline::Single => Some("underline"),
        Underline::Double => Some("underline double"),
        Underline::Curly => Some("underline wavy"),
        Underline::Dotted => Some("underline dotted"),
        Underline::Dashed => Some("underline dashed"),
    };
    match (line, s.strike) {
        (Some(l), true) => {
            let _ = write!(
                out,
                ";text-decoration:{l};text-decoration-line:underline line-through"
            );
        }
        (Some(l), false) => {
            let _ = write!(out, ";text-decoration:{l}");
        }
        (None, true) => out.push_str(";text-decoration:line-through"),
        (None, false) => {}
    }
    if s.hidden {
        out.push_str(";visibility:hidden");
    }
    let _ = write!(out, "\">{}</span>", escape(&run.text));
}

#[cfg(test)]
mod tests {
    use super::*;
    use termtape_emu::Terminal;

    #[test]
    fn the_page_runs_nothing_and_holds_the_grid() {
        let mut t = Terminal::new(12, 2);
        t.feed_str("<img src=x onerror=alert(1)>\r\n😀x");
        let page = render(&super::super::Picture::of(
            &t,
            Some("</title><script>".into()),
        ));
        assert!(
            !page.contains("<img") && !page.contains("<script"),
            "{page}"
        );
        assert!(page.contains("default-src 'none'"), "{page}");
        assert!(
            page.contains("<title>&lt;/title&gt;&lt;script&gt;</title>"),
            "{page}"
        );
        // The emoji takes two cells: 20 px, its own box.
        assert!(
            page.contains("<span style=\"width:20px;color:#e5e5e5;background:#000000\">😀</span>"),
            "{page}"
        );
    }
}
