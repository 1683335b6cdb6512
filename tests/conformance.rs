//! termtape's encoder against real tlog-rec output: decode each recording of
//! the corpus into packets, encode them again at tlog's payload, and get the
//! same messages field for field (the wall-clock `time` aside, which tlog
//! derives from nanoseconds that the log no longer holds).

use std::time::Duration;

use termtape_format::{
    DEFAULT_PAYLOAD, Encoded, Encoder, Header, Location, Message, Packet, Timed,
};
use termtape_tests::{corpus_dir, journal_json_messages, read_messages};

/// Re-encodes `original`. tlog cuts a message when the next character does
/// not fit the payload, or when its latency timer fires (a timer we cannot
/// replay). So after each original message, the encoder is tried on the next
/// message's packets: if that makes it cut exactly where tlog cut, the cut
/// was the payload's and encoding goes on; otherwise it was the timer's and
/// the encoder is flushed there.
pub(crate) fn reencode(original: &[Message]) -> (Vec<Message>, usize) {
    let first = &original[0];
    let header = Header {
        host: first.host.clone(),
        rec: first.rec.clone().expect("corpus messages have rec"),
        user: first.user.clone(),
        term: first.term.clone(),
        session: first.session,
    };
    let epoch = Duration::from_millis(first.time.expect("time") - first.pos);
    let mut enc = Encoder::new(&header, DEFAULT_PAYLOAD, epoch).expect("payload");
    let packets: Vec<Vec<Timed>> = original
        .iter()
        .map(|m| {
            let mut packets = Vec::new();
            m.decode(&Location::default(), |t| packets.push(t))
                .expect("corpus decodes");
            packets
        })
        .collect();
    let mut out = Vec::new();
    let mut payload_cuts = 0;
    for (k, message_packets) in packets.iter().enumerate() {
        feed(&mut enc, message_packets, &mut out);
        let Some(next) = packets.get(k + 1) else {
            break;
        };
        let mut trial = enc.clone();
        let mut trial_out = Vec::new();
        feed(&mut trial, next, &mut trial_out);
        let payload_cut = trial_out
            .first()
            .is_some_and(|m| same_but_time(m, &original[k]));
        if payload_cut {
            payload_cuts += 1;
        } else {
            enc.flush(&mut emitter(&mut out)).expect("emit");
        }
    }
    {
        let mut emit = emitter(&mut out);
        enc.cut(&mut emit).expect("emit");
        enc.flush(&mut emit).expect("emit");
    }
    (out, payload_cuts)
}

fn emitter(out: &mut Vec<Message>) -> impl FnMut(Encoded<'_>) -> Result<(), String> + '_ {
    |e: Encoded<'_>| {
        let line = std::str::from_utf8(e.json).map_err(|e| e.to_string())?;
        out.push(Message::parse(line.trim_end(), &Location::default()).map_err(|e| e.to_string())?);
        Ok(())
    }
}

fn feed(enc: &mut Encoder, packets: &[Timed], out: &mut Vec<Message>) {
    let mut emit = emitter(out);
    for Timed { at, packet } in packets {
        let at = Duration::from_millis(*at);
        match packet {
            Packet::Window { cols, rows } => enc.window(at, *cols, *rows, &mut emit),
            Packet::Io { stream, bytes } => enc.io(at, *stream, bytes, &mut emit),
        }
        .expect("emit");
    }
}

fn same_but_time(a: &Message, b: &Message) -> bool {
    let mut a = a.clone();
    a.time = b.time;
    &a == b
}

/// Asserts the re-encoding is the same; returns how many cuts were the
/// payload's.
pub(crate) fn assert_same(original: &[Message], name: &str) -> usize {
    let (again, payload_cuts) = reencode(original);
    for (a, b) in original.iter().zip(&again) {
        let mut b = b.clone();
        // The wall-clock time may differ by the sub-millisecond part tlog had.
        let (ta, tb) = (a.time.expect("time"), b.time.expect("time"));
        assert!(
            ta.abs_diff(tb) <= 1,
            "{name} id {}: time {ta} vs {tb}",
            a.id
        );
        b.time = a.time;
        assert_eq!(a, &b, "{name} id {}", a.id);
    }
    assert_eq!(again.len(), original.len(), "{name}: message count");
    payload_cuts
}

#[test]
fn reencoding_tlog_files_gives_the_same_messages() {
    for name in ["a_interactive.log", "f_nul_ctrl.log"] {
        assert_same(&read_messages(&corpus_dir().join(name)), name);
    }
    // b_binary.log's 2000 random bytes filled messages 2 to 6 to the payload:
    // the encoder must cut each at the very character tlog cut it.
    let cuts = assert_same(
        &read_messages(&corpus_dir().join("b_binary.log")),
        "b_binary.log",
    );
    assert_eq!(cuts, 5, "payload cuts reproduced in b_binary.log");
}

#[test]
fn reencoding_tlog_journal_messages_gives_the_same_messages() {
    let messages: Vec<Message> = journal_json_messages(&corpus_dir().join("e_journal.json"))
        .iter()
        .map(|m| Message::parse(m, &Location::default()).expect("valid"))
        .collect();
    assert_same(&messages, "e_journal.json");
}

#[test]
fn serialising_tlog_messages_gives_tlogs_bytes() {
    for name in ["a_interactive.log", "b_binary.log", "f_nul_ctrl.log"] {
        let text = std::fs::read_to_string(corpus_dir().join(name)).expect("corpus");
        for (line, m) in text.lines().zip(read_messages(&corpus_dir().join(name))) {
            assert_eq!(m.to_json(), format!("{line}\n"), "{name} id {}", m.id);
        }
    }
}
