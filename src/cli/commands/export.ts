// `m2rag export`: the dataset in the M2RAG benchmark layout, as the LLaMA-Factory training set, or as flat JSONL.
// The export is written to a staging folder beside `--out` and swapped in at the end, so `--out`
// never mixes files of two exports and an interrupted export leaves the previous one intact.
import { randomBytes } from 'node:crypto';
import { access, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { configFor, globalOptions, parseNonNegativeInt, withStore } from './common.js';
import { writeStoredVersion } from './export-version.js';
import { StageFailedError, UserError } from '../../core/errors.js';
import { RAGVL_EXPORT_OPTIONS, mineForExport, miningOptions, type RagvlExportFlags } from './export-ragvl.js';
import { exportDataset, EXPORT_FORMATS, EXPORT_MARKER, MissingBlobError, type ExportFormat } from '../../../storage/export/index.js';

/** `--out` may be missing, empty, or an earlier m2rag export; anything else is the user's data. */
async function checkReplaceable(outDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(outDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new UserError(`--out ${outDir}: cannot use it as an export folder (${code ?? String(error)})`);
  }
  if (entries.length === 0 || entries.includes(EXPORT_MARKER)) return;
  throw new UserError(`--out ${outDir}: folder is not empty and holds no earlier m2rag export; give a new or empty folder`);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export the dataset: m2rag (the M2RAG-Bench dev-set layout with image files), llama-factory (the training set: ShareGPT conversations and dataset_info.json), jsonl (scored elements), ragvl-rerank (Yes/No reranker pairs with mined hard negatives) or ragvl-qa (noise-injected generator samples)')
    .addOption(new Option('--format <name>', 'export format').choices([...EXPORT_FORMATS]).default('m2rag'))
    .requiredOption('--out <dir>', 'output folder (created if missing; an earlier export there is replaced)')
    .option('--allow-missing', 'leave out an image whose blob file is gone (counted) instead of refusing to export', false)
    .option('--version <n>', 'the dataset as it was at store version n (`m2rag refresh` numbers them; m2rag format only)', parseNonNegativeInt)
    .addOption(RAGVL_EXPORT_OPTIONS.minPositiveScore)
    .addOption(RAGVL_EXPORT_OPTIONS.negativesPerPositive)
    .addOption(RAGVL_EXPORT_OPTIONS.mineTopK)
    .action(async (options: { format: ExportFormat; out: string; allowMissing: boolean; version?: number } & RagvlExportFlags, command: Command) => {
      const global = globalOptions(command);
      const config = await configFor(global);
      const outDir = path.resolve(options.out);
      await checkReplaceable(outDir);
      if (options.version !== undefined && options.format !== 'm2rag') throw new UserError(`--version keeps the m2rag format only; drop --format ${options.format} or --version`);
      const staging = `${outDir}.partial-${randomBytes(4).toString('hex')}`;
      try {
        await withStore(global, async (store) => {
          if (options.version !== undefined) {
            const files = await writeStoredVersion(store, options.version, staging);
            if (await exists(outDir)) await rm(outDir, { recursive: true });
            await rename(staging, outDir);
            process.stdout.write(`export m2rag (version ${options.version}) → ${options.out}: files=${files}\n`);
            return;
          }
          const mining = options.format.startsWith('ragvl-') ? miningOptions(options, config) : undefined;
          const ragvl = mining && (await mineForExport(store, config, mining));
          const summary = await exportDataset(store, {
            format: options.format,
            outDir: staging,
            sharegptMinMetric: config.run.sharegptMinMetric,
            // Only what the export itself decides; the settings that built the data come from the store.
            settings: options.format === 'llama-factory' ? { 'Training-sample selection (this export)': { sharegptMinMetric: config.run.sharegptMinMetric } } : ragvl ? { 'RagVL training-data mining (this export)': ragvl.settings } : {},
            ragvl,
            allowMissing: options.allowMissing,
          }).catch((error: unknown) => {
            if (error instanceof MissingBlobError) throw new StageFailedError(`export: ${error.message}`);
            throw error;
          });
          if (await exists(outDir)) await rm(outDir, { recursive: true });
          await rename(staging, outDir);
          const counts = Object.entries(summary.counts).map(([k, v]) => `${k}=${String(v)}`).join(' ');
          process.stdout.write(`export ${options.format} → ${options.out}: ${counts}\n`);
        });
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    });
}
