//! The hash chain and its seals (`termtape_format::chain`): what chaining
//! and signing cost the recorder per byte of log, and how fast `termtape
//! verify` checks a recording (target: 500 MB of log per second per core).
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use termtape_benches::{encode_output, seq_output};
use termtape_format::Encoded;
use termtape_format::chain::{self, Cadence, Chainer, Seal, SecretKey, with_links};
use termtape_format::extension::Extended;
use termtape_format::verify::Verifier;

/// tlog's messages of `seq` output, as the encoder makes them.
fn messages(bytes: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    encode_output(&seq_output(bytes), 4096, |json| out.push(json.to_vec()));
    out
}

fn encoded(json: &[u8], i: usize) -> Encoded<'_> {
    Encoded {
        id: i as u64 + 1,
        pos: i as u64 * 10,
        time: 0,
        json,
        input_end: 0,
        output_end: 0,
    }
}

/// The messages chained and sealed as the recorder does (every 1000
/// messages, and the last), in their file form: a recording's lines.
fn chained(messages: &[Vec<u8>], key: SecretKey) -> Vec<u8> {
    let mut chainer = Chainer::new(Ok(key), Cadence::default());
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for (i, json) in messages.iter().enumerate() {
        let m = Extended::plain(encoded(json, i));
        let links = chainer.link(&m, i + 1 == messages.len()).expect("valid");
        let fields = with_links(&[], &links);
        let linked = Extended {
            message: m.message,
            fields: &fields,
        };
        out.extend_from_slice(linked.file_form(&mut buf).expect("an object"));
    }
    out
}

fn bench(c: &mut Criterion) {
    let messages = messages(8 << 20);
    let log_bytes: usize = messages.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("chain");
    group.throughput(Throughput::Bytes(log_bytes as u64));
    group.bench_function("chain: link every message, seal every 1000 (signed)", |b| {
        b.iter(|| {
            let mut chainer = Chainer::new(Ok(SecretKey::from_seed([1; 32])), Cadence::default());
            for (i, json) in messages.iter().enumerate() {
                black_box(
                    chainer
                        .link(&Extended::plain(encoded(json, i)), false)
                        .expect("valid"),
                );
            }
        })
    });
    // The same links made as the verifier makes them, scanning every
    // member of each message (how the recorder made them before it read
    // its writer's layout): the difference is what that saves.
    group.bench_function("chain: link every message by scanning it", |b| {
        b.iter(|| {
            let mut head = chain::GENESIS;
            for json in &messages {
                let mut members = chain::members(json).expect("valid");
                head = chain::link(&head, &mut members);
            }
            black_box(head)
        })
    });
    // The floor: SHA-256 of each whole message as one member.
    group.bench_function("chain: hash every message whole (SHA-256 alone)", |b| {
        b.iter(|| {
            let mut head = chain::GENESIS;
            for json in &messages {
                let text = std::str::from_utf8(json).expect("UTF-8");
                head = chain::link(&head, &mut [(std::borrow::Cow::Borrowed("m"), text)]);
            }
            black_box(head)
        })
    });
    let lines = chained(&messages, SecretKey::from_seed([1; 32]));
    let public = SecretKey::from_seed([1; 32]).public();
    group.throughput(Throughput::Bytes(lines.len() as u64));
    group.bench_function("chain: verify a recording (lines in memory)", |b| {
        b.iter(|| {
            let mut verifier = Verifier::new(Some(public), None);
            for (n, line) in lines.split(|&b| b == b'\n').enumerate() {
                if !line.is_empty() {
                    verifier.line(line, n as u64 + 1);
                }
            }
            let reports = verifier.finish();
            assert!(reports[0].verdict.is_intact(), "{:?}", reports[0].verdict);
        })
    });
    group.bench_function(
        "chain: termtape verify's reader (BufRead, bounded lines)",
        |b| {
            b.iter(|| {
                let reports =
                    termtape_player::verify::verify(&lines[..], None, Some(public)).expect("read");
                assert!(reports[0].verdict.is_intact());
            })
        },
    );
    group.finish();
    let key = SecretKey::from_seed([1; 32]);
    let mut group = c.benchmark_group("seal");
    group.bench_function("seal: sign a head (Ed25519)", |b| {
        b.iter(|| black_box(Seal::new(black_box([7; 32]), false, Ok(&key))))
    });
    let seal = Seal::new([7; 32], false, Ok(&key));
    group.bench_function("seal: verify a seal (Ed25519)", |b| {
        b.iter(|| assert!(black_box(&seal).verifies(&public)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
