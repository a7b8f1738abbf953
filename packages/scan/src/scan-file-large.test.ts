import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { needTools } from '@keywarden/testkit';
import { scanFile } from './scan-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'kw-large-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;

/** A sparse image of `size` bytes holding `parts` at their offsets; the holes read as zeros. */
function image(name: string, size: number, parts: [number, Uint8Array][]): string {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  try {
    for (const [at, bytes] of parts) writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
  truncateSync(path, size);
  return path;
}

function opensslCert(): { der: Buffer; pem: Buffer } {
  const key = join(dir, 'k.pem');
  const pemPath = join(dir, 'c.pem');
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    pemPath,
    '-days',
    '2',
    '-subj',
    '/CN=large-image',
  ]);
  rmSync(key);
  const der = execFileSync('openssl', ['x509', '-in', pemPath, '-outform', 'DER']);
  return { der, pem: readFileSync(pemPath) };
}

test('a file above the streaming threshold is swept in chunks and finds material at its offsets', (t) => {
  if (!needTools(t, 'openssl')) return;
  const { der, pem } = opensslCert();
  const derAt = 3 * MiB + 12_345;
  const pemAt = 9 * MiB + 7; // past the first 8 MiB chunk, so the carry-over between chunks is used
  const path = image('big.img', 12 * MiB, [
    [derAt, der],
    [pemAt, pem],
  ]);
  return scanFile(path, 64 * MiB, { streamAbove: 1 * MiB }).then((r) => {
    assert.equal(r.status, 'ok');
    if (r.status !== 'ok') return;
    const certs = r.observations.filter((o) => o.type === 'certificate');
    assert.deepEqual(
      certs.map((o) => o.offset).sort((a, b) => a - b),
      [derAt, pemAt],
    );
    for (const c of certs)
      if (c.type === 'certificate') assert.match(JSON.stringify(c.cert.subject), /large-image/);
  });
});

test('below the threshold the same bytes take the whole-file path', async (t) => {
  if (!needTools(t, 'openssl')) return;
  const { der } = opensslCert();
  const path = image('small.img', 2 * MiB, [[MiB + 3, der]]);
  const r = await scanFile(path, 64 * MiB, { streamAbove: 64 * MiB });
  assert.equal(r.status, 'ok');
  if (r.status !== 'ok') return;
  assert.deepEqual(
    r.observations.filter((o) => o.type === 'certificate').map((o) => o.offset),
    [MiB + 3],
  );
});

test('an archive above the streaming threshold is still walked entry by entry', async (t) => {
  if (!needTools(t, 'openssl', 'tar', 'gzip')) return;
  const { pem } = opensslCert();
  const src = join(dir, 'tree');
  mkdirSync(join(src, 'etc'), { recursive: true });
  // Incompressible padding keeps the .tar.gz above the lowered threshold.
  writeFileSync(join(src, 'pad.bin'), randomBytes(2 * MiB));
  writeFileSync(join(src, 'etc', 'device.pem'), pem);
  const tgz = join(dir, 'rootfs.tar.gz');
  execFileSync('tar', ['-czf', tgz, '-C', src, '.']);
  const r = await scanFile(tgz, 64 * MiB, { streamAbove: 1 * MiB });
  assert.equal(r.status, 'ok');
  const found = r.status === 'ok' ? r.observations.filter((o) => o.type === 'certificate') : [];
  assert.equal(found.length, 1);
  assert.match(String((found[0] as { path?: string }).path), /rootfs\.tar\.gz!\/etc\/device\.pem$/);
});
