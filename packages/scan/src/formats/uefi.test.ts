/**
 * detectUefi over efitools output: signature lists and authenticated variables signed by a KEK made
 * with openssl; key identities are cross-checked against openssl's SPKI of the same certificates.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEfi, hasTool, needTools, opensslSigner } from '@keywarden/testkit';
import type { Detected } from '../detect.ts';
import { detectUefi, variableNameFromFile } from './uefi.ts';

const TOOLS = ['openssl', 'cert-to-efi-sig-list', 'sign-efi-sig-list', 'hash-to-efi-sig-list'];

let dir = '';
let kek = { key: '', cert: '' };
let db = { key: '', cert: '' };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-scan-uefi-'));
  if (!TOOLS.every(hasTool)) return;
  kek = opensslSigner(dir, 'KEK', 'Keywarden scan KEK', { newkey: 'ec', pkeyopt: 'ec_paramgen_curve:P-256' });
  db = opensslSigner(dir, 'db', 'Keywarden scan db', { days: 2 });
  run('cert-to-efi-sig-list', db.cert, 'db.esl');
  // With -t efitools writes the time as given; without it, local time (not UTC as UEFI asks).
  run(
    'sign-efi-sig-list',
    '-t',
    '2025-01-02 03:04:05',
    '-k',
    kek.key,
    '-c',
    kek.cert,
    'db',
    'db.esl',
    'db.auth',
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

function run(tool: string, ...args: string[]): void {
  execFileSync(tool, args, { cwd: dir, stdio: 'ignore' });
}

/** openssl's key identity: SHA-256 of the certificate's SubjectPublicKeyInfo DER. */
function opensslKeyId(cert: string): string {
  const pem = execFileSync('openssl', ['x509', '-in', cert, '-pubkey', '-noout']);
  const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pem });
  return createHash('sha256').update(spki).digest('hex');
}

const certs = (d: Detected[]) => d.filter((o) => o.type === 'certificate');
const signatures = (d: Detected[]) => d.filter((o) => o.type === 'signature');

