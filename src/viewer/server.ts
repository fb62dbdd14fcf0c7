// `m2rag serve`: a fastify app over the store. Pages are rendered on the server with Eta (escaping
// on by default) and work without JavaScript; the one script file adds sorting, live search and the
// dataset charts. Security: every response carries a strict CSP (scripts only from our own files,
// images only from our own routes), crawled markup is sanitized before it is rendered, blobs are
// served by sha256 alone with their sniffed type, and a rating write needs the session's token.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { Eta } from 'eta';
import { indexStore, listQueries, queryDetail, listRatings } from './data.js';
import { datasetSummary } from './dataset.js';
import { renderAnswer, renderPageMarkdown, sniffRasterType } from './render.js';
import { parseRatings, RATED_METRICS, storeRating } from './ratings.js';
import { StoreBusyError, StoreLease } from './store-lease.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHA256 = /^[0-9a-f]{64}$/;
const SESSION_COOKIE = 'm2rag_session';
const RATER_COOKIE = 'm2rag_rater';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface ViewerOptions {
  storeDir: string;
  /** How long the store stays open after the last request, before a build may take it. */
  idleCloseMs?: number;
}

/** The files the browser loads, each from a fixed path: nothing from the URL reaches the file system. */
function assetFiles(): Record<string, { file: string; type: string }> {
  const require = createRequire(import.meta.url);
  return {
    'viewer.js': { file: path.join(HERE, 'assets/viewer.js'), type: 'text/javascript; charset=utf-8' },
    'viewer.css': { file: path.join(HERE, 'assets/viewer.css'), type: 'text/css; charset=utf-8' },
    // chart.js exports no subpath for its UMD build; it sits beside the CommonJS entry.
    'chart.umd.js': { file: path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js'), type: 'text/javascript; charset=utf-8' },
  };
}

function sessionToken(request: FastifyRequest, reply: FastifyReply): string {
  const existing = request.cookies[SESSION_COOKIE];
  if (existing && /^[0-9a-f]{64}$/.test(existing)) return existing;
  const token = randomBytes(32).toString('hex');
  reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'strict' });
  return token;
}

function tokenMatches(cookieToken: string | undefined, formToken: unknown): boolean {
  if (!cookieToken || typeof formToken !== 'string' || formToken.length !== cookieToken.length) return false;
  return timingSafeEqual(Buffer.from(cookieToken), Buffer.from(formToken));
}

export async function createViewer(options: ViewerOptions): Promise<{ app: FastifyInstance; lease: StoreLease }> {
  const lease = new StoreLease(options.storeDir, options.idleCloseMs);
  const eta = new Eta({ views: path.join(HERE, 'views'), autoEscape: true, cache: true });
  const assets = assetFiles();
  const app = Fastify({ logger: false });
  await app.register(cookie);
  await app.register(formbody);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('Content-Security-Policy', CSP);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    return payload;
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof StoreBusyError) return reply.code(503).type('text/plain; charset=utf-8').send(error.message + '\n');
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    return reply.code(status).type('text/plain; charset=utf-8').send(status >= 500 ? 'internal error\n' : `${(error as Error).message}\n`);
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).type('text/plain; charset=utf-8').send('not found\n'));

  const page = (reply: FastifyReply, view: string, data: Record<string, unknown>) =>
    reply.type('text/html; charset=utf-8').send(eta.render(view, { ...data, readAt: new Date().toISOString(), storeDir: options.storeDir }));

  app.get('/', async (request, reply) => {
    const q = typeof (request.query as { q?: unknown }).q === 'string' ? (request.query as { q: string }).q : '';
    const rows = await lease.use(async (store) => listQueries(store, await indexStore(store)));
    const needle = q.trim().toLowerCase();
    const shown = needle ? rows.filter((r) => `${r.query.query} ${r.query.topic ?? ''} ${r.query.id}`.toLowerCase().includes(needle)) : rows;
    const metricNames = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort();
    return page(reply, 'queries', { title: 'Queries', rows: shown, total: rows.length, q, metricNames });
  });

  app.get<{ Params: { id: string } }>('/query/:id', async (request, reply) => {
    const token = sessionToken(request, reply);
    const found = await lease.use(async (store) => {
      const query = await store.get('queries', request.params.id);
      if (!query) return undefined;
      const detail = await queryDetail(store, await indexStore(store), query);
      const ratings = (await listRatings(store)).filter((r) => r.target.queryId === query.id);
      return { detail, ratings };
    });
    if (!found) return reply.code(404).type('text/plain; charset=utf-8').send('no such query\n');
    const { detail, ratings } = found;
    const pages = detail.pages.map((view) => {
      const at = new Map(view.occurrences.map((o) => [o.index, o.imageId]));
      return { ...view, html: renderPageMarkdown(view.page.markdown ?? '', (k) => at.get(k)), chunkHtml: view.chunks.map((c) => renderPageMarkdown(c.chunk.text, (k) => at.get(k))) };
    });
    const answers = detail.answers.map((a) => ({ ...a, html: renderAnswer(a.generation.output, a.generation.inputs.imageIds) }));
    return page(reply, 'query', {
      title: detail.query.query,
      detail,
      pages,
      answers,
      ratings,
      metrics: RATED_METRICS,
      token,
      rater: request.cookies[RATER_COOKIE] ?? '',
    });
  });

  app.get('/dataset', async (_request, reply) => page(reply, 'dataset', { title: 'Dataset' }));
  app.get('/dataset.json', async () => lease.use((store) => datasetSummary(store)));

  app.get('/ratings.jsonl', async (_request, reply) => {
    const ratings = await lease.use((store) => listRatings(store));
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('Content-Disposition', 'attachment; filename="ratings.jsonl"')
      .send(ratings.map((r) => JSON.stringify(r)).join('\n') + (ratings.length ? '\n' : ''));
  });

  app.post('/rate', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (!tokenMatches(request.cookies[SESSION_COOKIE], body.token)) return reply.code(403).type('text/plain; charset=utf-8').send('missing or wrong session token: reload the page and rate again\n');
    const parsed = parseRatings(body);
    if (typeof parsed === 'string') return reply.code(400).type('text/plain; charset=utf-8').send(parsed + '\n');
    const stored = await lease.use(async (store) => Promise.all(parsed.map((r) => storeRating(store, r))));
    const rating = stored[0]!;
    reply.setCookie(RATER_COOKIE, rating.rater, { path: '/', httpOnly: true, sameSite: 'strict' });
    const anchor = rating.target.kind === 'generation' ? `answer-${rating.target.generationId}` : `image-${rating.target.imageId}`;
    return reply.redirect(`/query/${encodeURIComponent(rating.target.queryId)}#${anchor}`, 303);
  });

  app.get<{ Params: { sha: string } }>('/blob/:sha', async (request, reply) => {
    if (!SHA256.test(request.params.sha)) return reply.code(400).type('text/plain; charset=utf-8').send('a blob is named by its sha256 (64 hex digits)\n');
    const bytes = await lease.blobs.get(request.params.sha);
    const type = bytes && sniffRasterType(bytes);
    if (!bytes || !type) return reply.code(404).type('text/plain; charset=utf-8').send('no such image\n');
    return reply.type(type).header('Cache-Control', 'private, max-age=86400, immutable').send(bytes);
  });

  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const asset = Object.hasOwn(assets, request.params.name) ? assets[request.params.name] : undefined;
    if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
    return reply.type(asset.type).send(await readFile(asset.file));
  });

  app.addHook('onClose', async () => lease.close());
  return { app, lease };
}
