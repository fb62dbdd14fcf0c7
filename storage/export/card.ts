// The dataset card (`README.md` in the export): what is in it, how it was filtered, which models
// scored and described it, and which thresholds applied. Built only from the store and the
// settings, never from the clock, so the same store gives the same card.
import type { CorpusStore } from '../store.js';

export interface CardInput {
  format: string;
  files: string[];
  counts: Record<string, unknown>;
  /** Settings in force at export, by config section (filters and thresholds). */
  settings: Record<string, Record<string, unknown>>;
}

async function modelsUsed(store: CorpusStore): Promise<Record<string, Record<string, number>>> {
  const tally: Record<string, Record<string, number>> = { scores: {}, descriptions: {}, generations: {}, evaluations: {} };
  const bump = (group: string, key: string): void => void (tally[group]![key] = (tally[group]![key] ?? 0) + 1);
  for await (const s of store.iterate('scores')) bump('scores', `${s.elementKind}: ${s.method} (${s.provenance.provider}:${s.provenance.model})`);
  for await (const d of store.iterate('descriptions')) bump('descriptions', `${d.method} (${d.provenance.provider}:${d.provenance.model}), ${d.status}`);
  for await (const g of store.iterate('generations')) bump('generations', `${g.strategy}: ${g.method} (${g.provenance.provider}:${g.provenance.model})${g.status === 'failed' ? ', failed' : ''}`);
  for await (const e of store.iterate('evalResults')) bump('evaluations', `${e.method} (${e.provenance.provider}:${e.provenance.model})`);
  return tally;
}

function table(rows: Array<[string, unknown]>): string {
  return ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${typeof v === 'object' ? JSON.stringify(v) : String(v)} |`)].join('\n');
}

export async function buildCard(store: CorpusStore, input: CardInput): Promise<string> {
  const used = await modelsUsed(store);
  const sections: string[] = [];
  sections.push(`# m2rag dataset (${input.format})`);
  sections.push(
    'Built by m2rag from web pages and images found for each query: pages cleaned to markdown and split, ' +
      'images filtered, deduplicated and described, every element scored 0–10 against its query ' +
      '(M2RAG, arXiv 2411.16365). Elements below the keep thresholds are left out.',
  );
  sections.push(`## Files\n\n${input.files.map((f) => `- \`${f}\``).join('\n')}`);
  if (input.format === 'm2rag') {
    sections.push(
      '## Record layout (`m2rag.jsonl`, one query a line)\n\n' +
        '- `id`, `content` (the query), `topic`\n' +
        '- `webpages[]`: `id`, `url`, `title`, `splits[]` (`id`, `text` with `<IMAGE_PLACEHOLDER>[k]` markers, `score` 0–10, `image_ids`), `image_ids`\n' +
        '- `images[]` (from the pages) and `auxiliary_images[]` (from image search): `id` (sha256 of the bytes), `path` (relative to this folder), ' +
        '`url`, `mime`, `width`, `height`, `final_score` 0–10, `score_components`, `score_method`, `description`, `description_method`, `context`, and `page_id` or `title`/`source_page_url`\n' +
        '- A `score` or `final_score` of `null` means the query was not scored.',
    );
  }
  sections.push(`## Counts\n\n${table(Object.entries(input.counts))}`);
  for (const [name, values] of Object.entries(input.settings)) sections.push(`## ${name}\n\n${table(Object.entries(values))}`);
  const modelRows = Object.entries(used).flatMap(([group, entries]) =>
    Object.entries(entries)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([what, n]): [string, unknown] => [`${group}: ${what}`, n]),
  );
  sections.push(`## Models and methods (records per method)\n\n${modelRows.length ? table(modelRows) : 'none recorded'}`);
  sections.push(
    '## Methods labelled as fallbacks\n\n' +
      '- `bm25-embedding` (text) and `layout-description-context` (images): the embedded scorers used when no LLM / vision model is configured, calibrated to 0–10.\n' +
      '- `context-template` (descriptions): the model-free describer.\n' +
      '- `extractive` (generations): sentences taken from the retrieved passages, not a model-written answer.',
  );
  return sections.join('\n\n') + '\n';
}
