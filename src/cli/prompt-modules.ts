// The modules that define prompts (src/core/prompts.ts), imported together so a prompts file can be
// checked against every name and `m2rag prompts list` shows them all, without loading the stages.
// A module that calls definePrompt adds itself here.
const PROMPT_MODULES: Array<() => Promise<unknown>> = [() => import('../../scorers/query-filter.js'), () => import('../runner/prompts.js'), () => import('../../scorers/judge-prompts.js')];

export async function loadPromptDefinitions(): Promise<void> {
  await Promise.all(PROMPT_MODULES.map((load) => load()));
}
