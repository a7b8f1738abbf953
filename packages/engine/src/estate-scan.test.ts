import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { generateEstate } from '@keywarden/testkit';
import { dialects, openTestStore } from '../../store/src/dialects.test-helper.ts';
import { certificates, keys, signatures } from './inventory.ts';
import { buildReport } from './report.ts';
import { runScan } from './scan-job.ts';

const NOW = new Date('2026-11-22T12:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'kw-estate-'));
const m = generateEstate(dir, { now: NOW, seed: 7 });
const sha = new Map(m.certificates.map((c) => [c.id, c.sha256]));
const shas = (ids: readonly string[]): string[] => ids.map((id) => sha.get(id)!).sort();

async function list<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

for (const dialect of dialects())
  describe(`the sample estate scanned into ${dialect} matches its manifest`, () => {
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    after(async () => ctx?.dispose());

    test('every file, certificate and occurrence is accounted for', async () => {
      ctx = await openTestStore(dialect);
      const s = await runScan({ roots: [dir], store: ctx.store, threads: 2, at: NOW.getTime() });
      assert.equal(s.files, m.expected.files);
      assert.equal(s.bytes, m.expected.totalBytes);
      assert.equal(s.certificates, m.expected.uniqueCertificates);
      assert.equal(s.privateKeys, m.expected.privateKeys);
      const inv = new Map((await list(certificates(ctx.store))).map((c) => [c.sha256, c]));
      for (const c of m.certificates) {
        const row = inv.get(c.sha256);
        assert.ok(row, `${c.id} (${c.subject}) in the inventory`);
        assert.equal(row.serial, c.serial);
        assert.equal(row.notAfter, new Date(c.notAfter).toISOString());
        assert.equal(row.keyId, c.spkiSha256);
        assert.equal(
          row.occurrences.length,
          c.occurrences.length,
          `occurrences of ${c.id}: ${JSON.stringify(row.occurrences.map((o) => o.path))}`,
        );
      }
      const problems = (await ctx.store.problems()).map((p) => p.path.slice(dir.length + 1)).sort();
      assert.deepEqual(problems, [...m.expected.unparseableFiles].sort());
    });

    test("the supplier's signed image verifies with its key; the patched copy does not", async () => {
      const images = m.files.filter((f) => f.kind === 'signed-image');
      const signer = m.keys.find((k) => k.id === 'supplier-a-signing-key')!;
      const sigs = await list(signatures(ctx.store));
      assert.equal(sigs.length, images.length);
      for (const f of images) {
        const sig = sigs.find((x) => x.occurrences.some((o) => o.path.endsWith(f.path)));
        assert.ok(sig, `a signature on ${f.path}`);
        assert.equal(sig.format, 'mcuboot');
        assert.equal(sig.signer.keyId, signer.spkiSha256, 'linked to the key in the CI directory');
        assert.equal(sig.status, f.path.includes('patched') ? 'invalid' : 'valid', sig.reason);
      }
    });

    test('keys: every private key found with its protection, none with its bytes', async () => {
      const found = await list(keys(ctx.store));
      const priv = found.filter((k) => k.private);
      assert.equal(priv.length, m.expected.privateKeys);
      const plain = priv.filter((k) => k.occurrences.some((o) => o.private && o.encrypted === false));
      assert.equal(plain.length, m.expected.unencryptedPrivateKeys);
      for (const k of m.keys.filter((x) => x.private && !x.encrypted))
        assert.ok(
          found.some((f) => f.keyId === k.spkiSha256),
          `${k.path} found by its key identity`,
        );
    });

    test('the report finds the expired, the expiring and the broken chain', async () => {
      const r = await buildReport(ctx.store, { at: NOW.getTime() });
      assert.deepEqual(r.expiry.expired.map((e) => e.sha256).sort(), shas(m.expected.expired));
      assert.deepEqual(
        r.expiry.within90Days.map((e) => e.sha256).sort(),
        shas(m.expected.expiringWithin30Days),
      );
      assert.deepEqual(r.expiry.within1Year.map((e) => e.sha256).sort(), shas(m.expected.expiringWithinYear));
      const noPath = r.chains.items.filter((x) => x.status === 'no-anchor');
      assert.deepEqual(noPath.map((x) => x.sha256).sort(), shas(m.expected.brokenChains));
      assert.ok(r.chains.valid > 0);
      assert.ok(!r.chains.items.some((i) => i.errors.some((e) => e.rule === 'signature.invalid')));
    });
  });
