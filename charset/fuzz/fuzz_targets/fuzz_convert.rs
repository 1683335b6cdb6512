//! Converts arbitrary bytes in an arbitrary charset, cut into reads and
//! messages at arbitrary points, and checks that the text is the one-call
//! decoding and that the messages' originals restore the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termtape_charset::{Charset, Original, Packer, Transcoder, restore};

fuzz_target!(|data: &[u8]| {
    let [which, cut_a, cut_b, bytes @ ..] = data else {
        return;
    };
    let charsets: Vec<Charset> = Charset::all().collect();
    let charset = charsets[usize::from(*which) % charsets.len()];

    let mut whole = String::new();
    let mut one_call = charset.decoder();
    one_call.decode(bytes, &mut whole);
    one_call.finish(&mut whole);

    let mut t = Transcoder::new(charset);
    let mut packer = Packer::new().expect("packer");
    let (mut text, mut restored) = (String::new(), Vec::new());
    let mut taken = 0;
    let mut message = |t: &mut Transcoder, text: &str, taken: &mut usize, end: usize| {
        let packed = match t.take(end as u64) {
            Original::Same => None,
            Original::Bytes(b) => {
                let mut s = String::new();
                packer.pack(b, &mut s).expect("pack");
                Some(s)
            }
        };
        restore(
            charset,
            &text[*taken..end],
            packed.as_deref(),
            &mut restored,
        )
        .expect("restore");
        *taken = end;
    };
    let read = usize::from(*cut_a).max(1);
    for chunk in bytes.chunks(read) {
        text.push_str(t.decode(chunk));
        // A message ends somewhere in the text not yet taken.
        let mut end = taken + (text.len() - taken) * usize::from(*cut_b) / 255;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if end >= taken {
            message(&mut t, &text, &mut taken, end);
        }
    }
    text.push_str(t.finish());
    let end = text.len();
    message(&mut t, &text, &mut taken, end);
    assert!(t.is_drained());
    assert_eq!(text, whole);
    assert_eq!(restored, bytes);
});
