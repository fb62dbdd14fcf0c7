// Hand-made WebQA and MultimodalQA test files in the layouts RagVL reads (WebQA_test_image.json;
// MMQA_test_image.json with MMQA_ImageQ_metadata.json), with small solid-colour PNGs made here, plus
// the rows that must be rejected. The answers a test stores beside them, and the accuracies they
// get, are computed by hand in tests/ragvl-eval.test.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

async function png(file: string, rgb: [number, number, number]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(file);
}

export const WEBQA = {
  w1: { Q: 'What colours are the feathers of the bird on the feeder?', A: ['"The bird is blue and white."'], Qcate: 'color', img_posFacts: [{ image_id: 30001, title: 'Blue jay', caption: 'A blue jay perched on a bird feeder' }] },
  w2: {
    Q: 'Are the doors of both churches painted green?',
    A: ['"Yes, both are red."'],
    Qcate: 'YesNo',
    img_posFacts: [
      { image_id: 30002, title: 'Church A', caption: 'A stone church with red doors' },
      { image_id: 30003, title: 'Church B', caption: 'A wooden chapel with a red door' },
    ],
  },
  w3: {
    Q: 'How many dogs sit on the porch in both photos together?',
    A: ['"There are three dogs."'],
    EM: 'There are three dogs.',
    Qcate: 'number',
    img_posFacts: [
      { image_id: 30004, title: 'Porch', caption: 'Two dogs on a porch' },
      { image_id: 30005, title: 'Porch 2', caption: 'One dog on a porch' },
    ],
  },
  w4: { Q: 'In which city does the iron lattice tower stand?', A: ['"The tower is in Paris, France."'], Qcate: 'text', img_posFacts: [{ image_id: 30006, title: 'Tower', caption: 'The Eiffel Tower at dusk' }] },
  // Rejected: its image file is not in the folder.
  w5: { Q: 'What shape is the roof?', A: ['"Round."'], Qcate: 'shape', img_posFacts: [{ image_id: 39999, title: 'Roof', caption: 'A roof' }] },
  // Rejected: a text question (no gold image).
  w6: { Q: 'Who wrote the novel?', A: ['"Tolstoy."'], Qcate: 'text', img_posFacts: [] },
  // Rejected: no question.
  w7: { A: ['"x"'], Qcate: 'text', img_posFacts: [{ image_id: 30001, caption: 'c' }] },
};

export const MMQA = [
  { qid: 'm1', question: 'How many players are in the team photo?', answers: [{ answer: '11' }], supporting_context: [{ doc_id: 'img-a', doc_part: 'image' }] },
  {
    qid: 'm2',
    question: 'What color is the car in both pictures?',
    answers: [{ answer: 'Red' }],
    supporting_context: [
      { doc_id: 'img-b', doc_part: 'image' },
      { doc_id: 'img-c', doc_part: 'image' },
      { doc_id: 'text-1', doc_part: 'text' },
    ],
  },
  { qid: 'm3', question: 'Who is shown on the film poster?', answers: [{ answer: 'Tom Hanks' }], supporting_context: [{ doc_id: 'img-d', doc_part: 'image' }] },
  // Rejected: its image is not in the metadata.
  { qid: 'm4', question: 'What is on the flag?', answers: [{ answer: 'A star' }], supporting_context: [{ doc_id: 'img-missing', doc_part: 'image' }] },
];

export const MMQA_METADATA = {
  'img-a': { path: 'a.png', caption: 'A football team posing for a photo' },
  'img-b': { path: 'sub/b.png', caption: 'A red car parked on a street' },
  'img-c': { path: 'sub/c.png', caption: 'A red car on a race track' },
  'img-d': { path: 'd.png', caption: 'A film poster with an actor' },
};

export interface RagvlFiles {
  webqaFile: string;
  webqaImages: string;
  mmqaFile: string;
  mmqaImages: string;
}

/** Writes both datasets under `dir`; every image has a colour of its own, so each has its own content id. */
export async function writeRagvlFiles(dir: string): Promise<RagvlFiles> {
  const webqaImages = path.join(dir, 'val_image');
  const colours: Array<[number, number, number]> = [[20, 40, 200], [200, 30, 30], [180, 20, 60], [120, 90, 40], [110, 80, 60], [90, 90, 110]];
  for (const [i, colour] of colours.entries()) await png(path.join(webqaImages, `${30001 + i}.png`), colour);
  const webqaFile = path.join(dir, 'WebQA_test_image.json');
  await writeFile(webqaFile, JSON.stringify(WEBQA, null, 2));

  const mmqaImages = path.join(dir, 'MMQA_imgs');
  const mmqaColours: Array<[number, number, number]> = [[10, 160, 10], [230, 10, 10], [240, 20, 20], [60, 60, 60]];
  for (const [i, entry] of Object.values(MMQA_METADATA).entries()) await png(path.join(mmqaImages, entry.path), mmqaColours[i]!);
  const mmqaFile = path.join(dir, 'mmqa', 'MMQA_test_image.json');
  await mkdir(path.dirname(mmqaFile), { recursive: true });
  await writeFile(mmqaFile, JSON.stringify(MMQA, null, 2));
  await writeFile(path.join(dir, 'mmqa', 'MMQA_ImageQ_metadata.json'), JSON.stringify(MMQA_METADATA, null, 2));
  return { webqaFile, webqaImages, mmqaFile, mmqaImages };
}

/** A letter-count vector, so related texts are near each other and an embeddings stand-in needs no model. */
export function letterVector(text: string): number[] {
  const v = new Array<number>(26).fill(0);
  for (const ch of text.toLowerCase()) if (ch >= 'a' && ch <= 'z') v[ch.charCodeAt(0) - 97]! += 1;
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}
