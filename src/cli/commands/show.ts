// `m2rag show`: what a build made, on the terminal. With no argument, the queries and their counts;
// with a query id or text, its answers with their cited images, its top kept chunks, and what was
// dropped, by reason.
import type { Command } from 'commander';
import { UserError } from '../../core/errors.js';
import { globalOptions, withStore } from './common.js';
import { findQuery, indexStore, listQueries, queryDetail, type QueryDetail, type QueryRow } from '../../viewer/data.js';
import type { CorpusStore } from '../../../storage/index.js';

const TOP_CHUNKS = 5;

function bump(counts: Record<string, number>, reason: string): void {
  counts[reason] = (counts[reason] ?? 0) + 1;
}

/** A drop reason without the per-element detail (ids, scores), so like drops count together. */
function reasonKind(reason: string): string {
  return reason.replace(/ of \S+$/, '').replace(/^score \S+ below/, 'score below').replace(/: .*$/, '');
}

export function showView(store: CorpusStore, detail: QueryDetail) {
  const images = new Map([...detail.images, ...detail.auxiliary].map((v) => [v.image.id, v]));
  const chunks = detail.pages.flatMap((p) => p.chunks);
  const dropped = { chunks: {} as Record<string, number>, images: {} as Record<string, number>, pages: {} as Record<string, number> };
  for (const c of chunks) if (c.dropped) bump(dropped.chunks, reasonKind(c.dropped));
  for (const v of images.values()) if (v.dropped) bump(dropped.images, reasonKind(v.dropped));
  for (const p of detail.pages) if (p.page.duplicateOf) bump(dropped.pages, 'duplicate page');
  return {
    query: detail.query,
    answers: detail.answers.map(({ generation: g, evals }) => ({
      id: g.id,
      strategy: g.strategy,
      status: g.status ?? 'ok',
      reason: g.reason,
      output: g.output,
      metrics: Object.assign({}, ...evals.map((e) => e.metrics)) as Record<string, number>,
      citedImages: g.citedImageIds.map((id) => {
        const v = images.get(id);
        const description = v?.descriptions.find((d) => d.status === 'ok');
        return { id, path: store.blobPath(id), url: v?.image.firstUrl, description: description?.text, describedBy: description?.method, score: v?.score?.finalScore };
      }),
    })),
    topChunks: chunks
      .filter((c) => !c.dropped && c.score?.finalScore !== undefined)
      .sort((a, b) => b.score!.finalScore! - a.score!.finalScore!)
      .slice(0, TOP_CHUNKS)
      .map((c) => ({ id: c.chunk.id, score: c.score!.finalScore!, text: c.chunk.text })),
    dropped,
  };
}

type ShowView = ReturnType<typeof showView>;

const oneLine = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
};

export function formatQueryList(rows: QueryRow[]): string {
  if (rows.length === 0) return 'no queries in this store\n';
  const lines = [`${'id'.padEnd(20)}${'pages'.padStart(6)}${'chunks'.padStart(8)}${'images'.padStart(8)}${'answers'.padStart(9)}  query`];
  for (const r of rows) lines.push(`${r.query.id.padEnd(20)}${String(r.pages).padStart(6)}${String(r.keptChunks).padStart(8)}${String(r.keptImages).padStart(8)}${String(r.answers).padStart(9)}  ${oneLine(r.query.query, 60)}`);
  lines.push('', '(chunks and images are the kept ones; `m2rag show <id or query text>` shows one query)');
  return lines.join('\n') + '\n';
}

export function formatShow(view: ShowView): string {
  const lines = [`query ${view.query.id}: ${view.query.query}${view.query.topic ? ` (topic: ${view.query.topic})` : ''}`, ''];
  if (view.answers.length === 0) lines.push('answers: none yet (run `m2rag run`)');
  for (const a of view.answers) {
    const metrics = Object.entries(a.metrics).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
    lines.push(`answer [${a.strategy}] ${a.id}${a.status === 'failed' ? ` failed: ${a.reason}` : ''}${metrics ? `\n  metrics: ${metrics}` : ''}`);
    for (const line of a.output.trim().split('\n')) lines.push(`  | ${line}`);
    for (const [i, img] of a.citedImages.entries()) {
      lines.push(`  image ${i + 1}: ${img.path}  score ${img.score ?? '—'}${img.url ? `  (${img.url})` : ''}`);
      if (img.description) lines.push(`    ${img.describedBy}: ${oneLine(img.description, 160)}`);
    }
    lines.push('');
  }
  lines.push(`top kept chunks (${view.topChunks.length})`);
  for (const c of view.topChunks) lines.push(`  ${c.score.toFixed(2).padStart(6)}  ${c.id}  ${oneLine(c.text, 100)}`);
  lines.push('', 'dropped');
  for (const [what, reasons] of Object.entries(view.dropped)) {
    const entries = Object.entries(reasons);
    lines.push(`  ${what}: ${entries.length ? entries.map(([r, n]) => `${r} ${n}`).join(', ') : 'none'}`);
  }
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('show [query]')
    .description('print a query\'s answers, cited images, top chunks and drops (no argument: list the queries)')
    .option('--json', 'print one JSON object')
    .action(async (queryArg: string | undefined, options: { json?: boolean }, command: Command) => {
      await withStore(globalOptions(command), async (store) => {
        const index = await indexStore(store);
        if (queryArg === undefined) {
          const rows = await listQueries(store, index);
          process.stdout.write(options.json ? JSON.stringify({ queries: rows }) + '\n' : formatQueryList(rows));
          return;
        }
        const query = await findQuery(store, queryArg);
        if (!query) throw new UserError(`no query "${queryArg}" in ${store.dir}: run \`m2rag show\` to list the queries`);
        const view = showView(store, await queryDetail(store, index, query));
        process.stdout.write(options.json ? JSON.stringify(view) + '\n' : formatShow(view));
      });
    });
}
