// `m2rag refresh`: one new store version. In order, each step durable before the next: the first
// refresh freezes the store as it stood as version 1; the version opens as `pending` (with the
// pages known and the pages to check); every page is refetched and, when changed or gone, rewritten
// in its own atomic batch that also clears its queries' later-stage markers; `--search-again` adds
// the hits that now rank and the crawl stage fetches them; the pages it brought are recorded as
// new; process, describe and score redo only the queries whose markers were cleared (unchanged
// elements reuse their stored results and cached model replies: no model call); last, the version
// record lands with its counts and its frozen dataset. Run again after a kill, it resumes the
// pending version and ends as an uninterrupted run would.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import type { Config } from '../../core/config.js';
import { startProgress } from '../../core/feedback.js';
import { StageCounts } from '../../core/stage.js';
import type { ModelServices } from '../../models/services.js';
import { runBuildSteps, runStages } from '../pipeline.js';
import { refreshFetchOptions } from '../../../crawlers/refresh/refetch.js';
import { openSearchAgain, searchAgain } from '../../../crawlers/refresh/search-again.js';
import { exportDataset } from '../../../storage/export/index.js';
import { changeIdOf, freezeFolder, getVersion, latestVersion, versionIdOf, WHOLE, type CorpusStore, type Page, type StoreVersion } from '../../../storage/index.js';
import { ImageCheck } from './image-check.js';
import { refreshPage, type PageRefreshEnv } from './page-refresh.js';
import { tallyVersion, type RefreshTally } from './tally.js';

export interface RefreshOptions {
  /** Only the pages of these queries (`--queries`); all when unset. */
  queryIds?: ReadonlySet<string>;
  /** Only pages fetched longer ago than this (`--older-than`). */
  olderThanMs?: number;
  searchAgain: boolean;
}

export interface RefreshSummary extends RefreshTally {
  version: number;
  notModified: number;
  modelCalls: number;
  failed: Record<string, number>;
}

