//! The hash chain and its signed checkpoints ("seals"): what makes an
//! edit, a cut, a reordering or an insertion in a termtape recording show.
//!
//! Every message termtape writes carries a [`CHAIN`] field: the first
//! [`TAG_LEN`] bytes of the chain's head after it, base64url. The head is
//!
//! ```text
//! head(0) = 32 zero bytes
//! head(n) = SHA-256("termtape chain v1\0" ‖ head(n-1) ‖ canonical(message n))
//! ```
//!
//! where `canonical` is every member of the message's JSON object (tlog's
//! and termtape's alike) but [`CHAIN`], [`SEAL`] and the reader's own
//! [`crate::extension::UNVERIFIED`], sorted by name, each written as the
//! name's length (u64, little-endian), the name (escapes decoded), the raw
//! value's length and the raw value exactly as written. A file line, a
//! journal entry (MESSAGE spliced with its `TERMTAPE_X_*` fields), a
//! `journal:DIR` and an archive all give the same members, in whatever
//! order, so one chain verifies from each.
//!
//! Some messages carry a [`SEAL`] besides: the full head, and an Ed25519
//! signature over `"termtape seal v1\0" ‖ head ‖ end` (`end`: one byte, 1
//! on the recording's last message), with the signer's public key; or,
//! where the recorder had no key, why it is unsigned. The short tag on
//! every message only says *where* the chain broke; the seals carry the
//! strength (all 256 bits, signed).
//!
//! SHA-256 rather than BLAKE3: FIPS 180-4, which the auditors of this
//! software's users accept without discussion, and with the SHA extensions
//! of current x86 and ARM CPUs (which `sha2` uses when the CPU has them) it
//! hashes faster than a recorder writes (see the README's measurements).

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::extension::{self, Extended, Field, ParseError};

/// The field holding the chain's tag on every message.
pub const CHAIN: &str = "chain";
/// The field holding a checkpoint: the chain's head, signed.
pub const SEAL: &str = "seal";
/// Bytes of the head a message's tag holds (64 bits: where the chain
/// broke; the seals carry its strength).
pub const TAG_LEN: usize = 8;

const CHAIN_DOMAIN: &[u8] = b"termtape chain v1\0";
const SEAL_DOMAIN: &[u8] = b"termtape seal v1\0";

/// The chain's state after a message: SHA-256 of what came before it.
pub type Head = [u8; 32];

/// The head before a recording's first message.
pub const GENESIS: Head = [0; 32];

