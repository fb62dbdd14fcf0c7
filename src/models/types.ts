// Capability interfaces of the model layer. Code in crawlers/, processors/, scorers/ and runner/
// talks to models only through these; src/models/registry.ts picks implementations from config.

/** Provenance fields every model result is stored with (see storage Provenance). */
export interface ModelIdentity {
  provider: string;
  model: string;
}

export interface TextEmbedder extends ModelIdentity {
  /** Vector length; for an embeddings endpoint it is known only after the first call (0 before). */
  readonly dimensions: number;
  /** L2-normalized vectors, one per text, in order. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
}

export interface ImageEmbedder extends ModelIdentity {
  readonly dimensions: number;
  /** L2-normalized vectors, one per image (encoded bytes), in order. */
  embedImages(images: Uint8Array[]): Promise<Float32Array[]>;
  /** Text vectors in the same space as the images (CLIP-family dual encoders). */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
}

export interface OcrLine {
  text: string;
  confidence: number;
  box: [number, number, number, number];
}

export interface OcrEngine extends ModelIdentity {
  recognize(image: Uint8Array): Promise<OcrLine[]>;
}

export type ChatContent = { type: 'text'; text: string } | { type: 'image'; image: Uint8Array };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ChatContent[];
}

export interface ChatRequest {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /** Ask for the top log-probabilities of the first generated token (RagVL's Yes/No reranking). */
  firstTokenLogprobs?: number;
}

export interface ChatResponse {
  text: string;
  /** Token → log-probability for the first generated token, when requested and supported. */
  firstTokenLogprobs?: Record<string, number>;
  usage?: { promptTokens: number; completionTokens: number };
  latencyMs: number;
  /** True when the answer came from the store's model cache. */
  cached: boolean;
  /** sha256 of everything that went into the request (provider, endpoint, model, body): the cache key and provenance hash. */
  inputHash: string;
}

export interface ChatModel extends ModelIdentity {
  /** Throws ModelRequestError (src/models/errors.ts) with a one-line reason when the request fails for good. */
  chat(request: ChatRequest): Promise<ChatResponse>;
}

/** Requests, cache hits, failures and tokens of the models a run used; printed at the end of a stage. */
export interface UsageTotals {
  requests: number;
  cached: number;
  failed: number;
  retries: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * The models a run uses, picked from config by src/models/registry.ts (`loadModels`). Absent
 * entries mean "not configured": callers fall back to their labelled embedded path.
 */
export interface Models {
  /** Text LLM (OpenAI-compatible chat); used for text scoring, generation, judging. */
  llm?: ChatModel;
  /** Vision-language model (OpenAI-compatible chat with images); descriptions, image scoring, reranking. */
  vision?: ChatModel;
  /** Always present: a configured embedding endpoint, or the embedded offline default. */
  textEmbedder: TextEmbedder;
  /** CLIP-family dual encoder, when a model directory is configured. */
  imageEmbedder?: ImageEmbedder;
  /** Always present: the embedded PaddleOCR default. */
  ocr: OcrEngine;
  /** Usage per model (`provider:model`), accumulated over this process. */
  usage(): Record<string, UsageTotals>;
  /** The one line naming an endpoint that failed too many requests in a row, once one has. */
  endpointDown?(): string | undefined;
  /** Releases loaded sessions (ONNX, TensorFlow.js). */
  dispose(): Promise<void>;
}
