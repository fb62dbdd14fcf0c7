// The M2RAG evaluation as the reference computes it (maziao/M2RAG evaluate.py and
// src/evaluator/few_shot_evaluator.py), checked against values worked out by hand: the judge's parse
// rule and normed_score, the answer split at its cited images with 256 tokens each side, the image
// request's layout, the ragas context precision and faithfulness, image recall over the inputs scored
// ≥ 8, per-image pooling, the reference's means (failed judgments as 0) and overall beside our
// judged-only figures, and the table, with "—" for overall when nothing was judged.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { formatEvalReport } from '../src/cli/commands/eval.js';
import { countTokens } from '../src/core/text/tokens.js';
import { judgeNameOf, judgesNamedBy } from '../src/runner/evaluate.js';
import { clearPromptOverrides, loadPromptOverrides } from '../src/core/prompts.js';
import { imageJudgeContent, judgePromptVersion, parseJsonReply, parseJudgeScore } from '../scorers/judge-rubrics.js';
import { answerSample, retrievedContexts } from '../scorers/judge-samples.js';
import { contextPrecision, faithfulness, imageRecall, normedScore } from '../scorers/m2rag-metrics.js';
import { summarizeEvalResults } from '../scorers/metrics.js';
import { tempDir } from './helpers/temp.js';

const close = (actual: number | undefined, expected: number, what: string): void => {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);
};

test('a judge score is the last integer of the reply, clamped to 0–10 and divided by 10; no integer is a failure', () => {
  assert.deepEqual(parseJudgeScore('On a scale of 0 to 10 the text reads well.\n8'), { ok: true, value: 0.8 });
  assert.deepEqual(parseJudgeScore('Score: 7.5'), { ok: true, value: 0.5 }, 'digits only: the last run is 5');
  assert.deepEqual(parseJudgeScore('Explanation.\n12'), { ok: true, value: 1 });
  assert.deepEqual(parseJudgeScore('-3'), { ok: true, value: 0.3 }, 'no sign: the reference reads \\d+');
  const none = parseJudgeScore('I would rather not say.');
  assert.equal(none.ok, false);
  assert.match((none as { reason: string }).reason, /^no integer in reply/);
  assert.equal(normedScore(0.4, 1), 0.4);
  assert.equal(normedScore(-2, 10), 0);
});

test('an answer is split at its cited images: the text without them, and 256 tokens above and below each', () => {
  const answer =
    'Ray Charles learned the piano as a child.\n\n![Ray](images/1.jpg)\n*Figure 1: Ray*\n\nHe recorded Georgia on My Mind.\n\n' +
    '![again](images/1.jpg) ![not cited](images/2.jpg)\n\n![Sleeve](images/3.png)\n*Figure 2: Sleeve*\n\nThe end.';
  const sample = answerSample(answer, ['a', 'b', 'c'], ['a', 'c', 'd']);
  assert.equal(sample.text, 'Ray Charles learned the piano as a child.\n\nHe recorded Georgia on My Mind.\n\n \n\nThe end.');
  assert.deepEqual(sample.images, [
    { imageId: 'a', above: 'Ray Charles learned the piano as a child.', below: 'He recorded Georgia on My Mind.\n\n \n\nThe end.' },
    { imageId: 'c', above: 'Ray Charles learned the piano as a child.\n\nHe recorded Georgia on My Mind.', below: 'The end.' },
  ]);
  assert.deepEqual(sample.unplaced, ['d'], 'a cited image the answer does not show');

  const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
  const cut = answerSample(`${long}\n\n![x](images/1.jpg)\n\n${long}`, ['a'], ['a']).images[0]!;
  assert.ok(countTokens(cut.above) <= 256 && countTokens(cut.above) > 200, `above: ${countTokens(cut.above)} tokens`);
  assert.ok(countTokens(cut.below) <= 256 && countTokens(cut.below) > 200, `below: ${countTokens(cut.below)} tokens`);
  assert.match(cut.above, /word399$/, 'the text above keeps its end');
  assert.match(cut.below, /^word0 /, 'the text below keeps its start');
});

