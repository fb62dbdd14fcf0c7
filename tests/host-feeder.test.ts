// The host feeder (crawlers/fetch/host-feeder.ts): a host's room is never exceeded, hosts wait apart,
// and a host's room goes to its waiting pages and images in turn, so a page's images do not wait
// behind every page offered before them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostFeeder, type OfferKind } from '../crawlers/fetch/host-feeder.js';

function recorder(feeder: HostFeeder) {
  const fed: string[] = [];
  const offer = (key: string, host: string, kind: OfferKind) => feeder.offer(key, `http://${host}/${key}`, kind, async () => void fed.push(key));
  return { fed, offer };
}

test('a host with room for one: pages and images waiting for it are fed in turn, images first, then whatever is left', async () => {
  const feeder = new HostFeeder(1);
  const { fed, offer } = recorder(feeder);
  for (const key of ['p1', 'p2', 'p3', 'p4']) await offer(key, '127.0.0.2', 'page');
  for (const key of ['i1', 'i2']) await offer(key, '127.0.0.2', 'image');
  assert.deepEqual(fed, ['p1'], 'only one request of the host is fed while its room is taken');
  for (const key of ['p1', 'i1', 'p2', 'i2', 'p3']) feeder.release(key);
  assert.deepEqual(fed, ['p1', 'i1', 'p2', 'i2', 'p3', 'p4']);
  feeder.release('p4');
  feeder.release('p4');
  await offer('p5', '127.0.0.2', 'page');
  assert.deepEqual(fed.at(-1), 'p5', 'the host has its room back once everything settled (a second release is ignored)');
});

test('hosts wait apart: one host at its limit does not hold another', async () => {
  const feeder = new HostFeeder(2);
  const { fed, offer } = recorder(feeder);
  for (const key of ['a1', 'a2', 'a3']) await offer(key, '127.0.0.2', 'page');
  await offer('b1', '127.0.0.3', 'image');
  assert.deepEqual(fed, ['a1', 'a2', 'b1']);
  feeder.release('b1');
  assert.deepEqual(fed, ['a1', 'a2', 'b1'], "another host's release does not feed this one");
  feeder.release('a2');
  assert.deepEqual(fed, ['a1', 'a2', 'b1', 'a3']);
});
