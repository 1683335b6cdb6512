//! The hash chain and its seals on every message written (see
//! `termtape_format::chain`): a [`Sink`] in front of the writer, after the
//! rate limit, so that it chains exactly the messages written.
//!
//! The message carrying the `exit` field is the recording's last: its seal
//! carries the end mark. A recording that ends without one (nothing told
//! the recorder how the command ended) gets a last message with no data to
//! carry the end mark, as the rate limit's closing message does.

use std::io;

use termtape_format::chain::{Chainer, LINK_LEN, SEAL_LEN, with_links};
use termtape_format::extension::{self, Extended};
use termtape_format::{Encoded, Location, Message};

use super::Sink;

/// The most bytes the chain adds to a message: its link and a seal.
const ADDED: usize = (LINK_LEN + SEAL_LEN) as usize;

/// Chains and seals the messages written to `S`.
pub struct Chained<S> {
    inner: S,
    chainer: Chainer,
    /// The last message written (tlog's fields), for a closing message.
    last: Vec<u8>,
    last_at: Option<Encoded<'static>>,
}

impl<S: Sink> Chained<S> {
    /// Chains the messages written to `inner` with `chainer`.
    pub fn new(inner: S, chainer: Chainer) -> Self {
        Chained {
            inner,
            chainer,
            last: Vec::new(),
            last_at: None,
        }
    }

    fn link(&mut self, message: &Extended<'_>, end: bool) -> io::Result<()> {
        let before = self.chainer.progress();
        let links = self
            .chainer
            .link(message, end)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let fields = with_links(message.fields, &links);
        let written = self.inner.write(&Extended {
            message: message.message,
            fields: &fields,
        });
        // A writer's error means the message was not stored: the recorder
        // may try it again (with the end mark, after a writer failed), and
        // the chain must go on from what was written.
        if written.is_err() {
            self.chainer.rewind(before);
        }
        written
    }
}

impl<S: Sink> Sink for Chained<S> {
    fn reserve(&mut self, bytes: u64) -> io::Result<()> {
        self.inner.reserve(bytes)
    }

    fn write(&mut self, message: &Extended<'_>) -> io::Result<()> {
        let end = message.fields.iter().any(|f| f.name == extension::EXIT);
        // What the writer would leave out is left out before the link: the
        // chain covers the message as written.
        match super::fitted(message, ADDED, self.inner.max_len()) {
            Some(fields) => self.link(
                &Extended {
                    message: message.message,
                    fields: &fields,
                },
                end,
            )?,
            None => self.link(message, end)?,
        }
        let m = &message.message;
        self.last.clear();
        self.last.extend_from_slice(m.json);
        self.last_at = Some(Encoded { json: &[], ..*m });
        Ok(())
    }

    fn max_len(&self) -> Option<usize> {
        self.inner.max_len().map(|max| max.saturating_sub(ADDED))
    }

    fn finish(&mut self) -> io::Result<()> {
        if let (false, Some(at)) = (self.chainer.ended(), self.last_at) {
            let json = emptied(&self.last, at.id + 1)?;
            let closing = Encoded {
                id: at.id + 1,
                json: &json,
                ..at
            };
            self.link(&Extended::plain(closing), true)?;
        }
        self.inner.finish()
    }
}

