// A small store for the runner's tests, written as the earlier stages leave it: one page with three
// chunks and three kept, described images (real files of the Wikipedia mirror), and one query on it
// (or two, for resume and shard tests); with `otherQuery`, a third query on a page of its own that
// shares the portrait. Then `scoreRunFixture` runs the real score stage over it against the local
// OpenAI-format stand-in (tests/helpers/openai-server.ts), so the runner reads the keep decisions
// the score stage really writes. Plus the config that points every model at the stand-in, and which
// image a request is about.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { ConfigSchema, type Config } from '../../src/core/config.js';
import { runStage } from '../../src/core/stage.js';
import { createScoreStage } from '../../scorers/score-stage.js';
import { chunkIdOf, CorpusStore, occurrenceIdOf, sha256Hex, stableId, type StoreBatch } from '../../storage/index.js';
import { CORPORA } from './cli.js';
import { chatReply, startOpenAiServer, userContent, type RecordedRequest, type Script } from './openai-server.js';
import { servicesFor } from './services.js';
import { tempDir } from './temp.js';

const IMAGES = path.join(CORPORA, 'wiki-ray-charles/I/m');
const AT = '2026-01-01T00:00:00.000Z';

export type ImageName = 'piano' | 'georgia' | 'logo';

export const CAPTIONS: Record<ImageName | 'poster', string> = {
  piano: 'Ray Charles playing a grand piano on stage',
  georgia: 'Sheet music cover of Georgia on My Mind',
  logo: 'Portrait of the jazz singer Betty Carter',
  poster: 'Film poster of The Blues Brothers with Ray Charles in the cast',
};

const FILES: Record<ImageName | 'poster', string> = {
  piano: 'Baby_Grand_Billy_Joel.jpg',
  georgia: 'Americathebeautiful.jpg',
  logo: 'Betty_Carter.jpg',
  poster: 'Bluesbrothersmovieposter.jpg',
};

export const QUERIES = {
  piano: { id: 'q-piano', query: 'Ray Charles piano' },
  georgia: { id: 'q-georgia', query: 'Georgia on My Mind song' },
  blues: { id: 'q-blues', query: 'Ray Charles piano in The Blues Brothers film' },
} as const;

export const PAGE_ID = 'p-ray';
/** The other query's own page (with `otherQuery`). */
export const OTHER_PAGE_ID = 'p-blues';

export interface RunFixture {
  store: CorpusStore;
  queryId: string;
  imageIds: Record<ImageName, string>;
  /** With `otherQuery`: the Blues Brothers poster, only on the other query's page. */
  posterId?: string;
}

interface PageSpec {
  id: string;
  title: string;
  texts: string[];
  /** The images in placeholder order (k = index), and the chunk each stands in. */
  images: Array<{ name: ImageName | 'poster'; chunk: number }>;
}

const RAY_PAGE: PageSpec = {
  id: PAGE_ID,
  title: 'Ray Charles',
  texts: [
    'Ray Charles was an American singer and pianist. He played the piano from the age of three. <IMAGE_PLACEHOLDER>[0]',
    'Georgia on My Mind became his signature song in 1960 and is the state song of Georgia. <IMAGE_PLACEHOLDER>[1] <IMAGE_PLACEHOLDER>[2]',
    'The weather in the region is mild in the spring, and tourism grew in later decades.',
  ],
  images: [
    { name: 'piano', chunk: 0 },
    { name: 'georgia', chunk: 1 },
    { name: 'logo', chunk: 1 },
  ],
};

// Words the piano query shares, so that only the pool keeps it out of that query's retrieval.
const BLUES_PAGE: PageSpec = {
  id: OTHER_PAGE_ID,
  title: 'The Blues Brothers (film)',
  texts: [
    'In The Blues Brothers film Ray Charles plays the piano as the owner of a music store. <IMAGE_PLACEHOLDER>[0]',
    'The film cast Ray Charles beside the jazz singer Betty Carter on the soundtrack. <IMAGE_PLACEHOLDER>[1]',
  ],
  images: [
    { name: 'poster', chunk: 0 },
    { name: 'logo', chunk: 1 },
  ],
};

async function putPage(batch: StoreBatch, page: PageSpec, queryIds: string[], ids: Map<string, string>): Promise<void> {
  for (const queryId of queryIds) batch.link('query-pages', queryId, page.id);
  const url = `http://mirror/A/${page.title.replace(/ /g, '_')}.html`;
  batch.put('pages', { id: page.id, url, finalUrl: url, fetchedAt: AT, htmlBytes: 10, rendered: false, title: page.title });
  for (const [k, { name }] of page.images.entries()) {
    const bytes = await readFile(path.join(IMAGES, FILES[name]));
    const id = sha256Hex(bytes);
    ids.set(name, id);
    const occId = occurrenceIdOf(page.id, k);
    const imageUrl = `http://mirror/I/m/${FILES[name]}`;
    batch.putBlob(bytes);
    batch.put('images', { id, bytes: bytes.length, mime: 'image/jpeg', firstUrl: imageUrl, fetchedAt: AT, filter: { kept: true, reasons: [], layoutScore: 6 } });
    batch.put('occurrences', { id: occId, kind: 'page', pageId: page.id, index: k, url: imageUrl, imageId: id, attributes: { alt: CAPTIONS[name] }, context: { alt: CAPTIONS[name] } });
    batch.link('page-occurrences', page.id, occId);
    batch.link('image-occurrences', id, occId);
    batch.put('descriptions', {
      id: stableId(id, occId, 'vision-model', 'stand-in'),
      imageId: id,
      occurrenceId: occId,
      status: 'ok',
      text: CAPTIONS[name],
      method: 'vision-model',
      provenance: { provider: 'openai-compatible', model: 'stand-in', inputHash: 'h', at: AT },
    });
  }
  page.texts.forEach((text, i) => {
    const id = chunkIdOf(page.id, i);
    const here = page.images.flatMap((image, k) => (image.chunk === i ? [k] : []));
    batch.put('chunks', { id, pageId: page.id, index: i, text, occurrenceIds: here.map((k) => occurrenceIdOf(page.id, k)), imageIds: here.map((k) => ids.get(page.images[k]!.name)!) });
    batch.link('page-chunks', page.id, id);
  });
}

