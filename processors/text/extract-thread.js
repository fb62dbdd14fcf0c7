// The module an extraction thread loads (see extract-pool.ts). A worker thread does not inherit a
// loader registered in-process (bin/m2rag.js registers tsx that way), so it registers tsx itself
// before it imports the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
const { default: extractInWorker } = await import('./extract-worker.ts');

export default extractInWorker;
