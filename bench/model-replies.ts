// What a hostile model endpoint costs: `m2rag describe` (a child process, peak RSS sampled) over
// the Ray Charles mirror page's images, against the local stand-in for an OpenAI-compatible API
// answering every request with a 10 MB reply. Reports wall time, peak RSS, the store's growth and
// the recorded outcomes, with the byte cap at its default and with it lifted (the token cap alone).
//   node --import tsx bench/model-replies.ts [--reply-mb 10]
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CorpusStore } from '../storage/index.js';
import { buildMirrorStore } from '../tests/helpers/describe-store.js';
import { ROOT } from '../tests/helpers/cli.js';
import { chatReply, startOpenAiServer } from '../tests/helpers/openai-server.js';
import { measureChild } from './measure-child.js';

const { values } = parseArgs({ options: { 'reply-mb': { type: 'string', default: '10' } } });
const replyMb = Number(values['reply-mb']);

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    // Files may come and go meanwhile (the store's pid file): count those that stay.
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

const reply = chatReply('word '.repeat(Math.round((replyMb * 1024 * 1024) / 5)));
const server = await startOpenAiServer({ chat: () => reply });
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
try {
  for (const [label, models] of [
    ['default caps (maxReplyBytes 8 MiB)', {}],
    ['byte cap lifted (maxReplyBytes 1 GiB): the token cap alone', { maxReplyBytes: 1024 * 1024 * 1024 }],
  ] as const) {
    const dir = await mkdtemp(path.join(tmpdir(), 'm2rag-bench-replies-'));
    const fixture = await buildMirrorStore(dir, 'Ray Charles', [{ file: 'Ray_Charles.html' }], []);
    await fixture.store.close();
    const config = path.join(dir, 'bench-config.json');
    await writeFile(config, JSON.stringify({ models: { maxRetries: 0, retryDelayMs: 5, maxConsecutiveFailures: 1000, maxFailureRate: 1, ...models } }));
    const before = await folderBytes(dir);
    const sent = server.requestsTo('chat').length;
    const run = await measureChild(['bin/m2rag.js', '--store', dir, '--config', config, 'describe', '--method', 'vision-model'], {
      cwd: ROOT,
      env: { M2RAG_LOG_LEVEL: 'fatal', M2RAG_VISION_URL: server.url, M2RAG_VISION_MODEL: 'stand-in-vl' },
    });
    const store = await CorpusStore.open(dir, { mustExist: true });
    const reasons = new Map<string, number>();
    let example = '';
    for await (const d of store.iterate('descriptions')) {
      const key = d.status === 'failed' ? (d.reason ?? '').split(':').slice(0, 2).join(':') : d.status;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
      example ||= d.reason ?? '';
    }
    await store.close();
    const grown = (await folderBytes(dir)) - before;
    console.log(
      `${label}: ${server.requestsTo('chat').length - sent} replies of ${replyMb} MB, exit ${run.code}, ${run.seconds.toFixed(1)} s, peak RSS ${run.peakRssMb} MB, ` +
        `store grew ${mb(grown)} MB; descriptions ${JSON.stringify(Object.fromEntries(reasons))}, e.g. ${example}`,
    );
    await rm(dir, { recursive: true, force: true });
  }
} finally {
  await server.close();
}