/// The head after a message whose members (`name`, raw JSON value) are
/// `members`, in any order; they are sorted in place.
pub fn link(prev: &Head, members: &mut [(Cow<'_, str>, &str)]) -> Head {
    members.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    hash_sorted(
        prev,
        members.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
    )
}

/// A member given as bytes (name decoded, raw value), with its name's
/// [`sort_key`].
type Keyed<'a> = (u64, &'a [u8], &'a [u8]);

/// A member as [`Keyed`].
fn keyed<'a>(name: &'a [u8], value: &'a [u8]) -> Keyed<'a> {
    (sort_key(name), name, value)
}

/// A name's first 8 bytes as a number: members sort by it first (the
/// names tlog and termtape write all differ there), whole names and values
/// on a tie: the same order as the bytes', in cheap comparisons.
fn sort_key(name: &[u8]) -> u64 {
    let mut first = [0; 8];
    let n = name.len().min(8);
    first[..n].copy_from_slice(&name[..n]);
    u64::from_be_bytes(first)
}

/// [`link`] over members given as bytes, in any order (bytes sort as the
/// strings they are); they are sorted in place.
fn link_bytes(prev: &Head, members: &mut [Keyed<'_>]) -> Head {
    members.sort_unstable();
    hash_sorted(prev, members.iter().map(|&(_, n, v)| (n, v)))
}

/// The head after members already sorted.
fn hash_sorted<'a>(prev: &Head, members: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Head {
    let mut feed = Feed {
        hash: Sha256::new(),
        small: [0; 512],
        len: 0,
    };
    feed.hash.update(CHAIN_DOMAIN);
    feed.hash.update(prev);
    for (name, value) in members {
        feed.push_len(name.len());
        feed.push(name);
        feed.push_len(value.len());
        feed.push(value);
    }
    feed.flush();
    feed.hash.finalize().into()
}

/// Bytes on their way to a hash: short pieces (lengths, names, short
/// values) gathered into one update, each long value an update by itself.
/// The hash is that of the bytes in order, however they are cut; few
/// calls cost less than many.
struct Feed {
    hash: Sha256,
    small: [u8; 512],
    len: usize,
}

impl Feed {
    const SHORT: usize = 64;

    fn push(&mut self, bytes: &[u8]) {
        if bytes.len() > Self::SHORT {
            self.flush();
            self.hash.update(bytes);
            return;
        }
        if self.len + bytes.len() > self.small.len() {
            self.flush();
        }
        self.small[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// A length, as 8 bytes little-endian.
    fn push_len(&mut self, len: usize) {
        if self.len + 8 > self.small.len() {
            self.flush();
        }
        self.small[self.len..self.len + 8].copy_from_slice(&(len as u64).to_le_bytes());
        self.len += 8;
    }

    fn flush(&mut self) {
        self.hash.update(&self.small[..self.len]);
        self.len = 0;
    }
}

/// The members of a line in the layout of tlog's writers (termtape's
/// encoder, and `Message::write_json` for a recorder's closing message):
/// `{"ver":…,…,"out_txt":"…","out_bin":[…]}` with nothing between the
/// tokens and no escapes in names. Found without reading `out_txt`, by far
/// the longest value: it ends where the fixed tail (`","out_bin":[`,
/// digits and commas, `]}`) begins. `None` for a line not in that layout
/// ([`members`] reads it then).
///
/// For the recorder, which links only lines its own writers made (valid
/// JSON, so `out_txt` holds no bare quote); the verifier reads every byte
/// with [`members`], so a line this misread would verify as edited, never
/// the other way round.
fn written_members(line: &[u8]) -> Option<Vec<Keyed<'_>>> {
    const TAIL: &[u8] = b"\",\"out_bin\":[";
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let mut open = body.len().checked_sub(2)?;
    if &body[open..] != b"]}" {
        return None;
    }
    while open > 0 && matches!(body[open - 1], b'0'..=b'9' | b',') {
        open -= 1;
    }
    // The quote closing out_txt, first byte of the tail.
    let close = open.checked_sub(TAIL.len())?;
    if &body[close..open] != TAIL || body.first() != Some(&b'{') {
        return None;
    }
    let mut out = Vec::with_capacity(24);
    let mut at = 1;
    loop {
        if body.get(at) != Some(&b'"') {
            return None;
        }
        let name_end = at + 1 + body[at + 1..].iter().position(|&b| b == b'"')?;
        let name = &body[at + 1..name_end];
        if name.contains(&b'\\') || body.get(name_end + 1) != Some(&b':') {
            return None;
        }
        let start = name_end + 2;
        let end = match name {
            b"out_txt" if start < close && body[start] == b'"' => close + 1,
            b"out_txt" => return None,
            _ => value_end(body, start).filter(|&end| end > start)?,
        };
        out.push(keyed(name, &body[start..end]));
        match body.get(end) {
            Some(b',') => at = end + 1,
            Some(b'}') if end + 1 == body.len() => return Some(out),
            _ => return None,
        }
    }
}

/// Whether a member takes part in the chain.
fn chained(name: &str) -> bool {
    name != CHAIN && name != SEAL && name != extension::UNVERIFIED
}

/// The members of a message line that the chain covers, with its
/// [`CHAIN`] and [`SEAL`] values apart, and whether the reader marked it
/// [`extension::UNVERIFIED`]: one scan of the line ([`members`]).
pub fn split_line(line: &[u8]) -> Result<Split<'_>, ParseError> {
    let mut split = Split::default();
    for (name, value) in members(line)? {
        let member = value;
        match &*name {
            CHAIN if split.chain.is_none() => split.chain = Some(member),
            SEAL if split.seal.is_none() => split.seal = Some(member),
            extension::UNVERIFIED => split.unverified = Some(member),
            // A second chain or seal is covered: added, it breaks the chain.
            _ => split.members.push((name, member)),
        }
    }
    Ok(split)
}

/// The members of the JSON object `line`: names (escapes decoded) and raw
/// values. Made for speed over the messages a recorder writes (every byte
/// of a recording goes through it, twice): strings are skipped by looking
/// for their quote and backslashes only, and values are not checked beyond
/// where they end, so that a line that is not JSON may split (the chain
/// then says whether it is what the recorder wrote, which was JSON). Both
/// the recorder and the verifier split with it.
pub fn members(line: &[u8]) -> Result<Vec<(Cow<'_, str>, &str)>, ParseError> {
    let text = std::str::from_utf8(line).map_err(|e| ParseError {
        offset: e.valid_up_to(),
        reason: "not UTF-8",
    })?;
    let bytes = text.as_bytes();
    let error = |offset, reason| Err(ParseError { offset, reason });
    let ws = |mut at: usize| {
        while bytes
            .get(at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            at += 1;
        }
        at
    };
    let mut at = ws(0);
    if bytes.get(at) != Some(&b'{') {
        return error(at, "not a JSON object");
    }
    at = ws(at + 1);
    let mut out = Vec::with_capacity(16);
    if bytes.get(at) == Some(&b'}') {
        return match ws(at + 1) == bytes.len() {
            true => Ok(out),
            false => error(at + 1, "text after the object"),
        };
    }
    loop {
        if bytes.get(at) != Some(&b'"') {
            return error(at, "expected a member's name");
        }
        let name_end = string_end(bytes, at).ok_or(ParseError {
            offset: at,
            reason: "unterminated string",
        })?;
        let raw_name = &text[at..name_end];
        let name =
            match raw_name.contains('\\') {
                false => Cow::Borrowed(&raw_name[1..raw_name.len() - 1]),
                true => Cow::Owned(serde_json::from_str::<String>(raw_name).map_err(|_| {
                    ParseError {
                        offset: at,
                        reason: "a name that is not a JSON string",
                    }
                })?),
            };
        at = ws(name_end);
        if bytes.get(at) != Some(&b':') {
            return error(at, "expected ':'");
        }
        let start = ws(at + 1);
        let end = value_end(bytes, start).ok_or(ParseError {
            offset: start,
            reason: "a value that does not end",
        })?;
        if end == start {
            return error(start, "expected a value");
        }
        out.push((name, &text[start..end]));
        at = ws(end);
        match bytes.get(at) {
            Some(b',') => at = ws(at + 1),
            Some(b'}') if ws(at + 1) == bytes.len() => return Ok(out),
            Some(b'}') => return error(at + 1, "text after the object"),
            _ => return error(at, "expected ',' or '}'"),
        }
    }
}

/// `line` without its [`CHAIN`] and [`SEAL`] members (each member written
/// again as `"name":value`, names escaped anew, values as they were);
/// `None` if it has neither. For a tool that changes a chained message
/// and cannot sign again (it holds no key, and must not vouch for the
/// change): the copy then verifies as unsigned, never as intact.
pub fn unchained(line: &[u8]) -> Result<Option<String>, ParseError> {
    let members = members(line)?;
    let link = |name: &str| name == CHAIN || name == SEAL;
    if !members.iter().any(|(name, _)| link(name)) {
        return Ok(None);
    }
    let mut out = String::with_capacity(line.len());
    out.push('{');
    for (name, value) in members.iter().filter(|(name, _)| !link(name)) {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(name).unwrap_or_default());
        out.push(':');
        out.push_str(value);
    }
    out.push('}');
    Ok(Some(out))
}

/// Where the string starting with the quote at `at` ends (after its
/// closing quote). Eight bytes at a time: output text has an escape every
/// few bytes ("\r\n" on every line), too close together for memchr.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each zero byte of `x` (the first one found is real).
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let (quotes, backslashes) = (ONES * u64::from(b'"'), ONES * u64::from(b'\\'));
    let mut i = at + 1;
    loop {
        let step = match bytes.get(i..i + 8) {
            Some(chunk) => {
                let x = u64::from_le_bytes(chunk.try_into().ok()?);
                let special = zero(x ^ quotes) | zero(x ^ backslashes);
                if special == 0 {
                    i += 8;
                    continue;
                }
                (special.trailing_zeros() / 8) as usize
            }
            None => bytes[i.min(bytes.len())..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\')?,
        };
        i += step;
        if bytes[i] == b'"' {
            return Some(i + 1);
        }
        // An escape: the backslash and the byte after it.
        i += 2;
    }
}

/// Where the value starting at `at` ends: a string, an object or array
/// (nested, up to a depth), or anything else up to `,` `}` `]` or blank.
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    const MAX_DEPTH: usize = 128;
    let mut depth = 0usize;
    let mut i = at;
    loop {
        match *bytes.get(i)? {
            b'"' => i = string_end(bytes, i)?,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
                i += 1;
            }
            b'}' | b']' if depth > 0 => {
                depth -= 1;
                i += 1;
            }
            b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => return Some(i),
            _ => i += 1,
        }
        if depth == 0 && i > at && matches!(bytes[at], b'"' | b'{' | b'[') {
            return Some(i);
        }
    }
}

