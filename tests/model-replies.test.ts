// Hostile model replies and secrets in model URLs, against the local stand-in for an OpenAI-
// compatible API (tests/helpers/openai-server.ts): a 10 MB reply is refused as `too-long` (by bytes
// read, streamed) and never stored; a reply far past max_tokens is refused too; a key in a
// configured URL is refused at load, and no recorded reason ever carries one.
import assert from 'node:assert/strict';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema, loadConfig } from '../src/core/config.js';
import { UserError } from '../src/core/errors.js';
import { runStage } from '../src/core/stage.js';
import { ModelRequestError, failureReason } from '../src/models/errors.js';
import { OpenAiChat } from '../src/models/openai.js';
import { resolveEndpoints } from '../src/models/registry.js';
import { UsageMeter } from '../src/models/usage.js';
import { DescribeStage } from '../processors/describe/stage.js';
import type { CorpusStore, Description } from '../storage/index.js';
import { buildMirrorStore } from './helpers/describe-store.js';
import { chatReply, startOpenAiServer } from './helpers/openai-server.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';

const POLICY = { concurrency: 2, timeoutMs: 10_000, maxRetries: 0, retryDelayMs: 5 };

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    // Files may come and go meanwhile (the store's pid file): count those that stay.
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

async function descriptionsOf(store: CorpusStore): Promise<Description[]> {
  const all: Description[] = [];
  for await (const d of store.iterate('descriptions')) all.push(d);
  return all;
}

test('a 10 MB reply to every describe request: each is recorded failed (too-long), none is stored or cached, the store stays small', async (t) => {
  const tenMegabytes = 'word '.repeat(2 * 1024 * 1024);
  const server = await startOpenAiServer({ chat: () => chatReply(tenMegabytes) });
  t.after(() => server.close());
  const dir = await tempDir(t);
  const fixture = await buildMirrorStore(dir, 'Ray Charles', [{ file: 'Ray_Charles.html', only: ['Ray_Charles_FIJM_2003.jpg', 'Ray_Charles_1968.jpg'] }], []);
  t.after(() => fixture.store.close());
  const before = await folderBytes(dir);
  const config = ConfigSchema.parse({ models: { retryDelayMs: 5, maxRetries: 0 } });
  const env = { M2RAG_VISION_URL: server.url, M2RAG_VISION_MODEL: 'stand-in-vl' };
  const report = await runStage(new DescribeStage(), fixture.store, { services: servicesFor(t, config, fixture.store, env), config });

  assert.ok(server.requestsTo('chat').length >= 2, 'the stand-in was asked');
  assert.ok(report.counts['failed:too-long']! >= 2, JSON.stringify(report.counts));
  const described = await descriptionsOf(fixture.store);
  assert.ok(described.length >= 2);
  for (const d of described) {
    assert.equal(d.status, 'failed');
    assert.match(d.reason!, /^too-long: reply too long: more than 8388608 bytes from http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions \(models\.maxReplyBytes\)$/);
    assert.equal(d.text, undefined);
  }
  assert.equal(await fixture.store.count('modelCache'), 0, 'nothing too long is cached');
  const grown = (await folderBytes(dir)) - before;
  assert.ok(grown < 1024 * 1024, `the store grew by ${grown} bytes, not by the replies`);
});

test('the byte cap is applied while streaming: a reply with no Content-Length is abandoned past models.maxReplyBytes', async (t) => {
  const server = await startOpenAiServer({ chat: () => ({ streamBytes: 200 * 1024 * 1024 }) });
  t.after(() => server.close());
  const chat = new OpenAiChat({ url: server.url, model: 'stand-in' }, { ...POLICY, maxReplyBytes: 256 * 1024 }, undefined, new UsageMeter());
  const error = await chat.chat({ messages: [{ role: 'user', content: 'hi' }] }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ModelRequestError);
  assert.equal(error.kind, 'too-long');
  assert.equal(error.retryable, false);
  assert.match(error.reason, /more than 262144 bytes/);
  assert.ok(server.streamedBytes() < 64 * 1024 * 1024, `the stand-in wrote only ${server.streamedBytes()} of 200 MB before m2rag stopped reading`);
});

