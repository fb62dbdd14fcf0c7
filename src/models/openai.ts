// The OpenAI-compatible provider: chat completions (text and images, first-token logprobs) and
// embeddings over HTTP, for vLLM, Ollama, llama.cpp's server, LM Studio or a hosted API.
// The machinery (bounded concurrency, timeouts, retries with backoff, the response cache, usage
// accounting, giving up on an endpoint that is down) lives here once; callers only build requests
// and read replies.
import pLimit, { type LimitFunction } from 'p-limit';
import { z } from 'zod';
import { hashOf, type ModelCache } from './cache.js';
import { EndpointHealth, ModelRequestError } from './errors.js';
import { imageDataUrl } from './image-input.js';
import { countTokens } from '../core/text/tokens.js';
import type { ChatMessage, ChatRequest, ChatResponse, TextEmbedder, ChatModel } from './types.js';
import type { UsageMeter } from './usage.js';

export const OPENAI_PROVIDER = 'openai-compatible';

export interface OpenAiEndpoint {
  /** Base URL including the API version, e.g. `http://127.0.0.1:8000/v1`; paths are appended to it. */
  url: string;
  model: string;
  /** Bearer token; read from the environment only. */
  key?: string;
}

export interface RequestPolicy {
  concurrency: number;
  timeoutMs: number;
  maxRetries: number;
  /** First backoff delay; doubled per retry, unless the server sends Retry-After. */
  retryDelayMs: number;
  /** Largest reply body read, in bytes (models.maxReplyBytes); a longer one is abandoned as `too-long`. */
  maxReplyBytes?: number;
}

/** models.maxReplyBytes's default, for policies built without a config. */
export const DEFAULT_MAX_REPLY_BYTES = 8 * 1024 * 1024;

/**
 * How far a reply may run past the `max_tokens` it was asked for before it is refused as `too-long`:
 * our tokenizer (o200k) is not the server's, so a reply within twice the budget is taken as the
 * server's count, and only one far beyond it (a server that ignores max_tokens) is refused.
 */
const TOKEN_ALLOWANCE = (maxTokens: number): number => maxTokens * 2 + 16;
/** No tokenizer makes tokens this long on average: a reply longer than allowance × this is over it, uncounted. */
const MAX_CHARS_PER_TOKEN = 32;

const ChatReply = z.object({
  choices: z
    .array(
      z.object({
        message: z
          .object({
            content: z.union([z.string(), z.array(z.object({ type: z.string().optional(), text: z.string().optional() })), z.null()]).optional(),
            refusal: z.string().nullish(),
          })
          .optional(),
        finish_reason: z.string().nullish(),
        logprobs: z
          .object({
            content: z
              .array(
                z.object({
                  token: z.string(),
                  logprob: z.number(),
                  top_logprobs: z.array(z.object({ token: z.string(), logprob: z.number() })).optional(),
                }),
              )
              .nullish(),
          })
          .nullish(),
      }),
    )
    .optional(),
  usage: z.object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() }).nullish(),
});

const EmbeddingsReply = z.object({
  data: z.array(z.object({ index: z.number().int().optional(), embedding: z.array(z.number()) })),
  usage: z.object({ prompt_tokens: z.number().optional() }).nullish(),
});

/** What the cache keeps of a chat reply (latency and the cached flag are per call). */
type CachedChat = Pick<ChatResponse, 'text' | 'firstTokenLogprobs' | 'usage'>;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * POSTs JSON with a timeout, retrying timeouts, 429, 5xx and connection resets with exponential
 * backoff. A refused connection, an unknown host and other 4xx fail at once (another attempt cannot
 * fix them), and once the endpoint's health says it is down no request is sent at all.
 */
export class OpenAiTransport {
  private readonly limit: LimitFunction;

  constructor(
    readonly endpoint: OpenAiEndpoint,
    private readonly policy: RequestPolicy,
    private readonly onRetry: () => void,
    private readonly health: EndpointHealth = new EndpointHealth(endpoint.url, Infinity),
  ) {
    this.limit = pLimit(policy.concurrency);
  }

  post(path: string, body: unknown): Promise<unknown> {
    return this.limit(async () => {
      for (let attempt = 0; ; attempt++) {
        this.health.check();
        try {
          const reply = await this.postOnce(path, body);
          this.health.succeeded();
          return reply;
        } catch (error) {
          const failure = error as ModelRequestError;
          if (!(failure instanceof ModelRequestError)) throw error;
          if (!failure.retryable || attempt >= this.policy.maxRetries) {
            this.health.failed(failure);
            throw error;
          }
          this.onRetry();
          await sleep(failure.retryAfterMs ?? this.policy.retryDelayMs * 2 ** attempt);
        }
      }
    });
  }

