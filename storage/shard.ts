// Sharding: a stage told `rank` of `worldSize` takes only the ids that hash into its shard, so the
// same stage can run as many independent workers without being rewritten.
import { createHash } from 'node:crypto';

export interface Shard {
  rank: number;
  worldSize: number;
}

export const WHOLE: Shard = { rank: 0, worldSize: 1 };

export function shardOf(id: string, worldSize: number): number {
  if (worldSize <= 1) return 0;
  return createHash('sha1').update(id).digest().readUInt32BE(0) % worldSize;
}

export function inShard(id: string, shard: Shard): boolean {
  return shardOf(id, shard.worldSize) === shard.rank;
}
