// The viewer's inputs from outside: rating forms are validated where they enter, and `serve` on a
// folder with no store is one line and exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { parseRatings } from '../src/viewer/ratings.js';

const base = { rater: ' Ada ', queryId: 'q1' };

test('an answer form yields one rating per filled metric, on its scale', () => {
  const ratings = parseRatings({ ...base, kind: 'generation', generationId: 'g1', metric_fluency: '7', metric_faithfulness: '0.5', metric_response_relevancy: '' });
  assert.deepEqual(ratings, [
    { rater: 'Ada', target: { kind: 'generation', generationId: 'g1', queryId: 'q1', metric: 'fluency' }, value: 7 },
    { rater: 'Ada', target: { kind: 'generation', generationId: 'g1', queryId: 'q1', metric: 'faithfulness' }, value: 0.5 },
  ]);
  assert.equal(parseRatings({ ...base, kind: 'generation', generationId: 'g1', metric_fluency: '11' }), 'fluency is rated from 0 to 10');
  assert.equal(parseRatings({ ...base, kind: 'generation', generationId: 'g1', metric_faithfulness: '3' }), 'faithfulness is rated from 0 to 1');
  assert.equal(parseRatings({ ...base, kind: 'generation', generationId: 'g1' }), 'the form has no rating filled in');
});

test('an image form yields yes/no marks, and anything else is refused with a reason', () => {
  assert.deepEqual(parseRatings({ ...base, kind: 'image', imageId: 'i1', relevant: '1', describes: '0' }), [
    { rater: 'Ada', target: { kind: 'image', imageId: 'i1', queryId: 'q1', aspect: 'relevant' }, value: 1 },
    { rater: 'Ada', target: { kind: 'image', imageId: 'i1', queryId: 'q1', aspect: 'describes' }, value: 0 },
  ]);
  assert.equal(parseRatings({ ...base, kind: 'image', imageId: 'i1', relevant: '0.5' }), 'an image mark is 1 (yes) or 0 (no)');
  assert.equal(parseRatings({ ...base, rater: '  ', kind: 'image', imageId: 'i1', relevant: '1' }), 'type your name in "rated by" before rating');
  assert.equal(parseRatings({ ...base, kind: 'query' }), 'the form says neither an answer nor an image is rated');
});

test('serve on a folder with no store is one line and exit 2', async (t) => {
  const dir = await tempDir(t, 'm2rag-serve-');
  const result = await runCli(['--store', dir, 'serve', '--port', '0']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^m2rag: no store at .* --store <dir>/);
  assert.equal(result.stderr.trim().split('\n').length, 1);
});
