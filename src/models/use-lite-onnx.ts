// Universal Sentence Encoder lite on ONNX Runtime (CPU): the network its package runs on TensorFlow.js
// (@energetic-ai/embeddings) rebuilt as an ONNX graph from the same weights (use-lite-graph.ts),
// tokenized by the same tokenizer, giving the TF.js vectors to float rounding (tests/use-lite-onnx
// .test.ts, against tests/helpers/use-lite-tfjs.ts) at ~9× the speed. The graph reads a text's first
// 128 tokens, as the original does. The graph is built once per process,
// in memory; each model opens its own session on it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ort } from './onnx-session.js';
import { l2Normalize } from './openai.js';
import { buildUseLiteOnnx, useLiteWeightsDir, USE_LITE_INPUT, USE_LITE_MAX_TOKENS, USE_LITE_OUTPUT, USE_LITE_PAD_ID } from './use-lite-graph.js';

/** One loaded encoder: the L2-normalised 512-d vectors of a batch of texts. */
export interface UseLiteModel {
  embedBatch(texts: string[]): Promise<Float32Array[]>;
  dispose(): void;
}

export interface UseLiteOnnxOptions {
  /** ONNX Runtime's intra-op threads for this session. */
  threads?: number;
}

let graphBytes: Promise<Uint8Array> | undefined;

/** A trie node of the vocabulary: children by code point, and the piece ending here, if any. */
interface PieceNode {
  children: Map<string, PieceNode>;
  id: number;
  score: number;
  /** Code points from the root. */
  length: number;
}

/** Ids below this are reserved symbols the tokenizer never emits (the package's RESERVED_SYMBOLS_COUNT). */
const RESERVED_SYMBOLS = 6;
const WORD_START = '\u2581';
const UNKNOWN_ID = 0;

/**
 * The SentencePiece tokenizer of @energetic-ai/embeddings (its Tokenizer.encode), rule for rule,
 * quirks included so the ids stay equal: a position no piece reaches scores 0 (as if best); the
 * best-path backtrack steps by a piece's UTF-16 length; runs of unknown ids merge into one.
 * The package's copy slices the rest of the text at every position, which costs ~4 ms per
 * 1,000-character text, as much as the forward pass; this one walks the trie in place.
 */
export class UseLiteTokenizer {
  private readonly root: PieceNode = { children: new Map(), id: -1, score: 0, length: 0 };
  private readonly utf16Lengths: number[];

  constructor(vocabulary: Array<[string, number]>) {
    this.utf16Lengths = vocabulary.map(([piece]) => piece.length);
    for (let id = RESERVED_SYMBOLS; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id]!;
      let node = this.root;
      for (const symbol of piece) {
        let child = node.children.get(symbol);
        if (!child) node.children.set(symbol, (child = { children: new Map(), id: -1, score: 0, length: node.length + 1 }));
        node = child;
      }
      node.id = id;
      node.score = score;
    }
  }

  /** Token ids of a whole text (the graph reads the first USE_LITE_MAX_TOKENS). */
  encode(text: string): number[] {
    const normalized = text.normalize('NFKC');
    const symbols = Array.from(normalized.length > 0 ? WORD_START + normalized.replace(/ /g, WORD_START) : normalized);
    const n = symbols.length;
    const best = new Float64Array(n + 1);
    const ids = new Int32Array(n + 1);
    // Pieces by where they end, in order of where they start: the order the package scores them in.
    const ending: Array<Array<{ start: number; id: number; score: number }>> = Array.from({ length: n + 1 }, () => []);
    for (let start = 0; start < n; start++) {
      let node = this.root.children.get(symbols[start]!);
      let matched = false;
      for (let end = start + 1; node; end++) {
        if (node.id >= 0) {
          ending[end]!.push({ start, id: node.id, score: node.score });
          matched = true;
        }
        node = end < n ? node.children.get(symbols[end]!) : undefined;
      }
      if (!matched) ending[start + 1]!.push({ start, id: UNKNOWN_ID, score: 0 });
    }
    for (let end = 0; end <= n; end++) {
      for (const piece of ending[end]!) {
        const score = piece.score + best[piece.start]!;
        if (best[end] === 0 || score >= best[end]!) {
          best[end] = score;
          ids[end] = piece.id;
        }
      }
    }
    const reversed: number[] = [];
    for (let at = n; at > 0; at -= this.utf16Lengths[ids[at]!]!) reversed.push(ids[at]!);
    const tokens: number[] = [];
    for (let i = reversed.length - 1; i >= 0; i--) {
      // Reading backwards, the package keeps the last of a run of unknowns; every one is id 0, so keeping the first is the same.
      if (!(reversed[i] === UNKNOWN_ID && reversed[i + 1] === UNKNOWN_ID)) tokens.push(reversed[i]!);
    }
    return tokens;
  }
}

export async function loadUseLiteTokenizer(): Promise<UseLiteTokenizer> {
  return new UseLiteTokenizer(JSON.parse(await readFile(path.join(useLiteWeightsDir(), 'vocab.json'), 'utf8')) as Array<[string, number]>);
}

/** The ids the graph reads for a text: its first 128 tokens. */
function useLiteTokenIds(tokenizer: UseLiteTokenizer, text: string): number[] {
  // The tokenizer yields no tokens for an empty string, which TF's graph rejects; the package embeds a space instead, and so does this.
  return tokenizer.encode(text.trim() === '' ? ' ' : text).slice(0, USE_LITE_MAX_TOKENS);
}

/** Rows of token ids padded to the longest row with the graph's padding id, as one [batch, sequence] tensor. */
function tokenTensor(rows: number[][]): ort.Tensor {
  const sequence = Math.max(1, ...rows.map((row) => row.length));
  const ids = new BigInt64Array(rows.length * sequence).fill(BigInt(USE_LITE_PAD_ID));
  rows.forEach((row, i) => row.forEach((id, j) => (ids[i * sequence + j] = BigInt(id))));
  return new ort.Tensor('int64', ids, [rows.length, sequence]);
}

export async function loadUseLiteOnnx(options: UseLiteOnnxOptions = {}): Promise<UseLiteModel> {
  graphBytes ??= buildUseLiteOnnx();
  const [tokenizer, bytes] = await Promise.all([loadUseLiteTokenizer(), graphBytes]);
  // The options of openSession (onnx-session.ts), which opens sessions from a file path only.
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  return {
    async embedBatch(texts) {
      if (texts.length === 0) return [];
      const input = tokenTensor(texts.map((text) => useLiteTokenIds(tokenizer, text)));
      const output = (await session.run({ [USE_LITE_INPUT]: input }))[USE_LITE_OUTPUT]!;
      const [, width] = output.dims as [number, number];
      const data = output.data as Float32Array;
      return texts.map((_, i) => l2Normalize(data.slice(i * width, (i + 1) * width)));
    },
    dispose: () => void session.release(),
  };
}