/// The message `json` (tlog's fields) with no data and the id `id`: the
/// one after it, to carry what must come after the last message.
pub(crate) fn emptied(json: &[u8], id: u64) -> io::Result<Vec<u8>> {
    let text = std::str::from_utf8(json).map_err(io::Error::other)?;
    let mut msg =
        Message::parse(text.trim_end(), &Location::default()).map_err(io::Error::other)?;
    msg.id = id;
    msg.timing.clear();
    msg.in_txt.clear();
    msg.in_bin.clear();
    msg.out_txt.clear();
    msg.out_bin.clear();
    let mut plain = Vec::new();
    msg.write_json(&mut plain);
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Memory;
    use termtape_format::chain::{Cadence, SecretKey};
    use termtape_format::verify::{Verdict, Verifier};

    fn verdict(lines: &[String], key: &SecretKey) -> Verdict {
        let mut v = Verifier::new(Some(key.public()), None);
        for (i, line) in lines.iter().enumerate() {
            v.line(line.trim_end().as_bytes(), i as u64 + 1);
        }
        v.finish().remove(0).verdict
    }

    #[test]
    fn a_recording_without_an_exit_still_gets_its_end_mark() {
        let key = SecretKey::from_seed([4; 32]);
        let memory = Memory::default();
        let mut sink = Chained::new(
            memory.clone(),
            Chainer::new(Ok(SecretKey::from_seed([4; 32])), Cadence::default()),
        );
        let json = b"{\"ver\":\"2.3\",\"host\":\"h\",\"rec\":\"r\",\"user\":\"u\",\"term\":\"t\",\"session\":1,\"id\":1,\"pos\":0,\"time\":1.0,\"timing\":\">1\",\"in_txt\":\"\",\"in_bin\":[],\"out_txt\":\"x\",\"out_bin\":[]}\n";
        let m = Encoded {
            id: 1,
            pos: 0,
            time: 1000,
            json,
            input_end: 0,
            output_end: 1,
        };
        sink.write(&Extended::plain(m)).expect("written");
        assert_eq!(
            verdict(&memory.0.borrow(), &key),
            Verdict::Incomplete { unsealed: 0 }
        );
        sink.finish().expect("finished");
        let lines = memory.0.borrow();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].contains("\"id\":2,") && lines[1].contains("\"out_txt\":\"\""));
        assert_eq!(verdict(&lines, &key), Verdict::Intact);
    }

    /// Fails the `n`th write (from 0), writing nothing then.
    struct FailAt(Memory, usize);

    impl Sink for FailAt {
        fn reserve(&mut self, _bytes: u64) -> io::Result<()> {
            Ok(())
        }
        fn write(&mut self, m: &Extended<'_>) -> io::Result<()> {
            self.1 = self.1.wrapping_sub(1);
            match self.1 {
                usize::MAX => Err(io::Error::from_raw_os_error(libc::ENOSPC)),
                _ => self.0.write(m),
            }
        }
        fn finish(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_message_the_writer_did_not_take_is_linked_again_when_it_comes_again() {
        let key = SecretKey::from_seed([5; 32]);
        let memory = Memory::default();
        let mut sink = Chained::new(
            FailAt(memory.clone(), 1),
            Chainer::new(Ok(SecretKey::from_seed([5; 32])), Cadence::default()),
        );
        let line = |id: u64| {
            format!(
                "{{\"ver\":\"2.3\",\"host\":\"h\",\"rec\":\"r\",\"user\":\"u\",\"term\":\"t\",\"session\":1,\"id\":{id},\"pos\":0,\"time\":1.0,\"timing\":\">1\",\"in_txt\":\"\",\"in_bin\":[],\"out_txt\":\"x\",\"out_bin\":[]}}\n"
            )
        };
        let (first, second) = (line(1), line(2));
        fn encoded(id: u64, json: &str) -> Encoded<'_> {
            Encoded {
                id,
                pos: 0,
                time: 1000,
                json: json.as_bytes(),
                input_end: 0,
                output_end: id,
            }
        }
        sink.write(&Extended::plain(encoded(1, &first)))
            .expect("written");
        sink.write(&Extended::plain(encoded(2, &second)))
            .expect_err("the writer failed");
        // The recorder hands it again, with the end mark.
        let exit = termtape_format::Exit::WriterFailed(libc::ENOSPC).field();
        let fields = [extension::Field::new(extension::EXIT, &exit)];
        sink.write(&Extended {
            message: encoded(2, &second),
            fields: &fields,
        })
        .expect("written");
        sink.finish().expect("finished");
        let lines = memory.0.borrow();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[1].contains(r#""exit":{"writer_failed":28}"#),
            "{}",
            lines[1]
        );
        assert_eq!(verdict(&lines, &key), Verdict::Intact);
    }
}
