// The `filter-queries` stage (query intake, before crawl; off unless `build --filter-queries` or
// `filter.enabled`). It stores each query's verdict on the query, with the provenance of every
// answer, and fills in topic and level. A rejected query is counted under its reason here and
// skipped by every later stage (src/core/stages.ts `intakeSkipReason`). A failed model call or a
// reply with no answer in it stores nothing: the query stays unmarked and the next run asks again.
import { UserError } from '../src/core/errors.js';
import type { Stage, StageContext, StageCounts } from '../src/core/stage.js';
import { INTAKE_STAGE } from '../src/core/stages.js';
import { failureReason } from '../src/models/errors.js';
import type { ModelServices } from '../src/models/services.js';
import type { ChatModel } from '../src/models/types.js';
import type { Query, QueryIntake, StoreBatch } from '../storage/index.js';
import { filterWithHeuristic, filterWithLlm } from './query-filter.js';

export class FilterQueriesStage implements Stage<ModelServices> {
  readonly name = INTAKE_STAGE;
  private llm?: ChatModel;
  private method: QueryIntake['method'] = 'embedded-heuristic';

  async setup(ctx: StageContext<ModelServices>): Promise<void> {
    const wanted = ctx.config.filter.method;
    if (wanted === 'embedded-heuristic') return;
    this.llm = (await ctx.services.models()).llm;
    if (!this.llm && wanted === 'llm') {
      throw new UserError('filter.method is llm but no LLM is configured: set M2RAG_LLM_URL and M2RAG_LLM_MODEL (or models.llmUrl), or use filter.method auto');
    }
    if (this.llm) this.method = 'llm';
  }

  async runQuery(query: Query, _ctx: StageContext<ModelServices>, counts: StageCounts, batch: StoreBatch): Promise<void> {
    let intake: QueryIntake;
    try {
      intake = this.llm ? await filterWithLlm(this.llm, query.query) : filterWithHeuristic(query.query);
    } catch (error) {
      counts.fail(failureReason(error));
      return;
    }
    // Topic and level the user (or an import) gave are kept; those an earlier intake gave are replaced.
    const ours = (field: 'topic' | 'level'): boolean => query[field] === undefined || query[field] === query.intake?.[field];
    batch.put('queries', {
      ...query,
      intake,
      topic: ours('topic') ? intake.topic : query.topic,
      level: ours('level') ? intake.level : query.level,
    });
    counts.add(`method:${intake.method}`);
    if (intake.verdict === 'rejected') counts.drop(intake.reason ?? 'unspecified');
    else counts.add('accepted');
  }

  settingsOf(ctx: StageContext<ModelServices>): Record<string, unknown> {
    return { filter: ctx.config.filter, method: this.method, model: this.llm ? `${this.llm.provider}:${this.llm.model}` : 'intake-heuristic' };
  }
}