/// A message line taken apart by [`split_line`].
#[derive(Debug, Default)]
pub struct Split<'a> {
    /// The members the chain covers.
    pub members: Vec<(Cow<'a, str>, &'a str)>,
    /// The raw [`CHAIN`] value.
    pub chain: Option<&'a str>,
    /// The raw [`SEAL`] value.
    pub seal: Option<&'a str>,
    /// The raw [`extension::UNVERIFIED`] value a reader put first.
    pub unverified: Option<&'a str>,
}

impl<'a> Split<'a> {
    /// The raw value of the covered member `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.members.iter().find(|(n, _)| n == name).map(|m| m.1)
    }
}

/// The most bytes the [`CHAIN`] field adds to a message's file form.
pub const LINK_LEN: u64 = 23;
/// The most bytes a signed [`SEAL`] field adds (an unsigned one adds its
/// reason instead of the key and signature).
pub const SEAL_LEN: u64 = 260;

/// A message's tag as written: base64url of the head's first bytes.
pub fn tag(head: &Head) -> String {
    URL_SAFE_NO_PAD.encode(&head[..TAG_LEN])
}

/// The raw JSON value of a [`CHAIN`] field for `head`.
pub fn tag_field(head: &Head) -> String {
    // Written in place: the recorder makes one for every message.
    let mut field = String::with_capacity(TAG_LEN.div_ceil(3) * 4 + 2);
    field.push('"');
    URL_SAFE_NO_PAD.encode_string(&head[..TAG_LEN], &mut field);
    field.push('"');
    field
}

