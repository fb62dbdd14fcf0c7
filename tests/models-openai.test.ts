// Contract tests of the OpenAI-compatible provider against a local stand-in server speaking the
// documented /v1/chat/completions and /v1/embeddings format: the requests we send, how we parse
// replies, and how we handle errors, slow servers and malformed replies.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { ConfigSchema, type Config } from '../src/core/config.js';
import { UserError } from '../src/core/errors.js';
import { ModelRequestError } from '../src/models/errors.js';
import { loadModels, resolveEndpoints } from '../src/models/registry.js';
import { CorpusStore } from '../storage/index.js';
import { CORPORA } from './helpers/cli.js';
import { chatReply, embeddingsReply, errorReply, startOpenAiServer, userContent, type Script } from './helpers/openai-server.js';
import { tempDir } from './helpers/temp.js';

const IMAGE = path.join(CORPORA, 'wiki-ray-charles/I/m/RayCharles1983.jpg');

function configWith(models: Record<string, unknown>): Config {
  return ConfigSchema.parse({ models: { retryDelayMs: 5, timeoutSecs: 5, ...models } });
}

async function setup(t: import('node:test').TestContext, scripts: { chat?: Script; embeddings?: Script }, models: Record<string, unknown> = {}) {
  const server = await startOpenAiServer(scripts);
  t.after(() => server.close());
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const env = { M2RAG_LLM_URL: server.url, M2RAG_LLM_MODEL: 'stand-in-vl', M2RAG_LLM_KEY: 'sk-test-123' };
  const loaded = await loadModels(configWith(models), store, { env });
  t.after(() => loaded.dispose());
  return { server, store, models: loaded };
}

test('chat sends the documented request (image as a ≤512px JPEG data URL, key as bearer) and parses text, usage and first-token logprobs', async (t) => {
  const { server, models } = await setup(t, { chat: () => chatReply('Yes', { logprobs: { Yes: -0.1, No: -2.4 }, promptTokens: 321, completionTokens: 1 }) });
  // The mirror's thumbnails are small; enlarged ×4 the photo must come back down to 512 px.
  const image = await sharp(await readFile(IMAGE)).resize({ height: 393 * 4 }).png().toBuffer();
  const reply = await models.vision!.chat({
    messages: [
      { role: 'system', content: 'You judge images.' },
      { role: 'user', content: [{ type: 'image', image }, { type: 'text', text: 'Is this Ray Charles? Yes or No.' }] },
    ],
    maxTokens: 1,
    firstTokenLogprobs: 5,
  });
  assert.equal(reply.text, 'Yes');
  assert.deepEqual(reply.firstTokenLogprobs, { Yes: -0.1, No: -2.4 });
  assert.deepEqual(reply.usage, { promptTokens: 321, completionTokens: 1 });
  assert.equal(reply.cached, false);
  assert.match(reply.inputHash, /^[0-9a-f]{64}$/);

  const [request] = server.requestsTo('chat');
  assert.equal(request!.headers.authorization, 'Bearer sk-test-123');
  assert.equal(request!.body.model, 'stand-in-vl');
  assert.equal(request!.body.max_tokens, 1);
  assert.equal(request!.body.logprobs, true);
  assert.equal(request!.body.top_logprobs, 5);
  assert.equal(request!.body.messages[0].content, 'You judge images.');
  const content = userContent(request!);
  assert.equal(content.text, 'Is this Ray Charles? Yes or No.');
  assert.equal(content.images.length, 1);
  assert.match(content.images[0]!, /^data:image\/jpeg;base64,/);
  const sent = await sharp(Buffer.from(content.images[0]!.split(',')[1]!, 'base64')).metadata();
  const original = await sharp(image).metadata();
  assert.ok(Math.max(original.width!, original.height!) > 512, 'the corpus image is larger than 512 px');
  assert.equal(Math.max(sent.width!, sent.height!), 512);
  assert.equal(sent.format, 'jpeg');
  assert.deepEqual(models.usage()['openai-compatible:stand-in-vl'], { requests: 1, cached: 0, failed: 0, retries: 0, promptTokens: 321, completionTokens: 1 });
});

test('an identical request is answered from the store cache without reaching the server', async (t) => {
  const { server, models } = await setup(t, { chat: (_req, n) => chatReply(`answer ${n}`) });
  const request = { messages: [{ role: 'user' as const, content: 'Who recorded "Georgia on My Mind" in 1960?' }] };
  const first = await models.llm!.chat(request);
  const second = await models.llm!.chat(request);
  const other = await models.llm!.chat({ messages: [{ role: 'user', content: 'Another question' }] });
  assert.equal(first.text, 'answer 0');
  assert.equal(second.text, 'answer 0');
  assert.equal(second.cached, true);
  assert.equal(second.inputHash, first.inputHash);
  assert.equal(other.text, 'answer 1');
  assert.equal(server.requestsTo('chat').length, 2);
  assert.equal(models.usage()['openai-compatible:stand-in-vl']!.cached, 1);
});

