// The `m2rag` command line: global options, one module per command, one error policy.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isExpectedError } from '../core/errors.js';
import { exitGraceHeld } from './exit-grace.js';
import { log, setVerbosity } from '../core/feedback.js';
import { interrupt, interruptSignal, InterruptedError } from '../core/stage.js';
import { redactSecrets, StoreOpenError, StoreVersionError } from '../../storage/index.js';
/** The version in package.json, read once (tsx runs the sources, so there is no build step to stamp it). */
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Each command's module, in the order `--help` lists them. Only the module of the command being run
 * is loaded: together they import most of the project (stores, models, exporters, the viewer), and
 * loading them all cost every command, `crawl` included, about 0.3 s before its first step.
 */
const COMMANDS: ReadonlyArray<[name: string, load: () => Promise<{ register(program: Command): void }>]> = [
  ['build', () => import('./commands/build.js')],
  ['crawl', () => import('./commands/crawl.js')],
  ['process', () => import('./commands/process.js')],
  ['extract', () => import('./commands/extract.js')],
  ['dedup-images', () => import('./commands/dedup-images.js')],
  ['describe', () => import('./commands/describe.js')],
  ['ocr', () => import('./commands/ocr.js')],
  ['models', () => import('./commands/models.js')],
  ['score', () => import('./commands/score.js')],
  ['run', () => import('./commands/run.js')],
  ['eval', () => import('./commands/eval.js')],
  ['export', () => import('./commands/export.js')],
  ['refresh', () => import('./commands/refresh.js')],
  ['changes', () => import('./commands/changes.js')],
  ['import', () => import('./commands/import.js')],
  ['show', () => import('./commands/show.js')],
  ['serve', () => import('./commands/serve.js')],
  ['stats', () => import('./commands/stats.js')],
  ['worker', () => import('./commands/worker.js')],
  ['status', () => import('./commands/status.js')],
  ['merge', () => import('./commands/merge.js')],
  ['prompts', () => import('./commands/prompts.js')],
  ['doctor', () => import('./commands/doctor.js')],
];

/** The program with its global options and no commands. */
function globalProgram(): Command {
  return new Command('m2rag')
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
}

/** The command word of `args` (the arguments after `m2rag`): the first one that is neither a global option nor its value. */
function commandWordOf(program: Command, args: readonly string[]): string | undefined {
  const takesValue = new Set(program.options.filter((option) => option.required || option.optional).flatMap((option) => [option.long, option.short]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return args[i + 1];
    if (takesValue.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * The program for `argv`: with just the command it names, or with every command when it names none
 * the program knows (`--help`, `help`, a misspelt command: commander lists them or suggests one).
 */
export async function createProgram(argv: readonly string[]): Promise<Command> {
  const program = globalProgram();
  const word = commandWordOf(program, argv.slice(2));
  const named = COMMANDS.filter(([name]) => name === word);
  for (const [, load] of named.length > 0 ? named : COMMANDS) (await load()).register(program);
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
  const program = await createProgram(argv);
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

