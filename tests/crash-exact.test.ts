// Crash-exact stages: on the offline mirror build (examples/mirror.yaml, examples/mirror-queries.txt,
// the mirror served by a local static server), each stage's command (`build --filter-queries` for
// query intake, which has no command of its own) is stopped after its first, middle and last query (the kernel's test-only pause, so the point is the stage's own progress) by SIGKILL
// to the process group, and by Ctrl-C (SIGINT); the same command is then run again, and every record
// kind, every index and the `--format m2rag` export must equal an uninterrupted build's. `run` and
// `eval` talk to the local OpenAI-format stand-in (tests/helpers/openai-server.ts), standing in for
// a model endpoint, whose replies are a fixed function of the request.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import pLimit from 'p-limit';
import { ROOT, runCli } from './helpers/cli.js';
import { assertSameStore, copyModelCache, exportFiles, stopAfter, storeSnapshot } from './helpers/crash-harness.js';
import { MIRROR } from './helpers/mirror-store.js';
import { chatReply, startOpenAiServer } from './helpers/openai-server.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';

const CONFIG = path.join(ROOT, 'examples/mirror.yaml');
const QUERIES = path.join(ROOT, 'examples/mirror-queries.txt');
/** The mirror queries: the stops land after the first, the middle and the last of them. */
const POINTS = [1, 2, 3];

interface Step {
  command: string[];
  /** The stages the command runs, each stopped at every point. */
  stages: string[];
  /** The model endpoint (the stand-in) for the commands that need one. */
  models?: boolean;
  /** Compare the export too (from the scored store on). */
  exported?: boolean;
}

/** The commands of the mirror build in order, each run on the store the one before left. */
function mirrorBuild(siteUrl: string): Step[] {
  const crawl = ['--queries', QUERIES, '--search', 'local', '--site', `${siteUrl}/A/index.htm`, '--allow-private'];
  return [
    { command: ['crawl', ...crawl], stages: ['crawl'] },
    { command: ['process'], stages: ['process-text', 'process-images'] },
    { command: ['describe'], stages: ['describe'] },
    { command: ['score'], stages: ['score'], exported: true },
    { command: ['run', '--strategy', 'single'], stages: ['run:single'], models: true, exported: true },
    { command: ['eval'], stages: ['eval'], models: true },
  ];
}

/** Query intake has no command of its own: `build --filter-queries` runs it, then the rest of the build. */
function intakeBuild(siteUrl: string): Step[] {
  const crawl = ['--queries', QUERIES, '--search', 'local', '--site', `${siteUrl}/A/index.htm`, '--allow-private'];
  return [{ command: ['build', '--filter-queries', ...crawl], stages: ['filter-queries'], exported: true }];
}

/** The stand-in's reply depends on the request only, so a redone query gets the same answer; the judges' JSON forms are met. */
function standInReply(request: string): string {
  if (request.includes('Break the answer below into statements')) return JSON.stringify({ statements: ['Ray Charles played the piano.'] });
  if (request.includes('For each numbered statement')) return JSON.stringify({ statements: [{ statement: 'Ray Charles played the piano.', reason: 'stated', verdict: 1 }] });
  if (request.includes('was useful for arriving at the given answer')) return JSON.stringify({ reason: 'useful', verdict: 1 });
  return `7 — reply ${createHash('sha256').update(request).digest('hex').slice(0, 8)}`;
}

interface Built {
  store: string;
  /** The store each step started from. */
  before: string[];
  /** What each step left, and its export where the step compares one. */
  after: Array<Record<string, string[]>>;
  exported: Array<Record<string, string> | undefined>;
}

