// A local stand-in for a remote OpenAI-compatible API (vLLM, Ollama, a hosted service), on
// 127.0.0.1, speaking the documented request/response format. Tests script the replies and read
// the requests it received. Base URL to configure: `server.url` (ends in `/v1`).
//
// POST /v1/chat/completions — request body (what m2rag sends):
//   { model, messages: [{ role, content: string | [{type:'text', text} | {type:'image_url', image_url:{url:'data:image/jpeg;base64,…'}}] }],
//     temperature, max_tokens?, logprobs?: true, top_logprobs?: n }
//   reply (chatReply builds it):
//   { id, object:'chat.completion', created, model,
//     choices: [{ index:0, message:{ role:'assistant', content }, finish_reason:'stop',
//                 logprobs?: { content: [{ token, logprob, top_logprobs:[{ token, logprob }] }] } }],
//     usage: { prompt_tokens, completion_tokens, total_tokens } }
// POST /v1/embeddings — request { model, input: string[] }; reply (embeddingsReply builds it):
//   { object:'list', data:[{ object:'embedding', index, embedding:number[] }], model, usage:{ prompt_tokens, total_tokens } }
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body (undefined when the body was not JSON). */
  body: any;
}

/** What the server does for one request. */
export type ScriptedReply =
  /** A JSON body with a status (200 by default), optionally after a delay. */
  | { json: unknown; status?: number; delayMs?: number; headers?: Record<string, string> }
  /** A raw body, e.g. HTML from a misconfigured proxy. */
  | { raw: string; status?: number; contentType?: string; delayMs?: number; headers?: Record<string, string> }
  /** Close the connection without answering. */
  | { hangUp: true }
  /** A 200 JSON-typed body of `streamBytes` bytes sent in chunks with no Content-Length (a reply that never seems to end); stops when the client goes. */
  | { streamBytes: number };

/** Scripts the reply to the n-th (0-based, per path) request from its body. */
export type Script = (request: RecordedRequest, n: number) => ScriptedReply | Promise<ScriptedReply>;

export interface OpenAiServer {
  /** Base URL including `/v1`. */
  url: string;
  requests: RecordedRequest[];
  /** Bytes of `streamBytes` replies actually written before the client stopped reading. */
  streamedBytes(): number;
  /** Requests to one endpoint (`chat` or `embeddings`). */
  requestsTo(endpoint: 'chat' | 'embeddings'): RecordedRequest[];
  close(): Promise<void>;
}

let completionCounter = 0;

/** A documented chat completion reply; `logprobs` gives the first token's top log-probabilities. */
export function chatReply(
  text: string,
  options: { logprobs?: Record<string, number>; promptTokens?: number; completionTokens?: number; model?: string } = {},
): ScriptedReply {
  const choice: Record<string, unknown> = { index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' };
  if (options.logprobs) {
    const top = Object.entries(options.logprobs)
      .sort(([, a], [, b]) => b - a)
      .map(([token, logprob]) => ({ token, logprob }));
    choice.logprobs = { content: [{ token: top[0]!.token, logprob: top[0]!.logprob, top_logprobs: top }] };
  }
  const promptTokens = options.promptTokens ?? 10;
  const completionTokens = options.completionTokens ?? text.split(/\s+/).length;
  return {
    json: {
      id: `chatcmpl-${++completionCounter}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: options.model ?? 'stand-in',
      choices: [choice],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    },
  };
}

/** A documented embeddings reply for the given vectors (in input order). */
export function embeddingsReply(vectors: number[][], promptTokens = vectors.length): ScriptedReply {
  return {
    json: {
      object: 'list',
      data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
      model: 'stand-in',
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    },
  };
}

/** An OpenAI-style error reply. */
export function errorReply(status: number, message: string, headers?: Record<string, string>): ScriptedReply {
  return { status, headers, json: { error: { message, type: 'invalid_request_error', code: null } } };
}

/** Text parts and image data URLs of a recorded chat request's last user message. */
export function userContent(request: RecordedRequest): { text: string; images: string[] } {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const user = [...messages].reverse().find((m) => m.role === 'user');
  if (!user) return { text: '', images: [] };
  if (typeof user.content === 'string') return { text: user.content, images: [] };
  const parts = user.content as Array<{ type: string; text?: string; image_url?: { url: string } }>;
  return {
    text: parts.filter((p) => p.type === 'text').map((p) => p.text).join('\n'),
    images: parts.filter((p) => p.type === 'image_url').map((p) => p.image_url!.url),
  };
}

export async function startOpenAiServer(scripts: { chat?: Script; embeddings?: Script }): Promise<OpenAiServer> {
  const requests: RecordedRequest[] = [];
  const counts = { chat: 0, embeddings: 0 };
  let streamed = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const request: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body };
    requests.push(request);
    const endpoint = path === '/v1/chat/completions' ? 'chat' : path === '/v1/embeddings' ? 'embeddings' : undefined;
    const script = endpoint && scripts[endpoint];
    if (!endpoint || !script || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${path}` } }));
      return;
    }
    const reply = await script(request, counts[endpoint]++);
    if ('hangUp' in reply) {
      req.socket.destroy();
      return;
    }
    if ('streamBytes' in reply) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"choices":[{"message":{"role":"assistant","content":"');
      const chunk = 'x'.repeat(64 * 1024);
      for (let left = reply.streamBytes; left > 0 && !res.destroyed; left -= chunk.length) {
        const part = chunk.slice(0, Math.min(left, chunk.length));
        if (!res.write(part)) await new Promise((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
        if (!res.destroyed) streamed += part.length;
      }
      if (!res.destroyed) res.end('"}}]}');
      return;
    }
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (res.destroyed) return;
    const payload = 'json' in reply ? JSON.stringify(reply.json) : reply.raw;
    const contentType = 'json' in reply ? 'application/json' : (reply.contentType ?? 'text/html');
    res.writeHead(reply.status ?? 200, { 'content-type': contentType, ...reply.headers }).end(payload);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    streamedBytes: () => streamed,
    requestsTo: (endpoint) => requests.filter((r) => r.path === (endpoint === 'chat' ? '/v1/chat/completions' : '/v1/embeddings')),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
