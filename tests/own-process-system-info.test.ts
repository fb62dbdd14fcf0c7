// The system-info events a crawl's Crawlee configuration emits (crawlers/fetch/own-process-system-info.ts):
// without --render, the memory Crawlee bounds the pools by is this process's RSS, read without
// starting a process; with --render, Crawlee's own manager stays, so Chromium's processes count.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { LocalEventManager, log, LogLevel } from '@crawlee/core';
import { crawleeConfigFor } from '../crawlers/fetch/crawlee-configuration.js';
import { OwnProcessSystemInfo } from '../crawlers/fetch/own-process-system-info.js';
import { tempDir } from './helpers/temp.js';

log.setLevel(LogLevel.OFF);

// Crawlee's CommonJS code calls `spawn` through the module object, so counting calls on it sees theirs.
const childProcess = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');

interface Info {
  memCurrentBytes: number;
  memTotalBytes: number;
  cpuCurrentUsage: number;
  createdAt: Date;
}

test('without --render the memory signal is this process’s RSS, and no process is started to read it', async (t) => {
  const config = crawleeConfigFor(await tempDir(t), 512);
  const events = config.getEventManager();
  assert.ok(events instanceof OwnProcessSystemInfo);
  const spawn = childProcess.spawn;
  let spawned = 0;
  childProcess.spawn = ((...args: Parameters<typeof spawn>) => {
    spawned++;
    return spawn(...args);
  }) as typeof spawn;
  t.after(() => {
    childProcess.spawn = spawn;
  });
  const infos: Info[] = [];
  events.on('systemInfo', (info: Info) => infos.push(info));
  await events.init();
  try {
    const deadline = Date.now() + 10_000;
    while (infos.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    await events.close();
  }
  assert.ok(infos.length >= 2, `two events within 10 s, got ${infos.length}`);
  const rss = process.memoryUsage.rss();
  for (const info of infos) {
    // The RSS of this process moments apart: the same order of magnitude, not a machine-wide figure.
    assert.ok(info.memCurrentBytes > rss / 2 && info.memCurrentBytes < rss * 2, `${info.memCurrentBytes} against RSS ${rss}`);
    assert.ok(info.memTotalBytes >= info.memCurrentBytes);
    assert.ok(info.cpuCurrentUsage >= 0 && info.cpuCurrentUsage <= 100);
  }
  assert.equal(spawned, 0);
});

test('with --render Crawlee’s own manager measures memory, Chromium’s child processes included', async (t) => {
  const config = crawleeConfigFor(await tempDir(t), 512, { render: true });
  const events = config.getEventManager();
  assert.ok(events instanceof LocalEventManager);
  assert.ok(!(events instanceof OwnProcessSystemInfo));
});
