//! The encoder: cuts terminal I/O into messages exactly as tlog does.
//!
//! A message has a *payload* budget (tlog's "chunk size", 2048 bytes by
//! default): the timing string plus the JSON-escaped text and the binary
//! arrays of both streams must fit in it. Packets (I/O bytes, window sizes)
//! go in as they happen; whenever the next character does not fit, the
//! message is finished and handed to the caller, and a new one begins.
//!
//! The rules, all tlog's, so that a tlog-rec recording re-encoded here comes
//! out field for field the same:
//! - bytes are split into characters per Unicode's Table 3-7 (see
//!   `utf8.rs`); each invalid sequence becomes one U+FFFD in the text and its
//!   bytes go into the binary array;
//! - a character is all-or-nothing: it goes into a message whole, with every
//!   timing record it needs (its run's marker and digits, a delay, the
//!   window size that starts every message);
//! - a character incomplete at the end of a write waits for its next bytes,
//!   and is timestamped at its last byte;
//! - time is kept in milliseconds; a delay record separates every change of
//!   time, and is preceded by the pending runs of both streams, input first.
//!
//! The encoder does no I/O and reads no clock: callers pass time in, and
//! receive finished messages through a callback.

use std::time::Duration;

use crate::escape::{MAX_ESCAPED, escape_ascii, escape_ascii_prefix, escaped_len};
use crate::message::{push_time, push_u64};
use crate::timing::Stream;
use crate::utf8::Utf8Seq;
use crate::{Error, Result, VERSION};

/// tlog's default payload size, in bytes.
pub const DEFAULT_PAYLOAD: usize = 2048;

/// The smallest payload the encoder accepts: room for the largest single
/// character with every record it may need.
pub const MIN_PAYLOAD: usize = 64;

/// The most time a burst of output may go without a delay record, in
/// milliseconds (see `Encoder::stamp`).
pub const MAX_DEFERRED_MS: u64 = 50;

/// The identity of a recording, repeated in each of its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Host name (tlog: the FQDN).
    pub host: String,
    /// Recording id.
    pub rec: String,
    /// User name.
    pub user: String,
    /// Terminal type.
    pub term: String,
    /// Audit session id (4294967295 when unset).
    pub session: u32,
}

/// The longest a serialised message of `header`'s recording can be with
/// `payload`, its newline excluded: the fixed fields at their longest plus
/// the payload.
pub fn max_message_len(header: &Header, payload: usize) -> usize {
    let prefix = Encoder::prefix(header).len();
    // id, pos: up to 20 digits; time: 20 digits, a dot and 3 decimals.
    let numbers = 20 + 20 + 24;
    let names =
        r#","pos":,"time":,"timing":"","in_txt":"","in_bin":[],"out_txt":"","out_bin":[]}"#.len();
    prefix + numbers + names + payload
}

/// A finished message, as serialised JSON, with the values a writer needs.
#[derive(Debug, Clone, Copy)]
pub struct Encoded<'a> {
    /// The message id.
    pub id: u64,
    /// Milliseconds from the recording's start to the message's start.
    pub pos: u64,
    /// Wall-clock time of the message's start, milliseconds since the epoch.
    pub time: u64,
    /// The message, one JSON object and a newline, exactly as tlog writes it.
    pub json: &'a [u8],
    /// How many bytes of input the messages so far, this one included,
    /// hold: where this message's input ends in the input stream (a
    /// character still incomplete is not in any message yet).
    pub input_end: u64,
    /// The same for output.
    pub output_end: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum WindowState {
    /// No window size seen yet.
    Unknown,
    /// A size is known; a new message will have to restate it.
    Known,
    /// Room for restating it is reserved; it is written before the next
    /// timing record.
    Reserved,
    /// The current message has stated its window.
    Written,
}

/// One direction's text and binary buffers within the current message.
#[derive(Debug, Clone)]
struct StreamBuf {
    /// JSON-escaped text.
    txt: Text,
    /// The binary array's contents: decimal numbers joined by commas.
    bin: Vec<u8>,
    /// Characters in the current run, and the power of ten at which its
    /// count needs one more digit.
    txt_run: usize,
    txt_dig: usize,
    /// Bytes in the current binary run, and its next digit threshold.
    bin_run: usize,
    bin_dig: usize,
    /// Bytes of the stream in finished and current messages.
    total: u64,
    /// A character whose bytes have not all arrived.
    pending: Utf8Seq,
    /// Time of the pending character's last byte.
    pending_at: u64,
    valid_mark: u8,
    invalid_mark: u8,
}

impl StreamBuf {
    fn new(valid_mark: u8, invalid_mark: u8, payload: usize) -> Self {
        StreamBuf {
            txt: Text::new(payload),
            bin: Vec::new(),
            txt_run: 0,
            txt_dig: 10,
            bin_run: 0,
            bin_dig: 10,
            total: 0,
            pending: Utf8Seq::default(),
            pending_at: 0,
            valid_mark,
            invalid_mark,
        }
    }

