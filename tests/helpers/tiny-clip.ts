// Writes a tiny random CLIP-style dual encoder as real ONNX graphs (built with onnx-proto), with the
// input/output names of Hugging Face CLIP exports, a BERT-style WordPiece tokenizer.json and a
// preprocessor_config.json. No model hub is reachable here: this lets tests and benchmarks run the
// real loading, tokenizing, preprocessing and batching code. The weights are random: the vectors
// mean nothing, but are exactly computable (image: flatten · W; text: masked mean of embedding rows).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const TINY_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a', 'dog', 'runs', 'on', 'the', 'grass', 'child', 'in', 'red', 'shirt', 'water', 'two', 'people', 'ball', 'play', '##s'];

export interface TinyClip {
  dir: string;
  dimensions: number;
  side: number;
  /** Vision weights, row-major [3·side·side, dimensions]. */
  visionWeights: Float32Array;
  /** Token embedding table, row-major [vocab, dimensions]. */
  tokenEmbeddings: Float32Array;
}

/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function valueInfo(name: string, elemType: number, dims: Array<number | string>) {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function floatTensor(name: string, dims: number[], values: Float32Array) {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)) };
}

function int64Tensor(name: string, values: number[]) {
  return { name, dims: [values.length], dataType: INT64, int64Data: values };
}

function model(graph: Record<string, unknown>): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'm2rag-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  } as never).finish();
}

export async function writeTinyClip(dir: string, options: { dimensions?: number; side?: number; seed?: number } = {}): Promise<TinyClip> {
  const dimensions = options.dimensions ?? 16;
  const side = options.side ?? 8;
  const next = random(options.seed ?? 7);
  const features = 3 * side * side;
  const visionWeights = Float32Array.from({ length: features * dimensions }, next);
  const tokenEmbeddings = Float32Array.from({ length: TINY_VOCAB.length * dimensions }, next);

  const vision = model({
    name: 'tiny-clip-vision',
    node: [
      { opType: 'Flatten', input: ['pixel_values'], output: ['flat'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
      { opType: 'MatMul', input: ['flat', 'W'], output: ['image_embeds'] },
    ],
    initializer: [floatTensor('W', [features, dimensions], visionWeights)],
    input: [valueInfo('pixel_values', FLOAT, ['batch', 3, side, side])],
    output: [valueInfo('image_embeds', FLOAT, ['batch', dimensions])],
  });
  const text = model({
    name: 'tiny-clip-text',
    node: [
      { opType: 'Gather', input: ['E', 'input_ids'], output: ['tokens'] },
      { opType: 'Cast', input: ['attention_mask'], output: ['mask'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] },
      { opType: 'Unsqueeze', input: ['mask', 'last_axis'], output: ['mask3'] },
      { opType: 'Mul', input: ['tokens', 'mask3'], output: ['masked'] },
      { opType: 'ReduceSum', input: ['masked', 'sequence_axis'], output: ['summed'], attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
      { opType: 'ReduceSum', input: ['mask3', 'sequence_axis'], output: ['count'], attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
      { opType: 'Div', input: ['summed', 'count'], output: ['text_embeds'] },
    ],
    initializer: [floatTensor('E', [TINY_VOCAB.length, dimensions], tokenEmbeddings), int64Tensor('last_axis', [2]), int64Tensor('sequence_axis', [1])],
    input: [valueInfo('input_ids', INT64, ['batch', 'sequence']), valueInfo('attention_mask', INT64, ['batch', 'sequence'])],
    output: [valueInfo('text_embeds', FLOAT, ['batch', dimensions])],
  });

  const special = (content: string) => ({ id: TINY_VOCAB.indexOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]'].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [TINY_VOCAB.indexOf('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [TINY_VOCAB.indexOf('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(TINY_VOCAB.map((t, i) => [t, i])) },
  };

  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  await Promise.all([
    writeFile(path.join(dir, 'onnx/vision_model.onnx'), vision),
    writeFile(path.join(dir, 'onnx/text_model.onnx'), text),
    writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer)),
    writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 12, pad_token: '[PAD]', do_lower_case: true })),
    writeFile(
      path.join(dir, 'preprocessor_config.json'),
      JSON.stringify({
        do_resize: true,
        size: { shortest_edge: side },
        do_center_crop: true,
        crop_size: { height: side, width: side },
        do_normalize: true,
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
        resample: 3,
      }),
    ),
    writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'clip', projection_dim: dimensions })),
  ]);
  return { dir, dimensions, side, visionWeights, tokenEmbeddings };
}
