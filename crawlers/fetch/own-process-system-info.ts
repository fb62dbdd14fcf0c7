// Crawlee's system-info events for a crawl that has no child processes (every crawl but --render):
// its memory is this process's RSS, read from the kernel in microseconds. Crawlee's own event
// manager finds it by spawning `ps` for the whole process tree once a second, which forked the
// ~300 MB crawl process each time: 170 ms of the crawl's main thread in a 12 s run at 1× the latency
// benchmark, plus the `ps` processes themselves. A --render crawl keeps Crawlee's manager, because
// Chromium's processes are its children and their memory counts.
import os from 'node:os';
import { LocalEventManager } from '@crawlee/core';

interface CpuTicks {
  idle: number;
  total: number;
}

function cpuTicks(): CpuTicks {
  let idle = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

export class OwnProcessSystemInfo extends LocalEventManager {
  private lastTicks = cpuTicks();

  /** The same event Crawlee's manager emits every `systemInfoIntervalMillis`, from cheap sources. */
  override async emitSystemInfoEvent(intervalCallback: () => unknown): Promise<void> {
    const ticks = cpuTicks();
    const totalDelta = ticks.total - this.lastTicks.total;
    const usedRatio = totalDelta > 0 ? 1 - (ticks.idle - this.lastTicks.idle) / totalDelta : 0;
    this.lastTicks = ticks;
    this.events.emit('systemInfo', {
      createdAt: new Date(),
      cpuCurrentUsage: usedRatio * 100,
      isCpuOverloaded: usedRatio > (this.config.get('maxUsedCpuRatio') ?? 0.95),
      memCurrentBytes: process.memoryUsage.rss(),
      memTotalBytes: os.totalmem(),
    });
    intervalCallback();
  }
}
