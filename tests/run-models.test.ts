// The model-judged paths against a local stand-in for a remote OpenAI-compatible API
// (tests/helpers/openai-server.ts): M2RAG rubric scoring, RagVL Yes/No reranking, single- and
// multi-stage generation, LLM-judged evaluation and the ShareGPT export, on a real LevelDB store
// holding real images from the Wikipedia mirror. Bad replies (no integer, no Yes/No token, a
// citation of an image that does not exist) must be counted, never crash, never score 0.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema, type Config } from '../src/core/config.js';
import { loadModels } from '../src/models/registry.js';
import { evaluateGenerations, formatEvalReport } from '../src/runner/evaluate.js';
import { rerank } from '../src/runner/rerank.js';
import { runQueries } from '../src/runner/run.js';
import { runStage } from '../src/core/stage.js';
import { createScoreStage, scoreIdOf } from '../scorers/score-stage.js';
import { exportDataset } from '../storage/export/index.js';
import { chatReply, startOpenAiServer, userContent, type RecordedRequest, type ScriptedReply } from './helpers/openai-server.js';
import { CORPORA } from './helpers/cli.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { chunkIdOf, CorpusStore, occurrenceIdOf, sha256Hex, stableId } from '../storage/index.js';

const IMAGES = path.join(CORPORA, 'wiki-ray-charles/I/m');
const AT = '2026-01-01T00:00:00.000Z';

interface Fixture {
  store: CorpusStore;
  queryId: string;
  imageIds: Record<'piano' | 'georgia' | 'logo', string>;
}

/** A small store: one query, one page with three chunks and three kept images (real mirror files). */
async function buildFixture(dir: string): Promise<Fixture> {
  const store = await CorpusStore.open(path.join(dir, 'store'));
  const queryId = 'q-piano';
  const pageId = 'p-ray';
  const files = { piano: 'Baby_Grand_Billy_Joel.jpg', georgia: 'Americathebeautiful.jpg', logo: 'Betty_Carter.jpg' } as const;
  const captions = {
    piano: 'Ray Charles playing a grand piano on stage',
    georgia: 'Sheet music cover of Georgia on My Mind',
    logo: 'Portrait of the jazz singer Betty Carter',
  };
  const batch = store.batch();
  batch.put('queries', { id: queryId, query: 'Ray Charles piano', createdAt: AT });
  batch.put('pages', { id: pageId, url: 'http://mirror/A/Ray_Charles.html', finalUrl: 'http://mirror/A/Ray_Charles.html', fetchedAt: AT, htmlBytes: 10, rendered: false, title: 'Ray Charles' });
  batch.link('query-pages', queryId, pageId);
  const texts = [
    'Ray Charles was an American singer and pianist. He played the piano from the age of three. <IMAGE_PLACEHOLDER>[0]',
    'Georgia on My Mind became his signature song in 1960 and is the state song of Georgia. <IMAGE_PLACEHOLDER>[1]',
    'The weather in the region is mild in the spring, and tourism grew in later decades.',
  ];
  const imageIds = {} as Fixture['imageIds'];
  let k = 0;
  for (const [name, file] of Object.entries(files) as Array<[keyof typeof files, string]>) {
    const bytes = await readFile(path.join(IMAGES, file));
    const id = sha256Hex(bytes);
    imageIds[name] = id;
    const occId = occurrenceIdOf(pageId, k);
    batch.putBlob(bytes);
    batch.put('images', { id, bytes: bytes.length, mime: 'image/jpeg', firstUrl: `http://mirror/I/m/${file}`, fetchedAt: AT, filter: { kept: true, reasons: [], layoutScore: 6 } });
    batch.put('occurrences', { id: occId, kind: 'page', pageId, index: k, url: `http://mirror/I/m/${file}`, imageId: id, attributes: { alt: captions[name] }, context: { alt: captions[name] } });
    batch.link('page-occurrences', pageId, occId);
    batch.link('image-occurrences', id, occId);
    batch.put('descriptions', {
      id: stableId(id, occId, 'vision-model', 'stand-in'),
      imageId: id,
      occurrenceId: occId,
      status: 'ok',
      text: captions[name],
      method: 'vision-model',
      provenance: { provider: 'openai-compatible', model: 'stand-in', inputHash: 'h', at: AT },
    });
    k++;
  }
  texts.forEach((text, i) => {
    const id = chunkIdOf(pageId, i);
    const occ = i < 2 ? [occurrenceIdOf(pageId, i)] : [];
    batch.put('chunks', { id, pageId, index: i, text, occurrenceIds: occ, imageIds: i < 2 ? [Object.values(imageIds)[i]!] : [] });
    batch.link('page-chunks', pageId, id);
  });
  await batch.write();
  return { store, queryId, imageIds };
}

