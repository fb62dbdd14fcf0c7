// The queries file: JSONL or text, errors with file:line, duplicates stored once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQueries } from '../src/core/queries.js';
import { UserError } from '../src/core/errors.js';

test('plain text: one query a line, blank lines and comments skipped, duplicates reported', () => {
  const { queries, duplicates } = parseQueries('q.txt', '# topics\nwho was Ray Charles\n\nray  charles piano\nWho was ray charles\n');
  assert.deepEqual(
    queries.map((q) => q.query),
    ['who was Ray Charles', 'ray  charles piano'],
  );
  assert.deepEqual(duplicates, [{ line: 5, query: 'Who was ray charles', firstLine: 2 }]);
  assert.match(queries[0]!.id, /^q[0-9a-f]{16}$/);
});

test('JSONL: ids, topics and seed urls are kept', () => {
  const { queries } = parseQueries('q.jsonl', '{"id":"a","query":"x","topic":"t","urls":["http://e.org/"]}\n{"query":"y"}\n');
  assert.equal(queries[0]!.id, 'a');
  assert.equal(queries[0]!.topic, 't');
  assert.deepEqual(queries[0]!.urls, ['http://e.org/']);
  assert.equal(queries[1]!.line, 2);
});

for (const [name, text, reason] of [
  ['invalid JSON', '{"query":"a"}\n{"query":"b"}\n{"query": nope}\n', /not valid JSON/],
  ['missing query', '{"query":"a"}\n{"query":"b"}\n{"topic":"c"}\n', /query/],
  ['empty query', '{"query":"a"}\n{"query":"b"}\n{"query":"   "}\n', /must not be empty/],
  ['unknown field', '{"query":"a"}\n{"query":"b"}\n{"query":"c","qurey":"d"}\n', /qurey/],
  ['bad url', '{"query":"a"}\n{"query":"b"}\n{"query":"c","urls":["not a url"]}\n', /absolute URL/],
] as const) {
  test(`JSONL ${name} on line 3 is reported as file:3`, () => {
    assert.throws(
      () => parseQueries('bad.jsonl', text),
      (error: Error) => error instanceof UserError && error.message.startsWith('bad.jsonl:3: ') && reason.test(error.message),
    );
  });
}

test('a file with no queries is a user error', () => {
  assert.throws(() => parseQueries('empty.txt', '\n# nothing\n'), UserError);
});
