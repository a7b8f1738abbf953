/**
 * OpenPGP keys and signatures made by GnuPG (Debian gnupg) in a throw-away GNUPGHOME. Fingerprints,
 * creation and expiry are checked against `gpg --with-colons`; key identities against openssl over
 * the same key exported by `gpg --export-ssh-key` (the SSH form is an independent route to the key).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, needTools } from '@keywarden/testkit';
import { CoreError } from './error.ts';
import {
  checkPgpSignature,
  crc24,
  findPgpArmor,
  parsePgp,
  parsePgpPublicKey,
  readPgpPackets,
  type PgpPublicKey,
} from './openpgp.ts';

let dir = '';
let home = '';
const ready = hasTool('gpg') && hasTool('openssl');

function gpg(...args: string[]): Buffer {
  return execFileSync(
    'gpg',
    ['--batch', '--homedir', home, '--passphrase', '', '--pinentry-mode', 'loopback', ...args],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
}

/** uid -> { fpr, created, expires } of each primary key, from gpg's machine-readable listing. */
function listing(): Map<
  string,
  { fpr: string; created: number; expires?: number; subs: string[]; subExpires: number[] }
> {
  const out = new Map<
    string,
    { fpr: string; created: number; expires?: number; subs: string[]; subExpires: number[] }
  >();
  let cur:
    { fpr: string; created: number; expires?: number; subs: string[]; subExpires: number[] } | undefined;
  let sub = false;
  for (const line of gpg('--with-colons', '--fingerprint', '--fingerprint').toString().split('\n')) {
    const f = line.split(':');
    if (f[0] === 'pub') {
      cur = { fpr: '', created: Number(f[5]) * 1000, subs: [], subExpires: [] };
      if (f[6]) cur.expires = Number(f[6]) * 1000;
      sub = false;
    } else if (f[0] === 'sub' && cur) {
      sub = true;
      cur.subExpires.push(Number(f[6]) * 1000);
    } else if (f[0] === 'fpr' && cur) {
      if (sub) cur.subs.push(f[9]!.toLowerCase());
      else if (!cur.fpr) cur.fpr = f[9]!.toLowerCase();
    } else if (f[0] === 'uid' && cur) out.set(f[9]!, cur);
  }
  return out;
}

/** The key identity openssl computes for the same key, reached through its SSH export. */
function opensslKeyId(fpr: string): string {
  const line = gpg('--export-ssh-key', `${fpr}!`).toString().trim();
  const [type, b64] = line.split(' ');
  const ssh = join(dir, `${fpr}.pub`);
  writeFileSync(ssh, `${line}\n`, { mode: 0o600 });
  let pem: Buffer;
  if (type === 'ssh-ed25519') {
    // ssh-keygen cannot write Ed25519 as PKCS#8; the raw key is the last 32 octets of the blob.
    const raw = Buffer.from(b64!, 'base64').subarray(-32);
    const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
    pem = Buffer.from(`-----BEGIN PUBLIC KEY-----\n${der.toString('base64')}\n-----END PUBLIC KEY-----\n`);
  } else pem = execFileSync('ssh-keygen', ['-e', '-m', 'PKCS8', '-f', ssh]);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pem });
  return execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().split(' ')[0]!;
}

const UIDS = {
  ed: 'Ed Legacy <ed@keywarden.test>',
  rsa: 'Rsa Signer <rsa@keywarden.test>',
  p256: 'Nist Signer <p256@keywarden.test>',
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-openpgp-'));
  home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  if (!ready) return;
  gpg('--quick-gen-key', UIDS.ed, 'ed25519', 'sign', '2y');
  gpg('--quick-gen-key', UIDS.rsa, 'rsa2048', 'sign', 'never');
  gpg('--quick-gen-key', UIDS.p256, 'nistp256', 'sign', '1y');
  const ed = listing().get(UIDS.ed)!.fpr;
  gpg('--quick-add-key', ed, 'cv25519', 'encr', '1y');
});

