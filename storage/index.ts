export * from './schemas.js';
export { CorpusStore, StoreBatch, StoreVersionError, type StageStats } from './store.js';
export { BlobStore, sha256Hex } from './blobs.js';
export { inShard, shardOf, WHOLE, type Shard } from './shard.js';
export * from './ids.js';
