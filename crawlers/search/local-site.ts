// `local`: search over a site the user points at (an intranet, a docs site, an offline mirror).
// The site is crawled once from `--site` (same origin: links, meta-refresh redirects and
// /sitemap.xml), and its pages and images are indexed with BM25 — pages by title and text, images
// by alt, title, caption and the text around them. The crawled index is cached as JSON in
// `<store>/local-search/`, so later runs on the same store answer at once; delete that file to re-index.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as cheerio from 'cheerio';
import pLimit from 'p-limit';
import { z } from 'zod';
import { StageFailedError } from '../../src/core/errors.js';
import { log } from '../../src/core/feedback.js';
import { Bm25Index } from '../../src/core/text/bm25.js';
import { stableId, type Query } from '../../storage/index.js';
import { findPageImages, OCCURRENCE_ATTRIBUTE, resolveHttpUrl } from '../../src/core/markup/page-images.js';
import { metaRefreshTarget } from '../fetch/html.js';
import type { RobotsCache } from '../net/robots.js';
import { readBody, safeFetch, type SafeFetchOptions } from '../net/safe-http.js';
import type { SearchKind, SearchProvider, SearchResult } from './types.js';

const SiteIndexFile = z.object({
  site: z.string(),
  builtAt: z.string(),
  pages: z.array(z.object({ url: z.string(), title: z.string(), text: z.string() })),
  images: z.array(z.object({ url: z.string(), sourcePageUrl: z.string(), title: z.string(), text: z.string() })),
  failures: z.array(z.object({ url: z.string(), reason: z.string() })),
});
type SiteIndexFile = z.infer<typeof SiteIndexFile>;

export interface LocalSiteOptions {
  fetch: SafeFetchOptions;
  robots?: RobotsCache;
  maxPages: number;
  concurrency: number;
}

const TEXT_CAP = 50_000;
const IMAGE_TEXT_CAP = 2_000;

