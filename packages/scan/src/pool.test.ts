import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { needTools } from '@keywarden/testkit';
import { DetectorPool } from './pool.ts';

const dir = mkdtempSync(join(tmpdir(), 'kw-pool-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A certificate 3 MiB into an image: a whole-file read capped at 2 MiB refuses it; a streaming sweep
// sees everything. So the result tells which path the worker took.
test('the streaming threshold reaches the worker threads', async (t) => {
  if (!needTools(t, 'openssl')) return;
  const pem = join(dir, 'c.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'k.pem'),
      '-subj',
      '/CN=deep',
      '-days',
      '2',
      '-out',
      pem,
    ],
    { stdio: 'ignore' },
  );
  const img = join(dir, 'img.bin');
  writeFileSync(img, Buffer.concat([Buffer.alloc(3 << 20), readFileSync(pem), Buffer.alloc(4096)]));
  const certs = async (pool: DetectorPool): Promise<number> => {
    try {
      const r = await pool.scan(img);
      return r.status === 'ok' ? r.observations.filter((o) => o.type === 'certificate').length : -1;
    } finally {
      await pool.close();
    }
  };
  assert.equal(await certs(new DetectorPool(1, 2 << 20)), -1);
  assert.equal(await certs(new DetectorPool(1, 2 << 20, 1 << 20)), 1);
  assert.equal(await certs(new DetectorPool(0, 2 << 20, 1 << 20)), 1);
});
