// `m2rag models`: download (`pull`) and show (`list`) local ONNX models.
import type { Command } from 'commander';
import { defaultCacheDir, KNOWN_MODELS, listModels, pullModel } from '../../models/hub.js';
import { configFor, globalOptions } from './common.js';

interface HubOptions {
  hubUrl?: string;
  cacheDir?: string;
}

export function register(program: Command): void {
  const models = program.command('models').description('download and list local ONNX models (CLIP-family dual encoders)');
  models
    .command('pull')
    .description(`download a CLIP-family ONNX export into the cache (known: ${Object.keys(KNOWN_MODELS).join(', ')}; or a hub id owner/name)`)
    .argument('<name>', 'a known model name or a hub id')
    .option('--hub-url <url>', 'hub base URL (default models.hubUrl)')
    .option('--cache-dir <dir>', 'cache directory (default models.cacheDir, else ~/.cache/m2rag)')
    .option('--revision <rev>', 'hub revision', 'main')
    .action(async (name: string, options: HubOptions & { revision: string }, command: Command) => {
      const config = await configFor(globalOptions(command));
      const cacheDir = options.cacheDir ?? config.models.cacheDir ?? defaultCacheDir();
      const report = await pullModel(name, {
        hubUrl: options.hubUrl ?? config.models.hubUrl,
        cacheDir,
        revision: options.revision,
        onFile: (file) => process.stderr.write(`fetching ${file}\n`),
      });
      for (const file of report.files) process.stdout.write(`${file.status.padEnd(10)} ${file.file} (${file.bytes} bytes, verified)\n`);
      process.stdout.write(`${report.repo} is in ${report.dir}\nuse it with models.clipDir: ${report.dir}\n`);
    });
  models
    .command('list')
    .description('show the models in the cache and the known ones')
    .option('--cache-dir <dir>', 'cache directory (default models.cacheDir, else ~/.cache/m2rag)')
    .option('--json', 'print one JSON object')
    .action(async (options: HubOptions & { json?: boolean }, command: Command) => {
      const config = await configFor(globalOptions(command));
      const cacheDir = options.cacheDir ?? config.models.cacheDir ?? defaultCacheDir();
      const local = await listModels(cacheDir);
      if (options.json) {
        process.stdout.write(JSON.stringify({ cacheDir, models: local, known: KNOWN_MODELS }) + '\n');
        return;
      }
      process.stdout.write(`cache ${cacheDir}\n`);
      if (local.length === 0) process.stdout.write('  no models pulled yet\n');
      for (const model of local) {
        process.stdout.write(`  ${model.name.padEnd(32)} ${(model.bytes / 1e6).toFixed(1).padStart(8)} MB  ${model.complete ? 'complete' : 'incomplete'}  ${model.dir}\n`);
      }
      process.stdout.write('known (m2rag models pull <name>)\n');
      for (const [name, known] of Object.entries(KNOWN_MODELS)) process.stdout.write(`  ${name.padEnd(16)} ${known.repo.padEnd(34)} ${known.description}\n`);
      process.stdout.write('embedded (always available): paddleocr-pp-ocrv4 (OCR), universal-sentence-encoder-lite (text embeddings)\n');
    });
}
