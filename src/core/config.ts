// Configuration: one zod schema with every default in one place. A file (`--config`, YAML or JSON)
// overrides the defaults and command-line flags override the file. API keys are never part of the
// configuration: they are read from environment variables only, so they never reach the store or logs.
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { z } from 'zod';
import { UserError } from './errors.js';
import { configIssueMessage, yamlErrorMessage } from './config-errors.js';
import { RUN_STRATEGIES } from './stages.js';
import { isSecretParam } from '../../storage/index.js';

/**
 * A configured URL that holds no secret: credentials (`user:key@host`) or a key-like query parameter
 * would be sent, logged and recorded with every failure, so they are refused for the env variable.
 */
function urlWithoutSecrets(keyVariable: string) {
  return z
    .string()
    .url()
    .refine((raw) => {
      const url = new URL(raw);
      return !url.username && !url.password && ![...url.searchParams.keys()].some(isSecretParam);
    }, `a URL must not hold a key or credentials (user:key@host, ?key=…); remove it and put the key in ${keyVariable}`);
}

/** `run --caption`: which caption the RagVL reranker is shown with each image. */
export const RERANK_CAPTIONS = ['none', 'description', 'dataset'] as const;
export type RerankCaption = (typeof RERANK_CAPTIONS)[number];

export const ConfigSchema = z
  .object({
    crawl: z
      .object({
        search: z.enum(['wikipedia', 'searxng', 'brave', 'google-cse', 'local', 'seeds']).default('wikipedia'),
        site: z.string().url().optional(),
        /** Most pages the `local` provider indexes from the site. */
        siteMaxPages: z.number().int().positive().default(5000),
        pages: z.number().int().nonnegative().default(10),
        /** Auxiliary images asked of the image search per query (`score.keepAuxImages` keeps the best of them). */
        auxImages: z.number().int().nonnegative().default(10),
        render: z.boolean().default(false),
        chromiumPath: z.string().optional(),
        /**
         * Most pages, and most images, in flight at once (each its own pool; a page in flight holds only
         * its text, parsed on a worker thread). Well above what the hosts allow (per host at most
         * `perDomainConcurrency`), so many hosts keep every slot busy. Crawlee's autoscaled pools start
         * there and lower it, to no less than half, while the CPU is busy or memory nears `memoryMbytes`.
         */
        concurrency: z.number().int().positive().default(128),
        /** Memory Crawlee's autoscaling keeps the crawl under (it lowers concurrency near it), in MB. */
        memoryMbytes: z.number().int().positive().default(512),
        perDomainConcurrency: z.number().int().positive().default(4),
        perDomainDelayMs: z.number().int().nonnegative().default(0),
        maxRetries: z.number().int().nonnegative().default(2),
        /** Attempts across runs after which a transient failure (network, timeout, 429, 5xx) is final; until then its query stays open. */
        maxAttempts: z.number().int().positive().default(6),
        requestTimeoutSecs: z.number().positive().default(30),
        maxPageBytes: z.number().int().positive().default(10 * 1024 * 1024),
        maxImageBytes: z.number().int().positive().default(20 * 1024 * 1024),
        /** Per-page caps: what one hostile page may cost. Past a cap a page is truncated (and its Fetch says so) or skipped. */
        limits: z
          .object({
            /** Image occurrences kept per page; later ones get no placeholder and no record. */
            maxOccurrences: z.number().int().positive().default(1000),
            /** Distinct image URLs fetched per page. */
            maxImages: z.number().int().positive().default(300),
            /** Links kept per page; later anchors lose their href (their text stays). */
            maxLinks: z.number().int().positive().default(10_000),
            /** Stored HTML after decoding, in bytes; a larger page is skipped. */
            maxHtmlBytes: z.number().int().positive().default(5 * 1024 * 1024),
            /** Element nesting depth; a deeper page is skipped (browsers stop nesting at 512). */
            maxDomDepth: z.number().int().positive().default(512),
          })
          .strict()
          .prefault({}),
        ignoreRobots: z.boolean().default(false),
        allowPrivate: z.boolean().default(false),
        userAgent: z.string().default('m2rag/0.1 (+https://github.com/m2rag/m2rag)'),
        wikipediaUrl: z.string().url().default('https://en.wikipedia.org/w/api.php'),
        commonsUrl: z.string().url().default('https://commons.wikimedia.org/w/api.php'),
        searxngUrl: urlWithoutSecrets('the environment').optional(),
        braveUrl: urlWithoutSecrets('BRAVE_API_KEY').default('https://api.search.brave.com/res/v1'),
        googleCseUrl: urlWithoutSecrets('GOOGLE_CSE_KEY').default('https://www.googleapis.com/customsearch/v1'),
      })
      .strict()
      .prefault({}),
    text: z
      .object({
        chunkChars: z.number().int().positive().default(1000),
        chunkTokens: z.number().int().positive().optional(),
        minhashBands: z.number().int().positive().default(14),
        minhashRows: z.number().int().positive().default(8),
        shingleWords: z.number().int().positive().default(5),
        /** Estimated Jaccard similarity at which an LSH candidate counts as a near-duplicate. */
        minhashThreshold: z.number().min(0).max(1).default(0.72),
        /** Longest one page's main-content extraction may run; past it the page is recorded `timeout: …` with no text. */
        extractTimeoutMs: z.number().int().positive().default(60_000),
      })
      .strict()
      .prefault({}),
    images: z
      .object({
        minPixels: z.number().int().nonnegative().default(10_000),
        maxPixels: z.number().int().positive().default(4_000_000),
        minBytes: z.number().int().nonnegative().default(20 * 1024),
        maxAspectRatio: z.number().positive().default(5),
        decodePixelLimit: z.number().int().positive().default(100_000_000),
        thumbnailSide: z.number().int().positive().default(512),
        /** Largest window-hash Hamming distance between an image and a window of another for the pair to be verified. */
        phashThreshold: z.number().int().nonnegative().default(10),
        /** Smallest grey correlation of a verified near-duplicate pair, after aligning the window. */
        dedupMinCorrelation: z.number().min(-1).max(1).default(0.85),
        /** Largest share of colour cells that may disagree in a near-duplicate pair (overlays, watermarks). */
        dedupMaxColourDisagreement: z.number().min(0).max(1).default(0.15),
        minLayoutScore: z.number().default(2),
        thumbnailFormat: z.enum(['jpeg', 'webp']).default('jpeg'),
        thumbnailQuality: z.number().int().min(1).max(100).default(85),
        decodeConcurrency: z.number().int().positive().default(2),
        contextTokensAbove: z.number().int().nonnegative().default(256),
        contextTokensBelow: z.number().int().nonnegative().default(256),
      })
      .strict()
      .prefault({}),
    models: z
      .object({
        /** OpenAI-compatible endpoints; keys come from M2RAG_LLM_KEY / M2RAG_VISION_KEY only. */
        llmUrl: urlWithoutSecrets('M2RAG_LLM_KEY').optional(),
        llmModel: z.string().optional(),
        visionUrl: urlWithoutSecrets('M2RAG_VISION_KEY').optional(),
        visionModel: z.string().optional(),
        embeddingUrl: urlWithoutSecrets('M2RAG_EMBEDDING_KEY').optional(),
        embeddingModel: z.string().optional(),
        /** Directory of a local CLIP-family ONNX export (vision + text graphs and tokenizer.json). */
        clipDir: z.string().optional(),
        concurrency: z.number().int().positive().default(4),
        timeoutSecs: z.number().positive().default(120),
        maxRetries: z.number().int().nonnegative().default(3),
        /** First retry delay; doubled per retry unless the server sends Retry-After. */
        retryDelayMs: z.number().int().nonnegative().default(1000),
        /** Largest model reply read, in bytes; past it the reply is abandoned as `too-long` (64 embeddings of 3072 dimensions are about 4 MB). */
        maxReplyBytes: z.number().int().positive().default(8 * 1024 * 1024),
        /** Intra-op threads of local ONNX sessions. */
        threads: z.number().int().positive().default(1),
        /** Images per forward pass of the local CLIP image encoder. */
        clipBatchSize: z.number().int().positive().default(16),
        /** Where `m2rag models pull` downloads from (laid out like the Hugging Face hub) and to. */
        hubUrl: z.string().url().default('https://huggingface.co'),
        cacheDir: z.string().optional(),
        /** Longest description a vision model may write, in tokens. */
        describeMaxTokens: z.number().int().positive().default(200),
        /** `auto`: the vision model when one is configured, else the embedded context-template describer. */
        describeMethod: z.enum(['auto', 'vision-model', 'context-template']).default('auto'),
        /** Cache model responses in the store (re-runs then cost nothing). */
        cache: z.boolean().default(true),
        /** Failed requests in a row (each after its retries) after which an endpoint is taken as down and the stage stops. */
        maxConsecutiveFailures: z.number().int().positive().default(3),
        /** Share of a stage's model calls that may fail before the command ends non-zero (`--max-failure-rate`). */
        maxFailureRate: z.number().min(0).max(1).default(0.1),
      })
      .strict()
      .prefault({}),
    score: z
      .object({
        minChunkScore: z.number().min(0).max(10).default(3),
        minImageScore: z.number().min(0).max(10).default(3),
        chunksPerPage: z.number().int().positive().default(20),
        imagesPerPage: z.number().int().positive().default(5),
        /** Most auxiliary images a query keeps (of the `crawl.auxImages` fetched). */
        keepAuxImages: z.number().int().positive().default(5),
        imagesOverall: z.number().int().positive().default(10),
      })
      .strict()
      .prefault({}),
    run: z
      .object({
        strategy: z.enum(RUN_STRATEGIES).default('single'),
        /** `ragvl`: retrieve over the query's own kept elements (`query`) or every query's (`corpus`). */
        pool: z.enum(['query', 'corpus']).default('query'),
        // The M2RAG generation input caps, the reference's defaults (summarize_custom_{llm,mllm}.yaml);
        // applied over the score stage's keep decisions. A cap of 0 or less is no cap, except that
        // maxAuxImages 0 keeps no auxiliary image (-1: no cap), as the reference reads them.
        minPieceScore: z.number().min(0).max(10).default(3),
        maxPiecesPerSample: z.number().int().nonnegative().default(20),
        maxPieces: z.number().int().nonnegative().default(0),
        minImageScore: z.number().min(0).max(10).default(3),
        maxImageScore: z.number().default(1e10),
        maxImagesPerSample: z.number().int().nonnegative().default(5),
        maxAuxImages: z.number().int().min(-1).default(5),
        maxImages: z.number().int().nonnegative().default(10),
        topK: z.number().int().positive().default(20),
        topN: z.number().int().positive().default(2),
        threshold: z.number().min(0).max(1).default(0.5),
        /** The caption the vision reranker sees: none (caption-agnostic template), our description, or the dataset's own (imported). */
        caption: z.enum(RERANK_CAPTIONS).default('description'),
        /** Threshold of the model-free reranker fallback (its relevance is a similarity, not a probability). */
        fallbackThreshold: z.number().min(0).max(1).default(0.25),
        /** Retrieved chunks given to the generator. */
        contextChunks: z.number().int().positive().default(5),
        /** Vectors above which retrieval uses an HNSW index (usearch) instead of exact search. */
        annAbove: z.number().int().positive().default(50_000),
        maxAnswerTokens: z.number().int().positive().default(800),
        /** Minimum image coherence, helpfulness, reference and recall of a sample in the llama-factory training set (the reference's 0.7). */
        sharegptMinMetric: z.number().min(0).max(1).default(0.7),
      })
      .strict()
      .prefault({}),
    /** Query intake (`filter-queries`, before crawl in `build`; `build --filter-queries`). */
    filter: z
      .object({
        enabled: z.boolean().default(false),
        /** `auto`: the LLM when one is configured, else the embedded heuristic (labelled as such). */
        method: z.enum(['auto', 'llm', 'embedded-heuristic']).default('auto'),
      })
      .strict()
      .prefault({}),
    /** A prompts file (YAML or JSON, `name: text`) replacing default prompt wording (`m2rag prompts list`). */
    prompts: z
      .object({ file: z.string().optional() })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigOverrides = { [S in keyof Config]?: Partial<Config[S]> };

const SECRET_KEY = /(api[-_]?key|secret|token|password)$/i;

function rejectSecrets(value: unknown, file: string, path: string[] = []): void {
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    if (SECRET_KEY.test(key)) {
      throw new UserError(
        `${file}: ${[...path, key].join('.')}: API keys are read from environment variables only (for example M2RAG_LLM_KEY), never from the config file`,
      );
    }
    rejectSecrets(child, file, [...path, key]);
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Defaults, then the file, then the flags; every layer validated by the one schema. */
export async function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Promise<Config> {
  let fromFile: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UserError(`${file}: cannot read config file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    try {
      fromFile = (file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text)) ?? {};
    } catch (error) {
      if (file.endsWith('.json')) throw new UserError(`${file}: not valid JSON (${(error as Error).message.split('\n')[0]})`);
      throw new UserError(`${file}: not valid YAML, ${yamlErrorMessage(error as Error, text)}`);
    }
    if (typeof fromFile !== 'object' || Array.isArray(fromFile)) throw new UserError(`${file}: the config must be a mapping of sections`);
    rejectSecrets(fromFile, file);
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [section, values] of Object.entries(overrides)) {
    const base = (fromFile[section] as Record<string, unknown> | undefined) ?? {};
    merged[section] = { ...base, ...withoutUndefined(values as object) };
  }
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    throw new UserError(`${file ?? 'flags'}: ${configIssueMessage(ConfigSchema, result.error.issues[0]!)}`);
  }
  return result.data;
}
