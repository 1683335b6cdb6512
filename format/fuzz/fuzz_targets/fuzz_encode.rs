//! The recorder's encoder, fed what a user's programs print and type (any
//! bytes, in any pieces, with any pauses and window sizes, at any payload):
//! no panic, every message it writes reads back strictly, and decoding the
//! messages gives back both streams exactly. The recorder is a security
//! control: nothing printed may crash it or be lost.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use termtape_format::{
    Encoded, Encoder, Header, Location, MIN_PAYLOAD, Packet, Reader, Stream,
};

fuzz_target!(|data: &[u8]| {
    let [p0, p1, rest @ ..] = data else {
        return;
    };
    let payload = MIN_PAYLOAD + usize::from(u16::from_le_bytes([*p0, *p1])) % 4096;
    let mut ops = rest;
    let header = Header {
        host: "h\"ost".into(),
        rec: "r".into(),
        user: "ü".into(),
        term: "xterm".into(),
        session: 1,
    };
    let mut encoder = Encoder::new(&header, payload, Duration::from_secs(1)).expect("a payload");
    let mut log = Vec::new();
    let mut emit = |e: Encoded<'_>| -> Result<(), ()> {
        log.extend_from_slice(e.json);
        Ok(())
    };
    let (mut input, mut output) = (Vec::new(), Vec::new());
    let mut now = 0u64;
    while let [kind, delay, len, rest @ ..] = ops {
        now += u64::from(*delay) * u64::from(*delay);
        let at = Duration::from_millis(now);
        let n = usize::from(*len).min(rest.len());
        let (bytes, rest) = rest.split_at(n);
        match kind % 4 {
            0 => {
                encoder.io(at, Stream::Input, bytes, &mut emit).expect("emit");
                input.extend_from_slice(bytes);
            }
            1 | 2 => {
                encoder.io(at, Stream::Output, bytes, &mut emit).expect("emit");
                output.extend_from_slice(bytes);
            }
            _ => {
                let (cols, rows) = (u16::from(*len), u16::from(*delay));
                encoder.window(at, cols, rows, &mut emit).expect("emit");
            }
        }
        ops = rest;
    }
    encoder.cut(&mut emit).expect("emit");
    encoder.flush(&mut emit).expect("emit");

    let (mut got_in, mut got_out) = (Vec::new(), Vec::new());
    for msg in Reader::new(&log[..], None, false) {
        let msg = msg.expect("every message reads back strictly");
        msg.decode(&Location::default(), |t| {
            if let Packet::Io { stream, bytes } = t.packet {
                match stream {
                    Stream::Input => got_in.extend_from_slice(&bytes),
                    Stream::Output => got_out.extend_from_slice(&bytes),
                }
            }
        })
        .expect("decodes");
    }
    assert_eq!(got_in, input);
    assert_eq!(got_out, output);
});
