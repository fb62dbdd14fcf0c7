// The describe stage on real pages and images of the wiki-ray-charles mirror: the embedded
// context-template describer offline, and the vision-model path through a local stand-in for an
// OpenAI-compatible API (speaking its documented format).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { ConfigSchema } from '../src/core/config.js';
import { runStage } from '../src/core/stage.js';
import { DescribeStage } from '../processors/describe/stage.js';
import { loadModels } from '../src/models/registry.js';
import { modelServicesOf } from '../src/models/services.js';
import { descriptionsOf, type CorpusStore, type Description } from '../storage/index.js';
import { runCli } from './helpers/cli.js';
import { chatReply, errorReply, startOpenAiServer, userContent, type OpenAiServer } from './helpers/openai-server.js';
import { buildMirrorStore, MIRROR, type Fixture } from './helpers/describe-store.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

const config = ConfigSchema.parse({ models: { retryDelayMs: 5, maxRetries: 1 } });

async function allDescriptions(store: CorpusStore): Promise<Description[]> {
  const all: Description[] = [];
  for await (const d of store.iterate('descriptions')) all.push(d);
  return all;
}

/** Kept images as downstream stages define them: filter.kept and the representative of their cluster. */
async function keptImageIds(store: CorpusStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const image of store.iterate('images')) {
    if (image.filter?.kept === true && (!image.representativeId || image.representativeId === image.id)) ids.push(image.id);
  }
  return ids;
}

// One embedded run shared by the offline tests (model loads are slow on 2 cores).
let offline: Fixture;
let offlineDir: string;
/** The cover and its re-encoded copy, as process-images clustered them. */
let representativeId: string;
let duplicateId: string;
before(async () => {
  offlineDir = await mkdtemp(path.join(tmpdir(), 'm2rag-describe-'));
  const original = await readFile(path.join(MIRROR, 'I/m/Ray_C._Geor.jpg'));
  // A near-duplicate (re-encoded) of the single's cover, on a mirror of the same article: same context.
  const variant = await sharp(original).jpeg({ quality: 60 }).toBuffer();
  offline = await buildMirrorStore(
    offlineDir,
    'Ray Charles',
    [
      { file: 'Ray_Charles.html' },
      { file: 'Georgia_on_My_Mind.html' },
      { file: 'Ray_Charles.html', url: 'http://mirror-two.test/wiki/Ray_Charles', only: ['Ray_C._Geor.jpg'], replace: { 'Ray_C._Geor.jpg': variant } },
    ],
    ['RayCharlesGreatestHits_1962ABC.jpg'],
  );
  const originalId = offline.imageIds.get('Ray_C._Geor.jpg')!;
  const variantId = offline.occurrences.find((o) => o.pageId !== undefined && o.url.includes('Ray_C._Geor') && o.imageId !== originalId)!.imageId!;
  const [cover, copy] = [offline.images.get(originalId)!, offline.images.get(variantId)!];
  assert.ok(cover.clusterId && cover.clusterId === copy.clusterId, 'process-images clusters the copy with the cover');
  representativeId = cover.representativeId!;
  assert.equal(copy.representativeId, representativeId);
  duplicateId = representativeId === originalId ? variantId : originalId;
});
after(async () => {
  await offline.store.close();
  await rm(offlineDir, { recursive: true, force: true });
});

test('embedded describer: every kept image of the store gets a stored context-template description with provenance', async (t) => {
  const report = await runStage(new DescribeStage(), offline.store, { services: servicesFor(t, config, offline.store), config });
  assert.equal(report.failed, 0);
  const descriptions = await allDescriptions(offline.store);
  const kept = await keptImageIds(offline.store);
  assert.ok(kept.length >= 12, `the mirror pages give many kept images (${kept.length})`);
  for (const imageId of kept) {
    const own = descriptions.filter((d) => d.imageId === imageId);
    assert.ok(own.length >= 1, `kept image ${imageId} has a description`);
    for (const d of own) {
      assert.equal(d.status, 'ok');
      assert.equal(d.method, 'context-template');
      assert.equal(d.provenance.provider, 'embedded');
      assert.equal(d.provenance.model, 'paddleocr-pp-ocrv4+universal-sentence-encoder-lite');
      assert.equal(d.provenance.promptVersion, 'context-template-v3');
      assert.match(d.provenance.inputHash, /^[0-9a-f]{64}$/);
      assert.ok(d.text!.length > 20);
    }
  }
  const described = new Set(descriptions.map((d) => d.imageId));
  for (const image of offline.images.values()) {
    if (!image.filter!.kept) assert.ok(!described.has(image.id), `dropped image ${image.firstUrl} is not described`);
  }
  assert.equal(report.counts['described:context-template'], descriptions.length);
  assert.ok((report.counts['dropped:image-not-kept'] ?? 0) > 0);
});

