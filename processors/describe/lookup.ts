// Description ids and lookups. Ids start with the image id, so all descriptions of an image are one
// prefix scan away, and are stable in (image, occurrence, method, model): re-running adds nothing.
import { stableId, type CorpusStore, type Description } from '../../storage/index.js';

export function descriptionIdOf(imageId: string, occurrenceId: string | undefined, method: string, model: string): string {
  return `${imageId}:${stableId(imageId, occurrenceId ?? '', method, model)}`;
}

export async function descriptionsOf(store: CorpusStore, imageId: string): Promise<Description[]> {
  const found: Description[] = [];
  for await (const description of store.iterate('descriptions', { prefix: imageId + ':' })) found.push(description);
  return found;
}

/**
 * The description to use for an image (optionally as it appears at one occurrence): a successful
 * vision-model description before a context-template one, the one covering the occurrence first.
 */
export async function bestDescription(store: CorpusStore, imageId: string, occurrenceId?: string): Promise<Description | undefined> {
  const ok = (await descriptionsOf(store, imageId)).filter((d) => d.status === 'ok');
  const rank = (d: Description): number =>
    (d.method === 'vision-model' ? 0 : 2) + (occurrenceId && (d.occurrenceIds ?? [d.occurrenceId]).includes(occurrenceId) ? 0 : 1);
  return ok.sort((a, b) => rank(a) - rank(b))[0];
}