/// The text signed for a seal.
fn sealed_text(head: &Head, end: bool) -> [u8; SEAL_DOMAIN.len() + 33] {
    let mut text = [0; SEAL_DOMAIN.len() + 33];
    text[..SEAL_DOMAIN.len()].copy_from_slice(SEAL_DOMAIN);
    text[SEAL_DOMAIN.len()..SEAL_DOMAIN.len() + 32].copy_from_slice(head);
    text[SEAL_DOMAIN.len() + 32] = u8::from(end);
    text
}

/// A checkpoint: the chain's head after the message carrying it, signed or
/// saying why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// The head.
    pub head: Head,
    /// The recording's last message: what its end mark (and, where known,
    /// the `exit` field beside it) says.
    pub end: bool,
    /// Who vouches for it.
    pub signer: Signer,
}

/// Who vouches for a [`Seal`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per seal read, short-lived: boxing buys nothing"
)]
pub enum Signer {
    /// Signed with this key.
    Signed {
        /// The signer's public key.
        key: PublicKey,
        /// The signature.
        signature: [u8; 64],
    },
    /// Unsigned: the recorder had no key, for this reason.
    Unsigned(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u64,
    head: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    end: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sig: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unsigned: Option<String>,
}

/// The version of the seal's value this crate writes and reads.
pub const SEAL_VERSION: u64 = 1;

impl Seal {
    /// A seal of `head` with `key`, or unsigned for `reason`.
    pub fn new(head: Head, end: bool, key: Result<&SecretKey, &str>) -> Seal {
        let signer = match key {
            Ok(key) => Signer::Signed {
                key: key.public(),
                signature: key.0.sign(&sealed_text(&head, end)).to_bytes(),
            },
            Err(reason) => Signer::Unsigned(reason.to_owned()),
        };
        Seal { head, end, signer }
    }

