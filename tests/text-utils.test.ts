// Token budgets and the BM25 index on real text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countTokens, takeFirstTokens, takeLastTokens } from '../src/core/text/tokens.js';
import { Bm25Index } from '../src/core/text/bm25.js';

const text = 'Ray Charles Robinson was an American singer, songwriter, and pianist. He was often referred to as "The Genius".';

test('token trimming keeps whole words within the budget', () => {
  const head = takeFirstTokens(text, 8);
  const tail = takeLastTokens(text, 8);
  assert.ok(countTokens(head) <= 8 && head.length > 0);
  assert.ok(countTokens(tail) <= 8 && tail.length > 0);
  assert.ok(text.startsWith(head));
  assert.ok(text.endsWith(tail));
  assert.equal(takeFirstTokens(text, 1000), text);
  assert.equal(takeLastTokens(text, 0), '');
});

test('BM25 ranks the document that matches the query terms first', () => {
  const index = new Bm25Index();
  index.add('a', 'Georgia on My Mind is a song written by Hoagy Carmichael');
  index.add('b', 'Ray Charles played the piano and sang soul music');
  index.add('c', 'The piano is a keyboard instrument');
  assert.equal(index.search('ray charles piano')[0]!.id, 'b');
  assert.equal(index.search('georgia song')[0]!.id, 'a');
  assert.deepEqual(index.search('zebra'), []);
});
