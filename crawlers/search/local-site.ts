// `local`: search over a site the user points at (an intranet, a docs site, an offline mirror).
// The site is crawled once from `--site` by a Crawlee crawler (same origin, HTTP redirects included:
// links, meta-refresh redirects and /sitemap.xml; each page within `crawl.limits`), and its pages and
// images are indexed with BM25 — pages by title and text, images by alt, title, caption and the
// text around them. The crawled index is cached as JSON in
// `<store>/local-search/`, so later runs on the same store answer at once; delete that file to re-index.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CheerioCrawler, Configuration, NonRetryableError, RequestQueue } from '@crawlee/cheerio';
import type { Cheerio, CheerioAPI } from 'cheerio';
import type { Element } from 'domhandler';
import { z } from 'zod';
import { StageFailedError } from '../../src/core/errors.js';
import { log } from '../../src/core/feedback.js';
import { Bm25Index } from '../../src/core/text/bm25.js';
import { stableId, type Query } from '../../storage/index.js';
import { findPageImages, OCCURRENCE_ATTRIBUTE, resolveHttpUrl } from '../../src/core/markup/page-images.js';
import { metaRefreshTarget } from '../fetch/html.js';
import { checkPage, type PageLimits } from '../fetch/page-limits.js';
import type { RobotsCache } from '../net/robots.js';
import { SafeCrawleeHttpClient } from '../net/crawlee-http-client.js';
import type { SafeFetchOptions } from '../net/safe-http.js';
import { failureOf } from '../fetch/failure.js';
import { RefusedUrlError } from '../net/url-policy.js';
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
  limits: PageLimits;
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

/** What the crawl of a site found: its pages with their images, and every URL not indexed with its reason. */
class SiteFindings {
  readonly pages: IndexedPage[] = [];
  readonly failures: SiteIndexFile['failures'] = [];

  constructor(private readonly limits: PageLimits) {}

  /** Indexes one page with the text around each of its images. */
  add($: CheerioAPI, pageUrl: string): void {
    const title = clean($('title').first().text()) || clean($('h1').first().text()) || pageUrl;
    const images = this.imagesOf($, pageUrl, title);
    $('script, style, noscript').remove();
    this.pages.push({ page: { url: pageUrl, title, text: clean($('body').text()).slice(0, TEXT_CAP) }, images });
  }

  /** The text around every use of an image on the page (alt, title, caption, the block it sits in, the page title). */
  private imagesOf($: CheerioAPI, pageUrl: string, title: string): IndexedPage['images'] {
    const { images } = findPageImages($, pageUrl, this.limits);
    // Every marked image in one pass: a selector per image would search the page once per image.
    const marked = new Map<string, Cheerio<Element>>();
    $(`img[${OCCURRENCE_ATTRIBUTE}]`).each((_, img) => void marked.set(img.attribs[OCCURRENCE_ATTRIBUTE]!, $(img)));
    return images.map((image) => {
      const img = marked.get(String(image.index)) ?? $([]);
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
function buildIndex(site: string, found: SiteFindings): SiteIndexFile {
  const byUrl = new Map<string, IndexedPage>();
  for (const indexed of [...found.pages].sort((a, b) => (a.page.url < b.page.url ? -1 : a.page.url > b.page.url ? 1 : 0))) {
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
  const failures = [...found.failures].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  return { site, builtAt: new Date().toISOString(), pages: [...byUrl.values()].map((p) => p.page), images: [...images.values()], failures };
}

const SITEMAP = 'sitemap';
const MAX_SITEMAP_DEPTH = 2;

/**
 * Crawls the site with Crawlee within its origin: from the entry page and /sitemap.xml (and the
 * sitemaps it nests), following same-origin links and meta-refresh redirects, at most `maxPages`
 * requests, every one through our safe HTTP client, which refuses a redirect off the origin.
 */
export async function crawlSite(site: string, options: LocalSiteOptions): Promise<SiteIndexFile> {
  const origin = new URL(site).origin;
  const found = new SiteFindings(options.limits);
  const config = new Configuration({ persistStorage: false, purgeOnStart: false });
  const queue = await RequestQueue.open(`site-${stableId(site)}-${process.pid}-${Date.now()}`, { config });
  const onOrigin = (url: string | undefined): url is string => url !== undefined && url.startsWith(origin + '/');
  const crawler = new CheerioCrawler(
    {
      requestQueue: queue,
      maxConcurrency: options.concurrency,
      maxRequestsPerCrawl: options.maxPages + 1 + MAX_SITEMAP_DEPTH,
      maxRequestRetries: 1,
      useSessionPool: false,
      persistCookiesPerSession: false,
      navigationTimeoutSecs: options.fetch.timeoutMs / 1000 + 5,
      httpClient: new SafeCrawleeHttpClient({ ...options.fetch, onRedirect: (_from, to) => refuseOffOrigin(origin, to) }),
      additionalMimeTypes: ['application/xhtml+xml'],
      preNavigationHooks: [
        async ({ request }) => {
          if (request.label !== SITEMAP && options.robots && !(await options.robots.isAllowed(request.url))) throw new NonRetryableError('robots-disallowed');
        },
      ],
      errorHandler: ({ request }, error) => {
        if (!failureOf(error).retryable) request.noRetry = true;
      },
      failedRequestHandler: ({ request }, error) => {
        if (request.label !== SITEMAP) found.failures.push({ url: request.url, reason: error instanceof NonRetryableError ? error.message : failureOf(error).reason });
      },
      requestHandler: async ({ request, response, $, body, addRequests }) => {
        const page = $ as unknown as CheerioAPI;
        if (request.label === SITEMAP) {
          if (response.statusCode !== 200) return;
          const depth = (request.userData as { depth: number }).depth;
          const nested = page('sitemapindex > sitemap > loc').map((_, el) => page(el).text().trim()).get().filter(onOrigin);
          if (depth < MAX_SITEMAP_DEPTH) await addRequests(nested.map((url) => ({ url, label: SITEMAP, userData: { depth: depth + 1 } })));
          await addRequests(page('urlset > url > loc').map((_, el) => page(el).text().trim()).get().filter(onOrigin));
          return;
        }
        const pageUrl = request.loadedUrl ?? request.url;
        if (response.statusCode !== 200) {
          found.failures.push({ url: request.url, reason: `http-${response.statusCode}` });
          return;
        }
        const check = checkPage(page, typeof body === 'string' ? body : body.toString('utf8'), options.limits);
        if (check.skip !== undefined) {
          found.failures.push({ url: request.url, reason: check.skip });
          return;
        }
        // A meta-refresh stub only leads on to its target; any other page leads on to its links and is indexed.
        const refresh = metaRefreshTarget(check.head.refresh, pageUrl);
        if (refresh) {
          if (onOrigin(refresh)) await addRequests([refresh]);
          return;
        }
        const links = page('a[href]').map((_, a) => resolveHttpUrl(page(a).attr('href')!, pageUrl)).get().filter(onOrigin);
        await addRequests(links);
        found.add(page, pageUrl);
      },
    },
    config,
  );
  try {
    await crawler.run([site, { url: `${origin}/sitemap.xml`, label: SITEMAP, userData: { depth: 0 } }]);
  } finally {
    await queue.drop();
  }
  return buildIndex(site, found);
}

function refuseOffOrigin(origin: string, to: URL): void {
  if (to.origin !== origin) throw new RefusedUrlError(to.href, `redirect off the site origin ${origin}`);
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
