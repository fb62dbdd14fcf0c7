// The flat `jsonl` export: `elements.jsonl`, one scored element (chunk or image) a line with its
// query, text or description, component scores, final score and keep/drop decision (with reason).
import type { Query } from '../schemas.js';
import { scoreIdOf } from '../ids.js';
import { loadQueryElements } from '../views.js';
import type { ExportContext } from './context.js';
import { imageFileOf } from './m2rag.js';

export async function buildElementsJsonl(ctx: ExportContext, queries: Query[]): Promise<{ lines: string[]; counts: Record<string, number> }> {
  const lines: string[] = [];
  const counts: Record<string, number> = { chunks: 0, images: 0, unscored: 0 };
  for (const query of queries) {
    const elements = await loadQueryElements(ctx.store, query, ctx.descriptions);
    const items = [
      ...elements.chunks.map((c) => ({ kind: 'chunk' as const, id: c.id, page_id: c.pageId, text: c.text, path: null as string | null })),
      ...elements.images.map((e) => ({ kind: 'image' as const, id: e.image.id, page_id: e.pageId ?? null, text: e.description?.text ?? null, path: imageFileOf(e.image.id, e.image.mime) })),
    ];
    const scores = await ctx.store.getMany('scores', items.map((i) => scoreIdOf(query.id, i.kind, i.id)));
    items.forEach((item, i) => {
      const score = scores[i];
      if (!score) counts.unscored!++;
      counts[`${item.kind}s`]!++;
      lines.push(
        JSON.stringify({
          query_id: query.id,
          query: query.query,
          ...item,
          status: score?.status ?? null,
          components: score ? Object.fromEntries(Object.entries(score.components).sort(([a], [b]) => a.localeCompare(b))) : null,
          final_score: score?.finalScore ?? null,
          kept: score?.kept ?? null,
          reason: score?.reason ?? null,
          method: score?.method ?? null,
        }),
      );
    });
  }
  return { lines, counts };
}
