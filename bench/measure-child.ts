// Runs a command as a child process and samples its peak RSS (VmHWM) until it exits: the whole-process
// figures the crawl benchmarks report.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface ChildMeasure {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
  peakRssMb: number;
  /** User + system CPU seconds, as last sampled (to within the 100 ms sampling interval). */
  cpuSeconds: number;
  /**
   * CPU seconds the hypervisor gave to other guests while the child ran, over all of this machine's
   * CPUs (/proc/stat's steal): on a shared host a slow run shows here, not in the crawler.
   */
  stealSeconds: number;
}

/** The machine's stolen CPU ticks so far (the 8th figure of /proc/stat's `cpu` line). */
async function stealTicks(): Promise<number> {
  try {
    return Number((await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/)[8] ?? 0);
  } catch {
    return 0;
  }
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

export function measureChild(args: string[], options: { cwd: string; env?: Record<string, string | undefined>; onSpawn?: (child: ChildProcess) => void }): Promise<ChildMeasure> {
  return stealTicks().then((stealAtStart) => new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: options.cwd, env: { ...process.env, ...options.env } });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    let peakKb = 0;
    let cpuTicks = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const sampler = setInterval(async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
        // The fields after the command name (which may hold spaces) in parentheses: utime and stime are the 12th and 13th.
        const fields = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
        cpuTicks = Number(fields[11]) + Number(fields[12]);
      } catch {
        // the child has exited
      }
    }, 100);
    child.on('close', async (code) => {
      clearInterval(sampler);
      const seconds = (performance.now() - started) / 1000;
      const stealSeconds = ((await stealTicks()) - stealAtStart) / TICKS_PER_SECOND;
      resolve({ code: code ?? -1, stdout, stderr, seconds, peakRssMb: Math.round(peakKb / 1024), cpuSeconds: cpuTicks / TICKS_PER_SECOND, stealSeconds });
    });
  }));
}