    /// The raw JSON value of the [`SEAL`] field.
    pub fn field(&self) -> String {
        let (key, sig, unsigned) = match &self.signer {
            Signer::Signed { key, signature } => (
                Some(key.to_string()),
                Some(STANDARD.encode(signature)),
                None,
            ),
            Signer::Unsigned(reason) => (None, None, Some(reason.clone())),
        };
        let wire = Wire {
            v: SEAL_VERSION,
            head: STANDARD.encode(self.head),
            end: self.end,
            key,
            sig,
            unsigned,
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// A [`SEAL`] field's value; an error says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Seal, String> {
        let wire: Wire = serde_json::from_str(raw).map_err(|e| format!("bad seal: {e}"))?;
        if wire.v != SEAL_VERSION {
            return Err(format!("seal version {} (this termtape reads 1)", wire.v));
        }
        let head = decode_array(&wire.head).ok_or("bad seal: head is not 32 bytes of base64")?;
        let signer = match (wire.key, wire.sig, wire.unsigned) {
            (Some(key), Some(sig), None) => Signer::Signed {
                key: PublicKey::parse(&key)?,
                signature: decode_array(&sig).ok_or("bad seal: sig is not 64 bytes of base64")?,
            },
            (None, None, Some(reason)) => Signer::Unsigned(reason),
            _ => return Err("bad seal: needs key and sig, or unsigned".to_owned()),
        };
        Ok(Seal {
            head,
            end: wire.end,
            signer,
        })
    }

    /// Whether the seal's signature is `key`'s over its head and end mark
    /// (`false` for an unsigned seal).
    pub fn verifies(&self, key: &PublicKey) -> bool {
        match &self.signer {
            Signer::Signed { signature, .. } => key
                .0
                .verify_strict(
                    &sealed_text(&self.head, self.end),
                    &Signature::from_bytes(signature),
                )
                .is_ok(),
            Signer::Unsigned(_) => false,
        }
    }
}

fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

/// How a public key is written: in key files, seals and `--key`.
const PUBLIC_PREFIX: &str = "ed25519:";
/// How a private key file starts.
const SECRET_PREFIX: &str = "ed25519-secret:";

/// An Ed25519 public key: `ed25519:` and 32 bytes of base64.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Reads a key as [`PublicKey`]'s `Display` writes it (whitespace
    /// around it allowed, as in a file).
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let b64 = text
            .trim()
            .strip_prefix(PUBLIC_PREFIX)
            .ok_or("not an ed25519: public key")?;
        let bytes: [u8; 32] = decode_array(b64).ok_or("the key is not 32 bytes of base64")?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| "not a valid Ed25519 public key".to_owned())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", STANDARD.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An Ed25519 private key (its 32-byte seed).
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// The key made from 32 random bytes (the caller's: this crate reads
    /// no randomness).
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// Reads a private key file's text.
    pub fn parse(text: &str) -> Result<SecretKey, String> {
        let b64 = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or("not an ed25519-secret: private key")?;
        let seed: [u8; 32] = decode_array(b64).ok_or("the key is not 32 bytes of base64")?;
        Ok(SecretKey::from_seed(seed))
    }

    /// The private key file's text, with its newline.
    pub fn file_text(&self) -> String {
        format!("{SECRET_PREFIX}{}\n", STANDARD.encode(self.0.to_bytes()))
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.public())
    }
}

/// When a recorder seals the chain besides a recording's first message,
/// its gaps and its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// After this many ms of the recording since the last seal (0: not by
    /// time).
    pub ms: u64,
    /// After this many messages since the last seal (0: not by count).
    pub messages: u64,
}

impl Default for Cadence {
    /// About once a minute with output, and every 1000 messages (a few MB).
    fn default() -> Self {
        Cadence {
            ms: 60_000,
            messages: 1000,
        }
    }
}

/// A recorder's side of the chain: links each message it writes and seals
/// where the [`Cadence`] says.
#[derive(Debug)]
pub struct Chainer {
    key: Result<SecretKey, String>,
    cadence: Cadence,
    at: Progress,
}

/// How far a [`Chainer`] has linked: what [`Chainer::rewind`] goes back to
/// when the message just linked was not written after all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    head: Head,
    /// Messages linked.
    count: u64,
    /// `pos` and count at the last seal.
    sealed_pos: u64,
    sealed_count: u64,
    ended: bool,
}

/// The fields [`Chainer::link`] adds to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// The [`CHAIN`] value.
    pub chain: String,
    /// The [`SEAL`] value, on a sealed message.
    pub seal: Option<String>,
}

impl Chainer {
    /// A chain signed with `key`, or unsigned for the reason given.
    pub fn new(key: Result<SecretKey, String>, cadence: Cadence) -> Chainer {
        Chainer {
            key,
            cadence,
            at: Progress {
                head: GENESIS,
                count: 0,
                sealed_pos: 0,
                sealed_count: 0,
                ended: false,
            },
        }
    }

    /// Whether the recording's end has been sealed.
    pub fn ended(&self) -> bool {
        self.at.ended
    }

    /// Messages linked so far.
    pub fn count(&self) -> u64 {
        self.at.count
    }

    /// How far the chain has come, for [`Chainer::rewind`].
    pub fn progress(&self) -> Progress {
        self.at
    }

    /// Goes back to `progress`: the messages linked since were not written
    /// (the next one links where they did).
    pub fn rewind(&mut self, progress: Progress) {
        self.at = progress;
    }

