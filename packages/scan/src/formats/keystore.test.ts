/**
 * Keystore observations from files made by openssl pkcs12 and keytool; key identities checked
 * against `openssl pkey -pubout -outform DER | sha256` of the same key.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, needTools, opensslSigner, opensslPkcs12 } from '@keywarden/testkit';
import type { Detected } from '../detect.ts';
import { detectKeystore } from './keystore.ts';

const PASS = 'keystore-scan-pass';
let dir = '';
let key = '';
let cert = '';
let keyId = '';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-keystore-'));
  if (!hasTool('openssl')) return;
  ({ key, cert } = opensslSigner(dir, 'leaf', 'Keywarden keystore leaf'));
  keyId = sha256(execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-outform', 'DER']));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function p12(...opts: string[]): Buffer {
  return opensslPkcs12(dir, { key, cert }, PASS, ...opts).buf;
}

const certDer = (): Buffer => execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER']);
const ofType = <T extends Detected['type']>(out: Detected[], type: T): Extract<Detected, { type: T }>[] =>
  out.filter((o): o is Extract<Detected, { type: T }> => o.type === type);

test('certificates in the clear: the sealed key takes the paired certificate key identity', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  const buf = p12('-certpbe', 'NONE');
  const out = detectKeystore(buf);
  const [c] = ofType(out, 'certificate');
  const der = certDer();
  assert.equal(c?.offset, buf.indexOf(der));
  assert.equal(c.cert.publicKey.keyId, keyId);
  const [k] = ofType(out, 'private-key');
  assert.equal(k?.encrypted, true);
  assert.equal(k.key.keyId, keyId);
  assert.equal(k.key.algorithm, 'RSA');
  assert.equal(k.key.size, 2048);
  assert.equal(k.cipher, 'PBES2/aes-256-cbc');
  assert.equal(k.comment, 'leaf');
  assert.equal(out.length, 2);
});

test('no encryption at all: the key bag identity is computed from the key itself', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  const out = detectKeystore(p12('-certpbe', 'NONE', '-keypbe', 'NONE'));
  const [k] = ofType(out, 'private-key');
  assert.equal(k?.encrypted, false);
  assert.equal(k.key.keyId, keyId);
  assert.equal(ofType(out, 'certificate').length, 1);
});

for (const [name, opts, certCipher, keyCipher] of [
  ['default', [], 'PBES2/aes-256-cbc', 'PBES2/aes-256-cbc'],
  ['-legacy', ['-legacy'], 'pbeWithSHAAnd40BitRC2-CBC', 'pbeWithSHAAnd3-KeyTripleDES-CBC'],
] as const) {
  test(`${name} export: certificates unseen, the key sealed, the encryption named`, (t: TestContext) => {
    if (!needTools(t, 'openssl')) return;
    const buf = p12(...opts);
    const out = detectKeystore(buf);
    assert.equal(ofType(out, 'certificate').length, 0);
    const [k] = ofType(out, 'private-key');
    assert.ok(k);
    assert.equal(k.key.keyId, undefined);
    assert.equal(k.cipher, keyCipher);
    assert.equal(k.encrypted, true);
    // The sealed identity is the EncryptedPrivateKeyInfo's hash: stable across copies of the file.
    const epki = buf.subarray(k.offset, k.offset + 4 + buf.readUInt16BE(k.offset + 2));
    assert.equal(k.sealedId, sha256(epki));
    const [u] = ofType(out, 'unparseable');
    assert.equal(u?.format, 'pkcs12-encrypted-bags');
    assert.ok(u.reason.includes(certCipher), u.reason);
  });
}

test('JKS from keytool: the certificate, and the key under its identity', (t: TestContext) => {
  if (!needTools(t, 'keytool', 'openssl')) return;
  const file = join(dir, 'k.jks');
  const args = ['-storetype', 'JKS', '-keystore', file, '-storepass', PASS];
  execFileSync(
    'keytool',
    [
      '-genkeypair',
      ...args,
      '-keypass',
      PASS,
      '-alias',
      'fw',
      '-keyalg',
      'EC',
      '-dname',
      'CN=fw',
      '-validity',
      '2',
    ],
    { stdio: 'ignore' },
  );
  const der = execFileSync('keytool', ['-exportcert', ...args, '-alias', 'fw'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const pub = execFileSync('openssl', ['x509', '-inform', 'DER', '-pubkey', '-noout'], { input: der });
  const expected = sha256(execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pub }));
  const buf = readFileSync(file);
  const out = detectKeystore(buf);
  const [c] = ofType(out, 'certificate');
  assert.equal(c?.offset, buf.indexOf(der));
  assert.equal(c.cert.sha256, sha256(der));
  const [k] = ofType(out, 'private-key');
  assert.equal(k?.key.keyId, expected);
  assert.equal(k.key.curve, 'P-256');
  assert.equal(k.encrypted, true);
  assert.equal(k.cipher, 'jks-key-protector');
  assert.equal(k.comment, 'fw');
  // Truncated: one unparseable observation with the reason, nothing thrown.
  const cut = detectKeystore(buf.subarray(0, buf.length - 40));
  assert.equal(cut.length, 1);
  assert.equal(cut[0]?.type, 'unparseable');
  assert.match((cut[0] as { reason: string }).reason, /runs past the end|truncated/);
});

test('truncated PKCS#12 becomes one unparseable observation; other files give nothing', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  const buf = p12('-certpbe', 'NONE');
  const cut = detectKeystore(buf.subarray(0, buf.length - 100));
  assert.deepEqual(
    cut.map((o) => [o.type, o.type === 'unparseable' && o.format]),
    [['unparseable', 'pkcs12']],
  );
  assert.match((cut[0] as { reason: string }).reason, /runs past the end/);
  assert.deepEqual(detectKeystore(certDer()), []);
  assert.deepEqual(detectKeystore(readFileSync(cert)), []);
  assert.deepEqual(detectKeystore(Buffer.alloc(0)), []);
  // Hostile edits anywhere never make it throw.
  for (let i = 0; i < buf.length; i += 5) {
    const x = Buffer.from(buf);
    x[i] = x[i]! ^ 0x5a;
    assert.ok(Array.isArray(detectKeystore(x)));
  }
});

test('no private key bytes leave the detector', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  const pkcs8 = execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', key, '-outform', 'DER']);
  const out = detectKeystore(p12('-certpbe', 'NONE', '-keypbe', 'NONE'));
  // Buffer.toJSON runs before a replacer sees the value, so read the raw property instead.
  const text = JSON.stringify(out, function (this: Record<string, unknown>, k: string, v: unknown) {
    const raw = this[k];
    return raw instanceof Uint8Array ? Buffer.from(raw).toString('hex') : v;
  });
  assert.ok(text.includes(certDer().toString('hex')), 'binary fields are in the text searched');
  // The private exponent section of the PKCS#8, in hex, appears nowhere in what is reported.
  assert.ok(!text.includes(pkcs8.subarray(pkcs8.length - 64).toString('hex')));
});
