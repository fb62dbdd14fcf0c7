// The score stage with the embedded defaults (no LLM, no vision model: BM25 + Universal Sentence
// Encoder lite for text, layout + description/context similarity for images) on a small real store,
// including a query whose images were all filtered out and a query with nothing at all.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema } from '../src/core/config.js';
import { runStage } from '../src/core/stage.js';
import { createScoreStage } from '../scorers/score-stage.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore, scoreIdOf } from '../storage/index.js';

const AT = '2026-01-01T00:00:00.000Z';

test('embedded scoring: the on-topic chunk outscores the off-topic one; no kept images and empty queries are counted', async (t) => {
  const store = await CorpusStore.open(path.join(await tempDir(t), 'store'));
  t.after(() => store.close());
  const b = store.batch();
  b.put('queries', { id: 'q-piano', query: 'Ray Charles piano technique', createdAt: AT });
  b.put('queries', { id: 'q-empty', query: 'a query that found nothing', createdAt: AT });
  b.put('pages', { id: 'p1', url: 'http://x/1', finalUrl: 'http://x/1', fetchedAt: AT, htmlBytes: 1, rendered: false });
  b.link('query-pages', 'q-piano', 'p1');
  const texts = [
    'Ray Charles developed his piano technique at the Florida School for the Deaf and Blind, studying classical piano.',
    'The municipal budget for road maintenance increased by four percent, the council said on Tuesday.',
  ];
  texts.forEach((text, i) => {
    b.put('chunks', { id: `p1:c${i}`, pageId: 'p1', index: i, text, occurrenceIds: [], imageIds: [] });
    b.link('page-chunks', 'p1', `p1:c${i}`);
  });
  const imageId = 'a'.repeat(64);
  b.put('images', { id: imageId, bytes: 10, mime: 'image/png', firstUrl: 'http://x/i.png', fetchedAt: AT, filter: { kept: false, reasons: ['too-small-file'] } });
  b.put('occurrences', { id: 'p1:0', kind: 'page', pageId: 'p1', index: 0, url: 'http://x/i.png', imageId, attributes: {} });
  b.link('page-occurrences', 'p1', 'p1:0');
  await b.write();

  const config = ConfigSchema.parse({});
  const report = await runStage(createScoreStage(), store, { services: servicesFor(t, config, store), config });
  assert.equal(report.failed, 0);
  assert.equal(report.counts['queries-without-elements'], 1);
  assert.equal(report.counts['queries-without-kept-images'], 1);
  assert.equal(report.counts['set-aside:image-filtered'], 1);
  const [onTopic, offTopic] = await Promise.all(texts.map((_, i) => store.get('scores', scoreIdOf('q-piano', 'chunk', `p1:c${i}`))));
  assert.equal(onTopic!.method, 'bm25-embedding');
  assert.equal(onTopic!.provenance.provider, 'embedded');
  assert.ok(onTopic!.components.bm25! > 5 && onTopic!.components.bm25! <= 10, JSON.stringify(onTopic!.components));
  assert.equal(offTopic!.components.bm25, 0);
  assert.ok(onTopic!.finalScore! > offTopic!.finalScore! + 3, `${onTopic!.finalScore} vs ${offTopic!.finalScore}`);
  assert.equal(onTopic!.kept, true);
  assert.deepEqual([offTopic!.kept, offTopic!.reason], [false, 'below-threshold']);
  assert.equal(await store.count('scores'), 2, 'the filtered image is not scored');
});
