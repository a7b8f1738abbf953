/**
 * PKCS#12 files made by `openssl pkcs12 -export` (default, -legacy, -certpbe/-keypbe NONE) and by
 * keytool, cross-checked against `openssl pkcs12 -info` and the certificate openssl was given.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, needTools, opensslSigner, opensslPkcs12 } from '@keywarden/testkit';
import { CoreError } from './error.ts';
import { isPkcs12, parsePkcs12, verifyPkcs12Mac } from './pkcs12.ts';

const PASS = 'p12-test-pass';
let dir = '';
let key = '';
let cert = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-p12-'));
  if (!hasTool('openssl')) return;
  ({ key, cert } = opensslSigner(dir, 'leaf', 'Keywarden p12 leaf', {
    newkey: 'ec',
    pkeyopt: 'ec_paramgen_curve:P-256',
  }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function exportP12(...opts: string[]): { file: string; buf: Buffer } {
  return opensslPkcs12(dir, { key, cert }, PASS, ...opts);
}

/** What `openssl pkcs12 -info` says about the structure (no keys or certificates printed). */
function info(file: string, pass = PASS): string {
  // openssl writes these lines to stderr, and exits 1 on -legacy files it can describe but not open.
  const r = spawnSync('openssl', ['pkcs12', '-info', '-noout', '-in', file, '-passin', `pass:${pass}`], {
    encoding: 'utf8',
  });
  return `${r.stdout}${r.stderr}`;
}

function macLine(text: string): { algorithm: string; iterations: number } {
  const m = /MAC: (\w+), Iteration (\d+)/.exec(text);
  assert.ok(m, `no MAC line in ${text}`);
  return { algorithm: m[1]!, iterations: Number(m[2]) };
}

const count = (text: string, re: RegExp): number => text.split('\n').filter((l) => re.test(l)).length;

function certDer(): Buffer {
  return execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER']);
}

test('default openssl export: key shrouded and certificates in a PBES2 encryptedData', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  const { file, buf } = exportP12();
  assert.ok(isPkcs12(buf));
  const p = parsePkcs12(buf);
  const text = info(file);
  assert.equal(p.version, 3);
  assert.equal(p.integrity, 'password');
  assert.deepEqual({ algorithm: p.mac?.algorithm, iterations: p.mac?.iterations }, macLine(text));
  assert.equal(p.encrypted.length, count(text, /^PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC/));
  assert.equal(p.encrypted[0]?.algorithm, 'PBES2/aes-256-cbc');
  const shrouded = p.bags.filter((b) => b.kind === 'shrouded-key');
  assert.equal(shrouded.length, count(text, /^Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/));
  assert.equal(shrouded[0]?.cipher, 'PBES2/aes-256-cbc');
  assert.equal(shrouded[0]?.friendlyName, 'leaf');
  // Without the password no certificate is visible: it sits in the encrypted part.
  assert.equal(p.bags.filter((b) => b.kind === 'certificate').length, 0);
  // The shrouded bag's value is the EncryptedPrivateKeyInfo, which openssl itself can read back.
  const epki = buf.subarray(shrouded[0]!.value.start, shrouded[0]!.value.end);
  assert.equal(epki[0], 0x30);
});

test('-legacy: RC2-40 for the certificates, 3DES for the key, HMAC-SHA1', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  const { file, buf } = exportP12('-legacy');
  const p = parsePkcs12(buf);
  const text = info(file);
  assert.deepEqual({ algorithm: p.mac?.algorithm, iterations: p.mac?.iterations }, macLine(text));
  assert.equal(count(text, /^PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC/), 1);
  assert.deepEqual(
    p.encrypted.map((e) => e.algorithm),
    ['pbeWithSHAAnd40BitRC2-CBC'],
  );
  assert.deepEqual(
    p.bags.map((b) => [b.kind, b.cipher]),
    [['shrouded-key', 'pbeWithSHAAnd3-KeyTripleDES-CBC']],
  );
});

