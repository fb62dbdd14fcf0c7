// `m2rag eval ragvl`: RagVL's table over imported WebQA / MultimodalQA questions (src/runner/ragvl-eval.ts).
import { Command } from 'commander';
import { configFor, globalOptions, withStore } from './common.js';
import { UserError } from '../../core/errors.js';
import { evaluateRagvl, type DatasetAccuracy, type RagvlEvalReport } from '../../runner/ragvl-eval.js';
import type { PooledPrf } from '../../../scorers/ragvl-metrics.js';

const fixed = (value: number | undefined): string => (value === undefined ? '—' : value.toFixed(3));

function accuracyLines(name: string, d: DatasetAccuracy): string[] {
  const a = d.accuracy;
  const lines = [`${name}: ${d.questions} questions, ${d.unanswered} without an answer`];
  lines.push(`  accuracy   single ${fixed(a.single)} (n=${a.n.single})   multi ${fixed(a.multi)} (n=${a.n.multi})   all ${fixed(a.all)} (n=${a.n.all})`);
  if (d.byQcate) lines.push(`  by Qcate   ${Object.entries(d.byQcate).map(([q, s]) => `${q} ${fixed(s.mean)} (n=${s.n})`).join('   ')}`);
  return lines;
}

const prfLine = (label: string, p: PooledPrf): string => `  ${label.padEnd(8)}P ${fixed(p.precision)}   R ${fixed(p.recall)}   F1 ${fixed(p.f1)}   (${p.correct} of ${p.retrieved} kept are gold; ${p.gold} gold)`;

export function formatRagvlReport(report: RagvlEvalReport): string {
  const lines = [`strategy ${report.strategy}`];
  if (report.webqa) lines.push(...accuracyLines('WebQA', report.webqa));
  if (report.mmqa) lines.push(...accuracyLines('MMQA (exact match)', report.mmqa));
  if (report.rerank) {
    const r = report.rerank;
    lines.push(`rerank (threshold ${r.threshold.toFixed(3)}, ${r.queries} queries)`);
    lines.push(prfLine(`@N=${r.atN.k}`, r.atN), prfLine('@5', r.at5), prfLine('@10', r.at10));
  } else lines.push('rerank: no answer of this strategy recorded a rerank');
  return lines.join('\n') + '\n';
}

export function registerRagvl(evalCommand: Command): void {
  evalCommand
    .command('ragvl')
    .description('RagVL\'s table over imported WebQA / MultimodalQA questions: accuracy (WebQA by Qcate, MMQA exact match), single- vs multi-image, rerank P/R/F1 at N, 5 and 10')
    .option('--strategy <name>', 'the answers to score (default ragvl-short)', 'ragvl-short')
    .option('--json', 'print the report as one JSON object')
    .action(async (options: { strategy: string; json?: boolean }, command: Command) => {
      const global = globalOptions(command);
      const config = await configFor(global);
      await withStore(global, async (store) => {
        const report = await evaluateRagvl(store, { strategy: options.strategy, topN: config.run.topN });
        if (!report.webqa && !report.mmqa) throw new UserError(`store ${store.dir} has no benchmark questions: import them with \`m2rag import --format webqa|mmqa\``);
        process.stdout.write(options.json ? JSON.stringify(report) + '\n' : formatRagvlReport(report));
      });
    });
}
