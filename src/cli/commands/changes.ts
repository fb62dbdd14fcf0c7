// `m2rag changes`: what the refreshes found, version by version: pages new, changed (with a unified
// diff of the main text) and removed, images replaced (with their old and new content ids).
import { Command } from 'commander';
import { createTwoFilesPatch } from 'diff';
import { globalOptions, parseNonNegativeInt, withStore } from './common.js';
import { changesSince, type Change } from '../../../storage/index.js';

function diffOf(change: Change): string {
  return createTwoFilesPatch(`${change.url} (before)`, `${change.url} (version ${change.version})`, (change.previousText ?? '') + '\n', (change.text ?? '') + '\n', undefined, undefined, { context: 2 });
}

function describe(change: Change): string {
  const head = `version ${change.version}: ${change.kind} ${change.label}: ${change.url}`;
  if (change.kind === 'image') return `${head} (${change.previousImageId ?? '-'} → ${change.imageId ?? '-'})\n`;
  if (change.label === 'removed') return `${head} (${change.reason ?? 'gone'})\n`;
  if (change.label !== 'changed') return head + '\n';
  const images = JSON.stringify(change.previousImageUrls) === JSON.stringify(change.imageUrls) ? '' : `images: ${change.previousImageUrls?.length ?? 0} → ${change.imageUrls?.length ?? 0}\n`;
  return `${head}\n${images}${change.previousText === change.text ? '(main text unchanged)\n' : diffOf(change)}`;
}

export function register(program: Command): void {
  program
    .command('changes')
    .description('list what the refreshes changed, with a unified diff of the main text of each changed page')
    .option('--since <n>', 'only changes after store version n (default: all)', parseNonNegativeInt, 0)
    .option('--json', 'one JSON object per change (with its diff) instead of text', false)
    .action(async (options: { since: number; json: boolean }, command: Command) => {
      await withStore(globalOptions(command), async (store) => {
        for (const change of await changesSince(store, options.since)) {
          if (options.json) {
            const diff = change.kind === 'page' && change.label === 'changed' ? diffOf(change) : undefined;
            process.stdout.write(JSON.stringify({ version: change.version, kind: change.kind, label: change.label, url: change.url, pageId: change.pageId, previousImageId: change.previousImageId, imageId: change.imageId, reason: change.reason, diff }) + '\n');
          } else process.stdout.write(describe(change));
        }
      });
    });
}
