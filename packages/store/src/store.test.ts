import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dialects, openTestStore } from './dialects.test-helper.ts';
import { assetId, keyRef, type AssetInput, type Batch } from './inputs.ts';
import type { AssetRow } from './store.ts';

const T0 = Date.UTC(2026, 0, 1);

function cert(n: number, notAfter: number): AssetInput {
  return {
    kind: 'certificate',
    identity: `fp${n}`,
    keyId: `key${n}`,
    subject: `CN=device ${n}`,
    issuer: 'CN=CA',
    serial: n.toString(16),
    notBefore: T0,
    notAfter,
    algorithm: 'EC',
    size: 256,
    curve: 'P-256',
    signatureAlgorithm: 'ecdsa-with-SHA256',
    ski: `ski${n}`,
    aki: 'caski',
    isCa: false,
    selfSigned: false,
    record: { n },
  };
}

function batch(n: number, path: string): Batch {
  return {
    assets: [cert(n, T0 + n * 86_400_000)],
    keys: [{ keyId: `key${n}`, algorithm: 'EC', size: 256, curve: 'P-256' }],
    occurrences: [
      {
        assetId: assetId('certificate', `fp${n}`),
        path,
        offset: n * 10,
        encoding: 'pem',
        format: 'pem:CERTIFICATE',
        layer: 'device',
        status: 'ok',
      },
    ],
  };
}

async function all(it: AsyncIterable<AssetRow>): Promise<AssetRow[]> {
  const out: AssetRow[] = [];
  for await (const r of it) out.push(r);
  return out;
}

