// `m2rag run`: retrieve → rerank → generate for the store's queries, one Generation per query.
import { Command, Option, InvalidArgumentError } from 'commander';
import { addStageOptions, configFor, globalOptions, parsePositiveInt, shardFrom, withStore } from './common.js';
import { loadModels } from '../../models/registry.js';
import { readLabels } from '../../runner/labels.js';
import { runQueries, type RunReport } from '../../runner/run.js';
import type { Strategy } from '../../runner/generate.js';

function parseProbability(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number from 0 to 1.');
  return n;
}

function formatRun(report: RunReport): string {
  const lines: string[] = [];
  const c = report.corpus;
  lines.push(`corpus: ${c.images} kept images (${c.imageMethod}, ${c.imageIndex} search), ${c.chunks} chunks (${c.chunkIndex} search)`);
  lines.push(`rerank: ${report.threshold.method}, threshold ${report.threshold.value.toFixed(3)} (${report.threshold.source})`);
  for (const q of report.queries) {
    const timing = `retrieve ${q.retrieveMs.toFixed(0)} ms, rerank ${q.rerankMs.toFixed(0)} ms, generate ${q.generateMs.toFixed(0)} ms`;
    lines.push(
      q.error
        ? `${q.queryId}: generation failed (${q.error}); retrieved ${q.retrieved}, kept ${q.keptAfterRerank}; ${timing}`
        : `${q.queryId}: ${q.method}, retrieved ${q.retrieved}, kept ${q.keptAfterRerank}, cited ${q.cited} image(s); ${timing}`,
    );
  }
  const counts = Object.entries(report.counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}=${n}`).join(' ');
  lines.push(`run: ${counts || 'nothing to do'}`);
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  addStageOptions(
    program
      .command('run')
      .description('retrieve, rerank and generate an answer for each query in the store')
      .addOption(new Option('--strategy <name>', 'single (one prompt), multi (text, then image placement, then refinement) or text (no images)').choices(['single', 'multi', 'text']))
      .addOption(new Option('--top-k <n>', 'images retrieved per query').argParser(parsePositiveInt))
      .addOption(new Option('--top-n <n>', 'images kept after reranking').argParser(parsePositiveInt))
      .addOption(new Option('--threshold <p>', 'rerank threshold (0–1)').argParser(parseProbability))
      .option('--dev-labels <file>', 'labelled dev set (JSONL: {"id"|"query", "relevantImageIds"}); the threshold is computed from it')
      .option('--json', 'print the run report as one JSON object'),
  ).action(
    async (
      options: { strategy?: Strategy; topK?: number; topN?: number; threshold?: number; devLabels?: string; json?: boolean; rank: number; worldSize: number },
      command: Command,
    ) => {
      const global = globalOptions(command);
      const config = await configFor(global, {
        run: { strategy: options.strategy, topK: options.topK, topN: options.topN, threshold: options.threshold, fallbackThreshold: options.threshold },
      });
      const shard = shardFrom(options);
      const devLabels = options.devLabels ? await readLabels(options.devLabels) : undefined;
      await withStore(global, async (store) => {
        const models = await loadModels(config, store);
        try {
          const report = await runQueries(store, config, models, { strategy: config.run.strategy, shard, devLabels });
          process.stdout.write(options.json ? JSON.stringify(report) + '\n' : formatRun(report));
        } finally {
          await models.dispose();
        }
      });
    },
  );
}
