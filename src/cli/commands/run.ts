// `m2rag run`: the run stage over the store's queries, one Generation per query and strategy: M2RAG
// single-, multi-stage or MLLM generation over each query's kept input, or RagVL's retrieve →
// rerank → generate. Queries already done for the strategy are skipped unless `--force`.
import { Command, Option, InvalidArgumentError } from 'commander';
import { addStageOptions, configFor, globalOptions, parsePositiveInt, shardFrom, withModelServices, withStore, type StageFlags } from './common.js';
import { StageFailedError } from '../../core/errors.js';
import type { StageReport } from '../../core/stage.js';
import { runStages } from '../pipeline.js';
import { readLabels } from '../../runner/labels.js';
import { RunStage, type RunSettings } from '../../runner/run.js';
import type { Strategy } from '../../runner/generate.js';
import { RUN_STRATEGIES } from '../../core/stages.js';
import { RERANK_CAPTIONS, type RerankCaption } from '../../core/config.js';

function parseProbability(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number from 0 to 1.');
  return n;
}

function formatRun(stage: RunStage, settings: RunSettings, report: StageReport | undefined): string {
  const lines: string[] = [];
  if (settings.fallback) lines.push(`notice: ${settings.fallback}`);
  const c = settings.corpus;
  if (c) lines.push(`corpus (${settings.pool} pool): ${c.images} kept images (${c.imageMethod}, ${c.imageIndex} search), ${c.chunks} kept chunks (${c.chunkIndex} search)`);
  if (settings.threshold) lines.push(`rerank: ${settings.threshold.method}, threshold ${settings.threshold.value.toFixed(3)} (${settings.threshold.source === 'flag' ? '--threshold' : settings.threshold.source})`);
  for (const q of stage.reports) {
    const timing = c ? `retrieve ${q.retrieveMs.toFixed(0)} ms, rerank ${q.rerankMs.toFixed(0)} ms, generate ${q.generateMs.toFixed(0)} ms` : `generate ${q.generateMs.toFixed(0)} ms`;
    const inputs = c ? `retrieved ${q.retrieved}, kept ${q.keptAfterRerank}` : `${q.chunks} splits, ${q.retrieved} images in`;
    lines.push(q.error ? `${q.queryId}: generation failed (${q.error}); ${inputs}; ${timing}` : `${q.queryId}: ${q.method}, ${inputs}, cited ${q.cited} image(s); ${timing}`);
  }
  if (report && report.skipped > 0) lines.push(`${report.skipped} queries already done for ${stage.name}, skipped (--force redoes them)`);
  return lines.join('\n') + '\n';
}

function runJson(stage: RunStage, settings: RunSettings, report: StageReport | undefined): string {
  return JSON.stringify({ ...settings, queries: stage.reports, skipped: report?.skipped, failed: report?.failed, counts: report?.counts }) + '\n';
}

type RunFlags = StageFlags & { strategy?: Strategy; caption?: RerankCaption; pool?: 'query' | 'corpus'; topK?: number; topN?: number; threshold?: number; devLabels?: string; json?: boolean };

export function register(program: Command): void {
  addStageOptions(
    program
      .command('run')
      .description('generate an answer for each query in the store (M2RAG single/multi/mllm, or RagVL retrieve → rerank → generate)')
      .addOption(
        new Option('--strategy <name>', 'single (one LLM prompt), multi (text, then image placement, then refinement), mllm (images sent to a vision model), ragvl (retrieve, rerank, generate), ragvl-short (retrieve, rerank, then a vision model answers in a word or phrase) or text (no images)').choices([...RUN_STRATEGIES]),
      )
      .addOption(new Option('--caption <source>', 'the caption the vision reranker sees: none (caption-agnostic template), description (ours) or dataset (the imported benchmark\'s own)').choices([...RERANK_CAPTIONS]))
      .addOption(new Option('--pool <pool>', 'ragvl/text: retrieve among the query\'s own kept elements or the whole corpus\'s').choices(['query', 'corpus']))
      .addOption(new Option('--top-k <n>', 'images retrieved per query').argParser(parsePositiveInt))
      .addOption(new Option('--top-n <n>', 'images kept after reranking').argParser(parsePositiveInt))
      .addOption(new Option('--threshold <p>', 'rerank threshold (0–1)').argParser(parseProbability))
      .option('--dev-labels <file>', 'labelled dev set (JSONL: {"id"|"query", "relevantImageIds"}); the threshold is computed from it')
      .option('--json', 'print the run report (with each answer) as one JSON object'),
  ).action(async (options: RunFlags, command: Command) => {
    const global = globalOptions(command);
    const config = await configFor(global, {
      run: { strategy: options.strategy, caption: options.caption, pool: options.pool, topK: options.topK, topN: options.topN, threshold: options.threshold, fallbackThreshold: options.threshold },
    });
    const shard = shardFrom(options);
    const devLabels = options.devLabels ? await readLabels(options.devLabels) : undefined;
    const stage = new RunStage({ strategy: config.run.strategy, devLabels, thresholdSource: options.threshold === undefined ? 'config' : 'flag' });
    const print = (report?: StageReport): void => {
      if (stage.settings) process.stdout.write((options.json ? runJson : formatRun)(stage, stage.settings, report));
    };
    await withStore(global, (store) =>
      withModelServices(config, store, async (services) => {
        try {
          const [report] = await runStages(store, config, [stage], { shard, force: options.force, services });
          print(report);
        } catch (error) {
          // Every query failed: their lines hold the reasons.
          if (error instanceof StageFailedError) print();
          throw error;
        }
      }),
    );
  });
}