    fn clear(&mut self) {
        self.txt.clear();
        self.bin.clear();
        self.txt_run = 0;
        self.bin_run = 0;
    }
}

/// One stream's JSON-escaped text in the current message, in a buffer of
/// the payload's size: every byte of the text is paid for from the
/// payload, so it never outgrows it, and the fast path writes into it by
/// index, without growing a vector byte by byte.
#[derive(Debug, Clone)]
struct Text {
    buf: Box<[u8]>,
    len: usize,
}

impl Text {
    fn new(payload: usize) -> Text {
        Text {
            buf: vec![0; payload].into_boxed_slice(),
            len: 0,
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn extend(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// Cuts a recording's packets into tlog messages.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// `{"ver":"2.3","host":…,"session":N,"id":` — the same in every message.
    prefix: Vec<u8>,
    payload: usize,
    /// Payload bytes still free in the current message.
    rem: usize,
    timing: Vec<u8>,
    /// Whether the current message has a time yet, its first and last times.
    got_ts: bool,
    first_ts: u64,
    last_ts: u64,
    window: WindowState,
    cols: u16,
    rows: u16,
    input: StreamBuf,
    output: StreamBuf,
    next_id: u64,
    /// Wall-clock milliseconds at elapsed time zero.
    epoch_ms: u64,
    /// Elapsed milliseconds of the recording's first packet.
    start: Option<u64>,
    /// The latest time seen, so that time never goes back.
    latest: u64,
    /// Exact elapsed time of the previous packet.
    previous_packet: Option<Duration>,
    /// The last time of the previous message: the next one cannot start
    /// before it, even with a character whose last byte came earlier.
    floor: u64,
    line: Vec<u8>,
    /// Tests turn the ASCII fast path off, to compare it with the general
    /// way, which it must match byte for byte.
    #[cfg(test)]
    general_only: bool,
}

impl Encoder {
    /// An encoder for one recording. `payload` is the budget per message
    /// (tlog's default: [`DEFAULT_PAYLOAD`]); `epoch` is the wall-clock time
    /// (since the Unix epoch) at which elapsed time is zero.
    pub fn new(header: &Header, payload: usize, epoch: Duration) -> Result<Encoder> {
        if payload < MIN_PAYLOAD {
            return Err(Error::PayloadTooSmall(payload));
        }
        let prefix = Encoder::prefix(header);
        Ok(Encoder {
            prefix,
            payload,
            rem: payload,
            timing: Vec::with_capacity(payload),
            got_ts: false,
            first_ts: 0,
            last_ts: 0,
            window: WindowState::Unknown,
            cols: 0,
            rows: 0,
            input: StreamBuf::new(b'<', b'[', payload),
            output: StreamBuf::new(b'>', b']', payload),
            next_id: 1,
            epoch_ms: u64::try_from(epoch.as_millis()).unwrap_or(u64::MAX),
            start: None,
            latest: 0,
            floor: 0,
            previous_packet: None,
            line: Vec::with_capacity(payload + 512),
            #[cfg(test)]
            general_only: false,
        })
    }

    /// Sets the wall-clock time (since the Unix epoch) at which elapsed time
    /// is zero, as the relay read it when it started its clock; only
    /// before the first message (later it is kept: messages already out
    /// carry the first). Whether it was set.
    pub fn set_epoch(&mut self, epoch: Duration) -> bool {
        if self.next_id != 1 || !self.is_empty() {
            return false;
        }
        self.epoch_ms = u64::try_from(epoch.as_millis()).unwrap_or(u64::MAX);
        true
    }

    /// `{"ver":"2.3","host":…,"session":N,"id":` for `header`.
    fn prefix(header: &Header) -> Vec<u8> {
        let mut prefix = Vec::with_capacity(256);
        prefix.extend_from_slice(b"{\"ver\":\"");
        prefix.extend_from_slice(VERSION.as_bytes());
        for (name, value) in [
            ("host", &header.host),
            ("rec", &header.rec),
            ("user", &header.user),
            ("term", &header.term),
        ] {
            prefix.extend_from_slice(b"\",\"");
            prefix.extend_from_slice(name.as_bytes());
            prefix.extend_from_slice(b"\":\"");
            crate::escape::escape_str_into(value, &mut prefix);
        }
        prefix.extend_from_slice(b"\",\"session\":");
        push_u64(&mut prefix, u64::from(header.session));
        prefix.extend_from_slice(b",\"id\":");
        prefix
    }

    /// The id the next finished message will have.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Bytes of `stream` in the messages so far, the current one included:
    /// everything given to [`Encoder::io`] but a character still waiting
    /// for its last bytes. A packet recorded now (a window size) comes after
    /// exactly these bytes when the messages are decoded.
    pub fn committed(&self, stream: Stream) -> u64 {
        self.buf(stream).total
    }

    /// True if the current message holds nothing yet.
    pub fn is_empty(&self) -> bool {
        self.rem == self.payload
    }

    /// Elapsed time at which the current (unfinished) message began, if it
    /// holds anything: a latency limit counts from here.
    pub fn pending_since(&self) -> Option<Duration> {
        (!self.is_empty()).then(|| Duration::from_millis(self.first_ts))
    }

    /// Records a window size at elapsed time `at`.
    pub fn window<E>(
        &mut self,
        at: Duration,
        cols: u16,
        rows: u16,
        emit: &mut impl FnMut(Encoded<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        if self.window >= WindowState::Known && (cols, rows) == (self.cols, self.rows) {
            // The size did not change: nothing to record, not even the time.
            return Ok(());
        }
        let ts = self.stamp(at);
        while !self.try_window(ts, cols, rows) {
            self.flush(emit)?;
        }
        Ok(())
    }

    /// Makes sure a message is pending, so that the next [`Encoder::flush`]
    /// writes one even if no I/O comes: one that only restates the window
    /// size, at elapsed time `at`, for a caller's extra fields to ride on.
    /// Does nothing if a message is pending already, or if no window size
    /// is known (a message needs something in its timing).
    pub fn touch(&mut self, at: Duration) {
        if !self.is_empty() || self.window != WindowState::Known {
            return;
        }
        let ts = self.stamp(at);
        self.take_room(self.window_len());
        self.advance(ts);
        self.write_timing(b"");
    }

    /// Where elapsed time `at` falls in the recording, in milliseconds
    /// since its first packet: the base of every message's `pos`, which
    /// readers also use for the times termtape's fields carry. (The first
    /// packet usually comes some milliseconds after the caller's zero, so
    /// `at` itself would place a mark that late.)
    pub fn position(&self, at: Duration) -> u64 {
        let ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
        ms.saturating_sub(self.start.unwrap_or(ms))
    }

    /// Records terminal I/O bytes at elapsed time `at`. A character left
    /// incomplete at the end of `bytes` waits for the next call.
    pub fn io<E>(
        &mut self,
        at: Duration,
        stream: Stream,
        mut bytes: &[u8],
        emit: &mut impl FnMut(Encoded<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        if bytes.is_empty() {
            return Ok(());
        }
        let ts = self.stamp(at);
        loop {
            let taken = self.try_io(stream, ts, bytes);
            bytes = &bytes[taken..];
            if bytes.is_empty() {
                return Ok(());
            }
            self.flush(emit)?;
        }
    }

    /// Ends both streams: a character still incomplete is written as
    /// invalid bytes. Call before the final [`Encoder::flush`].
    pub fn cut<E>(
        &mut self,
        emit: &mut impl FnMut(Encoded<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        for stream in [Stream::Input, Stream::Output] {
            loop {
                let buf = self.buf(stream);
                if buf.pending.is_empty() {
                    break;
                }
                let (seq, at) = (buf.pending, buf.pending_at);
                if self.try_seq(stream, at, false, seq.bytes()) {
                    self.buf_mut(stream).pending = Utf8Seq::default();
                    break;
                }
                self.flush(emit)?;
            }
        }
        Ok(())
    }

    /// Finishes the current message, if it holds anything, and hands it to
    /// `emit`.
    pub fn flush<E>(
        &mut self,
        emit: &mut impl FnMut(Encoded<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        if self.is_empty() {
            return Ok(());
        }
        self.write_meta(Stream::Input);
        self.write_meta(Stream::Output);
        debug_assert_eq!(
            self.timing.len()
                + self.input.txt.len
                + self.input.bin.len()
                + self.output.txt.len
                + self.output.bin.len(),
            self.payload - self.rem,
            "payload accounting"
        );
        let start = self.start.unwrap_or(self.first_ts);
        let pos = self.first_ts - start;
        let time = self.epoch_ms.saturating_add(self.first_ts);
        let line = &mut self.line;
        line.clear();
        line.extend_from_slice(&self.prefix);
        push_u64(line, self.next_id);
        line.extend_from_slice(b",\"pos\":");
        push_u64(line, pos);
        line.extend_from_slice(b",\"time\":");
        push_time(line, time);
        line.extend_from_slice(b",\"timing\":\"");
        line.extend_from_slice(&self.timing);
        line.extend_from_slice(b"\",\"in_txt\":\"");
        line.extend_from_slice(self.input.txt.as_slice());
        line.extend_from_slice(b"\",\"in_bin\":[");
        line.extend_from_slice(&self.input.bin);
        line.extend_from_slice(b"],\"out_txt\":\"");
        line.extend_from_slice(self.output.txt.as_slice());
        line.extend_from_slice(b"\",\"out_bin\":[");
        line.extend_from_slice(&self.output.bin);
        line.extend_from_slice(b"]}\n");
        let encoded = Encoded {
            id: self.next_id,
            pos,
            time,
            json: &self.line,
            input_end: self.input.total,
            output_end: self.output.total,
        };
        emit(encoded)?;
        self.next_id += 1;
        self.rem = self.payload;
        self.timing.clear();
        self.input.clear();
        self.output.clear();
        self.got_ts = false;
        self.floor = self.last_ts;
        if self.window > WindowState::Known {
            self.window = WindowState::Known;
        }
        Ok(())
    }

    /// Elapsed milliseconds for `at`, never before the last time seen (so a
    /// clock that steps back cannot make the timing go backwards).
    ///
    /// Like tlog, a packet that follows the previous one by less than a
    /// millisecond takes the current time of the message, so a burst of
    /// output is not broken up by a delay record at every millisecond tick
    /// (tlog drops such gaps for good; here the time they add up to is
    /// written with the next real pause, or after [`MAX_DEFERRED_MS`], so
    /// timing does not drift).
    fn stamp(&mut self, at: Duration) -> u64 {
        let ms = u64::try_from(at.as_millis())
            .unwrap_or(u64::MAX)
            .max(self.latest);
        self.latest = ms;
        self.start.get_or_insert(ms);
        let burst = self
            .previous_packet
            .is_some_and(|prev| at.saturating_sub(prev) < Duration::from_millis(1));
        self.previous_packet = Some(at);
        if burst && self.got_ts && ms - self.last_ts < MAX_DEFERRED_MS {
            self.last_ts
        } else {
            ms
        }
    }

    fn buf(&self, stream: Stream) -> &StreamBuf {
        match stream {
            Stream::Input => &self.input,
            Stream::Output => &self.output,
        }
    }

    fn buf_mut(&mut self, stream: Stream) -> &mut StreamBuf {
        match stream {
            Stream::Input => &mut self.input,
            Stream::Output => &mut self.output,
        }
    }

    /// The delay record needed to move time to `ts`, if any.
    fn delay_to(&self, ts: u64) -> Option<u64> {
        (self.got_ts && ts > self.last_ts).then(|| ts - self.last_ts)
    }

    fn window_len(&self) -> usize {
        2 + decimal_len(u64::from(self.cols)) + decimal_len(u64::from(self.rows))
    }

    /// Appends to the timing string, restating the window first if a new
    /// message reserved room for it.
    fn write_timing(&mut self, bytes: &[u8]) {
        if self.window == WindowState::Reserved {
            self.push_window();
            self.window = WindowState::Written;
        }
        self.timing.extend_from_slice(bytes);
    }

    fn push_window(&mut self) {
        self.timing.push(b'=');
        push_u64(&mut self.timing, u64::from(self.cols));
        self.timing.push(b'x');
        push_u64(&mut self.timing, u64::from(self.rows));
    }

    /// Writes the pending run records of one stream and resets its runs.
    fn write_meta(&mut self, stream: Stream) {
        let buf = self.buf(stream);
        let (txt_run, bin_run) = (buf.txt_run, buf.bin_run);
        let mark = if bin_run == 0 {
            buf.valid_mark
        } else {
            buf.invalid_mark
        };
        if txt_run != 0 {
            let mut rec = Vec::with_capacity(24);
            rec.push(mark);
            push_u64(&mut rec, txt_run as u64);
            if bin_run != 0 {
                rec.push(b'/');
                push_u64(&mut rec, bin_run as u64);
            }
            self.write_timing(&rec);
        }
        let buf = self.buf_mut(stream);
        buf.txt_run = 0;
        buf.bin_run = 0;
    }

    /// Moves the current message's time to `ts`, writing a delay record if
    /// time passed. Room for the record must have been accounted for.
    fn advance(&mut self, ts: u64) {
        if !self.got_ts {
            self.got_ts = true;
            self.first_ts = ts.max(self.floor);
            self.last_ts = self.first_ts;
        } else if ts > self.last_ts {
            let delay = ts - self.last_ts;
            self.last_ts = ts;
            self.write_meta(Stream::Input);
            self.write_meta(Stream::Output);
            let mut rec = Vec::with_capacity(21);
            rec.push(b'+');
            push_u64(&mut rec, delay);
            self.write_timing(&rec);
        }
    }

    /// Takes `bytes`' room from the budget, reserving room to restate the
    /// window if this is the message's first reservation. Checked by callers.
    fn take_room(&mut self, cost: usize) {
        debug_assert!(cost <= self.rem);
        self.rem -= cost;
        if self.window == WindowState::Known {
            self.window = WindowState::Reserved;
        }
    }

    /// Room the window restatement needs if nothing reserved it yet.
    fn window_reservation(&self) -> usize {
        if self.window == WindowState::Known {
            self.window_len()
        } else {
            0
        }
    }

    fn try_window(&mut self, ts: u64, cols: u16, rows: u16) -> bool {
        if self.window >= WindowState::Known && (cols, rows) == (self.cols, self.rows) {
            return true;
        }
        let delay = self.delay_to(ts);
        let new_len = 2 + decimal_len(u64::from(cols)) + decimal_len(u64::from(rows));
        let mut cost = new_len + delay.map_or(0, |d| 1 + decimal_len(d));
        if delay.is_some() {
            cost += self.window_reservation();
        }
        if cost > self.rem {
            return false;
        }
        self.write_meta(Stream::Input);
        self.write_meta(Stream::Output);
        if delay.is_some() {
            // The delay record may carry the previous window's restatement.
            self.rem -= cost - new_len;
            if self.window == WindowState::Known {
                self.window = WindowState::Reserved;
            }
        }
        self.advance(ts);
        // The new size replaces any restatement not yet written.
        self.rem -= new_len;
        self.window = WindowState::Written;
        self.cols = cols;
        self.rows = rows;
        self.push_window();
        true
    }

    /// Writes as much of `bytes` as fits; returns how many were taken.
    fn try_io(&mut self, stream: Stream, ts: u64, bytes: &[u8]) -> usize {
        let mut i = 0;
        while i < bytes.len() {
            #[cfg(test)]
            let fast = !self.general_only;
            #[cfg(not(test))]
            let fast = true;
            if fast {
                i += self.try_ascii_run(stream, ts, &bytes[i..]);
            }
            if i == bytes.len() {
                break;
            }
            // One character (or invalid sequence), the general way.
            let buf = self.buf(stream);
            let mut seq = buf.pending;
            let mut seq_at = buf.pending_at;
            let mut j = i;
            while !seq.is_ended() {
                if j == bytes.len() {
                    // Incomplete: keep it for the next write.
                    let buf = self.buf_mut(stream);
                    buf.pending = seq;
                    buf.pending_at = seq_at;
                    return j;
                }
                if seq.add(bytes[j]) {
                    j += 1;
                    seq_at = ts;
                }
            }
            let written = if seq.is_empty() {
                // A byte that cannot start a character stands alone.
                let fits = self.try_seq(stream, ts, false, &bytes[j..=j]);
                j += 1;
                fits
            } else {
                self.try_seq(stream, seq_at, seq.is_complete(), seq.bytes())
            };
            if !written {
                return i;
            }
            self.buf_mut(stream).pending = Utf8Seq::default();
            i = j;
        }
        i
    }

    /// The fast path: ASCII characters continuing a text run at the
    /// current time, with no records to write. Returns how many were taken.
    fn try_ascii_run(&mut self, stream: Stream, ts: u64, bytes: &[u8]) -> usize {
        if !self.got_ts || ts > self.last_ts || self.window == WindowState::Known {
            return 0;
        }
        let mut rem = self.rem;
        let buf = match stream {
            Stream::Input => &mut self.input,
            Stream::Output => &mut self.output,
        };
        if !buf.pending.is_empty() || buf.txt_run == 0 || buf.bin_run != 0 {
            return 0;
        }
        let (mut run, mut dig) = (buf.txt_run, buf.txt_dig);
        let mut taken = 0;
        // A character costs its escaped form (at most MAX_ESCAPED bytes),
        // plus one where the run's length gains a digit (`run` reaching
        // `dig`). First in blocks that fit however they are escaped,
        // without a test per character; the digits are counted after.
        loop {
            let block = (rem / (MAX_ESCAPED + 1)).min(bytes.len() - taken);
            if block == 0 {
                break;
            }
            let txt = &mut buf.txt;
            let (n, written) =
                escape_ascii_prefix(&bytes[taken..taken + block], &mut txt.buf[txt.len..]);
            txt.len += written;
            rem -= written;
            run += n;
            while run >= dig {
                rem -= 1;
                dig *= 10;
            }
            taken += n;
            if n < block {
                // A byte beyond ASCII: the general way takes it.
                break;
            }
        }
        // Then a character at a time, while they fit.
        while let Some(&b) = bytes.get(taken) {
            if b >= 0x80 {
                break;
            }
            let esc = escape_ascii(b).unwrap_or(std::slice::from_ref(&bytes[taken]));
            let digit = usize::from(run + 1 >= dig);
            if esc.len() + digit > rem {
                break;
            }
            rem -= esc.len() + digit;
            run += 1;
            if digit == 1 {
                dig *= 10;
            }
            buf.txt.extend(esc);
            taken += 1;
        }
        buf.txt_run = run;
        buf.txt_dig = dig;
        buf.total += taken as u64;
        self.rem = rem;
        taken
    }

    /// Writes one character (`valid`) or invalid sequence, timestamped `ts`,
    /// with all it needs, if it fits. Returns false, changing nothing, if not.
    fn try_seq(&mut self, stream: Stream, ts: u64, valid: bool, seq: &[u8]) -> bool {
        let buf = self.buf(stream);
        // A change between valid and invalid ends the run.
        let cut = valid == (buf.bin_run != 0);
        let delay = self.delay_to(ts);
        let fresh_runs = cut || delay.is_some();
        let (txt_run, bin_run) = if fresh_runs {
            (0, 0)
        } else {
            (buf.txt_run, buf.bin_run)
        };

        let mut cost = delay.map_or(0, |d| 1 + decimal_len(d)) + self.window_reservation();
        let txt_dig = if txt_run == 0 {
            cost += 2;
            10
        } else {
            buf.txt_dig
        };
        if txt_run + 1 >= txt_dig {
            cost += 1;
        }
        cost += if valid { escaped_len(seq) } else { 3 };
        if !valid {
            let mut dig = if bin_run == 0 {
                cost += 2;
                10
            } else {
                buf.bin_dig
            };
            let (mut run, mut len) = (bin_run, buf.bin.len());
            for &b in seq {
                run += 1;
                if run >= dig {
                    cost += 1;
                    dig *= 10;
                }
                if len > 0 {
                    cost += 1;
                    len += 1;
                }
                let l = decimal_len(u64::from(b));
                cost += l;
                len += l;
            }
        }
        if cost > self.rem {
            return false;
        }

        self.take_room(cost);
        if cut {
            self.write_meta(stream);
        }
        self.advance(ts);
        let buf = self.buf_mut(stream);
        buf.total += seq.len() as u64;
        if buf.txt_run == 0 {
            buf.txt_dig = 10;
        }
        buf.txt_run += 1;
        if buf.txt_run >= buf.txt_dig {
            buf.txt_dig *= 10;
        }
        if !valid {
            buf.txt.extend("\u{fffd}".as_bytes());
            if buf.bin_run == 0 {
                buf.bin_dig = 10;
            }
            for &b in seq {
                buf.bin_run += 1;
                if buf.bin_run >= buf.bin_dig {
                    buf.bin_dig *= 10;
                }
                if !buf.bin.is_empty() {
                    buf.bin.push(b',');
                }
                push_u64(&mut buf.bin, u64::from(b));
            }
        } else if let [b] = seq {
            match escape_ascii(*b) {
                None => buf.txt.extend(seq),
                Some(esc) => buf.txt.extend(esc),
            }
        } else {
            buf.txt.extend(seq);
        }
        true
    }
}

fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Message};

    fn header() -> Header {
        Header {
            host: "vm".into(),
            rec: "r".into(),
            user: "root".into(),
            term: "xterm".into(),
            session: 4294967295,
        }
    }

    /// (time in ms, a window size or else output bytes).
    type TestPacket<'a> = (u64, Option<(u16, u16)>, &'a [u8]);

    fn encode(payload: usize, packets: &[TestPacket<'_>]) -> Vec<Message> {
        let mut enc =
            Encoder::new(&header(), payload, Duration::from_secs(1_000_000)).expect("payload");
        let mut out = Vec::new();
        let mut emit = |e: Encoded<'_>| -> std::result::Result<(), ()> {
            let line = std::str::from_utf8(e.json).expect("utf8").trim_end();
            out.push(Message::parse(line, &Location::default()).expect("valid message"));
            Ok(())
        };
        for &(at, window, bytes) in packets {
            let at = Duration::from_millis(at);
            if let Some((c, r)) = window {
                enc.window(at, c, r, &mut emit).expect("no error");
            } else {
                enc.io(at, Stream::Output, bytes, &mut emit)
                    .expect("no error");
            }
        }
        enc.cut(&mut emit).expect("no error");
        enc.flush(&mut emit).expect("no error");
        out
    }

    #[test]
    fn timing_matches_tlog_for_mixed_output() {
        // The first message of the corpus' b_binary.log, packet by packet.
        let m = encode(
            2048,
            &[
                (0, Some((80, 24)), b""),
                (7, None, b"A\xff\xfeB\r\n"),
                (209, None, b"trunc:\xe2\x82|\r\n"),
                (413, None, b"split:\xe2\x82"),
                (717, None, b"\xac euro\r\n"),
            ],
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].timing, "=80x24+7>1]2/2>3+202>6]1/2>3+204>6+304>8");
        assert_eq!(m[0].out_bin, vec![255, 254, 226, 130]);
    }

    #[test]
    fn messages_restate_the_window_and_continue_ids() {
        let text = "x".repeat(300);
        let m = encode(100, &[(0, Some((80, 24)), b""), (5, None, text.as_bytes())]);
        assert!(m.len() > 3);
        for (i, msg) in m.iter().enumerate() {
            assert_eq!(msg.id, i as u64 + 1);
            assert!(msg.timing.starts_with("=80x24"), "{}", msg.timing);
            assert!(msg.to_json().len() < 100 + 300);
        }
        let all: Vec<u8> = m
            .iter()
            .flat_map(|msg| {
                msg.bytes(Stream::Output, &Location::default())
                    .expect("decodes")
            })
            .collect();
        assert_eq!(all, text.as_bytes());
    }

    #[test]
    fn incomplete_character_at_the_end_becomes_binary() {
        let m = encode(2048, &[(0, None, b"ok\xf0\x9f")]);
        assert_eq!(m[0].timing, ">2]1/2");
        assert_eq!(m[0].out_txt, "ok\u{fffd}");
    }

    #[test]
    fn messages_tell_where_they_end_in_each_stream() {
        let mut enc = Encoder::new(&header(), 100, Duration::ZERO).expect("payload");
        let mut ends = Vec::new();
        let mut emit = |e: Encoded<'_>| -> std::result::Result<(), ()> {
            ends.push((e.input_end, e.output_end));
            Ok(())
        };
        enc.window(Duration::ZERO, 80, 24, &mut emit).expect("ok");
        enc.io(Duration::ZERO, Stream::Input, b"ls\r", &mut emit)
            .expect("ok");
        let text = "é".repeat(60);
        enc.io(Duration::ZERO, Stream::Output, text.as_bytes(), &mut emit)
            .expect("ok");
        enc.io(Duration::ZERO, Stream::Output, b"\xe2\x82", &mut emit)
            .expect("ok");
        enc.cut(&mut emit).expect("ok");
        enc.flush(&mut emit).expect("ok");
        assert!(ends.len() > 1);
        assert!(ends.iter().all(|&(i, _)| i == 3));
        assert!(ends.windows(2).all(|w| w[0].1 < w[1].1 && w[0].1 % 2 == 0));
        assert_eq!(ends.last().map(|e| e.1), Some(120 + 2));
    }

    #[test]
    fn the_epoch_moves_to_the_relays_zero_only_before_the_first_message() {
        let mut enc = Encoder::new(&header(), 2048, Duration::from_secs(5)).expect("payload");
        let mut times = Vec::new();
        let mut emit = |e: Encoded<'_>| -> std::result::Result<(), ()> {
            times.push(e.time);
            Ok(())
        };
        assert!(enc.set_epoch(Duration::from_millis(7_250)));
        enc.io(Duration::from_millis(10), Stream::Output, b"x", &mut emit)
            .expect("ok");
        // Output waiting in the encoder already has its time.
        assert!(!enc.set_epoch(Duration::from_secs(9)));
        enc.flush(&mut emit).expect("ok");
        assert!(!enc.set_epoch(Duration::from_secs(9)));
        assert_eq!(times, [7_260]);
    }

    #[test]
    fn touch_makes_a_message_that_restates_the_window() {
        let m = encode(2048, &[(0, Some((80, 24)), b""), (5, None, b"x")]);
        assert_eq!(m.len(), 1);
        let mut enc = Encoder::new(&header(), 2048, Duration::ZERO).expect("payload");
        let out = std::cell::RefCell::new(Vec::new());
        let mut emit = |e: Encoded<'_>| -> std::result::Result<(), ()> {
            out.borrow_mut()
                .push(String::from_utf8_lossy(e.json).into_owned());
            Ok(())
        };
        enc.touch(Duration::ZERO);
        enc.flush(&mut emit).expect("ok");
        assert!(out.borrow().is_empty(), "no window known: nothing to write");
        enc.window(Duration::ZERO, 80, 24, &mut emit).expect("ok");
        enc.io(Duration::ZERO, Stream::Output, b"x", &mut emit)
            .expect("ok");
        enc.flush(&mut emit).expect("ok");
        enc.touch(Duration::from_millis(7));
        enc.touch(Duration::from_millis(8));
        enc.flush(&mut emit).expect("ok");
        let out = out.borrow();
        assert_eq!(out.len(), 2);
        let m = Message::parse(out[1].trim_end(), &Location::default()).expect("valid");
        assert_eq!((m.timing.as_str(), m.pos), ("=80x24", 7));
    }

