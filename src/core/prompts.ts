// Prompts as named, overridable templates. Each module that talks to a model defines its prompts
// here with our own default wording; a prompts file (YAML or JSON, `name: text`) replaces any of
// them, so a user can load other wording (for example a paper's exact prompts) without a code change.
// A template names its inputs as `{{input}}`; an override must use only inputs the default has, and
// the version recorded in provenance says which text was used.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { UserError } from './errors.js';

export interface PromptTemplate {
  /** Dotted name, e.g. `score.text-relevance`. */
  readonly name: string;
  /** Version of the default wording; overrides are versioned by their text's hash. */
  readonly version: string;
  readonly text: string;
}

const INPUT = /\{\{\s*([a-zA-Z][\w-]*)\s*\}\}/g;
const defaults = new Map<string, PromptTemplate>();
const overrides = new Map<string, { text: string; file: string }>();

function inputsOf(text: string): Set<string> {
  return new Set([...text.matchAll(INPUT)].map((m) => m[1]!));
}

/** Registers a prompt's default wording (once per name; modules call this at load). */
export function definePrompt(name: string, version: string, text: string): PromptTemplate {
  const existing = defaults.get(name);
  if (existing && existing.text !== text) throw new Error(`prompt ${name} is defined twice with different text`);
  const template = { name, version, text };
  defaults.set(name, template);
  return template;
}

/** The text in force for a prompt, and the version its provenance records. */
export function promptInForce(template: PromptTemplate): { text: string; version: string } {
  const override = overrides.get(template.name);
  if (!override) return { text: template.text, version: template.version };
  const hash = createHash('sha256').update(override.text).digest('hex').slice(0, 12);
  return { text: override.text, version: `${template.name}@override-${hash}` };
}

/** Fills a prompt's inputs; every input the text names must be given. */
export function renderPrompt(template: PromptTemplate, inputs: Record<string, string | number>): string {
  const { text } = promptInForce(template);
  return text.replace(INPUT, (_, key: string) => {
    const value = inputs[key];
    if (value === undefined) throw new Error(`prompt ${template.name}: no value for {{${key}}}`);
    return String(value);
  });
}

/** Every prompt name with its default text (for `m2rag prompts` and documentation). */
export function definedPrompts(): PromptTemplate[] {
  return [...defaults.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Loads a prompts file. Checked whole before any override takes effect: an unknown name, a value
 * that is not text, or an input the default does not have is a UserError naming the file and prompt.
 */
export async function loadPromptOverrides(file: string): Promise<number> {
  let parsed: unknown;
  try {
    parsed = YAML.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file}: cannot read the prompts file (${(error as Error).message.split('\n')[0]})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UserError(`${file}: expected a map of prompt name to text (see \`m2rag prompts list\`)`);
  }
  const checked = new Map<string, string>();
  for (const [name, text] of Object.entries(parsed as Record<string, unknown>)) {
    const template = defaults.get(name);
    if (!template) throw new UserError(`${file}: unknown prompt "${name}" (see \`m2rag prompts list\` for the names)`);
    if (typeof text !== 'string' || text.trim() === '') throw new UserError(`${file}: prompt "${name}" must be non-empty text`);
    const allowed = inputsOf(template.text);
    for (const input of inputsOf(text)) {
      if (!allowed.has(input)) throw new UserError(`${file}: prompt "${name}" uses {{${input}}}, which it is not given (it has: ${[...allowed].join(', ') || 'none'})`);
    }
    checked.set(name, text);
  }
  overrides.clear();
  for (const [name, text] of checked) overrides.set(name, { text, file });
  return checked.size;
}

/** Drops every override (tests). */
export function clearPromptOverrides(): void {
  overrides.clear();
}