test('embedded describer: caption, heading, OCR text and related context sentences, each from a named source', async () => {
  const [montreal] = await descriptionsOf(offline.store, offline.imageIds.get('Ray_Charles_FIJM_2003.jpg')!);
  assert.match(montreal!.text!, /^One of his last public performances, at the 2003 Montreal International Jazz Festival\./);
  assert.match(montreal!.text!, /In the section "Later years \(1983–2004\)"/);
  assert.deepEqual(montreal!.sources, ['figcaption', 'heading', 'context']);
  assert.match(montreal!.text!, /Context: .*(album|recorded|Atlantic)/);

  const [victor] = await descriptionsOf(offline.store, offline.imageIds.get('Hoagy-georgia-on-my-mind.jpg')!);
  assert.ok(victor!.sources!.includes('ocr'));
  assert.match(victor!.text!, /Text in the image: "[^"]*23013-A/);

  const aux = offline.occurrences.find((o) => o.kind === 'auxiliary')!;
  const [auxDescription] = await descriptionsOf(offline.store, aux.imageId!);
  assert.equal(auxDescription!.occurrenceId, aux.id);
  // The search phrase is ours, never evidence: it is not in the description.
  assert.doesNotMatch(auxDescription!.text!, /image search|Ray Charles piano/i);
  assert.ok(!auxDescription!.sources!.includes('query'));
  assert.match(auxDescription!.text!, /Text in the image: "RAY CHARLES/);
});

test('a dedup cluster is described once per materially different context', async () => {
  const descriptions = await descriptionsOf(offline.store, representativeId);
  assert.equal((await descriptionsOf(offline.store, duplicateId)).length, 0, 'the near-duplicate is described through its representative');
  // Two contexts: the Ray Charles article (twice: the original and its mirror with the near-duplicate) and the song's article.
  assert.equal(descriptions.length, 2);
  const pageOf = (occurrenceId: string) => offline.occurrences.find((o) => o.id === occurrenceId)!.pageId;
  const covered = descriptions.map((d) => d.occurrenceIds!.map(pageOf).length).sort();
  assert.deepEqual(covered, [1, 2]);
  const shared = descriptions.find((d) => d.occurrenceIds!.length === 2)!;
  assert.ok(shared.occurrenceIds!.some((id) => offline.occurrences.find((o) => o.id === id)!.imageId === duplicateId));
});

test('re-running changes nothing: same ids, same records, nothing described again', async (t) => {
  const before = await allDescriptions(offline.store);
  const report = await runStage(new DescribeStage(), offline.store, { services: servicesFor(t, config, offline.store), config, force: true });
  const afterRun = await allDescriptions(offline.store);
  assert.deepEqual(afterRun, before);
  assert.equal(report.counts['already-described'], before.length);
  assert.equal(report.counts['described:context-template'], undefined);
});

async function visionFixture(t: import('node:test').TestContext) {
  const dir = await tempDir(t);
  const fixture = await buildMirrorStore(
    dir,
    'Ray Charles',
    [{ file: 'Ray_Charles.html', only: ['Ray_Charles_FIJM_2003.jpg', 'Greenville_FL_Hays_Park_Ray_Charles_statue02.jpg', 'Ray_Charles_1968.jpg', 'Wikiquote-logo.svg.png'] }],
    ['RayCharlesGreatestHits_1962ABC.jpg'],
  );
  return { dir, fixture };
}

