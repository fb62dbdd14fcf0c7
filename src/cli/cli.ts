// The `m2rag` command line: global options, one module per command, one error policy.
import { Command, CommanderError } from 'commander';
import { isExpectedError } from '../core/errors.js';
import { log } from '../core/feedback.js';
import { StoreVersionError } from '../../storage/index.js';
import { register as registerBuild } from './commands/build.js';
import { register as registerCrawl } from './commands/crawl.js';
import { register as registerDedupImages } from './commands/dedup-images.js';
import { register as registerDescribe } from './commands/describe.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerExport } from './commands/export.js';
import { register as registerExtract } from './commands/extract.js';
import { register as registerModels } from './commands/models.js';
import { register as registerOcr } from './commands/ocr.js';
import { register as registerPending } from './commands/pending.js';
import { register as registerProcess } from './commands/process.js';
import { register as registerRun } from './commands/run.js';
import { register as registerScore } from './commands/score.js';
import { register as registerStats } from './commands/stats.js';

export function createProgram(): Command {
  const program = new Command('m2rag')
    .description('Build multi-modal RAG (M2RAG) datasets from the web and run retrieve → rerank → generate over them')
    .option('--store <dir>', 'corpus store directory', './m2rag-store')
    .option('--config <file>', 'config file (YAML or JSON); flags override it')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerBuild(program);
  registerCrawl(program);
  registerProcess(program);
  registerExtract(program);
  registerDedupImages(program);
  registerDescribe(program);
  registerOcr(program);
  registerModels(program);
  registerScore(program);
  registerRun(program);
  registerEval(program);
  registerExport(program);
  registerPending(program);
  registerStats(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (usage errors, --help, --version).
      return error.exitCode === 0 ? 0 : 2;
    }
    // An expected failure is one line; anything else is a bug, logged with its stack.
    if (error instanceof StoreVersionError) {
      process.stderr.write(`m2rag: ${error.message}\n`);
      return 2;
    }
    if (isExpectedError(error)) {
      process.stderr.write(`m2rag: ${error.message}\n`);
      return error.exitCode;
    }
    log.error({ err: error }, 'unexpected error');
    return 1;
  }
}

