// `m2rag import --format m2rag <dev_set.jsonl> [--images <dir>]`: loads the published M2RAG-Bench dev
// set, or any data in its layout (an m2rag export included), into the store, so `run` and `eval`
// work on it. The imported data stands in for every stage up to `score`, which are marked done.
import { Command, Option } from 'commander';
import { configFor, globalOptions, withStore } from './common.js';
import { UserError } from '../../core/errors.js';
import { STAGE_ORDER } from '../../core/stages.js';
import { sniffImageType } from '../../../crawlers/net/sniff.js';
import { importM2rag, ImportInputError } from '../../../storage/import/m2rag.js';

const STAGES_IMPORTED = STAGE_ORDER.slice(0, STAGE_ORDER.indexOf('score') + 1);

export function register(program: Command): void {
  program
    .command('import')
    .description('import a dataset in the M2RAG-Bench dev-set layout (the published benchmark or an m2rag export) into the store')
    .argument('<file>', 'the dev-set JSON lines (one query a line)')
    .addOption(new Option('--format <name>', 'input format').choices(['m2rag']).default('m2rag'))
    .option('--images <dir>', "folder the images' cached_image_url paths are relative to (default: the file's folder)")
    .action(async (file: string, options: { format: 'm2rag'; images?: string }, command: Command) => {
      const global = globalOptions(command);
      const config = await configFor(global);
      await withStore(
        global,
        async (store) => {
          try {
            const counts = await importM2rag(store, {
              file,
              imagesDir: options.images,
              sniffMime: sniffImageType,
              minChunkScore: config.score.minChunkScore,
              minImageScore: config.score.minImageScore,
              stagesDone: STAGES_IMPORTED,
            });
            const line = Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ');
            process.stdout.write(`import ${options.format} ← ${file}: ${line}\n`);
          } catch (error) {
            if (error instanceof ImportInputError) throw new UserError(error.message);
            throw error;
          }
        },
        { create: true },
      );
    });
}