/** The fixture store in `dir`; with `bothQueries`, the Georgia query is on the same page too; with `otherQuery`, the Blues Brothers query on its own page. */
export async function buildRunFixture(dir: string, options: { bothQueries?: boolean; otherQuery?: boolean } = {}): Promise<RunFixture> {
  const store = await CorpusStore.open(path.join(dir, 'store'));
  const onRay = options.bothQueries ? [QUERIES.piano, QUERIES.georgia] : [QUERIES.piano];
  const batch = store.batch();
  for (const query of [...onRay, ...(options.otherQuery ? [QUERIES.blues] : [])]) batch.put('queries', { ...query, createdAt: AT });
  const ids = new Map<string, string>();
  await putPage(batch, RAY_PAGE, onRay.map((q) => q.id), ids);
  if (options.otherQuery) await putPage(batch, BLUES_PAGE, [QUERIES.blues.id], ids);
  await batch.write();
  const imageIds = { piano: ids.get('piano')!, georgia: ids.get('georgia')!, logo: ids.get('logo')! };
  return { store, queryId: QUERIES.piano.id, imageIds, ...(options.otherQuery ? { posterId: ids.get('poster')! } : {}) };
}

/**
 * The rubric replies `scoreRunFixture` scripts: for the Ray Charles queries chunk 0 scores 9,
 * chunk 1 7, the weather chunk 2 (dropped, under the threshold of 3); the piano 9, the sheet music 8,
 * the portrait 2 (dropped). For the Blues Brothers query both chunks score 8, the poster 8 and the
 * portrait 9: the shared portrait is kept for that query only.
 */
function rubricReply(request: RecordedRequest) {
  const { text } = userContent(request);
  const blues = text.includes(`Query: ${QUERIES.blues.query}`);
  const subject = subjectOf(request);
  if (subject !== 'text') return chatReply(`Score: ${{ piano: 9, georgia: 8, logo: blues ? 9 : 2, poster: 8 }[subject]}`);
  if (blues) return chatReply('Score: 8');
  if (text.includes('weather')) return chatReply('Unrelated. 2');
  return chatReply(text.includes('signature song') ? 'Score: 7' : 'Score: 9');
}

/** Runs the real score stage over the fixture, its LLM and vision model at a stand-in of its own. */
export async function scoreRunFixture(t: TestContext, fixture: RunFixture): Promise<void> {
  const server = await startOpenAiServer({ chat: rubricReply });
  try {
    const config = standInConfig(server.url);
    const report = await runStage(createScoreStage(), fixture.store, { services: servicesFor(t, config, fixture.store), config });
    if (report.failed > 0 || report.queries === 0) throw new Error(`fixture: the score stage did not score every query: ${JSON.stringify(report)}`);
  } finally {
    await server.close();
  }
}

/** Every model (LLM and vision) at the stand-in, no retries, no cache: each call reaches the server. */
export function standInConfig(url: string, extra: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse({ models: { llmUrl: url, llmModel: 'stand-in', visionUrl: url, visionModel: 'stand-in-vl', maxRetries: 0, cache: false }, ...extra });
}

/** Which of the fixture's images a vision request shows, from its caption in the prompt. */
export function subjectOf(request: RecordedRequest): ImageName | 'poster' | 'text' {
  const { text, images } = userContent(request);
  if (images.length === 0) return 'text';
  if (text.includes('grand piano')) return 'piano';
  if (text.includes('Sheet music cover')) return 'georgia';
  if (text.includes('Film poster')) return 'poster';
  return 'logo';
}

/**
 * The usual start of a generation test: the fixture, scored by the real score stage, and a local
 * stand-in for an OpenAI-compatible server answering with `chat`, with the config and model services
 * pointed at it. Everything is closed when the test ends.
 */
export async function scoredFixtureWithStandIn(t: TestContext, chat: Script, options?: Parameters<typeof buildRunFixture>[1]) {
  const fixture = await buildRunFixture(await tempDir(t), options);
  t.after(() => fixture.store.close());
  await scoreRunFixture(t, fixture);
  const server = await startOpenAiServer({ chat });
  t.after(() => server.close());
  const config = standInConfig(server.url);
  return { fixture, server, config, services: servicesFor(t, config, fixture.store) };
}
