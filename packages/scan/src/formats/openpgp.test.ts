/**
 * The OpenPGP detector over what apt and release tooling actually ship: a binary keyring as in
 * trusted.gpg.d, an armored key, Release.gpg (detached) and InRelease (cleartext-signed), all made
 * with GnuPG (Debian gnupg) in a throw-away GNUPGHOME.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, needTools } from '@keywarden/testkit';
import type { Detected } from '../detect.ts';
import { detectOpenpgp } from './openpgp.ts';

let dir = '';
let home = '';
let fpr = '';
let expires = 0;
const UID = 'Archive Signer <archive@keywarden.test>';

function gpg(...args: string[]): Buffer {
  return execFileSync(
    'gpg',
    ['--batch', '--homedir', home, '--passphrase', '', '--pinentry-mode', 'loopback', ...args],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-openpgp-scan-'));
  home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  if (!hasTool('gpg')) return;
  gpg('--quick-gen-key', UID, 'rsa3072', 'sign', '3y');
  const pub = gpg('--with-colons', '--fingerprint')
    .toString()
    .split('\n')
    .map((l) => l.split(':'));
  fpr = pub.find((f) => f[0] === 'fpr')![9]!.toLowerCase();
  expires = Number(pub.find((f) => f[0] === 'pub')![6]) * 1000;
});

after(() => rmSync(dir, { recursive: true, force: true }));

const of = <T extends Detected['type']>(os: Detected[], type: T) =>
  os.filter((o): o is Extract<Detected, { type: T }> => o.type === type);

test('a binary keyring: the key with its fingerprint, uid and expiry; its self-signature valid', (t) => {
  if (!needTools(t, 'gpg', 'openssl')) return;
  const obs = detectOpenpgp(gpg('--export'));
  const [key, extra] = of(obs, 'public-key');
  assert.equal(extra, undefined);
  assert.equal(key?.format, 'openpgp');
  assert.equal(key?.encoding, 'binary');
  assert.equal(key?.offset, 0);
  assert.deepEqual([key?.key.algorithm, key?.key.size], ['RSA', 3072]);
  assert.match(key?.key.keyId ?? '', /^[0-9a-f]{64}$/);
  assert.ok(key?.comment?.startsWith(`openpgp fingerprint ${fpr}; uid ${UID}; created `));
  assert.ok(key?.comment?.endsWith(`; expires ${new Date(expires).toISOString()}`));
  const [cert] = of(obs, 'signature');
  assert.equal(cert?.signature.status, 'valid');
  assert.equal(cert?.signature.format, 'openpgp');
  assert.equal(cert?.signature.artifact.format, 'openpgp-certification');
  assert.equal(cert?.signature.signer.keyId, key?.key.keyId);
  assert.equal(cert?.signature.signer.ski, fpr);
  assert.equal(cert?.signature.signatureAlgorithm, 'sha512WithRSAEncryption');
});

test('the same key as PEM through openssl has the same key identity', (t) => {
  if (!needTools(t, 'gpg', 'openssl', 'ssh-keygen')) return;
  const ssh = join(dir, 'k.pub');
  writeFileSync(ssh, gpg('--export-ssh-key', `${fpr}!`), { mode: 0o600 });
  const pem = execFileSync('ssh-keygen', ['-e', '-m', 'PKCS8', '-f', ssh]);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pem });
  const want = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().split(' ')[0];
  const [key] = of(detectOpenpgp(gpg('--armor', '--export')), 'public-key');
  assert.equal(key?.encoding, 'pem');
  assert.equal(key?.key.keyId, want);
});

test('Release.gpg and InRelease: signer named by fingerprint; a changed InRelease is invalid', (t) => {
  if (!needTools(t, 'gpg')) return;
  const release = join(dir, 'Release');
  writeFileSync(release, 'Origin: Keywarden\nSuite: stable\nSHA256:\n 0123 456 main/binary-arm64/Packages\n');
  gpg('-u', UID, '--detach-sign', '-o', `${release}.gpg`, release);
  gpg('-u', UID, '--clearsign', '-o', join(dir, 'InRelease'), release);
  const [detached] = of(detectOpenpgp(readFileSync(`${release}.gpg`)), 'signature');
  assert.equal(detached?.signature.status, 'unverified');
  assert.equal(detached?.signature.artifact.format, 'openpgp-detached');
  assert.equal(detached?.signature.signer.ski, fpr);
  assert.equal(detached?.signature.signer.keyAlgorithm, 'RSA');
  assert.ok((detached?.signature.signedAt ?? 0) > Date.now() - 3_600_000);
  const inRelease = readFileSync(join(dir, 'InRelease'));
  const [clear] = of(detectOpenpgp(inRelease), 'signature');
  assert.equal(clear?.signature.status, 'unverified');
  assert.equal(clear?.signature.artifact.format, 'openpgp-text');
  assert.equal(clear?.offset, 0);
  const changed = of(
    detectOpenpgp(Buffer.from(inRelease.toString().replace('0123 456', '0123 457'))),
    'signature',
  );
  assert.equal(changed[0]?.signature.status, 'invalid');
  assert.match(changed[0]?.signature.reason ?? '', /differs from the signed prefix/);
});

test('a secret-key export is a private-key observation carrying only public facts', (t) => {
  if (!needTools(t, 'gpg')) return;
  const secret = gpg('--export-secret-keys');
  const obs = detectOpenpgp(secret);
  const [priv] = of(obs, 'private-key');
  const [pub] = of(detectOpenpgp(gpg('--export')), 'public-key');
  assert.equal(priv?.encrypted, false);
  assert.equal(priv?.key.keyId, pub?.key.keyId);
  // The RSA secret MPIs sit after the public part: none of their bytes may appear in the output.
  const tail = secret.subarray(secret.length - 64).toString('hex');
  assert.ok(!JSON.stringify(obs).includes(tail.slice(0, 32)));
});

test('other files give nothing; lying ones give an unparseable observation with the reason', (t) => {
  assert.deepEqual(detectOpenpgp(randomBytes(4096)), []);
  assert.deepEqual(detectOpenpgp(Buffer.from('just text\n')), []);
  if (!needTools(t, 'gpg')) return;
  const bin = gpg('--export');
  const [cut] = detectOpenpgp(bin.subarray(0, bin.length - 5));
  assert.equal(cut?.type, 'unparseable');
  assert.match(cut.type === 'unparseable' ? cut.reason : '', /runs past the end/);
  const asc = gpg('--armor', '--export').toString();
  const crcAt = asc.lastIndexOf('\n=') + 2;
  const badCrc = asc.slice(0, crcAt) + (asc[crcAt] === 'A' ? 'B' : 'A') + asc.slice(crcAt + 1);
  const [bad] = detectOpenpgp(Buffer.from(badCrc));
  assert.equal(bad?.type, 'unparseable');
  assert.match(bad.type === 'unparseable' ? bad.reason : '', /CRC24/);
});