after(() => rmSync(dir, { recursive: true, force: true }));

function byUid(keys: ReturnType<typeof parsePgp>['keys'], uid: string) {
  const k = keys.find((x) => x.userIds.some((u) => u.text === uid));
  assert.ok(k, `no key with uid ${uid}`);
  return k;
}

describe('public keys from gpg --export', () => {
  test('fingerprints, creation, expiry and user IDs agree with gpg --with-colons', (t) => {
    if (!needTools(t, 'gpg', 'openssl')) return;
    const parsed = parsePgp(gpg('--export', ...Object.values(UIDS)));
    const list = listing();
    assert.equal(parsed.keys.length, 3);
    for (const uid of Object.values(UIDS)) {
      const want = list.get(uid)!;
      const k = byUid(parsed.keys, uid);
      assert.equal(k.primary.fingerprint, want.fpr);
      assert.equal(k.primary.keyId, want.fpr.slice(-16));
      assert.equal(k.primary.created, want.created);
      assert.equal(k.expires, want.expires);
      assert.deepEqual(
        k.subkeys.map((s) => s.key.fingerprint),
        want.subs,
      );
      assert.equal(k.secret, false);
    }
    const rsa = byUid(parsed.keys, UIDS.rsa);
    assert.equal(rsa.expires, undefined);
    assert.deepEqual([rsa.primary.key.algorithm, rsa.primary.key.size], ['RSA', 2048]);
    const p256 = byUid(parsed.keys, UIDS.p256).primary.key;
    assert.deepEqual([p256.algorithm, p256.curve], ['EC', 'P-256']);
    const ed = byUid(parsed.keys, UIDS.ed);
    assert.equal(ed.primary.key.algorithm, 'Ed25519');
    assert.equal(ed.primary.algorithmId, 22);
    const cv = ed.subkeys[0]!;
    assert.equal(cv.key.key.algorithm, 'X25519');
    assert.equal(cv.expires, list.get(UIDS.ed)!.subExpires[0]);
    assert.equal(cv.expires, cv.key.created + 365 * 86_400_000);
  });

  test('key identity is the SPKI SHA-256 openssl computes for the same key', (t) => {
    if (!needTools(t, 'gpg', 'openssl', 'ssh-keygen')) return;
    const parsed = parsePgp(gpg('--export', ...Object.values(UIDS)));
    for (const uid of Object.values(UIDS)) {
      const k = byUid(parsed.keys, uid).primary;
      assert.equal(k.key.keyId, opensslKeyId(k.fingerprint), uid);
    }
  });

  test('self-signatures verify; a changed user ID byte makes its certification invalid', (t) => {
    if (!needTools(t, 'gpg')) return;
    const bin = gpg('--export', UIDS.rsa);
    const parsed = parsePgp(bin);
    assert.ok(parsed.signatures.length >= 1);
    for (const s of parsed.signatures) assert.equal(s.check.status, 'valid', s.check.reason);
    const uid = readPgpPackets(bin).find((p) => p.tag === 13)!;
    const bad = Buffer.from(bin);
    bad[uid.start] = bad[uid.start]! ^ 0x20;
    const cert = parsePgp(bad).signatures.find((s) => s.sig.type === 0x13)!;
    assert.equal(cert.check.status, 'invalid');
    assert.equal(parsePgp(bad).keys[0]!.expires, undefined);
  });

  test('every signature kind verifies across the key types gpg makes', (t) => {
    if (!needTools(t, 'gpg')) return;
    const parsed = parsePgp(gpg('--export', ...Object.values(UIDS)));
    const types = new Set(parsed.signatures.map((s) => s.sig.type));
    assert.ok(types.has(0x13) && types.has(0x18));
    for (const s of parsed.signatures)
      assert.equal(s.check.status, 'valid', `${s.sig.type}: ${s.check.reason}`);
  });

  test('DSA, brainpool and P-521 keys: size or curve, and self-signatures node:crypto accepts', (t) => {
    if (!needTools(t, 'gpg', 'openssl', 'ssh-keygen')) return;
    const more = {
      dsa2048: 'Dsa <dsa@keywarden.test>',
      brainpoolP256r1: 'Bp <bp@keywarden.test>',
      nistp521: 'P521 <p521@keywarden.test>',
    };
    for (const [algo, uid] of Object.entries(more)) gpg('--quick-gen-key', uid, algo, 'sign', '1y');
    const parsed = parsePgp(gpg('--export', ...Object.values(more)));
    const facts = Object.values(more).map((uid) => {
      const k = byUid(parsed.keys, uid).primary.key;
      return [k.algorithm, k.size, k.curve];
    });
    assert.deepEqual(facts, [
      ['DSA', 2048, undefined],
      ['EC', 256, 'brainpoolP256r1'],
      ['EC', 521, 'P-521'],
    ]);
    for (const s of parsed.signatures) assert.equal(s.check.status, 'valid', s.check.reason);
    const p521 = byUid(parsed.keys, more.nistp521).primary;
    assert.equal(p521.key.keyId, opensslKeyId(p521.fingerprint));
  });

  test('armored export decodes with its CRC24 checked; a changed digit is caught', (t) => {
    if (!needTools(t, 'gpg')) return;
    const asc = gpg('--armor', '--export', UIDS.p256);
    const [block] = findPgpArmor(asc);
    assert.equal(block?.label, 'PUBLIC KEY BLOCK');
    assert.equal(block?.error, undefined);
    assert.deepEqual(block?.data, gpg('--export', UIDS.p256));
    const text = asc.toString('latin1');
    const i = text.indexOf('\n\n') + 10;
    const flipped = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
    assert.match(findPgpArmor(Buffer.from(flipped, 'latin1'))[0]?.error ?? '', /CRC24/);
  });

  test('secret-key export: public identity only, protection from the S2K octet', (t) => {
    if (!needTools(t, 'gpg')) return;
    const parsed = parsePgp(gpg('--export-secret-keys', UIDS.p256));
    const k = parsed.keys[0]!;
    assert.equal(k.secret, true);
    assert.equal(k.encrypted, false); // made with an empty passphrase
    assert.equal(k.primary.fingerprint, listing().get(UIDS.p256)!.fpr);
  });
});