function configFor(url: string, extra: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse({ models: { llmUrl: url, llmModel: 'stand-in', visionUrl: url, visionModel: 'stand-in-vl', maxRetries: 0, cache: false }, ...extra });
}

/** Which of the fixture's images a vision request shows, from its caption in the prompt. */
function subjectOf(request: RecordedRequest): 'piano' | 'georgia' | 'logo' | 'text' {
  const { text, images } = userContent(request);
  if (images.length === 0) return 'text';
  if (text.includes('grand piano')) return 'piano';
  if (text.includes('Georgia')) return 'georgia';
  return 'logo';
}

test('score stage with a remote LLM and vision model: rubric scores, failed judgments counted and never kept', async (t) => {
  const fixture = await buildFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  const server = await startOpenAiServer({
    chat: (request): ScriptedReply => {
      const subject = subjectOf(request);
      const { text } = userContent(request);
      if (subject === 'piano') return chatReply('The image shows him at the piano. Score: 9');
      if (subject === 'georgia') return chatReply('Somewhat related: 4');
      if (subject === 'logo') return chatReply('I cannot rate this image.');
      if (text.includes('weather')) return chatReply('Unrelated. 1');
      if (text.includes('signature song')) return chatReply('Hard to say without more context.');
      return chatReply('On a scale of 0 to 10, this is a 12');
    },
  });
  t.after(() => server.close());
  const config = configFor(server.url);
  const report = await runStage(createScoreStage(), fixture.store, { services: servicesFor(t, config, fixture.store), config });
  assert.equal(report.failed, 1, 'a query with failed judgments is incomplete');
  assert.equal(await fixture.store.isStageDone('score', fixture.queryId), false, 'and stays unmarked for a retry');
  assert.equal(report.counts['failed:chunk-judgment'], 1);
  assert.equal(report.counts['failed:image-judgment'], 1);
  assert.equal(report.counts['chunks-kept'], 1);
  assert.equal(report.counts['images-kept'], 2);

  const score = (kind: 'chunk' | 'image', id: string) => fixture.store.get('scores', scoreIdOf(fixture.queryId, kind, id));
  const first = (await score('chunk', chunkIdOf('p-ray', 0)))!;
  assert.deepEqual([first.status, first.finalScore, first.kept, first.method], ['ok', 10, true, 'llm-rubric']);
  const noInteger = (await score('chunk', chunkIdOf('p-ray', 1)))!;
  assert.equal(noInteger.status, 'failed');
  assert.equal(noInteger.finalScore, undefined);
  assert.equal(noInteger.kept, false);
  assert.match(noInteger.reason!, /no integer/);
  const weather = (await score('chunk', chunkIdOf('p-ray', 2)))!;
  assert.deepEqual([weather.finalScore, weather.kept, weather.reason], [1, false, 'below-threshold']);
  const logo = (await score('image', fixture.imageIds.logo))!;
  assert.deepEqual([logo.status, logo.kept], ['failed', false]);
  assert.equal((await score('image', fixture.imageIds.piano))!.finalScore, 9);
  // Image requests carried the image; text requests did not.
  const visionRequests = server.requestsTo('chat').filter((r) => userContent(r).images.length === 1);
  assert.equal(visionRequests.length, 3);
  assert.ok(visionRequests.every((r) => r.body.model === 'stand-in-vl'));

  // The next run retries the incomplete query: the same replies fail the same way, and are counted again.
  const before = server.requestsTo('chat').length;
  const again = await runStage(createScoreStage(), fixture.store, { services: servicesFor(t, config, fixture.store), config });
  assert.deepEqual([again.skipped, again.failed], [0, 1]);
  assert.ok(server.requestsTo('chat').length > before);
  assert.equal(again.counts['failed:chunk-judgment'], 1);
});