test('an image request is the prompt split at its image marker, the image between', () => {
  const image = new Uint8Array([1, 2, 3]);
  const content = imageJudgeContent('image_coherence', image, { above: 'TEXT ABOVE', below: 'TEXT BELOW' });
  assert.deepEqual(content.map((c) => c.type), ['text', 'image', 'text']);
  assert.equal((content[1] as { image: Uint8Array }).image, image);
  const [before, after] = [content[0] as { text: string }, content[2] as { text: string }];
  assert.match(before.text, /TEXT ABOVE/);
  assert.doesNotMatch(before.text, /TEXT BELOW/);
  assert.match(after.text, /TEXT BELOW/);
  assert.match(after.text, /\*\*Score 0-3\*\*[\s\S]*\*\*Score 4-6\*\*[\s\S]*\*\*Score 7-9\*\*[\s\S]*\*\*Score 10\*\*/);
  assert.equal((after.text.match(/\*Example \d\*/g) ?? []).length, 12, 'three examples in each of the four bands');
});

test('ragas: context precision averages precision at each useful rank; faithfulness is the supported share', () => {
  // Useful at ranks 1 and 3: (1/1 + 2/3) / 2.
  close(contextPrecision([true, false, true]), 5 / 6, 'Y N Y');
  // Useful at ranks 2 and 3: (1/2 + 2/3) / 2.
  close(contextPrecision([false, true, true]), 7 / 12, 'N Y Y');
  assert.equal(contextPrecision([false, false]), 0);
  assert.equal(faithfulness([true, false, true, true]), 0.75);
  assert.equal(faithfulness([]), undefined);
  const shape = z.object({ verdict: z.union([z.literal(0), z.literal(1)]) });
  assert.deepEqual(parseJsonReply('Sure:\n```json\n{"reason": "it names the year", "verdict": 1}\n```', shape), { ok: true, value: { verdict: 1 } });
  assert.equal(parseJsonReply('{"verdict": "yes"}', shape).ok, false);
  assert.equal(parseJsonReply('useful', shape).ok, false);
  assert.deepEqual(
    retrievedContexts([{ pageId: 'p1', text: 'a' }, { pageId: 'p2', text: 'b' }, { pageId: 'p1', text: 'c' }], ['sleeve', undefined]),
    ['a\nc', 'b', 'sleeve'],
    'one context per page, then each cited image description',
  );
});

test('image recall over the positives; 1.0 without any, as in the reference', () => {
  assert.equal(imageRecall(['a', 'b'], ['a', 'c']), 0.5);
  assert.equal(imageRecall(['a'], ['a', 'a']), 1);
  assert.equal(imageRecall([], []), 1);
});

test('judge names say which model judged the text and which the images', () => {
  const m = (model: string) => ({ provider: 'openai-compatible', model }) as never;
  assert.equal(judgeNameOf({}), 'none');
  assert.equal(judgeNameOf({ llm: m('t') }), 'openai-compatible:t');
  assert.equal(judgeNameOf({ llm: m('t'), vision: m('t') }), 'openai-compatible:t+vision');
  assert.equal(judgeNameOf({ llm: m('t'), vision: m('v') }), 'openai-compatible:t+vision:openai-compatible:v');
  assert.equal(judgeNameOf({ vision: m('v') }), 'openai-compatible:v+vision');
  assert.deepEqual(judgesNamedBy('openai-compatible:t+vision:openai-compatible:v'), { text: 'openai-compatible:t', vision: 'openai-compatible:v' });
  assert.deepEqual(judgesNamedBy('openai-compatible:t+vision'), { text: 'openai-compatible:t', vision: 'openai-compatible:t' });
  assert.deepEqual(judgesNamedBy('openai-compatible:t'), { text: 'openai-compatible:t', vision: undefined });
  assert.deepEqual(judgesNamedBy('none'), {});
});

