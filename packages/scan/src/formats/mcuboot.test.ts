/**
 * detectMcuboot over images the testkit signs under keys made by `openssl genpkey`; key identities
 * are compared with `openssl pkey -pubout -outform DER | sha256`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildMcubootImage, hasTool, mcubootPublicBytes, needTools } from '@keywarden/testkit';
import type { SignatureSummary } from '@keywarden/core';
import type { Detected } from '../detect.ts';
import { detectMcuboot } from './mcuboot.ts';

let dir = '';
const keys: Record<string, { key: KeyObject; keyId: string }> = {};
const GENPKEY: Record<string, string[]> = {
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  ed25519: ['-algorithm', 'ED25519'],
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keywarden-mcuboot-scan-'));
  if (!hasTool('openssl')) return;
  for (const [name, args] of Object.entries(GENPKEY)) {
    const file = join(dir, `${name}.key`);
    execFileSync('openssl', ['genpkey', ...args, '-out', file], { stdio: 'ignore' });
    const spki = execFileSync('openssl', ['pkey', '-in', file, '-pubout', '-outform', 'DER']);
    const keyId = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: spki })
      .toString()
      .split(' ')[0]!;
    keys[name] = { key: createPrivateKey(readFileSync(file)), keyId };
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

function signatures(obs: Detected[]): SignatureSummary[] {
  return obs.flatMap((o) => (o.type === 'signature' ? [o.signature] : []));
}

const ALG: Record<string, [string, string, number, string?]> = {
  rsa: ['rsassaPss', 'RSA', 2048],
  p256: ['ecdsa-with-SHA256', 'EC', 256, 'P-256'],
  ed25519: ['Ed25519', 'Ed25519', 255],
};

describe('detectMcuboot', () => {
  test('an embedded PUBKEY identifies and verifies the signer, for RSA-PSS, ECDSA P-256 and Ed25519', (t) => {
    if (!needTools(t, 'openssl')) return;
    for (const [name, [sigAlg, keyAlg, size, curve]] of Object.entries(ALG)) {
      const buf = buildMcubootImage({ key: keys[name]!.key, body: randomBytes(700), embedPublicKey: true });
      const obs = detectMcuboot(buf);
      const pk = obs.find((o) => o.type === 'public-key');
      assert.ok(pk?.type === 'public-key', name);
      assert.equal(pk.key.keyId, keys[name]!.keyId);
      assert.equal(pk.format, name === 'rsa' ? 'pkcs1' : 'spki');
      const [s, more] = signatures(obs);
      assert.ok(s && !more);
      assert.equal(s.status, 'valid', s.reason);
      assert.equal(s.format, 'mcuboot');
      assert.equal(s.signer.keyId, keys[name]!.keyId);
      assert.equal(s.signer.keyAlgorithm, keyAlg);
      assert.equal(s.signer.keySize, size);
      assert.equal(s.signer.curve, curve);
      assert.equal(s.signatureAlgorithm, sigAlg);
      assert.equal(s.digestAlgorithm, 'sha256');
      assert.equal(
        s.digest,
        execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: buf.subarray(0, 732) })
          .toString()
          .split(' ')[0],
      );
      assert.equal(s.artifact.size, buf.length);
    }
  });

  test('a KEYHASH alone leaves the signature unverified with the hash, until the slot key is passed', (t) => {
    if (!needTools(t, 'openssl')) return;
    for (const name of Object.keys(ALG)) {
      const key = keys[name]!.key;
      const buf = buildMcubootImage({
        key,
        body: randomBytes(128),
        protectedTlvs: [{ type: 0x50, value: Buffer.alloc(4) }],
      });
      const [alone] = signatures(detectMcuboot(buf));
      assert.equal(alone?.status, 'unverified');
      const keyHash = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: mcubootPublicBytes(key) })
        .toString()
        .split(' ')[0]!;
      assert.match(alone.reason ?? '', new RegExp(`KEYHASH ${keyHash}`));
      assert.equal(alone.signer.keyId, undefined);
      const others = Object.values(keys)
        .filter((k) => k.key !== key)
        .map((k) => createPublicKey(k.key));
      const [matched] = signatures(detectMcuboot(buf, [...others, createPublicKey(key)]));
      assert.equal(matched?.status, 'valid', matched?.reason);
      assert.equal(matched.signer.keyId, keys[name]!.keyId);
    }
  });

  test('one tampered body byte makes the signature invalid through the image hash', (t) => {
    if (!needTools(t, 'openssl')) return;
    for (const name of Object.keys(ALG)) {
      const buf = buildMcubootImage({ key: keys[name]!.key, body: randomBytes(256), embedPublicKey: true });
      buf[100]! ^= 0x80;
      const [s] = signatures(detectMcuboot(buf));
      assert.equal(s?.status, 'invalid');
      assert.match(s.reason ?? '', /differs from the SHA256 TLV/);
    }
  });

  test('a signature by another key is invalid even when the hash holds', (t) => {
    if (!needTools(t, 'openssl')) return;
    const buf = buildMcubootImage({ key: keys.p256!.key, body: randomBytes(64), embedPublicKey: true });
    const sig = buf.length - 10;
    buf[sig]! ^= 1; // inside the ECDSA s value
    const [s] = signatures(detectMcuboot(buf));
    assert.equal(s?.status, 'invalid');
    assert.match(s.reason ?? '', /ECDSA_SIG signature at offset \d+ does not verify/);
  });

  test('a truncated image is one unparseable observation with the reason; other bytes give nothing', () => {
    const buf = buildMcubootImage({ body: randomBytes(500) });
    const obs = detectMcuboot(buf.subarray(0, 300));
    assert.equal(obs.length, 1);
    assert.ok(obs[0]?.type === 'unparseable');
    assert.equal(obs[0].format, 'mcuboot');
    assert.match(obs[0].reason, /truncated image/);
    assert.deepEqual(detectMcuboot(Buffer.from('not an image at all')), []);
    assert.deepEqual(detectMcuboot(Buffer.alloc(0)), []);
    assert.deepEqual(signatures(detectMcuboot(buf)), []);
  });

  test('damaged images never make the detector throw, nor pass as valid', (t) => {
    if (!needTools(t, 'openssl')) return;
    const buf = buildMcubootImage({ key: keys.rsa!.key, body: randomBytes(40), embedPublicKey: true });
    fc.assert(
      fc.property(
        fc.nat(buf.length),
        fc.array(fc.tuple(fc.nat(buf.length - 1), fc.nat(255)), { maxLength: 4 }),
        (cut, flips) => {
          const b = Buffer.from(buf.subarray(0, cut));
          for (const [i, v] of flips) if (i < b.length) b[i] = v;
          const changed = b.some((x, i) => x !== buf[i]);
          for (const o of detectMcuboot(b, [createPublicKey(keys.p256!.key)]))
            if (o.type === 'signature' && changed) assert.notEqual(o.signature.status, 'valid');
        },
      ),
      { numRuns: 300 },
    );
  });
});
