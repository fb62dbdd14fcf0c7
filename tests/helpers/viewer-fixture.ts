// A small store for the viewer's and `m2rag show`'s tests: the runner's fixture (one Wikipedia
// page, three chunks, three kept and described images, two queries) plus what the later stages
// leave: a score per chunk and image (one chunk dropped), one answer citing an image, and its eval
// result. Its third chunk carries a crawled page's hostile markup, to show none of it runs.
import { buildRunFixture, PAGE_ID, QUERIES, type RunFixture } from './run-fixture.js';
import { chunkIdOf, descriptionIdOf, evalResultIdOf, generationIdOf, scoreIdOf } from '../../storage/index.js';

const AT = '2026-01-01T00:00:00.000Z';
const PROVENANCE = { provider: 'openai-compatible', model: 'stand-in', inputHash: 'h', at: AT };

/** What the hostile chunk carried: each would call `window.m2ragHook(<what>)` if it ever ran. */
export const HOSTILE_MARKUP =
  'Tourism grew in later decades. <script>window.m2ragHook("script")</script>' +
  '<img src="/no-such-image.png" onerror="window.m2ragHook(\'onerror\')"> <a href="javascript:window.m2ragHook(\'link\')">more</a>';

export const ANSWER = 'Ray Charles played the piano from the age of three.\n\n![Ray Charles at a grand piano](images/1.jpg)\n\nHe became famous for *Georgia on My Mind*.';

export interface ViewerFixture extends RunFixture {
  generationId: string;
}

export async function buildViewerFixture(dir: string): Promise<ViewerFixture> {
  const fixture = await buildRunFixture(dir, { bothQueries: true });
  const { store, queryId, imageIds } = fixture;
  const batch = store.batch();
  // Descriptions under the store's id scheme (image id first), as the describe stage writes them.
  for await (const description of store.iterate('descriptions')) {
    batch.del('descriptions', description.id);
    batch.put('descriptions', { ...description, id: descriptionIdOf(description.imageId, description.occurrenceId, description.method, description.provenance.model) });
  }
  // A level, as query intake or an imported dev set leaves it, for the list and the query page to show.
  batch.put('queries', { ...(await store.get('queries', queryId))!, level: 2 });
  const hostile = chunkIdOf(PAGE_ID, 2);
  const chunk = (await store.get('chunks', hostile))!;
  batch.put('chunks', { ...chunk, text: HOSTILE_MARKUP });
  const chunkScores = [9, 7, 2];
  chunkScores.forEach((score, i) => {
    const elementId = chunkIdOf(PAGE_ID, i);
    batch.put('scores', { id: scoreIdOf(queryId, 'chunk', elementId), queryId, elementKind: 'chunk', elementId, status: 'ok', components: { llm: score }, finalScore: score, kept: score >= 5, method: 'llm', provenance: PROVENANCE });
  });
  const imageScores = { piano: 9, georgia: 8, logo: 3 } as const;
  for (const [name, score] of Object.entries(imageScores) as Array<[keyof typeof imageScores, number]>) {
    const elementId = imageIds[name];
    batch.put('scores', { id: scoreIdOf(queryId, 'image', elementId), queryId, elementKind: 'image', elementId, status: 'ok', components: { llm: score }, finalScore: score, kept: score >= 5, method: 'llm', provenance: PROVENANCE });
  }
  const generationId = generationIdOf(queryId, 'single', 'm2rag');
  batch.put('generations', {
    id: generationId,
    queryId,
    strategy: 'single',
    method: 'm2rag',
    status: 'ok',
    inputs: { chunkIds: [chunkIdOf(PAGE_ID, 0), chunkIdOf(PAGE_ID, 1)], imageIds: [imageIds.piano, imageIds.georgia] },
    output: ANSWER,
    citedImageIds: [imageIds.piano],
    usage: { promptTokens: 120, completionTokens: 40 },
    latencyMs: 5,
    provenance: PROVENANCE,
  });
  batch.put('evalResults', { id: evalResultIdOf(generationId, 'stand-in'), queryId, generationId, metrics: { fluency: 0.8, faithfulness: 1 }, failed: {}, method: 'llm-judge', provenance: PROVENANCE });
  await batch.write();
  return { ...fixture, generationId };
}

export { QUERIES };
