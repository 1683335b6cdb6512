//! The encoder: terminal output cut into tlog messages (throughput in input
//! bytes per second), per kind of stream.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use termtape_benches::{colour_listing, encode_output, random_bytes, seq_output};

fn encode(input: &[u8], read_size: usize) -> usize {
    let mut written = 0usize;
    encode_output(input, read_size, |json| written += json.len());
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
