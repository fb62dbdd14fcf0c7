// The metrics RagVL reports (its utils/metrics.py and the webqa/mmqa pipelines), as pure functions:
//   WebQA accuracy by question category (Qcate): F1 over the answer's normalized words for color,
//     shape, YesNo and number questions, recall for the others (text, Others, choose). For color,
//     shape and YesNo only the words in the category's keyword list count, when the gold answer has
//     one; for number only the words that are whole numbers.
//   MMQA accuracy: exact match of the normalized answers (a question with "how many" is a number question).
//   Each split into single-image (one gold image) and multi-image questions.
//   Reranking P/R/F1 at N, 5 and 10: the top k by relevance at or above the threshold, pooled over
//     queries (retrieved and correct summed, then divided), as the pipelines compute them.
// Normalization follows the reference step for step, with two stated differences: numbers written in
// words are read by a small English reader (the reference uses the word2number package), and words
// are lemmatized by a few suffix and irregular-form rules instead of spaCy's lemmatizer.

export const WEBQA_COLOR_WORDS: ReadonlySet<string> = new Set(
  'orangebrown spot yellow blue rainbow ivory brown gray teal bluewhite orangepurple black white gold redorange pink blonde tan turquoise grey beige golden orange bronze maroon purple bluere red rust violet transparent yes silver chrome green aqua'.split(' '),
);
export const WEBQA_SHAPE_WORDS: ReadonlySet<string> = new Set(
  'globular octogon ring hoop octagon concave flat wavy shamrock cross cylinder cylindrical pentagon point pyramidal crescent rectangular hook tube cone bell spiral ball convex square arch h cuboid step rectangle dot oval circle star crosse crest octagonal cube triangle semicircle domeshape obelisk corkscrew curve circular xs slope pyramid round bow straight triangular heart fork teardrop fold curl spherical diamond keyhole conical dome sphere bellshaped rounded hexagon flower globe torus'.split(' '),
);
export const WEBQA_YESNO_WORDS: ReadonlySet<string> = new Set(['yes', 'no']);

/** WebQA's question categories; color, shape, number and YesNo are scored by F1, the rest by recall. */
export const WEBQA_QCATES = ['color', 'shape', 'YesNo', 'number', 'text', 'Others', 'choose'] as const;
export type WebqaQcate = (typeof WEBQA_QCATES)[number];
const F1_QCATES: ReadonlySet<string> = new Set(['color', 'shape', 'number', 'YesNo']);

const UNITS: Record<string, number> = Object.fromEntries(
  'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen'.split(' ').map((w, i) => [w, i]),
);
const TENS: Record<string, number> = Object.fromEntries('twenty thirty forty fifty sixty seventy eighty ninety'.split(' ').map((w, i) => [w, (i + 2) * 10]));
const SCALES: Record<string, number> = { hundred: 100, thousand: 1_000, million: 1_000_000, billion: 1_000_000_000 };

/** One whitespace-free word as a number, when it is one ("7", "3.5", "seven", "twenty-one"); else the word. */
export function wordToNumber(word: string): string {
  // The reference keeps "point" (a shape word) rather than reading it as a decimal point.
  if (word === 'point') return word;
  if (/^-?\d+(\.\d+)?$/.test(word)) return String(Number(word));
  const parts = word.split('-');
  let total = 0;
  let current = 0;
  for (const part of parts) {
    if (part in UNITS) current += UNITS[part]!;
    else if (part in TENS) current += TENS[part]!;
    else if (part in SCALES) {
      current = (current || 1) * SCALES[part]!;
      if (SCALES[part]! >= 1000) [total, current] = [total + current, 0];
    } else return word;
  }
  return String(total + current);
}

const IRREGULAR: Record<string, string> = {
  is: 'be', are: 'be', was: 'be', were: 'be', am: 'be', been: 'be', being: 'be',
  has: 'have', had: 'have', does: 'do', did: 'do', men: 'man', women: 'woman', children: 'child',
  people: 'person', feet: 'foot', teeth: 'tooth', mice: 'mouse', geese: 'goose', leaves: 'leaf',
};

