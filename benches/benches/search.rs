//! `termtape search`: 4 MiB of `seq` output and of a colour listing,
//! recorded as tlog messages, searched on the screen and in what scrolled
//! off (throughput in output bytes per second) on one thread, the same
//! output as 8 recordings interleaved (as concurrent sessions are in a
//! journal) on every core, and `termtape cat` of the one log (the decode
//! alone) for scale.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use termtape_benches::{colour_listing, encode_output, seq_output};
use termtape_player::search::{Pattern, Place, search_in_threads};
use termtape_player::source::Filter;

fn log_of(output: &[u8]) -> Vec<u8> {
    let mut log = Vec::new();
    encode_output(output, 4096, |json| log.extend_from_slice(json));
    log
}

/// `output` as `n` recordings of a share each, their messages interleaved.
fn interleaved(output: &[u8], n: usize) -> Vec<u8> {
    let logs: Vec<Vec<u8>> = output
        .chunks(output.len().div_ceil(n))
        .enumerate()
        .map(|(k, part)| {
            // The same id but for its last digits.
            let log = String::from_utf8(log_of(part)).expect("JSON is UTF-8");
            log.replace("-1a2b-3c4d\"", &format!("-1a2b-{k:04}\""))
                .into_bytes()
        })
        .collect();
    let mut lines: Vec<_> = logs
        .iter()
        .map(|l| l.split_inclusive(|&b| b == b'\n'))
        .collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        for l in &mut lines {
            out.extend_from_slice(l.next().unwrap_or_default());
        }
        if out.len() == before {
            return out;
        }
    }
}

fn search_log(log: &[u8], text: &str, threads: usize) -> usize {
    let mut found = 0;
    search_in_threads(
        threads,
        black_box(log),
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
}

fn bench(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut group = c.benchmark_group("search");
    for (name, output, text) in [
        ("seq", seq_output(4 << 20), "999999"),
        ("colour ls", colour_listing(4 << 20), "no such file"),
    ] {
        let log = log_of(&output);
        group.throughput(Throughput::Bytes(output.len() as u64));
        group.bench_function(format!("search: screen, {name}"), |b| {
            b.iter(|| search_log(&log, text, 1))
        });
        let many = interleaved(&output, 8);
        assert_eq!(search_log(&many, text, 1), search_log(&many, text, cores));
        group.bench_function(
            format!("search: screen, {name}, 8 recordings, {cores} cores"),
            |b| b.iter(|| search_log(&many, text, cores)),
        );
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
