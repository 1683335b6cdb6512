//! The encoder: terminal output cut into tlog messages (throughput in input
//! bytes per second), per kind of stream.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use termtape_benches::{colour_listing, random_bytes, seq_output};
use termtape_format::{DEFAULT_PAYLOAD, Encoded, Encoder, Header, Stream};

fn encode(input: &[u8], read_size: usize) -> usize {
    let header = Header {
        host: "bench.example.com".into(),
        rec: "0123456789abcdef0123456789abcdef-1a2b-3c4d".into(),
        user: "root".into(),
        term: "xterm-256color".into(),
        session: 1,
    };
    let mut enc = Encoder::new(&header, DEFAULT_PAYLOAD, Duration::from_secs(1_700_000_000))
        .expect("payload");
    let mut written = 0usize;
    let mut emit = |m: Encoded<'_>| -> Result<(), ()> {
        written += m.json.len();
        Ok(())
    };
    enc.window(Duration::ZERO, 80, 24, &mut emit).expect("emit");
    // Reads of a PTY, one millisecond apart, as a busy command produces them.
    for (i, chunk) in input.chunks(read_size).enumerate() {
        enc.io(
            Duration::from_millis(i as u64),
            Stream::Output,
            chunk,
            &mut emit,
        )
        .expect("emit");
    }
    enc.cut(&mut emit).expect("emit");
    enc.flush(&mut emit).expect("emit");
    written
}

fn bench(c: &mut Criterion) {
    let size = 4 << 20;
    let streams = [
        ("seq", seq_output(size)),
        ("colour ls", colour_listing(size)),
        ("random bytes", random_bytes(size)),
    ];
    let mut group = c.benchmark_group("chunk");
    for (name, input) in &streams {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(format!("chunk: {name} 4 KiB reads"), |b| {
            b.iter(|| black_box(encode(black_box(input), 4096)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
