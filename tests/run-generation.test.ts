// M2RAG generation (single, multi, mllm) against a local stand-in for a remote OpenAI-compatible
// API (tests/helpers/openai-server.ts), on a real LevelDB store with real images: the requests'
// shapes; inputs holding only the query's own kept splits and images, at their placeholders; ragvl's
// query and corpus pools; and a prompts file's wording reaching the model.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema } from '../src/core/config.js';
import { clearPromptOverrides, loadPromptOverrides } from '../src/core/prompts.js';
import { runStage } from '../src/core/stage.js';
import { RunStage } from '../src/runner/run.js';
import { chatReply, startOpenAiServer, userContent, type RecordedRequest, type ScriptedReply } from './helpers/openai-server.js';
import { buildRunFixture, OTHER_PAGE_ID, PAGE_ID, QUERIES, scoredFixtureWithStandIn, scoreRunFixture, standInConfig } from './helpers/run-fixture.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { chunkIdOf, generationIdOf, scoreIdOf } from '../storage/index.js';

function kindOf(request: RecordedRequest): 'stage-2' | 'stage-3' | 'answer' {
  const { text } = userContent(request);
  if (text.includes('# Answer lines')) return 'stage-2';
  if (text.includes('# Answer piece')) return 'stage-3';
  return 'answer';
}

function script(request: RecordedRequest): ScriptedReply {
  const kind = kindOf(request);
  const { text } = userContent(request);
  if (kind === 'stage-2') return chatReply(text.includes('grand piano') ? 'Ray at his piano\n1' : 'Sheet music\n-1');
  if (kind === 'stage-3') return chatReply('```markdown\nAs the photo shows, he played from age three. [link](http://x)\n```');
  if (text.includes('Do not embed') || text.includes('do not embed any image')) return chatReply('Ray Charles was a pianist.\nHe played from age three.\nHe sang Georgia.');
  return chatReply('```markdown\nRay Charles played piano.\n![At the piano](images/0.jpg)\nGeorgia. ![dup](images/0.jpg) ![ghost](images/5.jpg)\n```');
}

