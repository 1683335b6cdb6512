//! The emulator: output bytes fed to termtape-emu, with vt100 and avt measured
//! in the same run on the same streams (throughput in input bytes per second);
//! then snapshot, restore and clone of a busy 200x50 screen, with the snapshot's
//! size and the heap a fresh 200x50 terminal takes printed alongside.

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;
use std::num::NonZeroU16;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use termtape_benches::{colour_listing, random_bytes, seq_output};
use termtape_emu::Terminal;

/// A full-screen program redrawing: cursor addressing, colours, boxes, text.
fn redraws(cols: u16, rows: u16, bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 4096);
    let mut frame = 0usize;
    while out.len() < bytes {
        out.extend_from_slice(b"\x1b[H\x1b[?25l");
        for r in 1..=rows {
            let colour = (frame + r as usize) % 256;
            out.extend_from_slice(format!("\x1b[{r};1H\x1b[38;5;{colour}m").as_bytes());
            let mut col = 0u16;
            let mut k = 0usize;
            while col + 12 <= cols {
                let field = format!(
                    "{:>5}.{:<2} \x1b[1m|\x1b[22m ",
                    (frame * 7 + k * 13) % 100_000,
                    k % 100
                );
                out.extend_from_slice(field.as_bytes());
                col += 11;
                k += 1;
            }
            out.extend_from_slice(b"\x1b[K\x1b[0m");
        }
        out.extend_from_slice(
            format!("\x1b[{rows};1H\x1b[7m status {frame} \x1b[0m\x1b[?25h").as_bytes(),
        );
        frame += 1;
    }
    out
}

/// CJK, emoji and combining marks, wrapped at the margin.
fn cjk_emoji(bytes: usize) -> Vec<u8> {
    let words = [
        "日本語のテキスト",
        "中文字符",
        "한국어 ",
        "😀🎉🚀",
        "e\u{301}te\u{301} ",
        "Привет ",
        "ascii ",
    ];
    let mut out = Vec::with_capacity(bytes + 64);
    let mut i = 0usize;
    while out.len() < bytes {
        out.extend_from_slice(words[i % words.len()].as_bytes());
        if i % 9 == 8 {
            out.extend_from_slice(b"\r\n");
        }
        i += 1;
    }
    out
}

fn feed_ours(cols: u16, rows: u16, input: &[u8]) -> u16 {
    let mut t = Terminal::new(cols, rows);
    for chunk in input.chunks(4096) {
        t.feed(chunk);
    }
    t.cursor().row
}

fn feed_vt100(cols: u16, rows: u16, input: &[u8]) -> u16 {
    let nz = |v| NonZeroU16::new(v).expect("bench sizes are positive");
    let mut p = vt100::Parser::new(nz(rows), nz(cols), 0);
    for chunk in input.chunks(4096) {
        p.process(chunk);
    }
    p.screen().cursor_position().0
}

fn feed_avt(cols: u16, rows: u16, input: &str) -> usize {
    let mut t = avt::Terminal::new(cols as usize, rows as usize).expect("bench sizes are positive");
    let mut rest = input;
    while !rest.is_empty() {
        let mut at = rest.len().min(4096);
        while !rest.is_char_boundary(at) {
            at += 1;
        }
        t.feed(&rest[..at]);
        rest = &rest[at..];
    }
    t.cursor().row
}

fn bench_feed(c: &mut Criterion) {
    let size = 1 << 20;
    let streams: [(&str, u16, u16, Vec<u8>); 6] = [
        ("seq", 80, 24, seq_output(size)),
        ("colour ls", 80, 24, colour_listing(size)),
        ("redraw 80x24", 80, 24, redraws(80, 24, size)),
        ("redraw 200x50", 200, 50, redraws(200, 50, size)),
        ("cjk emoji", 80, 24, cjk_emoji(size)),
        ("random bytes", 80, 24, random_bytes(size)),
    ];
    for (name, cols, rows, input) in &streams {
        let mut g = c.benchmark_group(format!("emu_feed: {name}"));
        g.throughput(Throughput::Bytes(input.len() as u64));
        // avt takes text: invalid UTF-8 is replaced up front, outside the timing.
        let text = String::from_utf8_lossy(input).into_owned();
        g.bench_function(BenchmarkId::from_parameter("termtape"), |b| {
            b.iter(|| feed_ours(*cols, *rows, black_box(input)))
        });
        g.bench_function(BenchmarkId::from_parameter("vt100"), |b| {
            b.iter(|| feed_vt100(*cols, *rows, black_box(input)))
        });
        g.bench_function(BenchmarkId::from_parameter("avt"), |b| {
            b.iter(|| feed_avt(*cols, *rows, black_box(&text)))
        });
        g.finish();
    }
}

/// A 200x50 screen full of coloured text, as after a busy redraw, with a
/// scroll region set and the cursor somewhere in the middle.
fn busy_screen() -> Terminal {
    let mut t = Terminal::new(200, 50);
    t.feed(&redraws(200, 50, 64 << 10));
    t.feed(b"\x1b[2;40r\x1b[20;30H\x1b[1;33m");
    t
}

fn bench_snapshot(c: &mut Criterion) {
    let t = busy_screen();
    let snap = t.snapshot();
    let mut both = t.clone();
    both.feed(b"\x1b[?1049h");
    both.feed(&redraws(200, 50, 64 << 10));
    eprintln!(
        "emu_feed: busy 200x50 snapshot {} bytes ({} with both screens full); fresh 200x50 terminal heap {} bytes",
        snap.len(),
        both.snapshot().len(),
        Terminal::new(200, 50).heap_size()
    );

    let mut g = c.benchmark_group("emu_snapshot: busy 200x50");
    g.throughput(Throughput::Bytes(snap.len() as u64));
    g.bench_function("snapshot", |b| b.iter(|| black_box(&t).snapshot()));
    g.bench_function("restore", |b| {
        b.iter(|| Terminal::from_snapshot(200, 50, black_box(&snap)))
    });
    g.bench_function("clone", |b| b.iter(|| black_box(&t).clone()));
    g.bench_function("snapshot both screens", |b| {
        b.iter(|| black_box(&both).snapshot())
    });
    g.finish();
}

criterion_group!(benches, bench_feed, bench_snapshot);
criterion_main!(benches);