    /// Links `message` (which carries no chain fields yet): the fields to
    /// write with it. `end`: it is the recording's last. A message with a
    /// gap mark is sealed, so what a rate limit dropped is attested.
    pub fn link(&mut self, message: &Extended<'_>, end: bool) -> Result<Links, ParseError> {
        let fields = message.fields.iter().filter(|f| chained(f.name));
        let at = &mut self.at;
        at.head = match written_members(message.tlog()) {
            Some(mut members) => {
                members.extend(fields.map(|f| keyed(f.name.as_bytes(), f.value.as_bytes())));
                link_bytes(&at.head, &mut members)
            }
            None => {
                let mut members = members(message.tlog())?;
                members.extend(fields.map(|f| (Cow::Borrowed(f.name), f.value)));
                link(&at.head, &mut members)
            }
        };
        at.count += 1;
        let pos = message.message.pos;
        let gap = message.fields.iter().any(|f| f.name == extension::GAP);
        let due = (self.cadence.ms > 0 && pos.saturating_sub(at.sealed_pos) >= self.cadence.ms)
            || (self.cadence.messages > 0 && at.count - at.sealed_count >= self.cadence.messages);
        let seal = (at.count == 1 || end || gap || due).then(|| {
            at.sealed_pos = pos;
            at.sealed_count = at.count;
            at.ended |= end;
            Seal::new(at.head, end, self.key.as_ref().map_err(String::as_str)).field()
        });
        Ok(Links {
            chain: tag_field(&at.head),
            seal,
        })
    }
}

