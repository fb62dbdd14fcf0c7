// `m2rag eval`: evaluation of generations (M2RAG metrics, retrieval and QA metrics) and the
// standalone text→image retrieval harness (`m2rag eval retrieval`).
import { Command } from 'commander';
import { UserError } from '../../core/errors.js';
import { configFor, globalOptions, withStore } from './common.js';
import { loadModels } from '../../models/registry.js';
import { evaluateGenerations, formatEvalReport } from '../../runner/evaluate.js';
import { readLabels } from '../../runner/labels.js';
import { log } from '../../core/feedback.js';
import { evaluateTextToImage, readCaptions } from '../../../scorers/retrieval-eval.js';
import { OcrTextImageEmbedder } from '../../models/ocr-text-embedder.js';

export function register(program: Command): void {
  const evalCommand = program.command('eval').description('evaluate generations and retrieval');
  evalCommand
    .command('generations', { isDefault: true })
    .description('M2RAG metrics, retrieval metrics and QA metrics over the stored generations')
    .option('--strategy <name>', 'only generations of this strategy (single, multi, text)')
    .option('--labels <file>', 'gold labels (JSONL: {"id"|"query", "relevantImageIds"?, "answer"?, "keywords"?}); without it, relevant images = final score ≥ 8')
    .option('--json', 'print the report as one JSON object')
    .action(async (options: { strategy?: string; labels?: string; json?: boolean }, command: Command) => {
      const global = globalOptions(command);
      const config = await configFor(global);
      const labels = options.labels ? await readLabels(options.labels) : undefined;
      await withStore(global, async (store) => {
        const models = await loadModels(config, store);
        try {
          const report = await evaluateGenerations(store, models, { strategy: options.strategy, labels });
          if (report.generations === 0) throw new UserError(`store ${store.dir} has no generations${options.strategy ? ` of strategy ${options.strategy}` : ''}: run \`m2rag run\` first`);
          process.stdout.write(options.json ? JSON.stringify(report) + '\n' : formatEvalReport(report));
        } finally {
          await models.dispose();
        }
      });
    });
  evalCommand
    .command('retrieval')
    .description('text→image Recall@1/5/10 of the configured image embedder (models.clipDir; else OCR text embedded as text) over a folder of images and a captions CSV')
    .requiredOption('--images <dir>', 'folder with the images the captions name')
    .requiredOption('--captions <csv>', 'CSV with the header image,caption (several captions per image allowed)')
    .option('--limit <n>', 'only the first n captioned images', (value: string) => {
      if (!/^\d+$/.test(value) || Number(value) === 0) throw new UserError(`--limit: expected a whole number above 0, got "${value}"`);
      return Number(value);
    })
    .option('--json', 'print {"r1", "r5", "r10", "n", ...} as one JSON object')
    .action(async (options: { images: string; captions: string; limit?: number; json?: boolean }, command: Command) => {
      const global = globalOptions(command);
      const config = await configFor(global);
      const rows = await readCaptions(options.captions);
      await withStore(global, async (store) => {
        const models = await loadModels(config, store);
        try {
          const embedder = models.imageEmbedder ?? new OcrTextImageEmbedder(models.ocr, models.textEmbedder);
          const result = await evaluateTextToImage(options.images, rows, embedder, {
            limit: options.limit,
            batch: config.models.clipBatchSize,
            onProgress: (done, total) => log.debug({ done, total }, 'images embedded'),
          });
          for (const skipped of result.skipped) process.stderr.write(`skipped ${skipped.image}: ${skipped.reason}\n`);
          if (options.json) process.stdout.write(JSON.stringify(result) + '\n');
          else {
            process.stdout.write(
              `text→image retrieval with ${result.embedder}: ${result.captions} captions over ${result.n} images\n` +
                `R@1 ${result.r1}  R@5 ${result.r5}  R@10 ${result.r10}\n`,
            );
          }
        } finally {
          await models.dispose();
        }
      });
    });
}
