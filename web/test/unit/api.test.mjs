// Unit tests of the API's pure helpers: `node --test web/test/unit`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJournal } from '../../src/api.js';

test('journal sources are told from files as the CLI tells them', () => {
  assert.equal(isJournal('journal'), true);
  assert.equal(isJournal('journal:/var/log/journal/remote'), true);
  assert.equal(isJournal('journal:'), false);
  assert.equal(isJournal('/var/log/termtape/central.log'), false);
  assert.equal(isJournal('journals.log'), false);
  assert.equal(isJournal('./journal:x'), false);
});
