import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { makeTree } from '../../engine/src/fixtures.test-helper.ts';

const BIN = fileURLToPath(new URL('../bin/keywarden.mjs', import.meta.url));
const tree = makeTree();
const db = join(mkdtempSync(join(tmpdir(), 'kw-cli-')), 'kw.db');

function kw(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('scan --json prints one summary object with the documented fields', () => {
  const r = kw('scan', tree.root, '--db', db, '--json', '--max-file-size', '200k');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const f of ['scanId', 'files', 'bytes', 'certificates', 'keys', 'privateKeys', 'unparseable'])
    assert.ok(f in s, f);
  assert.equal(s.certificates, 2);
  assert.equal(r.stdout.trim().split('\n').length, 1);
});

test('a scan leaves a scan.completed entry in the evidence log beside the database', () => {
  const r = kw('scan', tree.root, '--db', db, '--json', '--max-file-size', '200k');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { scanId: string; evidence: { log: string; entry: number } };
  assert.equal(s.evidence.log, join(db, '..', 'evidence'));
  const shown = kw('evidence', 'show', String(s.evidence.entry), '--log', s.evidence.log, '--json');
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`"scanId":\\s*"${s.scanId}"`));
  assert.match(shown.stdout, /"inventoryDigest":\s*"sha256:[0-9a-f]{64}"/);
  const vkey = join(s.evidence.log, 'log.vkey');
  assert.equal(kw('evidence', 'verify', s.evidence.log, '--key', vkey).status, 0);
  const none = kw('scan', tree.root, '--db', db, '--json', '--max-file-size', '200k', '--no-evidence');
  assert.equal((JSON.parse(none.stdout) as { evidence?: unknown }).evidence, undefined);
});

test('inventory certificates --ndjson carries the documented row fields', () => {
  const r = kw('inventory', 'certificates', '--db', db, '--ndjson');
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(rows.length, 2);
  for (const row of rows) {
    for (const f of [
      'sha256',
      'serial',
      'subject',
      'issuer',
      'notBefore',
      'notAfter',
      'keyAlgorithm',
      'keyId',
      'ski',
      'signatureAlgorithm',
      'occurrences',
    ])
      assert.ok(row[f] !== undefined, `${f} in ${JSON.stringify(row)}`);
    assert.ok('keySize' in row || 'curve' in row);
    assert.match(String(row.notAfter), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  }
  const expiring = kw(
    'inventory',
    'certificates',
    '--db',
    db,
    '--json',
    '--expiring-before',
    new Date(Date.now() + 40 * 86_400_000).toISOString(),
  );
  assert.equal((JSON.parse(expiring.stdout) as unknown[]).length, 1);
});

test('report formats and --fail-on exit codes', () => {
  const text = kw('report', '--db', db);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /1\. Where are the keys\?/);
  assert.match(text.stdout, /PLAINTEXT/);
  const json = JSON.parse(kw('report', '--db', db, '--format', 'json').stdout) as {
    totals: { certificates: number };
  };
  assert.equal(json.totals.certificates, 2);
  const out = join(tmpdir(), `kw-report-${process.pid}.html`);
  assert.equal(kw('report', '--db', db, '--format', 'html', '-o', out).status, 0);
  assert.match(readFileSync(out, 'utf8'), /<h2>2\. Chains of trust<\/h2>/);
  assert.equal(
    kw('report', '--db', db, '--fail-on', 'critical').status,
    1,
    'a world-readable plain key is critical',
  );
  const later = kw('report', '--db', db, '--at', '2000-01-01', '--fail-on', 'critical');
  assert.equal(later.status, 1);
});

test('usage and input errors have their own exit codes', () => {
  assert.equal(kw('report', '--db', db, '--at', 'yesterday').status, 2);
  assert.equal(kw('report', '--db', db, '--format', 'pdf').status, 2);
  assert.equal(kw('no-such-command').status, 2);
  const missing = kw('scan', join(tree.root, 'does-not-exist'), '--db', db);
  assert.equal(missing.status, 3);
  assert.match(missing.stderr, /does-not-exist: no such file or directory/);
  assert.equal(kw('--help').status, 0);
  for (const cmd of [
    ['scan'],
    ['inventory'],
    ['inventory', 'certificates'],
    ['inventory', 'keys'],
    ['report'],
  ])
    assert.equal(kw(...cmd, '--help').status, 0, cmd.join(' '));
});
