// The dependency rule (docs/architecture.md) is enforced by dependency-cruiser in `npm test`. These
// tests show the check bites: a copy of the tree with one forbidden import fails with the rule's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, cp } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const LAYERS = ['storage', 'src', 'crawlers', 'processors', 'scorers'];
const DEPCRUISE = path.join(ROOT, 'node_modules/.bin/depcruise');

function checkLayers(dir: string): { code: number; output: string } {
  const result = spawnSync(DEPCRUISE, ['--config', '.dependency-cruiser.cjs', '--output-type', 'err', ...LAYERS], { cwd: dir, encoding: 'utf8' });
  return { code: result.status ?? -1, output: result.stdout + result.stderr };
}

async function copyOfTree(t: import('node:test').TestContext): Promise<string> {
  const dir = await tempDir(t, 'm2rag-layers-');
  for (const entry of [...LAYERS, 'tsconfig.json', '.dependency-cruiser.cjs']) await cp(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  return dir;
}

test('the tree as committed keeps the dependency rule', () => {
  const { code, output } = checkLayers(ROOT);
  assert.equal(code, 0, output);
});

const violations: Array<{ file: string; importLine: string; rule: string }> = [
  { file: 'storage/ids.ts', importLine: "import '../src/core/errors.js';", rule: 'storage-imports-nothing-of-ours' },
  { file: 'src/core/errors.ts', importLine: "import '../models/cache.js';", rule: 'core-imports-only-storage' },
  { file: 'processors/text/chunk.ts', importLine: "import '../../crawlers/net/sniff.js';", rule: 'processors-stay-in-their-room' },
  { file: 'scorers/yes-no.ts', importLine: "import '../src/runner/labels.js';", rule: 'scorers-stay-in-their-room' },
  { file: 'src/runner/labels.ts', importLine: "import '../../processors/text/chunk.js';", rule: 'runner-imports-scorers-models-core-storage' },
];

for (const violation of violations) {
  test(`a forbidden import (${violation.file} → ${violation.importLine}) fails the check with ${violation.rule}`, async (t) => {
    const dir = await copyOfTree(t);
    await appendFile(path.join(dir, violation.file), `\n${violation.importLine}\n`);
    const { code, output } = checkLayers(dir);
    assert.notEqual(code, 0, 'the check must fail');
    assert.match(output, new RegExp(violation.rule));
    assert.match(output, new RegExp(violation.file.replace(/[.]/g, '\\.')));
  });
}
