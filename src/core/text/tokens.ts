// Token counting and trimming with a real BPE tokenizer (gpt-tokenizer, o200k_base, shipped in the
// package, so it works offline). Used for token budgets: context windows and token-aware chunking.
import { countTokens as countBpeTokens, decode, encode } from 'gpt-tokenizer';

export function countTokens(text: string): number {
  return countBpeTokens(text);
}

/** The first `budget` tokens of `text`, cut back to a word boundary. */
export function takeFirstTokens(text: string, budget: number): string {
  if (budget <= 0) return '';
  const tokens = encode(text);
  if (tokens.length <= budget) return text;
  const head = decode(tokens.slice(0, budget));
  const cut = head.search(/\s\S*$/);
  return (cut > 0 ? head.slice(0, cut) : head).trimEnd();
}

/** The last `budget` tokens of `text`, cut forward to a word boundary. */
export function takeLastTokens(text: string, budget: number): string {
  if (budget <= 0) return '';
  const tokens = encode(text);
  if (tokens.length <= budget) return text;
  const tail = decode(tokens.slice(tokens.length - budget));
  const cut = tail.search(/\s/);
  return (cut >= 0 ? tail.slice(cut) : tail).trimStart();
}
