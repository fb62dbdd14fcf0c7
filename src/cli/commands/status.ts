// `m2rag status --queue redis://…`: the queued build's jobs per step and state, per worker, and the
// jobs that failed for good with their reasons.
import { Command } from 'commander';
import { MAP_STEPS } from '../../queue/steps.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('show a queued build: jobs waiting, active, done and failed per step and per worker, and why jobs failed')
    .requiredOption('--queue <url>', 'the Redis server of the queue (redis://host:port)')
    .option('--json', 'print the status as JSON')
    .action(async (options: { queue: string; json?: boolean }) => {
      // Loaded here, not at the top: every command registers at start-up, and BullMQ is only this one's.
      const { queueStatus } = await import('../../queue/status.js');
      const statuses = await queueStatus(options.queue, MAP_STEPS, { details: true });
      if (options.json) {
        process.stdout.write(JSON.stringify(statuses) + '\n');
        return;
      }
      for (const { step, counts, workers, failed } of statuses) {
        const waiting = counts.waiting + counts['waiting-children'] + counts.delayed;
        process.stdout.write(`${step}: waiting=${waiting} active=${counts.active} done=${counts.completed} failed=${counts.failed}\n`);
        for (const [name, { done, active }] of Object.entries(workers).sort(([a], [b]) => a.localeCompare(b))) {
          process.stdout.write(`  worker ${name}: done=${done} active=${active}\n`);
        }
        for (const { jobId, reason } of failed) process.stdout.write(`  failed ${jobId}: ${reason}\n`);
      }
    });
}