describe('signatures', () => {
  function signerKey(uid: string): PgpPublicKey {
    return byUid(parsePgp(gpg('--export', uid)).keys, uid).primary;
  }

  test('detached: issuer, algorithms, and a check over the file with the signer key', (t) => {
    if (!needTools(t, 'gpg')) return;
    for (const uid of Object.values(UIDS)) {
      const file = join(dir, 'payload.bin');
      writeFileSync(file, Buffer.from(`firmware for ${uid}\n`));
      const sigFile = `${file}.${Object.values(UIDS).indexOf(uid)}.sig`;
      gpg('-u', uid, '--detach-sign', '-o', sigFile, file);
      const sigBin = readFileSync(sigFile);
      const [read] = parsePgp(sigBin).signatures;
      const key = signerKey(uid);
      assert.equal(read?.check.status, 'unverified');
      assert.equal(read?.sig.issuerFingerprint, key.fingerprint);
      assert.equal(read?.sig.type, 0x00);
      const content = readFileSync(file);
      assert.equal(checkPgpSignature(sigBin, read.sig, [content], key).status, 'valid', uid);
      const tampered = Buffer.from(content);
      tampered[0] = tampered[0]! ^ 1;
      assert.equal(checkPgpSignature(sigBin, read.sig, [tampered], key).status, 'invalid');
    }
  });

  test('cleartext-signed (InRelease): dash-escaped text canonicalised and checked', (t) => {
    if (!needTools(t, 'gpg')) return;
    const file = join(dir, 'Release');
    writeFileSync(file, 'Origin: Keywarden  \n- dashed line\n-----not armor\nSHA256:\n abc 12 main/x\n');
    gpg('-u', UIDS.ed, '--clearsign', '-o', `${file}.asc`, file);
    const signed = readFileSync(`${file}.asc`);
    const [block] = findPgpArmor(signed);
    assert.equal(block?.label, 'SIGNED MESSAGE');
    assert.equal(
      block?.text?.toString(),
      'Origin: Keywarden\r\n- dashed line\r\n-----not armor\r\nSHA256:\r\n abc 12 main/x',
    );
    const parsed = parsePgp(block.data!, 0, block.data!.length, block.text);
    const [read] = parsed.signatures;
    assert.equal(read?.check.status, 'unverified'); // the digest prefix matched; no key here
    assert.equal(checkPgpSignature(block.data!, read.sig, [block.text!], signerKey(UIDS.ed)).status, 'valid');
    const tampered = Buffer.from(signed.toString().replace('abc 12', 'abc 13'));
    const [b2] = findPgpArmor(tampered);
    const r2 = parsePgp(b2!.data!, 0, b2!.data!.length, b2!.text).signatures[0]!;
    assert.equal(checkPgpSignature(b2!.data!, r2.sig, [b2!.text!], signerKey(UIDS.ed)).status, 'invalid');
  });
});

