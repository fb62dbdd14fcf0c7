// The `--render` crawler: Crawlee's PlaywrightCrawler on the system Chromium, with the same queue,
// retries and per-page logic as the HTTP crawler, and our address policy on every request the
// browser routes (redirect hops inside the browser are checked after the fact).
import { PlaywrightCrawler } from '@crawlee/playwright';
import type { Configuration, Request } from '@crawlee/core';
import { chromium, type Route } from 'playwright-core';
import type { UrlPolicy } from '../net/url-policy.js';
import { CHROMIUM_ARGS } from './chromium.js';
import type { FetchedPage, PageRequestData } from './fetched-page.js';

export function createBrowserCrawler(
  common: Record<string, unknown>,
  env: { policy: UrlPolicy; chromiumPath?: string; crawleeConfig: Configuration },
  handle: (page: FetchedPage) => Promise<void>,
): PlaywrightCrawler {
  const { policy } = env;
  return new PlaywrightCrawler(
    {
      ...common,
      launchContext: {
        launcher: chromium,
        launchOptions: { executablePath: env.chromiumPath, args: CHROMIUM_ARGS, headless: true },
      },
      browserPoolOptions: { useFingerprints: false },
      preNavigationHooks: [
        async ({ request, page }) => {
          await policy.checkResolved(request.url);
          // The crawler fetches images itself; inside the browser only what builds the DOM loads,
          // and never from a refused address.
          await page.route('**/*', async (route: Route) => {
            const target = route.request();
            if (['image', 'media', 'font'].includes(target.resourceType())) return route.abort();
            try {
              await policy.checkResolved(target.url());
            } catch {
              return route.abort('blockedbyclient');
            }
            return route.continue();
          });
        },
      ],
      requestHandler: async ({ request, response, page, addRequests }) => {
        await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined);
        await policy.checkResolved(page.url());
        const html = await page.content();
        await handle({
          request: request as Request<PageRequestData>,
          status: response?.status() ?? 0,
          finalUrl: page.url(),
          contentType: (response?.headers()['content-type'] ?? 'text/html').split(';')[0]!.trim(),
          body: html,
          rendered: true,
          attempts: request.retryCount + 1,
          enqueue: async (next) => void (await addRequests([next])),
        });
      },
    },
    env.crawleeConfig,
  );
}
