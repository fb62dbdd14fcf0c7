// The real `m2rag` binary: what commands do on a new or empty store, and how a user's mistake ends —
// exit 2, one line saying what is wrong and where, nothing written — or a build that could do none of
// its work (exit 1).
import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore } from '../storage/index.js';

const SUBCOMMANDS = ['build', 'crawl', 'process', 'describe', 'score', 'export', 'run', 'eval', 'serve', 'stats'];
const EMPTY_COUNTS = { queries: 0, hits: 0, pages: 0, chunks: 0, images: 0, occurrences: 0, descriptions: 0, scores: 0, generations: 0, evalResults: 0, ratings: 0 };

function linesOf(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** A store folder as `build` leaves it before any query is stored. */
async function emptyStore(t: TestContext): Promise<string> {
  const dir = path.join(await tempDir(t), 'store');
  await (await CorpusStore.open(dir)).close();
  return dir;
}

test('--help lists every subcommand and exits 0; an unknown command is a usage error (exit 2)', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  for (const name of SUBCOMMANDS) assert.match(help.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(linesOf(unknown.stderr)[0]!, /^error: unknown command 'frobnicate'/);
  assert.equal(unknown.stdout, '');
});

test('the command is found after global options and their values: a store folder named crawl runs stats, and help still lists all', async (t) => {
  // Only the named command's module is loaded, so taking `--store`'s value for the command would run
  // the wrong one or none.
  const cwd = await tempDir(t);
  await (await CorpusStore.open(path.join(cwd, 'crawl'))).close();
  const stats = await runCli(['--quiet', '--store', 'crawl', 'stats', '--json'], { cwd });
  assert.equal(stats.code, 0, stats.stderr);
  assert.deepEqual(JSON.parse(stats.stdout), { ...EMPTY_COUNTS, stages: {} });
  const misspelt = await runCli(['--store', 'crawl', 'stat'], { cwd });
  assert.equal(misspelt.code, 2);
  assert.match(misspelt.stderr, /unknown command 'stat'\n\(Did you mean stats\?\)/);
  const help = await runCli(['help'], { cwd });
  assert.equal(help.code, 0);
  for (const name of SUBCOMMANDS) assert.match(help.stdout, new RegExp(`^  ${name}\\b`, 'm'), name);
});

test('stats on a new store prints zero counts and no stages, as JSON and as text', async (t) => {
  const store = await emptyStore(t);
  const json = await runCli(['stats', '--json', '--store', store]);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), { ...EMPTY_COUNTS, stages: {} });
  const text = await runCli(['stats', '--store', store]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^ {2}queries {8}0$/m);
  assert.match(text.stdout, /^no stage has run yet$/m);
});

test('a queries file with a bad line 3 exits 2 with one line naming file:3, and no store is created', async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'bad.jsonl');
  await writeFile(queries, '{"query":"ray charles"}\n{"query":"piano"}\n{"query": 3}\n');
  const store = path.join(dir, 'store');
  const { code, stderr, stdout } = await runCli(['build', '--queries', queries, '--store', store]);
  assert.equal(code, 2);
  assert.equal(linesOf(stderr).length, 1, stderr);
  assert.match(stderr, /^m2rag: .*bad\.jsonl:3: .+\n$/);
  assert.equal(stdout, '');
  assert.deepEqual(await readdir(dir), ['bad.jsonl']);
});

test('--rank 2 --world-size 2 exits 2 with one line giving the valid ranks, before the store is opened', async (t) => {
  const dir = await tempDir(t);
  const shard = await runCli(['--store', path.join(dir, 's'), 'process', '--rank', '2', '--world-size', '2']);
  assert.equal(shard.code, 2);
  assert.equal(shard.stderr, 'm2rag: --rank 2 must be below --world-size 2 (ranks are 0 to 1)\n');
  assert.equal(shard.stdout, '');
  assert.deepEqual(await readdir(dir), []);
});

