// The module every worker thread of ours loads (piscina's `filename`): a worker thread does not
// inherit a loader registered in-process (bin/m2rag.js registers tsx that way), so it registers tsx
// itself, then imports the TypeScript module named by the pool's `workerData.module` and serves its
// default export.
//
// CommonJS on purpose: piscina loads `filename` with require() first, and Node 20.19+ then takes an
// ES module through require(esm); that path aborts the whole process ("v8::Module::IsGraphAsync must
// be used on an instantiated module") when the module's instantiation fails, which happened on CI.
// Here require() loads plain CommonJS, and every ES module (tsx's API, ours) is reached by import().
// (tsx's CommonJS build of `tsx/esm/api` cannot register: it points at a file it does not ship.)
'use strict';
const { workerData } = require('piscina');

// piscina awaits the `default` export before the thread reports itself ready, so exporting the
// promise of the task function loads everything before a task reaches the thread. (A function that
// did the imports itself would let piscina's blocking wait for tasks begin with them in flight.)
module.exports = import('tsx/esm/api')
  .then(({ register }) => {
    register();
    return import(workerData.module);
  })
  .then((module) => module.default);
