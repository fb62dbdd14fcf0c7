// A refresh's counts, read back from what it stored (its change records, the pages it set out to
// check, the occurrences now), never from one process's memory: a refresh killed and run again
// reports the same counts as one that ran through. Pages are counted once however many queries share them.
import { changesOf, type CorpusStore, type StoreVersion } from '../../../storage/index.js';

export interface RefreshTally {
  pages: { new: number; same: number; changed: number; removed: number };
  images: { same: number; changed: number; added: number; removed: number };
}

async function imageUrlsOf(store: CorpusStore, pageId: string): Promise<string[]> {
  const found = await store.getMany('occurrences', await store.related('page-occurrences', pageId));
  return found.flatMap((o) => (o?.imageId ? [o.url] : []));
}

export async function tallyVersion(store: CorpusStore, pending: StoreVersion): Promise<RefreshTally> {
  const changes = await changesOf(store, pending.number);
  const pageChanges = new Map(changes.filter((c) => c.kind === 'page' && c.pageId).map((c) => [c.pageId!, c]));
  const count = (label: string) => changes.filter((c) => c.kind === 'page' && c.label === label).length;
  const changed = count('changed');
  const removed = count('removed');
  const known = new Set(pending.knownPageIds ?? []);
  const before = new Set<string>();
  const after = new Set<string>();
  for await (const page of store.iterate('pages')) {
    if (page.removed && page.removed.version < pending.number) continue;
    const change = pageChanges.get(page.id);
    const now = page.removed ? [] : await imageUrlsOf(store, page.id);
    for (const url of now) after.add(url);
    if (!known.has(page.id)) continue;
    for (const url of change?.previousImageUrls ?? now) before.add(url);
  }
  const replaced = new Set(changes.filter((c) => c.kind === 'image' && c.label === 'changed').map((c) => c.url));
  const kept = [...after].filter((url) => before.has(url));
  const changedImages = kept.filter((url) => replaced.has(url)).length;
  return {
    pages: { new: count('new'), same: (pending.checkPageIds ?? []).length - changed - removed, changed, removed },
    images: {
      same: kept.length - changedImages,
      changed: changedImages,
      added: [...after].filter((url) => !before.has(url)).length,
      removed: [...before].filter((url) => !after.has(url)).length,
    },
  };
}
