// The module every worker thread of ours loads (piscina's `filename`): a worker thread does not
// inherit a loader registered in-process (bin/m2rag.js registers tsx that way), so it registers tsx
// itself, then imports the TypeScript module named by the pool's `workerData.module` and serves its
// default export.
import { workerData } from 'piscina';
import { register } from 'tsx/esm/api';

register();
const { default: task } = await import(workerData.module);

export default task;
