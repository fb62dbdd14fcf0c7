// The dataset card (`README.md` in the export): what is in it, how it was filtered, which models
// scored and described it, and which thresholds applied. The settings are those each stage stored
// when it built the data (StageStats.settings), not the export command's config. Built only from
// the store, never from the clock, so the same store gives the same card.
import type { CorpusStore } from '../store.js';
import { DEV_SET_FILE, EXTRA_KEY } from './m2rag-layout.js';

export interface CardInput {
  format: string;
  files: string[];
  counts: Record<string, unknown>;
  /** The export's own settings, by section (those that decide what the export writes). */
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

/** Where imported records came from, by record kind and file. */
async function importsOf(store: CorpusStore): Promise<Array<[string, unknown]>> {
  const tally = new Map<string, number>();
  for (const kind of ['scores', 'descriptions'] as const) {
    for await (const r of store.iterate(kind)) if (r.provenance.importedFrom) tally.set(`${kind} from ${r.provenance.importedFrom}`, (tally.get(`${kind} from ${r.provenance.importedFrom}`) ?? 0) + 1);
  }
  return [...tally.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** The settings each stage last ran with, as the store keeps them. */
async function buildSettings(store: CorpusStore): Promise<Array<[string, Record<string, unknown>]>> {
  const stats = await store.stageStats();
  return stats
    .filter((s) => s.settings !== undefined)
    .sort((a, b) => a.stage.localeCompare(b.stage))
    .map((s) => [s.stage, s.settings!]);
}

function flatten(values: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  return Object.entries(values).flatMap(([k, v]): Array<[string, unknown]> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, v]],
  );
}

function table(rows: Array<[string, unknown]>): string {
  return ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${typeof v === 'object' ? JSON.stringify(v) : String(v)} |`)].join('\n');
}

export async function buildCard(store: CorpusStore, input: CardInput): Promise<string> {
  const used = await modelsUsed(store);
  const built = await buildSettings(store);
  const imported = await importsOf(store);
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
      `## Record layout (\`${DEV_SET_FILE}\`, the M2RAG-Bench dev-set layout, one query a line)\n\n` +
        '- `query_id`, `content` (the query), `webpages[]`, `aux_images[]`, `level` (1–3)\n' +
        '- `webpages[]`: `webpage_id` (search order), `url`, `title`, `cleaned_webpage_splits[]` and `images[]`\n' +
        '- a split: `split_id`, `text` with `<IMAGE_PLACEHOLDER>[k]` markers, `score` 0–10, `evaluation`, `image_ids` (the k in its text)\n' +
        '- a page image: `split_id` (the split holding its placeholder, or null), `image_id` (its k), `image_url`, `valid`, ' +
        '`cached_image_url` (the file, relative to this folder), `final_score` 0–10, `detailed_image_caption`\n' +
        '- an aux image: `image_id` (`aux-<i>`), `image_url`, `cached_image_url`, `valid`, `final_score`, `detailed_image_caption`\n' +
        '- Every split and every image is written, kept or not; `valid` is as the reference computes it (a caption, a split and a final score; ' +
        'aux images: a caption and a final score), so a reference loader applies its own thresholds.\n' +
        `- \`${EXTRA_KEY}\` (on every record): what m2rag knows beyond the layout: page, chunk and occurrence ids, the image's sha256, filter ` +
        'and dedup cluster, the stored score (method, components, keep decision and reason), the description (method, model, sources), ' +
        'the occurrence context. A split whose `m2rag.score` is null was never scored and holds `score` 0; a line whose ' +
        `\`m2rag.level_source\` is \`default\` had no known level and holds the default level 1.`,
    );
  }
  sections.push(`## Counts\n\n${table(Object.entries(input.counts))}`);
  sections.push(
    `## Settings that built the data (as each stage stored them)\n\n${built.length ? built.map(([stage, values]) => `### ${stage}\n\n${table(flatten(values))}`).join('\n\n') : 'none recorded'}`,
  );
  if (imported.length) sections.push(`## Imported records (loaded by \`m2rag import\`, not computed here)\n\n${table(imported)}`);
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
