// A small store for the runner's tests, written as the earlier stages leave it: one page with three
// chunks and three kept, described images (real files of the Wikipedia mirror), and one query on it
// (or two, for resume and shard tests). Plus the config that points every model at the local
// OpenAI-format stand-in (tests/helpers/openai-server.ts), and which image a request is about.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigSchema, type Config } from '../../src/core/config.js';
import { chunkIdOf, CorpusStore, occurrenceIdOf, sha256Hex, stableId } from '../../storage/index.js';
import { CORPORA } from './cli.js';
import { userContent, type RecordedRequest } from './openai-server.js';

const IMAGES = path.join(CORPORA, 'wiki-ray-charles/I/m');
const AT = '2026-01-01T00:00:00.000Z';

export type ImageName = 'piano' | 'georgia' | 'logo';

export const CAPTIONS: Record<ImageName, string> = {
  piano: 'Ray Charles playing a grand piano on stage',
  georgia: 'Sheet music cover of Georgia on My Mind',
  logo: 'Portrait of the jazz singer Betty Carter',
};

export const QUERIES = { piano: { id: 'q-piano', query: 'Ray Charles piano' }, georgia: { id: 'q-georgia', query: 'Georgia on My Mind song' } } as const;

export const PAGE_ID = 'p-ray';

export interface RunFixture {
  store: CorpusStore;
  queryId: string;
  imageIds: Record<ImageName, string>;
}

/** The fixture store in `dir`; with `bothQueries`, the Georgia query is on the same page too. */
export async function buildRunFixture(dir: string, options: { bothQueries?: boolean } = {}): Promise<RunFixture> {
  const store = await CorpusStore.open(path.join(dir, 'store'));
  const files: Record<ImageName, string> = { piano: 'Baby_Grand_Billy_Joel.jpg', georgia: 'Americathebeautiful.jpg', logo: 'Betty_Carter.jpg' };
  const batch = store.batch();
  for (const query of options.bothQueries ? [QUERIES.piano, QUERIES.georgia] : [QUERIES.piano]) {
    batch.put('queries', { ...query, createdAt: AT });
    batch.link('query-pages', query.id, PAGE_ID);
  }
  batch.put('pages', { id: PAGE_ID, url: 'http://mirror/A/Ray_Charles.html', finalUrl: 'http://mirror/A/Ray_Charles.html', fetchedAt: AT, htmlBytes: 10, rendered: false, title: 'Ray Charles' });
  const texts = [
    'Ray Charles was an American singer and pianist. He played the piano from the age of three. <IMAGE_PLACEHOLDER>[0]',
    'Georgia on My Mind became his signature song in 1960 and is the state song of Georgia. <IMAGE_PLACEHOLDER>[1]',
    'The weather in the region is mild in the spring, and tourism grew in later decades.',
  ];
  const imageIds = {} as RunFixture['imageIds'];
  let k = 0;
  for (const [name, file] of Object.entries(files) as Array<[ImageName, string]>) {
    const bytes = await readFile(path.join(IMAGES, file));
    const id = sha256Hex(bytes);
    imageIds[name] = id;
    const occId = occurrenceIdOf(PAGE_ID, k);
    batch.putBlob(bytes);
    batch.put('images', { id, bytes: bytes.length, mime: 'image/jpeg', firstUrl: `http://mirror/I/m/${file}`, fetchedAt: AT, filter: { kept: true, reasons: [], layoutScore: 6 } });
    batch.put('occurrences', { id: occId, kind: 'page', pageId: PAGE_ID, index: k, url: `http://mirror/I/m/${file}`, imageId: id, attributes: { alt: CAPTIONS[name] }, context: { alt: CAPTIONS[name] } });
    batch.link('page-occurrences', PAGE_ID, occId);
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
    k++;
  }
  texts.forEach((text, i) => {
    const id = chunkIdOf(PAGE_ID, i);
    const occ = i < 2 ? [occurrenceIdOf(PAGE_ID, i)] : [];
    batch.put('chunks', { id, pageId: PAGE_ID, index: i, text, occurrenceIds: occ, imageIds: i < 2 ? [Object.values(imageIds)[i]!] : [] });
    batch.link('page-chunks', PAGE_ID, id);
  });
  await batch.write();
  return { store, queryId: QUERIES.piano.id, imageIds };
}

/** Every model (LLM and vision) at the stand-in, no retries, no cache: each call reaches the server. */
export function standInConfig(url: string, extra: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse({ models: { llmUrl: url, llmModel: 'stand-in', visionUrl: url, visionModel: 'stand-in-vl', maxRetries: 0, cache: false }, ...extra });
}

/** Which of the fixture's images a vision request shows, from its caption in the prompt. */
export function subjectOf(request: RecordedRequest): ImageName | 'text' {
  const { text, images } = userContent(request);
  if (images.length === 0) return 'text';
  if (text.includes('grand piano')) return 'piano';
  if (text.includes('Sheet music cover')) return 'georgia';
  return 'logo';
}