/** Two answers: the first cites two images (one reference judgment failed), the second cites one and lost its fluency judgment. */
const RESULTS: Parameters<typeof summarizeEvalResults>[0] = [
  {
    metrics: { fluency: 0.8, response_relevancy: 0.9, context_precision: 5 / 6, faithfulness: 2 / 3, image_coherence: 0.6, image_helpfulness: 0.5, image_reference: 0.7, image_recall: 0.5, exactMatch: 1 },
    failed: { image_reference: 1 },
    reasons: {},
    images: [
      { imageId: 'a', metrics: { image_coherence: 0.9, image_helpfulness: 0.8, image_reference: 0.7 } },
      { imageId: 'b', metrics: { image_coherence: 0.3, image_helpfulness: 0.2 }, reasons: { image_reference: 'no integer in reply: "I cannot tell."' } },
    ],
    positiveImages: 2,
  },
  {
    metrics: { response_relevancy: 0.7, context_precision: 1, faithfulness: 1, image_coherence: 1, image_helpfulness: 0.6, image_reference: 0.4, image_recall: 1 },
    failed: { fluency: 1 },
    reasons: { fluency: 'http: 500 judge unavailable' },
    images: [{ imageId: 'c', metrics: { image_coherence: 1, image_helpfulness: 0.6, image_reference: 0.4 } }],
    positiveImages: 0,
  },
];

test('the table: text metrics per answer, image metrics pooled per image, failed judgments as 0, overall of the eight', () => {
  const summary = summarizeEvalResults(RESULTS);
  const m = summary.m2rag;
  // fluency: 0.8 and a failure → reference mean 0.4, judged-only 0.8.
  assert.deepEqual(m.fluency, { mean: 0.4, judgedMean: 0.8, n: 1, failed: 1 });
  close(m.response_relevancy.mean, 0.8, 'relevancy');
  close(m.context_precision.mean, 11 / 12, 'context precision');
  close(m.faithfulness.mean, 5 / 6, 'faithfulness');
  // Pooled over the three images, not averaged per answer: (0.9 + 0.3 + 1) / 3.
  close(m.image_coherence.mean, 2.2 / 3, 'coherence');
  close(m.image_helpfulness.mean, 1.6 / 3, 'helpfulness');
  // 0.7, a failure (0) and 0.4: 1.1 / 3; judged-only 1.1 / 2.
  assert.deepEqual([m.image_reference.n, m.image_reference.failed], [2, 1]);
  close(m.image_reference.mean, 1.1 / 3, 'reference');
  close(m.image_reference.judgedMean, 1.1 / 2, 'reference judged-only');
  close(m.image_recall.mean, 0.75, 'recall');
  const reference = (0.4 + 0.8 + 11 / 12 + 5 / 6 + 2.2 / 3 + 1.6 / 3 + 1.1 / 3 + 0.75) / 8;
  const judgedOnly = (0.8 + 0.8 + 11 / 12 + 5 / 6 + 2.2 / 3 + 1.6 / 3 + 1.1 / 2 + 0.75) / 8;
  close(summary.overall.reference, reference, 'overall');
  close(summary.overall.judgedOnly, judgedOnly, 'judged-only overall');
  assert.deepEqual([summary.overall.failedJudgments, summary.overall.unjudged, summary.recallWithoutPositives], [2, [], 1]);
  assert.deepEqual(summary.failedReasons, { 'fluency: http': 1, 'image_reference: no integer in reply': 1 });
  assert.deepEqual(summary.qa, { exactMatch: 1, keywordAccuracy: undefined, queries: 1 });

  const table = formatEvalReport({ generations: 2, judge: 'openai-compatible:t+vision', judges: judgesNamedBy('openai-compatible:t+vision'), notEvaluated: 0, ...summary });
  assert.match(table, /^generations evaluated: 2 {3}judges: text openai-compatible:t, images openai-compatible:t$/m);
  assert.match(table, /^metric\s+mean\s+n\s+failed\s+judged-only$/m);
  assert.match(table, /^fluency\s+0\.400\s+1\s+1\s+0\.800$/m);
  assert.match(table, /^image_reference\s+0\.367\s+2\s+1\s+0\.550$/m);
  assert.match(table, /^image_recall\s+0\.750\s+2\s+0\s+0\.750 {3}\(1 answer\(s\) with no input image scored ≥ 8 count 1\.0, as in the reference\)$/m);
  assert.match(table, new RegExp(`^overall\\s+${reference.toFixed(3)} {3}judged-only ${judgedOnly.toFixed(3)} {3}failed judgments 2$`, 'm'));
  assert.match(table, /^failed judgments\n {2}fluency: http: 1\n {2}image_reference: no integer in reply: 1$/m);
});