test('an unknown option or a bad number exits 2, says which option, and runs nothing', async (t) => {
  const dir = await tempDir(t);
  const store = path.join(dir, 's');
  const unknown = await runCli(['--store', store, 'stats', '--no-such-flag']);
  assert.equal(unknown.code, 2);
  assert.match(linesOf(unknown.stderr)[0]!, /^error: unknown option '--no-such-flag'/);
  assert.equal(unknown.stdout, '', 'stats did not run');
  const badNumber = await runCli(['--store', store, 'process', '--world-size', 'zero']);
  assert.equal(badNumber.code, 2);
  assert.match(linesOf(badNumber.stderr)[0]!, /^error: option '--world-size <n>' argument 'zero' is invalid\. expected a whole number above 0\./);
  assert.deepEqual(await readdir(dir), [], 'no store was created');
});

test('process on an empty store does nothing and exits 0', async (t) => {
  const store = await emptyStore(t);
  const processed = await runCli(['--store', store, 'process']);
  assert.equal(processed.code, 0, processed.stderr);
  assert.match(processed.stderr, /^process-text: nothing to do$/m);
  assert.match(processed.stderr, /^process-images: images-clustered=0 /m);
  assert.doesNotMatch(processed.stderr, /failed|error/i);
  const stats = JSON.parse((await runCli(['--store', store, 'stats', '--json'])).stdout);
  const { stages, ...counts } = stats;
  assert.deepEqual(counts, EMPTY_COUNTS, 'no record was written');
  for (const stage of ['process-text', 'process-images']) {
    assert.equal(stages[stage].queriesDone, 0, stage);
    assert.equal(stages[stage].runs, 1, `${stage} ran once`);
  }
});

test('a config file with an API key in it is refused with one clear line', async (t) => {
  const dir = await tempDir(t);
  const config = path.join(dir, 'm2rag.yaml');
  await writeFile(config, 'models:\n  apiKey: sk-123\n');
  const { code, stderr } = await runCli(['--config', config, 'crawl', '--queries', config, '--store', path.join(dir, 's')]);
  assert.equal(code, 2);
  assert.equal(linesOf(stderr).length, 1, stderr);
  assert.match(stderr, /models\.apiKey: API keys are read from environment variables only/);
  assert.doesNotMatch(stderr, /sk-123/);
});

test('a config typo names the nearest valid key, bad YAML quotes its line, and invalid UTF-8 in a queries file names its line', async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.txt');
  await writeFile(queries, 'ray charles\n');
  const store = path.join(dir, 's');
  const cases: Array<[config: string, expected: RegExp]> = [
    ['crawler:\n  pages: 3\n', /m2rag\.yaml: top level: unknown key "crawler"; did you mean "crawl"\?$/],
    ['crawl:\n  pagse: 3\n', /m2rag\.yaml: crawl: unknown key "pagse"; did you mean "pages"\?$/],
    ['crawl:\n  pages: [1, 2\nimages: {}\n', /m2rag\.yaml: not valid YAML, line 3, column 1: .*: "images: \{\}"$/],
  ];
  for (const [text, expected] of cases) {
    const config = path.join(dir, 'm2rag.yaml');
    await writeFile(config, text);
    const { code, stderr } = await runCli(['--config', config, '--store', store, 'build', '--queries', queries]);
    assert.equal(code, 2, stderr);
    assert.equal(linesOf(stderr).length, 1, stderr);
    assert.match(linesOf(stderr)[0]!, expected);
  }
  const bad = path.join(dir, 'bad.txt');
  await writeFile(bad, Buffer.concat([Buffer.from('ray charles\n'), Buffer.from([0xff, 0xfe]), Buffer.from(' invalid utf8\n')]));
  const invalid = await runCli(['--store', store, 'build', '--queries', bad]);
  assert.equal(invalid.code, 2, invalid.stderr);
  assert.deepEqual(linesOf(invalid.stderr), [`m2rag: ${bad}:2: not valid UTF-8 text; save the file as UTF-8`]);
  await assert.rejects(stat(store), 'no store is created by a refused command');
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

test('--render with no usable Chromium is one line and exit 2 before any query is stored', async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.txt');
  await writeFile(queries, 'ray charles\n');
  const store = path.join(dir, 'store');
  const { code, stderr } = await runCli(['--store', store, 'build', '--queries', queries, '--render', '--chromium', path.join(dir, 'no-chromium')]);
  assert.equal(code, 2, stderr);
  assert.deepEqual(linesOf(stderr), [`m2rag: --chromium ${path.join(dir, 'no-chromium')}: not an executable file`]);
  await assert.rejects(stat(store));
});
