// `m2rag import --format mmqa`: the MultimodalQA image-question layout RagVL reads
// (datasets/MMQA_test_image.json, a JSON list; JSON lines are read too), each question with
//   qid                 its id
//   question            the question
//   answers             [{answer}]: accuracy is measured against the first
//   supporting_context  the gold documents: [{doc_id, doc_part?}]
// and the image metadata beside it (datasets/MMQA_ImageQ_metadata.json, or --metadata):
//   {doc_id: {path, caption}}, the image file being `<images>/<path>` (RagVL's MMQA_imgs/ folder).
// Gold documents that are not images (doc_part other than "image") are not gold images; a question
// left with none, or naming an image the metadata lacks, is a rejected row.
import path from 'node:path';
import { z } from 'zod';
import type { BenchmarkQuestion, RejectedRow } from './benchmark.js';

export const MMQA_METADATA_FILE = 'MMQA_ImageQ_metadata.json';

const Row = z.object({
  qid: z.union([z.string().min(1), z.number()]),
  question: z.string().min(1),
  answers: z.array(z.object({ answer: z.union([z.string(), z.number(), z.boolean()]) })).min(1),
  supporting_context: z.array(z.object({ doc_id: z.string(), doc_part: z.string().optional() })),
});

const Metadata = z.record(z.string(), z.object({ path: z.string(), caption: z.string() }));
export type MmqaMetadata = z.infer<typeof Metadata>;

/** The metadata file, or why it cannot be used. */
export function mmqaMetadata(data: unknown): MmqaMetadata | string {
  const parsed = Metadata.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  return `${issue.path.join('.') || 'metadata'}: ${issue.message} (expected {doc_id: {path, caption}})`;
}

/** The questions of a parsed MMQA file (a list of rows), or the rows that are not in its layout. */
export function mmqaRows(data: unknown[], metadata: MmqaMetadata, imagesDir: string): Array<BenchmarkQuestion | RejectedRow> {
  return data.map((value, i): BenchmarkQuestion | RejectedRow => {
    if (typeof value === 'object' && value !== null && 'unreadableLine' in value) return { row: `line ${String(value.unreadableLine)}`, reason: 'not JSON' };
    const parsed = Row.safeParse(value);
    const label = typeof value === 'object' && value !== null && 'qid' in value ? String((value as { qid: unknown }).qid) : `row ${i + 1}`;
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { row: label, reason: `${issue.path.join('.') || 'row'}: ${issue.message} (not the MMQA layout)` };
    }
    const row = parsed.data;
    const gold = row.supporting_context.filter((c) => c.doc_part === undefined || c.doc_part === 'image');
    if (gold.length === 0) return { row: label, reason: 'no gold image in supporting_context' };
    const missing = gold.find((c) => !(c.doc_id in metadata));
    if (missing) return { row: label, reason: `image ${missing.doc_id}: not in the image metadata` };
    const answers = row.answers.map((a) => String(a.answer));
    return {
      sourceId: String(row.qid),
      question: row.question,
      answer: answers[0]!,
      answers,
      images: gold.map((c) => ({ sourceId: c.doc_id, caption: metadata[c.doc_id]!.caption, files: [path.join(imagesDir, metadata[c.doc_id]!.path)] })),
    };
  });
}