test('offline, nothing judged: overall is "—" with the reason, never image recall alone', () => {
  const summary = summarizeEvalResults([{ metrics: { image_recall: 1 }, failed: {}, positiveImages: 0 }]);
  assert.equal(summary.overall.reference, undefined);
  assert.equal(summary.overall.judgedOnly, undefined);
  assert.equal(summary.overall.unjudged.length, 7);
  const table = formatEvalReport({ generations: 1, judge: 'none', judges: {}, notEvaluated: 0, ...summary });
  assert.match(table, /^overall\s+— {3}nothing judged: no judge model configured \(models\.llmUrl, models\.visionUrl\); judged-only — {3}failed judgments 0$/m);
  assert.match(table, /^fluency\s+— {3}not judged \(no LLM configured: models\.llmUrl\)$/m);
  assert.match(table, /^image_coherence\s+— {3}not judged \(no vision model configured: models\.visionUrl\)$/m);
  assert.match(table, /^image_recall\s+1\.000\s+1\s+0\s+1\.000/m);
  assert.doesNotMatch(table, /^overall\s+\d/m);

  // A text judge without cited images anywhere: the reference's overall is undefined too, and says why.
  const textOnly = summarizeEvalResults([{ metrics: { fluency: 1, response_relevancy: 1, context_precision: 1, faithfulness: 1, image_recall: 1 }, failed: {}, images: [] }]);
  const line = formatEvalReport({ generations: 1, judge: 'x:t+vision', judges: judgesNamedBy('x:t+vision'), notEvaluated: 0, ...textOnly });
  assert.match(line, /^overall\s+— {3}no judgment of image_coherence, image_helpfulness, image_reference; judged-only 1\.000 {3}failed judgments 0$/m);
  assert.match(line, /^image_coherence\s+— {3}no answer cites an image$/m);
});

test('a prompts file can replace a judge prompt (e.g. with the reference wording); an input the prompt lacks is refused', async (t) => {
  const dir = await tempDir(t);
  t.after(() => clearPromptOverrides());
  const file = path.join(dir, 'prompts.yaml');
  await writeFile(file, 'eval.image-reference: "Above: {{context_above}}\\n<IMAGE_PLACEHOLDER>\\nBelow: {{context_below}}\\nScore 0-10."\n');
  assert.equal(await loadPromptOverrides(file), 1);
  const content = imageJudgeContent('image_reference', new Uint8Array([9]), { above: 'A', below: 'B' });
  assert.deepEqual(content.map((c) => (c.type === 'text' ? c.text : 'IMAGE')), ['Above: A\n', 'IMAGE', '\nBelow: B\nScore 0-10.']);
  assert.match(judgePromptVersion(), /eval\.image-reference@override-[0-9a-f]{12}/);
  await writeFile(file, 'eval.fluency: "Rate {{answer}}"\n');
  await assert.rejects(loadPromptOverrides(file), /prompt "eval.fluency" uses \{\{answer\}\}, which it is not given \(it has: text\)/);
});
