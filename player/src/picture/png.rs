//! A [`Picture`] as a PNG image, drawn cell by cell with fonts from
//! Debian packages: DejaVu Sans Mono (fonts-dejavu-core) for the text,
//! Droid Sans Fallback (fonts-droid-fallback) for CJK and Symbola
//! (fonts-symbola) for symbols and emoji, in that order. A glyph wider
//! than its cells is drawn smaller to fit them, so the grid stays exact; a
//! character no font has is drawn as an empty box of its cells.

use std::collections::HashMap;
use std::path::Path;

use fontdue::{Font, FontSettings};
use termtape_emu::Underline;

use super::svg::{CAPTION_CHAR_W, CAPTION_LINE_H, CAPTION_PAD, CELL_H, CELL_W, caption_block};
use super::{Picture, Rgb, Run};

/// Font size in px (DejaVu Sans Mono's advance at 16 px is 9.6 px: one
/// 10 px cell).
const FONT_PX: f32 = 16.0;
/// From a cell's top to the baseline.
const BASELINE: i32 = 15;
/// The caption's font size.
const CAPTION_PX: f32 = 13.0;

/// The monospace faces: regular, bold, oblique, bold oblique.
const FACES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Oblique.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-BoldOblique.ttf",
];
/// Fonts for the characters the faces lack, tried in order (those there).
const FALLBACKS: [&str; 2] = [
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
];

/// The fonts a PNG is drawn with.
pub struct Fonts {
    faces: Vec<Font>,
    fallbacks: Vec<Font>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts")
            .field("faces", &self.faces.len())
            .field("fallbacks", &self.fallbacks.len())
            .finish()
    }
}

fn load(path: &str) -> Result<Font, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    Font::from_bytes(bytes, FontSettings::default()).map_err(|e| format!("{path}: {e}"))
}

impl Fonts {
    /// Reads the font files. DejaVu Sans Mono is needed (its regular face
    /// at least: the others fall back to it); the fallbacks are used when
    /// they are installed.
    pub fn load() -> Result<Fonts, String> {
        let regular = load(FACES[0]).map_err(|e| {
            format!(
                "{e}: PNG screenshots need DejaVu Sans Mono (apt-get install fonts-dejavu-core)"
            )
        })?;
        let mut faces = vec![regular];
        for path in &FACES[1..] {
            if let Ok(face) = load(path) {
                faces.push(face);
            } else {
                faces.push(faces[0].clone());
            }
        }
        let fallbacks = FALLBACKS
            .iter()
            .filter(|p| Path::new(p).exists())
            .map(|p| load(p))
            .collect::<Result<_, _>>()?;
        Ok(Fonts { faces, fallbacks })
    }

    /// The font that has `c`, for a run of this weight and slant.
    fn font_for(&self, c: char, bold: bool, italic: bool) -> Option<&Font> {
        let face = &self.faces[usize::from(bold) + 2 * usize::from(italic)];
        std::iter::once(face)
            .chain(self.fallbacks.iter())
            .find(|f| f.lookup_glyph_index(c) != 0)
    }
}

/// An RGB canvas.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, color: Rgb) {
        for row in y..(y + h).min(self.height) {
            for col in x..(x + w).min(self.width) {
                let i = ((row * self.width + col) * 3) as usize;
                self.pixels[i..i + 3].copy_from_slice(&[color.0, color.1, color.2]);
            }
        }
    }

    /// Blends `color` over the pixel at (`x`, `y`) by `alpha` (0–255).
    fn blend(&mut self, x: i32, y: i32, color: Rgb, alpha: u8) {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height || alpha == 0 {
            return;
        }
        let i = ((y as u32 * self.width + x as u32) * 3) as usize;
        let a = u16::from(alpha);
        for (k, v) in [color.0, color.1, color.2].into_iter().enumerate() {
            let old = u16::from(self.pixels[i + k]);
            self.pixels[i + k] = ((u16::from(v) * a + old * (255 - a)) / 255) as u8;
        }
    }
}

/// A glyph's coverage, placed: its left and top from the pen position
/// (x at the cell's left, y at the baseline), width and rows of alpha.
struct Glyph {
    left: i32,
    top: i32,
    width: usize,
    alpha: Vec<u8>,
}

/// Draws glyphs, each rasterized once per character, look and width.
struct Painter<'f> {
    fonts: &'f Fonts,
    cache: HashMap<(char, bool, bool, u16, u32), Option<Glyph>>,
}