describe('hostile input', () => {
  test('a truncated keyring fails with a coded error naming the offset', (t) => {
    if (!needTools(t, 'gpg')) return;
    const bin = gpg('--export', ...Object.values(UIDS));
    assert.throws(
      () => parsePgp(bin.subarray(0, bin.length - 7)),
      (e: unknown) =>
        e instanceof CoreError && /runs past the end/.test(e.message) && /offset \d+/.test(e.message),
    );
  });

  test('every truncation and many byte flips give a result or a CoreError, nothing else', (t) => {
    if (!needTools(t, 'gpg')) return;
    const bin = gpg('--export', UIDS.ed);
    const tryParse = (b: Buffer): void => {
      try {
        parsePgp(b);
      } catch (e) {
        assert.ok(e instanceof CoreError, String(e));
      }
    };
    for (let n = 0; n < bin.length; n++) tryParse(bin.subarray(0, n));
    for (let i = 0; i < bin.length; i++) {
      const b = Buffer.from(bin);
      b[i] = b[i]! ^ 0xff;
      tryParse(b);
    }
  });

  test('one unreadable key in a keyring is reported and the others are still read', (t) => {
    if (!needTools(t, 'gpg')) return;
    const bin = gpg('--export', ...Object.values(UIDS));
    const first = readPgpPackets(bin)[0]!;
    const bad = Buffer.from(bin);
    bad[first.start] = 3; // a v3 key, which we do not read
    const parsed = parsePgp(bad);
    assert.equal(parsed.keys.length, 2);
    assert.deepEqual(parsed.problems, [
      { offset: 0, reason: 'OpenPGP: key version 3 at offset 0 is not read (v4, v5 and v6 are)' },
    ]);
    for (const s of parsed.signatures) assert.equal(s.check.status, 'valid');
  });

  test('partial and indeterminate lengths are refused', () => {
    assert.throws(() => readPgpPackets(Buffer.from([0xcb, 0xe1, 1, 2])), /partial body length at offset 0/);
    assert.throws(() => readPgpPackets(Buffer.from([0xaf, 1, 2, 3])), /indeterminate packet length/);
    assert.throws(() => readPgpPackets(Buffer.from([0x41])), /not a packet header/);
  });

  test('an RSA key claiming a huge MPI is refused before any allocation', () => {
    const body = Buffer.from([4, 0, 0, 0, 0, 1, 0xff, 0xff]);
    const p = { tag: 6, offset: 0, start: 0, end: body.length };
    assert.throws(() => parsePgpPublicKey(body, p), /RSA n of 65535 bits/);
  });

  test('CRC-24 of the RFC 4880 reference is the standard check value', () => {
    assert.equal(crc24(Buffer.from('123456789')).toString(16), '21cf02');
  });
});
