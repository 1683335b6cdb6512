// Unit tests of the page's pure helpers: `node --test web/test/unit`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fmt from '../../src/format.js';

test('durations and positions read as the CLI shows them', () => {
  assert.equal(fmt.duration(0), '0:00');
  assert.equal(fmt.duration(59_999), '0:59');
  assert.equal(fmt.duration(3_723_000), '1:02:03');
  assert.equal(fmt.duration(-5), '0:00');
  assert.equal(fmt.position(62_345), '1:02.3');
});

test('sizes use decimal units', () => {
  assert.equal(fmt.size(999), '999 B');
  assert.equal(fmt.size(1_500), '1.5 kB');
  assert.equal(fmt.size(1_000_000_000), '1.0 GB');
  assert.equal(fmt.size(null), '');
});

test('moments from the start are read as termtape play takes them', () => {
  assert.equal(fmt.parseOffset('90'), 90_000);
  assert.equal(fmt.parseOffset('12.5'), 12_500);
  assert.equal(fmt.parseOffset('1:30'), 90_000);
  assert.equal(fmt.parseOffset('1:02:03'), 3_723_000);
  assert.equal(fmt.parseOffset('2026-11-30'), null);
  assert.equal(fmt.parseOffset('abc'), null);
});

test('wall-clock times are read in local time and round-trip through clock()', () => {
  const t = fmt.parseClock('2026-11-30 14:32:05');
  assert.equal(fmt.clock(t), '2026-11-30 14:32:05');
  assert.equal(fmt.clock(fmt.parseClock('2026-11-30')), '2026-11-30 00:00:00');
  assert.equal(fmt.parseClock('2026-11-30T14:32'), fmt.parseClock('2026-11-30 14:32:00'));
  assert.equal(fmt.parseClock('14:32'), null);
  assert.equal(fmt.parseClock('2026-13-01 10:00'), null);
  assert.equal(fmt.parseClock('2026-02-30'), null);
  assert.equal(fmt.parseClock('2026-11-30 24:00'), null);
  assert.equal(fmt.parseClock('<script>'), null);
});

test('typed keys are shown by name, never as control characters', () => {
  assert.equal(fmt.keys('ls -l\r'), 'ls -l⏎');
  assert.equal(fmt.keys('\x03\x1b[A\x7f\t'), '^C⎋[A⌫⇥');
  assert.equal(fmt.keys('\u009b'), '<9b>');
  // Nothing in the result is a C0 or C1 control.
  const all = String.fromCharCode(...Array.from({ length: 0xa0 }, (_, i) => i));
  assert.doesNotMatch(fmt.keys(all), /[\u0000-\u001f\u007f-\u009f]/);
});

test('verdicts read as proven, not proven either way, or tampered', () => {
  assert.deepEqual(fmt.verdictLabel(null), { label: 'not verified', kind: 'none', title: 'No verdict' });
  assert.equal(fmt.verdictLabel({ verdict: 'intact', ok: true, text: 'intact and complete' }).kind, 'ok');
  assert.equal(fmt.verdictLabel({ verdict: 'untrusted', ok: false }).kind, 'warn');
  assert.equal(fmt.verdictLabel({ verdict: 'incomplete', ok: false }).label, '◐ no end mark');
  const edited = fmt.verdictLabel({ verdict: 'other_key', ok: false, text: 'signed by another key' });
  assert.deepEqual(edited, { label: '✗ other key', kind: 'bad', title: 'signed by another key' });
  // A hostile verdict name is text, never markup: the page sets it as text.
  assert.equal(fmt.verdictLabel({ verdict: '<b>x', ok: false }).label, '✗ <b>x');
});

test('command lines read as termtape commands shows them, control characters visible', () => {
  assert.equal(fmt.commandLine(['/bin/echo', 'a b', "it's", '']), "/bin/echo 'a b' 'it'\\''s' ''");
  // Quoted, as the CLI quotes a word with a backslash.
  assert.equal(fmt.commandLine(['printf', '\u001b]0;x\u0007']), "printf '\\e]0;x\\x07'");
  assert.equal(fmt.visible('a\u009bb\u007f\t'), 'a\\u{9b}b\\x7f\\t');
  // A right-to-left override cannot turn the line around.
  assert.equal(fmt.visible('ls \u202etxt.exe'), 'ls \\u{202e}txt.exe');
  assert.equal(fmt.commandLine(undefined), '');
});