test('RagVL rerank: P(Yes)/(P(Yes)+P(No)) per candidate, one token each, concurrently; a reply without Yes/No is a counted failure', async (t) => {
  const fixture = await buildFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  let inFlight = 0;
  let maxInFlight = 0;
  const server = await startOpenAiServer({
    chat: async (request): Promise<ScriptedReply> => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      const subject = subjectOf(request);
      if (subject === 'piano') return chatReply('Yes', { logprobs: { Yes: Math.log(0.9), No: Math.log(0.1) } });
      if (subject === 'georgia') return chatReply('no', { logprobs: { ' no': Math.log(0.7), ' yes': Math.log(0.3) } });
      return chatReply('Maybe', { logprobs: { Maybe: -0.1, Perhaps: -3 } });
    },
  });
  t.after(() => server.close());
  const config = configFor(server.url);
  const models = await loadModels(config, fixture.store);
  t.after(() => models.dispose());
  const images = new Map(
    Object.entries(fixture.imageIds).map(([name, id]) => [
      id,
      { imageId: id, ext: 'jpg', description: { piano: 'Ray Charles playing a grand piano on stage', georgia: 'Sheet music cover of Georgia on My Mind', logo: 'Portrait of the jazz singer Betty Carter' }[name]!, context: '', descriptionMethod: 'vision-model' },
    ]),
  );
  const hits = Object.values(fixture.imageIds).map((id, i) => ({ id, score: 0.5 - i * 0.1 }));
  const result = await rerank(models, fixture.store, 'Ray Charles piano', hits, images, { topN: 2, threshold: 0.5, fallbackThreshold: 0.25, imageMethod: 'description-embedding' });
  assert.equal(result.method, 'ragvl-yes-no');
  assert.equal(result.requests, 3);
  assert.equal(result.failed, 1);
  assert.deepEqual(result.kept, [fixture.imageIds.piano], 'georgia (0.3) is under the 0.5 threshold');
  const byId = new Map(result.candidates.map((c) => [c.imageId, c]));
  assert.ok(Math.abs(byId.get(fixture.imageIds.piano)!.relevance! - 0.9) < 1e-9);
  assert.ok(Math.abs(byId.get(fixture.imageIds.georgia)!.relevance! - 0.3) < 1e-9);
  assert.match(byId.get(fixture.imageIds.logo)!.reason!, /no Yes\/No token/);
  for (const request of server.requestsTo('chat')) {
    assert.equal(request.body.max_tokens, 1, 'stops at the first token');
    assert.equal(request.body.logprobs, true);
    assert.ok(request.body.top_logprobs >= 2);
  }
  assert.ok(maxInFlight > 1, `candidates were sent concurrently (max in flight ${maxInFlight})`);
});