for (const dialect of dialects()) {
  describe(`store on ${dialect}`, () => {
    test('migrates on open and is idempotent on reopen', async () => {
      const { store, dispose } = await openTestStore(dialect);
      try {
        assert.deepEqual(await store.counts(), {
          certificate: 0,
          key: 0,
          csr: 0,
          crl: 0,
          'ssh-certificate': 0,
          signature: 0,
          artifact: 0,
          'crypto-library': 0,
          role: 0,
        });
        assert.equal(store.dialect, dialect);
      } finally {
        await dispose();
      }
    });

    test('dedupes assets by identity while occurrences accumulate, and rescans do not duplicate', async () => {
      const { store, dispose } = await openTestStore(dialect);
      try {
        const s1 = await store.beginScan(['/a'], T0);
        await store.ingest(s1, T0, batch(1, '/a/x.pem'));
        await store.ingest(s1, T0, batch(1, '/a/copy.pem'));
        await store.finishScan(s1, T0 + 1, 'complete', { files: 2 });
        const s2 = await store.beginScan(['/a'], T0 + 5);
        await store.ingest(s2, T0 + 5, batch(1, '/a/x.pem'));
        const certs = await all(store.assets({ kind: 'certificate' }));
        assert.equal(certs.length, 1);
        const c = certs[0]!;
        assert.deepEqual(
          c.occurrences.map((o) => o.path),
          ['/a/copy.pem', '/a/x.pem'],
        );
        assert.equal(c.occurrences.find((o) => o.path === '/a/x.pem')?.lastSeen, T0 + 5);
        assert.equal(c.notAfter, T0 + 86_400_000);
        assert.equal(c.keyId, 'key1');
        assert.deepEqual(c.record, { n: 1 });
        const scans = await store.scans();
        assert.equal(scans.length, 2);
        assert.deepEqual(scans.find((s) => s.id === s1)?.summary, { files: 2 });
      } finally {
        await dispose();
      }
    });

    test('filters by expiry and pages through large inventories', async () => {
      const { store, dispose } = await openTestStore(dialect);
      try {
        const s = await store.beginScan(['/big'], T0);
        const assets: AssetInput[] = [];
        const occurrences: Batch['occurrences'] = [];
        for (let i = 0; i < 4500; i++) {
          assets.push(cert(i, T0 + i * 3_600_000));
          occurrences.push({
            assetId: assetId('certificate', `fp${i}`),
            path: '/big/bundle.pem',
            offset: i,
            encoding: 'pem',
            format: 'pem:CERTIFICATE',
            layer: 'cloud',
            status: 'ok',
          });
        }
        await store.ingest(s, T0, { assets, keys: [], occurrences });
        const every = await all(store.assets({ kind: 'certificate' }));
        assert.equal(every.length, 4500);
        assert.ok(every.every((c) => c.occurrences.length === 1));
        const soon = await all(store.assets({ kind: 'certificate', expiringBefore: T0 + 100 * 3_600_000 }));
        assert.equal(soon.length, 100);
      } finally {
        await dispose();
      }
    });

    test('records problems and a failed batch leaves earlier batches intact', async () => {
      const { store, dispose } = await openTestStore(dialect);
      try {
        const s = await store.beginScan(['/p'], T0);
        await store.ingest(s, T0, batch(7, '/p/ok.pem'));
        await store.ingest(s, T0, {
          assets: [],
          keys: [],
          occurrences: [
            {
              path: '/p/bad.pem',
              offset: 0,
              encoding: 'pem',
              format: 'pem:CERTIFICATE',
              layer: 'unknown',
              status: 'unparseable',
              reason: 'truncated header at offset 0',
            },
          ],
        });
        // An occurrence naming an asset that does not exist violates the foreign key: the whole batch must roll back.
        await assert.rejects(
          store.ingest(s, T0, {
            assets: [cert(8, T0)],
            keys: [],
            occurrences: [
              {
                assetId: 'certificate:missing',
                path: '/p/x',
                offset: 0,
                encoding: 'der',
                format: 'der',
                layer: 'unknown',
                status: 'ok',
              },
            ],
          }),
          (err: Error & { code?: string }) => err.code === 'STORE_WRITE',
        );
        const certs = await all(store.assets({ kind: 'certificate' }));
        assert.deepEqual(
          certs.map((c) => c.identity),
          ['fp7'],
        );
        const problems = await store.problems();
        assert.equal(problems.length, 1);
        assert.equal(problems[0]!.reason, 'truncated header at offset 0');
      } finally {
        await dispose();
      }
    });

    test('edges dedupe by kind and ends, touch last_seen on rescan, and query by either end', async () => {
      const { store, dispose } = await openTestStore(dialect);
      try {
        const sig = assetId('signature', 'sig1');
        const art = assetId('artifact', 'art1');
        const edges = [
          { kind: 'covers' as const, from: sig, to: art, reason: 'CMS detached over the module' },
          { kind: 'signed-by' as const, from: sig, to: keyRef('key1'), reason: 'signer certificate key' },
          { kind: 'signed-by' as const, from: sig, to: keyRef('key1'), reason: 'repeated in one batch' },
        ];
        const scan = await store.beginScan(['/x'], T0);
        await store.ingest(scan, T0, { assets: [], keys: [], occurrences: [], edges });
        await store.ingest(scan, T0 + 5, { assets: [], keys: [], occurrences: [], edges: edges.slice(0, 1) });
        const from = await store.edges({ from: [sig] });
        assert.deepEqual(
          from.map((e) => [e.kind, e.to, e.firstSeen, e.lastSeen]),
          [
            ['covers', art, T0, T0 + 5],
            ['signed-by', keyRef('key1'), T0, T0],
          ],
        );
        const to = await store.edges({ kind: 'signed-by', to: [keyRef('key1')] });
        assert.equal(to.length, 1);
        assert.equal(to[0]!.from, sig);
        assert.equal((await store.edges({ kind: 'embeds' })).length, 0);
      } finally {
        await dispose();
      }
    });

    test('two writers on the same store stay consistent', async () => {
      const { store, dispose } = await openTestStore(dialect);
      try {
        const a = await store.beginScan(['/a'], T0);
        const b = await store.beginScan(['/b'], T0);
        await Promise.all([
          ...Array.from({ length: 20 }, (_, i) => store.ingest(a, T0, batch(i, '/a/f.pem'))),
          ...Array.from({ length: 20 }, (_, i) => store.ingest(b, T0, batch(i, '/b/f.pem'))),
        ]);
        const certs = await all(store.assets({ kind: 'certificate' }));
        assert.equal(certs.length, 20);
        assert.ok(certs.every((c) => c.occurrences.length === 2));
      } finally {
        await dispose();
      }
    });
  });
}
