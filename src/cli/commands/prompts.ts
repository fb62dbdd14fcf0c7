// `m2rag prompts list` / `m2rag prompts show <name>`: the named prompt templates and the text in
// force (a `--prompts` file's, else the default), so a user can see what to override.
import type { Command } from 'commander';
import { UserError } from '../../core/errors.js';
import { definedPrompts, promptInForce } from '../../core/prompts.js';
import { loadPromptDefinitions } from '../prompt-modules.js';
import { configFor, globalOptions } from './common.js';

export function register(program: Command): void {
  const prompts = program.command('prompts').description('list the named prompts, or show one (override them with --prompts <file>)');
  prompts
    .command('list')
    .description('every prompt name with the version in force')
    .action(async (_options: unknown, command: Command) => {
      await loadPromptDefinitions();
      await configFor(globalOptions(command));
      for (const template of definedPrompts()) process.stdout.write(`${template.name}\t${promptInForce(template).version}\n`);
    });
  prompts
    .command('show <name>')
    .description('the text in force for one prompt')
    .action(async (name: string, _options: unknown, command: Command) => {
      await loadPromptDefinitions();
      await configFor(globalOptions(command));
      const template = definedPrompts().find((t) => t.name === name);
      if (!template) throw new UserError(`unknown prompt "${name}" (see \`m2rag prompts list\`)`);
      process.stdout.write(promptInForce(template).text + '\n');
    });
}
