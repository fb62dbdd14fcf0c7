// `m2rag extract <file-or-dir> [--json]`: main-content extraction of HTML files, offline.
import { Command } from 'commander';
import { UserError } from '../../core/errors.js';
import { log } from '../../core/feedback.js';

interface ExtractOptions {
  json: boolean;
}

async function filesOf(target: string): Promise<string[]> {
  try {
    return await (await import('../../../processors/text/extract-files.js')).listHtmlFiles(target);
  } catch (error) {
    throw new UserError(`${target}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)}); give an HTML file or a directory of .html/.html.gz files`);
  }
}

export function register(program: Command): void {
  program
    .command('extract')
    .description('extract the main content of .html/.html.gz files as text and markdown with image placeholders')
    .argument('<file-or-dir>', 'an HTML file, or a directory of .html and .html.gz files')
    .option('--json', 'print one JSON object: {"<name>": {"articleBody", "markdown"}}', false)
    .action(async (target: string, options: ExtractOptions) => {
      const files = await filesOf(target);
      if (files.length === 0) throw new UserError(`${target}: no .html or .html.gz files in this directory`);
      const results: Record<string, { articleBody: string; markdown: string }> = {};
      const { extractFile } = await import('../../../processors/text/extract-files.js');
      for (const file of files) {
        const extracted = await extractFile(file);
        if (extracted.warning) log.warn({ file, reason: extracted.warning }, 'nothing extracted; empty body');
        const content = extracted.content;
        results[extracted.name] = { articleBody: content?.text ?? '', markdown: content?.markdown ?? '' };
        if (!options.json) {
          const summary = content
            ? `${content.extractor}, ${content.text.length} chars, ${content.occurrences.length} image placeholders${content.title ? `, "${content.title}"` : ''}`
            : `empty (${extracted.warning})`;
          process.stdout.write(`${extracted.name}: ${summary}\n`);
        }
      }
      if (options.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    });
}
