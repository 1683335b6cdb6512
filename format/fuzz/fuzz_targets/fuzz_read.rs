//! Reading recordings: any bytes, as lines of a log, are read strictly and
//! laxly without a panic; every message read decodes or fails with an
//! error, writes back to JSON that parses to the same message, and its
//! packets hold exactly its text and binary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termtape_format::{Location, Message, Packet, Reader, Stream};

fuzz_target!(|data: &[u8]| {
    for lax in [false, true] {
        for item in Reader::new(data, Some("fuzz".to_owned()), lax) {
            let Ok(msg) = item else {
                continue;
            };
            let at = Location::default();
            let again = Message::parse(&msg.to_json(), &at).expect("a message read writes back");
            assert_eq!(again, msg);
            let mut packets = Vec::new();
            if msg.decode(&at, |t| packets.push(t)).is_err() {
                continue;
            }
            for stream in [Stream::Output, Stream::Input] {
                let joined: Vec<u8> = packets
                    .iter()
                    .filter_map(|t| match &t.packet {
                        Packet::Io { stream: s, bytes } if *s == stream => Some(bytes.as_slice()),
                        _ => None,
                    })
                    .flatten()
                    .copied()
                    .collect();
                assert_eq!(joined, msg.bytes(stream, &at).expect("decoded, so its bytes are"));
            }
        }
    }
});
