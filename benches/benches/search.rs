//! `termtape search`: 4 MiB of `seq` output and of a colour listing,
//! recorded as tlog messages, searched on the screen and in what scrolled
//! off (throughput in output bytes per second), and `termtape cat` of the
//! same log (the decode alone) for scale.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use termtape_benches::{colour_listing, encode_output, seq_output};
use termtape_player::search::{Pattern, Place, search};
use termtape_player::source::Filter;

fn log_of(output: &[u8]) -> Vec<u8> {
    let mut log = Vec::new();
    encode_output(output, 4096, |json| log.extend_from_slice(json));
    log
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("search");
    for (name, output, text) in [
        ("seq", seq_output(4 << 20), "999999"),
        ("colour ls", colour_listing(4 << 20), "no such file"),
    ] {
        let log = log_of(&output);
        group.throughput(Throughput::Bytes(output.len() as u64));
        group.bench_function(format!("search: screen, {name}"), |b| {
            b.iter(|| {
                let mut found = 0;
                search(
                    black_box(&log[..]),
                    "bench",
                    &Filter::default(),
                    &Pattern::new(text, false),
                    Place::Screen,
                    |_| {
                        found += 1;
                        Ok(())
                    },
                    |_| {},
                    |e| panic!("{e}"),
                )
                .expect("search");
                found
            })
        });
        group.bench_function(format!("search: cat, {name}"), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(output.len());
                termtape_player::cat::cat(
                    black_box(&log[..]),
                    "bench",
                    &termtape_player::Query::default(),
                    termtape_format::Stream::Output,
                    &mut out,
                    |_| {},
                    |e| panic!("{e}"),
                )
                .expect("cat");
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
