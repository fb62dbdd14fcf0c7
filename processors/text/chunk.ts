// Recursive chunking of page markdown: split on headings, then paragraphs, then lines, then
// sentences, then words, and pack the pieces greedily up to the size limit (characters, or tokens
// when a token budget is given). Splits happen only at whitespace, so a placeholder
// (`<IMAGE_PLACEHOLDER>[k]`, no whitespace inside) is never cut.
import { countTokens } from '../../src/core/text/tokens.js';

export interface ChunkOptions {
  /** Largest chunk in characters (used when `maxTokens` is not set). */
  maxChars: number;
  /** Largest chunk in tokens (o200k_base); overrides `maxChars`. */
  maxTokens?: number;
}

interface Level {
  split: RegExp;
  join: string;
}

const LEVELS: Level[] = [
  { split: /\n+(?=#{1,6} )/, join: '\n\n' },
  { split: /\n{2,}/, join: '\n\n' },
  { split: /\n/, join: '\n' },
  { split: /(?<=[.!?…。！？]["')\]]?)\s+/, join: ' ' },
  { split: /\s+/, join: ' ' },
];

export function chunkMarkdown(markdown: string, options: ChunkOptions): string[] {
  const size = options.maxTokens !== undefined ? countTokens : (text: string) => text.length;
  const limit = options.maxTokens ?? options.maxChars;
  const fits = (text: string): boolean => size(text) <= limit;

  const splitAt = (text: string, level: number): string[] => {
    if (fits(text) || level >= LEVELS.length) return [text];
    const { split, join } = LEVELS[level]!;
    const pieces = text.split(split).map((piece) => piece.trim()).filter((piece) => piece !== '');
    if (pieces.length <= 1) return splitAt(text, level + 1);
    const units = pieces.flatMap((piece) => (fits(piece) ? [piece] : splitAt(piece, level + 1)));
    const packed: string[] = [];
    let current = '';
    for (const unit of units) {
      const candidate = current === '' ? unit : current + join + unit;
      if (current !== '' && !fits(candidate)) {
        packed.push(current);
        current = unit;
      } else {
        current = candidate;
      }
    }
    if (current !== '') packed.push(current);
    return packed;
  };

  const text = markdown.trim();
  return text === '' ? [] : splitAt(text, 0);
}