test('every stage, stopped by SIGKILL or Ctrl-C after its first, middle and last query and run again, equals an uninterrupted build', { timeout: 900_000 }, async (t) => {
  const site = await startStaticServer(MIRROR);
  t.after(() => site.close());
  const standIn = await startOpenAiServer({ chat: (request) => chatReply(standInReply(JSON.stringify(request.body.messages))) });
  t.after(() => standIn.close());
  const modelEnv = { M2RAG_LLM_URL: standIn.url, M2RAG_LLM_MODEL: 'stand-in' };
  const dir = await tempDir(t);
  const args = (store: string, step: Step): string[] => ['--store', store, '--config', CONFIG, ...step.command];
  const exportOf = async (store: string, out: string): Promise<Record<string, string>> => {
    const done = await runCli(['--store', store, 'export', '--format', 'm2rag', '--out', out]);
    assert.equal(done.code, 0, done.stderr);
    return exportFiles(out);
  };

  /** An uninterrupted build from an empty store (with `warmFrom`'s cached model outputs), step by step. */
  const build = async (name: string, steps: Step[], warmFrom?: string): Promise<Built> => {
    const store = path.join(dir, name);
    await mkdir(store);
    if (warmFrom) await copyModelCache(warmFrom, store);
    const built: Built = { store, before: [], after: [], exported: [] };
    for (const [i, step] of steps.entries()) {
      built.before.push(`${store}-before-${i}`);
      await cp(store, built.before[i]!, { recursive: true });
      const done = await runCli(args(store, step), { env: step.models ? modelEnv : {}, timeoutMs: 300_000 });
      assert.equal(done.code, 0, done.stderr);
      built.after.push(await storeSnapshot(store));
      built.exported.push(step.exported ? await exportOf(store, `${store}-export-${i}`) : undefined);
    }
    return built;
  };
  // The first build computes every model output (OCR, embeddings); the second starts from an empty
  // store with those outputs cached, as a rerun would, and must give the same records and export.
  // The stopped runs start from the second build's stores, so they spend little time on models.
  const mirror = mirrorBuild(site.url);
  const cold = await build('cold', mirror);
  const reference = await build('reference', mirror, cold.store);
  assert.ok(reference.after[3]!.scores!.length > 100, 'the reference build scored the mirror pages');
  assertSameStore(reference.after.at(-1)!, cold.after.at(-1)!, 'a second uninterrupted build');
  assert.deepEqual(reference.exported[4], cold.exported[4], 'a second uninterrupted build: export');
  const intake = intakeBuild(site.url);
  const intakeReference = await build('intake', intake, cold.store);

  const trials = [
    { steps: mirror, built: reference },
    { steps: intake, built: intakeReference },
  ].flatMap(({ steps, built }) =>
    steps.flatMap((step, i) => step.stages.flatMap((stage) => POINTS.flatMap((point) => (['SIGKILL', 'SIGINT'] as const).map((signal) => ({ step, i, built, stage, point, signal }))))),
  );
  assert.equal(trials.length, 48, 'eight stages, three points, two signals');
  // Two at a time (two cores); each has its own store and process group.
  const limit = pLimit(2);
  await Promise.all(
    trials.map(({ step, i, built, stage, point, signal }) =>
      limit(async () => {
        const label = `${step.command[0]}: ${signal} after ${stage} query ${point}`;
        const trial = path.join(dir, `trial-${stage.replace(':', '-')}-${point}-${signal}`);
        await cp(built.before[i]!, trial, { recursive: true });
        const env = step.models ? modelEnv : {};
        const stopped = await stopAfter(args(trial, step), stage, point, signal, env);
        if (signal === 'SIGINT') assert.equal(stopped.code, 130, `${label}: ${stopped.stderr}`);
        else assert.equal(stopped.signal, 'SIGKILL', label);
        const again = await runCli(args(trial, step), { env, timeoutMs: 300_000 });
        assert.equal(again.code, 0, `${label}: ${again.stderr}`);
        assertSameStore(await storeSnapshot(trial), built.after[i]!, label);
        if (built.exported[i]) assert.deepEqual(await exportOf(trial, `${trial}-export`), built.exported[i], `${label}: export`);
      }),
    ),
  );
});
