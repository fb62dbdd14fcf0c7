// The stages of m2rag, in order. A stage works on a query only once every earlier stage has
// finished it, and (re)doing a query clears the later stages' markers for it, so they redo it too.
import type { Query } from '../../storage/index.js';
export const STAGE_ORDER = ['filter-queries', 'crawl', 'process-text', 'process-images', 'describe', 'score', 'run', 'eval'] as const;
export type StageName = (typeof STAGE_ORDER)[number];

/** The generation strategies of `run`; each has its own done marker, `run:<strategy>`. */
export const RUN_STRATEGIES = ['single', 'multi', 'mllm', 'ragvl', 'ragvl-short', 'text'] as const;
export type RunStrategy = (typeof RUN_STRATEGIES)[number];

// A stage with variants marks queries done per variant (`run:multi`), so switching strategy never
// skips a query because another strategy answered it.
const VARIANTS: Partial<Record<StageName, readonly string[]>> = { run: RUN_STRATEGIES };

/** The query intake stage. It is off by default, so later stages wait on it only when it is on. */
export const INTAKE_STAGE = 'filter-queries';

/** Why a later stage skips a query: the intake filter rejected it (its verdict, stored on the query). */
export function intakeSkipReason(query: Query): string | undefined {
  return query.intake?.verdict === 'rejected' ? `rejected-at-intake:${query.intake.reason ?? 'unspecified'}` : undefined;
}

/** The marker name of a stage variant. */
export function variantStageName(stage: StageName, variant: string): string {
  return `${stage}:${variant}`;
}

function markerNames(stage: StageName): string[] {
  return [stage, ...(VARIANTS[stage] ?? []).map((v) => variantStageName(stage, v))];
}

/**
 * What a stage (or stage variant) needs done first, and what its (re)doing makes stale. A later
 * stage does not wait on a varianted stage (it cannot know which variant it follows; it reads what
 * the variants stored), and redoing a stage clears every variant's marker of the stages after it.
 */
export function stageDependencies(name: string, options: { intakeFilter?: boolean } = {}): { requires: string[]; invalidates: string[] } {
  const base = name.split(':')[0] as StageName;
  const position = STAGE_ORDER.indexOf(base);
  if (position < 0) throw new Error(`stage ${name} is missing from STAGE_ORDER`);
  return {
    requires: STAGE_ORDER.slice(0, position).filter((stage) => VARIANTS[stage] === undefined && (stage !== INTAKE_STAGE || options.intakeFilter === true)),
    invalidates: STAGE_ORDER.slice(position + 1).flatMap(markerNames),
  };
}
