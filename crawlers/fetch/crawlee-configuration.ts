// The Crawlee configuration of a crawl-stage run. Crawlee's queues live in memory and hold only the
// work not done yet (the store is the resume state); anything it writes goes inside the store
// directory. Its memory bound reads this process's RSS, unless the crawl renders pages (then
// Chromium's processes count too). Its own log stays off unless m2rag logs at debug level.
import path from 'node:path';
import { Configuration, log as crawleeLog, LogLevel } from '@crawlee/core';
import { CrawlQueueStorage } from './crawl-queue-storage.js';
import { OwnProcessSystemInfo } from './own-process-system-info.js';

export function crawleeConfigFor(storeDir: string, memoryMbytes: number, { render = false }: { render?: boolean } = {}): Configuration {
  crawleeLog.setLevel(process.env.M2RAG_LOG_LEVEL === 'debug' ? LogLevel.DEBUG : LogLevel.OFF);
  const localDataDirectory = path.join(storeDir, 'crawlee');
  const configuration = new Configuration({
    storageClient: new CrawlQueueStorage({ localDataDirectory, persistStorage: false }),
    storageClientOptions: { localDataDirectory },
    persistStorage: false,
    purgeOnStart: false,
    memoryMbytes,
  });
  if (!render) configuration.useEventManager(new OwnProcessSystemInfo(configuration));
  return configuration;
}