test('run (single and multi stage), eval with an LLM judge, and the ShareGPT export', async (t) => {
  const dir = await tempDir(t);
  const fixture = await buildFixture(dir);
  t.after(() => fixture.store.close());
  const server = await startOpenAiServer({
    chat: (request): ScriptedReply => {
      const subject = subjectOf(request);
      const { text } = userContent(request);
      if (request.body.max_tokens === 1) {
        // Rerank: the piano image is relevant, the others not.
        return chatReply('Yes', { logprobs: subject === 'piano' ? { Yes: -0.05, No: -3 } : { Yes: -3, No: -0.05 } });
      }
      if (text.startsWith('Answer the question using the web page passages and the images')) {
        // Single stage: cites image 1 twice and an image 7 that does not exist.
        return chatReply('Ray Charles played the piano from childhood.\n\n![Ray at the piano](images/1.jpg)\n\nHe was a pianist. ![again](images/1.jpg) ![ghost](images/7.png)');
      }
      if (text.startsWith('Answer the question using the web page passages below')) {
        return chatReply('Ray Charles was a pianist.\n\nHe learned the piano at three.');
      }
      if (text.includes('Before which paragraph')) return chatReply('2');
      if (text.startsWith('Rewrite this paragraph')) return chatReply('As the image shows, he learned the piano at three.');
      if (text.includes('Rate the fluency')) return chatReply('Fluent. 8');
      if (text.includes('Rate how relevant')) return chatReply('9');
      if (text.includes('how coherent')) return chatReply('8');
      if (text.includes('help a reader')) return chatReply('Helpful: 7');
      if (text.includes('refers to and makes use')) return chatReply('I would rather not say.');
      if (text.includes('Was this passage useful')) return chatReply(text.includes('weather') ? 'No' : 'Yes');
      if (text.includes('Can the statement be inferred')) return chatReply('Yes');
      return chatReply('unexpected prompt');
    },
  });
  t.after(() => server.close());
  const config = configFor(server.url, { run: { contextChunks: 3 } });
  await runStage(createScoreStage(), fixture.store, { services: servicesFor(t, config, fixture.store), config });
  const models = await loadModels(config, fixture.store);
  t.after(() => models.dispose());

  const single = await runQueries(fixture.store, config, models, { strategy: 'single' });
  const q = single.queries[0]!;
  assert.equal(q.method, 'llm-single-stage');
  assert.equal(q.keptAfterRerank, 1);
  assert.equal(q.cited, 1);
  assert.equal(single.counts['citations-repeated'], 1);
  assert.equal(single.counts['citations-out-of-range'], 1);
  const generation = (await fixture.store.get('generations', q.generationId!))!;
  assert.deepEqual(generation.citedImageIds, [fixture.imageIds.piano]);
  assert.match(generation.output, /!\[Ray at the piano\]\(images\/1\.jpg\)\n\*Figure 1: Ray at the piano\*/);
  assert.doesNotMatch(generation.output, /images\/7|again/);
  assert.ok(generation.usage!.promptTokens > 0);
  assert.equal(generation.retrieval!.rerankMethod, 'ragvl-yes-no');

  const multi = await runQueries(fixture.store, config, models, { strategy: 'multi' });
  const multiGeneration = (await fixture.store.get('generations', multi.queries[0]!.generationId!))!;
  assert.equal(multiGeneration.method, 'llm-multi-stage');
  assert.match(multiGeneration.output, /^Ray Charles was a pianist\.\n\n!\[Ray Charles playing a grand piano on stage\]\(images\/1\.jpg\)\n\*Figure 1: .*\*\n\nAs the image shows/);

  const report = await evaluateGenerations(fixture.store, models, { strategy: 'single' });
  assert.equal(report.generations, 1);
  assert.equal(report.m2rag.fluency!.mean, 0.8);
  assert.equal(report.m2rag.reference!.failed, 1, 'a judge reply without an integer is a failed judgment');
  assert.equal(report.m2rag.reference!.n, 0);
  assert.equal(report.m2rag.faithfulness!.mean, 1);
  assert.ok(report.m2rag.contextPrecision!.mean! > 0 && report.m2rag.contextPrecision!.mean! <= 1);
  const table = formatEvalReport(report);
  assert.match(table, /^reference\s+—\s+0\s+1$/m);
  assert.match(table, /^fluency\s+0\.800\s+1\s+0$/m);

  // ShareGPT takes only generations whose image metrics are all ≥ 0.7: the single-stage one lacks `reference`.
  const out = path.join(dir, 'sharegpt');
  const summary = await exportDataset(fixture.store, { format: 'sharegpt', outDir: out, scoreIdOf, sharegptMinMetric: 0.7, settings: {} });
  assert.equal(summary.counts.taken, 0);
  assert.equal(summary.counts['left out: metric-missing:reference'], 1);
  assert.equal(summary.counts['left out: not-evaluated'], 1);
  assert.deepEqual(JSON.parse(await readFile(path.join(out, 'sharegpt.json'), 'utf8')), []);
});

test('an adaptive threshold needs a dev set with both correct and incorrect candidates: otherwise one clear error', async (t) => {
  const fixture = await buildFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  const server = await startOpenAiServer({
    chat: (request): ScriptedReply => chatReply('Yes', { logprobs: subjectOf(request) === 'piano' ? { Yes: -0.1, No: -2.5 } : { Yes: -2.5, No: -0.1 } }),
  });
  t.after(() => server.close());
  const config = configFor(server.url);
  const models = await loadModels(config, fixture.store);
  t.after(() => models.dispose());
  await assert.rejects(
    runQueries(fixture.store, config, models, { strategy: 'text', devLabels: new Map([[fixture.queryId, { relevantImageIds: [fixture.imageIds.piano] }]]) }),
    /dev set: cannot compute a threshold: need at least 2 correct and 2 incorrect labelled scores \(got 1 and 2\)/,
  );
});
