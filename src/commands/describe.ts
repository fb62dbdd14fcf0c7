// `m2rag describe`: a context-aware description for every kept image (vision model or embedded).
import { Command, Option } from 'commander';
import { addStageOptions, configFor, globalOptions, shardFrom, withStore } from './common.js';
import { runBuildSteps } from '../pipeline.js';

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
  ).action(async (options: { rank: number; worldSize: number; force: boolean; method?: 'auto' | 'vision-model' | 'context-template' }, command: Command) => {
    const global = globalOptions(command);
    const config = await configFor(global, { models: { describeMethod: options.method } });
    const shard = shardFrom(options);
    await withStore(global, (store) => runBuildSteps(store, config, ['describe'], { shard, force: options.force }));
  });
}
