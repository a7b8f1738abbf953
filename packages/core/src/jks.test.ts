/**
 * JKS and JCEKS stores made by keytool (Debian default-jdk-headless), cross-checked against
 * `keytool -exportcert` and `keytool -list`.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, needTools } from '@keywarden/testkit';
import { CoreError } from './error.ts';
import { isJavaKeystore, parseJavaKeystore, verifyJavaKeystore } from './jks.ts';

const PASS = 'jks-test-pass';
let dir = '';
let jks = '';
let jceks = '';

function keytool(...args: string[]): Buffer {
  return execFileSync('keytool', args, { stdio: ['ignore', 'pipe', 'ignore'] });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-jks-'));
  if (!hasTool('keytool')) return;
  jks = join(dir, 'store.jks');
  jceks = join(dir, 'store.jceks');
  const common = ['-storepass', PASS, '-keypass', PASS, '-validity', '2'];
  keytool(
    '-genkeypair',
    '-storetype',
    'JKS',
    '-keystore',
    jks,
    '-alias',
    'signer',
    '-keyalg',
    'EC',
    '-dname',
    'CN=JKS signer',
    ...common,
  );
  // The signer's certificate again, as a trusted entry: one store with both entry kinds.
  const der = join(dir, 'signer.der');
  keytool('-exportcert', '-keystore', jks, '-storepass', PASS, '-alias', 'signer', '-file', der);
  keytool(
    '-importcert',
    '-noprompt',
    '-storetype',
    'JKS',
    '-keystore',
    jks,
    '-storepass',
    PASS,
    '-alias',
    'anchor',
    '-file',
    der,
  );
  keytool(
    '-genkeypair',
    '-storetype',
    'JCEKS',
    '-keystore',
    jceks,
    '-alias',
    'rsa',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-dname',
    'CN=JCEKS',
    ...common,
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

function exported(store: string, type: string, alias: string): Buffer {
  return keytool('-exportcert', '-storetype', type, '-keystore', store, '-storepass', PASS, '-alias', alias);
}

test('JKS: a private-key entry with its chain and a trusted certificate, as keytool lists them', (t: TestContext) => {
  if (!needTools(t, 'keytool')) return;
  const buf = readFileSync(jks);
  assert.ok(isJavaKeystore(buf));
  const ks = parseJavaKeystore(buf);
  assert.equal(ks.format, 'jks');
  assert.equal(ks.version, 2);
  const list = keytool('-list', '-keystore', jks, '-storepass', PASS).toString();
  assert.match(list, new RegExp(`contains ${ks.entries.length} entries`));
  const byAlias = new Map(ks.entries.map((e) => [e.alias, e]));
  const signer = byAlias.get('signer');
  const anchor = byAlias.get('anchor');
  assert.equal(signer?.kind, 'private-key');
  assert.equal(signer.cipher, 'jks-key-protector');
  assert.equal(signer.certificates.length, 1);
  assert.equal(signer.certificates[0]?.type, 'X.509');
  const der = exported(jks, 'JKS', 'signer');
  const c = signer.certificates[0]!;
  assert.deepEqual(buf.subarray(c.start, c.end), der);
  assert.equal(anchor?.kind, 'trusted-certificate');
  assert.deepEqual(buf.subarray(anchor.certificates[0]!.start, anchor.certificates[0]!.end), der);
  assert.ok(Math.abs(signer.timestamp - Date.now()) < 10 * 60_000, 'creation time is now');
  assert.ok(signer.key && buf[signer.key.start] === 0x30);
});

test('JCEKS: the key is protected with PBEWithMD5AndTripleDES', (t: TestContext) => {
  if (!needTools(t, 'keytool')) return;
  const buf = readFileSync(jceks);
  const ks = parseJavaKeystore(buf);
  assert.equal(ks.format, 'jceks');
  const [e] = ks.entries;
  assert.equal(e?.alias, 'rsa');
  assert.equal(e.cipher, 'PBEWithMD5AndTripleDES');
  assert.deepEqual(
    buf.subarray(e.certificates[0]!.start, e.certificates[0]!.end),
    exported(jceks, 'JCEKS', 'rsa'),
  );
});

test('JCEKS secret-key entry stops the reading and says why', (t: TestContext) => {
  if (!needTools(t, 'keytool')) return;
  const file = join(dir, 'secret.jceks');
  keytool(
    '-genseckey',
    '-storetype',
    'JCEKS',
    '-keystore',
    file,
    '-storepass',
    PASS,
    '-keypass',
    PASS,
    '-alias',
    'aes',
    '-keyalg',
    'AES',
    '-keysize',
    '128',
  );
  const ks = parseJavaKeystore(readFileSync(file));
  assert.equal(ks.entries[0]?.kind, 'secret-key');
  assert.equal(ks.entries[0]?.alias, 'aes');
  assert.match(ks.stopped?.reason ?? '', /serialised Java object/);
  assert.equal(verifyJavaKeystore(readFileSync(file), ks, PASS).status, 'unverified');
});

test('the store digest checks with the password, fails with another and after a tampered byte', (t: TestContext) => {
  if (!needTools(t, 'keytool')) return;
  for (const file of [jks, jceks]) {
    const buf = readFileSync(file);
    const ks = parseJavaKeystore(buf);
    assert.equal(verifyJavaKeystore(buf, ks, PASS).status, 'valid');
    assert.equal(verifyJavaKeystore(buf, ks, 'wrong').status, 'invalid');
    const bad = Buffer.from(buf);
    const c = ks.entries[0]!.certificates[0]!;
    bad[c.start + 40] = bad[c.start + 40]! ^ 0x01;
    assert.equal(verifyJavaKeystore(bad, parseJavaKeystore(bad), PASS).status, 'invalid');
  }
});

test('truncated or lying stores fail with a coded error naming the offset', (t: TestContext) => {
  if (!needTools(t, 'keytool')) return;
  const buf = readFileSync(jks);
  assert.throws(
    () => parseJavaKeystore(buf.subarray(0, buf.length - 25)),
    (e: unknown) => e instanceof CoreError && /at offset \d+/.test(e.message),
  );
  const many = Buffer.from(buf);
  many.writeUInt32BE(0xffffffff, 8);
  assert.throws(() => parseJavaKeystore(many), /4294967295 entries at offset 8/);
  const tag = Buffer.from(buf);
  tag.writeUInt32BE(9, 12);
  assert.throws(() => parseJavaKeystore(tag), /unknown entry tag 9 at offset 12/);
  for (let cut = 0; cut < buf.length; cut += 5)
    assert.throws(() => parseJavaKeystore(buf.subarray(0, cut)), CoreError, `cut at ${cut}`);
  for (let i = 0; i < buf.length; i += 3) {
    const x = Buffer.from(buf);
    x[i] = x[i]! ^ 0xff;
    try {
      parseJavaKeystore(x);
    } catch (e) {
      assert.ok(e instanceof CoreError, `flip at ${i}: ${String(e)}`);
    }
  }
  assert.equal(isJavaKeystore(Buffer.from([0xfe, 0xed])), false);
  assert.equal(isJavaKeystore(Buffer.from('not a store')), false);
});