test('-certpbe NONE -keypbe NONE: the certificate and key in the clear, paired by localKeyId', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  const { file, buf } = exportP12('-certpbe', 'NONE', '-keypbe', 'NONE');
  const p = parsePkcs12(buf);
  assert.equal(p.encrypted.length, 0);
  assert.match(info(file), /Certificate bag/);
  const c = p.bags.find((b) => b.kind === 'certificate');
  const k = p.bags.find((b) => b.kind === 'key');
  assert.ok(c && k);
  assert.equal(c.certType, 'x509');
  assert.deepEqual(buf.subarray(c.value.start, c.value.end), certDer());
  assert.ok(c.localKeyId && c.localKeyId === k.localKeyId);
  // openssl's localKeyId is the SHA-1 of the certificate.
  assert.equal(
    c.localKeyId,
    execFileSync('openssl', ['sha1', '-r'], { input: certDer() }).toString().slice(0, 40),
  );
  const pkcs8 = execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', key, '-outform', 'DER']);
  assert.deepEqual(buf.subarray(k.value.start, k.value.end), pkcs8);
});

test('the MAC checks with the password, fails with another and after a tampered byte', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  for (const opts of [[], ['-legacy']]) {
    const { buf } = exportP12(...opts);
    const p = parsePkcs12(buf);
    assert.equal(verifyPkcs12Mac(buf, p, PASS).status, 'valid');
    assert.equal(verifyPkcs12Mac(buf, p, 'wrong').status, 'invalid');
    const bad = Buffer.from(buf);
    const at = p.encrypted[0]!.offset + 40;
    bad[at] = bad[at]! ^ 0x01;
    assert.equal(verifyPkcs12Mac(bad, parsePkcs12(bad), PASS).status, 'invalid');
  }
});

test('keytool PKCS12: what is visible without the password', (t: TestContext) => {
  if (!needTools(t, 'keytool', 'openssl')) return;
  const file = join(dir, 'keytool.p12');
  execFileSync(
    'keytool',
    [
      '-genkeypair',
      '-storetype',
      'PKCS12',
      '-keystore',
      file,
      '-storepass',
      PASS,
      '-alias',
      'kt',
      '-keyalg',
      'EC',
      '-dname',
      'CN=kt',
      '-validity',
      '2',
    ],
    { stdio: 'ignore', input: '' },
  );
  const buf = readFileSync(file);
  const p = parsePkcs12(buf);
  const text = info(file);
  assert.deepEqual({ algorithm: p.mac?.algorithm, iterations: p.mac?.iterations }, macLine(text));
  assert.equal(p.encrypted.length, count(text, /^PKCS7 Encrypted data/));
  const shrouded = p.bags.filter((b) => b.kind === 'shrouded-key');
  assert.equal(shrouded.length, 1);
  assert.equal(shrouded[0]?.friendlyName, 'kt');
  assert.equal(verifyPkcs12Mac(buf, p, PASS).status, 'valid');
});

test('truncated, wrong version and BER inputs fail with a coded error naming the offset', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  const { buf } = exportP12('-certpbe', 'NONE', '-keypbe', 'NONE');
  assert.ok(isPkcs12(buf.subarray(0, 100)), 'a truncated file is still recognised');
  assert.throws(
    () => parsePkcs12(buf.subarray(0, buf.length - 10)),
    (e: unknown) =>
      e instanceof CoreError && e.code === 'DER_MALFORMED' && /runs past the end/.test(e.message),
  );
  const v2 = Buffer.from(buf);
  v2[v2.indexOf(Buffer.from([2, 1, 3]))! + 2] = 2;
  assert.throws(() => parsePkcs12(v2), /PFX version 2 at offset 4/);
  const ber = Buffer.from(buf);
  ber[26] = 0x24; // the authSafe OCTET STRING's tag, as a constructed BER string would have it
  assert.throws(
    () => parsePkcs12(ber),
    (e: unknown) => e instanceof CoreError,
  );
  // Every cut and every single flipped tag byte either parses or fails with CoreError, nothing else.
  for (let cut = 0; cut < buf.length; cut += 7) {
    try {
      parsePkcs12(buf.subarray(0, cut));
      assert.fail(`a file cut to ${cut} octets parsed`);
    } catch (e) {
      assert.ok(e instanceof CoreError, `cut ${cut}: ${String(e)}`);
    }
  }
  for (let i = 0; i < Math.min(buf.length, 1200); i += 3) {
    const x = Buffer.from(buf);
    x[i] = x[i]! ^ 0xff;
    try {
      parsePkcs12(x);
    } catch (e) {
      assert.ok(e instanceof CoreError, `flip at ${i}: ${String(e)}`);
    }
  }
});

test('not PKCS#12: a certificate or random bytes are not recognised', (t: TestContext) => {
  if (!needTools(t, 'openssl')) return;
  assert.equal(isPkcs12(certDer()), false);
  assert.equal(isPkcs12(Buffer.from('hello world, not a keystore')), false);
});
