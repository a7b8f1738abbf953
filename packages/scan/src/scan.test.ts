import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { detect } from './detect.ts';
import { guessLayer } from './layer.ts';
import { scanFile } from './scan-file.ts';
import { walk, type WalkEntry } from './walk.ts';

const dir = mkdtempSync(join(tmpdir(), 'kw-detect-'));
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ed25519',
    '-nodes',
    '-keyout',
    join(dir, 'k.pem'),
    '-out',
    join(dir, 'c.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=t',
  ],
  { stdio: 'ignore' },
);
const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');

test('PEM blocks are found inside other text, each with its byte offset', () => {
  const prefix = 'tls:\n  ca: |\n    ';
  const yaml = Buffer.from(
    prefix + certPem.replace(/\n/g, '\n    ') + '\nkey: ' + readFileSync(join(dir, 'k.pem'), 'utf8'),
  );
  const found = detect(yaml);
  assert.deepEqual(
    found.map((o) => o.type),
    ['certificate', 'private-key'],
  );
  assert.equal(found[0]!.offset, Buffer.byteLength(prefix));
});

test('a trusted certificate keeps its trailing openssl aux data out of the parse', () => {
  const trusted = execFileSync('openssl', [
    'x509',
    '-in',
    join(dir, 'c.pem'),
    '-addtrust',
    'serverAuth',
    '-trustout',
  ]);
  const [o] = detect(trusted);
  assert.equal(o?.type, 'certificate');
});

test('binary data that merely starts like DER is not reported', () => {
  assert.deepEqual(detect(Buffer.from('0123456789 plain text starting with a zero')), []);
  assert.deepEqual(detect(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(100)])), []);
});

test('a file that vanishes between listing and reading is recorded as unreadable', async () => {
  const r = await scanFile(join(dir, 'gone.pem'), 1024);
  assert.deepEqual(r, { status: 'unreadable', reason: 'vanished before it could be read' });
});

test('a file that grew past the limit after listing is refused', async () => {
  const big = join(dir, 'big.pem');
  writeFileSync(big, Buffer.alloc(5000, 0x20));
  const r = await scanFile(big, 1000);
  assert.equal(r.status, 'refused');
});

test('sockets are refused by the walker', async () => {
  const sock = join(dir, 'agent.sock');
  const server = createServer().listen(sock);
  await new Promise((r) => server.once('listening', r));
  try {
    const entries: WalkEntry[] = [];
    for await (const e of walk([dir], { maxFileBytes: 1 << 20 })) entries.push(e);
    assert.deepEqual(
      entries.find((e) => e.path === sock),
      { kind: 'refused', path: sock, reason: 'socket refused' },
    );
  } finally {
    server.close();
  }
});

test('the layer guess takes the deepest directory that names one', () => {
  assert.equal(guessLayer('/estate/cloud/ota/fw/app.bin'), 'firmware');
  assert.equal(guessLayer('/estate/silicon/otp/root.pub'), 'silicon');
  assert.equal(guessLayer('estate/users/dev/.ssh/id_ed25519'), 'enterprise');
  assert.equal(guessLayer('/srv/devices/cohort-2024/dev1.crt'), 'device');
  assert.equal(guessLayer('/tmp/x.pem'), 'unknown');
});

test('DER material inside a binary image is found at its offset; a firmware tarball names the entry', async () => {
  const certDer = Buffer.from(certPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const keyDer = execFileSync('openssl', ['pkey', '-in', join(dir, 'k.pem'), '-pubout', '-outform', 'DER']);
  // A firmware image: code-like bytes, then the certificate at 0x1f00 and a public key after it.
  const image = Buffer.alloc(0x4000);
  for (let i = 0; i < image.length; i++) image[i] = (i * 131 + (i >> 7)) & 0xff;
  certDer.copy(image, 0x1f00);
  keyDer.copy(image, 0x3000);
  const found = detect(image);
  const cert = found.find((o) => o.type === 'certificate');
  assert.equal(cert?.offset, 0x1f00);
  assert.equal(cert?.encoding, 'binary');
  const key = found.find((o) => o.type === 'public-key');
  assert.equal(key?.offset, 0x3000);
  const fw = join(dir, 'fw');
  execFileSync('mkdir', ['-p', join(fw, 'usr/lib')]);
  writeFileSync(join(fw, 'usr/lib/fw.bin'), image);
  execFileSync('tar', ['-czf', join(dir, 'image.tar.gz'), '-C', fw, 'usr']);
  const r = await scanFile(join(dir, 'image.tar.gz'), 1 << 24);
  assert.equal(r.status, 'ok');
  const inner = r.status === 'ok' ? r.observations.find((o) => o.type === 'certificate') : undefined;
  assert.equal(inner?.path, `${join(dir, 'image.tar.gz')}!/usr/lib/fw.bin`);
  assert.equal(inner?.offset, 0x1f00);
});
