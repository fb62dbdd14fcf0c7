// Opening a store is where a user's mistake or a damaged folder must stop, with one line and exit 2,
// before anything is created or lost: a file for --store, a mistyped path for a command that reads,
// a database whose CURRENT file is gone (LevelDB would discard its tables), a store another process holds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore } from '../storage/index.js';

async function storeWithOneQuery(dir: string): Promise<void> {
  const store = await CorpusStore.open(dir);
  await store.put('queries', { id: 'q1', query: 'ray charles', createdAt: new Date().toISOString() });
  await store.close();
}

test('a read-only command refuses a folder that is not a store, and creates nothing', async (t) => {
  const missing = path.join(await tempDir(t), 'typo');
  const stats = await runCli(['--store', missing, 'stats']);
  assert.equal(stats.code, 2);
  assert.match(stats.stderr, /^m2rag: .*typo is not an m2rag store .*check --store/m);
  assert.equal(stats.stderr.trim().split('\n').length, 1, 'one line');
  assert.equal(existsSync(missing), false, 'nothing was created');
  for (const command of [['export', '--format', 'jsonl', '--out', path.join(missing, 'out')], ['process'], ['run']]) {
    const result = await runCli(['--store', missing, ...command]);
    assert.equal(result.code, 2, `${command[0]}: ${result.stderr}`);
  }
});

test('--store naming a file is one line and exit 2', async (t) => {
  const file = path.join(await tempDir(t), 'notes.txt');
  await writeFile(file, 'not a store\n');
  const result = await runCli(['--store', file, 'stats']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^m2rag: --store .*notes\.txt is a file, not a store folder/m);
  assert.doesNotMatch(result.stderr, /\bat async\b|unexpected error/);
});

test('a store whose db/CURRENT is missing is refused and keeps every table file', async (t) => {
  const dir = path.join(await tempDir(t), 'store');
  await storeWithOneQuery(dir);
  const db = path.join(dir, 'db');
  const current = (await readFile(path.join(db, 'CURRENT'), 'utf8')).trim();
  await rm(path.join(db, 'CURRENT'));
  const before = (await readdir(db)).sort();
  const result = await runCli(['--store', dir, 'stats']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /is damaged: .*CURRENT is missing/);
  assert.match(result.stderr, new RegExp(`printf '${current}\\\\n'`), 'the repair command names the newest manifest');
  assert.deepEqual((await readdir(db)).sort(), before, 'no file was deleted or created');
  await assert.rejects(CorpusStore.open(dir), /is damaged/);

  await writeFile(path.join(db, 'CURRENT'), current + '\n');
  const repaired = await runCli(['--store', dir, 'stats', '--json']);
  assert.equal(JSON.parse(repaired.stdout).queries, 1, 'the data is all there after the repair');
});

test('a store held by another m2rag process is read through it (storage/shared-store.ts), never a LOCK error', async (t) => {
  const dir = path.join(await tempDir(t), 'store');
  await storeWithOneQuery(dir);
  const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `import('./storage/index.ts').then(async (m) => { await m.CorpusStore.open(${JSON.stringify(dir)}); console.log('open'); setInterval(() => {}, 1000); })`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  const result = await runCli(['--store', dir, 'stats', '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).queries, 1);
  assert.doesNotMatch(result.stderr, /LOCK|Resource temporarily unavailable|\bat async\b/);
});

test('--version prints the package version; a closed pipe ends quietly', async (t) => {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), pkg.version);

  const dir = path.join(await tempDir(t), 'store');
  await storeWithOneQuery(dir);
  const child = spawn('bash', ['-c', `"${process.execPath}" bin/m2rag.js --store "${dir}" stats | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { cwd: ROOT });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  await new Promise((resolve) => child.on('close', resolve));
  assert.equal(out.trim(), '0', err);
  assert.doesNotMatch(err, /EPIPE/);
});
