// `m2rag import --format webqa`: the WebQA test layout RagVL reads (datasets/WebQA_test_image.json):
// one JSON object keyed by question id (Guid), each question with
//   Q             the question
//   A             the answers (a list; a string is taken as one)
//   EM            the answer accuracy is measured against, when given (else the first of A)
//   Qcate         the question category: color, shape, YesNo, number, text, Others, choose
//   img_posFacts  the gold images: [{image_id, caption, title?, url?}]
// Image files are `<images>/<image_id>.png` (RagVL's val_image/ folder), or .jpg/.jpeg. The caption
// is the fact's, or, given RagVL's caption file (datasets/WebQA_caption_test.json, {image_id: caption}),
// the one there, as its reranker reads it.
// A question without gold images (WebQA's text questions) is a rejected row, as is one whose fields
// are not in the layout.
import path from 'node:path';
import { z } from 'zod';
import type { BenchmarkQuestion, RejectedRow } from './benchmark.js';

const Fact = z.object({ image_id: z.union([z.string(), z.number()]), caption: z.string(), title: z.string().optional(), url: z.string().optional() });

const Row = z.object({
  Q: z.string().min(1),
  A: z.union([z.array(z.string()).min(1), z.string()]),
  EM: z.string().optional(),
  Qcate: z.string().min(1),
  img_posFacts: z.array(Fact).optional(),
});

/** RagVL's caption file, or why it cannot be used. */
export function webqaCaptions(data: unknown): Record<string, string> | string {
  const parsed = z.record(z.string(), z.string()).safeParse(data);
  return parsed.success ? parsed.data : 'expected {image_id: caption} (RagVL\'s WebQA caption file)';
}

function issueOf(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || 'row'}: ${issue.message} (not the WebQA layout)`;
}

/** The questions of a parsed WebQA file, or the rows that are not in its layout. */
export function webqaRows(data: unknown, imagesDir: string, captions?: Record<string, string>): Array<BenchmarkQuestion | RejectedRow> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return [{ row: 'file', reason: 'expected one JSON object keyed by question id (the WebQA layout)' }];
  return Object.entries(data).map(([guid, value]): BenchmarkQuestion | RejectedRow => {
    const parsed = Row.safeParse(value);
    if (!parsed.success) return { row: guid, reason: issueOf(parsed.error) };
    const row = parsed.data;
    const facts = row.img_posFacts ?? [];
    if (facts.length === 0) return { row: guid, reason: 'no gold image (img_posFacts is empty: a text question)' };
    const answers = typeof row.A === 'string' ? [row.A] : row.A;
    return {
      sourceId: guid,
      question: row.Q,
      answer: row.EM ?? answers[0]!,
      answers,
      qcate: row.Qcate,
      images: facts.map((fact) => ({
        sourceId: String(fact.image_id),
        caption: captions?.[String(fact.image_id)] ?? fact.caption,
        url: fact.url,
        files: ['png', 'jpg', 'jpeg'].map((ext) => path.join(imagesDir, `${fact.image_id}.${ext}`)),
      })),
    };
  });
}