function clean(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** What one indexed page contributes: its own entry and the text around each image it uses. */
interface IndexedPage {
  page: SiteIndexFile['pages'][number];
  images: Array<{ url: string; title: string; text: string }>;
}

/** One crawl of the site: what it found so far and the pages still to visit. */
class SiteCrawl {
  readonly queue: string[] = [];
  readonly pages: IndexedPage[] = [];
  readonly failures: SiteIndexFile['failures'] = [];
  private readonly origin: string;
  private readonly seen = new Set<string>();

  constructor(
    site: string,
    private readonly options: LocalSiteOptions,
  ) {
    this.origin = new URL(site).origin;
  }

  /** Queues a link once, when it stays within the origin and the page budget. */
  enqueue(raw: string, base: string): void {
    const url = resolveHttpUrl(raw, base);
    if (!url || !url.startsWith(this.origin + '/') || this.seen.has(url) || this.seen.size >= this.options.maxPages) return;
    this.seen.add(url);
    this.queue.push(url);
  }

  /** Fetches one page and indexes it with its images; every page that is not indexed is a failure with its reason. */
  async visit(url: string): Promise<void> {
    try {
      if (this.options.robots && !(await this.options.robots.isAllowed(url))) {
        this.failures.push({ url, reason: 'robots-disallowed' });
        return;
      }
      const response = await safeFetch(url, this.options.fetch);
      const type = String(response.headers['content-type'] ?? '');
      if (response.statusCode !== 200 || !/html/i.test(type)) {
        response.body.destroy();
        this.failures.push({ url, reason: response.statusCode !== 200 ? `http-${response.statusCode}` : `not-html: ${type}` });
        return;
      }
      const html = (await readBody(response.body)).toString('utf8');
      this.indexPage(cheerio.load(html), response.url);
    } catch (error) {
      this.failures.push({ url, reason: (error as Error).message });
    }
  }

  /** A meta-refresh stub only queues its target; any other page queues its links and is indexed with its images. */
  private indexPage($: cheerio.CheerioAPI, pageUrl: string): void {
    const refresh = metaRefreshTarget($, pageUrl);
    if (refresh) {
      this.enqueue(refresh, pageUrl);
      return;
    }
    $('a[href]').each((_, a) => this.enqueue($(a).attr('href')!, pageUrl));
    const title = clean($('title').first().text()) || clean($('h1').first().text()) || pageUrl;
    const images = this.imagesOf($, pageUrl, title);
    $('script, style, noscript').remove();
    this.pages.push({ page: { url: pageUrl, title, text: clean($('body').text()).slice(0, TEXT_CAP) }, images });
  }

  /** The text around every use of an image on the page (alt, title, caption, the block it sits in, the page title). */
  private imagesOf($: cheerio.CheerioAPI, pageUrl: string, title: string): IndexedPage['images'] {
    return findPageImages($, pageUrl).images.map((image) => {
      const img = $(`img[${OCCURRENCE_ATTRIBUTE}="${image.index}"]`);
      const around = clean(img.closest('figure, .thumb, .thumbinner, p, li, td, div').first().text()).slice(0, 500);
      const text = clean([image.attributes.alt, image.attributes.title, image.attributes.figcaption, around, title].filter(Boolean).join(' '));
      return { url: image.url, title: image.attributes.alt || title, text };
    });
  }
}

/**
 * The index from what the crawl found, independent of the order pages arrived in: pages sorted by
 * URL (one entry per URL, for pages reached twice through redirects), and each image once, its text
 * accumulated over its uses in page-URL order before the cap.
 */
function buildIndex(site: string, crawl: SiteCrawl): SiteIndexFile {
  const byUrl = new Map<string, IndexedPage>();
  for (const indexed of [...crawl.pages].sort((a, b) => (a.page.url < b.page.url ? -1 : a.page.url > b.page.url ? 1 : 0))) {
    if (!byUrl.has(indexed.page.url)) byUrl.set(indexed.page.url, indexed);
  }
  const images = new Map<string, SiteIndexFile['images'][number]>();
  for (const { page, images: uses } of byUrl.values()) {
    for (const use of uses) {
      const known = images.get(use.url);
      if (known) known.text = (known.text + ' ' + use.text).slice(0, IMAGE_TEXT_CAP);
      else images.set(use.url, { url: use.url, sourcePageUrl: page.url, title: use.title, text: use.text.slice(0, IMAGE_TEXT_CAP) });
    }
  }
  const failures = [...crawl.failures].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  return { site, builtAt: new Date().toISOString(), pages: [...byUrl.values()].map((p) => p.page), images: [...images.values()], failures };
}

/** Crawls the site breadth-first within its origin and returns what the index is built from. */
export async function crawlSite(site: string, options: LocalSiteOptions): Promise<SiteIndexFile> {
  const origin = new URL(site).origin;
  const crawl = new SiteCrawl(site, options);
  crawl.enqueue(site, site);
  await addSitemap(origin, options, (url) => crawl.enqueue(url, origin));
  const limit = pLimit(options.concurrency);
  while (crawl.queue.length > 0) {
    const batch = crawl.queue.splice(0, crawl.queue.length);
    await Promise.all(batch.map((url) => limit(() => crawl.visit(url))));
  }
  return buildIndex(site, crawl);
}

async function addSitemap(origin: string, options: LocalSiteOptions, add: (url: string) => void, url = `${origin}/sitemap.xml`, depth = 0): Promise<void> {
  try {
    const response = await safeFetch(url, options.fetch);
    const body = (await readBody(response.body)).toString('utf8');
    if (response.statusCode !== 200) return;
    const $ = cheerio.load(body, { xml: true });
    const nested = $('sitemapindex > sitemap > loc').map((_, el) => $(el).text().trim()).get();
    for (const child of nested) if (depth < 2) await addSitemap(origin, options, add, child, depth + 1);
    $('urlset > url > loc').each((_, el) => add($(el).text().trim()));
  } catch {
    // No sitemap: links alone find the pages.
  }
}

export class LocalSiteSearch implements SearchProvider {
  readonly name = 'local';
  private readonly pageIndex = new Bm25Index();
  private readonly imageIndex = new Bm25Index();

  private constructor(private readonly data: SiteIndexFile) {
    data.pages.forEach((page, i) => this.pageIndex.add(String(i), `${page.title} ${page.title} ${page.text}`));
    data.images.forEach((image, i) => this.imageIndex.add(String(i), image.text));
  }

  /** Loads the cached index of `site` from the store directory, or crawls the site and caches it. */
  static async open(site: string, storeDir: string, options: LocalSiteOptions): Promise<LocalSiteSearch> {
    const file = path.join(storeDir, 'local-search', `${stableId(site)}.json`);
    try {
      const cached = SiteIndexFile.parse(JSON.parse(await readFile(file, 'utf8')));
      if (cached.site === site) return new LocalSiteSearch(cached);
    } catch {
      // Not built yet (or unreadable): crawl the site.
    }
    const started = Date.now();
    const data = await crawlSite(site, options);
    // An unreachable site is a failed run, never an empty index: nothing is cached, no query is marked done.
    const entryFailure = data.failures.find((failure) => failure.url === site);
    if (entryFailure || data.pages.length === 0) {
      const why = entryFailure ?? data.failures[0];
      throw new StageFailedError(`--site ${site}: the site could not be indexed (${why ? `${why.url}: ${why.reason}` : 'no HTML pages found'}); check the URL and that its server is running`);
    }
    log.info({ site, pages: data.pages.length, images: data.images.length, failures: data.failures.length, seconds: (Date.now() - started) / 1000 }, 'local site indexed');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file + '.tmp', JSON.stringify(data));
    await rename(file + '.tmp', file);
    return new LocalSiteSearch(data);
  }

  async search(query: Query, { kind, limit }: { kind: SearchKind; limit: number }): Promise<SearchResult[]> {
    if (limit === 0) return [];
    if (kind === 'web') {
      return this.pageIndex.search(query.query, limit).map(({ id }) => {
        const page = this.data.pages[Number(id)]!;
        return { url: page.url, title: page.title, snippet: page.text.slice(0, 240) };
      });
    }
    return this.imageIndex.search(query.query, limit).map(({ id }) => {
      const image = this.data.images[Number(id)]!;
      return { url: image.url, title: image.title, snippet: image.text.slice(0, 240), sourcePageUrl: image.sourcePageUrl };
    });
  }
}
