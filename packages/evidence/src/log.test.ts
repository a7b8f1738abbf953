import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { verifyBundle } from './bundle.ts';
import { EvidenceLog } from './log.ts';
import { leafHash } from './hash.ts';
import { rootOf, verifyConsistency, verifyInclusion } from './merkle.ts';
import { parseVkey } from './note.ts';
import { encodeStatement, type Statement } from './statement.ts';
import { encodeTileIndex } from './tile-path.ts';
import { verifyLog } from './verify-log.ts';
import { scan } from './fixtures.test-helper.ts';

const tmp = mkdtempSync(join(tmpdir(), 'kw-evidence-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(tmp, `log${n++}`);

describe('EvidenceLog', () => {
  test('tile index encoding follows tlog-tiles', () => {
    assert.equal(encodeTileIndex(0), '000');
    assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
    assert.equal(encodeTileIndex(1000), 'x001/000');
  });

  test('appends across tile boundaries give the RFC 6962 root, proofs and a verifying log', async () => {
    const dir = fresh();
    const log = await EvidenceLog.open(dir, { create: true, origin: 'example.com/test-log' });
    const entries: Buffer[] = [];
    const sizes = [1, 254, 1, 300, 65536 - 556, 1, 200];
    const checkpoints: { size: number; root: Buffer }[] = [];
    for (const k of sizes) {
      const batch = Array.from({ length: k }, (_, i) => scan(entries.length + i));
      const idx = await log.appendBatch(batch);
      assert.equal(idx[0], entries.length);
      entries.push(...batch.map(encodeStatement));
      checkpoints.push({ size: log.size, root: log.root });
    }
    const leaves = entries.map((e) => leafHash(e));
    assert.equal(log.size, 65737);
    assert.ok(log.root.equals(rootOf(leaves)));
    const root65537 = rootOf(leaves.slice(0, 65537));
    for (const i of [0, 255, 256, 65535, 65536, 65736]) {
      assert.ok(verifyInclusion(leaves[i]!, i, log.size, log.inclusionProof(i), log.root), `entry ${i}`);
      if (i < 65537)
        assert.ok(verifyInclusion(leaves[i]!, i, 65537, log.inclusionProof(i, 65537), root65537));
    }
    for (const c of checkpoints)
      assert.ok(
        verifyConsistency(c.size, log.size, c.root, log.root, log.consistencyProof(c.size)),
        `from ${c.size}`,
      );
    assert.deepEqual(log.statement(300), scan(300));
    assert.ok(log.entry(65600).equals(entries[65600]!));
    assert.ok(existsSync(join(dir, 'tile/2/000.p/1')), 'level 2 holds the root of the first 65536');
    assert.ok(!existsSync(join(dir, 'tile/0/000.p/1')), 'shorter partial tiles are removed');
    const vkey = parseVkey(readFileSync(join(dir, 'log.vkey'), 'utf8'));
    const r = verifyBundle(log.bundle(65600), [vkey]);
    assert.deepEqual(r.problems, []);
    log.close();
    const reopened = await EvidenceLog.open(dir);
    assert.ok(reopened.root.equals(log.root));
    reopened.close();
    const report = verifyLog(dir, { vkeys: [vkey] });
    assert.deepEqual(report.problems, []);
    assert.equal(report.entries, 65737);
    assert.equal(statSync(join(dir, 'private/log-key.pem')).mode & 0o777, 0o600);
  });

  test('one writer: a second open fails while the first holds the lock; reopen continues', async () => {
    const dir = fresh();
    const log = await EvidenceLog.open(dir, { create: true });
    await log.append(scan(0));
    await assert.rejects(EvidenceLog.open(dir), { code: 'LOG_LOCKED' });
    const reader = await EvidenceLog.open(dir, { readOnly: true });
    assert.deepEqual(reader.statement(0), scan(0));
    await assert.rejects(reader.append(scan(9)), /read-only/);
    reader.close();
    log.close();
    const again = await EvidenceLog.open(dir);
    assert.equal(again.size, 1);
    await again.append(scan(1));
    assert.equal(again.size, 2);
    again.close();
  });

  test('a crash mid-append leaves the last checkpoint verifiable and the next open repairs it', async () => {
    const dir = fresh();
    const log = await EvidenceLog.open(dir, { create: true });
    await log.appendBatch([scan(0), scan(1), scan(2)]);
    const before = log.checkpoint;
    log.close();
    // What an append killed before its checkpoint rename leaves behind: a journal, new tiles, a stale lock.
    writeFileSync(join(dir, 'append.pending'), JSON.stringify(['tile/entries/000.p/5', 'tile/0/000.p/5']));
    writeFileSync(join(dir, 'tile/entries/000.p/5'), 'torn');
    writeFileSync(join(dir, 'tile/0/000.p/5'), 'torn');
    writeFileSync(join(dir, 'lock'), `${(await import('node:os')).hostname()} 999999999\n`);
    const vkey = parseVkey(readFileSync(join(dir, 'log.vkey'), 'utf8'));
    assert.deepEqual(verifyLog(dir, { vkeys: [vkey] }).problems, []);
    const reopened = await EvidenceLog.open(dir);
    assert.deepEqual(reopened.repaired.sort(), ['tile/0/000.p/5', 'tile/entries/000.p/5']);
    assert.equal(reopened.checkpoint, before);
    await reopened.append(scan(3));
    reopened.close();
    assert.deepEqual(verifyLog(dir, { vkeys: [vkey] }).problems, []);
  });

  test('an append that cannot be made durable throws LOG_WRITE and commits nothing', async () => {
    const dir = fresh();
    const log = await EvidenceLog.open(dir, { create: true });
    await log.append(scan(0));
    // A file where the tile directory must go makes every tile write fail.
    rmSync(join(dir, 'tile/entries'), { recursive: true });
    writeFileSync(join(dir, 'tile/entries'), 'in the way');
    await assert.rejects(log.append(scan(1)), { code: 'LOG_WRITE' });
    assert.equal(log.size, 1);
    await assert.rejects(log.append(scan(2)), /reopen/);
    log.close();
  });

  test('refuses statements that are not well formed before writing anything', async () => {
    const log = await EvidenceLog.open(fresh(), { create: true });
    await assert.rejects(log.append({ type: 'nope', at: 'x' } as unknown as Statement), {
      code: 'BAD_ARGUMENT',
    });
    await assert.rejects(log.append({ ...scan(0), at: 'yesterday' }), /ISO 8601/);
    await assert.rejects(
      log.append({ ...scan(0), inventoryDigest: 'md5:00' } as unknown as Statement),
      /sha256:/,
    );
    assert.equal(log.size, 0);
    log.close();
  });
});
