import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lines } from '../../src/api.js';

test('JSON lines split across chunks anywhere come out whole and in order', () => {
  const text = '{"a":1}\n{"b":"x\\ny"}\n\n{"c":[1,2]}\n';
  for (let cut = 0; cut <= text.length; cut += 1) {
    const seen = [];
    const lines = new Lines((o) => seen.push(o));
    lines.push(text.slice(0, cut));
    lines.push(text.slice(cut));
    lines.end();
    assert.deepEqual(seen, [{ a: 1 }, { b: 'x\ny' }, { c: [1, 2] }], `cut at ${cut}`);
  }
});

test('a last line without its newline is still read at the end', () => {
  const seen = [];
  const lines = new Lines((o) => seen.push(o));
  lines.push('{"a":1}\n{"b"');
  lines.push(':2}');
  assert.deepEqual(seen, [{ a: 1 }]);
  lines.end();
  assert.deepEqual(seen, [{ a: 1 }, { b: 2 }]);
});

test('a damaged line is an error, not silently skipped', () => {
  const lines = new Lines(() => {});
  assert.throws(() => lines.push('{"a":\n'), SyntaxError);
});