test('single, multi and mllm generation: request shapes, only the kept input, images at their placeholders', async (t) => {
  // The score stage drops the weather chunk (2) and the portrait (2), though its placeholder is in a kept split.
  const { fixture, server, config, services } = await scoredFixtureWithStandIn(t, script);
  const { piano, georgia } = fixture.imageIds;

  const single = await runStage(new RunStage({ strategy: 'single' }), fixture.store, { services, config });
  assert.deepEqual([single.queries, single.failed], [1, 0]);
  const [singleRequest] = server.requestsTo('chat');
  const prompt = userContent(singleRequest!).text;
  assert.match(prompt, /## Webpage 0\n```markdown\nRay Charles was an American singer/);
  assert.match(prompt, /\n!\[Ray Charles playing a grand piano on stage\]\(images\/0\.jpg\)\n/);
  assert.match(prompt, /\n!\[Sheet music cover of Georgia on My Mind\]\(images\/1\.jpg\)\n/);
  assert.ok(prompt.indexOf('three.') < prompt.indexOf('images/0.jpg') && prompt.indexOf('images/0.jpg') < prompt.indexOf('Georgia on My Mind became'), 'image 0 stands where its placeholder stood');
  assert.doesNotMatch(prompt, /weather|IMAGE_PLACEHOLDER|Betty Carter/, 'no dropped split, no dropped image, no placeholder left');
  assert.match(prompt, /# Generated Document$/);
  const generation = (await fixture.store.get('generations', generationIdOf(fixture.queryId, 'single', 'llm-single-stage')))!;
  assert.deepEqual(generation.inputs.chunkIds, [chunkIdOf(PAGE_ID, 0), chunkIdOf(PAGE_ID, 1)]);
  assert.deepEqual(generation.inputs.imageIds, [piano, georgia]);
  assert.deepEqual(generation.citedImageIds, [piano]);
  assert.equal(generation.output, 'Ray Charles played piano.\n\n![At the piano](images/1.jpg)\n*Figure 1: At the piano*\n\nGeorgia.');
  assert.equal(generation.provenance.promptVersion, 'generate.single@1');
  assert.equal(await fixture.store.isStageDone('run:single', fixture.queryId), true);

  // Another strategy is not skipped because single is done.
  const before = server.requestsTo('chat').length;
  const multi = await runStage(new RunStage({ strategy: 'multi' }), fixture.store, { services, config });
  assert.deepEqual([multi.queries, multi.skipped, multi.failed], [1, 0, 0]);
  const multiRequests = server.requestsTo('chat').slice(before);
  assert.deepEqual(multiRequests.map(kindOf).sort(), ['answer', 'stage-2', 'stage-2', 'stage-3'], 'one stage-1, one stage-2 per image, one stage-3 per placed image');
  const stage2 = multiRequests.filter((r) => kindOf(r) === 'stage-2').map((r) => userContent(r).text);
  assert.ok(stage2.every((text) => text.includes('[0] Ray Charles was a pianist.\n[1] He played from age three.\n[2] He sang Georgia.')));
  const stage3 = userContent(multiRequests.find((r) => kindOf(r) === 'stage-3')!).text;
  assert.match(stage3, /```markdown\nHe played from age three.\nHe sang Georgia.\n```/);
  assert.match(stage3, /grand piano/);
  const multiGeneration = (await fixture.store.get('generations', generationIdOf(fixture.queryId, 'multi', 'llm-multi-stage')))!;
  assert.equal(multiGeneration.output, 'Ray Charles was a pianist.\n\n![Ray at his piano](images/1.jpg)\n*Figure 1: Ray at his piano*\n\nAs the photo shows, he played from age three. link');
  assert.deepEqual(multiGeneration.citedImageIds, [piano]);
  assert.deepEqual([multi.counts['images-placed'], multi.counts['images-not-placed']], [1, 1]);

  const mllmBefore = server.requestsTo('chat').length;
  const mllm = await runStage(new RunStage({ strategy: 'mllm' }), fixture.store, { services, config });
  assert.deepEqual([mllm.queries, mllm.failed], [1, 0]);
  const [mllmRequest] = server.requestsTo('chat').slice(mllmBefore);
  assert.equal(mllmRequest!.body.model, 'stand-in-vl');
  const parts = mllmRequest!.body.messages[0].content as Array<{ type: string; text?: string; image_url?: { url: string } }>;
  const shape = parts.map((p) => (p.type === 'image_url' ? 'IMG' : p.text!.startsWith('](images/') ? `after:${p.text!.match(/images\/\d/)![0]}` : p.text!.endsWith('![') ? 'open' : 'text'));
  assert.deepEqual(shape.filter((s) => s !== 'text'), ['open', 'IMG', 'after:images/0', 'open', 'IMG', 'after:images/1'], 'each image between `![` and its path, in page order');
  assert.ok(parts.filter((p) => p.type === 'image_url').every((p) => p.image_url!.url.startsWith('data:image/')));
  assert.ok(parts.findIndex((p) => p.text?.includes('three.')) < parts.findIndex((p) => p.type === 'image_url'));
});

/** Any generation request: stage 2 places no image, everything else gets a one-line answer. */
function plainScript(request: RecordedRequest): ScriptedReply {
  if (request.body.max_tokens === 1) return chatReply('Yes', { logprobs: { Yes: -0.05, No: -3 } });
  return chatReply(kindOf(request) === 'stage-2' ? 'Not this one\n-1' : 'Ray Charles played the piano.');
}

const FOREIGN = /Blues Brothers|music store|Film poster|Betty Carter/;

test("single, multi and mllm inputs hold only the query's own kept pages, even where another query keeps a shared image", async (t) => {
  const fixture = await buildRunFixture(await tempDir(t), { otherQuery: true });
  t.after(() => fixture.store.close());
  await scoreRunFixture(t, fixture);
  const { piano, georgia, logo } = fixture.imageIds;
  // The score stage kept the portrait for the Blues Brothers query only.
  assert.equal((await fixture.store.get('scores', scoreIdOf(QUERIES.blues.id, 'image', logo)))!.kept, true);
  assert.equal((await fixture.store.get('scores', scoreIdOf(fixture.queryId, 'image', logo)))!.kept, false);
  const server = await startOpenAiServer({ chat: plainScript });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  const services = servicesFor(t, config, fixture.store);
  const rayChunks = [chunkIdOf(PAGE_ID, 0), chunkIdOf(PAGE_ID, 1)];
  for (const [strategy, method] of [['single', 'llm-single-stage'], ['multi', 'llm-multi-stage'], ['mllm', 'mllm-single-stage']] as const) {
    const before = server.requestsTo('chat').length;
    const report = await runStage(new RunStage({ strategy }), fixture.store, { services, config });
    assert.deepEqual([report.queries, report.failed], [2, 0], strategy);
    const mine = (await fixture.store.get('generations', generationIdOf(fixture.queryId, strategy, method)))!;
    assert.deepEqual([mine.inputs.chunkIds, mine.inputs.imageIds], [rayChunks, [piano, georgia]], strategy);
    const other = (await fixture.store.get('generations', generationIdOf(QUERIES.blues.id, strategy, method)))!;
    assert.deepEqual([other.inputs.chunkIds, other.inputs.imageIds], [[chunkIdOf(OTHER_PAGE_ID, 0), chunkIdOf(OTHER_PAGE_ID, 1)], [fixture.posterId, logo]], strategy);
    const sent = server.requestsTo('chat').slice(before).map(userContent);
    const forPiano = sent.filter((c) => c.text.includes(`# Question\n${QUERIES.piano.query}\n`));
    assert.ok(forPiano.length > 0, strategy);
    for (const content of forPiano) {
      assert.doesNotMatch(content.text, FOREIGN, `${strategy}: nothing of the other query's page`);
      assert.ok(content.images.length <= 2, `${strategy}: at most the query's own two images`);
    }
    assert.ok(sent.some((c) => c.text.includes(`# Question\n${QUERIES.blues.query}\n`) && /music store/.test(c.text)), `${strategy}: the other query got its own page`);
  }
});

test('ragvl --pool query retrieves among the query’s own kept elements; --pool corpus among every query’s', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t), { otherQuery: true });
  t.after(() => fixture.store.close());
  await scoreRunFixture(t, fixture);
  const { piano, georgia, logo } = fixture.imageIds;
  const server = await startOpenAiServer({ chat: plainScript });
  t.after(() => server.close());
  const ragvl = async (pool: 'query' | 'corpus') => {
    const config = standInConfig(server.url, { run: { pool } });
    const stage = new RunStage({ strategy: 'ragvl' });
    const before = server.requestsTo('chat').length;
    await runStage(stage, fixture.store, { services: servicesFor(t, config, fixture.store), config, force: true });
    const generation = (await fixture.store.get('generations', generationIdOf(fixture.queryId, 'ragvl', 'llm-ragvl')))!;
    const prompt = server
      .requestsTo('chat')
      .slice(before)
      .map((r) => userContent(r).text)
      .find((text) => text.startsWith('Answer the question') && text.includes(`Question: ${QUERIES.piano.query}\n`))!;
    return { generation, prompt, settings: stage.settings! };
  };

  const own = await ragvl('query');
  // The corpus holds what any query kept (the portrait for the other query); the pool narrows it.
  assert.deepEqual([own.settings.pool, own.settings.corpus!.images, own.settings.corpus!.chunks], ['query', 4, 4]);
  assert.deepEqual(own.generation.retrieval!.candidates.map((c) => c.imageId).sort(), [piano, georgia].sort());
  assert.deepEqual(own.generation.inputs.chunkIds.sort(), [chunkIdOf(PAGE_ID, 0), chunkIdOf(PAGE_ID, 1)].sort());
  assert.doesNotMatch(own.prompt, FOREIGN);

  const corpus = await ragvl('corpus');
  assert.deepEqual(corpus.generation.retrieval!.candidates.map((c) => c.imageId).sort(), [piano, georgia, logo, fixture.posterId!].sort());
  assert.deepEqual(corpus.generation.inputs.chunkIds.sort(), [0, 1].flatMap((i) => [chunkIdOf(PAGE_ID, i), chunkIdOf(OTHER_PAGE_ID, i)]).sort());
  assert.match(corpus.prompt, /music store/);
  // Never a dropped element, whatever the pool: the weather chunk scored 2 for every query that saw it.
  assert.ok(!corpus.generation.inputs.chunkIds.includes(chunkIdOf(PAGE_ID, 2)));
});

