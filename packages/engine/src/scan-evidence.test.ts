import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dialects, openTestStore } from '../../store/src/dialects.test-helper.ts';
import { makeTree } from './fixtures.test-helper.ts';
import { runScan } from './scan-job.ts';
import { inventoryDigest } from './scan-evidence.ts';

for (const dialect of dialects())
  test(`the inventory digest names what a store holds, not when it was scanned (${dialect})`, async () => {
    const tree = makeTree();
    const a = await openTestStore(dialect);
    const b = await openTestStore(dialect);
    try {
      const empty = await inventoryDigest(a.store);
      await runScan({ roots: [tree.root], store: a.store, at: Date.UTC(2026, 0, 1), threads: 0 });
      await runScan({ roots: [tree.root], store: b.store, at: Date.UTC(2026, 5, 1), threads: 0 });
      const da = await inventoryDigest(a.store);
      assert.notEqual(da, empty);
      assert.equal(await inventoryDigest(b.store), da);
      await runScan({ roots: [tree.root], store: a.store, threads: 0 });
      assert.equal(await inventoryDigest(a.store), da, 'a rescan of the same tree changes nothing');
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });
