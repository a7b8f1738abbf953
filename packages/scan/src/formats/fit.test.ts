/**
 * detectFit over mkimage output (Debian u-boot-tools) and a dtc-compiled control DTB: the embedded
 * key links by identity to the same key's PEM, the signature is checked once the key is known, and
 * hostile blobs become observations instead of exceptions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFit, type SignatureSummary } from '@keywarden/core';
import { hasTool, needTools } from '@keywarden/testkit';
import type { Detected } from '../detect.ts';
import { detectFit } from './fit.ts';

const TOOLS = ['openssl', 'mkimage', 'dtc'];
let dir = '';
let itb = Buffer.alloc(0);
let dtb = Buffer.alloc(0);
let devKeyId = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-scan-fit-'));
  if (!TOOLS.every(hasTool)) return;
  const run = (cmd: string, args: string[]): Buffer =>
    execFileSync(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
  run('openssl', ['genrsa', '-out', 'dev.key', '2048']);
  run('openssl', [
    'req',
    '-batch',
    '-new',
    '-x509',
    '-key',
    'dev.key',
    '-out',
    'dev.crt',
    '-subj',
    '/CN=dev',
  ]);
  devKeyId = createHash('sha256')
    .update(run('openssl', ['pkey', '-in', 'dev.key', '-pubout', '-outform', 'DER']))
    .digest('hex');
  writeFileSync(join(dir, 'kernel.bin'), randomBytes(2000));
  writeFileSync(join(dir, 'control.dts'), '/dts-v1/;\n/ { };\n');
  run('dtc', ['-I', 'dts', '-O', 'dtb', '-o', 'control.dtb', 'control.dts']);
  writeFileSync(
    join(dir, 'x.its'),
    `/dts-v1/;
/ {
  description = "scan test";
  #address-cells = <1>;
  images { kernel-1 { data = /incbin/("kernel.bin"); type = "kernel"; arch = "arm"; os = "linux";
    compression = "none"; load = <0>; entry = <0>; hash-1 { algo = "sha256"; }; }; };
  configurations { default = "conf-1"; conf-1 { kernel = "kernel-1";
    signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; sign-images = "kernel"; }; }; };
};
`,
  );
  run('mkimage', ['-f', 'x.its', '-k', '.', '-K', 'control.dtb', '-r', 'image.itb']);
  itb = readFileSync(join(dir, 'image.itb'));
  dtb = readFileSync(join(dir, 'control.dtb'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function signatures(d: Detected[]): SignatureSummary[] {
  return d.flatMap((o) => (o.type === 'signature' ? [o.signature] : []));
}

test('the control DTB yields the public key with the identity of its PEM', (t) => {
  if (!needTools(t, ...TOOLS)) return;
  const d = detectFit(dtb);
  assert.equal(d.length, 1);
  const [o] = d;
  assert.equal(o?.type, 'public-key');
  if (o?.type !== 'public-key') return;
  assert.equal(o.key.keyId, devKeyId);
  assert.equal(o.format, 'u-boot-dtb');
  assert.equal(o.comment, 'dev');
  assert.equal(o.offset, parseFit(dtb).keys[0]?.offset);
});

test('alone, the FIT signature is unverified but names its signer and keeps what checking needs', (t) => {
  if (!needTools(t, ...TOOLS)) return;
  const [s, ...rest] = signatures(detectFit(itb));
  assert.equal(rest.length, 0);
  assert.ok(s);
  assert.equal(s.status, 'unverified');
  assert.match(s.reason ?? '', /"dev" is not in this file/);
  assert.deepEqual(s.signer, { subject: 'key-name-hint=dev', keyAlgorithm: 'RSA', keySize: 2048 });
  assert.equal(s.signatureAlgorithm, 'sha256WithRSAEncryption');
  assert.equal(s.format, 'fit');
  assert.deepEqual(s.artifact, {
    sha256: createHash('sha256').update(itb).digest('hex'),
    format: 'fit',
    size: itb.length,
  });
  assert.equal(s.pending?.contentDigest, s.digest);
});

test('with the control DTB key the signature is valid and linked to the key; tampered, invalid', (t) => {
  if (!needTools(t, ...TOOLS)) return;
  const keys = parseFit(dtb).keys;
  const [s] = signatures(detectFit(itb, keys));
  assert.equal(s?.status, 'valid');
  assert.equal(s?.signer.keyId, devKeyId);
  assert.equal(s?.pending, undefined);
  const bad = Buffer.from(itb);
  bad[bad.indexOf('scan test')] = 0x53;
  assert.equal(signatures(detectFit(bad, keys))[0]?.status, 'invalid');
});

test('a key under another name that verifies is taken as the signer, as U-Boot would', (t) => {
  if (!needTools(t, ...TOOLS)) return;
  const renamed = parseFit(dtb).keys.map((k) => ({ ...k, name: 'production' }));
  const [s] = signatures(detectFit(itb, renamed));
  assert.equal(s?.status, 'valid');
  assert.equal(s?.signer.keyId, devKeyId);
});

test('a control DTB appended to other bytes (u-boot-dtb.bin) is found at its offset', (t) => {
  if (!needTools(t, ...TOOLS)) return;
  const pad = randomBytes(4096);
  const d = detectFit(Buffer.concat([pad, dtb, itb]));
  const key = d.find((o) => o.type === 'public-key');
  assert.equal(key?.offset, 4096 + parseFit(dtb).keys[0]!.offset);
  // The key in the same buffer is used for the FIT after it.
  assert.equal(signatures(d)[0]?.status, 'valid');
});

test('keys in a DTB carried inline as a FIT image are found inside it', (t) => {
  if (!needTools(t, ...TOOLS)) return;
  writeFileSync(
    join(dir, 'spl.its'),
    `/dts-v1/;
/ {
  description = "spl"; #address-cells = <1>;
  images { fdt-1 { description = "u-boot dtb"; data = /incbin/("control.dtb"); type = "flat_dt";
    arch = "arm"; compression = "none"; }; };
  configurations { default = "conf-1"; conf-1 { description = "c"; fdt = "fdt-1"; }; };
};
`,
  );
  execFileSync('mkimage', ['-f', 'spl.its', 'spl.itb'], { cwd: dir, stdio: 'ignore' });
  const spl = readFileSync(join(dir, 'spl.itb'));
  const inner = parseFit(spl).images[0]?.data;
  assert.ok(inner);
  const keys = detectFit(spl).filter((o) => o.type === 'public-key');
  assert.equal(keys.length, 1);
  assert.equal(keys[0]?.offset, inner.start + parseFit(dtb).keys[0]!.offset);
  if (keys[0]?.type === 'public-key') assert.equal(keys[0].key.keyId, devKeyId);
});

test('a truncated FIT is one unparseable observation; other bytes give nothing', (t) => {
  if (!needTools(t, ...TOOLS)) return;
  const d = detectFit(itb.subarray(0, itb.length - 50));
  assert.equal(d.length, 1);
  assert.equal(d[0]?.type, 'unparseable');
  if (d[0]?.type === 'unparseable') assert.match(d[0].reason, /declares \d+ bytes/);
  assert.deepEqual(detectFit(Buffer.from('not a device tree')), []);
  const stray = Buffer.concat([randomBytes(100), Buffer.from('d00dfeed', 'hex'), randomBytes(100)]);
  assert.deepEqual(detectFit(stray), []);
});
