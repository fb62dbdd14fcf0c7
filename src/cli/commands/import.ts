// `m2rag import --format m2rag <dev_set.jsonl> [--images <dir>]`: loads the published M2RAG-Bench dev
// set, or any data in its layout (an m2rag export included), into the store, so `run` and `eval`
// work on it. `--format webqa|mmqa` loads the WebQA or MultimodalQA test layout RagVL reads, with
// the images from `--images`. The imported data stands in for every stage up to `score`, which are marked done.
import path from 'node:path';
import { Command, Option } from 'commander';
import { configFor, globalOptions, withStore } from './common.js';
import { UserError } from '../../core/errors.js';
import { STAGE_ORDER } from '../../core/stages.js';
import { sniffImageType } from '../../../crawlers/net/sniff.js';
import { importM2rag, ImportInputError } from '../../../storage/import/m2rag.js';
import { importBenchmark, readJsonInput, type BenchmarkImportResult } from '../../../storage/import/benchmark.js';
import { webqaCaptions, webqaRows } from '../../../storage/import/webqa.js';
import { MMQA_METADATA_FILE, mmqaMetadata, mmqaRows } from '../../../storage/import/mmqa.js';

type ImportFormat = 'm2rag' | 'webqa' | 'mmqa';
interface ImportFlags {
  format: ImportFormat;
  images?: string;
  metadata?: string;
  captions?: string;
}

/** WebQA or MMQA questions into the store; every rejected row is one line on stderr. */
async function importRagvlBenchmark(store: Parameters<typeof importBenchmark>[0], file: string, options: ImportFlags): Promise<BenchmarkImportResult> {
  if (!options.images) throw new UserError(`--format ${options.format} needs --images <dir>, the folder with the dataset's image files`);
  const base = { source: path.basename(file), sniffMime: sniffImageType, stagesDone: STAGES_IMPORTED };
  let rows;
  if (options.format === 'webqa') {
    const captions = options.captions ? webqaCaptions(await readJsonInput(options.captions)) : undefined;
    if (typeof captions === 'string') throw new UserError(`${options.captions}: ${captions}`);
    rows = webqaRows(await readJsonInput(file), options.images, captions);
  }
  else {
    const data = await readJsonInput(file, { lines: true });
    const metadataFile = options.metadata ?? path.join(path.dirname(file), MMQA_METADATA_FILE);
    const metadata = mmqaMetadata(await readJsonInput(metadataFile));
    if (typeof metadata === 'string') throw new UserError(`${metadataFile}: ${metadata}`);
    rows = mmqaRows(Array.isArray(data) ? data : [data], metadata, options.images);
  }
  const result = await importBenchmark(store, rows, { ...base, dataset: options.format as 'webqa' | 'mmqa' });
  for (const rejected of result.rejected) process.stderr.write(`rejected ${rejected.row}: ${rejected.reason}\n`);
  return result;
}

const STAGES_IMPORTED = STAGE_ORDER.slice(0, STAGE_ORDER.indexOf('score') + 1);

export function register(program: Command): void {
  program
    .command('import')
    .description('import a dataset into the store: the M2RAG-Bench dev-set layout (the published benchmark or an m2rag export), or the WebQA / MultimodalQA test layout RagVL reads')
    .argument('<file>', 'm2rag: the dev-set JSON lines; webqa: WebQA_test_image.json; mmqa: MMQA_test_image.json')
    .addOption(new Option('--format <name>', 'input format').choices(['m2rag', 'webqa', 'mmqa']).default('m2rag'))
    .option('--images <dir>', "m2rag: folder the images' cached_image_url paths are relative to (default: the file's folder); webqa/mmqa: the dataset's image folder")
    .option('--captions <file>', "webqa: RagVL's caption file {image_id: caption} (WebQA_caption_test.json), used instead of the facts' captions")
    .option('--metadata <file>', `mmqa: the image metadata {doc_id: {path, caption}} (default: ${MMQA_METADATA_FILE} beside the file)`)
    .action(async (file: string, options: ImportFlags, command: Command) => {
      const global = globalOptions(command);
      const config = await configFor(global);
      await withStore(
        global,
        async (store) => {
          try {
            if (options.format !== 'm2rag') {
              const { counts } = await importRagvlBenchmark(store, file, options);
              process.stdout.write(`import ${options.format} ← ${file}: ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
              return;
            }
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
