// The layering rule (see docs/architecture.md), checked by `npm test` through `npm run check:layers`.
// Each layer names what it may import; anything else of ours is a violation.
const OURS = '^(storage|src|crawlers|processors|scorers)/';

/** A rule: files under `from` may import only our files matching `allowed` (plus npm and node:). */
function only(name, from, allowed, comment) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: from },
    to: { path: OURS, pathNot: allowed },
  };
}

module.exports = {
  forbidden: [
    only('storage-imports-nothing-of-ours', '^storage/', '^storage/', 'storage/ is the bottom layer: it imports nothing of ours'),
    only('core-imports-only-storage', '^src/core/', '^(src/core|storage)/', 'src/core is the stage kernel: it imports only storage/'),
    only('models-import-core-and-storage', '^src/models/', '^(src/models|src/core|storage)/', 'src/models is the model layer: it imports only src/core and storage/'),
    only('crawlers-stay-in-their-room', '^crawlers/', '^(crawlers|src/core|src/models|storage)/', 'a stage folder imports only src/core, src/models and storage/, never another stage folder'),
    only('processors-stay-in-their-room', '^processors/', '^(processors|src/core|src/models|storage)/', 'a stage folder imports only src/core, src/models and storage/, never another stage folder'),
    only('scorers-stay-in-their-room', '^scorers/', '^(scorers|src/core|src/models|storage)/', 'a stage folder imports only src/core, src/models and storage/, never another stage folder'),
    only('runner-imports-scorers-models-core-storage', '^src/runner/', '^(src/runner|scorers|src/models|src/core|storage)/', 'src/runner adds scorers/ to what a stage folder may import'),
    only('viewer-reads-the-store', '^src/viewer/', '^(src/viewer|scorers|src/core|storage)/', 'src/viewer (m2rag serve) reads the store and uses the shared contracts and metric names; it runs no stage'),
    {
      name: 'only-cli-imports-viewer',
      comment: 'the viewer is an entry point like a command: only src/cli loads it',
      severity: 'error',
      from: { path: OURS, pathNot: '^src/(cli|viewer)/' },
      to: { path: '^src/viewer/' },
    },
    only('queue-imports-core-and-storage', '^src/queue/', '^(src/queue|src/core|storage)/', 'src/queue (BullMQ jobs, workers, status) carries stage work between processes; the stages themselves come from src/cli'),
    {
      name: 'only-cli-imports-queue',
      comment: 'the queue is driven by commands: only src/cli loads it',
      severity: 'error',
      from: { path: OURS, pathNot: '^src/(cli|queue)/' },
      to: { path: '^src/queue/' },
    },
    {
      name: 'no-cycles',
      comment: 'files of ours import each other in one direction only',
      severity: 'error',
      from: { path: OURS },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|tests|bench)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