/** The dataset as `m2rag export` (M2RAG format, default options) writes it now, frozen into blobs. */
async function frozenDataset(store: CorpusStore, config: Config, batch: ReturnType<CorpusStore['batch']>): Promise<Pick<StoreVersion, 'dataset' | 'datasetWarning'>> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'm2rag-version-'));
  try {
    await exportDataset(store, { format: 'm2rag', outDir: dir, sharegptMinMetric: config.run.sharegptMinMetric, settings: {} });
    return { dataset: await freezeFolder(dir, batch) };
  } catch (error) {
    return { datasetWarning: `export failed: ${(error as Error).message}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Requests that reached a model endpoint (the cache answered the others). */
function modelCallsMade(services: ModelServices): number {
  const calls = services.modelCalls?.();
  return calls ? calls.requests - (calls.cached ?? 0) : 0;
}

async function queriesByPage(store: CorpusStore): Promise<Map<string, string[]>> {
  const byPage = new Map<string, string[]>();
  for await (const [queryId, pageId] of store.links('query-pages')) byPage.set(pageId, [...(byPage.get(pageId) ?? []), queryId]);
  return byPage;
}

/** Opens (or resumes) the pending version after the latest, freezing the store as version 1 first when it has none. */
async function openVersion(store: CorpusStore, config: Config, options: RefreshOptions, queriesOf: Map<string, string[]>): Promise<StoreVersion> {
  let latest = await latestVersion(store);
  if (!latest) {
    const batch = store.batch();
    latest = { id: versionIdOf(1), number: 1, status: 'done', at: new Date().toISOString(), ...(await frozenDataset(store, config, batch)) };
    await batch.put('versions', latest).write();
  }
  const number = latest.number + 1;
  const resumed = await getVersion(store, number);
  if (resumed) return resumed;
  const knownPageIds: string[] = [];
  const checkPageIds: string[] = [];
  const cutoff = options.olderThanMs === undefined ? undefined : Date.now() - options.olderThanMs;
  for await (const page of store.iterate('pages')) {
    knownPageIds.push(page.id);
    if (page.removed) continue;
    if (options.queryIds && !(queriesOf.get(page.id) ?? []).some((q) => options.queryIds!.has(q))) continue;
    if (cutoff !== undefined && Date.parse(page.fetchedAt) > cutoff) continue;
    checkPageIds.push(page.id);
  }
  const pending: StoreVersion = { id: versionIdOf(number), number, status: 'pending', at: new Date().toISOString(), knownPageIds, checkPageIds };
  await store.put('versions', pending);
  return pending;
}

export async function runRefresh(store: CorpusStore, config: Config, services: ModelServices, options: RefreshOptions): Promise<RefreshSummary> {
  const callsBefore = modelCallsMade(services);
  let queriesOf = await queriesByPage(store);
  const pending = await openVersion(store, config, options, queriesOf);
  const version = pending.number;
  const images = new ImageCheck(store, refreshFetchOptions(config.crawl, 'image'));
  const env: PageRefreshEnv = { store, config, version, fetchOptions: refreshFetchOptions(config.crawl, 'page'), images, queriesOf };
  const counts: Record<string, number> = {};
  const progress = startProgress('refresh', pending.checkPageIds?.length ?? 0);
  const limit = pLimit(config.crawl.concurrency);
  const pages = await store.getMany('pages', pending.checkPageIds ?? []);
  // A page a killed run already marked removed is settled; every other one is asked again.
  await Promise.all(
    pages.map((page) =>
      limit(async () => {
        if (page && !page.removed) await refreshPage(env, page, counts);
        progress.tick();
      }),
    ),
  );
  progress.done({ counts });

  if (options.searchAgain) {
    const provider = await openSearchAgain(config.crawl, path.join(store.dir, 'refresh', versionIdOf(version)));
    const searchCounts = new StageCounts();
    for await (const query of store.iterate('queries')) {
      if (options.queryIds && !options.queryIds.has(query.id)) continue;
      await searchAgain(store, query, provider, config.crawl, searchCounts);
    }
    const { CrawlStage } = await import('../../../crawlers/crawl-stage.js');
    await runStages(store, config, [new CrawlStage()], { shard: WHOLE, force: false, services });
    queriesOf = await queriesByPage(store);
  }
  await recordNewPages(store, pending, queriesOf);
  await runBuildSteps(store, config, ['process', 'describe', 'score'], { shard: WHOLE, force: false, services });

  const tally = await tallyVersion(store, pending);
  const modelCalls = modelCallsMade(services) - callsBefore;
  const notModified = (counts.notModified ?? 0) + images.notModified;
  const batch = store.batch();
  const frozen = await frozenDataset(store, config, batch);
  const { knownPageIds: _known, checkPageIds: _check, ...rest } = pending;
  await batch.put('versions', { ...rest, status: 'done', at: new Date().toISOString(), ...tally, notModified, modelCalls, ...frozen }).write();
  const failed = Object.fromEntries(Object.entries(counts).filter(([key]) => key.startsWith('failed:')));
  return { version, ...tally, notModified, modelCalls, failed };
}

/** Pages linked to a query now that the version did not know when it began: new (their text is in once processed). */
async function recordNewPages(store: CorpusStore, pending: StoreVersion, queriesOf: Map<string, string[]>): Promise<void> {
  const known = new Set(pending.knownPageIds ?? []);
  const batch = store.batch();
  const fresh = (await store.getMany('pages', [...queriesOf.keys()].filter((id) => !known.has(id)).sort())).filter((p): p is Page => p !== undefined);
  for (const page of fresh) batch.put('changes', { id: changeIdOf(pending.number, 'page', page.url), version: pending.number, kind: 'page', label: 'new', url: page.url, pageId: page.id });
  await batch.write();
}