/// `fields` with the chain's: what a writer writes.
pub fn with_links<'a>(fields: &[Field<'a>], links: &'a Links) -> Vec<Field<'a>> {
    let mut all = Vec::with_capacity(fields.len() + 2);
    all.extend_from_slice(fields);
    all.push(Field::new(CHAIN, &links.chain));
    if let Some(seal) = &links.seal {
        all.push(Field::new(SEAL, seal));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Encoded;

    fn encoded(json: &[u8], pos: u64) -> Encoded<'_> {
        Encoded {
            id: 1,
            pos,
            time: 0,
            json,
            input_end: 0,
            output_end: 0,
        }
    }

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed([n; 32])
    }

    #[test]
    fn the_writers_link_is_the_readers_in_either_form() {
        let mut chainer = Chainer::new(Ok(key(1)), Cadence::default());
        let tlog = b"{\"ver\":\"2.3\",\"rec\":\"r\",\"id\":1,\"pos\":0,\"out_txt\":\"a\\u0001\"}\n";
        let fields = [Field::new(extension::GAP, r#"{"messages":1}"#)];
        let m = Extended {
            message: encoded(tlog, 0),
            fields: &fields,
        };
        let links = chainer.link(&m, false).expect("an object");
        let all = with_links(&fields, &links);
        let written = Extended {
            message: m.message,
            fields: &all,
        };
        let mut buf = Vec::new();
        let line = written.file_form(&mut buf).expect("an object").to_vec();
        // Read back, in the file's order and with the members shuffled (as
        // a journal may give its fields back).
        let split = split_line(&line).expect("valid");
        let mut members = split.members.clone();
        members.reverse();
        let head = link(&GENESIS, &mut members);
        assert_eq!(split.chain, Some(tag_field(&head).as_str()));
        let seal = Seal::parse(split.seal.expect("a gap is sealed")).expect("valid");
        assert_eq!(seal.head, head);
        assert!(seal.verifies(&key(1).public()));
        assert!(!seal.verifies(&key(2).public()));
        // The reader's mark is not covered, and a changed value is seen.
        let mut marked = b"{\"termtape_unverified\":\"uid 5\",".to_vec();
        marked.extend_from_slice(&line[1..]);
        let split = split_line(&marked).expect("valid");
        assert!(split.unverified.is_some());
        assert_eq!(link(&GENESIS, &mut split.members.clone()), head);
        let edited = String::from_utf8(line)
            .expect("utf-8")
            .replace("a\\u0001", "b\\u0001");
        let split = split_line(edited.as_bytes()).expect("valid");
        assert_ne!(link(&GENESIS, &mut split.members.clone()), head);
    }

    #[test]
    fn the_chain_field_is_the_tag_quoted() {
        for head in [[0; 32], [255; 32], std::array::from_fn(|i| (i * 37) as u8)] {
            assert_eq!(tag_field(&head), format!("\"{}\"", tag(&head)));
        }
    }

    #[test]
    fn the_fields_fit_their_announced_lengths() {
        let links = Links {
            chain: tag_field(&[255; 32]),
            seal: Some(Seal::new([255; 32], true, Ok(&key(3))).field()),
        };
        let fields = with_links(&[], &links);
        let m = Extended::plain(encoded(b"{\"id\":1}\n", 0));
        let with = Extended {
            message: m.message,
            fields: &fields[..1],
        };
        assert!(with.file_len() - m.file_len() <= LINK_LEN as usize);
        let sealed = Extended {
            message: m.message,
            fields: &fields,
        };
        assert!(sealed.file_len() - with.file_len() <= SEAL_LEN as usize);
    }

    #[test]
    fn the_fast_split_is_the_scanners_on_json_and_refuses_what_is_not_an_object() {
        let line = br#" {"a":{"kf":[1,{"x":"]}\""}]},"s":"\"kf\":{","k\u0066":-1.5e3 ,"t":true,"n":null,"e":""} "#;
        let fast: Vec<(String, String)> = members(line)
            .expect("valid")
            .into_iter()
            .map(|(n, v)| (n.into_owned(), v.to_owned()))
            .collect();
        let slow: Vec<(String, String)> = extension::members(line)
            .map(|m| m.expect("valid"))
            .map(|m| (m.name().into_owned(), m.value.to_owned()))
            .collect();
        assert_eq!(fast, slow);
        assert_eq!(members(b"{}").expect("valid"), vec![]);
        for bad in [
            &b""[..],
            b"[1]",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"{\"a\":1",
            b"{\"a\":\"x}",
            b"{\"a\":1} x",
            b"{a:1}",
            b"{\"a\" 1}",
            b"{\"a\":\"\xff\"}",
        ] {
            assert!(members(bad).is_err(), "{bad:?}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(members(deep.as_bytes()).is_err());
    }

    #[test]
    fn unchained_drops_the_chain_and_seal_and_keeps_the_rest() {
        let line =
            br#"{"ver":"2.3","id":1,"out_txt":"a\"b","chain":"AAAA","kf":{"v":1},"seal":{"v":1}}"#;
        assert_eq!(
            unchained(line).expect("valid").as_deref(),
            Some(r#"{"ver":"2.3","id":1,"out_txt":"a\"b","kf":{"v":1}}"#)
        );
        assert_eq!(unchained(br#"{"ver":"2.3"}"#).expect("valid"), None);
        assert!(unchained(b"{\"chain\":").is_err());
    }

    #[test]
    fn names_and_values_cannot_trade_bytes() {
        let a = link(&GENESIS, &mut [(Cow::Borrowed("ab"), "1")]);
        let b = link(&GENESIS, &mut [(Cow::Borrowed("a"), "b1")]);
        assert_ne!(a, b);
        let c = link(
            &GENESIS,
            &mut [(Cow::Borrowed("a"), "1"), (Cow::Borrowed("b"), "2")],
        );
        let d = link(&GENESIS, &mut [(Cow::Borrowed("a"), "1,\"b\":2")]);
        assert_ne!(c, d);
    }

    #[test]
    fn seals_come_first_at_gaps_by_cadence_and_last() {
        let mut chainer = Chainer::new(
            Err("no key".into()),
            Cadence {
                ms: 1000,
                messages: 3,
            },
        );
        let tlog = b"{\"id\":1}\n";
        let mut sealed = Vec::new();
        for (i, pos) in [0u64, 10, 20, 1500, 1600, 1700, 1800, 1900]
            .iter()
            .enumerate()
        {
            let links = chainer
                .link(&Extended::plain(encoded(tlog, *pos)), i == 7)
                .expect("valid");
            sealed.push(links.seal.is_some());
        }
        // First; by time (1500); by count (1800: third after); last.
        assert_eq!(sealed, [true, false, false, true, false, false, true, true]);
        assert!(chainer.ended());
        let last = chainer
            .link(&Extended::plain(encoded(tlog, 0)), false)
            .expect("valid");
        assert!(last.seal.is_none());
    }

    #[test]
    fn seals_and_keys_round_trip_and_bad_ones_are_errors() {
        let k = key(7);
        let seal = Seal::new([3; 32], true, Ok(&k));
        assert_eq!(Seal::parse(&seal.field()), Ok(seal.clone()));
        assert!(seal.verifies(&k.public()));
        // The end mark is signed: taking it off breaks the signature.
        let cut = Seal { end: false, ..seal };
        assert!(!cut.verifies(&k.public()));
        let unsigned = Seal::new([3; 32], false, Err("cannot read key"));
        assert_eq!(Seal::parse(&unsigned.field()), Ok(unsigned));
        assert_eq!(
            PublicKey::parse(&format!(" {}\n", k.public())),
            Ok(k.public())
        );
        assert_eq!(
            SecretKey::parse(&k.file_text()).expect("valid").public(),
            k.public()
        );
        for bad in [
            "",
            "{}",
            r#"{"v":2,"head":""}"#,
            r#"{"v":1,"head":"AAAA"}"#,
            r#"{"v":1,"head":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","key":"x","sig":"y"}"#,
            r#"{"v":1,"head":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}"#,
        ] {
            assert!(Seal::parse(bad).is_err(), "{bad}");
        }
        assert!(PublicKey::parse("ed25519:AAAA").is_err());
        assert!(SecretKey::parse("ed25519:AAAA").is_err());
    }

    /// Members as owned bytes: (name, raw value).
    pub(super) type Owned = Vec<(Vec<u8>, Vec<u8>)>;

    /// [`written_members`] as bytes, and [`members`] of the same line.
    pub(super) fn both(line: &[u8]) -> (Option<Owned>, Owned) {
        let fast = written_members(line).map(|m| {
            m.into_iter()
                .map(|(_, n, v)| (n.to_vec(), v.to_vec()))
                .collect()
        });
        let slow = members(line)
            .expect("valid")
            .into_iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        (fast, slow)
    }

    #[test]
    fn the_writers_layout_is_read_as_the_scanner_reads_it_or_left_to_it() {
        for line in [
            &br#"{"ver":"2.3","id":1,"out_txt":"","out_bin":[]}"#[..],
            br#"{"ver":"2.3","out_bin":[]}"#,
            br#"{"ver":"2.3","id":1,"timing":">2","out_txt":"\",\"out_bin\":[","out_bin":[1,2]}"#,
            b"{\"ver\":\"2.3\",\"out_txt\":\"a\\\\\",\"out_bin\":[]}\n",
        ] {
            let (fast, slow) = both(line);
            assert_eq!(fast, Some(slow), "{}", String::from_utf8_lossy(line));
        }
        // Not the layout: left to the scanner.
        for line in [
            &br#"{"ver":"2.3", "out_txt":"","out_bin":[]}"#[..],
            br#"{"out_bin":[],"out_txt":""}"#,
            br#"{"ver":"2.3","out_txt":"","out_bin":[],"kf":{}}"#,
            br#"{"v\u0065r":"2.3","out_txt":"","out_bin":[]}"#,
            br#"{"out_txt":1,"out_bin":[]}"#,
            b"]}",
            b"",
        ] {
            assert_eq!(
                written_members(line),
                None,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}

#[cfg(test)]
mod proptests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::tests::both;
    use crate::{Encoder, Header, Location, Message, Stream};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Every message the encoder writes, and the same message written
        /// again by `Message::write_json`, links alike by the writer's
        /// layout and by the scanner the verifier uses.
        #[test]
        fn the_encoders_messages_link_alike_fast_and_scanned(
            writes in proptest::collection::vec(
                (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..400)), 1..20),
            text in "[a-z \n\r\t\"\\\\é€😀\u{1b}\u{0}\u{7f}]{0,300}",
            payload in crate::MIN_PAYLOAD..3000usize,
        ) {
            let header = Header { host: "h\"ost".into(), rec: "r\\".into(), user: "ü".into(), term: "t".into(), session: 5 };
            let mut enc = Encoder::new(&header, payload, Duration::from_secs(1)).expect("payload");
            let mut lines = Vec::new();
            let mut emit = |e: crate::Encoded<'_>| -> std::result::Result<(), ()> { lines.push(e.json.to_vec()); Ok(()) };
            let at = Duration::from_millis(3);
            for (input, bytes) in &writes {
                let stream = if *input { Stream::Input } else { Stream::Output };
                enc.io(at, stream, bytes, &mut emit).expect("emit");
                enc.io(at, Stream::Output, text.as_bytes(), &mut emit).expect("emit");
            }
            enc.cut(&mut emit).expect("emit");
            enc.flush(&mut emit).expect("emit");
            for line in &lines {
                let (fast, slow) = both(line);
                prop_assert_eq!(fast, Some(slow));
                let text = std::str::from_utf8(line).expect("UTF-8");
                let msg = Message::parse(text.trim_end(), &Location::default()).expect("valid");
                let mut again = Vec::new();
                msg.write_json(&mut again);
                let (fast, slow) = both(&again);
                prop_assert_eq!(fast, Some(slow));
            }
        }
    }
}
