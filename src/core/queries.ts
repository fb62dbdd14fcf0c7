// The queries file: JSONL (`{"id"?, "query", "topic"?, "urls"?}` a line) or plain text (a query a
// line). It is read whole and validated before anything is written: a bad line stops the command
// with `<file>:<line>: <reason>`.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from './errors.js';
import { normalizeQueryText, queryIdOf, type CorpusStore, type Query } from '../../storage/index.js';

const QueryLine = z
  .object({
    id: z.string().trim().min(1, 'id must not be empty').optional(),
    query: z.string({ error: '"query" must be a non-empty string' }).trim().min(1, '"query" must not be empty'),
    topic: z.string().optional(),
    urls: z.array(z.string().url('each of "urls" must be an absolute URL')).optional(),
  })
  .strict();

export type QueryInput = z.infer<typeof QueryLine> & { id: string; line: number };

export interface DuplicateQuery {
  line: number;
  query: string;
  firstLine: number;
}

export interface QueriesFile {
  queries: QueryInput[];
  duplicates: DuplicateQuery[];
}

const MAX_QUERY_CHARS = 2000;

function isJsonLines(file: string, lines: string[]): boolean {
  if (/\.(jsonl|ndjson)$/i.test(file)) return true;
  const first = lines.find((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  return first?.trim().startsWith('{') ?? false;
}

export async function readQueriesFile(file: string): Promise<QueriesFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UserError(`${file}: cannot read queries file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseQueries(file, decodeUtf8(file, bytes));
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The file as text; bytes that are not UTF-8 stop the command at their line, never become U+FFFD in a query. */
function decodeUtf8(file: string, bytes: Buffer): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    let start = 0;
    let line = 1;
    for (; start <= bytes.length; line++) {
      const end = bytes.indexOf(0x0a, start);
      const stop = end === -1 ? bytes.length : end;
      try {
        STRICT_UTF8.decode(bytes.subarray(start, stop));
      } catch {
        break;
      }
      start = stop + 1;
    }
    throw new UserError(`${file}:${line}: not valid UTF-8 text; save the file as UTF-8`);
  }
}

export function parseQueries(file: string, text: string): QueriesFile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const jsonLines = isJsonLines(file, lines);
  const queries: QueryInput[] = [];
  const duplicates: DuplicateQuery[] = [];
  const firstLineOf = new Map<string, number>();

  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || (!jsonLines && trimmed.startsWith('#'))) return;
    const fail = (reason: string): never => {
      throw new UserError(`${file}:${line}: ${reason}`);
    };
    let entry: z.infer<typeof QueryLine>;
    if (jsonLines) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(trimmed);
      } catch (error) {
        fail(`not valid JSON (${(error as Error).message})`);
      }
      const result = QueryLine.safeParse(parsed);
      if (!result.success) {
        const issue = result.error.issues[0]!;
        const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
        fail(where + issue.message);
      }
      entry = result.data!;
    } else {
      if (/[\x00-\x08\x0e-\x1f]/.test(trimmed)) fail('contains control characters; is this a text file?');
      entry = { query: trimmed };
    }
    if (entry.query.length > MAX_QUERY_CHARS) fail(`query is ${entry.query.length} characters; the limit is ${MAX_QUERY_CHARS}`);
    const id = entry.id ?? queryIdOf(entry.query);
    const dedupeKeys = [`text:${normalizeQueryText(entry.query)}`, `id:${id}`];
    const seen = dedupeKeys.map((key) => firstLineOf.get(key)).find((n) => n !== undefined);
    if (seen !== undefined) {
      duplicates.push({ line, query: entry.query, firstLine: seen });
      return;
    }
    for (const key of dedupeKeys) firstLineOf.set(key, line);
    queries.push({ ...entry, id, line });
  });

  if (queries.length === 0) throw new UserError(`${file}: no queries found (one query a line, or JSONL with a "query" field)`);
  return { queries, duplicates };
}

/** Stores the queries; a query already in the store keeps its record, so ingesting twice adds nothing. */
export async function ingestQueries(store: CorpusStore, queries: QueryInput[]): Promise<{ added: number; existing: number }> {
  const batch = store.batch();
  let existing = 0;
  for (const input of queries) {
    if (await store.has('queries', input.id)) {
      existing++;
      continue;
    }
    const record: Query = { id: input.id, query: input.query, topic: input.topic, urls: input.urls, createdAt: new Date().toISOString() };
    batch.put('queries', record);
  }
  await batch.write();
  return { added: queries.length - existing, existing };
}
