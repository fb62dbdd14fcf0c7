// The `m2rag` command line: global options, one module per command, one error policy.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isExpectedError } from '../core/errors.js';
import { exitGraceHeld } from './exit-grace.js';
import { log, setVerbosity } from '../core/feedback.js';
import { interrupt, interruptSignal, InterruptedError } from '../core/stage.js';
import { redactSecrets, StoreOpenError, StoreVersionError } from '../../storage/index.js';
import { register as registerBuild } from './commands/build.js';
import { register as registerChanges } from './commands/changes.js';
import { register as registerCrawl } from './commands/crawl.js';
import { register as registerDedupImages } from './commands/dedup-images.js';
import { register as registerDescribe } from './commands/describe.js';
import { register as registerDoctor } from './commands/doctor.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerExport } from './commands/export.js';
import { register as registerExtract } from './commands/extract.js';
import { register as registerImport } from './commands/import.js';
import { register as registerMerge } from './commands/merge.js';
import { register as registerModels } from './commands/models.js';
import { register as registerOcr } from './commands/ocr.js';
import { register as registerPending } from './commands/pending.js';
import { register as registerProcess } from './commands/process.js';
import { register as registerRefresh } from './commands/refresh.js';
import { register as registerPrompts } from './commands/prompts.js';
import { register as registerRun } from './commands/run.js';
import { register as registerScore } from './commands/score.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerShow } from './commands/show.js';
import { register as registerStats } from './commands/stats.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerWorker } from './commands/worker.js';

/** The version in package.json, read once (tsx runs the sources, so there is no build step to stamp it). */
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function createProgram(): Command {
  const program = new Command('m2rag')
    // `--version` is read by main() only as the first argument: after a command it is the command's
    // own option (`export --version N`, the dataset at store version N).
    .version(PACKAGE_VERSION, '-V', 'print the m2rag version (or --version as the first argument)')
    .description('Build multi-modal RAG (M2RAG) datasets from the web and run retrieve → rerank → generate over them')
    .option('--store <dir>', 'corpus store directory', './m2rag-store')
    .option('--config <file>', 'config file (YAML or JSON); flags override it')
    .option('--prompts <file>', 'prompts file (YAML or JSON, name: text) replacing default prompt wording; see `m2rag prompts list`')
    .option('-q, --quiet', 'print warnings, errors and results only: no progress, no info logs')
    .option('--debug', 'print debug logs, and the stack trace of an unexpected error')
    .hook('preAction', (command) => {
      const { quiet, debug } = command.opts<{ quiet?: boolean; debug?: boolean }>();
      debugging = Boolean(debug);
      setVerbosity(debug ? 'debug' : quiet ? 'quiet' : 'normal');
    })
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
  registerRefresh(program);
  registerChanges(program);
  registerImport(program);
  registerPending(program);
  registerShow(program);
  registerServe(program);
  registerStats(program);
  registerWorker(program);
  registerStatus(program);
  registerMerge(program);
  registerPrompts(program);
  registerDoctor(program);
  return program;
}

const INTERRUPTED = 'interrupted: run the same command to resume\n';
/** How long the first signal waits for in-flight batches before exiting anyway (each batch is atomic, so resume stays exact). */
const GRACE_MS = 1_500;

let grace: NodeJS.Timeout | undefined;
/** `--debug` was given: an unexpected error is logged with its stack. */
let debugging = false;

/**
 * The first SIGINT/SIGTERM stops new work (stages check the interrupt signal) and lets what is in
 * flight commit; a second one, or the grace period running out, exits at once.
 */
function handleSignals(): () => void {
  const onSignal = (): void => {
    if (interruptSignal.aborted) exitInterrupted();
    interrupt();
    grace = setTimeout(() => exitGraceHeld() || exitInterrupted(), GRACE_MS);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

function exitInterrupted(): never {
  process.stderr.write(INTERRUPTED);
  process.exit(130);
}

export async function main(argv: string[]): Promise<number> {
  if (argv[2] === '--version') {
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  const program = createProgram();
  const stopHandling = handleSignals();
  try {
    await program.parseAsync(argv);
    return interrupted() ?? 0;
  } catch (error) {
    const code = interrupted();
    if (code !== undefined || error instanceof InterruptedError) return code ?? 130;
    if (error instanceof CommanderError) {
      // Commander has already printed its message (usage errors, --help, --version).
      return error.exitCode === 0 ? 0 : 2;
    }
    // An expected failure is one line; anything else is a bug, logged with its stack.
    if (error instanceof StoreVersionError || error instanceof StoreOpenError) {
      process.stderr.write(`m2rag: ${redactSecrets(error.message)}\n`);
      return 2;
    }
    if (isExpectedError(error)) {
      process.stderr.write(`m2rag: ${redactSecrets(error.message)}\n`);
      return error.exitCode;
    }
    // A bug: one line by default, the stack trace with --debug (what a bug report needs).
    if (debugging) log.error({ err: error }, 'unexpected error');
    else process.stderr.write(`m2rag: internal error: ${error instanceof Error ? error.message : String(error)} (a bug: rerun with --debug for the stack trace and report it)\n`);
    return 1;
  } finally {
    stopHandling();
  }
}

/** 130 with its one line once an interrupt stopped the command (whatever the command then threw). */
function interrupted(): number | undefined {
  if (!interruptSignal.aborted) return undefined;
  clearTimeout(grace);
  process.stderr.write(INTERRUPTED);
  return 130;
}

