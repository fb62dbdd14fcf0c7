// One-line messages for a config file's mistakes: an unknown key names the nearest valid key, and a
// YAML error quotes the line it is on, so a typo is fixed without opening the schema.
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';

/** The object schema inside defaults, prefaults and optionals, or undefined for a leaf. */
function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> | undefined {
  let current = schema as { _zod?: { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> } } } | undefined;
  while (current?._zod) {
    const def = current._zod.def;
    if (def.type === 'object') return def.shape;
    current = def.innerType as typeof current;
  }
  return undefined;
}

/** The valid keys of the mapping at `path` in `schema`. */
export function keysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let shape = objectShape(schema);
  for (const key of path) shape = objectShape(shape?.[String(key)]);
  return shape ? Object.keys(shape) : [];
}

/** "did you mean …" for an unknown key, when a valid key is near enough to be the intended one. */
export function suggestion(key: string, valid: string[]): string {
  if (valid.length === 0) return '';
  const near = closest(key, valid);
  const close = distance(key.toLowerCase(), near.toLowerCase()) <= Math.max(2, Math.floor(near.length / 3));
  return close ? `; did you mean "${near}"?` : `; valid keys: ${valid.join(', ')}`;
}

/** The message of a zod issue on the config, with a suggestion for an unknown key. */
export function configIssueMessage(schema: z.ZodType, issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? issue.path.join('.') : 'top level';
  if (issue.code === 'unrecognized_keys') {
    const valid = keysAt(schema, issue.path);
    const key = issue.keys[0]!;
    return `${where}: unknown key "${key}"${suggestion(key, valid)}`;
  }
  return `${where}: ${issue.message}`;
}

/** A YAML parse error as `line L, column C: <reason>: "<the line>"`. */
export function yamlErrorMessage(error: Error & { linePos?: Array<{ line: number; col: number }> }, text: string): string {
  const reason = error.message.split(' at line ')[0]!.split('\n')[0]!;
  const position = error.linePos?.[0];
  if (!position) return reason;
  const line = text.split(/\r?\n/)[position.line - 1] ?? '';
  return `line ${position.line}, column ${position.col}: ${reason}: "${line.trim()}"`;
}
