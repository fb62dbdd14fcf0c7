// The real `m2rag` binary: help, exit codes, stats, queries-file errors, idempotent ingest.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const SUBCOMMANDS = ['build', 'crawl', 'process', 'describe', 'score', 'export', 'run', 'eval', 'serve', 'stats'];

test('--help lists every subcommand', async () => {
  const { code, stdout } = await runCli(['--help']);
  assert.equal(code, 0);
  for (const name of SUBCOMMANDS) assert.match(stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
});

test('stats --json on a new store prints zero counts', async (t) => {
  const store = path.join(await tempDir(t), 'store');
  const { code, stdout } = await runCli(['stats', '--json', '--store', store]);
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout), {
    queries: 0, hits: 0, pages: 0, chunks: 0, images: 0, occurrences: 0,
    descriptions: 0, scores: 0, generations: 0, evalResults: 0, stages: {},
  });
});

test('a queries file with a bad line 3 exits 2, names :3:, and leaves the store untouched', async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'bad.jsonl');
  await writeFile(queries, '{"query":"ray charles"}\n{"query":"piano"}\n{"query": 3}\n');
  const store = path.join(dir, 'store');
  const { code, stderr, stdout } = await runCli(['build', '--queries', queries, '--store', store]);
  assert.equal(code, 2);
  assert.match(stderr, /bad\.jsonl:3: /);
  assert.equal(stdout, '');
  assert.deepEqual(await readdir(dir), ['bad.jsonl']);
});

test('an unknown flag or a bad number is a usage error (exit 2) with one line saying why', async (t) => {
  assert.equal((await runCli(['stats', '--no-such-flag'])).code, 2);
  assert.equal((await runCli(['build', '--queries', 'x', '--world-size', 'zero'])).code, 2);
  const shard = await runCli(['--store', path.join(await tempDir(t), 's'), 'process', '--rank', '2', '--world-size', '2']);
  assert.equal(shard.code, 2);
  assert.equal(shard.stderr, 'm2rag: --rank 2 must be below --world-size 2 (ranks are 0 to 1)\n');
});

test('a config file with an API key in it is refused with one clear line', async (t) => {
  const dir = await tempDir(t);
  const config = path.join(dir, 'm2rag.yaml');
  await writeFile(config, 'models:\n  apiKey: sk-123\n');
  const { code, stderr } = await runCli(['--config', config, 'crawl', '--queries', config, '--store', path.join(dir, 's')]);
  assert.equal(code, 2);
  assert.match(stderr, /models\.apiKey: API keys are read from environment variables only/);
  assert.doesNotMatch(stderr, /sk-123/);
});

test('a build whose search fails for every query exits 1 and marks no later stage done', async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.txt');
  await writeFile(queries, 'ray charles\npiano\n');
  const config = path.join(dir, 'm2rag.yaml');
  // Nothing listens on the discard port: the search request is refused at once.
  await writeFile(config, 'crawl:\n  wikipediaUrl: http://127.0.0.1:9/w/api.php\n  allowPrivate: true\n');
  const store = path.join(dir, 'store');
  const build = await runCli(['--store', store, '--config', config, 'build', '--queries', queries]);
  assert.equal(build.code, 1, build.stderr);
  assert.match(build.stderr, /crawl: all 2 queries it tried failed/);
  const stats = JSON.parse((await runCli(['--store', store, 'stats', '--json'])).stdout);
  assert.equal(stats.stages.crawl.queriesDone, 0);
  assert.equal(stats.stages['process-text'], undefined, 'the build stopped before processing');
  const process = await runCli(['--store', store, 'process']);
  assert.equal(process.code, 0);
  assert.match(process.stderr, /process-text: queries-waiting-for:crawl=2/);
});
