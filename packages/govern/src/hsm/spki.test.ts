import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { GovernError } from '../error.ts';
import { ecdsaRawToDer } from './ecdsa-signature.ts';
import { hsmFindings } from './findings.ts';
import type { HsmObjectAttributes, HsmToken } from './hsm.ts';
import { describeObjects } from './inventory.ts';
import { CKK, CKO } from './pkcs11-constants.ts';
import { publicKeyOf } from './spki.ts';

function keyIdOf(k: KeyObject): string {
  return createHash('sha256')
    .update(k.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function octets(b: Buffer): Buffer {
  return Buffer.concat([Buffer.of(0x04, b.length), b]);
}

const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

function ecObject(pub: KeyObject, wrap: boolean): HsmObjectAttributes {
  const jwk = pub.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.of(4),
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  ]);
  return {
    handle: '01',
    class: CKO.PUBLIC_KEY,
    keyType: CKK.EC,
    usage: {},
    ecParams: P256,
    ecPoint: wrap ? octets(point) : point,
  };
}

function rejects(f: () => unknown, re: RegExp): void {
  assert.throws(
    f,
    (e: unknown) => e instanceof GovernError && e.code === 'HSM_OPERATION' && re.test(e.message),
  );
}

describe('publicKeyOf', () => {
  test('RSA from modulus and exponent has the SPKI identity node:crypto gives', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const got = publicKeyOf({
      handle: '01',
      class: CKO.PRIVATE_KEY,
      keyType: CKK.RSA,
      usage: {},
      // A token may pad the modulus with a zero octet; the identity must not change.
      modulus: Buffer.concat([Buffer.of(0), Buffer.from(jwk.n!, 'base64url')]),
      publicExponent: Buffer.from(jwk.e!, 'base64url'),
    });
    assert.equal(got.key.keyId, keyIdOf(publicKey));
    assert.deepEqual([got.key.algorithm, got.key.size], ['RSA', 2048]);
  });

  test('EC points bare or DER-wrapped give the same identity', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const a = publicKeyOf(ecObject(publicKey, true));
    const b = publicKeyOf(ecObject(publicKey, false));
    assert.equal(a.key.keyId, keyIdOf(publicKey));
    assert.equal(b.key.keyId, a.key.keyId);
    assert.equal(a.key.curve, 'P-256');
  });

  test('Ed25519 with the curve as an OID or as a PrintableString name', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const x = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    for (const ecParams of [
      Buffer.from('06032b6570', 'hex'),
      Buffer.from('130c656477617264733235353139', 'hex'),
    ]) {
      const got = publicKeyOf({
        handle: '01',
        class: CKO.PUBLIC_KEY,
        keyType: CKK.EC_EDWARDS,
        usage: {},
        ecParams,
        ecPoint: octets(x),
      });
      assert.equal(got.key.keyId, keyIdOf(publicKey));
      assert.equal(got.key.algorithm, 'Ed25519');
    }
  });

  test('bad attributes are refused with a coded error naming the attribute', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const good = ecObject(publicKey, true);
    rejects(() => publicKeyOf({ ...good, ecParams: Buffer.of(0x30, 0x00) }), /explicit curve parameters/);
    rejects(() => publicKeyOf({ ...good, ecParams: Buffer.of(0x06, 0x05, 1) }), /CKA_EC_PARAMS is not DER/);
    rejects(() => publicKeyOf({ ...good, ecParams: Buffer.alloc(500, 6) }), /CKA_EC_PARAMS of 500 bytes/);
    rejects(() => publicKeyOf({ ...good, ecPoint: good.ecPoint!.subarray(0, 40) }), /CKA_EC_POINT/);
    const offCurve = Buffer.from(good.ecPoint!);
    offCurve[offCurve.length - 1]! ^= 1;
    rejects(() => publicKeyOf({ ...good, ecPoint: offCurve }), /rejected by node:crypto/);
    rejects(
      () =>
        publicKeyOf({
          handle: '01',
          class: 3,
          keyType: CKK.RSA,
          usage: {},
          modulus: Buffer.alloc(4096, 1),
          publicExponent: Buffer.of(3),
        }),
      /CKA_MODULUS of 4096 bytes/,
    );
    rejects(() => publicKeyOf({ handle: '01', class: 3, keyType: 0x1f, usage: {} }), /key type 31/);
  });
});

test('ecdsaRawToDer turns r||s into the X9.62 form node:crypto verifies', () => {
  for (const namedCurve of ['P-256', 'P-384', 'P-521']) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    for (let i = 0; i < 8; i++) {
      const data = Buffer.from(`message ${i}`);
      const raw = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      assert.equal(verify('sha256', data, publicKey, ecdsaRawToDer(raw)), true, namedCurve);
    }
  }
  assert.throws(() => ecdsaRawToDer(Buffer.alloc(63)), /not r\|\|s/);
});

describe('describeObjects and hsmFindings', () => {
  const token: HsmToken = {
    slotId: 1,
    label: 'unit',
    manufacturer: 'm',
    model: 'x',
    serial: '01',
    flags: [],
    hardwareVersion: { major: 1, minor: 0 },
    firmwareVersion: { major: 1, minor: 0 },
  };
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = { ...ecObject(publicKey, true), id: Buffer.of(7) };
  const safe = {
    sensitive: true,
    extractable: false,
    neverExtractable: true,
    alwaysSensitive: true,
    local: true,
  };
  const priv = (over: Partial<HsmObjectAttributes>): HsmObjectAttributes => ({
    handle: '02',
    class: CKO.PRIVATE_KEY,
    keyType: CKK.EC,
    id: Buffer.of(7),
    ecParams: P256,
    usage: { sign: true },
    ...safe,
    ...over,
  });

  test('a readable signing key fires NOT-SENSITIVE under its key identity', () => {
    const inv = {
      module: 'm.so',
      slots: [],
      tokens: [token],
      token,
      objects: describeObjects(token, [pub, priv({ sensitive: false })]),
    };
    const f = hsmFindings(inv);
    assert.deepEqual(
      f.map((x) => x.rule),
      ['KW-HSM-KEY-NOT-SENSITIVE'],
    );
    assert.equal(f[0]!.subject, keyIdOf(publicKey));
    assert.ok(f[0]!.evidence?.includes('CKA_SENSITIVE = false'));
  });

  test('a well-protected key raises nothing; a decrypt-only key is not a signing key', () => {
    const objects = describeObjects(token, [
      pub,
      priv({}),
      priv({ id: Buffer.of(8), usage: { sign: false, decrypt: true }, local: false }),
    ]);
    assert.deepEqual(hsmFindings({ module: 'm.so', slots: [], tokens: [token], token, objects }), []);
  });

  test('a private key with nothing to identify it is reported, and CKA_ID conflicts are named', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const objects = describeObjects(token, [
      priv({ id: Buffer.of(9) }),
      pub,
      { ...ecObject(other, true), handle: '03', id: Buffer.of(7) },
      priv({}),
    ]);
    const f = hsmFindings({ module: 'm.so', slots: [], tokens: [token], token, objects });
    assert.deepEqual(
      f.map((x) => x.rule),
      ['KW-HSM-KEY-UNIDENTIFIED', 'KW-HSM-KEY-UNIDENTIFIED'],
    );
    assert.match(f[1]!.evidence![0]!, /CKA_ID 07 name 2 different keys/);
  });
});