function visionEnv(server: OpenAiServer): Record<string, string> {
  return { M2RAG_VISION_URL: server.url, M2RAG_VISION_MODEL: 'stand-in-vl', M2RAG_VISION_KEY: 'vision-key' };
}

test('vision model: the model sees the image with its page context (or the query), its line is stored with provenance, a re-run is answered from the cache', async (t) => {
  const server = await startOpenAiServer({
    chat: (req) => {
      const { text } = userContent(req);
      return chatReply(`\n"A photograph related to: ${text.split('\n')[0]}"\n`, { promptTokens: 800, completionTokens: 30 });
    },
  });
  t.after(() => server.close());
  const { fixture } = await visionFixture(t);
  t.after(() => fixture.store.close());
  const report = await runStage(new DescribeStage(), fixture.store, { services: servicesFor(t, config, fixture.store, visionEnv(server)), config });
  assert.equal(report.failed, 0);
  const descriptions = await allDescriptions(fixture.store);
  assert.equal(descriptions.length, 4, 'three kept page images and the auxiliary image; the icon is not sent');
  assert.equal(server.requestsTo('chat').length, 4);
  for (const d of descriptions) {
    assert.equal(d.status, 'ok');
    assert.equal(d.method, 'vision-model');
    assert.deepEqual([d.provenance.provider, d.provenance.model, d.provenance.promptVersion], ['openai-compatible', 'stand-in-vl', 'describe-v1']);
    assert.match(d.text!, /^A photograph related to: /, 'one line, quotes and newlines removed');
  }
  const requests = server.requestsTo('chat');
  assert.ok(requests.every((r) => r.headers.authorization === 'Bearer vision-key' && userContent(r).images[0]!.startsWith('data:image/jpeg;base64,')));
  const montreal = requests.map(userContent).find((c) => c.text.includes('Montreal'))!;
  assert.match(montreal.text, /Image caption: One of his last public performances, at the 2003 Montreal International Jazz Festival/);
  assert.match(montreal.text, /Text above the image on the page:\n.+/);
  assert.match(montreal.text, /Text below the image on the page:\n[\s\S]*Columbia Records/);
  const aux = requests.map(userContent).find((c) => c.text.includes('image search'))!;
  assert.match(aux.text, /returned by an image search for: "Ray Charles"/);
  assert.doesNotMatch(aux.text, /Text above the image/);

  // Re-running costs nothing: stored descriptions are kept, and with them gone the model cache answers.
  const rerun = await runStage(new DescribeStage(), fixture.store, { services: servicesFor(t, config, fixture.store, visionEnv(server)), config, force: true });
  assert.equal(rerun.counts['already-described'], 4);
  const batch = fixture.store.batch();
  for (const d of descriptions) batch.del('descriptions', d.id);
  await batch.write();
  const models = await loadModels(config, fixture.store, { env: visionEnv(server) });
  t.after(() => models.dispose());
  const fromCache = await runStage(new DescribeStage(), fixture.store, { services: modelServicesOf(models), config, force: true });
  assert.equal(fromCache.counts['described:vision-model'], 4);
  assert.equal(server.requestsTo('chat').length, 4, 'no new request reached the server');
  assert.equal(models.usage()['openai-compatible:stand-in-vl']!.cached, 4);
  assert.deepEqual((await allDescriptions(fixture.store)).map((d) => d.text), descriptions.map((d) => d.text));
});

