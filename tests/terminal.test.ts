// The terminal: on a TTY (a real pseudo-terminal, from util-linux's `script`), log lines are
// human-readable and printed above the progress bar, never into it; `--quiet` leaves warnings,
// errors and results; `--debug` shows what the log level hid.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const run = promisify(execFile);

/**
 * The lines a terminal was given, in order: a move to the line's start (`ESC[1G`, as a carriage
 * return) starts a new one; other cursor and line-editing escapes are dropped.
 */
function screenText(raw: string): string[] {
  return raw
    .replace(/\x1b\[[01]?G/g, '\r')
    .replace(/\x1b\[[0-9?;]*[A-Za-z]/g, '')
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

test('on a terminal, a log line is printed as text above the progress bar, and a line logged as the stage ends is kept', async (t) => {
  const dir = await tempDir(t);
  const program = path.join(dir, 'progress.mjs');
  await writeFile(
    program,
    [
      `import { log, startProgress } from ${JSON.stringify(path.join(ROOT, 'src/core/feedback.ts'))};`,
      `const progress = startProgress('crawl', 3);`,
      `progress.tick();`,
      `log.warn({ url: 'http://127.0.0.1/a', attempts: 2 }, 'page failed');`,
      `progress.tick(2);`,
      `log.info('last page stored');`,
      `progress.done();`,
      `log.info('after the bar');`,
    ].join('\n'),
  );
  const command = `${process.execPath} --import tsx ${program}`;
  const { stdout } = await run('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, M2RAG_LOG_LEVEL: 'info', M2RAG_PROGRESS: '' } });
  const lines = screenText(stdout);
  assert.ok(!stdout.includes('{"level"'), `no JSON on a terminal:\n${stdout}`);
  const warn = lines.findIndex((line) => line === 'warn: page failed url=http://127.0.0.1/a attempts=2');
  const last = lines.findIndex((line) => line === 'last page stored');
  const after = lines.findIndex((line) => line === 'after the bar');
  const finalBar = lines.findIndex((line) => /^crawl +\[.*\] 3\/3 \|/.test(line));
  assert.ok(warn >= 0 && last > warn, `both log lines on lines of their own:\n${lines.join('\n')}`);
  assert.ok(finalBar > last && after > finalBar, `the bar below the log lines, later output below the bar:\n${lines.join('\n')}`);
});

test('--quiet prints the summary and no progress or info lines; --debug shows the info lines a fatal log level hid', async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.txt');
  await writeFile(queries, 'ray charles\n');
  const quiet = await runCli(['--store', path.join(dir, 'a'), '--quiet', 'crawl', '--queries', queries, '--search', 'seeds'], { env: { M2RAG_LOG_LEVEL: 'info' } });
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.deepEqual(screenText(quiet.stderr), ['crawl: image-hits=0 queries=1 web-hits=0']);

  const debug = await runCli(['--store', path.join(dir, 'b'), '--debug', 'crawl', '--queries', queries, '--search', 'seeds'], { env: { M2RAG_LOG_LEVEL: 'fatal' } });
  assert.equal(debug.code, 0, debug.stderr);
  assert.match(debug.stderr, /"msg":"queries loaded"/);
  assert.match(debug.stderr, /"msg":"progress"/);
});
