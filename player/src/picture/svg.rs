//! A [`Picture`] as a self-contained SVG image: a rectangle per coloured
//! run, a `<text>` per run stretched to its cells (`textLength`), so the
//! grid is exact whatever font the viewer has; no script, no link, nothing
//! fetched.

use std::fmt::Write as _;

use termtape_emu::Underline;

use super::{Picture, Run};

/// Cell width in px.
pub const CELL_W: u32 = 10;
/// Cell height in px.
pub const CELL_H: u32 = 20;
/// Font size in px: DejaVu Sans Mono's advance is 0.6 em, one cell.
const FONT_PX: u32 = 16;
/// From a cell's top to the text's baseline.
const BASELINE: u32 = 15;
/// A caption line's height.
pub const CAPTION_LINE_H: u32 = 18;
/// The space around the caption.
pub const CAPTION_PAD: u32 = 10;
/// Caption characters a px of width holds (13 px DejaVu: 8 px a character).
pub const CAPTION_CHAR_W: u32 = 8;

/// The caption's lines for a picture `width` px wide, and their height.
pub fn caption_block(caption: Option<&str>, width: u32) -> (Vec<String>, u32) {
    match caption {
        None => (Vec::new(), 0),
        Some(text) => {
            let lines = super::caption_lines(text, ((width - 8) / CAPTION_CHAR_W) as usize);
            let h = lines.len() as u32 * CAPTION_LINE_H + CAPTION_PAD;
            (lines, h)
        }
    }
}

/// `text` escaped for XML character data and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 does not allow at all.
            '\0'..='\x08' | '\x0b' | '\x0c' | '\x0e'..='\x1f' | '\u{fffe}' | '\u{ffff}' => {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
    out
}

/// The SVG document.
pub fn render(p: &Picture) -> String {
    let width = u32::from(p.cols) * CELL_W;
    let grid_h = p.rows.len() as u32 * CELL_H;
    let (caption, caption_h) = caption_block(p.caption.as_deref(), width);
    let height = grid_h + caption_h;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"'DejaVu Sans Mono', 'Liberation Mono', monospace\" \
         font-size=\"{FONT_PX}\">\n<rect width=\"{width}\" height=\"{height}\" fill=\"{}\"/>\n",
        p.background.hex()
    );
    for (r, runs) in p.rows.iter().enumerate() {
        let y = r as u32 * CELL_H;
        for run in runs.iter().filter(|run| run.style.bg != p.background) {
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"{CELL_H}\" fill=\"{}\"/>",
                u32::from(run.col) * CELL_W,
                u32::from(run.cells) * CELL_W,
                run.style.bg.hex()
            );
        }
        for run in runs.iter().filter(|run| !run.is_blank()) {
            text(&mut out, run, y);
        }
    }
    for (i, line) in caption.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"4\" y=\"{}\" fill=\"#a0a0a0\" font-size=\"13\" xml:space=\"preserve\">{}</text>",
            grid_h + CAPTION_PAD / 2 + 13 + i as u32 * CAPTION_LINE_H,
            escape(line)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// A run's text and its lines.
fn text(out: &mut String, run: &Run, y: u32) {
    let s = &run.style;
    let x = u32::from(run.col) * CELL_W;
    let w = u32::from(run.cells) * CELL_W;
    let _ = write!(
        out,
        "<text x=\"{x}\" y=\"{}\" textLength=\"{w}\" lengthAdjust=\"spacingAndGlyphs\" \
         xml:space=\"preserve\" fill=\"{}\"",
        y + BASELINE,
        s.fg.hex()
    );
    if s.bold {
        out.push_str(" font-weight=\"bold\"");
    }
    if s.italic {
        out.push_str(" font-style=\"italic\"");
    }
    let _ = writeln!(out, ">{}</text>", escape(&run.text));
    let line = |out: &mut String, at: u32, dash: &str| {
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{at}.5\" x2=\"{}\" y2=\"{at}.5\" stroke=\"{}\"{dash}/>",
            x + w,
            s.fg.hex()
        );
    };
    match s.underline {
        Underline::None => {}
        Underline::Single => line(out, y + 17, ""),
        Underline::Double => {
            line(out, y + 16, "");
            line(out, y + 18, "");
        }
        Underline::Dotted => line(out, y + 17, " stroke-dasharray=\"1 2\""),
        Underline::Dashed => line(out, y + 17, " stroke-dasharray=\"4 2\""),
        Underline::Curly => {
            let mut d = format!("M{x} {}", y + 17);
            let mut at = x;
            while at < x + w {
                let _ = write!(d, " q2 -2 4 0 q2 2 4 0");
                at += 8;
            }
            let _ = writeln!(
                out,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{}\"/>",
                s.fg.hex()
            );
        }
    }
    if s.strike {
        line(out, y + 10, "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use termtape_emu::Terminal;

    #[test]
    fn the_recorded_text_is_character_data_never_markup() {
        let mut t = Terminal::new(40, 2);
        t.feed_str("<script>alert(1)</script> & \"x\"\x1b[4m u\x1b[0m\r\n\x1b[41m中\x1b[?25l");
        let svg = render(&super::super::Picture::of(&t, Some("a<b>@h".into())));
        assert!(!svg.contains("<script"), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"),
            "{svg}"
        );
        assert!(svg.contains("a&lt;b&gt;@h"), "{svg}");
        // The wide character covers two cells exactly, on its red cells.
        assert!(
            svg.contains("<rect x=\"0\" y=\"20\" width=\"20\" height=\"20\" fill=\"#cd0000\"/>"),
            "{svg}"
        );
        assert!(svg.contains("textLength=\"20\" lengthAdjust=\"spacingAndGlyphs\" xml:space=\"preserve\" fill=\"#e5e5e5\">中</text>"), "{svg}");
        assert!(svg.contains("<line "), "the underline: {svg}");
        assert_eq!(escape("\u{1}\u{fffe}ok"), "\u{fffd}\u{fffd}ok");
    }
}
