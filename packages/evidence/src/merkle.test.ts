import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { EMPTY_ROOT, leafHash } from './hash.ts';
import {
  arrayHashes,
  consistencyProof,
  inclusionProof,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';

// Facts from the RFC 6962 reference test data shipped with certificate-transparency-go and Trillian
// (merkle/testonly): eight leaves, the tree heads of their prefixes, and published proofs.
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION: [number, number, string[]][] = [
  [0, 1, []],
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

const hashes = LEAVES.map((h) => leafHash(Buffer.from(h, 'hex')));
const hex = (b: Buffer[]): string[] => b.map((x) => x.toString('hex'));
const root = (n: number): Buffer => Buffer.from(ROOTS[n - 1]!, 'hex');

describe('RFC 6962 Merkle tree', () => {
  test('tree heads of the reference leaves for sizes 0..8', () => {
    assert.equal(
      rootOf([]).toString('hex'),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    for (let n = 1; n <= 8; n++)
      assert.equal(rootOf(hashes.slice(0, n)).toString('hex'), ROOTS[n - 1], `size ${n}`);
  });

  test('published inclusion proofs are generated and verify; altered ones do not', () => {
    const get = arrayHashes(hashes);
    for (const [i, n, proof] of INCLUSION) {
      const p = inclusionProof(get, i, n);
      assert.deepEqual(hex(p), proof, `PATH(${i}, ${n})`);
      assert.ok(verifyInclusion(hashes[i]!, i, n, p, root(n)));
      assert.ok(!verifyInclusion(hashes[i]!, i, n, p, root(n === 8 ? 7 : 8)));
      if (p.length > 0) assert.ok(!verifyInclusion(hashes[i]!, i, n, p.slice(1), root(n)));
      assert.ok(!verifyInclusion(hashes[i]!, i + 1, n, p, root(n)));
    }
  });

  test('published consistency proofs are generated and verify; altered ones do not', () => {
    const get = arrayHashes(hashes);
    for (const [m, n, proof] of CONSISTENCY) {
      const p = consistencyProof(get, m, n);
      assert.deepEqual(hex(p), proof, `PROOF(${m}, ${n})`);
      assert.ok(verifyConsistency(m, n, root(m), root(n), p));
      if (m !== n) {
        assert.ok(!verifyConsistency(m, n, root(m === 1 ? 2 : 1), root(n), p));
        assert.ok(!verifyConsistency(m, n, root(m), root(n), p.slice(0, -1)));
      }
    }
    assert.ok(verifyConsistency(0, 8, EMPTY_ROOT, root(8), []));
  });

  test('every proof of every tree up to 70 leaves verifies, and a flipped bit is caught', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(), fc.nat(), (n, a, b, bit) => {
        const leaves = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
        const get = arrayHashes(leaves);
        const i = a % n;
        const m = (b % n) + 1;
        const r = rootOf(leaves);
        const rm = rootOf(leaves.slice(0, m));
        const ip = inclusionProof(get, i, n);
        const cp = consistencyProof(get, m, n);
        assert.ok(verifyInclusion(leaves[i]!, i, n, ip, r));
        assert.ok(verifyConsistency(m, n, rm, r, cp));
        if (ip.length > 0) {
          const bad = ip.map((x) => Buffer.from(x));
          bad[bit % bad.length]![(bit >> 3) % 32]! ^= 1 << (bit % 8);
          assert.ok(!verifyInclusion(leaves[i]!, i, n, bad, r));
        }
        if (cp.length > 0) {
          const bad = cp.map((x) => Buffer.from(x));
          bad[bit % bad.length]![(bit >> 3) % 32]! ^= 1 << (bit % 8);
          assert.ok(!verifyConsistency(m, n, rm, r, bad));
        }
      }),
      { numRuns: 300 },
    );
  });
});
