import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { leafHash, nodeHash } from './hash.ts';
import { nodeHashJs } from './sha256-node.ts';

test('the specialised node hash equals SHA-256(0x01 || left || right) from node:crypto', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (l, r) => {
        const want = createHash('sha256')
          .update(Buffer.concat([Buffer.from([1]), l, r]))
          .digest();
        assert.ok(nodeHashJs(l, r).equals(want));
        assert.ok(nodeHash(l, r).equals(want));
      },
    ),
    { numRuns: 2000 },
  );
  // All-ones bytes exercise every carry and sign bit of the 32-bit arithmetic.
  const ff = Buffer.alloc(32, 0xff);
  assert.ok(
    nodeHashJs(ff, ff).equals(
      createHash('sha256')
        .update(Buffer.concat([Buffer.from([1]), ff, ff]))
        .digest(),
    ),
  );
});

test('leaf and node hashes use the RFC 6962 prefixes', () => {
  assert.equal(
    leafHash(Buffer.alloc(0)).toString('hex'),
    createHash('sha256')
      .update(Buffer.from([0]))
      .digest('hex'),
  );
  const odd = Buffer.alloc(31, 1);
  assert.ok(
    nodeHash(odd, odd).equals(
      createHash('sha256')
        .update(Buffer.concat([Buffer.from([1]), odd, odd]))
        .digest(),
    ),
  );
});