test('max_tokens is enforced: a reply far past it is refused, one within it is kept', async (t) => {
  const long = Array.from({ length: 3000 }, (_, i) => `token${i}`).join(' ');
  const server = await startOpenAiServer({ chat: (req) => chatReply(req.body.messages[0].content === 'long' ? long : 'A short grounded line.', { completionTokens: 5 }) });
  t.after(() => server.close());
  const chat = new OpenAiChat({ url: server.url, model: 'stand-in' }, POLICY, undefined, new UsageMeter());
  const refused = await chat.chat({ messages: [{ role: 'user', content: 'long' }], maxTokens: 200 }).then(() => undefined, (e: unknown) => e);
  assert.ok(refused instanceof ModelRequestError && refused.kind === 'too-long', String(refused));
  assert.match(refused.reason, /^too-long: reply too long: over 416 tokens where max_tokens 200 was asked for/);
  assert.equal(server.requestsTo('chat')[0]!.body.max_tokens, 200, 'the cap is also requested');
  const kept = await chat.chat({ messages: [{ role: 'user', content: 'short' }], maxTokens: 200 });
  assert.equal(kept.text, 'A short grounded line.');
  const unlimited = await chat.chat({ messages: [{ role: 'user', content: 'long' }] });
  assert.equal(unlimited.text, long, 'without max_tokens only the byte cap applies');
});

test('a key in a configured model URL is refused at load with one line naming the environment variable', async (t) => {
  const file = path.join(await tempDir(t), 'config.yaml');
  await writeFile(file, 'models:\n  llmUrl: http://apikey:sk-secret-123@127.0.0.1:9/v1\n  llmModel: m\n');
  const error = await loadConfig(file).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof UserError);
  assert.match(error.message, /^.*config\.yaml: models\.llmUrl: a URL must not hold a key or credentials .*put the key in M2RAG_LLM_KEY$/);
  assert.doesNotMatch(error.message, /sk-secret-123/);
  assert.equal(error.message.split('\n').length, 1);

  await writeFile(file, 'models:\n  embeddingUrl: http://127.0.0.1:9/v1?api_key=sk-secret-123\n');
  await assert.rejects(loadConfig(file), /models\.embeddingUrl: .*put the key in M2RAG_EMBEDDING_KEY/);

  const config = ConfigSchema.parse({});
  assert.throws(() => resolveEndpoints(config, { M2RAG_LLM_URL: 'http://u:sk-secret-123@127.0.0.1:9/v1', M2RAG_LLM_MODEL: 'm' }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^M2RAG_LLM_URL: a URL must not hold a key .*M2RAG_LLM_KEY$/);
    assert.doesNotMatch(e.message, /sk-secret-123/);
    return true;
  });
});

test('a failed model request records no secret: userinfo and key-like query values are stripped from every reason', async () => {
  // Nothing listens on port 9: the request fails, and its reason names the URL.
  const chat = new OpenAiChat({ url: 'http://127.0.0.1:9/v1?api_key=sk-secret-123&x=1', model: 'm' }, POLICY, undefined, new UsageMeter());
  const error = await chat.chat({ messages: [{ role: 'user', content: 'hi' }] }).then(() => undefined, (e: unknown) => e);
  const reason = failureReason(error);
  assert.match(reason, /^unreachable: http:\/\/127\.0\.0\.1:9\/v1\?api_key=REDACTED&x=1/);
  assert.doesNotMatch(reason, /sk-secret-123/);
  assert.equal(failureReason(new Error('Request cannot be constructed from a URL that includes credentials: http://apikey:sk-secret-123@host.test/v1/chat')), 'error: Request cannot be constructed from a URL that includes credentials: http://host.test/v1/chat');
});