    #[test]
    fn rejects_tiny_payloads() {
        assert!(matches!(
            Encoder::new(&header(), 10, Duration::ZERO),
            Err(Error::PayloadTooSmall(10))
        ));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::{Location, Message, Packet, Reader};
    use proptest::prelude::*;

    /// One write: which stream, how many milliseconds after the previous
    /// one, and the bytes; or a window size.
    #[derive(Debug, Clone)]
    enum Op {
        Io(Stream, u64, Vec<u8>),
        Window(u64, u16, u16),
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // Anything at all.
            proptest::collection::vec(any::<u8>(), 0..300),
            // Mostly text, with multi-byte characters to split.
            "[a-z \\n\\r\\t\"\\\\é€😀\u{1b}\u{0}\u{7f}]{0,200}".prop_map(String::into_bytes),
            // Long stretches of plain text and line ends, as commands
            // print them, past a message's payload.
            "([a-z0-9 .:/-]{0,80}\r\n){0,60}".prop_map(String::into_bytes),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (prop_oneof![Just(Stream::Input), Just(Stream::Output)], 0..3000u64, bytes())
                .prop_map(|(s, d, b)| Op::Io(s, d, b)),
            1 => (0..3000u64, 0..300u16, 0..300u16).prop_map(|(d, c, r)| Op::Window(d, c, r)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// At one time, how the bytes are split into writes changes
        /// nothing: one write of them all (the fast path copies stretches
        /// of plain text), or a write per byte (a character at a time).
        #[test]
        fn one_write_or_a_write_per_byte_give_the_same_log(
            text in "[a-z0-9 \\n\\r\"é]{0,3000}",
            payload in MIN_PAYLOAD..600usize,
        ) {
            let encode = |split: bool| {
                let header = Header { host: "h".into(), rec: "r".into(), user: "u".into(), term: "t".into(), session: 1 };
                let mut enc = Encoder::new(&header, payload, Duration::from_secs(1)).expect("payload");
                let mut log = Vec::new();
                let mut emit = |e: Encoded<'_>| -> std::result::Result<(), ()> { log.extend_from_slice(e.json); Ok(()) };
                let at = Duration::from_millis(3);
                if split {
                    for b in text.as_bytes() {
                        enc.io(at, Stream::Output, std::slice::from_ref(b), &mut emit).expect("emit");
                    }
                } else {
                    enc.io(at, Stream::Output, text.as_bytes(), &mut emit).expect("emit");
                }
                enc.cut(&mut emit).expect("emit");
                enc.flush(&mut emit).expect("emit");
                log
            };
            prop_assert_eq!(encode(false), encode(true));
        }

        /// The ASCII fast path writes exactly what the general way, a
        /// character at a time, writes: whatever the bytes (controls,
        /// escapes, text beyond ASCII, invalid bytes), the writes, their
        /// times, the window sizes and the payload.
        #[test]
        fn the_fast_path_writes_what_the_general_way_writes(
            ops in proptest::collection::vec(op(), 1..40),
            payload in MIN_PAYLOAD..3000usize,
        ) {
            let encode = |general_only: bool| {
                let header = Header { host: "h".into(), rec: "r".into(), user: "u".into(), term: "t".into(), session: 1 };
                let mut enc = Encoder::new(&header, payload, Duration::from_secs(1)).expect("payload");
                enc.general_only = general_only;
                let mut log = Vec::new();
                let mut emit = |e: Encoded<'_>| -> std::result::Result<(), ()> { log.extend_from_slice(e.json); Ok(()) };
                let mut now = 0;
                for op in &ops {
                    match op {
                        Op::Io(stream, delay, bytes) => {
                            // Many writes in the same millisecond, where
                            // the fast path runs.
                            now += delay % 4;
                            enc.io(Duration::from_millis(now), *stream, bytes, &mut emit).expect("emit");
                        }
                        Op::Window(delay, cols, rows) => {
                            now += delay;
                            enc.window(Duration::from_millis(now), *cols, *rows, &mut emit).expect("emit");
                        }
                    }
                }
                enc.cut(&mut emit).expect("emit");
                enc.flush(&mut emit).expect("emit");
                log
            };
            prop_assert_eq!(encode(false), encode(true));
        }

        /// Whatever the bytes, the cuts and the payload, every message is
        /// valid, ids and positions follow, each message stays within its
        /// payload, and decoding gives back both streams exactly.
        #[test]
        fn encoded_streams_decode_to_their_input(ops in proptest::collection::vec(op(), 1..40), payload in MIN_PAYLOAD..3000usize) {
            let header = Header { host: "h\"ost".into(), rec: "r".into(), user: "ü".into(), term: "t".into(), session: 5 };
            let mut enc = Encoder::new(&header, payload, Duration::from_secs(1)).expect("payload");
            let mut log = Vec::new();
            let mut emit = |e: Encoded<'_>| -> std::result::Result<(), ()> { log.extend_from_slice(e.json); Ok(()) };
            let (mut input, mut output) = (Vec::new(), Vec::new());
            let mut now = 0;
            for op in &ops {
                match op {
                    Op::Io(stream, delay, bytes) => {
                        now += delay;
                        enc.io(Duration::from_millis(now), *stream, bytes, &mut emit).expect("emit");
                        if *stream == Stream::Input { &mut input } else { &mut output }.extend_from_slice(bytes);
                    }
                    Op::Window(delay, cols, rows) => {
                        now += delay;
                        enc.window(Duration::from_millis(now), *cols, *rows, &mut emit).expect("emit");
                    }
                }
            }
            enc.cut(&mut emit).expect("emit");
            enc.flush(&mut emit).expect("emit");

            let (mut got_in, mut got_out) = (Vec::new(), Vec::new());
            let mut last_at = 0;
            for msg in Reader::new(&log[..], None, false) {
                let msg: Message = msg.expect("every message parses and validates");
                let mut used = msg.timing.len();
                for (txt, bin) in [(&msg.in_txt, &msg.in_bin), (&msg.out_txt, &msg.out_bin)] {
                    let mut escaped = Vec::new();
                    crate::escape::escape_str_into(txt, &mut escaped);
                    used += escaped.len();
                    used += bin.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",").len();
                }
                prop_assert!(used <= payload, "message uses {} of a {} payload", used, payload);
                msg.decode(&Location::default(), |t| {
                    assert!(t.at >= last_at, "time goes back");
                    last_at = t.at;
                    if let Packet::Io { stream, bytes } = t.packet {
                        if stream == Stream::Input { &mut got_in } else { &mut got_out }.extend_from_slice(&bytes);
                    }
                }).expect("decodes");
            }
            prop_assert_eq!(got_in, input);
            prop_assert_eq!(got_out, output);
        }
    }
}
