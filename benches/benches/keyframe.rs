//! Keyframes: taking one from a busy screen and restoring it (the recorder's
//! and the seek's costs per keyframe), and adding keyframes to an existing
//! recording (`termtape keyframe`, throughput in log bytes per second).
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use termtape_benches::{colour_listing, encode_output, seq_output};
use termtape_emu::Terminal;
use termtape_format::Location;
use termtape_keyframe::{Cadence, Keyframe, Rekeyer};

/// A terminal of `cols` x `rows` after a screenful of colour listing, on
/// the alternate screen over a primary screen of `seq` output.
fn busy(cols: u16, rows: u16) -> Terminal {
    let mut t = Terminal::new(cols, rows);
    t.feed(&seq_output(64 << 10));
    t.feed(b"\x1b[?1049h\x1b[H\x1b[2J");
    t.feed(&colour_listing(64 << 10));
    t
}

/// `output` recorded as tlog messages, one per line.
fn messages(output: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    encode_output(output, 4096, |json| {
        lines.push(String::from_utf8_lossy(json).trim_end().to_owned())
    });
    lines
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("keyframe");
    for (cols, rows) in [(80, 24), (200, 50)] {
        let term = busy(cols, rows);
        let kf = Keyframe::capture(&term);
        let json = kf.to_json();
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_function(format!("keyframe: capture {cols}x{rows} busy"), |b| {
            b.iter(|| black_box(Keyframe::capture(black_box(&term)).to_json()))
        });
        group.bench_function(format!("keyframe: restore {cols}x{rows} busy"), |b| {
            b.iter(|| {
                let kf = Keyframe::parse(black_box(&json), &Location::default()).expect("kf");
                black_box(kf.restore())
            })
        });
    }
    let lines = messages(&colour_listing(4 << 20));
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("keyframe: rekey colour ls 4 MiB", |b| {
        b.iter(|| {
            let mut rekeyer = Rekeyer::new(Cadence::default());
            let mut out = Vec::with_capacity(bytes + bytes / 8);
            for line in &lines {
                rekeyer
                    .line(line, &Location::default(), &mut out)
                    .expect("valid");
            }
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
