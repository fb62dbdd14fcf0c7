// A labelled set for the runner and evaluation: JSONL, one query a line,
// `{"id"? | "query"?, "relevantImageIds"?: [...], "answer"?: "...", "keywords"?: [...]}`.
// Used as RagVL's dev set (adaptive threshold) and as gold labels for retrieval and QA metrics.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { queryIdOf } from '../../storage/index.js';

const LabelLine = z
  .object({
    id: z.string().min(1).optional(),
    query: z.string().min(1).optional(),
    relevantImageIds: z.array(z.string()).optional(),
    answer: z.string().optional(),
    keywords: z.array(z.string()).optional(),
  })
  .strict()
  .refine((l) => l.id !== undefined || l.query !== undefined, 'each line needs "id" or "query"');

export interface QueryLabels {
  relevantImageIds?: string[];
  answer?: string;
  keywords?: string[];
}

export async function readLabels(file: string): Promise<Map<string, QueryLabels>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UserError(`${file}: cannot read labels file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const labels = new Map<string, QueryLabels>();
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      throw new UserError(`${file}:${i + 1}: not valid JSON (${(error as Error).message})`);
    }
    const result = LabelLine.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      throw new UserError(`${file}:${i + 1}: ${issue.path.join('.') ? issue.path.join('.') + ': ' : ''}${issue.message}`);
    }
    const { id, query, ...rest } = result.data;
    labels.set(id ?? queryIdOf(query!), rest);
  });
  if (labels.size === 0) throw new UserError(`${file}: no labelled queries found`);
  return labels;
}
