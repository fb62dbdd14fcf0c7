// `m2rag ocr <image>`: the text the embedded OCR (PaddleOCR ONNX) reads in an image.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UserError } from '../../core/errors.js';
import { configFor, globalOptions } from './common.js';

export function register(program: Command): void {
  program
    .command('ocr')
    .description('print the text the embedded OCR (PaddleOCR, ONNX) recognizes in an image')
    .argument('<image>', 'image file (JPEG, PNG, WebP, GIF, TIFF, AVIF, SVG)')
    .option('--json', 'print {"text", "lines": [{"text", "confidence", "box"}], "model"}')
    .action(async (file: string, options: { json?: boolean }, command: Command) => {
      const config = await configFor(globalOptions(command));
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw new UserError(`${file}: cannot read image (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
      const { PaddleOcr } = await import('../../models/paddle-ocr.js');
      const ocr = new PaddleOcr({ threads: config.models.threads });
      try {
        let lines;
        try {
          lines = await ocr.recognize(bytes);
        } catch (error) {
          throw new UserError(`${file}: not a decodable image (${(error as Error).message.split('\n')[0]})`);
        }
        const text = lines.map((line) => line.text).join('\n');
        if (options.json) process.stdout.write(JSON.stringify({ text, lines, model: `${ocr.provider}/${ocr.model}` }) + '\n');
        else if (text) process.stdout.write(text + '\n');
        else process.stderr.write(`${file}: no text found\n`);
      } finally {
        await ocr.dispose();
      }
    });
}
