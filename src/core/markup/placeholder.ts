// The placeholder format: where occurrence k of a page's images stood in its markdown, extraction
// writes `<IMAGE_PLACEHOLDER>[k]` (the M2RAG reference's marker). Every reader of markdown uses these.

/** Matches every placeholder; group 1 is k. Global: use with matchAll or replace. */
export const PLACEHOLDER_PATTERN = /<IMAGE_PLACEHOLDER>\[(\d+)\]/g;

export function placeholderOf(k: number): string {
  return `<IMAGE_PLACEHOLDER>[${k}]`;
}

/** The occurrence indexes of the placeholders in `markdown`, in order. */
export function placeholdersIn(markdown: string): number[] {
  return [...markdown.matchAll(PLACEHOLDER_PATTERN)].map((m) => Number(m[1]));
}

/** `markdown` with every placeholder replaced by `replacement` (default: removed). */
export function withoutPlaceholders(markdown: string, replacement = ''): string {
  return markdown.replace(PLACEHOLDER_PATTERN, replacement);
}
