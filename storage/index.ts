export * from './schemas.js';
export { CorpusStore, StoreBatch, StoreOpenError, StoreVersionError, type OpenOptions, type StageStats, type StoreDatabase, type StoreLocation } from './store.js';
export { sha256Hex } from './blobs.js';
export { inShard, shardOf, WHOLE, type Shard } from './shard.js';
export * from './ids.js';
export * from './views.js';
