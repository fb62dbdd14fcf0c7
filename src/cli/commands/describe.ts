// `m2rag describe`: a context-aware description for every kept image (vision model or embedded).
import { Command, Option } from 'commander';
import { addStageOptions, runStepsOnStore, type StageFlags } from './common.js';

export function register(program: Command): void {
  addStageOptions(
    program
      .command('describe')
      .description('write a context-aware description for every kept image (vision model if configured, else the embedded context-template describer)')
      .addOption(
        new Option('--method <method>', 'auto: the vision model when one is configured (M2RAG_VISION_URL / M2RAG_LLM_URL), else context-template')
          .choices(['auto', 'vision-model', 'context-template'])
          .default(undefined),
      ),
  ).action((options: StageFlags & { method?: 'auto' | 'vision-model' | 'context-template' }, command: Command) =>
    runStepsOnStore(command, options, ['describe'], { models: { describeMethod: options.method } }),
  );
}
