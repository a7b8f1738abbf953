import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { EvidenceLog, FileSigner, type Statement } from '@keywarden/evidence';

const BIN = fileURLToPath(new URL('../bin/keywarden.mjs', import.meta.url));

function kw(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const statement = (i: number): Statement => ({
  type: 'key.operation',
  at: new Date(Date.UTC(2026, 5, 1, 12, 0, i)).toISOString(),
  operation: 'sign',
  keyId: `key-${i}`,
});

describe('keywarden evidence', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kw-evidence-cli-'));
  const dir = join(tmp, 'log');
  let vkey = '';
  let firstCheckpoint = '';
  before(async () => {
    const log = await EvidenceLog.open(dir, { create: true, origin: 'example.com/cli-log' });
    await log.appendBatch([statement(0), statement(1)]);
    firstCheckpoint = log.checkpoint;
    await log.appendBatch([statement(2), statement(3), statement(4)]);
    log.close();
    vkey = readFileSync(join(dir, 'log.vkey'), 'utf8').trim();
    writeFileSync(join(tmp, 'old.checkpoint'), firstCheckpoint);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('verify DIR --key --trusted --json: exit 0 and a clean report', () => {
    const r = kw(
      'evidence',
      'verify',
      dir,
      '--key',
      vkey,
      '--trusted',
      join(tmp, 'old.checkpoint'),
      '--json',
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; size: number; problems: unknown[] };
    assert.deepEqual([report.ok, report.size, report.problems], [true, 5, []]);
  });

  test('show, checkpoint, export and verify BUNDLE', () => {
    const show = kw('evidence', 'show', '3', '--log', dir);
    assert.equal(show.status, 0, show.stderr);
    assert.deepEqual(JSON.parse(show.stdout), statement(3));
    const cp = kw('evidence', 'checkpoint', '--log', dir);
    assert.match(cp.stdout, /^example\.com\/cli-log\n5\n[A-Za-z0-9+/]{43}=\n\n\u2014 example\.com\/cli-log /);
    const out = join(tmp, 'bundles.ndjson');
    const ex = kw('evidence', 'export', '--log', dir, '--from', '1', '--to', '3', '--out', out);
    assert.equal(ex.status, 0, ex.stderr);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 3);
    const ok = kw('evidence', 'verify', out, '--key', vkey);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /entry 1: ok \(size 5, example.com\/cli-log\)/);
    writeFileSync(out, readFileSync(out, 'utf8').replace('key-2', 'key-9'));
    const bad = kw('evidence', 'verify', out, '--key', vkey, '--json');
    assert.equal(bad.status, 1);
    const results = JSON.parse(bad.stdout) as { index: number; ok: boolean; problems: string[] }[];
    assert.deepEqual(
      results.map((x) => x.ok),
      [true, false, true],
    );
    assert.match(results[1]!.problems[0]!, /entry 2 does not lead to the checkpoint root/);
  });

  test('a tampered log exits 1 naming the file; a foreign key exits 1; bad input exits 3', () => {
    const tile = join(dir, 'tile/0/000.p/5');
    const orig = readFileSync(tile);
    const bad = Buffer.from(orig);
    bad[40]! ^= 0x80;
    writeFileSync(tile, bad);
    const r = kw('evidence', 'verify', dir, '--key', vkey);
    writeFileSync(tile, orig);
    assert.equal(r.status, 1);
    assert.match(
      r.stdout,
      /TAMPERED: 1 problem\(s\)\n {2}tile\/0\/000\.p\/5 \[1\]: hash 1 is not the leaf hash of entry 1/,
    );
    const other = FileSigner.fromSeed('example.com/cli-log', Buffer.alloc(32, 3)).vkey;
    assert.equal(kw('evidence', 'verify', dir, '--key', other).status, 1);
    assert.equal(kw('evidence', 'verify', join(tmp, 'nowhere')).status, 3);
    assert.equal(kw('evidence', 'verify', dir, '--key', 'not-a-key+zz').status, 3);
    writeFileSync(join(tmp, 'junk.json'), '{not json');
    assert.equal(kw('evidence', 'verify', join(tmp, 'junk.json'), '--key', vkey).status, 3);
  });
});
