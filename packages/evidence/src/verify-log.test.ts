import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { EvidenceLog } from './log.ts';
import { scan } from './fixtures.test-helper.ts';
import { parseVkey, type NoteVerifier } from './note.ts';
import { FileSigner } from './file-signer.ts';
import { decodeBundle, encodeBundle } from './tiles.ts';
import { verifyLog, type Problem } from './verify-log.ts';

const tmp = mkdtempSync(join(tmpdir(), 'kw-evidence-verify-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

async function makeLog(size: number, from?: string): Promise<{ dir: string; vkey: NoteVerifier }> {
  const dir = join(tmp, `log${n++}`);
  if (from) cpSync(from, dir, { recursive: true });
  const log = await EvidenceLog.open(dir, { create: !from, origin: 'example.com/audit' });
  const start = log.size;
  if (size > start)
    await log.appendBatch(Array.from({ length: size - start }, (_, i) => scan(start + i + n * 1000)));
  log.close();
  return { dir, vkey: parseVkey(readFileSync(join(dir, 'log.vkey'), 'utf8')) };
}

function flip(file: string, at: number, bit = 1): () => void {
  const orig = readFileSync(file);
  const bad = Buffer.from(orig);
  bad[at]! ^= bit;
  writeFileSync(file, bad);
  return () => writeFileSync(file, orig);
}

const files = (p: Problem[]): string[] => [...new Set(p.map((x) => x.file))];

describe('verifyLog names each kind of tampering', () => {
  let small: { dir: string; vkey: NoteVerifier };
  let big: { dir: string; vkey: NoteVerifier };
  before(async () => {
    small = await makeLog(5);
    big = await makeLog(260);
  });

  test('an untouched log verifies', () => {
    for (const l of [small, big]) {
      const r = verifyLog(l.dir, { vkeys: [l.vkey] });
      assert.deepEqual(r.problems, []);
      assert.equal(r.ok, true);
    }
  });

  test('flipping any byte of any tile of a small log is caught and names the tile and hash', () => {
    const tile = join(small.dir, 'tile/0/000.p/5');
    for (let at = 0; at < 5 * 32; at++) {
      const restore = flip(tile, at);
      const r = verifyLog(small.dir, { vkeys: [small.vkey] });
      restore();
      assert.equal(r.ok, false, `byte ${at}`);
      assert.deepEqual(r.problems[0], {
        file: 'tile/0/000.p/5',
        index: Math.floor(at / 32),
        what: `hash ${Math.floor(at / 32)} is not the leaf hash of entry ${Math.floor(at / 32)} in the entry bundle`,
      });
    }
  });

  test('flipping a random bit of any tile of a two-level log is caught (property)', () => {
    const tiles = ['tile/0/000', 'tile/0/001.p/4', 'tile/1/000.p/1'];
    const sizes = [256 * 32, 4 * 32, 32];
    fc.assert(
      fc.property(fc.nat(2), fc.nat(), fc.nat(7), (t, at, bit) => {
        const restore = flip(join(big.dir, tiles[t]!), at % sizes[t]!, 1 << bit);
        const r = verifyLog(big.dir, { vkeys: [big.vkey] });
        restore();
        assert.deepEqual(files(r.problems), [tiles[t]]);
      }),
      { numRuns: 150 },
    );
  });

  test('a flipped byte in an entry bundle is named by entry', () => {
    const bundle = join(small.dir, 'tile/entries/000.p/5');
    const entries = decodeBundle(readFileSync(bundle), 'b');
    const at = 2 + entries[0]!.length + 2 + 20; // inside entry 1
    const restore = flip(bundle, at, 0x01);
    const r = verifyLog(small.dir, { vkeys: [small.vkey] });
    restore();
    assert.ok(
      r.problems.some((p) => p.file === 'tile/0/000.p/5' && p.index === 1),
      JSON.stringify(r.problems),
    );
    assert.ok(r.problems.some((p) => p.file === 'checkpoint' && /is not the root/.test(p.what)));
  });

  test('a dropped entry and two reordered entries are each named', () => {
    const bundle = join(small.dir, 'tile/entries/000.p/5');
    const orig = readFileSync(bundle);
    const entries = decodeBundle(orig, 'b');
    writeFileSync(bundle, encodeBundle([entries[0]!, entries[1]!, entries[3]!, entries[4]!]));
    const dropped = verifyLog(small.dir, { vkeys: [small.vkey] });
    writeFileSync(bundle, encodeBundle([entries[0]!, entries[3]!, entries[2]!, entries[1]!, entries[4]!]));
    const swapped = verifyLog(small.dir, { vkeys: [small.vkey] });
    writeFileSync(bundle, orig);
    assert.ok(
      dropped.problems.some(
        (p) => p.file === 'tile/entries/000.p/5' && /holds 4 entries; the checkpoint needs 5/.test(p.what),
      ),
    );
    assert.ok(
      swapped.problems.some((p) => p.what === 'entries 1 and 3 are in swapped order'),
      JSON.stringify(swapped.problems),
    );
  });

  test('fork: two logs grown from the same prefix with the same key', async () => {
    const prefix = await makeLog(3);
    const a = await makeLog(4, prefix.dir);
    const b = await makeLog(6, prefix.dir);
    const c = await makeLog(4, prefix.dir);
    const trustedA = readFileSync(join(a.dir, 'checkpoint'), 'utf8');
    assert.deepEqual(
      verifyLog(b.dir, { vkeys: [b.vkey], trusted: readFileSync(join(prefix.dir, 'checkpoint'), 'utf8') })
        .problems,
      [],
    );
    const longer = verifyLog(b.dir, { vkeys: [b.vkey], trusted: trustedA });
    assert.match(longer.problems[0]!.what, /^fork: the first 4 entries do not hash to the trusted root/);
    const same = verifyLog(c.dir, { vkeys: [c.vkey], trusted: trustedA });
    assert.match(same.problems[0]!.what, /^fork: the trusted checkpoint has the same size 4/);
  });

  test('rollback: an older checkpoint against a trusted newer one', async () => {
    const old = await makeLog(3);
    const snapshot = join(tmp, 'snapshot');
    cpSync(old.dir, snapshot, { recursive: true });
    await makeLog(7, old.dir).then(({ dir }) => {
      const newer = readFileSync(join(dir, 'checkpoint'), 'utf8');
      const r = verifyLog(snapshot, { vkeys: [old.vkey], trusted: newer });
      assert.deepEqual(r.problems, [
        { file: 'checkpoint', what: 'rollback: the log is at size 3, older than the trusted size 7' },
      ]);
    });
  });

  test('a bad checkpoint signature, a foreign key and a wrong origin are each named', () => {
    const cp = join(small.dir, 'checkpoint');
    const text = readFileSync(cp, 'utf8');
    const restore = flip(cp, text.length - 10, 0x02);
    const bad = verifyLog(small.dir, { vkeys: [small.vkey] });
    restore();
    assert.match(bad.problems[0]!.what, /does not verify/);
    assert.equal(bad.problems[0]!.file, 'checkpoint');
    const other = parseVkey(FileSigner.fromSeed('example.com/audit', Buffer.alloc(32, 1)).vkey);
    const foreign = verifyLog(small.dir, { vkeys: [other] });
    assert.match(foreign.problems[0]!.what, /no signature by a trusted key/);
    const origin = verifyLog(small.dir, { vkeys: [small.vkey], origin: 'example.com/other' });
    assert.deepEqual(origin.problems, [
      { file: 'checkpoint', what: 'origin example.com/audit is not the expected origin example.com/other' },
    ]);
  });

  test('a missing tile and a truncated bundle are named, not thrown', () => {
    const tile = join(big.dir, 'tile/1/000.p/1');
    const orig = readFileSync(tile);
    rmSync(tile);
    const r = verifyLog(big.dir, { vkeys: [big.vkey] });
    writeFileSync(tile, orig);
    assert.deepEqual(r.problems, [{ file: 'tile/1/000.p/1', what: 'tile/1/000.p/1 is missing' }]);
  });
});
