// The context an image occurrence brings to its description, and the rule that decides when two
// occurrences of one image (or of one dedup cluster) deserve separate descriptions: only when their
// contexts differ materially.
import type { Occurrence, Query } from '../../storage/index.js';

/** Word-set Jaccard similarity at or above which two contexts count as the same. */
export const SAME_CONTEXT_SIMILARITY = 0.6;

export interface DescribeContext {
  kind: 'page' | 'auxiliary';
  alt?: string;
  title?: string;
  figcaption?: string;
  heading?: string;
  above?: string;
  below?: string;
  /** Auxiliary images: the query they were searched for, and the search result's title and snippet. */
  query?: string;
  snippet?: string;
  /** Words of the image file name (`Ray_Charles_1968.jpg` → `Ray Charles 1968`). */
  fileName?: string;
}

function clean(value: string | undefined): string | undefined {
  const text = value?.replace(/\s+/g, ' ').trim();
  return text ? text : undefined;
}

export function fileNameWords(url: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(new URL(url, 'http://x/').pathname.split('/').pop() ?? '');
  } catch {
    return undefined;
  }
  const words = name
    .replace(/\.[a-z0-9]{2,4}$/i, '')
    .replace(/^(lossy-page\d+-)?\d+px-/i, '')
    .replace(/[_\-+.]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return /\p{L}{2}/u.test(words) ? words : undefined;
}

export function contextOf(occurrence: Occurrence, query: Query): DescribeContext {
  const fileName = fileNameWords(occurrence.url);
  if (occurrence.kind === 'auxiliary') {
    return {
      kind: 'auxiliary',
      query: query.query,
      title: clean(occurrence.attributes.title),
      snippet: clean(occurrence.attributes.snippet),
      fileName,
    };
  }
  const c = occurrence.context ?? {};
  return {
    kind: 'page',
    alt: clean(c.alt ?? occurrence.attributes.alt),
    title: clean(c.title ?? occurrence.attributes.title),
    figcaption: clean(c.figcaption),
    heading: clean(c.heading),
    above: c.above?.trim() || undefined,
    below: c.below?.trim() || undefined,
    fileName,
  };
}

function words(context: DescribeContext): Set<string> {
  const text = [context.query, context.alt, context.title, context.figcaption, context.heading, context.snippet, context.above, context.below].filter(Boolean).join(' ');
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

export function contextSimilarity(a: DescribeContext, b: DescribeContext): number {
  const wa = words(a);
  const wb = words(b);
  if (wa.size === 0 && wb.size === 0) return 1;
  let shared = 0;
  for (const w of wa) if (wb.has(w)) shared++;
  return shared / (wa.size + wb.size - shared);
}

/**
 * Groups occurrences (in the given order) so each group's contexts are alike: an occurrence joins the
 * first group whose first context is at least SAME_CONTEXT_SIMILARITY similar, else starts a group.
 */
export function groupByContext<T extends { context: DescribeContext }>(items: T[]): T[][] {
  const groups: T[][] = [];
  for (const item of items) {
    const group = groups.find((g) => g[0]!.context.kind === item.context.kind && contextSimilarity(g[0]!.context, item.context) >= SAME_CONTEXT_SIMILARITY);
    if (group) group.push(item);
    else groups.push([item]);
  }
  return groups;
}