impl Painter<'_> {
    /// `c` drawn into `cells` cells, or `None` if no font has it.
    fn glyph(&mut self, c: char, bold: bool, italic: bool, cells: u16, px: f32) -> Option<&Glyph> {
        let fonts = self.fonts;
        self.cache
            .entry((c, bold, italic, cells, px.to_bits()))
            .or_insert_with(|| {
                let font = fonts.font_for(c, bold, italic)?;
                let room = f32::from(cells) * CELL_W as f32;
                let advance = font.metrics(c, px).advance_width;
                // Wider than its cells (a fallback font's glyph): smaller.
                let px = if advance > room {
                    px * room / advance
                } else {
                    px
                };
                let (m, alpha) = font.rasterize(c, px);
                // Centred in its cells when narrower (CJK at its own width).
                let spare = (room - m.advance_width.max(m.width as f32)).max(0.0) / 2.0;
                Some(Glyph {
                    left: m.xmin + spare.round() as i32,
                    top: -(m.height as i32) - m.ymin,
                    width: m.width,
                    alpha,
                })
            })
            .as_ref()
    }
}

/// The PNG file's bytes.
pub fn render(p: &Picture, fonts: &Fonts) -> Result<Vec<u8>, String> {
    let width = u32::from(p.cols) * CELL_W;
    let grid_h = p.rows.len() as u32 * CELL_H;
    let (caption, caption_h) = caption_block(p.caption.as_deref(), width);
    let height = grid_h + caption_h;
    let mut canvas = Canvas {
        width,
        height,
        pixels: vec![0; (width * height * 3) as usize],
    };
    canvas.fill(0, 0, width, height, p.background);
    let mut painter = Painter {
        fonts,
        cache: HashMap::new(),
    };
    for (r, runs) in p.rows.iter().enumerate() {
        let y = r as u32 * CELL_H;
        for run in runs {
            draw_run(&mut canvas, &mut painter, run, y);
        }
    }
    for (i, line) in caption.iter().enumerate() {
        let baseline = (grid_h + CAPTION_PAD / 2 + 13 + i as u32 * CAPTION_LINE_H) as i32;
        for (k, c) in line.chars().enumerate() {
            let x = 4 + (k as u32 * CAPTION_CHAR_W) as i32;
            if let Some(g) = painter.glyph(c, false, false, 1, CAPTION_PX) {
                let (left, top) = (x + g.left, baseline + g.top);
                let rows = g.alpha.chunks(g.width.max(1));
                for (gy, row) in rows.enumerate() {
                    for (gx, &a) in row.iter().enumerate() {
                        canvas.blend(left + gx as i32, top + gy as i32, Rgb(0xa0, 0xa0, 0xa0), a);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&canvas.pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn draw_run(canvas: &mut Canvas, painter: &mut Painter<'_>, run: &Run, y: u32) {
    let s = &run.style;
    let x0 = u32::from(run.col) * CELL_W;
    let w = u32::from(run.cells) * CELL_W;
    canvas.fill(x0, y, w, CELL_H, s.bg);
    if !run.is_blank() {
        // One cell per character (its combining marks drawn over it), or
        // the wide character over its two.
        let mut cell: Option<u32> = None;
        for c in run.text.chars() {
            let combining = unicode_combining(c);
            if !combining || cell.is_none() {
                cell = Some(cell.map_or(0, |i| i + 1));
            }
            let cells = if run.wide { 2 } else { 1 };
            let x = (x0 + cell.unwrap_or(0) * CELL_W) as i32;
            match painter.glyph(c, s.bold, s.italic, cells, FONT_PX) {
                Some(g) => {
                    let (left, top) = (x + g.left, y as i32 + BASELINE + g.top);
                    for (gy, row) in g.alpha.chunks(g.width.max(1)).enumerate() {
                        for (gx, &a) in row.iter().enumerate() {
                            canvas.blend(left + gx as i32, top + gy as i32, s.fg, a);
                        }
                    }
                }
                None if c != ' ' && !combining => {
                    // No font has it: an empty box where it stands.
                    let bw = u32::from(cells) * CELL_W - 2;
                    canvas.fill(x as u32 + 1, y + 3, bw, 1, s.fg);
                    canvas.fill(x as u32 + 1, y + CELL_H - 4, bw, 1, s.fg);
                    canvas.fill(x as u32 + 1, y + 3, 1, CELL_H - 6, s.fg);
                    canvas.fill(x as u32 + bw, y + 3, 1, CELL_H - 6, s.fg);
                }
                None => {}
            }
        }
    }
    let line = |canvas: &mut Canvas, at: u32| canvas.fill(x0, y + at, w, 1, s.fg);
    match s.underline {
        Underline::None => {}
        Underline::Double => {
            line(canvas, 16);
            line(canvas, 18);
        }
        _ => line(canvas, 17),
    }
    if s.strike {
        line(canvas, 10);
    }
}

/// Whether `c` is a combining mark (drawn over the character before it).
fn unicode_combining(c: char) -> bool {
    matches!(c,
        '\u{300}'..='\u{36f}'
        | '\u{1ab0}'..='\u{1aff}'
        | '\u{1dc0}'..='\u{1dff}'
        | '\u{20d0}'..='\u{20ff}'
        | '\u{fe20}'..='\u{fe2f}'
        | '\u{200d}'
        | '\u{fe00}'..='\u{fe0f}')
}
