import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dialects, openTestStore } from '../../store/src/dialects.test-helper.ts';
import { makeTree, secretNeedles } from './fixtures.test-helper.ts';
import { runScan } from './scan-job.ts';
import { keys, certificates } from './inventory.ts';
import { buildReport } from './report.ts';

const tree = makeTree();
const AT = Date.now();

async function list<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

for (const dialect of dialects())
  for (const threads of [0, 2])
    describe(`scan on ${dialect} with ${threads} worker threads`, () => {
      let ctx: Awaited<ReturnType<typeof openTestStore>>;
      after(async () => ctx?.dispose());

      test('finds every certificate and key, and records what it refused', async () => {
        ctx = await openTestStore(dialect);
        const s = await runScan({
          roots: [tree.root],
          store: ctx.store,
          threads,
          at: AT,
          maxFileBytes: 200_000,
        });
        assert.equal(s.certificates, 2, 'CA and leaf, deduplicated across PEM, DER and the bundle');
        assert.equal(s.csrs, 1);
        // leaf RSA, CA EC, ssh ed25519 (the .pub is the same key), the encrypted copy (sealed identity).
        assert.equal(s.privateKeys, 4);
        assert.equal(s.keys, 4);
        const problems = await ctx.store.problems();
        const why = (name: string): string | undefined => problems.find((p) => p.path.endsWith(name))?.reason;
        assert.match(why('truncated.crt') ?? '', /past the end|truncated/);
        assert.match(why('garbage.pem') ?? '', /named like crypto material/);
        assert.match(why('broken-base64.pem') ?? '', /base64|DER|header/i);
        assert.match(why('huge.bin') ?? '', /size limit/);
        assert.match(why('pipe') ?? '', /FIFO/);
        assert.match(why('dangling.pem') ?? '', /dangling/);
        assert.match(why('loop') ?? '', /already visited|loop/);
        assert.ok(s.unparseable >= 3 && s.refused >= 3 && s.unreadable >= 1, JSON.stringify(s));
      });

      test('inventory rows carry identity, validity and every place seen', async () => {
        const certs = await list(certificates(ctx.store));
        const leaf = certs.find((c) => c.subject?.includes('update.example'))!;
        assert.ok(leaf, 'leaf listed');
        assert.equal(leaf.keyAlgorithm, 'RSA');
        assert.equal(leaf.keySize, 2048);
        assert.match(leaf.notAfter!, /^\d{4}-\d{2}-\d{2}T/);
        assert.ok(leaf.aki && leaf.keyId);
        const places = leaf.occurrences.map((o) => o.path.slice(tree.root.length)).sort();
        assert.deepEqual(places, ['/cloud/pki/leaf.der', '/cloud/pki/leaf.pem', '/enterprise/bundle.txt']);
        assert.equal(leaf.occurrences.find((o) => o.path.endsWith('bundle.txt'))!.layer, 'enterprise');
        assert.equal(leaf.occurrences.find((o) => o.path.endsWith('leaf.pem'))!.layer, 'cloud');
        const k = (await list(keys(ctx.store))).find((x) => x.keyId === leaf.keyId)!;
        const plain = k.occurrences.find((o) => o.path.endsWith('leaf.key'))!;
        assert.equal(plain.private, true);
        assert.equal(plain.encrypted, false);
        assert.equal(plain.fileMode, '0644');
        const soon = await list(certificates(ctx.store, AT + 40 * 86_400_000));
        assert.deepEqual(
          soon.map((c) => c.sha256),
          [leaf.sha256],
        );
      });

      test('the report links the leaf to its root by verified signature and flags the plain key', async () => {
        const r = await buildReport(ctx.store, { at: AT });
        assert.equal(r.chains.anchors.length, 1);
        assert.equal(r.chains.items.length, 1);
        assert.equal(r.chains.items[0]!.status, 'valid');
        assert.equal(r.chains.items[0]!.path.length, 2);
        assert.deepEqual(
          r.chains.anchors[0]!.trustStores,
          [],
          'a CA file in a plain directory is no trust store',
        );
        assert.ok(r.findings.some((f) => f.rule === 'KW-ANCHOR-UNCONTROLLED'));
        assert.equal(r.expiry.within90Days.length, 1);
        assert.ok(
          r.findings.some((f) => f.rule === 'KW-KEY-WORLD-READABLE' && f.subject.endsWith('leaf.key')),
        );
        assert.ok(r.findings.some((f) => f.rule === 'KW-KEY-PLAINTEXT' && f.subject.endsWith('ca.key')));
        const later = await buildReport(ctx.store, { at: AT + 60 * 86_400_000 });
        assert.equal(later.expiry.expired.length, 1, 'time is an input: the leaf has expired 60 days on');
      });

      test('no private key bytes reach the store', async () => {
        const needles = secretNeedles(tree.privateDers);
        let haystack: Buffer;
        if (dialect === 'sqlite') {
          // The database file and its WAL: everything SQLite has written.
          const dir = dirname(ctx.store.location);
          haystack = Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
        } else {
          const rows = await Promise.all(
            (['scans', 'keys', 'assets', 'occurrences'] as const).map((t) =>
              ctx.store.db.selectFrom(t).selectAll().execute(),
            ),
          );
          haystack = Buffer.from(JSON.stringify(rows));
        }
        assert.ok(haystack.length > 1000);
        for (const n of needles)
          assert.equal(haystack.indexOf(n), -1, 'private key material found in the store');
      });
    });
