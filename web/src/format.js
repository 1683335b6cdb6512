// Times and sizes as the CLI shows them (local time, as `termtape ls`).

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** `YYYY-MM-DD HH:MM:SS` in local time, from ms since the epoch. */
export function clock(ms) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `H:MM:SS` or `M:SS`, from ms. */
export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

/** A position with tenths: `1:02.3`. */
export function position(ms) {
  return `${duration(ms)}.${Math.floor((Math.max(0, ms) % 1000) / 100)}`;
}

/** Bytes as `1.5 MB`. */
export function size(bytes) {
  if (bytes === null || bytes === undefined) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * Reads a local wall-clock time typed as `YYYY-MM-DD[ HH:MM[:SS]]` (or
 * `…T…`), giving ms since the epoch, or null when it is not one.
 */
export function parseClock(text) {
  const m = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?\s*$/.exec(text);
  if (!m) return null;
  const [, y, mo, d, hh = '0', mm = '0', ss = '0', frac = '0'] = m;
  const date = new Date(+y, +mo - 1, +d, +hh, +mm, +ss, +frac.padEnd(3, '0'));
  // Date rolls 2026-13-45 over into 2027; a time that does not exist is
  // refused instead.
  const exists = date.getFullYear() === +y && date.getMonth() === +mo - 1 && date.getDate() === +d &&
    +hh < 24 && +mm < 60 && +ss < 60;
  return exists ? date.getTime() : null;
}

/**
 * Reads a moment from the start as `termtape play` takes it: seconds
 * (`90`, `12.5`), `M:SS`, `H:MM:SS`; gives ms, or null.
 */
export function parseOffset(text) {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(parseFloat(t) * 1000);
  const m = /^(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)$/.exec(t);
  if (!m) return null;
  return Math.round(((+(m[1] ?? 0) * 60 + +m[2]) * 60 + parseFloat(m[3])) * 1000);
}

/**
 * Input as a reviewer reads it: printable text kept, control characters
 * shown by name (`⏎`, `^C`, `⎋`), so nothing typed acts on the page.
 */
export function keys(text) {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === '\r' || ch === '\n') out += '⏎';
    else if (ch === '\t') out += '⇥';
    else if (code === 0x1b) out += '⎋';
    else if (code === 0x7f) out += '⌫';
    else if (code < 0x20) out += `^${String.fromCharCode(code + 64)}`;
    else if (code >= 0x80 && code < 0xa0) out += `<${code.toString(16)}>`;
    else out += ch;
  }
  return out;
}

/**
 * A verdict of `ls --json --verify` (or `null`: none) as the page shows
 * it: a short label, its kind for the colour (`ok`, `warn`: not proven
 * either way, `bad`: tampering or damage) and the sentence as a title.
 */
export function verdictLabel(verdict) {
  if (!verdict) return { label: 'not verified', kind: 'none', title: 'No verdict' };
  const name = String(verdict.verdict ?? 'unknown');
  const title = String(verdict.text ?? name);
  if (verdict.ok) return { label: '✓ intact', kind: 'ok', title };
  switch (name) {
    case 'untrusted':
      return { label: '? key not checked', kind: 'warn', title };
    case 'incomplete':
      return { label: '◐ no end mark', kind: 'warn', title };
    default:
      return { label: `✗ ${name.replace(/_/g, ' ')}`, kind: 'bad', title };
  }
}

/**
 * Text with the characters that could hide or disguise it written visibly,
 * as the CLI writes them: `\t`, `\n`, `\r`, `\e`, other C0 controls and
 * DEL as `\xNN`, C1 controls and bidirectional controls as `\u{N}`.
 */
export function visible(text) {
  const named = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\u001b': '\\e' };
  return String(text).replace(
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g,
    (c) => {
      const code = c.charCodeAt(0);
      if (named[c]) return named[c];
      return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
    },
  );
}

/**
 * Arguments as one line, as `termtape commands` shows them: a word holding
 * a space, a quote or nothing in single quotes, control characters
 * visible.
 */
export function commandLine(argv) {
  return (argv ?? [])
    .map((word) => {
      const w = visible(word);
      return w === '' || /[\s'"\\$`]/.test(w) ? `'${w.replace(/'/g, "'\\''")}'` : w;
    })
    .join(' ');
}