describe('detectUefi', () => {
  test('db.auth: the db certificate, the KEK certificate, and a valid signature by the KEK', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const buf = readFileSync(join(dir, 'db.auth'));
    const found = detectUefi(buf, '/x/db.auth');
    const cs = certs(found);
    assert.deepEqual(
      cs.map((c) => c.cert.publicKey.keyId).sort(),
      [opensslKeyId(db.cert), opensslKeyId(kek.cert)].sort(),
    );
    for (const c of cs) assert.deepEqual(buf.subarray(c.offset, c.offset + c.der.length), Buffer.from(c.der));
    const [sig, extra] = signatures(found);
    assert.ok(sig && !extra);
    const s = sig.signature;
    assert.equal(s.status, 'valid', s.reason);
    assert.equal(s.format, 'uefi-authenticated-variable');
    assert.equal(s.signer.keyId, opensslKeyId(kek.cert));
    assert.equal(s.signer.curve, 'P-256');
    assert.equal(s.signatureAlgorithm, 'ecdsa-with-SHA256');
    assert.equal(
      s.artifact.sha256,
      createHash('sha256')
        .update(readFileSync(join(dir, 'db.esl')))
        .digest('hex'),
    );
    assert.equal(s.signedAt, Date.UTC(2025, 0, 2, 3, 4, 5));
    // Misnamed or unnamed, the other Secure Boot variables are tried.
    for (const name of ['KEK.auth', undefined])
      assert.equal(signatures(detectUefi(buf, name))[0]?.signature.status, 'valid');
  });

  test('a tampered payload is invalid; a truncated file is one unparseable observation', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const buf = readFileSync(join(dir, 'db.auth'));
    const bad = Buffer.from(buf);
    bad[bad.length - 30]! ^= 1;
    const [sig] = signatures(detectUefi(bad, 'db.auth'));
    assert.equal(sig?.signature.status, 'invalid');
    assert.match(sig.signature.reason ?? '', /verifies for none of db, PK, KEK/);
    const cut = detectUefi(buf.subarray(0, buf.length - 7), 'db.auth');
    assert.equal(cut.length, 1);
    assert.equal(cut[0]?.type, 'unparseable');
    assert.match(cut[0]?.type === 'unparseable' ? cut[0].reason : '', /only \d+ remain/);
  });

  test('plain signature lists: certificates at their offsets, hash lists quietly kept out', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    writeFileSync(join(dir, 'a.efi'), buildEfi({ is64: true }));
    run('hash-to-efi-sig-list', 'a.efi', 'dbx.esl');
    const esl = readFileSync(join(dir, 'db.esl'));
    const both = Buffer.concat([readFileSync(join(dir, 'dbx.esl')), esl]);
    const found = detectUefi(both);
    assert.equal(found.length, 1);
    const [c] = certs(found);
    assert.equal(c?.cert.publicKey.keyId, opensslKeyId(db.cert));
    assert.equal(c.offset, both.length - esl.length + 28 + 16);
    const cut = detectUefi(esl.subarray(0, 100));
    assert.equal(cut[0]?.type, 'unparseable');
  });

  test('firmware variable store: certificates of live Secure Boot variables only', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const esl = readFileSync(join(dir, 'db.esl'));
    const image = Buffer.alloc(0x8000, 0xff);
    const store = 0x48;
    image.write('aaf32c78947b439aa1802e144ec37792', store, 'hex');
    // The GUID's first three fields are little-endian.
    image.writeUInt32LE(0xaaf32c78, store);
    image.writeUInt16LE(0x947b, store + 4);
    image.writeUInt16LE(0x439a, store + 6);
    image.writeUInt32LE(0x4000, store + 16);
    image.writeUInt16LE(0xfe5a, store + 20);
    image.writeUInt16LE(0, store + 22);
    image.writeUInt32LE(0, store + 24);
    let pos = store + 28;
    const offsets: number[] = [];
    for (const [name, vendor, state] of [
      ['KEK', '8be4df6193ca11d2aa0d00e098032b8c', 0x3c],
      ['db', 'd719b2cb3d3a4596a3bcdad00e67656f', 0x3f],
      ['db', '8be4df6193ca11d2aa0d00e098032b8c', 0x3f], // wrong vendor: not Secure Boot's db
    ] as const) {
      const n = Buffer.from(`${name}\0`, 'utf16le');
      image.fill(0, pos, pos + 60);
      image.writeUInt16LE(0x55aa, pos);
      image[pos + 2] = state;
      image.writeUInt32LE(n.length, pos + 36);
      image.writeUInt32LE(esl.length, pos + 40);
      const g = Buffer.from(vendor, 'hex');
      for (const [at, len] of [
        [0, 4],
        [4, 2],
        [6, 2],
      ] as const)
        g.subarray(at, at + len).reverse();
      g.copy(image, pos + 44);
      n.copy(image, pos + 60);
      esl.copy(image, pos + 60 + n.length);
      offsets.push(pos + 60 + n.length + 28 + 16);
      pos += Math.ceil((60 + n.length + esl.length) / 4) * 4;
    }
    const found = detectUefi(image);
    assert.equal(found.length, 1);
    const [c] = certs(found);
    assert.ok(c);
    assert.equal(c.offset, offsets[1]);
    assert.equal(c.cert.publicKey.keyId, opensslKeyId(db.cert));
  });

  test('mangled and truncated files never throw', (t) => {
    if (!needTools(t, ...TOOLS)) return;
    const buf = readFileSync(join(dir, 'db.auth'));
    for (let i = 0; i < 300; i++) {
      const m = Buffer.from(buf.subarray(0, randomInt(buf.length + 1)));
      for (let k = 0; k < 3 && m.length > 0; k++) m[randomInt(m.length)] = randomInt(256);
      const out = detectUefi(m, 'db.auth');
      assert.ok(Array.isArray(out));
    }
  });

  test('anything else is passed over quickly', () => {
    assert.deepEqual(detectUefi(Buffer.alloc(0)), []);
    assert.deepEqual(detectUefi(Buffer.alloc(4096)), []);
    assert.deepEqual(detectUefi(buildEfi({ is64: false })), []);
    assert.equal(variableNameFromFile('/boot/efi/DBX.auth'), 'dbx');
    assert.equal(variableNameFromFile('PK.esl'), 'PK');
    assert.equal(variableNameFromFile('update.bin'), undefined);
  });
});