  private async postOnce(path: string, body: unknown): Promise<unknown> {
    const url = this.endpoint.url.replace(/\/+$/, '') + path;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.endpoint.key) headers.authorization = `Bearer ${this.endpoint.key}`;
    const signal = AbortSignal.timeout(this.policy.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
      text = await readCapped(response, url, this.policy.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES);
    } catch (error) {
      if (error instanceof ModelRequestError) throw error;
      const err = error as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError') {
        throw new ModelRequestError('timeout', `no complete reply from ${url} within ${this.policy.timeoutMs} ms`);
      }
      throw new ModelRequestError('unreachable', `${url}: ${err.cause?.code ?? err.cause?.message ?? err.message}`, undefined, undefined, err.cause?.code);
    }
    if (!response.ok) {
      const header = response.headers.get('retry-after');
      const seconds = header === null ? NaN : Number(header);
      const retryAfterMs = Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, 60_000) : undefined;
      throw new ModelRequestError('http', `${url} answered ${response.status}: ${summarize(text)}`, response.status, retryAfterMs);
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new ModelRequestError('malformed', `${url} answered ${response.status} with non-JSON: ${summarize(text)}`);
    }
  }
}

/** The reply body as text, read as a stream and abandoned once it passes `maxBytes`. */
async function readCapped(response: Response, url: string, maxBytes: number): Promise<string> {
  const tooLong = (): ModelRequestError =>
    new ModelRequestError('too-long', `reply too long: more than ${maxBytes} bytes from ${url} (models.maxReplyBytes)`, response.status);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw tooLong();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLong();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Refuses a reply far over the `max_tokens` it was asked for (see TOKEN_ALLOWANCE), by the server's count or ours. */
function enforceMaxTokens(reply: CachedChat, maxTokens: number | undefined): void {
  if (maxTokens === undefined) return;
  const allowance = TOKEN_ALLOWANCE(maxTokens);
  const reported = reply.usage?.completionTokens ?? 0;
  const over =
    reported > allowance || (reply.text.length > allowance && (reply.text.length > allowance * MAX_CHARS_PER_TOKEN || countTokens(reply.text) > allowance));
  if (over) {
    throw new ModelRequestError('too-long', `reply too long: ${reported > allowance ? reported : 'over ' + allowance} tokens where max_tokens ${maxTokens} was asked for (${reply.text.length} characters)`);
  }
}

function summarize(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? oneLine.slice(0, 200) + '…' : oneLine || '(empty body)';
}

async function toOpenAiMessage(message: ChatMessage): Promise<unknown> {
  if (typeof message.content === 'string') return { role: message.role, content: message.content };
  const parts = await Promise.all(
    message.content.map(async (part) =>
      part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image_url', image_url: { url: await imageDataUrl(part.image) } },
    ),
  );
  return { role: message.role, content: parts };
}

/** The documented request body of POST /chat/completions for a ChatRequest. */
export async function chatRequestBody(model: string, request: ChatRequest): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {
    model,
    messages: await Promise.all(request.messages.map(toOpenAiMessage)),
    temperature: request.temperature ?? 0,
  };
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.firstTokenLogprobs !== undefined) {
    body.logprobs = true;
    body.top_logprobs = request.firstTokenLogprobs;
  }
  return body;
}