test('429 and 5xx are retried with backoff (Retry-After honoured); 400 is not retried', async (t) => {
  const { server, models } = await setup(
    t,
    {
      chat: (req, n) => {
        const prompt = userContent(req).text;
        if (prompt === 'busy' && n < 2) return n === 0 ? errorReply(429, 'rate limited', { 'retry-after': '0' }) : errorReply(503, 'overloaded');
        if (prompt === 'refuse image') return errorReply(400, 'image input is not supported by this model');
        return chatReply('ok');
      },
    },
    { maxRetries: 3 },
  );
  const busy = await models.llm!.chat({ messages: [{ role: 'user', content: 'busy' }] });
  assert.equal(busy.text, 'ok');
  assert.equal(server.requestsTo('chat').length, 3);
  await assert.rejects(models.llm!.chat({ messages: [{ role: 'user', content: 'refuse image' }] }), (error: unknown) => {
    assert.ok(error instanceof ModelRequestError);
    assert.equal(error.kind, 'http');
    assert.equal(error.status, 400);
    assert.match(error.reason, /400.*image input is not supported/);
    return true;
  });
  assert.equal(server.requestsTo('chat').length, 4, 'the 400 was sent once');
  const usage = models.usage()['openai-compatible:stand-in-vl']!;
  assert.equal(usage.retries, 2);
  assert.equal(usage.failed, 1);
});

test('a server that keeps failing gives up after maxRetries + 1 attempts', async (t) => {
  const { server, models } = await setup(t, { chat: () => errorReply(500, 'internal error') }, { maxRetries: 2 });
  await assert.rejects(models.llm!.chat({ messages: [{ role: 'user', content: 'x' }] }), /500/);
  assert.equal(server.requestsTo('chat').length, 3);
});

test('malformed replies are reported, not parsed into made-up text', async (t) => {
  const replies: Record<string, ReturnType<Script>> = {
    html: { raw: '<html><body>502 Bad Gateway</body></html>', status: 200 },
    'no choices': { json: { id: 'x', choices: [] } },
    'empty content': { json: { choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'length' }] } },
    refusal: { json: { choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'I cannot look at images.' } }] } },
    'wrong shape': { json: { choices: 'nope' } },
  };
  const { models } = await setup(t, { chat: (req) => replies[userContent(req).text]! as never });
  const expected: Record<string, RegExp> = {
    html: /^malformed: .*non-JSON: <html>/,
    'no choices': /^malformed: reply has no choices/,
    'empty content': /^malformed: empty reply \(finish_reason length\)/,
    refusal: /^malformed: model refused: I cannot look at images/,
    'wrong shape': /^malformed: reply is not a chat completion/,
  };
  for (const [prompt, pattern] of Object.entries(expected)) {
    await assert.rejects(models.llm!.chat({ messages: [{ role: 'user', content: prompt }] }), (error: unknown) => {
      assert.ok(error instanceof ModelRequestError, prompt);
      assert.match(error.reason, pattern, prompt);
      return true;
    });
  }
});

