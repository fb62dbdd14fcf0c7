// `m2rag eval`: the eval stage over the stored generations (M2RAG metrics, retrieval and QA
// metrics), then the corpus table from the stored results; and the standalone text→image
// retrieval harness (`m2rag eval retrieval`).
import { Command } from 'commander';
import { StageFailedError, UserError } from '../../core/errors.js';
import { addStageOptions, configFor, globalOptions, shardFrom, withModelServices, withStore, type StageFlags } from './common.js';
import { runStages } from '../pipeline.js';
import type { EvalReport } from '../../runner/evaluate.js';
import { log } from '../../core/feedback.js';
import { M2RAG_METRICS, type M2ragMetric } from '../../../scorers/m2rag-metrics.js';
import { registerAgreement } from './agreement.js';
import { registerRagvl } from './eval-ragvl.js';

/** Why a metric has no judgment at all, from which judges were configured. */
function unjudgedReason(metric: M2ragMetric, report: EvalReport): string {
  if (metric === 'image_recall') return 'no answer evaluated';
  if (metric.startsWith('image_')) return report.judges.vision ? 'no answer cites an image' : 'not judged (no vision model configured: models.visionUrl)';
  return report.judges.text ? 'no answer evaluated' : 'not judged (no LLM configured: models.llmUrl)';
}

const fixed = (value: number | undefined): string => (value === undefined ? '—' : value.toFixed(3));

/** The metrics table `m2rag eval` prints: the reference's means (failed judgments as 0) and our judged-only means. */
export function formatEvalReport(report: EvalReport): string {
  const lines: string[] = [];
  const judges = report.judge === 'none' ? 'none' : `text ${report.judges.text ?? 'none'}, images ${report.judges.vision ?? 'none'}`;
  lines.push(`generations evaluated: ${report.generations}   judges: ${judges}`);
  lines.push('');
  lines.push(`${'metric'.padEnd(20)}${'mean'.padStart(8)}${'n'.padStart(6)}${'failed'.padStart(8)}${'judged-only'.padStart(13)}`);
  for (const name of M2RAG_METRICS) {
    const s = report.m2rag[name];
    if (s.mean === undefined) {
      lines.push(`${name.padEnd(20)}${'—'.padStart(8)}   ${unjudgedReason(name, report)}`);
      continue;
    }
    const note = name === 'image_recall' && report.recallWithoutPositives > 0 ? `   (${report.recallWithoutPositives} answer(s) with no input image scored ≥ 8 count 1.0, as in the reference)` : '';
    lines.push(`${name.padEnd(20)}${fixed(s.mean).padStart(8)}${String(s.n).padStart(6)}${String(s.failed).padStart(8)}${fixed(s.judgedMean).padStart(13)}${note}`);
  }
  const o = report.overall;
  const judgedOnly = `judged-only ${fixed(o.judgedOnly)}   failed judgments ${o.failedJudgments}`;
  if (o.reference !== undefined) lines.push(`${'overall'.padEnd(20)}${fixed(o.reference).padStart(8)}   ${judgedOnly}`);
  else {
    const why = report.judge === 'none' ? 'nothing judged: no judge model configured (models.llmUrl, models.visionUrl)' : `no judgment of ${o.unjudged.join(', ')}`;
    lines.push(`${'overall'.padEnd(20)}${'—'.padStart(8)}   ${why}; ${judgedOnly}`);
  }
  if (report.retrieval) {
    const r = report.retrieval;
    const source = { 'labels-file': 'labels file', 'scores>=8': 'images with final score ≥ 8', 'labels-file+scores>=8': 'labels file, or final score ≥ 8 where evaluated without it' }[r.labels];
    lines.push('');
    lines.push(`retrieval (relevant = ${source}; ${r.queries} queries)`);
    lines.push(`  P@${r.n} ${r.precision.toFixed(3)}   R@${r.n} ${r.recall.toFixed(3)}   F1@${r.n} ${r.f1.toFixed(3)}   Recall@${r.k} ${r.recallAtK === undefined ? '— (no query has relevant images)' : r.recallAtK.toFixed(3)}`);
  }
  if (report.qa) {
    lines.push('');
    lines.push(`QA (${report.qa.queries} labelled queries)`);
    lines.push(`  exact match ${report.qa.exactMatch?.toFixed(3) ?? '—'}   keyword accuracy ${report.qa.keywordAccuracy?.toFixed(3) ?? '—'}`);
  }
  const reasons = Object.entries(report.failedReasons).sort(([a], [b]) => a.localeCompare(b));
  if (reasons.length) {
    lines.push('');
    lines.push('failed judgments');
    for (const [reason, n] of reasons) lines.push(`  ${reason}: ${n}`);
  }
  if (report.notEvaluated > 0) {
    lines.push('');
    lines.push(`not evaluated by ${report.judge}: ${report.notEvaluated} generation(s) (queries already done for eval are redone with --force)`);
  }
  return lines.join('\n') + '\n';
}

type EvalFlags = StageFlags & { strategy?: string; labels?: string; json?: boolean };

export function register(program: Command): void {
  const evalCommand = program.command('eval').description('evaluate generations and retrieval');
  registerGenerations(evalCommand);
  registerRetrieval(evalCommand);
  registerAgreement(evalCommand);
  registerRagvl(evalCommand);
}

function registerGenerations(evalCommand: Command): void {
  addStageOptions(
    evalCommand
      .command('generations', { isDefault: true })
      .description('M2RAG metrics, retrieval metrics and QA metrics over the stored generations')
      .option('--strategy <name>', 'only generations of this strategy (single, multi, mllm, ragvl, ragvl-short, text)')
      .option('--labels <file>', 'gold labels (JSONL: {"id"|"query", "relevantImageIds"?, "answer"?, "keywords"?}); without it, relevant images = final score ≥ 8')
      .option('--json', 'print the report as one JSON object'),
  ).action(async (options: EvalFlags, command: Command) => {
    const global = globalOptions(command);
    const config = await configFor(global);
    const shard = shardFrom(options);
    // The evaluation code (and the model libraries it reaches) loads only when `eval` runs.
    const [{ EvalStage, judgeNameOf, summarizeEvaluation }, { readLabels }] = await Promise.all([import('../../runner/evaluate.js'), import('../../runner/labels.js')]);
    const labels = options.labels ? await readLabels(options.labels) : undefined;
    await withStore(global, (store) =>
      withModelServices(config, store, async (services) => {
        const print = async (): Promise<void> => {
          const report = await summarizeEvaluation(store, { judge: judgeNameOf(await services.models()), strategy: options.strategy, shard });
          process.stdout.write(options.json ? JSON.stringify(report) + '\n' : formatEvalReport(report));
        };
        try {
          await runStages(store, config, [new EvalStage({ strategy: options.strategy, labels })], { shard, force: options.force, services });
        } catch (error) {
          // Every query had a failed judgment: the table still shows what was judged, and what failed.
          if (error instanceof StageFailedError) await print();
          throw error;
        }
        await print();
      }),
    );
  });
}

function registerRetrieval(evalCommand: Command): void {
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
      const [{ evaluateTextToImage, readCaptions }, { loadModels }, { OcrTextImageEmbedder }] = await Promise.all([
        import('../../../scorers/retrieval-eval.js'),
        import('../../models/registry.js'),
        import('../../models/ocr-text-embedder.js'),
      ]);
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
        // The store only caches embeddings here, so a new one may be made for it.
      }, { create: true });
    });
}