/** Reads a chat completion reply; throws `malformed` for anything outside the documented shape. */
export function parseChatReply(json: unknown, wantLogprobs: boolean): CachedChat {
  const parsed = ChatReply.safeParse(json);
  if (!parsed.success) throw new ModelRequestError('malformed', `reply is not a chat completion (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
  const choice = parsed.data.choices?.[0];
  if (!choice) throw new ModelRequestError('malformed', 'reply has no choices');
  const content = choice.message?.content;
  const text = (Array.isArray(content) ? content.map((part) => part.text ?? '').join('') : (content ?? '')).trim();
  if (text === '') {
    const why = choice.message?.refusal ? `model refused: ${summarize(choice.message.refusal)}` : `empty reply (finish_reason ${choice.finish_reason ?? 'none'})`;
    throw new ModelRequestError('malformed', why);
  }
  const reply: CachedChat = { text };
  const first = choice.logprobs?.content?.[0];
  if (wantLogprobs && first) {
    const logprobs: Record<string, number> = {};
    for (const top of first.top_logprobs ?? []) logprobs[top.token] = Math.max(logprobs[top.token] ?? -Infinity, top.logprob);
    logprobs[first.token] = Math.max(logprobs[first.token] ?? -Infinity, first.logprob);
    reply.firstTokenLogprobs = logprobs;
  }
  const usage = parsed.data.usage;
  if (usage) reply.usage = { promptTokens: usage.prompt_tokens ?? 0, completionTokens: usage.completion_tokens ?? 0 };
  return reply;
}

export class OpenAiChat implements ChatModel {
  readonly provider = OPENAI_PROVIDER;
  readonly model: string;
  private readonly transport: OpenAiTransport;
  private readonly usageKey: string;

  constructor(
    endpoint: OpenAiEndpoint,
    policy: RequestPolicy,
    private readonly cache: ModelCache | undefined,
    private readonly meter: UsageMeter,
    health?: EndpointHealth,
  ) {
    this.model = endpoint.model;
    this.usageKey = `${this.provider}:${endpoint.model}`;
    this.transport = new OpenAiTransport(endpoint, policy, () => meter.record(this.usageKey, { retries: 1 }), health);
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    const started = Date.now();
    this.meter.record(this.usageKey, { requests: 1 });
    try {
      const body = await chatRequestBody(this.model, request);
      // The key never enters the hash; the endpoint URL does, since another server may answer differently.
      const inputHash = hashOf({ provider: this.provider, url: this.transport.endpoint.url, path: '/chat/completions', body });
      const hit = await this.cache?.get<CachedChat>(inputHash);
      if (hit) {
        this.meter.record(this.usageKey, { cached: 1 });
        return { ...hit, latencyMs: Date.now() - started, cached: true, inputHash };
      }
      const reply = parseChatReply(await this.transport.post('/chat/completions', body), request.firstTokenLogprobs !== undefined);
      this.meter.record(this.usageKey, { promptTokens: reply.usage?.promptTokens ?? 0, completionTokens: reply.usage?.completionTokens ?? 0 });
      enforceMaxTokens(reply, request.maxTokens);
      await this.cache?.put(inputHash, this.provider, this.model, reply);
      return { ...reply, latencyMs: Date.now() - started, cached: false, inputHash };
    } catch (error) {
      this.meter.record(this.usageKey, { failed: 1 });
      throw error;
    }
  }
}

/** Texts per embeddings request. */
const EMBEDDING_BATCH = 64;

export class OpenAiEmbeddings implements TextEmbedder {
  readonly provider = OPENAI_PROVIDER;
  readonly model: string;
  dimensions = 0;
  private readonly transport: OpenAiTransport;
  private readonly usageKey: string;

  constructor(
    endpoint: OpenAiEndpoint,
    policy: RequestPolicy,
    private readonly meter: UsageMeter,
    health?: EndpointHealth,
  ) {
    this.model = endpoint.model;
    this.usageKey = `${this.provider}:${endpoint.model}`;
    this.transport = new OpenAiTransport(endpoint, policy, () => meter.record(this.usageKey, { retries: 1 }), health);
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    const vectors: Float32Array[] = new Array(texts.length);
    const batches: number[][] = [];
    for (let i = 0; i < texts.length; i += EMBEDDING_BATCH) batches.push(texts.slice(i, i + EMBEDDING_BATCH).map((_, j) => i + j));
    await Promise.all(batches.map((batch) => this.embedBatch(batch, texts, vectors)));
    return vectors;
  }

  private async embedBatch(batch: number[], texts: string[], vectors: Float32Array[]): Promise<void> {
    this.meter.record(this.usageKey, { requests: 1 });
    try {
      const json = await this.transport.post('/embeddings', { model: this.model, input: batch.map((i) => texts[i]!) });
      const parsed = EmbeddingsReply.safeParse(json);
      if (!parsed.success) throw new ModelRequestError('malformed', 'reply is not an embeddings list');
      const data = parsed.data.data;
      if (data.length !== batch.length) throw new ModelRequestError('malformed', `asked for ${batch.length} embeddings, got ${data.length}`);
      const ordered = data.every((d) => d.index !== undefined) ? [...data].sort((a, b) => a.index! - b.index!) : data;
      for (const [j, item] of ordered.entries()) {
        if (item.embedding.length === 0 || (this.dimensions !== 0 && item.embedding.length !== this.dimensions)) {
          throw new ModelRequestError('malformed', `embedding of length ${item.embedding.length}, expected ${this.dimensions || 'more than 0'}`);
        }
        this.dimensions = item.embedding.length;
        vectors[batch[j]!] = l2Normalize(Float32Array.from(item.embedding));
      }
      this.meter.record(this.usageKey, { promptTokens: parsed.data.usage?.prompt_tokens ?? 0 });
    } catch (error) {
      this.meter.record(this.usageKey, { failed: 1 });
      throw error;
    }
  }
}

export function l2Normalize(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! / norm;
  return vector;
}