test('vision model: refused and malformed replies are stored as failed with their reason, the stage goes on, and the next run retries only those', async (t) => {
  let healthy = false;
  const server = await startOpenAiServer({
    chat: (req) => {
      const { text } = userContent(req);
      if (!healthy && text.includes('Image caption: Ray Charles statue in Greenville')) return errorReply(400, 'this model does not accept image input');
      if (!healthy && text.includes('Image caption: Ray Charles in 1968')) return { raw: '<html>upstream error</html>', status: 200 };
      return chatReply('A grounded description.');
    },
  });
  t.after(() => server.close());
  const { fixture } = await visionFixture(t);
  t.after(() => fixture.store.close());
  const first = await runStage(new DescribeStage(), fixture.store, { services: servicesFor(t, config, fixture.store, visionEnv(server)), config });
  assert.equal(first.failed, 1, 'the query is left unmarked for a retry');
  assert.equal(first.counts['queries-incomplete'], 1);
  assert.equal(first.counts['described:vision-model'], 2);
  assert.equal(first.counts['failed:http'], 1);
  assert.equal(first.counts['failed:malformed'], 1);
  const failed = (await allDescriptions(fixture.store)).filter((d) => d.status === 'failed');
  assert.deepEqual(failed.map((d) => d.reason!.split(':')[0]).sort(), ['http', 'malformed']);
  assert.ok(failed.some((d) => /400: .*does not accept image input/.test(d.reason!)));
  assert.ok(failed.every((d) => d.text === undefined));

  healthy = true;
  const sentBefore = server.requestsTo('chat').length;
  const second = await runStage(new DescribeStage(), fixture.store, { services: servicesFor(t, config, fixture.store, visionEnv(server)), config });
  assert.equal(second.failed, 0);
  assert.equal(server.requestsTo('chat').length - sentBefore, 2, 'only the two failed descriptions are asked again');
  assert.equal(second.counts['already-described'], 2);
  assert.ok((await allDescriptions(fixture.store)).every((d) => d.status === 'ok'));
  assert.equal(await fixture.store.isStageDone('describe', fixture.queryId), true);
});

test('vision model: when every request fails the stage fails as a whole (exit 1 from the CLI) and the failures are stored', async (t) => {
  const server = await startOpenAiServer({ chat: () => errorReply(503, 'model is loading') });
  t.after(() => server.close());
  const { dir, fixture } = await visionFixture(t);
  const report = await runStage(new DescribeStage(), fixture.store, { services: servicesFor(t, config, fixture.store, visionEnv(server)), config });
  assert.equal(report.failed, report.queries, 'every query it tried is incomplete');
  const stored = await allDescriptions(fixture.store);
  assert.equal(stored.length, 4);
  // Requests run concurrently: one sent after three failures in a row finds the endpoint already
  // taken as down, so its reason says that (and still names the 503 that took it down).
  assert.ok(stored.every((d) => d.status === 'failed' && /^(http|endpoint-down): .*503/.test(d.reason!)), JSON.stringify(stored.map((d) => [d.status, d.reason])));
  await fixture.store.close();

  const configFile = path.join(dir, 'config.json');
  await writeFile(configFile, JSON.stringify({ models: { retryDelayMs: 5, maxRetries: 1 } }));
  const cli = await runCli(['describe', '--store', dir, '--config', configFile], { env: visionEnv(server) });
  assert.equal(cli.code, 1, cli.stderr);
  // Four 503s in a row (past models.maxConsecutiveFailures) take the endpoint as down: one line naming it.
  assert.match(cli.stderr, /^m2rag: describe: stopped: the model endpoint http:\/\/127\.0\.0\.1:\d+\/v1 failed \d+ requests in a row \(last: http: .*503/m);
  assert.match(cli.stderr, /^describe: .*failed:http=\d+ /m);
  assert.doesNotMatch(cli.stderr, /unexpected error|\bat async\b/, 'one line, no stack trace');
  assert.match(cli.stderr, /openai-compatible:stand-in-vl: 4 requests \(0 cached, 4 failed, 4 retries\)/);
});

test('m2rag describe offline (embedded defaults) describes every kept image and prints the counts', async (t) => {
  const dir = await tempDir(t);
  const fixture = await buildMirrorStore(dir, 'Georgia on my mind', [{ file: 'Ray_Charles.html', only: ['Ray_Charles_FIJM_2003.jpg', 'Ray_Charles_1968.jpg'] }]);
  await fixture.store.close();
  const cli = await runCli(['describe', '--store', dir], { env: { M2RAG_LLM_URL: '', M2RAG_VISION_URL: '' } });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stderr, /^describe: .*described:context-template=2 /m);
  assert.doesNotMatch(cli.stderr, /failed:|queries-(failed|incomplete)/);
  const stats = await runCli(['stats', '--json', '--store', dir]);
  assert.equal(JSON.parse(stats.stdout).descriptions, 2);
});
