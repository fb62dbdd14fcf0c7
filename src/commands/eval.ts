// `m2rag eval`: evaluation of generations (M2RAG metrics, retrieval and QA metrics) and the
// standalone text→image retrieval harness (`m2rag eval retrieval`).
import { Command } from 'commander';
import { NotImplementedError } from '../errors.js';

export function register(program: Command): void {
  const evalCommand = program.command('eval').description('evaluate generations and retrieval');
  evalCommand
    .command('generations', { isDefault: true })
    .description('M2RAG metrics, retrieval metrics and QA metrics over the stored generations')
    .allowUnknownOption()
    .action(() => {
      throw new NotImplementedError('eval');
    });
  evalCommand
    .command('retrieval')
    .description('text→image Recall@K over a folder of images and a captions CSV')
    .allowUnknownOption()
    .action(() => {
      throw new NotImplementedError('eval retrieval');
    });
}