/** A word's base form by a few rules (plural nouns, forms of be/have/do); see the header. */
export function lemma(word: string): string {
  if (word in IRREGULAR) return IRREGULAR[word]!;
  if (word.length <= 3 || /\d/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return word.slice(0, -3) + 'y';
  if (/(ches|shes|sses|xes|zes)$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !/(ss|us|is|ous)$/.test(word)) return word.slice(0, -1);
  return word;
}

// Python's string.punctuation without the full stop.
const PUNCTUATION = /[!"#$%&'()*+,\-/:;<=>?@[\\\]^_`{|}~]/g;

const lower = (s: string): string => s.toLowerCase();
const withoutPunctuation = (s: string): string => s.replace(PUNCTUATION, '').replace(/\.(?!\d)/g, '');
const withoutArticles = (s: string): string => s.replace(/\b(a|an|the)\b/g, ' ');
const numbersAsDigits = (s: string): string => s.split(/\s+/).filter(Boolean).map(wordToNumber).join(' ');
const lemmatized = (s: string): string => s.split(/\s+/).filter(Boolean).map(lemma).join(' ');

/** The reference's answer normalization: a single character keeps its punctuation, a single word its article. */
export function normalizeAnswer(s: string): string {
  const trimmed = s.trim();
  if (trimmed.length === 1) return numbersAsDigits(lower(s));
  if (trimmed.split(/\s+/).length === 1) return lemmatized(numbersAsDigits(withoutPunctuation(lower(s))));
  return lemmatized(numbersAsDigits(withoutArticles(withoutPunctuation(lower(s)))));
}

/** Words that are whole numbers, as Python's `str(int(w))` reads them ("3.5" is not one). */
function wholeNumbers(words: string[]): string[] {
  return words.filter((w) => /^[-+]?\d+$/.test(w)).map((w) => String(BigInt(w)));
}

export interface AnswerOverlap {
  f1: number;
  recall: number;
  precision: number;
  exactMatch: number;
}

/** SQuAD-style overlap of the normalized words, restricted to a domain: a keyword list, or whole numbers. */
export function answerOverlap(prediction: string, goldAnswer: string, domain?: ReadonlySet<string> | 'number'): AnswerOverlap {
  const normalizedPrediction = normalizeAnswer(prediction);
  const normalizedGold = normalizeAnswer(goldAnswer);
  let predicted = normalizedPrediction.split(/\s+/).filter(Boolean);
  let gold = normalizedGold.split(/\s+/).filter(Boolean);
  if (domain === 'number') {
    predicted = wholeNumbers(predicted);
    gold = wholeNumbers(gold);
  } else if (domain && gold.some((w) => domain.has(w))) {
    // As the reference intersects sets: each keyword counts once.
    predicted = [...new Set(predicted.filter((w) => domain.has(w)))];
    gold = [...new Set(gold.filter((w) => domain.has(w)))];
  }
  const exactMatch = normalizedPrediction === normalizedGold ? 1 : 0;
  const goldCounts = new Map<string, number>();
  for (const w of gold) goldCounts.set(w, (goldCounts.get(w) ?? 0) + 1);
  let same = 0;
  for (const w of predicted) {
    const left = goldCounts.get(w) ?? 0;
    if (left === 0) continue;
    same++;
    goldCounts.set(w, left - 1);
  }
  if (same === 0) return { f1: 0, recall: 0, precision: 0, exactMatch };
  const precision = same / predicted.length;
  const recall = same / gold.length;
  return { f1: (2 * precision * recall) / (precision + recall), recall, precision, exactMatch };
}

const WEBQA_DOMAINS: Record<string, ReadonlySet<string> | 'number' | undefined> = {
  color: WEBQA_COLOR_WORDS,
  shape: WEBQA_SHAPE_WORDS,
  YesNo: WEBQA_YESNO_WORDS,
  number: 'number',
};

/** WebQA accuracy of one answer: F1 for color, shape, number and YesNo questions, recall otherwise. */
export function webqaAccuracy(prediction: string, goldAnswer: string, qcate: string): number {
  const overlap = answerOverlap(prediction, goldAnswer, WEBQA_DOMAINS[qcate]);
  return F1_QCATES.has(qcate) ? overlap.f1 : overlap.recall;
}

/** MMQA's category of a question, as the pipeline decides it. */
export function mmqaQcate(question: string): 'number' | 'normal' {
  return question.toLowerCase().includes('how many') ? 'number' : 'normal';
}

/** MMQA accuracy of one answer: exact match of the normalized answers. */
export function mmqaAccuracy(prediction: string, goldAnswer: string): number {
  return answerOverlap(prediction, goldAnswer).exactMatch;
}

export interface SplitMeans {
  all?: number;
  single?: number;
  multi?: number;
  n: { all: number; single: number; multi: number };
}

const mean = (values: number[]): number | undefined => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined);

/** Mean accuracy over all questions, those with one gold image and those with more. */
export function splitMeans(samples: Array<{ accuracy: number; goldImages: number }>): SplitMeans {
  const single = samples.filter((s) => s.goldImages === 1).map((s) => s.accuracy);
  const multi = samples.filter((s) => s.goldImages > 1).map((s) => s.accuracy);
  const all = samples.map((s) => s.accuracy);
  return { all: mean(all), single: mean(single), multi: mean(multi), n: { all: all.length, single: single.length, multi: multi.length } };
}

export interface RerankedQuery {
  goldImageIds: string[];
  /** Candidates with their rerank relevance (failed ones left out). */
  relevances: Array<{ imageId: string; relevance: number }>;
}

export interface PooledPrf {
  k: number;
  precision?: number;
  recall?: number;
  f1?: number;
  retrieved: number;
  correct: number;
  gold: number;
}

/** Precision, recall and F1 of the top k by relevance at or above the threshold, pooled over queries. */
export function rerankPrfAt(queries: RerankedQuery[], k: number, threshold: number): PooledPrf {
  let retrieved = 0;
  let correct = 0;
  let gold = 0;
  for (const q of queries) {
    const top = [...q.relevances].sort((a, b) => b.relevance - a.relevance).slice(0, k).filter((c) => c.relevance >= threshold);
    const goldIds = new Set(q.goldImageIds);
    retrieved += top.length;
    correct += top.filter((c) => goldIds.has(c.imageId)).length;
    gold += goldIds.size;
  }
  const precision = retrieved ? correct / retrieved : undefined;
  const recall = gold ? correct / gold : undefined;
  const f1 = precision !== undefined && recall !== undefined && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : undefined;
  return { k, precision, recall, f1, retrieved, correct, gold };
}
