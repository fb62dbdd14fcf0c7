// `m2rag dedup-images <dir>`: standalone near-duplicate finder over a folder of images.
import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { configFor, globalOptions, parseNonNegativeInt } from './common.js';
import { UserError } from '../../core/errors.js';
import { dedupDirectory } from '../../../processors/images/dedup-dir.js';
import { nearDuplicateOptionsFrom } from '../../../processors/images/near-dup.js';

export function register(program: Command): void {
  program
    .command('dedup-images')
    .description('find near-duplicate images in a folder (crops, borders, mirrors, turns, re-encodings)')
    .argument('<dir>', 'folder of images (searched recursively)')
    .addOption(new Option('--threshold <n>', 'largest window-hash Hamming distance of a candidate pair (default: images.phashThreshold, 10)').argParser(parseNonNegativeInt))
    .option('--json', 'print {"clusters": [[file, ...], ...], "errors": [{file, reason}]}')
    .action(async (dir: string, options: { threshold?: number; json?: boolean }, command: Command) => {
      const config = await configFor(globalOptions(command), { images: { phashThreshold: options.threshold } });
      const info = await stat(dir).catch(() => undefined);
      if (!info?.isDirectory()) throw new UserError(`${dir}: not a folder; give the folder of images to search for near-duplicates`);
      const result = await dedupDirectory(dir, {
        ...nearDuplicateOptionsFrom(config.images),
        pixelLimit: config.images.decodePixelLimit,
        concurrency: config.images.decodeConcurrency,
      });
      if (options.json) {
        process.stdout.write(JSON.stringify({ clusters: result.clusters, errors: result.errors }) + '\n');
        return;
      }
      const duplicates = result.clusters.reduce((n, cluster) => n + cluster.length - 1, 0);
      process.stdout.write(
        `${result.files} files: ${result.clusters.length} clusters of near-duplicates (${duplicates} duplicates), ${result.errors.length} unreadable\n`,
      );
      result.clusters.forEach((cluster, i) => process.stdout.write(`cluster ${i + 1}: ${cluster.join('  ')}\n`));
      for (const { file, reason } of result.errors) process.stdout.write(`error ${file}: ${reason}\n`);
    });
}
