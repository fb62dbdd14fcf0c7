// Picks the model implementations a run uses from config and environment:
//   - LLM / vision: OpenAI-compatible endpoints (config `models.llmUrl` / `models.visionUrl`, else
//     M2RAG_LLM_URL / M2RAG_VISION_URL; vision falls back to the LLM settings). Keys only from env.
//   - text embeddings: an OpenAI-compatible embeddings endpoint if configured, else the embedded
//     Universal Sentence Encoder lite.
//   - image embeddings: a local CLIP-family ONNX export when `models.clipDir` is set.
//   - OCR: always the embedded PaddleOCR (ONNX).
// Heavy models load on first use, so a command pays only for what it calls.
import { z } from 'zod';
import type { Config } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { redactSecrets, redactUrl, type CorpusStore } from '../../storage/index.js';
import { ModelCache } from './cache.js';
import { CachedTextEmbedder } from './cached-embedder.js';
import { UniversalSentenceEncoder } from './embedded-text.js';
import { OnnxClipEncoder } from './onnx-clip.js';
import { EndpointHealth } from './errors.js';
import { OpenAiChat, OpenAiEmbeddings, type OpenAiEndpoint, type RequestPolicy } from './openai.js';
import { PaddleOcr } from './paddle-ocr.js';
import type { Models } from './types.js';
import { UsageMeter } from './usage.js';

export type Env = Record<string, string | undefined>;

const urlSchema = z.string().url();

function endpointFrom(
  what: string,
  url: string | undefined,
  urlSource: string,
  model: string | undefined,
  modelHint: string,
  key: string | undefined,
): OpenAiEndpoint | undefined {
  if (!url) return undefined;
  if (!urlSchema.safeParse(url).success) throw new UserError(`${urlSource}: "${redactSecrets(url)}" is not a URL (expected e.g. http://127.0.0.1:8000/v1)`);
  if (redactUrl(url) !== url) {
    throw new UserError(`${urlSource}: a URL must not hold a key or credentials (user:key@host, ?key=…); remove it and put the key in M2RAG_${what.toUpperCase()}_KEY`);
  }
  if (!model) throw new UserError(`${what} endpoint ${url} is configured but no model is named: set ${modelHint}`);
  return { url, model, key: key || undefined };
}

/** The OpenAI-compatible endpoints config and environment name, validated (a user's mistake is a UserError). */
export function resolveEndpoints(config: Config, env: Env = process.env): { llm?: OpenAiEndpoint; vision?: OpenAiEndpoint; embedding?: OpenAiEndpoint } {
  const m = config.models;
  const llmUrl = m.llmUrl ?? env.M2RAG_LLM_URL;
  const llmModel = m.llmModel ?? env.M2RAG_LLM_MODEL;
  const llm = endpointFrom('LLM', llmUrl, m.llmUrl ? 'models.llmUrl' : 'M2RAG_LLM_URL', llmModel, 'M2RAG_LLM_MODEL or models.llmModel', env.M2RAG_LLM_KEY);

  const ownVisionUrl = m.visionUrl ?? env.M2RAG_VISION_URL;
  const visionUrl = ownVisionUrl ?? llmUrl;
  // The LLM key is only sent to the vision endpoint when it is the LLM's own server.
  const visionKey = env.M2RAG_VISION_KEY ?? (visionUrl === llmUrl ? env.M2RAG_LLM_KEY : undefined);
  const vision = endpointFrom(
    'vision',
    visionUrl,
    m.visionUrl ? 'models.visionUrl' : ownVisionUrl ? 'M2RAG_VISION_URL' : 'M2RAG_LLM_URL',
    m.visionModel ?? env.M2RAG_VISION_MODEL ?? llmModel,
    'M2RAG_VISION_MODEL or models.visionModel',
    visionKey,
  );

  const embeddingUrl = m.embeddingUrl ?? env.M2RAG_EMBEDDING_URL;
  const embedding = endpointFrom(
    'embedding',
    embeddingUrl,
    m.embeddingUrl ? 'models.embeddingUrl' : 'M2RAG_EMBEDDING_URL',
    m.embeddingModel ?? env.M2RAG_EMBEDDING_MODEL,
    'M2RAG_EMBEDDING_MODEL or models.embeddingModel',
    env.M2RAG_EMBEDDING_KEY,
  );
  return { llm, vision, embedding };
}

export function requestPolicyOf(config: Config): RequestPolicy {
  return {
    concurrency: config.models.concurrency,
    timeoutMs: config.models.timeoutSecs * 1000,
    maxRetries: config.models.maxRetries,
    retryDelayMs: config.models.retryDelayMs,
    maxReplyBytes: config.models.maxReplyBytes,
  };
}

export interface LoadModelsOptions {
  /** Environment to read endpoints and keys from (default process.env). */
  env?: Env;
}

export async function loadModels(config: Config, store: CorpusStore, options: LoadModelsOptions = {}): Promise<Models> {
  const endpoints = resolveEndpoints(config, options.env ?? process.env);
  const policy = requestPolicyOf(config);
  const cache = config.models.cache ? new ModelCache(store) : undefined;
  const meter = new UsageMeter();
  // One health record per endpoint URL, so the LLM and the vision model on one server go down together.
  const health = new Map<string, EndpointHealth>();
  const healthOf = (endpoint: OpenAiEndpoint): EndpointHealth => {
    if (!health.has(endpoint.url)) health.set(endpoint.url, new EndpointHealth(endpoint.url, config.models.maxConsecutiveFailures));
    return health.get(endpoint.url)!;
  };

  const embedded = endpoints.embedding ? undefined : new UniversalSentenceEncoder(meter);
  const innerEmbedder = endpoints.embedding ? new OpenAiEmbeddings(endpoints.embedding, policy, meter, healthOf(endpoints.embedding)) : embedded!;
  const textEmbedder = cache ? new CachedTextEmbedder(innerEmbedder, cache, meter, endpoints.embedding?.url) : innerEmbedder;
  const ocr = new PaddleOcr({ threads: config.models.threads });
  const imageEmbedder = config.models.clipDir
    ? await OnnxClipEncoder.open(config.models.clipDir, { threads: config.models.threads, batchSize: config.models.clipBatchSize })
    : undefined;

  return {
    llm: endpoints.llm && new OpenAiChat(endpoints.llm, policy, cache, meter, healthOf(endpoints.llm)),
    vision: endpoints.vision && new OpenAiChat(endpoints.vision, policy, cache, meter, healthOf(endpoints.vision)),
    textEmbedder,
    imageEmbedder,
    ocr,
    usage: () => meter.snapshot(),
    endpointDown: () => [...health.values()].find((h) => h.down)?.down,
    async dispose() {
      await ocr.dispose();
      await imageEmbedder?.dispose();
      await embedded?.dispose();
    },
  };
}