test('a slow server times out, a dropped connection and a closed port are reported as such', async (t) => {
  const { models } = await setup(
    t,
    { chat: (req) => (userContent(req).text === 'slow' ? { ...chatReply('late'), delayMs: 1500 } : { hangUp: true }) },
    { timeoutSecs: 0.3, maxRetries: 1 },
  );
  await assert.rejects(models.llm!.chat({ messages: [{ role: 'user', content: 'slow' }] }), (error: unknown) => {
    assert.ok(error instanceof ModelRequestError);
    assert.equal(error.kind, 'timeout');
    return true;
  });
  await assert.rejects(models.llm!.chat({ messages: [{ role: 'user', content: 'hang up' }] }), (error: unknown) => {
    assert.ok(error instanceof ModelRequestError);
    assert.equal(error.kind, 'unreachable');
    return true;
  });
  const closed = await startOpenAiServer({});
  const url = closed.url;
  await closed.close();
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const offline = await loadModels(configWith({ maxRetries: 0 }), store, { env: { M2RAG_LLM_URL: url, M2RAG_LLM_MODEL: 'm' } });
  await assert.rejects(offline.llm!.chat({ messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => (error as ModelRequestError).kind === 'unreachable' && /ECONNREFUSED/.test((error as Error).message));
});

test('a refused connection is not retried; after maxConsecutiveFailures in a row the endpoint is down and gets no more requests', async (t) => {
  const closed = await startOpenAiServer({});
  const url = closed.url;
  await closed.close();
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const offline = await loadModels(configWith({ maxRetries: 3, maxConsecutiveFailures: 3 }), store, { env: { M2RAG_LLM_URL: url, M2RAG_LLM_MODEL: 'm' } });
  t.after(() => offline.dispose());
  for (let i = 0; i < 3; i++) {
    assert.equal(offline.endpointDown!(), undefined);
    await assert.rejects(offline.llm!.chat({ messages: [{ role: 'user', content: `x${i}` }] }), (error: unknown) => (error as ModelRequestError).kind === 'unreachable');
  }
  assert.equal(offline.usage()['openai-compatible:m']!.retries, 0);
  const down = offline.endpointDown!();
  assert.ok(down?.includes(url) && down.includes('ECONNREFUSED') && down.includes('3 requests in a row'), down);
  // The vision model on the same server is down with it; neither sends another request.
  for (const model of [offline.llm!, offline.vision!]) {
    await assert.rejects(model.chat({ messages: [{ role: 'user', content: 'again' }] }), (error: unknown) => (error as ModelRequestError).kind === 'endpoint-down');
  }
});

test('5xx keeps its bounded retries; a success resets the run of failures, and malformed replies do not count toward it', async (t) => {
  const { server, models } = await setup(
    t,
    {
      chat: (req) => {
        const prompt = userContent(req).text;
        if (prompt === 'fine') return chatReply('ok');
        if (prompt === 'garbled') return { raw: 'not json', status: 200 };
        return errorReply(503, 'overloaded');
      },
    },
    { maxRetries: 1, maxConsecutiveFailures: 2 },
  );
  const ask = (content: string) => models.llm!.chat({ messages: [{ role: 'user', content }] });
  await assert.rejects(ask('busy 1'), /503/);
  await ask('fine');
  await assert.rejects(ask('garbled'), (error: unknown) => (error as ModelRequestError).kind === 'malformed');
  await assert.rejects(ask('busy 2'), /503/);
  assert.equal(models.endpointDown!(), undefined);
  await assert.rejects(ask('busy 3'), /503/);
  assert.match(models.endpointDown!() ?? '', /failed 2 requests in a row \(last: http: .* answered 503/);
  // Each 503 was tried twice (maxRetries 1): 2 + 1 + 1 + 2 + 2.
  assert.equal(server.requestsTo('chat').length, 8);
});

test('embeddings endpoint: batched requests, replies ordered by index, vectors normalized and cached', async (t) => {
  const { server, models } = await setup(
    t,
    {
      // Answers in reverse order to check that `index` is honoured; vector = [length of text, 1, 0].
      embeddings: (req) => {
        const inputs = req.body.input as string[];
        const reply = embeddingsReply(inputs.map((text) => [text.length, 1, 0]));
        (reply as { json: { data: unknown[] } }).json.data.reverse();
        return reply;
      },
    },
    { embeddingUrl: undefined },
  );
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const embedded = await loadModels(configWith({}), store, { env: { M2RAG_EMBEDDING_URL: server.url, M2RAG_EMBEDDING_MODEL: 'stand-in-embed' } });
  assert.equal(models.textEmbedder.provider, 'embedded', 'without an embeddings endpoint the embedded model is used');
  const texts = Array.from({ length: 70 }, (_, i) => 'x'.repeat(i + 1));
  const vectors = await embedded.textEmbedder.embedTexts(texts);
  assert.equal(vectors.length, 70);
  assert.equal(embedded.textEmbedder.dimensions, 3);
  for (const [i, vector] of vectors.entries()) {
    const norm = Math.hypot(...vector);
    assert.ok(Math.abs(norm - 1) < 1e-5);
    assert.ok(Math.abs(vector[0]! / vector[1]! - (i + 1)) < 1e-3, `vector ${i} belongs to text ${i}`);
  }
  const requests = server.requestsTo('embeddings');
  assert.deepEqual(requests.map((r) => r.body.input.length), [64, 6]);
  assert.equal(requests[0]!.body.model, 'stand-in-embed');
  await embedded.textEmbedder.embedTexts([texts[3]!, 'new text']);
  assert.equal(server.requestsTo('embeddings').length, 3);
  assert.deepEqual(server.requestsTo('embeddings')[2]!.body.input, ['new text']);
});

test('endpoints: vision falls back to the LLM settings; the LLM key never goes to another host; a URL without a model is a UserError', () => {
  const config = ConfigSchema.parse({});
  const fallback = resolveEndpoints(config, { M2RAG_LLM_URL: 'http://127.0.0.1:1/v1', M2RAG_LLM_MODEL: 'llm', M2RAG_LLM_KEY: 'k1' });
  assert.deepEqual(fallback.vision, { url: 'http://127.0.0.1:1/v1', model: 'llm', key: 'k1' });
  assert.equal(fallback.embedding, undefined);
  const separate = resolveEndpoints(config, {
    M2RAG_LLM_URL: 'http://127.0.0.1:1/v1',
    M2RAG_LLM_MODEL: 'llm',
    M2RAG_LLM_KEY: 'k1',
    M2RAG_VISION_URL: 'http://127.0.0.1:2/v1',
    M2RAG_VISION_MODEL: 'vl',
  });
  assert.deepEqual(separate.vision, { url: 'http://127.0.0.1:2/v1', model: 'vl', key: undefined });
  assert.equal(resolveEndpoints(config, {}).llm, undefined);
  assert.throws(() => resolveEndpoints(config, { M2RAG_LLM_URL: 'http://127.0.0.1:1/v1' }), (e: unknown) => e instanceof UserError && /M2RAG_LLM_MODEL/.test(e.message));
  assert.throws(() => resolveEndpoints(config, { M2RAG_LLM_URL: 'not a url', M2RAG_LLM_MODEL: 'm' }), UserError);
});
