// `m2rag eval`: evaluation of generations (M2RAG metrics, retrieval and QA metrics) and the
// standalone text→image retrieval harness (`m2rag eval retrieval`).
import { Command } from 'commander';
import { NotImplementedError, UserError } from '../errors.js';
import { configFor, globalOptions, withStore } from './common.js';
import { loadModels } from '../models/registry.js';
import { evaluateGenerations, formatEvalReport } from '../runner/evaluate.js';
import { readLabels } from '../runner/labels.js';

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
    .description('text→image Recall@K over a folder of images and a captions CSV')
    .allowUnknownOption()
    .action(() => {
      throw new NotImplementedError('eval retrieval');
    });
}