test('a prompts file replaces the single-stage wording: the request carries it, the generation records its version', async (t) => {
  const dir = await tempDir(t);
  const fixture = await buildRunFixture(dir);
  t.after(() => fixture.store.close());
  await scoreRunFixture(t, fixture);
  const file = path.join(dir, 'prompts.yaml');
  await writeFile(file, 'generate.single: |\n  Reference wording, quoted exactly.\n  # Question\n  {{question}}\n\n  # Webpages\n');
  await loadPromptOverrides(file);
  t.after(() => clearPromptOverrides());
  const server = await startOpenAiServer({ chat: plainScript });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  await runStage(new RunStage({ strategy: 'single' }), fixture.store, { services: servicesFor(t, config, fixture.store), config });
  const text = userContent(server.requestsTo('chat')[0]!).text;
  assert.match(text, /^Reference wording, quoted exactly\.\n# Question\nRay Charles piano\n\n# Webpages\n## Webpage 0\n```markdown\nRay Charles was/);
  assert.match(text, /# Generated Document$/, 'the code still appends the pages and the closing line');
  const generation = (await fixture.store.get('generations', generationIdOf(fixture.queryId, 'single', 'llm-single-stage')))!;
  assert.match(generation.provenance.promptVersion!, /^generate\.single@override-[0-9a-f]{12}$/);
});

test('offline, single answers with the labelled extractive fallback, from the same kept input, with no marker left in it', async (t) => {
  const fixture = await buildRunFixture(await tempDir(t));
  t.after(() => fixture.store.close());
  // The piano stands mid-sentence on this page.
  const first = (await fixture.store.get('chunks', chunkIdOf(PAGE_ID, 0)))!;
  await fixture.store.put('chunks', { ...first, text: 'Ray Charles was an American singer and pianist. He played the piano <IMAGE_PLACEHOLDER>[0] from the age of three.' });
  await scoreRunFixture(t, fixture);
  const config = ConfigSchema.parse({});
  const stage = new RunStage({ strategy: 'single' });
  const report = await runStage(stage, fixture.store, { services: servicesFor(t, config, fixture.store), config });
  assert.deepEqual([report.queries, report.failed, report.counts['generations-extractive-fallback']], [1, 0, 1]);
  assert.match(stage.settings!.fallback!, /^no LLM \(models\.llmUrl\) configured: answers are extractive \(model-free\), not single generation$/);
  const generation = (await fixture.store.get('generations', generationIdOf(fixture.queryId, 'single', 'extractive')))!;
  assert.deepEqual([generation.method, generation.provenance.model], ['extractive', 'extractive']);
  assert.deepEqual(generation.inputs.chunkIds, [chunkIdOf(PAGE_ID, 0), chunkIdOf(PAGE_ID, 1)]);
  assert.deepEqual(generation.inputs.imageIds, [fixture.imageIds.piano, fixture.imageIds.georgia]);
  assert.match(generation.output, /He played the piano from the age of three\./);
  assert.doesNotMatch(generation.output, /IMAGE_PLACEHOLDER|weather/);
  assert.ok(generation.citedImageIds.length > 0 && generation.citedImageIds.every((id) => generation.inputs.imageIds.includes(id)));
});
