//! Legacy charset conversion: KOI8-R and EUC-JP terminal output to UTF-8
//! (throughput in original bytes per second), alone and with the per-message
//! originals a recorder keeps.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use termtape_charset::{Charset, Original, Packer, Transcoder};

/// Lines of mixed Russian and ASCII text (a log, a listing), about `bytes`
/// long once encoded in `charset`.
fn text(charset: Charset, sample: &str, bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 256);
    let mut n = 0u64;
    while out.len() < bytes {
        let line = format!("{n:>8} {sample}\r\n");
        assert!(charset.encode(&line, &mut out), "sample encodes");
        n += 1;
    }
    out
}

const RUSSIAN: &str = "Съешь же ещё этих мягких французских булок, да выпей чаю. -rw-r--r-- 1 root";
const JAPANESE: &str = "いろはにほへと ちりぬるを わかよたれそ つねならむ 日本語のテキスト ok";

/// Decodes `input` in reads of `read` bytes; returns the text's length.
fn decode(charset: Charset, input: &[u8], read: usize) -> usize {
    let mut decoder = charset.decoder();
    let mut text = String::with_capacity(2 * read + 16);
    let mut total = 0;
    for chunk in input.chunks(read) {
        text.clear();
        total += decoder.decode(chunk, &mut text);
    }
    text.clear();
    total + decoder.finish(&mut text)
}

/// As the recorder does: decodes reads, ends a message every `message`
/// bytes of text, checks and packs its original; returns the packed size.
fn transcode(charset: Charset, input: &[u8], read: usize, message: u64) -> usize {
    let mut t = Transcoder::new(charset);
    let mut packer = Packer::new().expect("zstd context");
    let mut packed = String::new();
    let mut next = message;
    for chunk in input.chunks(read) {
        t.decode(chunk);
        while t.text_len() >= next {
            // `take` moves an end inside a character back to its start.
            if let Original::Bytes(b) = t.take(next) {
                packer.pack(b, &mut packed).expect("pack");
            }
            next += message;
        }
    }
    t.finish();
    let end = t.text_len();
    if let Original::Bytes(b) = t.take(end) {
        packer.pack(b, &mut packed).expect("pack");
    }
    packed.len()
}

fn bench(c: &mut Criterion) {
    let size = 4 << 20;
    let koi8 = Charset::for_name("KOI8-R").expect("known");
    let eucjp = Charset::for_name("EUC-JP").expect("known");
    let inputs = [
        ("koi8-r", koi8, text(koi8, RUSSIAN, size)),
        ("euc-jp", eucjp, text(eucjp, JAPANESE, size)),
    ];
    let mut group = c.benchmark_group("charset");
    group.sample_size(20);
    for (name, charset, input) in &inputs {
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function(format!("charset: {name} decode"), |b| {
            b.iter(|| decode(*charset, black_box(input), 4096))
        });
        // Messages of about 1900 bytes of text, as a 2048-byte payload holds.
        group.bench_function(format!("charset: {name} transcode with originals"), |b| {
            b.iter(|| transcode(*charset, black_box(input), 4096, 1900))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
